//! Beside the real auth-service (the FastAPI one this specification comes from): its `users`
//! table in each shape it may have, its access and refresh tokens, and its logouts.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use user_service::config::UsersTableOwner;

use crate::{
    cli::command,
    helpers::{Backend, TestApp, award_token, claims, codes, json_body, problem, sign, token},
};

/// Every operation of the API, done by `user` as a client of theirs would: each must
/// succeed. Returns the profile as its owner sees it.
pub(crate) async fn walk_every_endpoint(app: &TestApp, user: i64) -> Value {
    let token = token(user);
    let me = Some(token.as_str());
    let base = format!("/users/{user}");
    json_body(app.get(&base).await, 200).await;
    let profile = json_body(
        app.put(
            &base,
            me,
            &json!({"display_name": "Ada", "bio": "Counts.", "skills": ["a", "b", "c"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(profile["display_name"], "Ada");
    let goal = app.create_goal(user, &token, "Learn Rust").await;
    let goal_path = format!("{base}/goals/{}", goal["id"]);
    json_body(app.get(&format!("{base}/goals")).await, 200).await;
    json_body(app.get(&goal_path).await, 200).await;
    json_body(
        app.put(&goal_path, me, &json!({"title": "Learn more Rust"}))
            .await,
        200,
    )
    .await;
    let checkin = json_body(
        app.post(
            &format!("{goal_path}/checkins"),
            me,
            &json!({"minutes": 20}),
        )
        .await,
        201,
    )
    .await;
    json_body(app.get(&format!("{goal_path}/checkins")).await, 200).await;
    assert_eq!(
        app.delete(
            &format!("{goal_path}/checkins/{}", checkin["date"].as_str().unwrap()),
            me
        )
        .await
        .status(),
        204
    );
    let awarder = award_token();
    json_body(
        app.post(
            &format!("{base}/badges"),
            Some(&awarder),
            &json!({"code": "streak-100"}),
        )
        .await,
        201,
    )
    .await;
    let badges = json_body(app.get(&format!("{base}/badges")).await, 200).await;
    let codes = codes(&badges);
    for code in ["first-goal", "profile-complete", "streak-100"] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    assert_eq!(
        app.delete(&format!("{base}/badges/streak-100"), Some(&awarder))
            .await
            .status(),
        204
    );
    json_body(app.get("/users/badges").await, 200).await;
    let activity = json_body(app.get(&format!("{base}/activity")).await, 200).await;
    assert!(activity.as_array().unwrap().len() >= 5, "{activity}");
    let stats = json_body(app.get(&format!("{base}/stats")).await, 200).await;
    assert_eq!(stats["goals_total"], 1);
    assert_eq!(app.delete(&goal_path, me).await.status(), 204);
    json_body(app.get_as("/users/me", &token).await, 200).await
}

/// The auth-service's tables and indexes as text, to compare before and after: the
/// declaration of each of its columns, every index, and its rows 1 and 2 (those there
/// before this service started), its columns only.
async fn auth_service_state(app: &TestApp, columns: &[&str]) -> Vec<String> {
    let names = columns
        .iter()
        .map(|c| format!("'{c}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let (declarations, indexes) = match app.backend {
        Backend::Postgres => (
            format!(
                "SELECT string_agg(table_name || '.' || column_name || ' ' || data_type || ' ' \
                   || is_nullable || ' ' || COALESCE(column_default, '-'), '; ' \
                   ORDER BY table_name, column_name) \
                 FROM information_schema.columns WHERE table_schema = current_schema() \
                   AND (table_name = 'token_blacklist' \
                        OR (table_name = 'users' AND column_name IN ({names})))"
            ),
            "SELECT string_agg(indexname || ' ' || indexdef, '; ' ORDER BY indexname) \
             FROM pg_indexes WHERE schemaname = current_schema() \
               AND tablename IN ('users', 'token_blacklist')",
        ),
        Backend::Sqlite => (
            format!(
                "SELECT (SELECT sql FROM sqlite_master WHERE name = 'token_blacklist') || '; ' || \
                   (SELECT group_concat(d, '; ') FROM (SELECT name || ' ' || type || ' ' \
                     || \"notnull\" || ' ' || COALESCE(dflt_value, '-') || ' ' || pk AS d \
                     FROM pragma_table_info('users') WHERE name IN ({names}) ORDER BY name))"
            ),
            "SELECT group_concat(name || ' ' || COALESCE(sql, '-'), '; ') FROM (SELECT name, sql \
               FROM sqlite_master WHERE type = 'index' \
               AND tbl_name IN ('users', 'token_blacklist') ORDER BY name)",
        ),
    };
    let row = columns
        .iter()
        .map(|c| format!("COALESCE(CAST({c} AS TEXT), '-')"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let rows = match app.backend {
        Backend::Postgres => {
            format!("SELECT string_agg({row}, '; ' ORDER BY id) FROM users WHERE id IN (1, 2)")
        }
        Backend::Sqlite => format!(
            "SELECT group_concat(r, '; ') FROM \
             (SELECT {row} AS r FROM users WHERE id IN (1, 2) ORDER BY id)"
        ),
    };
    let mut state = Vec::new();
    for sql in [
        declarations.as_str(),
        indexes,
        &rows,
        "SELECT jti || ' ' || CAST(expires_at AS TEXT) FROM token_blacklist",
    ] {
        state.push(app.db.text(sql).await.unwrap_or_default());
    }
    state
}

/// A shape of the auth-service's `users` table, with rows of its own before this service
/// starts.
pub(crate) struct Shape {
    name: &'static str,
    pub(crate) postgres: &'static str,
    pub(crate) sqlite: &'static str,
    /// The auth-service's columns, whose values must never change.
    columns: &'static [&'static str],
    /// An insert of user `{id}` by the auth-service.
    insert: &'static str,
    has_created_at: bool,
    has_email: bool,
}

pub(crate) const TOKEN_BLACKLIST: &str = "CREATE TABLE token_blacklist (
        jti VARCHAR(255) PRIMARY KEY,
        expires_at TIMESTAMP NOT NULL
    );
    INSERT INTO token_blacklist (jti, expires_at) VALUES ('logged-out', '2099-01-01 00:00:00');";

pub(crate) const SHAPES: &[Shape] = &[
    Shape {
        name: "the FastAPI auth-service's: SERIAL id, VARCHAR columns, nullable is_active, no created_at",
        postgres: "CREATE TABLE users (
                id SERIAL PRIMARY KEY,
                username VARCHAR(50) UNIQUE NOT NULL,
                email VARCHAR(100) UNIQUE NOT NULL,
                hashed_password VARCHAR(255) NOT NULL,
                is_active BOOLEAN DEFAULT TRUE
            );
            CREATE INDEX ix_users_username ON users (username);",
        sqlite: "CREATE TABLE users (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                username VARCHAR(50) UNIQUE NOT NULL,
                email VARCHAR(100) UNIQUE NOT NULL,
                hashed_password VARCHAR(255) NOT NULL,
                is_active BOOLEAN DEFAULT 1
            );
            CREATE INDEX ix_users_username ON users (username);",
        columns: &["id", "username", "email", "hashed_password", "is_active"],
        insert: "INSERT INTO users (id, username, email, hashed_password, is_active)
            VALUES ({id}, 'user{id}', 'user{id}@example.com', 'bcrypt-{id}', NULL)",
        has_created_at: false,
        has_email: true,
    },
    Shape {
        name: "BIGINT and TEXT with created_at TIMESTAMP",
        postgres: "CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                username TEXT UNIQUE NOT NULL,
                email TEXT,
                is_active BOOLEAN NOT NULL DEFAULT TRUE,
                created_at TIMESTAMP NOT NULL DEFAULT now()
            );",
        sqlite: "CREATE TABLE users (
                id BIGINT PRIMARY KEY,
                username TEXT UNIQUE NOT NULL,
                email TEXT,
                is_active BOOLEAN NOT NULL DEFAULT TRUE,
                created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
            );",
        columns: &["id", "username", "email", "is_active", "created_at"],
        insert: "INSERT INTO users (id, username, email, created_at)
            VALUES ({id}, 'user{id}', 'user{id}@example.com', '2025-06-01 10:00:00')",
        has_created_at: true,
        has_email: true,
    },
    Shape {
        name: "no email, no is_active",
        postgres: "CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL);",
        sqlite: "CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL);",
        columns: &["id", "username"],
        insert: "INSERT INTO users (id, username) VALUES ({id}, 'user{id}')",
        has_created_at: false,
        has_email: false,
    },
    Shape {
        name: "extra columns of the auth-service's own",
        postgres: "CREATE TABLE users (
                id BIGSERIAL PRIMARY KEY,
                username VARCHAR(50) UNIQUE NOT NULL,
                email VARCHAR(255),
                hashed_password TEXT NOT NULL,
                is_active BOOLEAN,
                created_at TIMESTAMPTZ DEFAULT now(),
                role TEXT NOT NULL DEFAULT 'student',
                mfa_secret TEXT,
                last_login TIMESTAMP
            );",
        sqlite: "CREATE TABLE users (
                id INTEGER PRIMARY KEY,
                username VARCHAR(50) UNIQUE NOT NULL,
                email VARCHAR(255),
                hashed_password TEXT NOT NULL,
                is_active BOOLEAN,
                created_at TEXT DEFAULT CURRENT_TIMESTAMP,
                role TEXT NOT NULL DEFAULT 'student',
                mfa_secret TEXT,
                last_login TIMESTAMP
            );",
        columns: &[
            "id",
            "username",
            "email",
            "hashed_password",
            "is_active",
            "created_at",
            "role",
            "mfa_secret",
            "last_login",
        ],
        insert: "INSERT INTO users (id, username, email, hashed_password, created_at, mfa_secret)
            VALUES ({id}, 'user{id}', 'user{id}@example.com', 'argon2-{id}',
                    '2025-06-01 10:00:00+00:00', 'totp-{id}')",
        has_created_at: true,
        has_email: true,
    },
];

fn within_a_minute_of_now(value: &Value) -> bool {
    value
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .is_some_and(|t| (Utc::now() - t.to_utc()).num_seconds().abs() < 60)
}

async fn every_shape_of_the_auth_services_table_serves_every_endpoint(backend: Backend) {
    every_shape_serves_every_endpoint(backend, UsersTableOwner::Service).await;
}

/// The same with the auth-service owning `users`: on PostgreSQL this service's tables are
/// then in a schema of their own, beside the auth-service's.
async fn every_shape_serves_every_endpoint_when_the_auth_service_owns_users(backend: Backend) {
    every_shape_serves_every_endpoint(backend, UsersTableOwner::AuthService).await;
}

async fn every_shape_serves_every_endpoint(backend: Backend, owner: UsersTableOwner) {
    for shape in SHAPES {
        let table = match backend {
            Backend::Postgres => shape.postgres,
            Backend::Sqlite => shape.sqlite,
        };
        let before_start = format!(
            "{table}\n{TOKEN_BLACKLIST}\n{};\n{};",
            shape.insert.replace("{id}", "1"),
            shape.insert.replace("{id}", "2"),
        );
        let app = TestApp::builder(backend)
            .before_migrations(&before_start)
            .config(|c| c.users_table_owner = owner)
            .spawn()
            .await;
        // A deactivated user of the auth-service's, where the table can say so.
        if shape.columns.contains(&"is_active") {
            app.db
                .execute("UPDATE users SET is_active = FALSE WHERE id = 2")
                .await;
        }
        let before = auth_service_state(&app, shape.columns).await;

        let ada = walk_every_endpoint(&app, 1).await;
        // A user the auth-service signs up while the service runs.
        app.db.execute(&shape.insert.replace("{id}", "3")).await;
        let later = walk_every_endpoint(&app, 3).await;

        let what = format!("{backend:?}, {owner:?}, {}", shape.name);
        assert_eq!(ada["username"], "user1", "{what}");
        assert_eq!(later["username"], "user3", "{what}");
        if shape.has_email {
            assert_eq!(ada["email"], "user1@example.com", "{what}");
        } else {
            assert_eq!(ada["email"], Value::Null, "{what}");
        }
        if shape.has_created_at {
            assert_eq!(later["created_at"], "2025-06-01T10:00:00Z", "{what}");
        } else {
            // When this service first saw the user: for a row there before it started, its
            // first start; for a later one, its insertion (on SQLite, which cannot give an
            // added column that default, the service's next start).
            assert!(within_a_minute_of_now(&ada["created_at"]), "{what}: {ada}");
            match backend {
                Backend::Postgres => {
                    assert!(within_a_minute_of_now(&later["created_at"]), "{what}")
                }
                Backend::Sqlite => assert_eq!(later["created_at"], Value::Null, "{what}"),
            }
        }
        if shape.columns.contains(&"is_active") {
            problem(app.get("/users/2").await, 404).await;
            problem(app.get_as("/users/me", &token(2)).await, 404).await;
        } else {
            json_body(app.get("/users/2").await, 200).await;
        }
        // Only this service's own columns were added, and nothing of the auth-service's
        // changed: not a row, a column, an index or its other tables.
        assert_eq!(
            auth_service_state(&app, shape.columns).await,
            before,
            "{what}"
        );
        assert!(
            before.iter().all(|part| !part.is_empty()),
            "{what}: {before:?}"
        );
        if backend == Backend::Postgres && owner == UsersTableOwner::AuthService {
            let tables = "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables \
                          WHERE schemaname = current_schema()";
            assert_eq!(
                app.db.text(tables).await.as_deref(),
                Some("token_blacklist users"),
                "{what}: the auth-service's schema holds no table of this service"
            );
        }
    }
}

/// The auth-service's table as a test before-migration statement, without `column`.
fn users_without(column: &str) -> String {
    let columns: Vec<&str> = [
        "id INTEGER PRIMARY KEY",
        "username TEXT NOT NULL",
        "email TEXT",
    ]
    .into_iter()
    .filter(|c| !c.starts_with(column))
    .collect();
    let columns = if column == "id" {
        format!("user_id INTEGER PRIMARY KEY, {}", columns.join(", "))
    } else {
        columns.join(", ")
    };
    format!("CREATE TABLE users ({columns});")
}

async fn a_users_table_without_id_or_username_is_refused_at_start_naming_the_column(
    backend: Backend,
) {
    for missing in ["id", "username"] {
        let error = TestApp::builder(backend)
            .before_migrations(&users_without(missing))
            .try_spawn()
            .await
            .err()
            .expect("the application refuses to build");
        let message = format!("{error:#}");
        assert!(
            message.contains(&format!("table `users` has no column `{missing}`")),
            "{backend:?}: {message}"
        );
    }
}

#[test]
fn the_binary_refuses_to_start_on_a_users_table_without_username_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.db");
    std::process::Command::new("sqlite3")
        .arg(&path)
        .arg(users_without("username"))
        .status()
        .map(|s| assert!(s.success()))
        .unwrap_or_else(|_| {
            // Without the sqlite3 shell, make the file with the service's own driver.
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                sqlx::query(sqlx::AssertSqlSafe(users_without("username")))
                    .execute(&pool)
                    .await
                    .unwrap();
            });
        });

    let output = command(dir.path())
        .env("DATABASE_URL", format!("sqlite://{}", path.display()))
        .env("JWT_SECRET", "s")
        .arg("serve")
        .output()
        .unwrap();

    assert!(!output.status.success(), "it must not start");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("table `users` has no column `username`"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("\"serving\""), "it never served: {stdout}");
}

/// A token as the FastAPI auth-service's login signs it: `sub` the username, `user_id` the
/// id, a `jti`, and `type` telling an access token from a refresh token.
fn fastapi_token(user: i64, username: &str, typ: Option<&str>) -> String {
    let now = Utc::now().timestamp();
    let mut claims = json!({
        "sub": username,
        "user_id": user,
        "jti": uuid::Uuid::new_v4().to_string(),
        "exp": now + 3600,
    });
    if let Some(typ) = typ {
        claims["type"] = json!(typ);
    }
    sign(&claims)
}

async fn refresh_tokens_are_refused_when_type_access_is_required(backend: Backend) {
    let app = TestApp::builder(backend)
        .jwt(|jwt| {
            jwt.jwt_user_claim = "user_id".into();
            jwt.jwt_required_claims = vec!["type=access".into()];
        })
        .spawn()
        .await;
    app.insert_user(1, "ada").await;

    let me = json_body(
        app.get_as("/users/me", &fastapi_token(1, "ada", Some("access")))
            .await,
        200,
    )
    .await;
    assert_eq!(me["id"], 1);
    for typ in [Some("refresh"), Some("ACCESS"), None] {
        let response = app.get_as("/users/me", &fastapi_token(1, "ada", typ)).await;
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#,
            "{typ:?}"
        );
        problem(response, 401).await;
    }
    // A public read refuses the refresh token too rather than ignore it, and so does a write.
    let refresh = fastapi_token(1, "ada", Some("refresh"));
    problem(app.get_as("/users/1", &refresh).await, 401).await;
    problem(
        app.post("/users/1/goals", Some(&refresh), &json!({"title": "x"}))
            .await,
        401,
    )
    .await;
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM learning_goals").await,
        0
    );
}

async fn a_required_number_is_not_met_by_a_string(backend: Backend) {
    let app = TestApp::builder(backend)
        .jwt(|jwt| jwt.jwt_required_claims = vec!["ver=2".into(), "aud_kind=\"web\"".into()])
        .spawn()
        .await;
    app.insert_user(1, "ada").await;
    let with = |ver: Value, kind: Value| {
        let mut claims = claims(1);
        claims["ver"] = ver;
        claims["aud_kind"] = kind;
        sign(&claims)
    };

    json_body(
        app.get_as("/users/me", &with(json!(2), json!("web"))).await,
        200,
    )
    .await;
    problem(
        app.get_as("/users/me", &with(json!("2"), json!("web")))
            .await,
        401,
    )
    .await;
    problem(
        app.get_as("/users/me", &with(json!(3), json!("web"))).await,
        401,
    )
    .await;
    problem(
        app.get_as("/users/me", &with(json!(2), json!("app"))).await,
        401,
    )
    .await;
}

pub(crate) fn with_jti(user: i64, jti: &str) -> String {
    let mut claims = claims(user);
    claims["jti"] = json!(jti);
    sign(&claims)
}

/// The service with the auth-service's `token_blacklist`, where `logged-out` is listed.
pub(crate) async fn denylist_app(backend: Backend, cache_secs: u64) -> TestApp {
    let app = TestApp::builder(backend)
        .before_migrations(TOKEN_BLACKLIST)
        .jwt(|jwt| {
            jwt.jwt_denylist_table = Some("token_blacklist".into());
            jwt.jwt_denylist_cache_secs = cache_secs;
        })
        .spawn()
        .await;
    app.insert_user(1, "ada").await;
    app
}

async fn a_logged_out_token_is_refused_within_the_cache_time(backend: Backend) {
    let cache = Duration::from_secs(2);
    let app = denylist_app(backend, cache.as_secs()).await;
    let jti = uuid::Uuid::new_v4().to_string();
    let token = with_jti(1, &jti);
    json_body(app.get_as("/users/me", &token).await, 200).await;

    // The auth-service's logout.
    app.db
        .execute(&format!(
            "INSERT INTO token_blacklist (jti, expires_at) VALUES ('{jti}', '2099-01-01 00:00:00')"
        ))
        .await;
    let logged_out = Instant::now();

    loop {
        let response = app.get_as("/users/me", &token).await;
        if response.status() == 401 {
            problem(response, 401).await;
            break;
        }
        assert_eq!(response.status(), 200);
        assert!(
            logged_out.elapsed() < cache + Duration::from_millis(500),
            "still accepted {:?} after the logout",
            logged_out.elapsed()
        );
    }
    // Refused on every route, and for good.
    problem(app.get_as("/users/1/goals", &token).await, 401).await;
    problem(
        app.post("/users/1/goals", Some(&token), &json!({"title": "x"}))
            .await,
        401,
    )
    .await;
    // Another token of the same user is unaffected.
    json_body(
        app.get_as("/users/me", &with_jti(1, "still-logged-in"))
            .await,
        200,
    )
    .await;
}

async fn with_the_denylist_on_a_token_without_jti_or_listed_is_refused_at_once_without_a_cache(
    backend: Backend,
) {
    let app = denylist_app(backend, 0).await;

    problem(app.get_as("/users/me", &token(1)).await, 401).await;
    problem(
        app.get_as("/users/me", &with_jti(1, "logged-out")).await,
        401,
    )
    .await;
    json_body(app.get_as("/users/me", &with_jti(1, "fresh")).await, 200).await;
    // An entry past its expiry no longer counts (its token has expired anyway).
    app.db
        .execute(
            "INSERT INTO token_blacklist (jti, expires_at) VALUES ('old', '2020-01-01 00:00:00')",
        )
        .await;
    json_body(app.get_as("/users/me", &with_jti(1, "old")).await, 200).await;
    app.db
        .execute(
            "INSERT INTO token_blacklist (jti, expires_at) VALUES ('fresh', '2099-01-01 00:00:00')",
        )
        .await;
    problem(app.get_as("/users/me", &with_jti(1, "fresh")).await, 401).await;
}

async fn a_denylist_that_cannot_be_read_refuses_with_503_never_lets_a_token_through(
    backend: Backend,
) {
    let app = TestApp::builder(backend)
        .jwt(|jwt| {
            jwt.jwt_denylist_table = Some("no_such_table".into());
            jwt.jwt_denylist_cache_secs = 0;
        })
        .spawn()
        .await;
    app.insert_user(1, "ada").await;

    let response = app.get_as("/users/me", &with_jti(1, "a")).await;
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 503).await;
    // Requests without a token do not need it.
    json_body(app.get("/users/1").await, 200).await;
}

async fn a_denylist_name_that_is_not_a_plain_identifier_is_refused_at_start(backend: Backend) {
    for bad in ["token_blacklist; DROP TABLE users", "auth.tokens", "\"t\""] {
        let error = TestApp::builder(backend)
            .jwt(|jwt| jwt.jwt_denylist_table = Some(bad.into()))
            .try_spawn()
            .await
            .err()
            .expect("refused at start");
        assert!(
            format!("{error:#}").contains("not a plain SQL identifier"),
            "{error:#}"
        );
    }
}

crate::backend_tests!(
    every_shape_of_the_auth_services_table_serves_every_endpoint,
    every_shape_serves_every_endpoint_when_the_auth_service_owns_users,
    a_users_table_without_id_or_username_is_refused_at_start_naming_the_column,
    refresh_tokens_are_refused_when_type_access_is_required,
    a_required_number_is_not_met_by_a_string,
    a_logged_out_token_is_refused_within_the_cache_time,
    with_the_denylist_on_a_token_without_jti_or_listed_is_refused_at_once_without_a_cache,
    a_denylist_that_cannot_be_read_refuses_with_503_never_lets_a_token_through,
    a_denylist_name_that_is_not_a_plain_identifier_is_refused_at_start,
);
