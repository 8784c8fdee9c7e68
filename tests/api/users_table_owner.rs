//! `USERS_TABLE_OWNER=auth-service`, a shared database as the auth-service's team runs it:
//! this service never creates `users` (it waits, unready, for the auth-service's first
//! migration), keeps its own tables in a PostgreSQL schema of their own (`DATABASE_SCHEMA`),
//! moves an existing installation's tables there, and leaves the auth-service's schema
//! holding nothing of its own but its columns on `users`, so that the auth-service's Alembic
//! autogenerate, with the README's filter, proposes nothing.

use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use user_service::{
    config::UsersTableOwner,
    db::{OWN_FUNCTIONS, OWN_TABLES},
};

use crate::{
    auth_service::{SHAPES, TOKEN_BLACKLIST, walk_every_endpoint},
    cli::command,
    helpers::{
        Backend, TestApp, TestDb, alembic, eventually, json_body, own_database::OwnDatabase,
        problem, token,
    },
};

/// The columns this service adds to the auth-service's `users`, and nothing else of its own
/// is in the auth-service's schema.
const ADDED_COLUMNS: &[&str] = &[
    "activity_visibility",
    "avatar_url",
    "badges_visibility",
    "bio",
    "connections_visibility",
    "display_name",
    "first_seen_at",
    "follow_policy",
    "goals_visibility",
    "profile_revision",
    "profile_updated_at",
    "skills",
    "stats_visibility",
    "timezone",
    "week_start",
];

/// The FastAPI auth-service's `users` as its first migration creates it: a plain `CREATE
/// TABLE`, which fails when a `users` table is already there.
fn auth_service_users(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => SHAPES[0].postgres,
        Backend::Sqlite => SHAPES[0].sqlite,
    }
}

/// How many tables (and on PostgreSQL schemas) the test's database holds: the auth-service's
/// schema and the service's own (see `TestAppBuilder`).
async fn objects(db: &TestDb) -> i64 {
    match db {
        TestDb::Postgres(_) => {
            db.scalar(
                "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n \
                   ON n.oid = c.relnamespace WHERE n.nspname = current_schema()) \
                 + (SELECT count(*) FROM pg_namespace WHERE nspname = current_schema() || '_own')",
            )
            .await
        }
        TestDb::Sqlite(_) => db.scalar("SELECT count(*) FROM sqlite_master").await,
    }
}

async fn with_the_auth_service_owning_users_the_service_waits_for_its_table_then_serves(
    backend: Backend,
) {
    let app = TestApp::builder(backend)
        .config(|c| c.users_table_owner = UsersTableOwner::AuthService)
        .spawn()
        .await;

    let waiting = problem(app.get("/readyz").await, 503).await;
    assert_eq!(
        waiting["detail"],
        "waiting for the auth-service's users table"
    );
    problem(app.get("/users/1").await, 503).await;
    assert_eq!(objects(&app.db).await, 0, "nothing is created meanwhile");

    // The auth-service starts: its first migration creates the table, and it signs ada up.
    app.db.execute(auth_service_users(backend)).await;
    signs_up_ada(&app.db).await;

    eventually("ready once the users table is there", || async {
        (app.get("/readyz").await.status() == 200).then_some(())
    })
    .await;
    let ada = token(1);
    json_body(
        app.put("/users/1", Some(&ada), &json!({"display_name": "Ada"}))
            .await,
        200,
    )
    .await;
    app.create_goal(1, &ada, "Learn Rust").await;
    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(me["display_name"], "Ada");
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM learning_goals").await,
        1
    );
}

#[tokio::test]
async fn the_migrate_command_before_the_auth_services_table_exits_non_zero_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("auth.db");

    let output = command(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", database.display()),
        )
        .env("USERS_TABLE_OWNER", "auth-service")
        .arg("migrate")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the auth-service's users table is not there yet"),
        "{stderr}"
    );
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&database)
        .read_only(true);
    let db = TestDb::Sqlite(sqlx::SqlitePool::connect_with(options).await.unwrap());
    assert_eq!(objects(&db).await, 0, "nothing is created");
}

/// The auth-service's signup of ada, user 1.
async fn signs_up_ada(db: &TestDb) {
    db.execute(
        "INSERT INTO users (id, username, email, hashed_password) \
         VALUES (1, 'ada', 'ada@example.com', 'bcrypt')",
    )
    .await;
}

/// Ada signs up at the auth-service and uses every endpoint of this service.
async fn ada_signs_up_and_walks_every_endpoint(app: &TestApp) {
    signs_up_ada(&app.db).await;
    walk_every_endpoint(app, 1).await;
}

/// Every relation, function and free-standing type of the `public` schema, by name and
/// kind.
async fn public_objects(db: &TestDb) -> String {
    db.text(
        "SELECT string_agg(o, ', ' ORDER BY o) FROM ( \
           SELECT c.relname || ':' || CAST(c.relkind AS TEXT) AS o FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
           UNION ALL SELECT p.proname || ':function' FROM pg_proc p \
             JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' \
           UNION ALL SELECT t.typname || ':type' FROM pg_type t \
             JOIN pg_namespace n ON n.oid = t.typnamespace \
            WHERE n.nspname = 'public' AND t.typrelid = 0 AND t.typelem = 0) AS objects",
    )
    .await
    .unwrap_or_default()
}

/// The columns of `public.users` this service added: those not there before it started.
async fn added_columns(db: &TestDb, before: &[String]) -> Vec<String> {
    let all = db
        .text(
            "SELECT string_agg(column_name, ' ' ORDER BY column_name) \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'users'",
        )
        .await
        .unwrap_or_default();
    all.split(' ')
        .filter(|c| !before.iter().any(|b| b == c))
        .map(str::to_owned)
        .collect()
}

async fn users_columns(db: &TestDb) -> Vec<String> {
    added_columns(db, &[]).await
}

/// The service on `database` with the auth-service owning `users` (and the default
/// `DATABASE_SCHEMA`, `user_service`).
async fn beside_the_auth_service(database: &OwnDatabase) -> TestApp {
    TestApp::builder(Backend::Postgres)
        .existing_database(&database.url())
        .config(|c| c.users_table_owner = UsersTableOwner::AuthService)
        .spawn()
        .await
}

/// This service's tables in `user_service`, each with its rows.
async fn tables_in_own_schema(db: &TestDb) -> Vec<String> {
    db.text(
        "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables \
         WHERE schemaname = 'user_service'",
    )
    .await
    .unwrap_or_default()
    .split(' ')
    .map(str::to_owned)
    .collect()
}

fn sorted_own_tables() -> Vec<String> {
    let mut tables: Vec<String> = OWN_TABLES.iter().map(|t| (*t).to_owned()).collect();
    tables.sort();
    tables
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_services_schema_holds_nothing_of_this_service_but_its_columns_on_users() {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    database
        .execute(&format!("{}\n{TOKEN_BLACKLIST}", SHAPES[0].postgres))
        .await;
    let auth_service = TestDb::Postgres(
        PgPoolOptions::new()
            .max_connections(1)
            .connect(&database.url())
            .await
            .unwrap(),
    );
    let before = public_objects(&auth_service).await;
    let before_columns = users_columns(&auth_service).await;
    assert!(before.contains("users:r"), "{before}");
    let app = beside_the_auth_service(&database).await;

    ada_signs_up_and_walks_every_endpoint(&app).await;

    assert_eq!(public_objects(&app.db).await, before);
    assert_eq!(
        added_columns(&app.db, &before_columns).await,
        ADDED_COLUMNS,
        "only this service's columns were added to users"
    );
    // All but the notes the service keeps when it owns `users`.
    let mut own = sorted_own_tables();
    own.retain(|t| t != "user_service_meta");
    assert_eq!(tables_in_own_schema(&app.db).await, own);
    assert!(
        app.db
            .scalar("SELECT count(*) FROM user_service.activity_events")
            .await
            >= 1
    );
}

/// The README's hooks for the auth-service's Alembic `env.py`: the Python block that defines
/// `include_object`.
fn readme_alembic_hooks() -> String {
    let readme = include_str!("../../README.md");
    readme
        .split("```python\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("def include_object"))
        .expect("the README gives the Alembic filter in a python block")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_auth_services_alembic_autogenerate_with_the_readmes_filter_proposes_nothing() {
    let Some(python) = alembic::python() else {
        return;
    };
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    let url = database.url();
    alembic::create_tables(&python, &url);
    assert_eq!(
        alembic::autogenerate(&python, &url, "", false),
        [] as [String; 0]
    );
    let app = beside_the_auth_service(&database).await;
    ada_signs_up_and_walks_every_endpoint(&app).await;
    let hooks = readme_alembic_hooks();

    for include_schemas in [false, true] {
        let proposed = alembic::autogenerate(&python, &url, &hooks, include_schemas);
        assert_eq!(
            proposed,
            [] as [String; 0],
            "include_schemas={include_schemas}"
        );
    }
    // Without the filter, the added columns are all it would drop: the tables are out of
    // its sight in their schema.
    let unfiltered = alembic::autogenerate(&python, &url, "", false);
    assert_eq!(unfiltered.len(), ADDED_COLUMNS.len(), "{unfiltered:#?}");
    for column in ADDED_COLUMNS {
        assert!(
            unfiltered
                .iter()
                .any(|d| d.starts_with("('remove_column'") && d.contains(&format!("'{column}'"))),
            "{column}: {unfiltered:#?}"
        );
    }
}

/// An installation from before `DATABASE_SCHEMA`: its tables beside `users`, with data.
async fn installation_beside_users(database: &OwnDatabase) -> TestApp {
    database
        .execute(&format!("{}\n{TOKEN_BLACKLIST}", SHAPES[0].postgres))
        .await;
    let app = TestApp::builder(Backend::Postgres)
        .existing_database(&database.url())
        .spawn()
        .await;
    ada_signs_up_and_walks_every_endpoint(&app).await;
    app.create_goal(1, &token(1), "Kept across the move").await;
    assert!(
        app.db
            .scalar("SELECT count(*) FROM public.learning_goals")
            .await
            >= 1
    );
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_installation_is_moved_into_its_schema_with_everything_it_held() {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    let old = installation_beside_users(&database).await;
    let goals = json_body(old.get("/users/1/goals").await, 200).await;
    let activity = json_body(old.get("/users/1/activity").await, 200).await;
    let before = users_columns(&old.db).await;
    drop(old);

    let moved = beside_the_auth_service(&database).await;

    assert_eq!(
        json_body(moved.get("/users/1/goals").await, 200).await,
        goals
    );
    assert_eq!(
        json_body(moved.get("/users/1/activity").await, 200).await,
        activity
    );
    assert_eq!(tables_in_own_schema(&moved.db).await, sorted_own_tables());
    let left = moved
        .db
        .text(
            "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables \
             WHERE schemaname = 'public'",
        )
        .await;
    assert_eq!(left.as_deref(), Some("token_blacklist users"));
    assert_eq!(users_columns(&moved.db).await, before);
    // Its sequences came along: new rows are numbered after the old ones.
    let next = moved.create_goal(1, &token(1), "After the move").await;
    assert!(
        next["id"].as_i64().unwrap() > goals[0]["id"].as_i64().unwrap(),
        "{next}"
    );
    // Started again, nothing moves and no migration runs twice.
    let migrations = moved
        .db
        .scalar("SELECT count(*) FROM user_service._sqlx_migrations")
        .await;
    drop(moved);
    let again = beside_the_auth_service(&database).await;
    json_body(again.get("/users/1/goals").await, 200).await;
    assert_eq!(
        again
            .db
            .scalar("SELECT count(*) FROM user_service._sqlx_migrations")
            .await,
        migrations
    );
    drop(again);
    // Started as the owner of `users` again, it would begin afresh beside the moved tables:
    // it refuses, naming the setting.
    let refused = TestApp::builder(Backend::Postgres)
        .existing_database(&database.url())
        .try_spawn()
        .await
        .err()
        .expect("refused at start");
    let message = format!("{refused:#}");
    assert!(
        message.contains("DATABASE_SCHEMA user_service") && message.contains("USERS_TABLE_OWNER"),
        "{message}"
    );
}

/// The lock that serialises replicas preparing `users` and the schema (`postgres.rs`).
const USERS_TABLE_LOCK_KEY: i64 = 7322148270917;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_at_once_move_an_installation_once_and_all_serve() {
    let Some(database) = OwnDatabase::create().await else {
        return;
    };
    let old = installation_beside_users(&database).await;
    let goals = json_body(old.get("/users/1/goals").await, 200).await;
    drop(old);
    // Held while three replicas start, so that all three are at the lock at once.
    let holder = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database.url())
        .await
        .unwrap();
    let mut held = holder.acquire().await.unwrap();
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(USERS_TABLE_LOCK_KEY)
        .execute(&mut *held)
        .await
        .unwrap();

    let (replicas, ()) = tokio::join!(
        futures::future::join_all((0..3).map(|_| beside_the_auth_service(&database))),
        async {
            eventually("three replicas wait at the lock", || async {
                let waiting: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                )
                .fetch_one(&holder)
                .await
                .unwrap();
                (waiting == 3).then_some(())
            })
            .await;
            sqlx::query("SELECT pg_advisory_unlock_all()")
                .execute(&mut *held)
                .await
                .unwrap();
        }
    );

    for replica in &replicas {
        assert_eq!(
            json_body(replica.get("/users/1/goals").await, 200).await,
            goals
        );
        json_body(replica.get("/readyz").await, 200).await;
    }
    assert_eq!(
        tables_in_own_schema(&replicas[0].db).await,
        sorted_own_tables()
    );
}

/// A safety net for `OWN_TABLES`, which the move reads: every relation the migrations make
/// is one of those tables, an index of theirs or a sequence of a column of theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_relation_the_migrations_make_is_one_the_move_knows() {
    if !Backend::Postgres.available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;

    let strays = app
        .db
        .text(&format!(
            "SELECT string_agg(c.relname || ':' || CAST(c.relkind AS TEXT), ', ') FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND NOT ( \
               (c.relkind IN ('r', 'p') AND c.relname IN ('users', {known})) \
               OR c.relkind = 'i' \
               OR (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d \
                    WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))))",
            known = OWN_TABLES
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .await;
    assert_eq!(
        strays, None,
        "relations the move into DATABASE_SCHEMA misses"
    );
    let functions = app
        .db
        .scalar(&format!(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
                 WHERE n.nspname = current_schema() AND p.proname NOT IN ({known})",
            known = OWN_FUNCTIONS
                .iter()
                .map(|f| format!("'{f}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .await;
    assert_eq!(
        functions, 0,
        "functions the move into DATABASE_SCHEMA misses"
    );
}

crate::backend_tests!(
    with_the_auth_service_owning_users_the_service_waits_for_its_table_then_serves
);
