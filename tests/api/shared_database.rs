//! The `users` table belongs to the auth-service. In a shared database it is there before this
//! service first starts, with rows and columns of its own: the service adds only its profile
//! columns, reads the auth-service's timestamps as UTC, never shows or changes the
//! auth-service's columns, and starts again over the same database. Standalone, it creates the
//! table itself.

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, json_body, keys, problem, token};

/// The auth-service's `users` table and rows, as its own migrations left them.
fn auth_service_schema(backend: Backend) -> String {
    let table = match backend {
        Backend::Postgres => {
            "CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                username VARCHAR(50) UNIQUE NOT NULL,
                email VARCHAR(255),
                hashed_password TEXT NOT NULL,
                is_active BOOLEAN DEFAULT TRUE,
                created_at TIMESTAMP DEFAULT now(),
                role TEXT NOT NULL DEFAULT 'student',
                last_login TIMESTAMP
            );"
        }
        Backend::Sqlite => {
            "CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                username VARCHAR(50) UNIQUE NOT NULL,
                email VARCHAR(255),
                hashed_password TEXT NOT NULL,
                is_active BOOLEAN DEFAULT TRUE,
                created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
                role TEXT NOT NULL DEFAULT 'student',
                last_login TIMESTAMP
            );"
        }
    };
    format!(
        "{table}
        INSERT INTO users (id, username, email, hashed_password, created_at, role, last_login)
            VALUES (1, 'ada', 'ada@example.com', 'argon2id-hash-of-ada', '2024-05-01 08:30:00',
                    'teacher', '2026-03-01 07:15:00');
        INSERT INTO users (id, username, email, hashed_password, created_at)
            VALUES (2, 'bob', 'bob@example.com', 'argon2id-hash-of-bob', '2025-01-31 23:59:59');
        INSERT INTO users (id, username, email, hashed_password, is_active, role)
            VALUES (3, 'cyd', NULL, 'argon2id-hash-of-cyd', FALSE, 'admin');"
    )
}

/// A service started over the auth-service's populated table.
async fn shared(backend: Backend) -> TestApp {
    TestApp::builder(backend)
        .before_migrations(&auth_service_schema(backend))
        .spawn()
        .await
}

/// Every auth-service column of every row, as text, in id order: what this service must
/// never change.
async fn auth_service_columns(app: &TestApp) -> Vec<String> {
    let mut rows = Vec::new();
    for id in 1..=app.db.scalar("SELECT max(id) FROM users").await {
        let row = app
            .db
            .text(&format!(
                "SELECT CAST(id AS TEXT) || '|' || username || '|' || COALESCE(email, '-') || '|' \
                 || hashed_password || '|' || COALESCE(CAST(is_active AS TEXT), '-') || '|' \
                 || COALESCE(CAST(created_at AS TEXT), '-') || '|' || role || '|' \
                 || COALESCE(CAST(last_login AS TEXT), '-') FROM users WHERE id = {id}"
            ))
            .await;
        rows.push(row.expect("no auth-service column is null-concatenated away"));
    }
    rows
}

async fn the_service_starts_over_the_auth_services_table_and_serves_its_rows(backend: Backend) {
    let app = shared(backend).await;

    let ada = json_body(app.get("/users/1").await, 200).await;

    assert_eq!(ada["id"], 1);
    assert_eq!(ada["username"], "ada");
    assert_eq!(
        ada["created_at"], "2024-05-01T08:30:00Z",
        "a TIMESTAMP is read as UTC"
    );
    assert_eq!(ada["display_name"], Value::Null);
    assert_eq!(ada["bio"], Value::Null);
    assert_eq!(ada["avatar_url"], Value::Null);
    assert_eq!(ada["skills"], json!([]));
    assert_eq!(
        keys(&ada),
        [
            "avatar_url",
            "bio",
            "created_at",
            "display_name",
            "follow_policy",
            "followers_count",
            "following_count",
            "id",
            "links",
            "skills",
            "username"
        ],
        "none of the auth-service's other columns is shown"
    );
    let bob = json_body(app.get("/users/2").await, 200).await;
    assert_eq!(bob["created_at"], "2025-01-31T23:59:59Z");
    assert_eq!(app.db.scalar("SELECT count(*) FROM users").await, 3);
}

async fn the_owner_sees_email_and_timezone_but_no_other_auth_service_column(backend: Backend) {
    let app = shared(backend).await;

    let me = json_body(app.get_as("/users/me", &token(1)).await, 200).await;

    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["timezone"], "UTC");
    assert_eq!(me["created_at"], "2024-05-01T08:30:00Z");
    for hidden in ["hashed_password", "role", "last_login", "is_active"] {
        assert!(me.get(hidden).is_none(), "{hidden} shown: {me}");
    }
}

async fn an_inactive_auth_service_user_is_404(backend: Backend) {
    let app = shared(backend).await;

    problem(app.get("/users/3").await, 404).await;
    problem(app.get_as("/users/me", &token(3)).await, 404).await;
    problem(
        app.put("/users/3", Some(&token(3)), &json!({"bio": "still here"}))
            .await,
        404,
    )
    .await;
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM users WHERE id = 3 AND bio IS NULL")
            .await,
        1
    );
}

async fn a_profile_update_leaves_the_auth_services_columns_and_rows_alone(backend: Backend) {
    let app = shared(backend).await;
    let before = auth_service_columns(&app).await;

    let updated = json_body(
        app.put(
            "/users/1",
            Some(&token(1)),
            &json!({
                "display_name": "Ada Lovelace",
                "bio": "Notes on the engine.",
                "skills": ["Rust", "SQL"],
                "avatar_url": "https://cdn.example.com/ada.png",
                "timezone": "Europe/London",
            }),
        )
        .await,
        200,
    )
    .await;

    assert_eq!(updated["display_name"], "Ada Lovelace");
    assert_eq!(updated["skills"], json!(["Rust", "SQL"]));
    assert_eq!(updated["created_at"], "2024-05-01T08:30:00Z");
    assert_eq!(auth_service_columns(&app).await, before);
    assert_eq!(app.db.scalar("SELECT count(*) FROM users").await, 3);
    for (column, value) in [
        ("username", "ada"),
        ("email", "ada@example.com"),
        ("hashed_password", "argon2id-hash-of-ada"),
        ("role", "teacher"),
        ("display_name", "Ada Lovelace"),
    ] {
        let sql = format!("SELECT {column} FROM users WHERE id = 1");
        assert_eq!(app.db.text(&sql).await.as_deref(), Some(value), "{column}");
    }
    let bob = json_body(app.get("/users/2").await, 200).await;
    assert_eq!(
        bob["display_name"],
        Value::Null,
        "only the owner's row changed"
    );
}

async fn an_update_is_stamped_by_the_services_clock_in_its_own_column_only(backend: Backend) {
    let at = Utc.with_ymd_and_hms(2026, 4, 2, 9, 15, 0).unwrap();
    let app = TestApp::builder(backend)
        .before_migrations(&auth_service_schema(backend))
        .at(at)
        .spawn()
        .await;
    let stamped = || {
        app.db.scalar(match backend {
            Backend::Postgres => {
                "SELECT CAST(COALESCE(sum(EXTRACT(EPOCH FROM profile_updated_at)), 0) AS BIGINT) \
                 FROM users"
            }
            Backend::Sqlite => {
                "SELECT COALESCE(sum(CAST(strftime('%s', profile_updated_at) AS INTEGER)), 0) \
                 FROM users"
            }
        })
    };
    assert_eq!(stamped().await, 0, "the migration stamps no row");

    let updated = json_body(
        app.put("/users/1", Some(&token(1)), &json!({"bio": "Stamped."}))
            .await,
        200,
    )
    .await;

    assert_eq!(
        stamped().await,
        at.timestamp(),
        "only ada's row, at the clock's time"
    );
    assert_eq!(updated["created_at"], "2024-05-01T08:30:00Z");
    let ada = json_body(app.get_as("/users/me", &token(1)).await, 200).await;
    assert_eq!(ada["created_at"], "2024-05-01T08:30:00Z");
}

async fn the_auth_service_still_inserts_users_after_the_migration(backend: Backend) {
    let app = shared(backend).await;

    // The auth-service knows nothing of the profile columns: their defaults fill them.
    app.db
        .execute(
            "INSERT INTO users (id, username, email, hashed_password) \
             VALUES (4, 'dee', 'dee@example.com', 'argon2id-hash-of-dee')",
        )
        .await;

    let dee = json_body(app.get_as("/users/me", &token(4)).await, 200).await;
    assert_eq!(dee["username"], "dee");
    assert_eq!(dee["skills"], json!([]));
    assert_eq!(dee["timezone"], "UTC");
    assert!(dee["created_at"].is_string());
    assert_eq!(
        app.db.text("SELECT role FROM users WHERE id = 4").await,
        Some("student".into())
    );
}

async fn profile_columns_the_table_already_has_are_kept_with_their_values(backend: Backend) {
    let app = TestApp::builder(backend)
        .before_migrations(
            "CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                username TEXT UNIQUE NOT NULL,
                email TEXT,
                hashed_password TEXT,
                is_active BOOLEAN,
                created_at TIMESTAMP,
                display_name TEXT,
                bio TEXT
            );
            INSERT INTO users (id, username, display_name, bio)
                VALUES (1, 'ada', 'Ada L.', 'Set by an earlier version.');",
        )
        .spawn()
        .await;

    let ada = json_body(app.get("/users/1").await, 200).await;

    assert_eq!(ada["display_name"], "Ada L.");
    assert_eq!(ada["bio"], "Set by an earlier version.");
    assert_eq!(ada["skills"], json!([]));
    assert_eq!(
        ada["created_at"],
        Value::Null,
        "a null created_at stays null"
    );
    let cleared = json_body(
        app.put("/users/1", Some(&token(1)), &json!({"bio": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(cleared["bio"], Value::Null);
    assert_eq!(cleared["display_name"], "Ada L.");
}

async fn a_second_start_over_the_same_database_is_fine(backend: Backend) {
    let app = shared(backend).await;
    json_body(
        app.put(
            "/users/1",
            Some(&token(1)),
            &json!({"display_name": "Ada", "skills": ["Rust"]}),
        )
        .await,
        200,
    )
    .await;
    let before = auth_service_columns(&app).await;
    let migrations = app.db.scalar("SELECT count(*) FROM _sqlx_migrations").await;

    let again = app.start_again().await;

    let ada = json_body(again.get("/users/1").await, 200).await;
    assert_eq!(ada["display_name"], "Ada");
    assert_eq!(ada["skills"], json!(["Rust"]));
    assert_eq!(ada["created_at"], "2024-05-01T08:30:00Z");
    json_body(
        again
            .put("/users/2", Some(&token(2)), &json!({"bio": "Bob here."}))
            .await,
        200,
    )
    .await;
    assert_eq!(auth_service_columns(&app).await, before);
    assert_eq!(app.db.scalar("SELECT count(*) FROM users").await, 3);
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM _sqlx_migrations").await,
        migrations,
        "no migration ran twice"
    );
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM badges").await,
        again.db.scalar("SELECT count(*) FROM badges").await
    );
}

async fn standalone_the_service_creates_the_users_table(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.db.scalar("SELECT count(*) FROM users").await, 0);

    app.insert_user(1, "ada").await;

    let ada = json_body(app.get("/users/1").await, 200).await;
    assert_eq!(ada["username"], "ada");
    assert_eq!(ada["skills"], json!([]));
    assert!(ada["created_at"].as_str().unwrap().ends_with('Z'));
    let updated = json_body(
        app.put("/users/1", Some(&token(1)), &json!({"bio": "Standalone."}))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["bio"], "Standalone.");
    let again = app.start_again().await;
    let ada = json_body(again.get("/users/1").await, 200).await;
    assert_eq!(ada["bio"], "Standalone.");
}

crate::backend_tests!(
    the_service_starts_over_the_auth_services_table_and_serves_its_rows,
    the_owner_sees_email_and_timezone_but_no_other_auth_service_column,
    an_inactive_auth_service_user_is_404,
    a_profile_update_leaves_the_auth_services_columns_and_rows_alone,
    an_update_is_stamped_by_the_services_clock_in_its_own_column_only,
    the_auth_service_still_inserts_users_after_the_migration,
    profile_columns_the_table_already_has_are_kept_with_their_values,
    a_second_start_over_the_same_database_is_fine,
    standalone_the_service_creates_the_users_table,
);
