//! The auth-service's lifecycle events on the machine's RabbitMQ (each test on queues of its
//! own), and erasure: what each event writes in either layout, at most once; poison
//! messages dead-lettered while the consumer goes on; a message that arrives while the
//! database is down applied once it is back; the API serving while the broker is away; two
//! replicas sharing a queue; and an erasure that leaves nothing behind.

use serde_json::{Value, json};

use crate::{
    cli::{command, run},
    helpers::{
        Backend, ChildServer, SECRET, TempPostgres, TestApp, award_token, catalog_entry,
        eventually, http_client, json_body, problem,
        rabbitmq::{AMQP_URL, Broker, Proxy},
        token,
    },
};

pub(crate) fn created(id: i64, username: &str) -> Value {
    json!({
        "event_type": "UserCreated",
        "user_id": id,
        "username": username,
        "email": format!("{username}@example.com"),
        // The publisher's event-loop clock: distinct per message, not a wall-clock time.
        "timestamp": 1234567890.123 + id as f64,
    })
}

pub(crate) fn event(event_type: &str, id: i64, at: f64) -> Value {
    json!({ "event_type": event_type, "user_id": id, "timestamp": at })
}

/// A service consuming `queue` on the machine's broker.
pub(crate) async fn consuming(backend: Backend, queue: &str) -> TestApp {
    consuming_after(backend, queue, None).await
}

/// The same, over an auth-service table created first by `before`.
async fn consuming_after(backend: Backend, queue: &str, before: Option<&str>) -> TestApp {
    let mut builder = TestApp::builder(backend).config(|c| {
        c.amqp_url = Some(AMQP_URL.into());
        c.auth_events_queue = queue.into();
    });
    if let Some(sql) = before {
        builder = builder.before_migrations(sql);
    }
    builder.spawn().await
}

pub(crate) async fn status(app: &TestApp, path: &str) -> u16 {
    app.get(path).await.status().as_u16()
}

/// Waits until `GET path` answers `expected`.
pub(crate) async fn until_status(app: &TestApp, path: &str, expected: u16) {
    eventually(&format!("GET {path} answers {expected}"), || async {
        (status(app, path).await == expected).then_some(())
    })
    .await;
}

async fn each_event_type_is_applied_once_and_a_repeated_message_changes_nothing(backend: Backend) {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    // The auth-service declares its queue before it publishes.
    broker.declare(&queue).await;
    let app = consuming(backend, &queue).await;
    let ada = created(5, "ada");

    broker.publish_json(&queue, &ada).await;

    until_status(&app, "/users/5", 200).await;
    let me = json_body(app.get_as("/users/me", &token(5)).await, 200).await;
    assert_eq!(me["username"], "ada");
    assert_eq!(me["email"], "ada@example.com");
    assert!(me["created_at"].is_string(), "{me}");

    // The same message again (a redelivery, or sent twice), then another: once the other
    // is applied, the repeat has been read, and it changed nothing.
    broker.publish_json(&queue, &ada).await;
    broker.publish_json(&queue, &created(6, "sentinel")).await;
    until_status(&app, "/users/6", 200).await;
    assert_eq!(app.db.scalar("SELECT count(*) FROM users").await, 2);
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM auth_event_inbox").await,
        2
    );

    let renamed = json!({
        "event_type": "UserUpdated", "user_id": 5, "username": "ada.l", "email": null,
        "timestamp": 2.0,
    });
    broker.publish_json(&queue, &renamed).await;
    eventually("ada is renamed", || async {
        let me = json_body(app.get_as("/users/me", &token(5)).await, 200).await;
        (me["username"] == "ada.l").then_some(me)
    })
    .await;
    let me = json_body(app.get_as("/users/me", &token(5)).await, 200).await;
    assert_eq!(me["email"], Value::Null, "a null email clears it");
    app.create_goal(5, &token(5), "Learn Rust").await;

    broker
        .publish_json(&queue, &event("UserDeactivated", 5, 3.0))
        .await;
    until_status(&app, "/users/5", 404).await;
    problem(app.get_as("/users/me", &token(5)).await, 404).await;
    problem(app.get("/users/5/goals").await, 404).await;

    broker
        .publish_json(&queue, &event("UserDeleted", 5, 4.0))
        .await;
    eventually("ada is erased", || async {
        (app.db
            .scalar("SELECT count(*) FROM users WHERE id = 5")
            .await
            == 0)
            .then_some(())
    })
    .await;
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM learning_goals WHERE user_id = 5")
            .await,
        0
    );
    json_body(app.get("/users/6").await, 200).await;
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM auth_event_inbox").await,
        5
    );
}

/// The auth-service's own table, with a row of its own.
const AUTH_SERVICE_USERS: &str = "CREATE TABLE users (
        id BIGINT PRIMARY KEY,
        username VARCHAR(50) UNIQUE NOT NULL,
        email VARCHAR(255),
        hashed_password TEXT,
        is_active BOOLEAN DEFAULT TRUE
    );
    INSERT INTO users (id, username, email, hashed_password)
        VALUES (1, 'ada', 'ada@example.com', 'argon2-ada');";

async fn in_the_auth_services_table_only_missing_rows_are_inserted_and_its_columns_are_its_own(
    backend: Backend,
) {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let app = consuming_after(backend, &queue, Some(AUTH_SERVICE_USERS)).await;
    let row = || {
        app.db.text("SELECT username || '|' || COALESCE(email, '-') || '|' || hashed_password || '|' || CAST(is_active AS TEXT) FROM users WHERE id = 1")
    };
    let before = row().await;

    // Its signup's message for a row it has already inserted, and its other events.
    broker
        .publish_json(&queue, &created(1, "someone-else"))
        .await;
    let renamed =
        json!({"event_type": "UserUpdated", "user_id": 1, "username": "x", "timestamp": 2.0});
    broker.publish_json(&queue, &renamed).await;
    broker
        .publish_json(&queue, &event("UserDeactivated", 1, 3.0))
        .await;
    // A signup whose row has not arrived: inserted, as the table allows.
    broker.publish_json(&queue, &created(2, "bob")).await;
    until_status(&app, "/users/2", 200).await;

    assert_eq!(
        row().await,
        before,
        "the auth-service's columns are its own"
    );
    json_body(app.get("/users/1").await, 200).await;
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM auth_event_inbox").await,
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_and_logged_without_its_email_while_the_next_good_one_is_applied()
 {
    let Some((broker, queue, dead)) = Broker::with_dead_lettered_queue().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(
        command(dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.path().join("s.db").display()),
            )
            .env("JWT_SECRET", SECRET)
            .env("AMQP_URL", AMQP_URL)
            .env("AUTH_EVENTS_QUEUE", &queue)
            .arg("serve"),
    );
    server.wait_for_log("auth-service events: consuming");

    let poison: [&[u8]; 3] = [
        b"not json at all",
        br#"{"event_type": "UserExploded", "user_id": 7, "email": "poison@example.com"}"#,
        br#"{"event_type": "UserCreated", "user_id": 7, "email": "poison@example.com"}"#,
    ];
    for body in poison {
        broker.publish(&queue, body).await;
    }
    broker.publish_json(&queue, &created(8, "good")).await;

    let applied = server.wait_for("the good message applied", |event| {
        event["message"] == "auth-service event" && event["user_id"] == "8"
    });
    assert_eq!(applied["outcome"], "applied");
    let client = http_client();
    let me = json_body(
        client
            .get(server.url("/users/me"))
            .bearer_auth(token(8))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["username"], "good");
    // Dead-lettering is the broker's, and may trail the good message's commit.
    let taken = std::sync::Mutex::new(Vec::new());
    eventually("the poison messages dead-lettered", || async {
        let more = broker.drain(&dead).await;
        let mut taken = taken.lock().unwrap();
        taken.extend(more);
        (taken.len() >= 3).then_some(())
    })
    .await;
    let dead_letters = taken.into_inner().unwrap();
    assert_eq!(
        dead_letters.len(),
        3,
        "every poison message is dead-lettered"
    );
    assert_eq!(
        broker.counts(&queue).await.0,
        0,
        "nothing is left to redeliver"
    );
    let rejected: Vec<&Value> = server
        .log
        .iter()
        .filter(|e| e["message"] == "auth-service event rejected")
        .collect();
    assert_eq!(rejected.len(), 3, "{:#?}", server.log);
    for event in &rejected {
        assert!(event["delivery_tag"].is_number(), "{event}");
        assert!(!event["reason"].as_str().unwrap_or_default().is_empty());
    }
    for line in &server.log {
        let line = line.to_string();
        assert!(!line.contains("poison@example.com"), "{line}");
        assert!(!line.contains("good@example.com"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_arrives_while_postgres_is_down_waits_unacknowledged_and_is_applied_once_it_is_back()
 {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let Some(mut postgres) = TempPostgres::start_new() else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let app = TestApp::builder(Backend::Postgres)
        .existing_database(&postgres.url())
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
            c.db_acquire_timeout_secs = 1;
        })
        .spawn()
        .await;
    broker.publish_json(&queue, &created(1, "before")).await;
    until_status(&app, "/users/1", 200).await;

    postgres.stop();
    broker.publish_json(&queue, &created(2, "during")).await;
    // Delivered to the service (nothing left ready, one consumer), which cannot apply it.
    eventually("the message is delivered", || async {
        (broker.counts(&queue).await == (0, 1)).then_some(())
    })
    .await;
    assert_eq!(status(&app, "/users/2").await, 503);

    postgres.start();

    until_status(&app, "/users/2", 200).await;
    let me = json_body(app.get_as("/users/me", &token(2)).await, 200).await;
    assert_eq!(me["username"], "during");
    assert_eq!(broker.counts(&queue).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_while_rabbitmq_is_out_of_reach_and_the_consumer_catches_up_when_it_returns()
{
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let proxy = Proxy::start().await;
    // Out of reach from the start.
    proxy.cut();
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.amqp_url = Some(proxy.url());
            c.auth_events_queue = queue.clone();
        })
        .spawn()
        .await;
    app.insert_user(1, "ada").await;
    json_body(app.get("/readyz").await, 200).await;
    json_body(app.get("/users/1").await, 200).await;
    broker.publish_json(&queue, &created(2, "early")).await;

    proxy.restore().await;
    until_status(&app, "/users/2", 200).await;

    // Lost while consuming: the API goes on, and so does the consumer once it returns.
    proxy.cut();
    json_body(app.get("/readyz").await, 200).await;
    let goal = app.create_goal(1, &token(1), "Learn Rust").await;
    assert!(goal["id"].is_number());
    broker.publish_json(&queue, &created(3, "late")).await;
    proxy.restore().await;
    until_status(&app, "/users/3", 200).await;
}

async fn two_replicas_on_one_queue_apply_each_message_once(backend: Backend) {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    let first = consuming(backend, &queue).await;
    let second = first
        .start_again_with(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
        })
        .await;
    eventually("both replicas consume", || async {
        (broker.consumers(&queue).await == 2).then_some(())
    })
    .await;
    // The service declared the queue exactly as the auth-service will when it starts.
    broker.declare(&queue).await;

    for id in 1..=30 {
        broker
            .publish_json(&queue, &created(id, &format!("u{id}")))
            .await;
    }

    eventually("every user is created", || async {
        (first.db.scalar("SELECT count(*) FROM users").await == 30).then_some(())
    })
    .await;
    assert_eq!(
        first
            .db
            .scalar("SELECT count(*) FROM auth_event_inbox")
            .await,
        30
    );
    json_body(second.get("/users/30").await, 200).await;
    assert_eq!(broker.counts(&queue).await.0, 0);
}

/// Gives user `id` something in every table this service keeps: a profile, goals and a
/// check-in, badges (by the rules and by a trusted service), activity and an idempotency key.
async fn give_data_everywhere(app: &TestApp, id: i64) {
    let token = token(id);
    // A follow of the other user (1 and 2 follow each other), which counts for both.
    let other = 3 - id;
    let follow = app
        .request(
            reqwest::Method::PUT,
            &format!("/users/{id}/following/{other}"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(follow.status(), 204);
    // Kudos on the other's newest event (the follower badge the other just earned, or any).
    let theirs = json_body(
        app.get(&format!("/users/{other}/activity?limit=1")).await,
        200,
    )
    .await;
    let kudos = app
        .request(
            reqwest::Method::PUT,
            &format!("/users/{other}/activity/{}/kudos", theirs[0]["id"]),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(kudos.status(), 204);
    // An event waiting for the broker, as a service publishing events would hold, a
    // "sign out everywhere", as the auth-service's UserTokensRevoked leaves it, the mark
    // the feed's fan-out leaves on a user with many followers, and the key of a partner's
    // reminder sent to the user, on a partnership with the other that ended since.
    app.db
        .execute(&format!(
            "INSERT INTO event_outbox (event_id, user_id, event_type, data, occurred_at) \
             VALUES ('event-of-{id}', {id}, 'profile.updated.v1', '{{\"user_id\":{id}}}', \
             '2026-03-10T12:00:00Z'); \
             INSERT INTO revoked_user_tokens (user_id, revoked_before) \
             VALUES ({id}, '2026-03-10T12:00:00Z'); \
             INSERT INTO feed_famous (user_id) VALUES ({id}); \
             INSERT INTO partnerships (inviter_id, invitee_id, cadence, status, created_at) \
             VALUES ({id}, {other}, 'daily', 'ended', '2026-03-10T12:00:00Z'); \
             INSERT INTO partner_reminders_sent (partnership_id, user_id, local_date) \
             VALUES ((SELECT id FROM partnerships WHERE inviter_id = {id}), {id}, '2026-03-10')"
        ))
        .await;
    json_body(
        app.put(
            &format!("/users/{id}"),
            Some(&token),
            &json!({"display_name": "D", "bio": "B", "skills": ["a", "b", "c"], "timezone": "Europe/Paris",
                    "week_start": "sunday", "visibility": {"stats": "private"}}),
        )
        .await,
        200,
    )
    .await;
    let goal = app
        .request(
            reqwest::Method::POST,
            &format!("/users/{id}/goals"),
            Some(&token),
        )
        .header("Idempotency-Key", format!("key-{id}"))
        .json(&json!({"title": "Learn Rust"}))
        .send()
        .await
        .unwrap();
    let goal = json_body(goal, 201).await;
    json_body(
        app.post(
            &format!("/users/{id}/goals/{}/checkins", goal["id"]),
            Some(&token),
            &json!({"minutes": 5}),
        )
        .await,
        201,
    )
    .await;
    json_body(
        app.post(
            &format!("/users/{id}/badges"),
            Some(&award_token()),
            &json!({"code": "streak-30"}),
        )
        .await,
        201,
    )
    .await;
    // An export, which leaves when it started (export_runs).
    let export = app.get_as(&format!("/users/{id}/export"), &token).await;
    assert_eq!(export.status(), 200);
    export.bytes().await.unwrap();
}

/// Rows that name `id`, per table: every table with a `user_id` column, and `users`.
pub(crate) async fn rows_of(app: &TestApp, id: i64) -> Vec<(String, i64)> {
    let tables = match app.backend {
        Backend::Postgres => {
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND column_name = 'user_id'"
        }
        Backend::Sqlite => {
            "SELECT group_concat(m.name, ',') FROM sqlite_master m \
             WHERE m.type = 'table' AND EXISTS \
               (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'user_id')"
        }
    };
    let tables = app.db.text(tables).await.unwrap_or_default();
    let mut rows = Vec::new();
    for table in tables.split(',').filter(|t| !t.is_empty()) {
        let count = app
            .db
            .scalar(&format!(
                "SELECT count(*) FROM {table} WHERE user_id = {id}"
            ))
            .await;
        rows.push((table.to_owned(), count));
    }
    rows.push((
        "users".into(),
        app.db
            .scalar(&format!("SELECT count(*) FROM users WHERE id = {id}"))
            .await,
    ));
    rows
}

async fn holders(app: &TestApp, code: &str) -> i64 {
    catalog_entry(app, code).await["holders"].as_i64().unwrap()
}

async fn erasure_by_the_operator_command_leaves_nothing_behind_table_by_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for id in [1, 2] {
        app.insert_user(id, &format!("user{id}")).await;
    }
    for id in [1, 2] {
        give_data_everywhere(&app, id).await;
    }
    let kept = rows_of(&app, 2).await;
    assert!(
        rows_of(&app, 1).await.iter().all(|(_, n)| *n > 0),
        "{:?}",
        rows_of(&app, 1).await
    );
    assert_eq!(holders(&app, "first-goal").await, 2);
    let dir = tempfile::tempdir().unwrap();
    let erase = || {
        let mut erase = command(dir.path());
        erase
            .env("DATABASE_URL", app.database_url())
            .args(["users", "erase", "--id", "1"]);
        erase
    };

    let output = run(&mut erase());

    assert!(String::from_utf8_lossy(&output.stdout).contains("erased"));
    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{backend:?}: {table} still holds user 1");
    }
    assert_eq!(rows_of(&app, 2).await, kept, "another user's data is kept");
    assert_eq!(holders(&app, "first-goal").await, 1);
    assert_eq!(holders(&app, "streak-30").await, 1);
    for path in [
        "/users/1",
        "/users/1/goals",
        "/users/1/goals/1",
        "/users/1/badges",
        "/users/1/activity",
        "/users/1/stats",
    ] {
        problem(app.get(path).await, 404).await;
    }
    problem(app.get_as("/users/me", &token(1)).await, 404).await;
    // Twice is harmless.
    let again = run(&mut erase());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing was held"));
}

async fn erasure_by_user_deleted_in_the_auth_services_table_returns_the_row_to_a_new_users(
    backend: Backend,
) {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let app = consuming_after(
        backend,
        &queue,
        Some(&format!(
            "{AUTH_SERVICE_USERS}
             INSERT INTO users (id, username, email, hashed_password) VALUES (2, 'bob', NULL, 'h');
             INSERT INTO users (id, username, email, hashed_password) VALUES (3, 'cyd', NULL, 'h');"
        )),
    )
    .await;
    for id in [1, 2] {
        give_data_everywhere(&app, id).await;
    }
    let kept = rows_of(&app, 2).await;
    let never_used = json_body(app.get_as("/users/me", &token(3)).await, 200).await;

    broker
        .publish_json(&queue, &event("UserDeleted", 1, 9.0))
        .await;

    eventually("ada's data is erased", || async {
        (app.db
            .scalar("SELECT count(*) FROM learning_goals WHERE user_id = 1")
            .await
            == 0)
            .then_some(())
    })
    .await;
    for (table, count) in rows_of(&app, 1).await {
        let expected = i64::from(table == "users");
        assert_eq!(count, expected, "{backend:?}: {table}");
    }
    assert_eq!(rows_of(&app, 2).await, kept);
    assert_eq!(holders(&app, "first-goal").await, 1);
    // The auth-service's row is its own to delete; until it does, user 1 reads as one
    // who never used this service.
    let me = json_body(app.get_as("/users/me", &token(1)).await, 200).await;
    for field in [
        "display_name",
        "bio",
        "skills",
        "avatar_url",
        "timezone",
        "week_start",
        "visibility",
    ] {
        assert_eq!(me[field], never_used[field], "{field}");
    }
    for (path, empty) in [
        ("/users/1/goals", json!([])),
        ("/users/1/badges", json!([])),
        ("/users/1/activity", json!([])),
    ] {
        assert_eq!(json_body(app.get(path).await, 200).await, empty, "{path}");
    }
    let stats = json_body(app.get("/users/1/stats").await, 200).await;
    assert_eq!(stats["goals_total"], 0);
    assert_eq!(stats["last_active_at"], Value::Null);
}

crate::backend_tests!(
    each_event_type_is_applied_once_and_a_repeated_message_changes_nothing,
    in_the_auth_services_table_only_missing_rows_are_inserted_and_its_columns_are_its_own,
    two_replicas_on_one_queue_apply_each_message_once,
    erasure_by_the_operator_command_leaves_nothing_behind_table_by_table,
    erasure_by_user_deleted_in_the_auth_services_table_returns_the_row_to_a_new_users,
);
