//! An account's life as the auth-service's messages tell it, on the machine's RabbitMQ: the
//! id is the account, whatever its username; a message that arrives after the account's
//! end does not bring it back; dead-lettering by a broker policy beside the auth-service's
//! own declaration of the queue; and a first start before the queue exists.

use serde_json::Value;

use crate::{
    auth_events::{consuming, created, event, until_status},
    cli::{command, run},
    helpers::{
        Backend, ChildServer, SECRET, TestApp, eventually, http_client, json_body, problem,
        rabbitmq::{AMQP_URL, Broker},
        token,
    },
};

/// The profile its owner sees, once the user exists.
async fn own_profile(app: &TestApp, id: i64) -> Value {
    until_status(app, &format!("/users/{id}"), 200).await;
    json_body(app.get_as("/users/me", &token(id)).await, 200).await
}

async fn two_accounts_with_one_username_or_usernames_equal_once_trimmed_are_both_created(
    backend: Backend,
) {
    let Some((broker, queue)) = Broker::with_queue().await else {
        return;
    };
    let app = consuming(backend, &queue).await;

    for (id, username) in [(1, "spaced"), (2, " spaced"), (3, "spaced")] {
        broker.publish_json(&queue, &created(id, username)).await;
    }

    for (id, username) in [(1, "spaced"), (2, " spaced"), (3, "spaced")] {
        let me = own_profile(&app, id).await;
        assert_eq!(me["username"], username, "{backend:?}: user {id}");
        assert_eq!(me["email"], format!("{username}@example.com"));
    }
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM users WHERE username = 'spaced'")
            .await,
        2
    );
}

async fn usernames_the_service_would_refuse_are_stored_exactly_as_sent_and_only_a_nul_replaced(
    backend: Backend,
) {
    let Some((broker, queue)) = Broker::with_queue().await else {
        return;
    };
    let app = consuming(backend, &queue).await;
    let long = "é".repeat(300);
    // What the real auth-service accepted, and a NUL, which PostgreSQL's text cannot hold.
    let sent = [
        (11, "", ""),
        (12, "   ", "   "),
        (13, long.as_str(), long.as_str()),
        (14, "a\nb", "a\nb"),
        (15, "a\u{0}b", "a\u{FFFD}b"),
    ];

    for (id, username, _) in sent {
        broker.publish_json(&queue, &created(id, username)).await;
    }

    for (id, _, stored) in sent {
        let me = own_profile(&app, id).await;
        assert_eq!(me["username"], stored, "{backend:?}: user {id}");
        let public = json_body(app.get(&format!("/users/{id}")).await, 200).await;
        assert_eq!(public["username"], stored);
        let card = app.get(&format!("/users/{id}/card.svg")).await;
        assert_eq!(card.status(), 200, "user {id}'s card");
    }
}

/// Turns `users.username` back into what an earlier version of this service declared:
/// unique (on PostgreSQL also with a unique index of its own), with the migration that
/// drops it not yet run.
async fn as_an_earlier_version_left_it(app: &TestApp) {
    match app.backend {
        Backend::Postgres => {
            app.db
                .execute(
                    "ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username);
                     CREATE UNIQUE INDEX users_by_username ON users (username);
                     DELETE FROM _sqlx_migrations WHERE version = 20261207000021;",
                )
                .await
        }
        Backend::Sqlite => {
            let declared = app
                .db
                .text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'")
                .await
                .unwrap();
            let earlier = declared
                .replacen("CREATE TABLE users ", "CREATE TABLE users_earlier ", 1)
                .replacen(
                    "username TEXT NOT NULL,",
                    "username TEXT NOT NULL UNIQUE,",
                    1,
                );
            assert_ne!(earlier, declared);
            // One connection: foreign keys off, or dropping users would cascade.
            app.db
                .execute(&format!(
                    "PRAGMA foreign_keys = OFF;
                     BEGIN;
                     {earlier};
                     INSERT INTO users_earlier SELECT * FROM users;
                     DROP TABLE users;
                     ALTER TABLE users_earlier RENAME TO users;
                     COMMIT;
                     PRAGMA foreign_keys = ON;"
                ))
                .await
        }
    }
}

async fn unique_username_indexes(app: &TestApp) -> i64 {
    let sql = match app.backend {
        Backend::Postgres => {
            "SELECT count(*) FROM pg_index i JOIN pg_attribute a \
               ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
             WHERE i.indrelid = to_regclass('users') AND i.indisunique \
               AND a.attname = 'username'"
        }
        Backend::Sqlite => {
            "SELECT count(*) FROM pragma_index_list('users') l \
             WHERE l.\"unique\" AND EXISTS \
               (SELECT 1 FROM pragma_index_info(l.name) i WHERE i.name = 'username')"
        }
    };
    app.db.scalar(sql).await
}

async fn an_earlier_installation_loses_its_unique_username_and_keeps_every_row(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    as_an_earlier_version_left_it(&app).await;
    assert!(unique_username_indexes(&app).await > 0);

    let again = app.start_again().await;

    assert_eq!(unique_username_indexes(&again).await, 0, "{backend:?}");
    again.insert_user(2, "user1").await;
    json_body(again.get("/users/2").await, 200).await;
    let goals = json_body(again.get("/users/1/goals").await, 200).await;
    assert_eq!(goals[0]["id"], goal["id"], "{backend:?}: the goal is kept");
    json_body(again.get("/users/1/badges").await, 200)
        .await
        .as_array()
        .filter(|badges| !badges.is_empty())
        .expect("the badges are kept");
    // A start with nothing left to do changes nothing.
    let third = app.start_again().await;
    json_body(third.get("/users/1/goals").await, 200).await;
    assert_eq!(unique_username_indexes(&third).await, 0);
}

/// The binary consuming `queue` over `app`'s database, logging JSON.
fn consuming_child(app: &TestApp, dir: &std::path::Path, queue: &str) -> ChildServer {
    ChildServer::start(
        command(dir)
            .env("DATABASE_URL", app.database_url())
            .env("JWT_SECRET", SECRET)
            .env("AMQP_URL", AMQP_URL)
            .env("AUTH_EVENTS_QUEUE", queue)
            .arg("serve"),
    )
}

async fn a_late_creation_neither_brings_an_erased_account_back_nor_activates_a_deactivated_one(
    backend: Backend,
) {
    let Some((broker, queue)) = Broker::with_queue().await else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    // An operator's erasure, before the auth-service said anything of the account.
    run(command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "8"]));
    let mut server = consuming_child(&app, dir.path(), &queue);
    server.wait_for_log("auth-service events: consuming");

    for message in [
        event("UserDeleted", 5, 1.0),
        created(5, "late"),
        event("UserDeactivated", 6, 2.0),
        created(6, "early-leaver"),
        created(8, "erased-by-hand"),
        created(9, "sentinel"),
    ] {
        broker.publish_json(&queue, &message).await;
    }
    server.wait_for("the sentinel applied", |event| {
        event["message"] == "auth-service event" && event["user_id"] == "9"
    });

    let client = http_client();
    for id in [5, 6, 8] {
        let me = client
            .get(server.url("/users/me"))
            .bearer_auth(token(id))
            .send()
            .await
            .unwrap();
        problem(me, 404).await;
        problem(
            client
                .get(server.url(&format!("/users/{id}")))
                .send()
                .await
                .unwrap(),
            404,
        )
        .await;
    }
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM users WHERE id IN (5, 8)")
            .await,
        0
    );
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM users WHERE id = 6 AND NOT is_active")
            .await,
        1,
        "{backend:?}: created, inactive"
    );
    for (id, ending) in [(5, "erased"), (6, "deactivated"), (8, "erased")] {
        assert_eq!(
            app.db
                .scalar(&format!(
                    "SELECT count(*) FROM ended_accounts \
                     WHERE account_id = {id} AND ending = '{ending}'"
                ))
                .await,
            1,
            "{backend:?}: account {id}"
        );
    }
    let outcomes: Vec<(String, String)> = server
        .log
        .iter()
        .filter(|e| e["message"] == "auth-service event" && e["event_type"] == "UserCreated")
        .map(|e| {
            (
                e["user_id"].as_str().unwrap_or_default().to_owned(),
                e["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for expected in [("5", "ignored"), ("6", "applied"), ("8", "ignored")] {
        assert!(
            outcomes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {outcomes:?}"
        );
    }
    let ignored = server
        .log
        .iter()
        .filter(|e| {
            e["level"] == "WARN"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("erased account: ignored"))
        })
        .count();
    assert_eq!(ignored, 2, "{:#?}", server.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_policy_dead_letters_a_poison_message_while_the_auth_services_plain_declaration_still_succeeds()
 {
    let Some((mut broker, queue, dead)) = Broker::with_dead_lettered_queue().await else {
        return;
    };
    let app = consuming(Backend::Sqlite, &queue).await;
    eventually("the service consumes", || async {
        (broker.consumers(&queue).await == 1).then_some(())
    })
    .await;

    // The auth-service's declaration at its start (durable, no arguments) is equivalent.
    broker.declare(&queue).await;
    broker
        .publish(&queue, b"{\"event_type\": \"UserCreated\"")
        .await;
    broker.publish_json(&queue, &created(8, "good")).await;

    until_status(&app, "/users/8", 200).await;
    let dead_letters = eventually("the poison message dead-lettered", || async {
        let taken = broker.drain(&dead).await;
        (!taken.is_empty()).then_some(taken)
    })
    .await;
    assert_eq!(dead_letters, [b"{\"event_type\": \"UserCreated\"".to_vec()]);
    // And again after the service declared it: still the auth-service's declaration.
    broker.declare(&queue).await;
    assert_eq!(broker.counts(&queue).await, (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_before_the_queue_exists_logs_no_error_and_declares_it_as_the_auth_service_does()
 {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();

    let mut server = consuming_child(&app, dir.path(), &queue);
    server.wait_for_log("auth-service events: consuming");

    // The auth-service's own declaration finds an equivalent queue.
    broker.declare(&queue).await;
    broker.publish_json(&queue, &created(1, "first")).await;
    server.wait_for("the message applied", |event| {
        event["message"] == "auth-service event" && event["user_id"] == "1"
    });
    for line in &server.log {
        assert_ne!(line["level"], "ERROR", "{line}");
        assert!(!line.to_string().contains("NOT_FOUND"), "{line}");
    }
    assert_eq!(broker.counts(&queue).await.1, 1, "the service consumes it");
}

crate::backend_tests!(
    two_accounts_with_one_username_or_usernames_equal_once_trimmed_are_both_created,
    usernames_the_service_would_refuse_are_stored_exactly_as_sent_and_only_a_nul_replaced,
    an_earlier_installation_loses_its_unique_username_and_keeps_every_row,
    a_late_creation_neither_brings_an_erased_account_back_nor_activates_a_deactivated_one,
);
