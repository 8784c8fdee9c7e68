//! Per-client rate limits (`RATE_LIMIT_PER_MINUTE`): a bucket of that many requests per
//! client (the token's user, else the peer address), refilled over a minute. The buckets
//! live in the process (governor), or with `RATE_LIMIT_REDIS_URL` in Redis, so that every
//! replica enforces one limit: GCRA in one Lua script, one round trip per request, on
//! Redis's clock, in keys that expire once their bucket is full again.
//!
//! Redis is optional at start and may go away; the failure mode (`RATE_LIMIT_REDIS_FAILURE`:
//! serve without limiting, or 503) follows its health, not one request's patience. While
//! Redis is up, a check waits for its answer: under load the answer is late because this
//! process is busy, and serving the request unchecked then would open the limit exactly when
//! it matters. Redis is down once a command fails (refused, lost) or goes unanswered for
//! `RATE_LIMIT_REDIS_DOWN_AFTER_MS`; while down, a check waits at most
//! `RATE_LIMIT_REDIS_TIMEOUT_MS` before the failure mode applies, and the first answer
//! brings the limit back. Each change of state is logged once and counted in the metrics,
//! and the connection manager reconnects by itself.

use std::{
    net::{IpAddr, SocketAddr},
    num::NonZeroU32,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter, clock::Clock as _,
    middleware::StateInformationMiddleware, state::keyed::DefaultKeyedStateStore,
};
use redis::{
    RedisResult, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use crate::{
    auth::{AuthUser, bearer_token},
    config::{Config, RedisFailure},
    error::AppError,
    metrics,
    state::AppState,
};

/// Who a rate limit counts against: the token's user, or else the peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    User(i64),
    Peer(IpAddr),
}

type Limiter = RateLimiter<
    Client,
    DefaultKeyedStateStore<Client>,
    governor::clock::DefaultClock,
    StateInformationMiddleware,
>;

/// What the bucket says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Admitted, leaving `remaining` requests in the bucket.
    Admit { remaining: u32 },
    /// Refused: the next request is admitted in this many seconds.
    Refuse { retry_after: u64 },
    /// Redis did not answer and the failure mode is open: served, not counted.
    Unlimited,
    /// Redis did not answer and the failure mode is closed.
    Unavailable,
}

/// A bucket per client: `per_minute` requests a minute, in bursts of up to as many.
pub struct RateLimit {
    buckets: Buckets,
    per_minute: u32,
}

enum Buckets {
    Local(Limiter),
    Redis(RedisBuckets),
}

impl RateLimit {
    /// The limit the configuration asks for, if any: in Redis when it names one.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Arc<Self>>> {
        let Some(per_minute) = NonZeroU32::new(config.rate_limit_per_minute) else {
            return Ok(None);
        };
        Ok(Some(match &config.rate_limit_redis_url {
            Some(url) => Arc::new(Self {
                buckets: Buckets::Redis(RedisBuckets::new(url, config)?),
                per_minute: per_minute.get(),
            }),
            None => Self::per_minute(per_minute),
        }))
    }

    /// Buckets kept in this process.
    pub fn per_minute(per_minute: NonZeroU32) -> Arc<Self> {
        let limit = Arc::new(Self {
            buckets: Buckets::Local(
                DefaultKeyedRateLimiter::keyed(Quota::per_minute(per_minute))
                    .with_middleware::<StateInformationMiddleware>(),
            ),
            per_minute: per_minute.get(),
        });
        // Buckets of clients gone quiet are full again: forget them, so memory follows the
        // number of recent clients, not of all clients ever.
        let weak = Arc::downgrade(&limit);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(limit) = weak.upgrade() else { return };
                if let Buckets::Local(limiter) = &limit.buckets {
                    limiter.retain_recent();
                    limiter.shrink_to_fit();
                }
            }
        });
        limit
    }

    /// At start: whether Redis answers, logged (the service starts either way).
    pub async fn check_redis(self: Arc<Self>) {
        if let Buckets::Redis(redis) = &self.buckets {
            redis.check_at_start().await;
        }
    }

    async fn decide(&self, client: Client) -> Decision {
        match &self.buckets {
            Buckets::Local(limiter) => match limiter.check_key(&client) {
                Ok(snapshot) => Decision::Admit {
                    remaining: snapshot.remaining_burst_capacity(),
                },
                Err(not_until) => Decision::Refuse {
                    retry_after: whole_seconds(
                        not_until.wait_time_from(governor::clock::DefaultClock::default().now()),
                    ),
                },
            },
            Buckets::Redis(redis) => redis.decide(client, self.per_minute).await,
        }
    }

    /// Seconds until the bucket holding `remaining` is full again.
    fn seconds_to_full(&self, remaining: u32) -> u64 {
        let missing = u64::from(self.per_minute.saturating_sub(remaining));
        (missing * 60).div_ceil(u64::from(self.per_minute))
    }
}

fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// GCRA (the generic cell rate algorithm): the key holds the client's theoretical arrival
/// time in microseconds of Redis's clock; a request moves it one emission interval (a
/// minute over the limit, a fraction for a limit over 60 million) on, unless that would put
/// it more than a bucket ahead of now. Returns whether the request is admitted, the
/// requests left, and the milliseconds until the next one is admitted.
const GCRA: &str = r"
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local burst = tonumber(ARGV[1])
local interval = 60000000 / burst
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return {0, 0, math.ceil((allow_at - now) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat))
redis.call('PEXPIRE', KEYS[1], math.ceil((new_tat - now) / 1000))
return {1, math.floor((now - allow_at) / interval), 0}
";

/// The buckets in Redis, through a connection manager that reconnects by itself.
struct RedisBuckets {
    connection: ConnectionManager,
    script: Script,
    prefix: String,
    /// While Redis is down: longest a check waits.
    timeout: Duration,
    /// While Redis is up: longest a check waits before Redis is taken for down.
    down_after: Duration,
    failure: RedisFailure,
    state: RedisState,
}

/// Whether Redis answered the last check: logged and counted on each change only.
struct RedisState(AtomicU8);

impl RedisState {
    fn is_down(&self) -> bool {
        self.0.load(Ordering::Acquire) == DOWN
    }
}

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

impl RedisBuckets {
    fn new(url: &str, config: &Config) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|err| anyhow::anyhow!("RATE_LIMIT_REDIS_URL is not a Redis URL: {err}"))?;
        // Reconnection attempts back off to at most a second, so the limit returns soon
        // after Redis does; the requests meanwhile wait no longer than their timeout. The
        // connection forgets a command unanswered for as long as a check waits at most.
        let down_after = config.rate_limit_redis_down_after();
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(down_after))
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, manager)
            .map_err(|err| anyhow::anyhow!("the rate limiter's Redis client: {err}"))?;
        Ok(Self {
            connection,
            script: Script::new(GCRA),
            prefix: config.rate_limit_redis_prefix.clone(),
            timeout: config.rate_limit_redis_timeout(),
            down_after,
            failure: config.rate_limit_redis_failure,
            state: RedisState(AtomicU8::new(UNKNOWN)),
        })
    }

    /// Connects and loads the script, so that the first requests do not wait for either.
    async fn check_at_start(&self) {
        let mut connection = self.connection.clone();
        let answer = self.script.load_async(&mut connection);
        match tokio::time::timeout(Duration::from_secs(1), answer).await {
            Ok(Ok(_)) => self.observe(Ok(())),
            Ok(Err(err)) => self.observe(Err(&err.to_string())),
            Err(_) => self.observe(Err("no answer within 1 s")),
        }
    }

    #[tracing::instrument(name = "rate limit in Redis", skip_all)]
    async fn decide(&self, client: Client, per_minute: u32) -> Decision {
        let key = match client {
            Client::User(id) => format!("{}u:{id}", self.prefix),
            Client::Peer(ip) => format!("{}ip:{ip}", self.prefix),
        };
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(key);
        invocation.arg(per_minute);
        let answer = self
            .answer(invocation.invoke_async::<(u8, u32, u64)>(&mut connection))
            .await;
        let cause = match answer {
            Ok((admitted, remaining, wait_ms)) => {
                self.observe(Ok(()));
                return if admitted == 1 {
                    Decision::Admit { remaining }
                } else {
                    Decision::Refuse {
                        retry_after: whole_seconds(Duration::from_millis(wait_ms)),
                    }
                };
            }
            Err(cause) => cause,
        };
        metrics::redis_error();
        self.observe(Err(&cause));
        match self.failure {
            RedisFailure::Open => Decision::Unlimited,
            RedisFailure::Closed => Decision::Unavailable,
        }
    }

    /// Waits for Redis's answer to a check as its health says: while Redis is up (or not
    /// yet known), until it comes or `down_after` passes, since a late answer is this
    /// process being busy; while it is down, or once another check found it so, no longer
    /// than `timeout`.
    async fn answer<T>(&self, call: impl Future<Output = RedisResult<T>>) -> Result<T, String> {
        let started = Instant::now();
        let mut call = std::pin::pin!(call);
        loop {
            match tokio::time::timeout(self.timeout, &mut call).await {
                Ok(answer) => return answer.map_err(|err| err.to_string()),
                Err(_) if self.state.is_down() || started.elapsed() >= self.down_after => {
                    return Err(format!("no answer within {:?}", started.elapsed()));
                }
                Err(_) => {}
            }
        }
    }

    /// Records whether Redis answered, and logs a change of state, once.
    fn observe(&self, answer: Result<(), &str>) {
        let now = if answer.is_ok() { UP } else { DOWN };
        let before = self.state.0.swap(now, Ordering::AcqRel);
        if before == now {
            return;
        }
        metrics::redis_up(answer.is_ok());
        let mode = match self.failure {
            RedisFailure::Open => "serving without rate limits",
            RedisFailure::Closed => "answering 503",
        };
        match (before, answer) {
            (UNKNOWN, Ok(())) => tracing::info!("rate limits are kept in Redis"),
            (_, Ok(())) => tracing::info!("the rate limiter's Redis answers again: limiting"),
            (UNKNOWN, Err(cause)) => tracing::warn!(
                cause,
                "the rate limiter's Redis does not answer at start: {mode} until it does"
            ),
            (_, Err(cause)) => tracing::warn!(
                cause,
                "the rate limiter's Redis does not answer: {mode} until it does"
            ),
        }
    }
}

/// Counts the request against its client's bucket: 429 with `Retry-After` when empty,
/// `RateLimit-Limit`, `-Remaining` and `-Reset` on every answer it counted. A valid token
/// is verified here once and handed on to the handler's extractor.
pub async fn rate_limit(
    State((state, limit)): State<(AppState, Arc<RateLimit>)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let mut client = Client::Peer(peer.ip());
    if let Some(token) = bearer_token(request.headers())
        && let Ok(caller) = state.auth.verify(token).await
    {
        client = Client::User(caller.user_id.get());
        request.extensions_mut().insert(AuthUser(caller));
    }
    let limit_value = HeaderValue::from(limit.per_minute);
    match limit.decide(client).await {
        Decision::Admit { remaining } => {
            let mut response = next.run(request).await;
            let headers = response.headers_mut();
            headers.insert(RATELIMIT_LIMIT, limit_value);
            headers.insert(RATELIMIT_REMAINING, HeaderValue::from(remaining));
            headers.insert(
                RATELIMIT_RESET,
                HeaderValue::from(limit.seconds_to_full(remaining)),
            );
            response
        }
        Decision::Refuse { retry_after } => {
            metrics::request_rate_limited();
            let mut response = AppError::TooManyRequests(format!(
                "more than {} requests a minute; retry in {retry_after} s",
                limit.per_minute
            ))
            .into_response();
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            headers.insert(RATELIMIT_LIMIT, limit_value);
            headers.insert(RATELIMIT_REMAINING, HeaderValue::from(0));
            headers.insert(RATELIMIT_RESET, HeaderValue::from(retry_after));
            response
        }
        Decision::Unlimited => next.run(request).await,
        Decision::Unavailable => AppError::Unavailable(
            "the rate limiter cannot count this request right now; retry shortly".into(),
        )
        .into_response(),
    }
}

const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_in_proportion_to_what_is_missing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let limit = RateLimit::per_minute(NonZeroU32::new(60).unwrap());
        assert_eq!(limit.seconds_to_full(60), 0);
        assert_eq!(limit.seconds_to_full(0), 60);
        assert_eq!(limit.seconds_to_full(30), 30);
    }

    #[test]
    fn a_wait_is_rounded_up_to_whole_seconds() {
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_secs(2)), 2);
        assert_eq!(whole_seconds(Duration::from_millis(2001)), 3);
    }
}
