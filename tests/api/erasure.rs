//! An erasure amid the user's own writes: the erasure and the writes are ordered, so that
//! every write either commits before the erasure (and is erased with the rest) or answers
//! as for a user who does not exist, and nothing of the user is left in any table or
//! published afterwards. And what the database reports as contention (a deadlock, a
//! serialization failure, a lock not available) is retried or answered 503, never a 500,
//! and never costs an auth-service message.

use std::{collections::HashSet, time::Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::sync::mpsc;

use crate::{
    auth_events::rows_of,
    cli::{command, run},
    helpers::{
        Backend, TestApp, default_now,
        events::{Bus, Subscriber, all_marked_published},
        eventually, json_body,
        rabbitmq::{AMQP_URL, Broker, Proxy},
        token,
    },
};

/// Rounds of writers against an erasure; a race that a fix only narrowed fails within them.
const ROUNDS: i64 = 20;
/// Clients writing as the user while they are erased: two create goals, two check in and
/// take the check-in back, two edit the profile.
const WRITERS: usize = 6;
/// A user who is never erased, and writes in every round.
const BYSTANDER: i64 = 1;
/// The outbox relay's advisory lock on PostgreSQL (`RELAY_LOCK` in `db::postgres`).
const RELAY_LOCK_KEY: i64 = 7322148270918;

fn user_deleted(id: i64) -> serde_json::Value {
    json!({"event_type": "UserDeleted", "user_id": id, "timestamp": 9.0 + id as f64})
}

/// One client's writes as `user`, again and again until an answer says the user does not
/// exist: the status of every answer. `started` hears of the first write that committed.
async fn write_until_erased(
    app: &TestApp,
    user: i64,
    writer: usize,
    goal: i64,
    started: mpsc::Sender<()>,
) -> Vec<u16> {
    let token = token(user);
    let today = default_now().date_naive();
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    let mut statuses = Vec::new();
    for n in 0.. {
        assert!(
            Instant::now() < deadline,
            "user {user} is still served 30 s into the round: {statuses:?}"
        );
        let answers = match writer % 3 {
            0 => vec![
                app.request(Method::POST, &format!("/users/{user}/goals"), Some(&token))
                    .header("Idempotency-Key", format!("writer-{writer}-{n}"))
                    .json(&json!({"title": format!("written during the erasure {writer}-{n}")}))
                    .send()
                    .await
                    .expect("POST goal"),
            ],
            1 => {
                let checkins = format!("/users/{user}/goals/{goal}/checkins");
                let added = app.post(&checkins, Some(&token), &json!({})).await;
                if added.status() == StatusCode::NOT_FOUND {
                    vec![added]
                } else {
                    let removed = app
                        .delete(&format!("{checkins}/{today}"), Some(&token))
                        .await;
                    vec![added, removed]
                }
            }
            _ => vec![
                app.put(
                    &format!("/users/{user}"),
                    Some(&token),
                    &json!({"display_name": format!("Name {n}"), "bio": "writing"}),
                )
                .await,
            ],
        };
        let mut erased = false;
        for answer in answers {
            let status = answer.status().as_u16();
            statuses.push(status);
            erased |= status == 404;
        }
        if erased {
            return statuses;
        }
        if n == 0 {
            let _ = started.send(()).await;
        }
    }
    unreachable!()
}

/// How the round's erasure is made.
#[derive(Debug, Clone, Copy)]
enum Eraser {
    /// The auth-service's `UserDeleted`, consumed by the service.
    Message,
    /// `user-service users erase --id N`, run by an operator beside the service.
    Command,
}

async fn concurrent_writes_and_an_erasure_leave_nothing_of_the_user_anywhere_nor_any_event_of_theirs(
    backend: Backend,
) {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    // The relay is kept from the broker while the rounds run, so that whatever of an erased
    // user reaches the consumer later was published after their erasure.
    let proxy = Proxy::start().await;
    proxy.cut();
    let app = TestApp::builder(backend)
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
            subscriber.configure_through(&proxy, &mut c.events);
            // A connection for each writer, the erasure and the relay: a write then waits
            // for the erasure, not for the pool.
            c.db_max_connections = 8;
        })
        .spawn()
        .await;
    let bystander = app.user(BYSTANDER).await;
    let dir = tempfile::tempdir().unwrap();

    for round in 0..ROUNDS {
        let user = 100 + round;
        let eraser = if round % 2 == 0 {
            Eraser::Message
        } else {
            Eraser::Command
        };
        let token = app.user(user).await;
        let mut goals = Vec::new();
        for writer in 0..WRITERS {
            goals.push(
                app.create_goal(user, &token, &format!("to check in on {writer}"))
                    .await["id"]
                    .as_i64()
                    .unwrap(),
            );
        }
        app.create_goal(BYSTANDER, &bystander, &format!("kept {round}"))
            .await;
        let (started, mut first_writes) = mpsc::channel(WRITERS);
        let writers = goals
            .iter()
            .enumerate()
            .map(|(writer, goal)| write_until_erased(&app, user, writer, *goal, started.clone()))
            .collect::<Vec<_>>();
        drop(started);
        let erase = async {
            // Every writer is under way before the erasure starts.
            for _ in 0..WRITERS {
                first_writes.recv().await;
            }
            match eraser {
                Eraser::Message => broker.publish_json(&queue, &user_deleted(user)).await,
                Eraser::Command => {
                    let mut erase = command(dir.path());
                    erase.env("DATABASE_URL", app.database_url()).args([
                        "users",
                        "erase",
                        "--id",
                        &user.to_string(),
                    ]);
                    tokio::task::spawn_blocking(move || run(&mut erase))
                        .await
                        .unwrap();
                }
            }
        };
        let (statuses, ()) = tokio::join!(futures_util::future::join_all(writers), erase);

        for (writer, statuses) in statuses.iter().enumerate() {
            assert!(
                statuses.iter().all(|s| [200, 201, 204, 404].contains(s)),
                "{backend:?}, round {round} ({eraser:?}), writer {writer}: {statuses:?}"
            );
        }
        for (table, count) in rows_of(&app, user).await {
            assert_eq!(
                count, 0,
                "{backend:?}, round {round} ({eraser:?}): {table} still holds user {user}"
            );
        }
    }

    let kept = app
        .db
        .scalar("SELECT count(*) FROM learning_goals WHERE user_id = 1")
        .await;
    assert_eq!(kept, ROUNDS, "the bystander's goals are kept");
    proxy.restore().await;
    all_marked_published(&app).await;
    let published = app.db.scalar("SELECT count(*) FROM event_outbox").await;
    let received = subscriber.take(usize::try_from(published).unwrap()).await;
    let subjects: HashSet<&str> = received
        .iter()
        .map(|r| r.event["subject"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        HashSet::from(["1"]),
        "{backend:?}: events of erased users were published"
    );
    subscriber
        .assert_no_more(std::time::Duration::from_millis(500))
        .await;
}

/// The backends' pids whose locks another backend waits for, now.
async fn blocking(app: &TestApp) -> HashSet<i64> {
    let pids = app
        .db
        .text(
            "SELECT string_agg(DISTINCT blocker::text, ',') FROM pg_locks, \
             unnest(pg_blocking_pids(pid)) AS blocker WHERE NOT granted",
        )
        .await
        .unwrap_or_default();
    pids.split(',').filter_map(|p| p.parse().ok()).collect()
}

/// Another program's transactions, each holding what its statement took (rows it changed,
/// a lock) until it commits. A transaction of the service that waits for rows one of them
/// changed, and began before it committed, cannot change those rows after it: it is rolled
/// back with a serialization failure (40001) as soon as that one commits.
struct Others {
    open: Vec<(i64, sqlx::Transaction<'static, sqlx::Postgres>)>,
    _pool: sqlx::PgPool,
}

impl Others {
    /// One transaction per statement, each run now.
    async fn start(app: &TestApp, statements: &[String]) -> Self {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(u32::try_from(statements.len()).unwrap())
            .connect(&app.database_url())
            .await
            .unwrap();
        let mut open = Vec::new();
        for statement in statements {
            let mut tx = pool.begin().await.unwrap();
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
                .execute(&mut *tx)
                .await
                .unwrap();
            open.push((i64::from(pid), tx));
        }
        Self { open, _pool: pool }
    }

    /// Waits until the service waits for one of these transactions: which.
    async fn waited_for(&self, app: &TestApp) -> usize {
        let pids: HashSet<i64> = self.open.iter().map(|(pid, _)| *pid).collect();
        let pid = eventually("the service waits for another program", || async {
            blocking(app).await.intersection(&pids).next().copied()
        })
        .await;
        self.open.iter().position(|(p, _)| *p == pid).unwrap()
    }

    /// Waits until the service waits for one of these transactions, and commits that one.
    async fn commit_the_one_waited_for(&mut self, app: &TestApp) {
        let at = self.waited_for(app).await;
        let (_, tx) = self.open.remove(at);
        tx.commit().await.unwrap();
    }
}

// PostgreSQL's own: SQLite's one writer meets no other transaction, and a database another
// program holds is answered as unavailable (503), as the fault tests show.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_user_deleted_that_keeps_meeting_serialization_failures_is_tried_again_and_never_dropped()
 {
    if !Backend::Postgres.available().await {
        return;
    }
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let app = TestApp::builder(Backend::Postgres)
        .postgres_setting("default_transaction_isolation", "serializable")
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
        })
        .spawn()
        .await;
    let ada = app.user(1).await;
    // More failures in a row than the service's own attempts at one transaction (4), so
    // that the consumer has to try the message again itself.
    let mut statements = Vec::new();
    for n in 0..8 {
        let goal = app.create_goal(1, &ada, &format!("Goal {n}")).await["id"].clone();
        let checkin = app
            .post(
                &format!("/users/1/goals/{goal}/checkins"),
                Some(&ada),
                &json!({}),
            )
            .await;
        assert_eq!(checkin.status(), 201);
        statements.push(format!(
            "UPDATE goal_checkins SET minutes = minutes WHERE goal_id = {goal}"
        ));
    }
    let mut others = Others::start(&app, &statements).await;

    broker.publish_json(&queue, &user_deleted(1)).await;

    for _ in 0..statements.len() {
        assert_eq!(
            app.get("/users/1").await.status(),
            200,
            "nothing is erased while the check-ins are held"
        );
        others.commit_the_one_waited_for(&app).await;
    }
    eventually("the user is erased", || async {
        (app.get("/users/1").await.status() == 404).then_some(())
    })
    .await;
    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{table} still holds user 1");
    }
    assert_eq!(broker.counts(&queue).await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_request_that_meets_a_serialization_failure_is_tried_again_and_never_answered_500()
 {
    if !Backend::Postgres.available().await {
        return;
    }
    let app = TestApp::builder(Backend::Postgres)
        .postgres_setting("default_transaction_isolation", "serializable")
        .spawn()
        .await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await["id"]
        .as_i64()
        .unwrap();
    let mut others = Others::start(
        &app,
        &[format!(
            "UPDATE learning_goals SET title = title WHERE id = {goal}"
        )],
    )
    .await;

    let path = format!("/users/1/goals/{goal}/checkins");
    let body = json!({});
    let (answer, ()) = tokio::join!(
        app.post(&path, Some(&ada), &body),
        others.commit_the_one_waited_for(&app)
    );

    let body = json_body(answer, 201).await;
    assert_eq!(body["streak"]["streak_count"], 1, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_an_erasure_waits_for_a_relay_batch_in_flight_so_that_none_of_its_events_go_out_after_it()
 {
    if !Backend::Postgres.available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;
    // A relay (of this or another replica) in the middle of a batch holds its lock until it
    // has marked the batch published.
    let mut relay = Others::start(
        &app,
        &[format!("SELECT pg_advisory_xact_lock({RELAY_LOCK_KEY})")],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "1"]);
    let erasure = tokio::task::spawn_blocking(move || run(&mut erase));

    relay.waited_for(&app).await;
    assert!(
        !erasure.is_finished(),
        "the erasure went ahead of the batch"
    );
    assert_eq!(
        app.get("/users/1").await.status(),
        200,
        "nothing is erased while the batch is in flight"
    );
    relay.commit_the_one_waited_for(&app).await;

    erasure.await.unwrap();
    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{table} still holds user 1");
    }
}

crate::backend_tests!(
    concurrent_writes_and_an_erasure_leave_nothing_of_the_user_anywhere_nor_any_event_of_theirs,
);
