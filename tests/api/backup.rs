//! `user-service backup --to FILE`: a consistent copy of the embedded database taken while
//! it serves, which never overwrites a file; PostgreSQL's backups are pg_dump's. A database
//! that is not there is refused, never created; the target is a plain path, never a URI,
//! never written through a link.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use serde_json::json;

use crate::{
    cli::command,
    helpers::{Backend, TestApp, json_body},
};

/// `user-service backup --to copy` on the app's database.
fn backup(app: &TestApp, copy: &std::path::Path) -> std::process::Output {
    command(copy.parent().expect("a folder"))
        .env("DATABASE_URL", app.database_url())
        .args(["backup", "--to"])
        .arg(copy)
        .output()
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_during_a_stream_of_writes_is_intact_and_holds_every_write_acknowledged_before_it()
{
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user(1).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let writing = Arc::new(AtomicBool::new(true));
    let writer = tokio::spawn({
        let (client, url) = (app.client.clone(), app.url("/users/1/goals"));
        let (acknowledged, writing, token) = (acknowledged.clone(), writing.clone(), token.clone());
        async move {
            let mut n = 0;
            while writing.load(Ordering::Relaxed) {
                n += 1;
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("Goal {n}")}))
                    .send()
                    .await
                    .unwrap();
                let goal = json_body(response, 201).await;
                acknowledged
                    .lock()
                    .unwrap()
                    .push(goal["id"].as_i64().unwrap());
            }
        }
    });
    crate::helpers::eventually("some writes are acknowledged", || async {
        (acknowledged.lock().unwrap().len() >= 20).then_some(())
    })
    .await;
    let before: Vec<i64> = acknowledged.lock().unwrap().clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");

    let output = backup(&app, &copy);

    writing.store(false, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let copied = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", copy.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copied)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let kept: Vec<i64> = sqlx::query_scalar("SELECT id FROM learning_goals")
        .fetch_all(&copied)
        .await
        .unwrap();
    for id in &before {
        assert!(
            kept.contains(id),
            "goal {id}, acknowledged before the backup, is missing"
        );
    }
    let written_after = acknowledged.lock().unwrap().len();
    assert!(
        written_after > before.len(),
        "the writes went on during the backup"
    );
    copied.close().await;

    // Never over a file that exists, even a backup.
    let again = backup(&app, &copy);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
}

/// The stderr of a backup that must fail.
fn refused(output: &std::process::Output) -> String {
    assert!(
        !output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The goals a copy holds, after checking it is an intact database.
async fn goals_in(copy: &std::path::Path) -> i64 {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(copy)
        .read_only(true);
    let copied = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copied)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let goals = sqlx::query_scalar("SELECT count(*) FROM learning_goals")
        .fetch_one(&copied)
        .await
        .unwrap();
    copied.close().await;
    goals
}

#[test]
fn a_database_that_is_not_there_is_refused_and_never_created() {
    let dir = tempfile::tempdir().unwrap();
    let mistyped = dir.path().join("user-servce.db");
    let copy = dir.path().join("copy.db");

    let output = command(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", mistyped.display()),
        )
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .unwrap();

    let stderr = refused(&output);
    assert!(stderr.contains("there is no database at"), "{stderr}");
    assert!(stderr.contains("user-servce.db"), "{stderr}");
    assert!(!mistyped.exists(), "the source was created");
    assert!(!copy.exists(), "a copy was made");

    // The default URL (data/user-service.db) from a folder without the service's data.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = command(dir.path())
        .env_remove("DATA_DIR")
        .current_dir(elsewhere.path())
        .args(["backup", "--to", "copy.db"])
        .output()
        .unwrap();

    let stderr = refused(&output);
    assert!(
        stderr.contains("there is no database at data/user-service.db"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(elsewhere.path()).unwrap().count(),
        0,
        "nothing is created, not even the data folder"
    );
}

#[test]
fn a_file_that_is_not_the_services_database_is_refused_and_no_copy_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let copy = dir.path().join("copy.db");

    let output = command(dir.path())
        .env("DATABASE_URL", format!("sqlite://{}", empty.display()))
        .args(["backup", "--to"])
        .arg(&copy)
        .output()
        .unwrap();

    let stderr = refused(&output);
    assert!(
        stderr.contains("is not a user-service database"),
        "{stderr}"
    );
    assert!(!copy.exists());
}

/// `file:` names are names: a file of exactly that name is written in the working folder,
/// with the whole database in it, and no other file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_looks_like_a_uri_is_a_plain_file_name() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let token = app.user(1).await;
    app.create_goal(1, &token, "Learn Rust").await;

    for name in [
        "file::memory:",
        "file:x.db?vfs=unix-none",
        "file:y.db?mode=memory",
    ] {
        let dir = tempfile::tempdir().unwrap();

        let output = command(dir.path())
            .env("DATABASE_URL", app.database_url())
            .current_dir(dir.path())
            .args(["backup", "--to", name])
            .output()
            .unwrap();

        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files, [name], "{name}");
        assert_eq!(goals_in(&dir.path().join(name)).await, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_is_a_link_is_refused_even_when_it_points_nowhere() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere.db");
    let dangling = dir.path().join("dangling.db");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"kept").unwrap();
    let to_existing = dir.path().join("to-existing.db");
    std::os::unix::fs::symlink(&existing, &to_existing).unwrap();

    for link in [&dangling, &to_existing] {
        let stderr = refused(&backup(&app, link));
        assert!(stderr.contains("never overwrites"), "{stderr}");
    }

    assert!(!nowhere.exists(), "the link was followed");
    assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
    assert_eq!(std::fs::read(&existing).unwrap(), b"kept");
}

#[tokio::test]
async fn on_postgresql_the_backup_command_points_to_pg_dump_and_exits_non_zero() {
    if !Backend::Postgres.available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.dump");

    let output = backup(&app, &copy);

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    assert!(!copy.exists());
}
