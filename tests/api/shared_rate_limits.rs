//! Rate limits kept in Redis (`RATE_LIMIT_REDIS_URL`), so that replicas enforce one limit:
//! two services on the machine's Redis (each test under a key prefix of its own) admit the
//! limit between them; a Redis of the test's own, stopped mid-test, shows the failure mode
//! (open: served; closed: 503 with `Retry-After`), and the limit returns with it; under the
//! load of many connections a healthy Redis keeps the limit (the failure mode follows
//! Redis's health, not a busy service's slow answers).

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use user_service::config::RedisFailure;

use crate::{
    cli::command,
    helpers::{
        Backend, ChildServer, SECRET, TestApp, eventually, http_client, problem,
        prometheus::{parser, scrape},
        redis::{PrivateRedis, REDIS_URL, prefix, shared_available},
        token,
    },
};

/// A service limiting each client to `per_minute` in the Redis at `url`. A stopped Redis
/// refuses connections at once, so the failure mode shows without a short timeout; a
/// generous one keeps a busy test machine from failing a check that Redis did answer.
async fn limited_by(url: &str, prefix: &str, per_minute: u32, failure: RedisFailure) -> TestApp {
    let (url, prefix) = (url.to_owned(), prefix.to_owned());
    TestApp::builder(Backend::Sqlite)
        .config(move |c| {
            c.rate_limit_per_minute = per_minute;
            c.rate_limit_redis_url = Some(url);
            c.rate_limit_redis_prefix = prefix;
            c.rate_limit_redis_failure = failure;
            c.rate_limit_redis_timeout_ms = 1000;
        })
        .spawn()
        .await
}

fn counted(response: &Response) -> bool {
    response.headers().contains_key("ratelimit-remaining")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_services_sharing_a_redis_admit_the_limit_between_them_not_twice_it() {
    if !shared_available().await {
        return;
    }
    let prefix = prefix();
    let open = RedisFailure::Open;
    let one = limited_by(REDIS_URL, &prefix, 6, open).await;
    let two = limited_by(REDIS_URL, &prefix, 6, open).await;
    let ada = token(7);

    let mut admitted = 0;
    let mut remaining = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { &one } else { &two };
        let response = app.get_as("/users/me", &ada).await;
        assert!(counted(&response), "request {i} was not counted");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(response.headers().contains_key("retry-after"));
            assert_eq!(response.headers()["ratelimit-remaining"], "0");
            problem(response, 429).await;
        } else {
            admitted += 1;
            remaining.push(
                response.headers()["ratelimit-remaining"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
            );
        }
    }

    assert_eq!(admitted, 6, "the two replicas admitted {admitted}");
    assert_eq!(remaining, ["5", "4", "3", "2", "1", "0"]);
    let bob = two.get_as("/users/me", &token(8)).await;
    assert_eq!(
        bob.headers()["ratelimit-remaining"],
        "5",
        "each user has a bucket"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_gone_a_service_failing_open_serves_unlimited_and_limits_again_once_it_is_back()
{
    let Some(mut redis) = PrivateRedis::started().await else {
        return;
    };
    let Some(python) = parser() else { return };
    let open = RedisFailure::Open;
    let app = limited_by(&redis.url(), &prefix(), 2, open).await;
    let ada = token(7);
    for _ in 0..2 {
        assert!(counted(&app.get_as("/users/me", &ada).await));
    }
    assert_eq!(app.get_as("/users/me", &ada).await.status(), 429);
    let failures = "user_service_rate_limit_redis_errors_total";
    let before = scrape(&python, &app.address).await.value(failures, &[]);

    redis.stop();

    for _ in 0..5 {
        let response = app.get_as("/users/me", &ada).await;
        assert_eq!(response.status(), 404, "served, as the user does not exist");
        assert!(!counted(&response), "counted while Redis is away");
    }
    let after = scrape(&python, &app.address).await.value(failures, &[]);
    assert!(after >= before + 5.0, "{before} → {after}");

    redis.start().await;

    // The restarted Redis holds no bucket: the limit starts again, full.
    eventually("the limit returns with Redis", || async {
        counted(&app.get_as("/users/me", &ada).await).then_some(())
    })
    .await;
    assert!(counted(&app.get_as("/users/me", &ada).await));
    assert_eq!(app.get_as("/users/me", &ada).await.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_gone_a_service_failing_closed_answers_503_with_retry_after_until_it_is_back() {
    let Some(mut redis) = PrivateRedis::started().await else {
        return;
    };
    let closed = RedisFailure::Closed;
    let app = limited_by(&redis.url(), &prefix(), 2, closed).await;
    let ada = token(7);
    assert!(counted(&app.get_as("/users/me", &ada).await));

    redis.stop();

    for _ in 0..3 {
        let response = app.get_as("/users/me", &ada).await;
        assert_eq!(response.headers()["retry-after"], "1");
        problem(response, 503).await;
    }
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "probes are outside the limiter"
    );

    redis.start().await;

    eventually("requests are served again with Redis", || async {
        let response = app.get_as("/users/me", &ada).await;
        (response.status() != StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;
    assert!(counted(&app.get_as("/users/me", &ada).await));
    assert_eq!(app.get_as("/users/me", &ada).await.status(), 429);
}

/// A Redis that stops answering (paused, its connections open): the check in flight waits
/// `RATE_LIMIT_REDIS_DOWN_AFTER_MS`, as a slow answer would be waited for; then Redis is down,
/// and each later request waits no more than `RATE_LIMIT_REDIS_TIMEOUT_MS` for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_is_down_after_its_down_after_time_and_then_costs_little() {
    const DOWN_AFTER: Duration = Duration::from_secs(2);
    let Some(redis) = PrivateRedis::started().await else {
        return;
    };
    let url = redis.url();
    let app = TestApp::builder(Backend::Sqlite)
        .config(move |c| {
            c.rate_limit_per_minute = 5;
            c.rate_limit_redis_url = Some(url);
            c.rate_limit_redis_prefix = prefix();
            c.rate_limit_redis_failure = RedisFailure::Closed;
            c.rate_limit_redis_timeout_ms = 50;
            c.rate_limit_redis_down_after_ms = 2000;
        })
        .spawn()
        .await;
    let ada = token(7);
    assert!(counted(&app.get_as("/users/me", &ada).await));

    redis.pause();

    let asked = Instant::now();
    problem(app.get_as("/users/me", &ada).await, 503).await;
    let waited = asked.elapsed();
    assert!(
        waited >= DOWN_AFTER && waited < DOWN_AFTER * 3,
        "the first check waited {waited:?}"
    );
    for _ in 0..3 {
        let asked = Instant::now();
        problem(app.get_as("/users/me", &ada).await, 503).await;
        assert!(asked.elapsed() < DOWN_AFTER / 2, "{:?}", asked.elapsed());
    }

    redis.resume();

    eventually("the limiter counts once Redis answers", || async {
        counted(&app.get_as("/users/me", &ada).await).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_started_before_its_redis_applies_the_failure_mode_and_limits_once_redis_answers()
{
    let Some(mut redis) = PrivateRedis::reserve() else {
        return;
    };
    let closed = RedisFailure::Closed;
    let app = limited_by(&redis.url(), &prefix(), 1, closed).await;
    let ada = token(7);
    problem(app.get_as("/users/me", &ada).await, 503).await;

    redis.start().await;

    eventually("the limiter counts once Redis answers", || async {
        counted(&app.get_as("/users/me", &ada).await).then_some(())
    })
    .await;
    assert_eq!(app.get_as("/users/me", &ada).await.status(), 429);
}

/// The report: the binary, one user's token on 64 connections at once, a healthy Redis and
/// the default timeout. The service is busy, not Redis: a slow answer is waited for, never
/// taken for an outage, so no request goes through unchecked, the bucket admits no more than
/// its burst and what refilled meanwhile, and the service's metrics count no Redis error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_a_healthy_redis_keeps_the_limit_and_nothing_is_served_unchecked() {
    const PER_MINUTE: u32 = 10;
    const CONNECTIONS: usize = 64;
    const LOAD: Duration = Duration::from_secs(10);
    if !shared_available().await {
        return;
    }
    let Some(python) = parser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = ChildServer::start(
        command(dir.path())
            .env("JWT_SECRET", SECRET)
            .env("RATE_LIMIT_PER_MINUTE", PER_MINUTE.to_string())
            .env("RATE_LIMIT_REDIS_URL", REDIS_URL)
            .env("RATE_LIMIT_REDIS_PREFIX", prefix())
            .arg("serve"),
    );
    // No such user: each request the limiter admits is a 404.
    let (ada, url) = (token(7), server.url("/users/me"));
    let client = http_client();
    let started = Instant::now();
    let mut load = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, url, ada) = (client.clone(), url.clone(), ada.clone());
        load.push(tokio::spawn(async move {
            let (mut admitted, mut unchecked, mut refused) = (0u32, 0u32, 0u32);
            while started.elapsed() < LOAD {
                let response = client.get(&url).bearer_auth(&ada).send().await.unwrap();
                match response.status() {
                    StatusCode::TOO_MANY_REQUESTS => refused += 1,
                    StatusCode::NOT_FOUND if counted(&response) => admitted += 1,
                    StatusCode::NOT_FOUND => unchecked += 1,
                    other => panic!("answered {other}"),
                }
            }
            (admitted, unchecked, refused)
        }));
    }
    let (mut admitted, mut unchecked, mut refused) = (0, 0, 0);
    for task in load {
        let (a, u, r) = task.await.unwrap();
        (admitted, unchecked, refused) = (admitted + a, unchecked + u, refused + r);
    }
    let elapsed = started.elapsed();

    // The bucket holds PER_MINUTE and refills PER_MINUTE a minute.
    let refilled = (f64::from(PER_MINUTE) * elapsed.as_secs_f64() / 60.0).ceil() as u32;
    assert!(refused > 1000, "only {refused} refused: not much of a load");
    assert_eq!(
        unchecked, 0,
        "{unchecked} served unchecked, {admitted} admitted"
    );
    assert!(
        admitted <= PER_MINUTE + refilled,
        "{admitted} admitted in {elapsed:?}"
    );
    let metrics = scrape(&python, &server.address).await;
    assert_eq!(
        metrics.value("user_service_rate_limit_redis_errors_total", &[]),
        0.0
    );
    assert_eq!(metrics.value("user_service_rate_limit_redis_up", &[]), 1.0);
}
