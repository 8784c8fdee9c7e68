//! `TestApp`: the real application on a random port over a fresh database (an SQLite file in
//! a temporary folder, or a PostgreSQL schema of its own), with a clock the test sets, and
//! helpers to talk HTTP to it, mint tokens and insert the auth-service's users.

pub mod own_database;
pub mod rabbitmq;

use std::{path::PathBuf, sync::Arc};

use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sqlx::{Executor, PgPool, SqlitePool, postgres::PgPoolOptions, sqlite::SqlitePoolOptions};
use tempfile::TempDir;
use tokio::sync::oneshot;
use user_service::{
    cli::Cli,
    clock::ManualClock,
    config::{Config, JwtConfig},
    startup::{Application, Stop},
};

/// The auth-service's shared secret in tests.
pub const SECRET: &str = "test-secret-shared-with-the-auth-service";

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
            return self.serve(url, db, None, dir).await;
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
                let url = format!(
                    "{}{separator}options[search_path]={schema}",
                    test_database_url()
                );
                (url, Some(schema))
            }
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
                    .connect(&url)
                    .await
                    .expect("PostgreSQL test schema"),
            ),
        };
        for sql in &self.before_migrations {
            db.execute(sql).await;
        }
        self.serve(url, db, schema, dir).await
    }

    async fn serve(
        mut self,
        url: String,
        db: TestDb,
        schema: Option<String>,
        dir: TempDir,
    ) -> anyhow::Result<TestApp> {
        self.config.database_url = Some(url);
        self.config.data_dir = dir.path().join("data");
        let clock = ManualClock::new(self.now);
        let app = Application::build(&self.config, Arc::new(clock.clone())).await?;
        let address = format!("http://{}", app.local_addr());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
            Stop::Now
        }));
        Ok(TestApp {
            address,
            client: http_client(),
            clock,
            db,
            backend: self.backend,
            schema,
            shutdown: Some(shutdown),
            _dir: dir,
        })
    }
}

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub clock: ManualClock,
    pub db: TestDb,
    pub backend: Backend,
    schema: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
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
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Best effort, on a thread of its own: Drop cannot await.
        let url = test_database_url();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&url).await {
                    let drop =
                        format!("SET lock_timeout = '5s'; DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = pool.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(drop))).await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// An HTTP client. reqwest's TLS (unused here, but built) needs the process's crypto provider.
pub fn http_client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new()
}

/// Claims of a token the test application accepts for `user`.
pub fn claims(user: i64) -> Value {
    let now = Utc::now().timestamp();
    json!({ "sub": user.to_string(), "iat": now, "exp": now + 3600 })
}

/// A valid HS256 token for `user`.
pub fn token(user: i64) -> String {
    sign(&claims(user))
}

/// HS256 with the test secret.
pub fn sign(claims: &Value) -> String {
    sign_with(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

pub fn sign_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("signing a test token")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// Asserts a problem document with this status and returns it.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["status"], status, "{body}");
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "problem without {member}: {body}");
    }
    body
}

/// The fields a validation problem names, in order.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 2xx JSON answer with this status and returns its body.
pub async fn json_body(response: Response, status: u16) -> Value {
    let url = response.url().to_string();
    let actual = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(actual, status, "status of {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

impl TestApp {
    /// The URL of this test's database, as `DATABASE_URL` would name it (for an SQLite
    /// file, or a PostgreSQL schema of its own); not for an [`existing_database`].
    ///
    /// [`existing_database`]: TestAppBuilder::existing_database
    pub fn database_url(&self) -> String {
        match &self.schema {
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
                    .connect(&url)
                    .await
                    .expect("PostgreSQL test schema"),
            ),
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let config = Self::builder(self.backend)
            .config(|c| {
                c.database_url = Some(url);
                c.data_dir = dir.path().join("data");
            })
            .config(change)
            .config;
        let app = Application::build(&config, Arc::new(self.clock.clone()))
            .await
            .expect("the application builds again over the same database");
        let address = format!("http://{}", app.local_addr());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = stopped.await;
            Stop::Now
        }));
        TestApp {
            address,
            client: http_client(),
            clock: self.clock.clone(),
            db,
            backend: self.backend,
            schema: None,
            shutdown: Some(shutdown),
            _dir: dir,
        }
    }
}

/// A PostgreSQL server of the test's own, to stop and start at will: a cluster initialised
/// into a temporary folder, listening on 127.0.0.1 at a port of its own, its socket in that
/// folder. Stopped when dropped.
pub struct TempPostgres {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    running: bool,
}

impl TempPostgres {
    /// Initialises a cluster (not started). `None`, loudly, when PostgreSQL's server programs
    /// are not installed; with `CI=true` that fails the test instead.
    pub fn init() -> Option<Self> {
        let Some(bin) = postgres_bin_dir() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and no PostgreSQL server programs under /usr/lib/postgresql");
            }
            eprintln!("SKIPPED: no initdb under /usr/lib/postgresql; set PG_BIN_DIR");
            return None;
        };
        let dir = tempfile::tempdir().expect("temporary folder");
        let server = Self {
            bin,
            dir,
            port: free_port(),
            running: false,
        };
        if as_root() {
            // initdb refuses to run as root: the cluster belongs to the `postgres` user.
            let status = std::process::Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(server.dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of the cluster folder to postgres");
        }
        server.pg(
            "initdb",
            &[
                "-D",
                &server.data().display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        Some(server)
    }

    /// Initialises a cluster and starts it.
    pub fn start_new() -> Option<Self> {
        let mut server = Self::init()?;
        server.start();
        Some(server)
    }

    /// `postgres://` URL of the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&mut self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        let data = self.data().display().to_string();
        self.pg(
            "pg_ctl",
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
        );
        self.running = true;
    }

    /// Stops the server (`fast`: open connections are terminated) and waits until it has.
    pub fn stop(&mut self) {
        let data = self.data().display().to_string();
        self.pg(
            "pg_ctl",
            &["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"],
        );
        self.running = false;
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs one of the server programs, as `postgres` when this process is root.
    fn pg(&self, program: &str, args: &[&str]) {
        let program = self.bin.join(program);
        let mut command = if as_root() {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            std::process::Command::new(&program)
        };
        let output = command
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", program.display()));
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}\n{}\n{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
        );
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data().display().to_string();
            let mut command = if as_root() {
                let mut command = std::process::Command::new("runuser");
                command
                    .args(["-u", "postgres", "--"])
                    .arg(self.bin.join("pg_ctl"));
                command
            } else {
                std::process::Command::new(self.bin.join("pg_ctl"))
            };
            let _ = command
                .args(["-D", &data, "-m", "fast", "-w", "-t", "60", "stop"])
                .output();
        }
    }
}

/// The newest installed PostgreSQL's server programs (`PG_BIN_DIR` overrides).
fn postgres_bin_dir() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("PG_BIN_DIR") {
        return Some(PathBuf::from(dir));
    }
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// Whether this process runs as root (`id -u` is 0).
fn as_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A free TCP port below the kernel's ephemeral range, so that no socket the kernel numbers
/// (a listener on port 0, a client's end of a connection) takes it while the server is down.
fn free_port() -> u16 {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .filter(|&low| low > 2048)
        .unwrap_or(32768);
    for _ in 0..1000 {
        let port = rand::random_range(ephemeral_low / 2..ephemeral_low);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port below {ephemeral_low}");
}

/// The binary serving as a child process, its JSON log read line by line as it comes.
/// Killed when dropped.
pub struct ChildServer {
    child: std::process::Child,
    pub address: String,
    lines: std::sync::mpsc::Receiver<String>,
    /// The log events read so far.
    pub log: Vec<Value>,
}

impl ChildServer {
    /// Starts `command` (see `cli::command`) and reads its log until it says where it serves.
    pub fn start(command: &mut std::process::Command) -> Self {
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            address: String::new(),
            lines,
            log: Vec::new(),
        };
        let serving = server.wait_for_log("serving");
        server.address = format!("http://{}", serving["address"].as_str().unwrap());
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `host:port` it listens on.
    pub fn socket_address(&self) -> &str {
        self.address.trim_start_matches("http://")
    }

    /// Reads the log until an event whose message starts with `message`, and returns it.
    /// Panics after 30 s or when the process's output ends first.
    pub fn wait_for_log(&mut self, message: &str) -> Value {
        self.wait_for(message, |event| {
            event["message"]
                .as_str()
                .is_some_and(|m| m.starts_with(message))
        })
    }

    /// Reads the log until an event that `matches` (`what` names it in the panic message
    /// after 30 s, or when the process's output ends first), and returns it.
    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no log event {what:?} ({e}): {:#?}", self.log));
            let event: Value = serde_json::from_str(&line).unwrap_or(Value::String(line));
            self.log.push(event.clone());
            if matches(&event) {
                return event;
            }
        }
    }

    /// Sends SIGTERM, as an orchestrator stopping the service does.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM");
    }

    /// Reads the rest of the log until the process closes its output (it exits), within
    /// 30 s, and returns how it exited.
    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        loop {
            match self.lines.recv_timeout(std::time::Duration::from_secs(30)) {
                Ok(line) => self
                    .log
                    .push(serde_json::from_str(&line).unwrap_or(Value::String(line))),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Err(e) => panic!("the process did not exit ({e}): {:#?}", self.log),
            }
        }
        self.child.wait().expect("the process exits")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it yields a value, for at most 30 s: for effects that happen beside
/// the request that caused them (a message consumed, an event published).
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
