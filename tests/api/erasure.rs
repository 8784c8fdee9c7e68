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
        Backend, HeldLock, TestApp, TestDb, default_now,
        events::{Bus, Subscriber, all_marked_published},
        eventually, hold_lock_on_user, json_body,
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

/// Waits until some transaction waits for a lock that `holder` (a backend's pid) holds, and
/// returns the virtual transaction ids of those waiting.
async fn waiting_on(app: &TestApp, holder: i64) -> HashSet<String> {
    eventually("a transaction waits for the lock held", || async {
        let waiting = app
            .db
            .text(&format!(
                "SELECT string_agg(DISTINCT virtualtransaction, ',') FROM pg_locks \
                 WHERE NOT granted AND {holder} = ANY(pg_blocking_pids(pid))"
            ))
            .await?;
        Some(waiting.split(',').map(str::to_owned).collect())
    })
    .await
}

/// The transaction `held` runs in (a PostgreSQL one).
fn transaction(held: &mut HeldLock) -> &mut sqlx::Transaction<'static, sqlx::Postgres> {
    match held {
        HeldLock::Postgres(tx) => tx,
        HeldLock::Sqlite(_) => unreachable!("a PostgreSQL test"),
    }
}

async fn backend_pid(held: &mut HeldLock) -> i64 {
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut **transaction(held))
        .await
        .unwrap();
    i64::from(pid)
}

/// Locks rows that the service's transaction, now waiting for `held`, has locked: the
/// service, which waited first, is the one PostgreSQL finds in a deadlock (40P01) and rolls
/// back, and this lock is then granted. Then waits until the service tries its work again,
/// in a new transaction that waits in turn.
async fn deadlock_the_waiting_transaction(app: &TestApp, held: &mut HeldLock, rows: &str) {
    let holder = backend_pid(held).await;
    let first = waiting_on(app, holder).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("{rows} FOR UPDATE")))
        .execute(&mut **transaction(held))
        .await
        .expect("the service is the deadlock's victim");
    eventually("the work is tried again in a new transaction", || async {
        let now = waiting_on(app, holder).await;
        now.difference(&first).next().is_some().then_some(())
    })
    .await;
}

// SQLite runs one writer at a time, so its transactions cannot deadlock: these are
// PostgreSQL's.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_user_deleted_that_meets_a_deadlock_is_tried_again_and_never_dropped() {
    if !Backend::Postgres.available().await {
        return;
    }
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let app = TestApp::builder(Backend::Postgres)
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
        })
        .spawn()
        .await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await["id"].clone();
    let checkin = app
        .post(
            &format!("/users/1/goals/{goal}/checkins"),
            Some(&ada),
            &json!({}),
        )
        .await;
    assert_eq!(checkin.status(), 201);
    // Another program holds the user's row, which the erasure deletes last.
    let mut held = hold_lock_on_user(&app.db, 1).await;

    broker.publish_json(&queue, &user_deleted(1)).await;

    // The erasure has deleted the check-ins and waits for the row; the other program now
    // asks for the check-ins.
    deadlock_the_waiting_transaction(
        &app,
        &mut held,
        "SELECT 1 FROM goal_checkins WHERE user_id = 1",
    )
    .await;
    assert_eq!(
        app.get("/users/1").await.status(),
        200,
        "nothing is erased while the rows are held"
    );
    held.release().await;
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
async fn on_postgres_a_request_that_meets_a_deadlock_is_tried_again_and_never_answered_500() {
    if !Backend::Postgres.available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await["id"]
        .as_i64()
        .unwrap();
    // Another program holds the user's row, which a check-in's reference to it waits for.
    let mut held = hold_lock_on_user(&app.db, 1).await;

    let checkin = app.post(
        &format!("/users/1/goals/{goal}/checkins"),
        Some(&ada),
        &json!({}),
    );
    let force = async {
        // The check-in holds its goal's row and waits for the user's; the other program
        // now asks for the goal's.
        deadlock_the_waiting_transaction(
            &app,
            &mut held,
            &format!("SELECT 1 FROM learning_goals WHERE id = {goal}"),
        )
        .await;
        held.release().await;
    };
    let (answer, ()) = tokio::join!(checkin, force);

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
    let TestDb::Postgres(pool) = &app.db else {
        unreachable!("a PostgreSQL test");
    };
    // A relay (of this or another replica) in the middle of a batch holds its lock until it
    // has marked the batch published.
    let mut relay = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(RELAY_LOCK_KEY)
        .execute(&mut *relay)
        .await
        .unwrap();
    let holder: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *relay)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "1"]);
    let erasure = tokio::task::spawn_blocking(move || run(&mut erase));

    waiting_on(&app, i64::from(holder)).await;
    assert!(
        !erasure.is_finished(),
        "the erasure went ahead of the batch"
    );
    assert!(rows_of(&app, 1).await.iter().all(|(_, n)| *n > 0));
    relay.rollback().await.unwrap();

    erasure.await.unwrap();
    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{table} still holds user 1");
    }
}

crate::backend_tests!(
    concurrent_writes_and_an_erasure_leave_nothing_of_the_user_anywhere_nor_any_event_of_theirs,
);
