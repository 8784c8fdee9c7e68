//! Settings, read from flags or the environment (every flag has a variable), shared by the
//! server and the operator subcommands. Names match the README's configuration table.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};
use jsonwebtoken::Algorithm;
use url::Url;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`; default: an SQLite file in the data directory.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Address and port to serve on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen_addr: SocketAddr,

    /// Where the default SQLite database and the development JWT secret live.
    #[arg(long, env = "DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Who creates and owns the `users` table: `service` (created here when missing) or
    /// `auth-service` (its migrations create it; this service waits for it, then adds its
    /// columns).
    #[arg(
        long,
        env = "USERS_TABLE_OWNER",
        value_enum,
        default_value_t = UsersTableOwner::Service,
        global = true
    )]
    pub users_table_owner: UsersTableOwner,

    /// PostgreSQL with `USERS_TABLE_OWNER=auth-service`: the schema holding this service's
    /// own tables, out of sight of the auth-service's migration tool.
    #[arg(
        long,
        env = "DATABASE_SCHEMA",
        default_value = "user_service",
        global = true
    )]
    pub database_schema: String,

    #[command(flatten)]
    pub jwt: JwtConfig,

    #[command(flatten)]
    pub events: EventsConfig,

    /// Most database connections the service opens.
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(
        long,
        env = "DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 2,
        global = true
    )]
    pub db_acquire_timeout_secs: u64,

    /// Longest a request may take before it is answered with 503.
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Requests served at once; more are shed with 503 and Retry-After instead of queueing.
    #[arg(
        long,
        env = "MAX_CONCURRENT_REQUESTS",
        default_value_t = 1024,
        global = true
    )]
    pub max_concurrent_requests: usize,

    /// Requests per minute per client (the token's user, else the peer address); 0 is off.
    #[arg(
        long,
        env = "RATE_LIMIT_PER_MINUTE",
        default_value_t = 0,
        global = true
    )]
    pub rate_limit_per_minute: u32,

    /// With `RATE_LIMIT_PER_MINUTE`: a Redis (`redis://host:6379/0`) that holds the buckets,
    /// so that every replica enforces one limit. Unset: each process keeps its own.
    #[arg(
        long,
        env = "RATE_LIMIT_REDIS_URL",
        global = true,
        hide_env_values = true
    )]
    pub rate_limit_redis_url: Option<String>,

    /// What the limiter does while Redis does not answer: `open` serves without limiting,
    /// `closed` answers 503 with Retry-After.
    #[arg(
        long,
        env = "RATE_LIMIT_REDIS_FAILURE",
        value_enum,
        default_value_t = RedisFailure::Open,
        global = true
    )]
    pub rate_limit_redis_failure: RedisFailure,

    /// Longest a request waits for Redis's answer before the failure mode applies.
    #[arg(
        long,
        env = "RATE_LIMIT_REDIS_TIMEOUT_MS",
        default_value_t = 20,
        global = true
    )]
    pub rate_limit_redis_timeout_ms: u64,

    /// Prefix of the limiter's keys in Redis, so that several services can share one.
    #[arg(
        long,
        env = "RATE_LIMIT_REDIS_PREFIX",
        default_value = "user-service:rl:",
        global = true
    )]
    pub rate_limit_redis_prefix: String,

    /// Whether the service records metrics and serves them on `/metrics`.
    #[arg(
        long,
        env = "METRICS_ENABLED",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub metrics_enabled: bool,

    /// A listener of its own for `/metrics` (so that metrics need not be public); unset,
    /// they are served on `LISTEN_ADDR`.
    #[arg(long, env = "METRICS_ADDR", global = true)]
    pub metrics_addr: Option<SocketAddr>,

    /// Comma-separated origins allowed to call the API from a browser; none by default.
    #[arg(
        long,
        env = "CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_allowed_origins: Vec<String>,

    /// On SIGTERM: how long readiness reports 503 while new connections are still accepted,
    /// so a load balancer can stop routing here before the listener closes.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 5, global = true)]
    pub shutdown_grace_secs: u64,

    /// The auth-service's RabbitMQ (`amqp://user:password@host:5672/%2f`): consume its user
    /// lifecycle events. Unset: no consumer.
    #[arg(long, env = "AMQP_URL", global = true, hide_env_values = true)]
    pub amqp_url: Option<String>,

    /// The durable queue the auth-service publishes its user events to.
    #[arg(
        long,
        env = "AUTH_EVENTS_QUEUE",
        default_value = "user_events",
        global = true
    )]
    pub auth_events_queue: String,

    /// How long browsers and shared caches may keep a profile card (`/users/{id}/card.svg`)
    /// before asking again.
    #[arg(long, env = "CARD_MAX_AGE_SECS", default_value_t = 3600, global = true)]
    pub card_max_age_secs: u64,

    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// Where the platform's events go (`crate::events`).
#[derive(Debug, Clone, Args)]
pub struct EventsConfig {
    /// The broker events are published to: `amqp://…` (RabbitMQ) or `nats://…` (NATS
    /// JetStream). Unset: nothing is published and no outbox rows are written.
    #[arg(long, env = "EVENTS_URL", global = true, hide_env_values = true)]
    pub events_url: Option<String>,

    /// The CloudEvents `source` of every event: a URI naming this service.
    #[arg(
        long,
        env = "EVENTS_SOURCE",
        default_value = "/user-service",
        global = true
    )]
    pub events_source: String,

    /// What each CloudEvents `type` starts with, before `goal.completed.v1` and the like.
    #[arg(
        long,
        env = "EVENTS_TYPE_PREFIX",
        default_value = "org.learning.user",
        global = true
    )]
    pub events_type_prefix: String,

    /// RabbitMQ: the durable topic exchange events are published to (routing key = type).
    #[arg(
        long,
        env = "EVENTS_EXCHANGE",
        default_value = "user-service.events",
        global = true
    )]
    pub events_exchange: String,

    /// NATS: the JetStream stream that holds the events, created when missing.
    #[arg(
        long,
        env = "EVENTS_STREAM",
        default_value = "USER_SERVICE_EVENTS",
        global = true
    )]
    pub events_stream: String,

    /// NATS: events are published on `<prefix>.<type>`; the stream takes `<prefix>.>`.
    #[arg(
        long,
        env = "EVENTS_SUBJECT_PREFIX",
        default_value = "user-service.events",
        global = true
    )]
    pub events_subject_prefix: String,

    /// How long published events stay in the outbox before the cleanup deletes them.
    #[arg(
        long,
        env = "EVENTS_RETENTION_HOURS",
        default_value_t = 24,
        global = true
    )]
    pub events_retention_hours: u64,

    /// Events published per batch, each batch confirmed by the broker before it is marked.
    #[arg(long, env = "EVENTS_BATCH_SIZE", default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..), global = true)]
    pub events_batch_size: u16,

    /// How often an idle relay looks for new events, in milliseconds.
    #[arg(long, env = "EVENTS_POLL_MS", default_value_t = 100, global = true)]
    pub events_poll_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct JwtConfig {
    /// The auth-service's HS256 shared secret (its raw bytes). Default: a development secret
    /// generated into the data directory.
    #[arg(long, env = "JWT_SECRET", global = true, hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Path to a PEM public key (RSA, EC P-256 or Ed25519) that verifies tokens.
    #[arg(long, env = "JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<PathBuf>,

    /// JWKS endpoint of the auth-service; keys are chosen by `kid`.
    #[arg(long, env = "JWT_JWKS_URL", global = true)]
    pub jwt_jwks_url: Option<Url>,

    /// Comma-separated accepted algorithms. Default: the one matching the configured key.
    #[arg(long, env = "JWT_ALGORITHMS", value_delimiter = ',', global = true)]
    pub jwt_algorithms: Vec<Algorithm>,

    /// When set, a token's `iss` must equal it.
    #[arg(long, env = "JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// When set, a token's `aud` must contain it.
    #[arg(long, env = "JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// Claim holding the user id (a string or a number).
    #[arg(long, env = "JWT_USER_CLAIM", default_value = "sub", global = true)]
    pub jwt_user_claim: String,

    /// Clock skew allowed on `exp` and `nbf`.
    #[arg(long, env = "JWT_LEEWAY_SECS", default_value_t = 30, global = true)]
    pub jwt_leeway_secs: u64,

    /// When set, a token's `typ` header must be this (e.g. `at+jwt`, RFC 9068), which keeps
    /// refresh and ID tokens out.
    #[arg(long, env = "JWT_REQUIRED_TYP", global = true)]
    pub jwt_required_typ: Option<String>,

    /// Comma-separated `name=value` claims every token must carry with exactly that value
    /// (a JSON string or number), e.g. `type=access` to keep refresh tokens out.
    #[arg(
        long,
        env = "JWT_REQUIRED_CLAIMS",
        value_delimiter = ',',
        global = true
    )]
    pub jwt_required_claims: Vec<String>,

    /// A table of revoked tokens in the service's database (columns `jti` and
    /// `expires_at`), such as the auth-service's `token_blacklist`. Tokens listed there,
    /// and tokens without a `jti`, are refused.
    #[arg(long, env = "JWT_DENYLIST_TABLE", global = true)]
    pub jwt_denylist_table: Option<String>,

    /// Longest a deny-list answer is remembered: a logout takes effect within this.
    #[arg(
        long,
        env = "JWT_DENYLIST_CACHE_SECS",
        default_value_t = 5,
        global = true
    )]
    pub jwt_denylist_cache_secs: u64,

    /// How often the JWKS is fetched again even when every `kid` is known.
    #[arg(
        long,
        env = "JWT_JWKS_REFRESH_SECS",
        default_value_t = 300,
        global = true
    )]
    pub jwt_jwks_refresh_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UsersTableOwner {
    Service,
    AuthService,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RedisFailure {
    Open,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The configured database, or the embedded default under the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("user-service.db").display()
            ),
        }
    }

    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_secs(self.db_acquire_timeout_secs)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    pub fn rate_limit_redis_timeout(&self) -> Duration {
        Duration::from_millis(self.rate_limit_redis_timeout_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}
