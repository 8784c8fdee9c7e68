//! `TestApp`: the real application on a random port over a fresh database (an SQLite file in
//! a temporary folder, or a PostgreSQL schema of its own), with a clock the test sets, and
//! the calls to talk HTTP to it and to insert the auth-service's users.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{
    Executor, PgPool, Postgres, Sqlite, SqlitePool, Transaction, postgres::PgPoolOptions,
    sqlite::SqlitePoolOptions,
};
use tempfile::TempDir;
use tokio::sync::oneshot;
use user_service::{
    cli::Cli,
    clock::ManualClock,
    config::{Config, JwtConfig, UsersTableOwner},
    reminders::{Pass, Reminders},
    startup::{Application, Stop},
};

use super::{SECRET, after_the_test, json_body, token};

/// Where PostgreSQL tests create their schemas. `TEST_DATABASE_URL` overrides it.
const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Whether this backend can run here. PostgreSQL tests are skipped, loudly, when no
    /// server answers; with `CI=true` a missing server fails the test instead.
    pub async fn available(self) -> bool {
        if self == Self::Sqlite {
            return true;
        }
        match PgPoolOptions::new()
            .max_connections(1)
            .connect(&test_database_url())
            .await
        {
            Ok(pool) => {
                pool.close().await;
                true
            }
            Err(err) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!(
                    "CI=true and PostgreSQL is not reachable at {}: {err}",
                    test_database_url()
                )
            }
            Err(err) => {
                eprintln!("SKIPPED: PostgreSQL not reachable ({err}); set TEST_DATABASE_URL");
                false
            }
        }
    }
}

pub(crate) fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.into())
}

/// Runs each named `async fn(Backend)` once per backend, as `<module>::sqlite::<name>` and
/// `<module>::postgres::<name>`. A test function left out of the list is never run, and the
/// compiler says so (it is dead code).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::helpers::Backend::Postgres.available().await {
                        super::$name($crate::helpers::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}

/// A direct connection to the test's database, as the auth-service would have one.
pub enum TestDb {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl TestDb {
    /// Runs SQL text (several statements allowed) with no parameters.
    pub async fn execute(&self, sql: &str) {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Sqlite(pool) => pool.execute(sqlx::raw_sql(sql)).await.map(drop),
            Self::Postgres(pool) => pool.execute(sqlx::raw_sql(sql)).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("test SQL failed: {e}"));
    }

    /// One integer from a query with no parameters.
    pub async fn scalar(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("test query failed: {e}"))
    }

    /// One text value from a query with no parameters.
    pub async fn text(&self, sql: &str) -> Option<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match self {
            Self::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
            Self::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("test query failed: {e}"))
    }
}

pub struct TestAppBuilder {
    backend: Backend,
    config: Config,
    before_migrations: Vec<String>,
    /// PostgreSQL settings of the fresh database's connections (`options[name]=value`).
    postgres_settings: Vec<(String, String)>,
    now: DateTime<Utc>,
    existing_database: Option<String>,
}

impl TestAppBuilder {
    /// Serves this database (the backend's URL) instead of a fresh one: a database the test
    /// manages itself, which may be down or unreadable when the application starts. Both the
    /// application and [`TestApp::db`] connect to it lazily.
    pub fn existing_database(mut self, url: &str) -> Self {
        self.existing_database = Some(url.to_owned());
        self
    }

    /// Changes the JWT settings (by default: HS256 with [`SECRET`]).
    pub fn jwt(mut self, change: impl FnOnce(&mut JwtConfig)) -> Self {
        change(&mut self.config.jwt);
        self
    }

    /// Changes any other setting.
    pub fn config(mut self, change: impl FnOnce(&mut Config)) -> Self {
        change(&mut self.config);
        self
    }

    /// SQL run on the empty database before the service first starts (as an auth-service
    /// that got there first).
    pub fn before_migrations(mut self, sql: &str) -> Self {
        self.before_migrations.push(sql.to_owned());
        self
    }

    /// A PostgreSQL setting of every connection to the fresh database, the application's
    /// and [`TestApp::db`]'s (e.g. `default_transaction_isolation`); nothing on SQLite.
    pub fn postgres_setting(mut self, name: &str, value: &str) -> Self {
        self.postgres_settings
            .push((name.to_owned(), value.to_owned()));
        self
    }

    /// Where the application's clock starts.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    pub async fn spawn(self) -> TestApp {
        self.try_spawn().await.expect("the application builds")
    }

    /// Like [`spawn`](Self::spawn), for a test of what the application refuses to start on.
    pub async fn try_spawn(mut self) -> anyhow::Result<TestApp> {
        if std::env::var("TEST_LOG").is_ok() {
            user_service::telemetry::init(user_service::config::LogFormat::Text);
        }
        let dir = tempfile::tempdir().expect("temporary folder");
        if let Some(url) = self.existing_database.take() {
            let db = match self.backend {
                Backend::Sqlite => TestDb::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(2)
                        .connect_lazy(&url)
                        .expect("an SQLite URL"),
                ),
                Backend::Postgres => TestDb::Postgres(
                    PgPoolOptions::new()
                        .max_connections(2)
                        .connect_lazy(&url)
                        .expect("a PostgreSQL URL"),
                ),
            };
            return self.serve(url, db, Vec::new(), dir).await;
        }
        let (url, schema) = match self.backend {
            Backend::Sqlite => (
                format!("sqlite://{}", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
                let admin = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&test_database_url())
                    .await
                    .expect("PostgreSQL for tests");
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .await
                    .expect("create the test schema");
                admin.close().await;
                let separator = if test_database_url().contains('?') {
                    '&'
                } else {
                    '?'
                };
                let mut url = format!(
                    "{}{separator}options[search_path]={schema}",
                    test_database_url()
                );
                for (name, value) in &self.postgres_settings {
                    url.push_str(&format!("&options[{name}]={value}"));
                }
                (url, Some(schema))
            }
        };
        // With the auth-service owning `users`, the service's own tables go to a schema of
        // the test's own too, beside the one that plays the auth-service's; the test's own
        // connection finds both, the auth-service's first (where what it creates lands).
        let own_schema = schema
            .as_ref()
            .filter(|_| self.auth_service_owns_users())
            .map(|schema| {
                let own = format!("{schema}_own");
                self.config.database_schema = own.clone();
                own
            });
        let db_url = match &own_schema {
            Some(own) => format!("{url},{own}"),
            None => url.clone(),
        };
        let db = match self.backend {
            Backend::Sqlite => TestDb::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(2)
                    .connect_with(
                        url.parse::<sqlx::sqlite::SqliteConnectOptions>()
                            .unwrap()
                            .create_if_missing(true)
                            .busy_timeout(std::time::Duration::from_secs(10)),
                    )
                    .await
                    .expect("SQLite for tests"),
            ),
            Backend::Postgres => TestDb::Postgres(
                PgPoolOptions::new()
                    .max_connections(2)
                    .connect(&db_url)
                    .await
                    .expect("PostgreSQL test schema"),
            ),
        };
        for sql in &self.before_migrations {
            db.execute(sql).await;
        }
        let schemas = schema.into_iter().chain(own_schema).collect();
        self.serve(url, db, schemas, dir).await
    }

    fn auth_service_owns_users(&self) -> bool {
        self.config.users_table_owner == UsersTableOwner::AuthService
    }

    /// `schemas`: the test's PostgreSQL schemas, the first the one `url` names, dropped with
    /// the app.
    async fn serve(
        mut self,
        url: String,
        db: TestDb,
        schemas: Vec<String>,
        dir: TempDir,
    ) -> anyhow::Result<TestApp> {
        self.config.database_url = Some(url);
        self.config.data_dir = dir.path().join("data");
        let clock = ManualClock::new(self.now);
        let app = Application::build(&self.config, Arc::new(clock.clone())).await?;
        let address = format!("http://{}", app.local_addr());
        let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
        let reminders = app.reminders();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
            Stop::Now
        }));
        Ok(TestApp {
            address,
            metrics_address,
            client: http_client(),
            clock,
            db,
            backend: self.backend,
            schemas,
            owner: (
                self.config.users_table_owner,
                self.config.database_schema.clone(),
            ),
            shutdown: Some(shutdown),
            reminders,
            _dir: dir,
        })
    }
}

pub struct TestApp {
    pub address: String,
    /// `/metrics`'s own listener, when `METRICS_ADDR` gave it one.
    pub metrics_address: Option<String>,
    pub client: Client,
    pub clock: ManualClock,
    pub db: TestDb,
    pub backend: Backend,
    /// The test's PostgreSQL schemas: the one `DATABASE_URL` names, and the service's own
    /// when the auth-service owns `users`.
    schemas: Vec<String>,
    /// `USERS_TABLE_OWNER` and `DATABASE_SCHEMA`, which a restart keeps.
    owner: (UsersTableOwner, String),
    shutdown: Option<oneshot::Sender<()>>,
    /// The reminder scheduler (with `EVENTS_URL`): passes run only when a test asks.
    pub reminders: Option<Reminders>,
    _dir: TempDir,
}

/// 2026-03-10 12:00:00 UTC, a Tuesday: where test clocks start unless told otherwise.
pub fn default_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
}

impl TestApp {
    pub fn builder(backend: Backend) -> TestAppBuilder {
        let mut config = Cli::try_parse_from(["user-service"])
            .expect("default settings")
            .config;
        config.listen_addr = "127.0.0.1:0".parse().unwrap();
        config.db_max_connections = 5;
        // Reminder passes run when a test asks (`TestApp::remind`), at the clock it set.
        config.reminder_pass_secs = 0;
        config.jwt = JwtConfig {
            jwt_secret: Some(SECRET.into()),
            jwt_public_key: None,
            jwt_jwks_url: None,
            jwt_algorithms: Vec::new(),
            jwt_issuer: None,
            jwt_audience: None,
            jwt_user_claim: "sub".into(),
            jwt_leeway_secs: 30,
            jwt_jwks_refresh_secs: 300,
            jwt_required_typ: None,
            jwt_required_claims: Vec::new(),
            jwt_denylist_table: None,
            jwt_denylist_cache_secs: 5,
        };
        TestAppBuilder {
            backend,
            config,
            before_migrations: Vec::new(),
            postgres_settings: Vec::new(),
            now: default_now(),
            existing_database: None,
        }
    }

    pub async fn spawn(backend: Backend) -> TestApp {
        Self::builder(backend).spawn().await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, None)
            .send()
            .await
            .expect("GET")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token))
            .send()
            .await
            .expect("GET")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::POST, path, token)
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.request(Method::PUT, path, token)
            .json(body)
            .send()
            .await
            .expect("PUT")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::DELETE, path, token)
            .send()
            .await
            .expect("DELETE")
    }

    /// One reminder pass at the clock's time, awaited.
    pub async fn remind(&self) -> Pass {
        self.reminders
            .as_ref()
            .expect("reminders run with EVENTS_URL set")
            .pass()
            .await
            .expect("a reminder pass")
    }

    /// Inserts a user as the auth-service would.
    pub async fn insert_user(&self, id: i64, username: &str) {
        self.db
            .execute(&format!(
                "INSERT INTO users (id, username, email, hashed_password) \
                 VALUES ({id}, '{username}', '{username}@example.com', 'not-a-real-hash')"
            ))
            .await;
    }

    /// Inserts a user and returns a token for them.
    pub async fn user(&self, id: i64) -> String {
        self.insert_user(id, &format!("user{id}")).await;
        token(id)
    }

    /// Creates a goal through the API and returns it.
    pub async fn create_goal(&self, user: i64, token: &str, title: &str) -> Value {
        let response = self
            .post(
                &format!("/users/{user}/goals"),
                Some(token),
                &json!({ "title": title }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "creating a goal");
        response.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if self.schemas.is_empty() {
            return;
        }
        let schemas = self.schemas.join(", ");
        let url = test_database_url();
        after_the_test(async move {
            if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&url).await {
                let drop =
                    format!("SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {schemas} CASCADE");
                let _ = pool.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(drop))).await;
                pool.close().await;
            }
        });
    }
}

/// An HTTP client. reqwest's TLS (unused here, but built) needs the process's crypto provider.
pub fn http_client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

impl TestApp {
    /// The URL of this test's database, as `DATABASE_URL` would name it (for an SQLite
    /// file, or a PostgreSQL schema of its own); not for an [`existing_database`].
    ///
    /// [`existing_database`]: TestAppBuilder::existing_database
    pub fn database_url(&self) -> String {
        match self.schemas.first() {
            None => format!("sqlite://{}", self._dir.path().join("test.db").display()),
            Some(schema) => {
                let separator = if test_database_url().contains('?') {
                    '&'
                } else {
                    '?'
                };
                format!(
                    "{}{separator}options[search_path]={schema}",
                    test_database_url()
                )
            }
        }
    }

    /// Starts the application once more over this test's database, as a restart or a second
    /// replica would: it connects, migrates and serves on a port of its own, with the same
    /// default settings and clock. `self` keeps owning the database, so it must outlive the
    /// returned app, whose drop only stops its server.
    pub async fn start_again(&self) -> TestApp {
        self.start_again_with(|_| {}).await
    }

    /// Like [`start_again`](Self::start_again), with settings changed.
    pub async fn start_again_with(&self, change: impl FnOnce(&mut Config)) -> TestApp {
        let url = self.database_url();
        let db = match self.backend {
            Backend::Sqlite => TestDb::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect(&url)
                    .await
                    .expect("SQLite for tests"),
            ),
            Backend::Postgres => TestDb::Postgres(
                PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&match self.schemas.get(1) {
                        Some(own) => format!("{url},{own}"),
                        None => url.clone(),
                    })
                    .await
                    .expect("PostgreSQL test schema"),
            ),
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let config = Self::builder(self.backend)
            .config(|c| {
                c.database_url = Some(url);
                c.data_dir = dir.path().join("data");
                (c.users_table_owner, c.database_schema) = self.owner.clone();
            })
            .config(change)
            .config;
        let app = Application::build(&config, Arc::new(self.clock.clone()))
            .await
            .expect("the application builds again over the same database");
        let address = format!("http://{}", app.local_addr());
        let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
        let reminders = app.reminders();
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
            Stop::Now
        }));
        TestApp {
            address,
            metrics_address,
            client: http_client(),
            clock: self.clock.clone(),
            db,
            backend: self.backend,
            schemas: Vec::new(),
            owner: self.owner.clone(),
            shutdown: Some(shutdown),
            reminders,
            _dir: dir,
        }
    }
}

/// The badge catalog entry with this code.
pub async fn catalog_entry(app: &TestApp, code: &str) -> Value {
    let catalog = json_body(app.get("/users/badges").await, 200).await;
    catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == code)
        .unwrap_or_else(|| panic!("{code} is not in the catalog: {catalog}"))
        .clone()
}

/// A write lock on user `id`'s row held by "another program", so the service's next write
/// to it waits: a slow request without a debug endpoint. Released when dropped.
pub enum HeldLock {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl HeldLock {
    pub async fn release(self) {
        match self {
            Self::Sqlite(tx) => tx.rollback().await.unwrap(),
            Self::Postgres(tx) => tx.rollback().await.unwrap(),
        }
    }
}

pub async fn hold_lock_on_user(db: &TestDb, id: i64) -> HeldLock {
    match db {
        // SQLite locks the whole database for writing.
        TestDb::Sqlite(pool) => HeldLock::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await.unwrap()),
        TestDb::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
            HeldLock::Postgres(tx)
        }
    }
}
