//! Faults: a database that goes away and comes back, that refuses connections for a while
//! (maintenance, a server starting or shutting down), that is not there yet when the service
//! starts, or that is not a database at all. While it is out of reach the API answers a 503
//! problem with `Retry-After` within the acquire timeout, readiness answers 503 and liveness
//! 200; once it answers again the same process serves, with no restart.
//!
//! PostgreSQL here is a server each test starts and stops itself ([`TempPostgres`]), never
//! the shared one the other tests use.

use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};

use crate::{
    cli::command,
    helpers::{
        Backend, ChildServer, SECRET, TempPostgres, TestApp, TestDb, http_client, json_body,
        own_database::OwnDatabase, problem, token,
    },
};

/// The acquire timeout the services under test run with, in seconds.
const ACQUIRE_TIMEOUT_SECS: u64 = 1;

/// Well over the acquire timeout, well under a client's patience: every answer while the
/// database is down must come within this.
const PROMPTLY: Duration = Duration::from_secs(5);

/// The binary's `serve` on `database_url`, with the short acquire timeout these tests use.
fn serve_on(data_dir: &std::path::Path, database_url: &str) -> std::process::Command {
    let mut command = command(data_dir);
    command
        .env("DATABASE_URL", database_url)
        .env("DB_ACQUIRE_TIMEOUT_SECS", ACQUIRE_TIMEOUT_SECS.to_string())
        .env("JWT_SECRET", SECRET)
        .arg("serve");
    command
}

/// Sends a request that must be answered promptly with a 503 problem and `Retry-After`.
async fn assert_unavailable(request: RequestBuilder) -> Value {
    let started = Instant::now();
    let response = request.send().await.expect("an answer");
    let took = started.elapsed();
    let what = format!("{} {}", response.status(), response.url());
    assert_eq!(response.status(), 503, "{what}");
    assert!(took < PROMPTLY, "{what} took {took:?}");
    assert!(
        response.headers().contains_key("retry-after"),
        "{what} without Retry-After"
    );
    let body = problem(response, 503).await;
    let detail = body["detail"].as_str().unwrap_or_default();
    for internal in [
        "error returned from database",
        "sqlite",
        "postgres",
        "connection",
        "127.0.0.1",
    ] {
        assert!(
            !detail.to_lowercase().contains(internal),
            "{what} leaks {internal:?}: {detail}"
        );
    }
    body
}

/// The API requests a client of user 1 makes, each of which needs the database.
fn api_requests(client: &Client, base: &str, token: &str) -> Vec<RequestBuilder> {
    let url = |path: &str| format!("{base}{path}");
    vec![
        client.get(url("/users/me")).bearer_auth(token),
        client.get(url("/users/1")),
        client
            .put(url("/users/1"))
            .bearer_auth(token)
            .json(&json!({ "display_name": "Ada" })),
        client
            .post(url("/users/1/goals"))
            .bearer_auth(token)
            .json(&json!({ "title": "Learn Rust" })),
        client.get(url("/users/1/goals")).bearer_auth(token),
    ]
}

/// Polls `/readyz` until it answers 200: at most 150 times, 200 ms apart (30 s, enough for
/// the migration retry's longest back-off of 10 s).
async fn wait_until_ready(client: &Client, base: &str) {
    for _ in 0..150 {
        let response = client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .expect("/readyz answers");
        if response.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{base}/readyz did not turn 200 within 150 polls");
}

/// Readiness answers a prompt 503 problem before anything else has touched the database,
/// liveness 200, and every API request, all at once, a prompt 503 problem.
async fn assert_up_but_unavailable(client: &Client, base: &str, token: &str) {
    assert_unavailable(client.get(format!("{base}/readyz"))).await;
    json_body(
        client.get(format!("{base}/healthz")).send().await.unwrap(),
        200,
    )
    .await;
    let requests = api_requests(client, base, token);
    futures::future::join_all(requests.into_iter().map(assert_unavailable)).await;
}

/// Once ready again, the same process writes user 1's profile and reads back their one goal.
async fn assert_serves_again(app: &TestApp, token: &str, display_name: &str) {
    wait_until_ready(&app.client, &app.address).await;
    let body = json_body(
        app.put(
            "/users/1",
            Some(token),
            &json!({ "display_name": display_name }),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(body["display_name"], display_name);
    let goals = json_body(app.get_as("/users/1/goals", token).await, 200).await;
    assert_eq!(goals.as_array().map(Vec::len), Some(1), "{goals}");
}

/// A service on `url` with the acquire timeout above, user 1 in it, and every request of
/// [`api_requests`] answered once, so that its pool holds connections a fault can break.
/// One of them creates the goal [`assert_serves_again`] reads back.
async fn serving_with_connections_pooled(backend: Backend, url: &str) -> (TestApp, String) {
    let app = TestApp::builder(backend)
        .existing_database(url)
        .config(|c| c.db_acquire_timeout_secs = ACQUIRE_TIMEOUT_SECS)
        .spawn()
        .await;
    let token = app.user(1).await;
    for request in api_requests(&app.client, &app.address, &token) {
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
    (app, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_is_down_requests_answer_503_promptly_and_the_same_process_serves_again_when_it_is_back()
 {
    let Some(mut postgres) = TempPostgres::start_new() else {
        return;
    };
    let (app, token) = serving_with_connections_pooled(Backend::Postgres, &postgres.url()).await;
    json_body(app.get("/readyz").await, 200).await;

    postgres.stop();

    // Twice over: the first round meets the pooled connections the stop broke (and uses
    // them up: more requests than connections), the second only new ones that cannot connect.
    for _ in 0..2 {
        assert_up_but_unavailable(&app.client, &app.address, &token).await;
    }

    postgres.start();

    assert_serves_again(&app, &token, "Back again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_starts_while_postgres_is_down_and_migrates_and_serves_once_it_appears() {
    let Some(mut postgres) = TempPostgres::init() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(&mut serve_on(dir.path(), &postgres.url()));
    let client = http_client();
    let token = token(1);
    assert_up_but_unavailable(&client, &server.address, &token).await;

    postgres.start();

    wait_until_ready(&client, &server.address).await;
    // The service created the schema: the auth-service's user row goes into its table.
    let db = sqlx::PgPool::connect(&postgres.url()).await.unwrap();
    sqlx::query(
        "INSERT INTO users (id, username, email, hashed_password) \
         VALUES (1, 'ada', 'ada@example.com', 'not-a-real-hash')",
    )
    .execute(&db)
    .await
    .expect("the users table exists");
    db.close().await;
    let me = json_body(
        client
            .get(server.url("/users/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(me["username"], "ada");
}

/// Writes `bytes` over the start of the file without truncating it first: the service may
/// have it mapped into memory, where a file shorter even for a moment is a crash.
fn overwrite_in_place(path: &std::path::Path, bytes: &[u8]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
    file.sync_all().unwrap();
}

/// An SQLite path the service cannot use, and how to make it usable again.
struct Spoiled {
    what: &'static str,
    spoil: fn(&std::path::Path),
    repair: fn(&std::path::Path),
}

const SPOILED_SQLITE_PATHS: &[Spoiled] = &[
    Spoiled {
        what: "a file that is not a database",
        spoil: |path| std::fs::write(path, b"not an SQLite database\n".repeat(512)).unwrap(),
        repair: |path| std::fs::remove_file(path).unwrap(),
    },
    Spoiled {
        what: "a directory",
        spoil: |path| std::fs::create_dir(path).unwrap(),
        repair: |path| std::fs::remove_dir(path).unwrap(),
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_whose_sqlite_file_is_unusable_starts_unready_answers_503_and_becomes_ready_once_it_is_usable()
 {
    for spoiled in SPOILED_SQLITE_PATHS {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.db");
        (spoiled.spoil)(&path);
        let app = TestApp::builder(Backend::Sqlite)
            .existing_database(&format!("sqlite://{}", path.display()))
            .config(|c| c.db_acquire_timeout_secs = ACQUIRE_TIMEOUT_SECS)
            .spawn()
            .await;
        let token = token(1);
        assert_up_but_unavailable(&app.client, &app.address, &token).await;

        (spoiled.repair)(&path);

        wait_until_ready(&app.client, &app.address).await;
        app.insert_user(1, "ada").await;
        let me = json_body(app.get_as("/users/me", &token).await, 200).await;
        assert_eq!(me["username"], "ada", "after {}", spoiled.what);
        let created = app
            .request(Method::POST, "/users/1/goals", Some(&token))
            .json(&json!({ "title": "Learn SQL" }))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201, "after {}", spoiled.what);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_sqlite_file_is_overwritten_with_garbage_requests_and_readiness_answer_503_and_the_same_process_serves_again_once_it_is_restored()
 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("service.db");
    // Open reader and writer connections, for the overwrite to meet.
    let (app, token) =
        serving_with_connections_pooled(Backend::Sqlite, &format!("sqlite://{}", path.display()))
            .await;
    json_body(app.get("/readyz").await, 200).await;
    // Everything into the file, and the write-ahead log emptied: the file alone is the
    // database, to be spoiled and restored.
    let TestDb::Sqlite(db) = &app.db else {
        unreachable!("an SQLite test database")
    };
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(busy, 0, "the checkpoint completed");
    let good = std::fs::read(&path).unwrap();

    // In place, as a failing disk or a stray write would.
    overwrite_in_place(&path, &vec![b'x'; good.len()]);
    // And the log's shared index zeroed (in place: the service has it mapped), so that every
    // connection of the service rebuilds it, drops the pages it has cached and reads the file
    // on its next query, rather than answer from its cache.
    let index = dir.path().join("service.db-shm");
    let size = std::fs::metadata(&index).unwrap().len();
    overwrite_in_place(&index, &vec![0; usize::try_from(size).unwrap()]);

    for _ in 0..2 {
        assert_up_but_unavailable(&app.client, &app.address, &token).await;
    }

    overwrite_in_place(&path, &good);

    assert_serves_again(&app, &token, "Restored").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgres_refuses_connections_reads_and_writes_answer_503_promptly_and_serve_again_after()
 {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    let (app, token) = serving_with_connections_pooled(Backend::Postgres, &database.url()).await;

    // SQLSTATE 55000 for new connections, 57P01 for those ended.
    database.refuse_connections().await;

    for _ in 0..2 {
        assert_up_but_unavailable(&app.client, &app.address, &token).await;
    }

    database.accept_connections().await;

    assert_serves_again(&app, &token, "Accepted again").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_started_while_postgres_refuses_connections_answers_503_and_migrates_once_it_accepts()
 {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    database.refuse_connections().await;

    let app = TestApp::builder(Backend::Postgres)
        .existing_database(&database.url())
        .config(|c| c.db_acquire_timeout_secs = ACQUIRE_TIMEOUT_SECS)
        .spawn()
        .await;
    let token = token(1);
    assert_up_but_unavailable(&app.client, &app.address, &token).await;

    database.accept_connections().await;

    wait_until_ready(&app.client, &app.address).await;
    app.insert_user(1, "ada").await;
    let me = json_body(app.get_as("/users/me", &token).await, 200).await;
    assert_eq!(me["username"], "ada");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_table_without_username_found_once_connections_are_accepted_stops_the_binary_non_zero()
 {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    database
        .execute("CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT)")
        .await;
    database.refuse_connections().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(&mut serve_on(dir.path(), &database.url()));
    assert_unavailable(http_client().get(server.url("/readyz"))).await;

    database.accept_connections().await;

    let status = server.wait_for_exit();
    assert!(!status.success(), "it must not go on serving");
    assert!(
        server.log.iter().any(|event| event
            .to_string()
            .contains("table `users` has no column `username`")),
        "{:#?}",
        server.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_under_load_writes_a_few_lines_a_second_without_backtraces_not_one_per_request() {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut server = ChildServer::start(
        serve_on(dir.path(), &database.url())
            .env("RUST_BACKTRACE", "1")
            .env("SHUTDOWN_GRACE_SECS", "0"),
    );
    let client = http_client();
    let address = server.address.clone();
    database.refuse_connections().await;

    // Load from a task of its own, until the log says how many lines a line stood for.
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = tokio::spawn({
        let sent = sent.clone();
        async move {
            loop {
                let wave = (1..=50).map(|i| client.get(format!("{address}/users/{i}")).send());
                for answer in futures::future::join_all(wave).await {
                    assert_eq!(answer.unwrap().status(), 503);
                }
                sent.fetch_add(50, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    let started = Instant::now();
    let summary = server.wait_for("a line with the count it stands for", |event| {
        event["message"] == "database unavailable"
            && event["repeated"].as_u64().is_some_and(|n| n > 0)
    });
    load.abort();
    let took = started.elapsed();
    let requests = sent.load(std::sync::atomic::Ordering::Relaxed);
    server.terminate();
    server.wait_for_exit();

    assert!(requests >= 100, "only {requests} requests");
    let lines: Vec<String> = server.log.iter().map(Value::to_string).collect();
    assert!(
        lines.iter().all(|l| !l.contains("backtrace")),
        "a backtrace below debug level: {lines:#?}"
    );
    let unavailable = server
        .log
        .iter()
        .filter(|e| e["message"] == "database unavailable")
        .count();
    // A few lines per second of the outage, each later one with the count held back.
    let seconds = took.as_secs() + 2;
    assert!(
        unavailable as u64 <= 5 * seconds,
        "{unavailable} lines for {requests} requests in {took:?}"
    );
    assert!(summary["repeated"].as_u64().unwrap() >= 10, "{summary}");
    assert!(
        lines.len() < requests / 4,
        "{} log lines for {requests} failed requests: {lines:#?}",
        lines.len()
    );
}
