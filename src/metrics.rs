//! Prometheus metrics: the process's one recorder, the HTTP layer that counts and times every
//! request, `/metrics` (on the main listener or on `METRICS_ADDR`), and one function per
//! figure for the modules that have something to count. Every name is listed here, with
//! its labels, and in the README; labels never carry a raw path, a token or personal data.
//!
//! It names nothing of the crate: the modules above feed it figures, and the database's
//! pools are read at each scrape through [`Pools`], which the database implements.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    Router,
    extract::{FromRef, MatchedPath, Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::time::Instant;
use utoipa_axum::{router::OpenApiRouter, routes};

const HTTP_REQUESTS: &str = "user_service_http_requests_total";
const HTTP_DURATION: &str = "user_service_http_request_duration_seconds";
const HTTP_IN_FLIGHT: &str = "user_service_http_requests_in_flight";
const HTTP_SHED: &str = "user_service_http_requests_shed_total";
const HTTP_RATE_LIMITED: &str = "user_service_http_requests_rate_limited_total";
const TOKEN_REJECTIONS: &str = "user_service_token_rejections_total";
const DB_POOL_CONNECTIONS: &str = "user_service_db_pool_connections";
const DB_POOL_MAX: &str = "user_service_db_pool_max_connections";
const DB_POOL_TIMEOUTS: &str = "user_service_db_pool_acquire_timeouts_total";
const DB_ERRORS: &str = "user_service_db_errors_total";
const AUTH_EVENTS: &str = "user_service_auth_events_total";
const AUTH_EVENTS_CONNECTED: &str = "user_service_auth_events_connected";
const REDIS_ERRORS: &str = "user_service_rate_limit_redis_errors_total";
const REDIS_UP: &str = "user_service_rate_limit_redis_up";
const OUTBOX_BACKLOG: &str = "user_service_outbox_backlog";
const OUTBOX_LAG: &str = "user_service_outbox_publish_lag_seconds";
const EVENTS_PUBLISHED: &str = "user_service_events_published_total";

/// Seconds. Finer where the service answers (1–50 ms), coarse beyond, up to the default
/// request timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25,
    0.5, 1.0, 2.5, 10.0,
];

/// The route label of a request no route matched: never its raw path, which would make
/// a series of every URL a client tries.
const UNMATCHED: &str = "unmatched";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. A process has one global recorder,
/// and tests build many applications in one process: they all record into it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        // Histogram samples are folded into their buckets at a scrape or by upkeep: without
        // scrapes they would pile up.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .expect("the metrics upkeep thread starts");
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "Time to answer a request, by route template and method"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "Requests being served now");
    describe_counter!(
        HTTP_SHED,
        "Requests answered 503 at once because MAX_CONCURRENT_REQUESTS were being served"
    );
    describe_counter!(
        HTTP_RATE_LIMITED,
        "Requests answered 429: over the client's RATE_LIMIT_PER_MINUTE"
    );
    describe_counter!(TOKEN_REJECTIONS, "Bearer tokens refused, by reason");
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Database connections open, by pool and state (in_use, idle), at the scrape"
    );
    describe_gauge!(DB_POOL_MAX, "Most connections each database pool opens");
    describe_counter!(
        DB_POOL_TIMEOUTS,
        "Requests that waited DB_ACQUIRE_TIMEOUT_SECS for a database connection in vain"
    );
    describe_counter!(
        DB_ERRORS,
        "Failed database queries, of requests and of auth-service events, by class"
    );
    describe_counter!(
        AUTH_EVENTS,
        "Auth-service events handled, by queue, type and outcome"
    );
    describe_gauge!(
        AUTH_EVENTS_CONNECTED,
        "1 while the auth-service event consumer is connected to its queue, else 0"
    );
    describe_counter!(
        REDIS_ERRORS,
        "Rate-limit checks Redis did not answer in time; the failure mode applied"
    );
    describe_gauge!(REDIS_UP, "1 while the rate limiter's Redis answers, else 0");
    describe_gauge!(
        OUTBOX_BACKLOG,
        "Events waiting in the outbox to be published"
    );
    describe_gauge!(
        OUTBOX_LAG,
        "Age of the oldest event waiting in the outbox, in seconds (0: none waits)"
    );
    describe_counter!(
        EVENTS_PUBLISHED,
        "Events the broker confirmed, by destination (exchange or stream)"
    );
}

/// Counts and times every request, by the template of the route it matched.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let _in_flight = InFlight::enter();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!(HTTP_DURATION, "route" => route.clone(), "method" => method)
        .record(started.elapsed().as_secs_f64());
    counter!(HTTP_REQUESTS, "route" => route, "method" => method, "status" => status).increment(1);
    response
}

/// One request in the in-flight gauge, from its start until it is answered or dropped (a
/// request whose client went away is dropped mid-way, and leaves the gauge too).
struct InFlight(metrics::Gauge);

impl InFlight {
    fn enter() -> Self {
        let gauge = gauge!(HTTP_IN_FLIGHT);
        gauge.increment(1.0);
        Self(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The standard methods by name; any other is one label, so clients cannot mint series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// One connection pool's connections at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolFigures {
    pub name: &'static str,
    /// Connections open, in use or idle.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Connection pools, read at each scrape rather than reported on every change: the
/// database's (`db::Store`).
pub trait Pools: Send + Sync {
    /// How full each pool is, now.
    fn pools(&self) -> Vec<PoolFigures>;
}

/// `/metrics` for the main listener, documented beside the probes.
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Pools>: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(metrics))
}

/// `/metrics` alone, for the listener of `METRICS_ADDR`.
pub fn router<S>(state: S) -> Router
where
    S: Clone + Send + Sync + 'static,
    Arc<dyn Pools>: FromRef<S>,
{
    Router::new()
        .route("/metrics", get(metrics))
        .with_state(state)
}

/// Metrics in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((
        status = 200,
        description = "Metrics in the Prometheus text format (0.0.4)",
        content_type = "text/plain",
        body = String
    ))
)]
async fn metrics(State(pools): State<Arc<dyn Pools>>) -> Response {
    for pool in pools.pools() {
        record_pool(&pool);
    }
    let mut response = handle().render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn record_pool(pool: &PoolFigures) {
    let in_use = pool.size.saturating_sub(pool.idle);
    gauge!(DB_POOL_CONNECTIONS, "pool" => pool.name, "state" => "in_use").set(f64::from(in_use));
    gauge!(DB_POOL_CONNECTIONS, "pool" => pool.name, "state" => "idle").set(f64::from(pool.idle));
    gauge!(DB_POOL_MAX, "pool" => pool.name).set(f64::from(pool.max));
}

/// A request answered 503 at once by load shedding.
pub fn request_shed() {
    counter!(HTTP_SHED).increment(1);
}

/// A request answered 429.
pub fn request_rate_limited() {
    counter!(HTTP_RATE_LIMITED).increment(1);
}

/// A bearer token refused; `reason` is a fixed word (see `auth::TokenError::reason`).
pub fn token_rejected(reason: &'static str) {
    counter!(TOKEN_REJECTIONS, "reason" => reason).increment(1);
}

/// A query failed (for a request or an auth-service event), by its `error::QueryErrorClass`.
pub fn db_error(class: &'static str, pool_timeout: bool) {
    counter!(DB_ERRORS, "class" => class).increment(1);
    if pool_timeout {
        counter!(DB_POOL_TIMEOUTS).increment(1);
    }
}

/// An auth-service event handled: its type (or `unreadable`) and what became of it.
pub fn auth_event(queue: &str, event_type: &'static str, outcome: &'static str) {
    counter!(AUTH_EVENTS, "queue" => queue.to_owned(), "type" => event_type, "outcome" => outcome)
        .increment(1);
}

/// Whether the auth-service event consumer holds a connection to its queue.
pub fn auth_events_connected(queue: &str, connected: bool) {
    gauge!(AUTH_EVENTS_CONNECTED, "queue" => queue.to_owned()).set(if connected {
        1.0
    } else {
        0.0
    });
}

/// A rate-limit check Redis failed to answer in time.
pub fn redis_error() {
    counter!(REDIS_ERRORS).increment(1);
}

/// The outbox as the relay for `destination` (its exchange or stream) last read it.
pub fn outbox(destination: &str, backlog: i64, lag_secs: f64) {
    gauge!(OUTBOX_BACKLOG, "destination" => destination.to_owned()).set(backlog as f64);
    gauge!(OUTBOX_LAG, "destination" => destination.to_owned()).set(lag_secs);
}

/// Events the broker confirmed.
pub fn events_published(destination: &str, count: u64) {
    counter!(EVENTS_PUBLISHED, "destination" => destination.to_owned()).increment(count);
}

/// Whether the rate limiter's Redis answers.
pub fn redis_up(up: bool) {
    gauge!(REDIS_UP).set(if up { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_ones_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }

    #[test]
    fn the_latency_buckets_rise() {
        assert!(LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
