//! Settings, read from flags or the environment, shared by the server and the operator
//! subcommands. Every setting is declared once, as a field: its flag is the field's name
//! (`--db-max-connections`), its variable the same in capitals (`DB_MAX_CONNECTIONS`), and
//! the command line accepts it after any subcommand (`cli::Cli` makes them all global).
//! Names match the README's configuration table.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, ValueEnum};
use jsonwebtoken::Algorithm;
use url::Url;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`; default: an SQLite file in the data directory.
    #[arg(long, env, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Address and port to serve on.
    #[arg(long, env, default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Where the default SQLite database and the development JWT secret live.
    #[arg(long, env, default_value = "data")]
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

    #[command(flatten)]
    pub credentials: CredentialsConfig,

    /// Most database connections the service opens.
    #[arg(long, env, default_value_t = 16)]
    pub db_max_connections: u32,

    /// How long a request waits for a database connection before answering 503.
    #[arg(long, env, default_value_t = 2)]
    pub db_acquire_timeout_secs: u64,

    /// Longest a request may take before it is answered with 503.
    #[arg(long, env, default_value_t = 10)]
    pub request_timeout_secs: u64,

    /// Requests served at once; more are shed with 503 and Retry-After instead of queueing.
    #[arg(long, env, default_value_t = 1024)]
    pub max_concurrent_requests: usize,

    /// Requests per minute per client (the token's user, else the peer address); 0 is off.
    #[arg(long, env, default_value_t = 0)]
    pub rate_limit_per_minute: u32,

    /// With `RATE_LIMIT_PER_MINUTE`: a Redis (`redis://host:6379/0`) that holds the buckets,
    /// so that every replica enforces one limit. Unset: each process keeps its own.
    #[arg(long, env, hide_env_values = true)]
    pub rate_limit_redis_url: Option<String>,

    /// What the limiter does while Redis does not answer: `open` serves without limiting,
    /// `closed` answers 503 with Retry-After.
    #[arg(long, env, value_enum, default_value_t = RedisFailure::Open)]
    pub rate_limit_redis_failure: RedisFailure,

    /// While Redis is down: longest a request waits for its answer before the failure mode
    /// applies.
    #[arg(long, env, default_value_t = 20)]
    pub rate_limit_redis_timeout_ms: u64,

    /// While Redis is up: how long a check may go unanswered before Redis is taken for down
    /// (a slow answer from a busy service is waited for, not taken for an outage).
    #[arg(long, env, default_value_t = 1000)]
    pub rate_limit_redis_down_after_ms: u64,

    /// Prefix of the limiter's keys in Redis, so that several services can share one.
    #[arg(long, env, default_value = "user-service:rl:")]
    pub rate_limit_redis_prefix: String,

    /// Whether the service records metrics and serves them on `/metrics`.
    #[arg(long, env, default_value_t = true, action = clap::ArgAction::Set)]
    pub metrics_enabled: bool,

    /// A listener of its own for `/metrics` (so that metrics need not be public); unset,
    /// they are served on `LISTEN_ADDR`.
    #[arg(long, env)]
    pub metrics_addr: Option<SocketAddr>,

    /// Comma-separated origins allowed to call the API from a browser; none by default.
    #[arg(long, env, value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,

    /// On SIGTERM: how long readiness reports 503 while new connections are still accepted,
    /// so a load balancer can stop routing here before the listener closes.
    #[arg(long, env, default_value_t = 5)]
    pub shutdown_grace_secs: u64,

    /// The auth-service's RabbitMQ (`amqp://user:password@host:5672/%2f`): consume its user
    /// lifecycle events, and refuse the tokens its revocations name. Unset: no consumer.
    #[arg(long, env, hide_env_values = true)]
    pub amqp_url: Option<String>,

    /// The durable queue the auth-service publishes its user events to.
    #[arg(long, env, default_value = "user_events")]
    pub auth_events_queue: String,

    /// How long browsers and shared caches may keep a profile card (`/users/{id}/card.svg`)
    /// before asking again.
    #[arg(long, env, default_value_t = 3600)]
    pub card_max_age_secs: u64,

    /// The most followers a user may have for their events to be copied into each
    /// follower's home-feed timeline; a user with more is read in each feed instead.
    #[arg(long, env, default_value_t = 10_000)]
    pub feed_fanout_max_followers: i64,

    /// The local time of day (`HH:MM`, 24-hour) at which `streak.at_risk.v1` and
    /// `partner_streak.at_risk.v1` reminders go out, in each user's time zone.
    #[arg(long, env, default_value = crate::domain::reminder::DEFAULT_TIME, value_parser = reminder_time)]
    pub reminder_local_time: crate::domain::reminder::ReminderTime,

    /// How often the reminder scheduler looks for reminders that came due, at most, in
    /// seconds (it sleeps less when one is due sooner); 0: only when asked (tests).
    #[arg(long, env, default_value_t = 30)]
    pub reminder_pass_secs: u64,

    /// How many reminders a pass writes a second at most: a zone's evening of 50,000 goes
    /// out over eight minutes or so at the default, beside the API's requests rather than
    /// in a burst (360,000 an hour; raise it for more).
    #[arg(long, env, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub reminder_rate: u32,

    /// Log line format.
    #[arg(long, env, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn reminder_time(raw: &str) -> Result<crate::domain::reminder::ReminderTime, String> {
    crate::domain::reminder::ReminderTime::parse(raw)
}

/// Where the platform's events go (`crate::events`).
#[derive(Debug, Clone, Args)]
pub struct EventsConfig {
    /// The broker events are published to: `amqp://…` (RabbitMQ) or `nats://…` (NATS
    /// JetStream). Unset: nothing is published and no outbox rows are written.
    #[arg(long, env, hide_env_values = true)]
    pub events_url: Option<String>,

    /// The CloudEvents `source` of every event: a URI naming this service.
    #[arg(long, env, default_value = "/user-service")]
    pub events_source: String,

    /// What each CloudEvents `type` starts with, before `goal.completed.v1` and the like.
    #[arg(long, env, default_value = "org.learning.user")]
    pub events_type_prefix: String,

    /// RabbitMQ: the durable topic exchange events are published to (routing key = type).
    #[arg(long, env, default_value = "user-service.events")]
    pub events_exchange: String,

    /// NATS: the JetStream stream that holds the events, created when missing.
    #[arg(long, env, default_value = "USER_SERVICE_EVENTS")]
    pub events_stream: String,

    /// NATS: events are published on `<prefix>.<type>`; the stream takes `<prefix>.>`.
    #[arg(long, env, default_value = "user-service.events")]
    pub events_subject_prefix: String,

    /// How long published events stay in the outbox before the cleanup deletes them.
    #[arg(long, env, default_value_t = 24)]
    pub events_retention_hours: u64,

    /// Events published per batch, each batch confirmed by the broker before it is marked.
    #[arg(long, env, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..))]
    pub events_batch_size: u16,

    /// How often an idle relay looks for new events, in milliseconds.
    #[arg(long, env, default_value_t = 100)]
    pub events_poll_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct JwtConfig {
    /// The auth-service's HS256 shared secret (its raw bytes). Default: a development secret
    /// generated into the data directory.
    #[arg(long, env, hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Path to a PEM public key (RSA, EC P-256 or Ed25519) that verifies tokens.
    #[arg(long, env)]
    pub jwt_public_key: Option<PathBuf>,

    /// JWKS endpoint of the auth-service; keys are chosen by `kid`.
    #[arg(long, env)]
    pub jwt_jwks_url: Option<Url>,

    /// Comma-separated accepted algorithms. Default: the one matching the configured key.
    #[arg(long, env, value_delimiter = ',')]
    pub jwt_algorithms: Vec<Algorithm>,

    /// When set, a token's `iss` must equal it.
    #[arg(long, env)]
    pub jwt_issuer: Option<String>,

    /// When set, a token's `aud` must contain it.
    #[arg(long, env)]
    pub jwt_audience: Option<String>,

    /// Claim holding the user id (a string or a number).
    #[arg(long, env, default_value = "sub")]
    pub jwt_user_claim: String,

    /// Clock skew allowed on `exp` and `nbf`; a revoked token stays refused as long past its
    /// `exp`.
    #[arg(long, env, default_value_t = 30)]
    pub jwt_leeway_secs: u64,

    /// When set, a token's `typ` header must be this (e.g. `at+jwt`, RFC 9068), which keeps
    /// refresh and ID tokens out.
    #[arg(long, env)]
    pub jwt_required_typ: Option<String>,

    /// Comma-separated `name=value` claims every token must carry with exactly that value
    /// (a JSON string or number), e.g. `type=access` to keep refresh tokens out.
    #[arg(long, env, value_delimiter = ',')]
    pub jwt_required_claims: Vec<String>,

    /// A table of revoked tokens in the service's database (columns `jti` and
    /// `expires_at`), such as the auth-service's `token_blacklist`. Tokens listed there,
    /// and tokens without a `jti`, are refused; readiness waits for the table.
    #[arg(long, env)]
    pub jwt_denylist_table: Option<String>,

    /// Longest a deny-list answer is remembered (of `JWT_DENYLIST_TABLE` and of the
    /// revocations from `AMQP_URL`): a logout takes effect within this.
    #[arg(long, env, default_value_t = 5)]
    pub jwt_denylist_cache_secs: u64,

    /// How often the JWKS is fetched again even when every `kid` is known.
    #[arg(long, env, default_value_t = 300)]
    pub jwt_jwks_refresh_secs: u64,
}

impl JwtConfig {
    /// `JWT_LEEWAY_SECS`: how long past its `exp` a token still validates, and so how long a
    /// revoked one is still refused.
    pub fn leeway(&self) -> chrono::TimeDelta {
        i64::try_from(self.jwt_leeway_secs)
            .ok()
            .and_then(chrono::TimeDelta::try_seconds)
            .unwrap_or(chrono::TimeDelta::MAX)
    }
}

/// The platform as the issuer of badge credentials (`crate::credentials`).
#[derive(Debug, Clone, Args)]
pub struct CredentialsConfig {
    /// The platform's name, the issuer's name in every badge credential.
    #[arg(long, env, default_value = "Learning platform")]
    pub platform_name: String,

    /// The platform's public address (http or https), under which its gateway serves this
    /// service's `/users/...` routes: the base of the profile, achievement and status-list
    /// URLs in credentials.
    #[arg(long, env, default_value = "http://localhost:8080", value_parser = platform_url)]
    pub platform_url: Url,

    /// A PEM file (PKCS#8) with the Ed25519 private key that signs badge credentials; unset,
    /// a development key is generated in the data directory.
    #[arg(long, env)]
    pub credentials_signing_key: Option<PathBuf>,
}

/// An http(s) URL with a host and neither query nor fragment, to which paths are appended.
fn platform_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err("must be an http or https URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must have no query and no fragment".into());
    }
    Ok(url)
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

    pub fn rate_limit_redis_down_after(&self) -> Duration {
        Duration::from_millis(self.rate_limit_redis_down_after_ms)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

/// A section of the settings as the environment and the defaults make it, for unit tests.
#[cfg(test)]
pub fn from_env<T: clap::Args + clap::FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("user-service"));
    T::from_arg_matches(&command.get_matches_from(["user-service"]))
        .expect("the defaults are valid settings")
}
