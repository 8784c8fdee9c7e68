//! `user-service backup --to FILE`: a consistent copy of the embedded database taken while
//! it serves, which never overwrites a file; PostgreSQL's backups are pg_dump's.

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
