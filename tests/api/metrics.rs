//! `/metrics`: scraped and read by a real Prometheus parser (see `helpers::prometheus`),
//! its figures moving with the requests each test sends. The tests of one process share one
//! recorder, so each compares its figures before and after (others may only add to them),
//! or reads series labelled with something of its own (a queue).

use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::auth_service::{denylist_app, with_jti};
use crate::helpers::{
    Backend, TestApp, claims,
    events::{Bus, Subscriber},
    eventually, hold_lock_on_user, http_client,
    prometheus::{parser, scrape},
    rabbitmq::{AMQP_URL, Broker, Proxy},
    sign, sign_with,
};

const REQUESTS: &str = "user_service_http_requests_total";
const DURATION_COUNT: &str = "user_service_http_request_duration_seconds_count";
const DURATION_BUCKET: &str = "user_service_http_request_duration_seconds_bucket";

async fn requests_are_counted_and_timed_by_route_template_method_and_status(backend: Backend) {
    let Some(python) = parser() else { return };
    let app = TestApp::spawn(backend).await;
    let ada = app.user(424_242).await;
    let route = [("route", "/users/{user_id}"), ("method", "GET")];
    let found = [route[0], route[1], ("status", "200")];
    let missing = [route[0], route[1], ("status", "404")];
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    let before = scrape(&python, &app.address).await;

    for _ in 0..3 {
        assert_eq!(app.get_as("/users/424242", &ada).await.status(), 200);
    }
    assert_eq!(app.get("/users/535353").await.status(), 404);
    let nowhere = format!("/no-such-place-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(app.get(&nowhere).await.status(), 404);

    let after = scrape(&python, &app.address).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert!(moved(REQUESTS, &found) >= 3.0, "{}", after.text);
    assert!(moved(REQUESTS, &missing) >= 1.0, "{}", after.text);
    assert!(moved(REQUESTS, &unmatched) >= 1.0, "{}", after.text);
    assert!(moved(DURATION_COUNT, &route) >= 4.0, "{}", after.text);
    assert_eq!(after.kind_of(REQUESTS), Some("counter"));
    assert_eq!(after.kind_of(DURATION_COUNT), Some("histogram"));
    for raw in ["424242", "535353", nowhere.as_str()] {
        assert!(
            !after.text.contains(raw),
            "a raw path ({raw}) became a label"
        );
    }
    // Buckets fine enough for a service answering in 1–50 ms.
    let bounds: Vec<&str> = after
        .matching(DURATION_BUCKET, &route)
        .map(|sample| sample.labels["le"].as_str())
        .collect();
    for bound in ["0.001", "0.005", "0.01", "0.02", "0.05", "+Inf"] {
        assert!(bounds.contains(&bound), "no bucket {bound}: {bounds:?}");
    }
    assert_eq!(
        after.value(DURATION_BUCKET, &[route[0], route[1], ("le", "+Inf")]),
        after.value(DURATION_COUNT, &route)
    );
}

async fn requests_over_the_rate_limit_are_counted_as_rate_limited_and_as_429(backend: Backend) {
    let Some(python) = parser() else { return };
    let app = TestApp::builder(backend)
        .config(|c| c.rate_limit_per_minute = 1)
        .spawn()
        .await;
    let ada = app.user(7).await;
    let before = scrape(&python, &app.address).await;

    assert_eq!(app.get_as("/users/7", &ada).await.status(), 200);
    for _ in 0..2 {
        assert_eq!(app.get_as("/users/7", &ada).await.status(), 429);
    }

    let after = scrape(&python, &app.address).await;
    let limited = "user_service_http_requests_rate_limited_total";
    assert!(after.value(limited, &[]) - before.value(limited, &[]) >= 2.0);
    let too_many = [("route", "/users/{user_id}"), ("status", "429")];
    assert!(after.value(REQUESTS, &too_many) - before.value(REQUESTS, &too_many) >= 2.0);
}

async fn refused_tokens_are_counted_by_reason_and_the_token_is_never_a_label(backend: Backend) {
    let Some(python) = parser() else { return };
    let app = TestApp::spawn(backend).await;
    let now = chrono::Utc::now().timestamp();
    let mut expired_claims = claims(7);
    expired_claims["exp"] = json!(now - 3600);
    let expired = sign(&expired_claims);
    let forged = sign_with(
        &Header::new(Algorithm::HS256),
        &claims(7),
        &EncodingKey::from_secret(b"not the auth-service's secret"),
    );
    let malformed = "not-a-token".to_owned();
    let reasons = [
        ("expired", &expired),
        ("bad_signature", &forged),
        ("malformed", &malformed),
    ];
    let rejections = "user_service_token_rejections_total";
    let before = scrape(&python, &app.address).await;

    for (_, token) in reasons {
        assert_eq!(app.get_as("/users/me", token).await.status(), 401);
    }

    let after = scrape(&python, &app.address).await;
    for (reason, token) in reasons {
        let labels = [("reason", reason)];
        assert!(
            after.value(rejections, &labels) - before.value(rejections, &labels) >= 1.0,
            "{reason}: {}",
            after.text
        );
        assert!(!after.text.contains(token.as_str()), "a token was written");
    }
}

async fn a_token_on_the_deny_list_is_counted_as_denied(backend: Backend) {
    let Some(python) = parser() else { return };
    let app = denylist_app(backend, 0).await;
    let denied = [("reason", "denied")];
    let rejections = "user_service_token_rejections_total";
    let before = scrape(&python, &app.address).await;

    let logged_out = with_jti(1, "logged-out");
    assert_eq!(app.get_as("/users/me", &logged_out).await.status(), 401);
    assert_eq!(
        app.get_as("/users/me", &with_jti(1, "fresh"))
            .await
            .status(),
        200
    );

    let after = scrape(&python, &app.address).await;
    assert!(
        after.value(rejections, &denied) - before.value(rejections, &denied) >= 1.0,
        "{}",
        after.text
    );
    assert!(!after.text.contains(&logged_out), "a token was written");
}

async fn the_database_pools_are_reported_at_each_scrape(backend: Backend) {
    let Some(python) = parser() else { return };
    let app = TestApp::spawn(backend).await;
    assert_eq!(app.get("/users/1").await.status(), 404);

    let scraped = scrape(&python, &app.address).await;
    let pools: &[&str] = match backend {
        Backend::Sqlite => &["reader", "writer"],
        Backend::Postgres => &["main"],
    };
    for pool in pools {
        for state in ["in_use", "idle"] {
            assert_eq!(
                scraped
                    .matching(
                        "user_service_db_pool_connections",
                        &[("pool", pool), ("state", state)]
                    )
                    .count(),
                1,
                "{pool} {state}: {}",
                scraped.text
            );
        }
        assert!(scraped.value("user_service_db_pool_max_connections", &[("pool", pool)]) >= 1.0);
    }
    assert_eq!(
        scraped.kind_of("user_service_db_pool_connections"),
        Some("gauge")
    );
}

async fn a_request_that_waits_in_vain_for_a_connection_is_counted_as_a_pool_timeout_and_an_unavailable_query(
    backend: Backend,
) {
    let Some(python) = parser() else { return };
    // One connection for the service's writes (SQLite always has one writer).
    let app = TestApp::builder(backend)
        .config(|c| {
            c.db_max_connections = 1;
            c.db_acquire_timeout_secs = 1;
        })
        .spawn()
        .await;
    let ada = app.user(7).await;
    let before = scrape(&python, &app.address).await;
    let lock = hold_lock_on_user(&app.db, 7).await;
    // The first write holds the one connection while it waits on the lock; the next one
    // waits for that connection, in vain.
    let waiting = tokio::spawn(
        app.request(Method::PUT, "/users/7", Some(&ada))
            .json(&json!({"bio": "first"}))
            .send(),
    );
    let timeouts = "user_service_db_pool_acquire_timeouts_total";
    let unavailable = [("class", "unavailable")];
    let errors = "user_service_db_errors_total";
    let after = eventually("a write waits for a connection in vain", || async {
        let response = app
            .put("/users/7", Some(&ada), &json!({"bio": "second"}))
            .await;
        if response.status() != StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        let after = scrape(&python, &app.address).await;
        (after.value(timeouts, &[]) > before.value(timeouts, &[])).then_some(after)
    })
    .await;
    assert!(after.value(errors, &unavailable) > before.value(errors, &unavailable));
    lock.release().await;
    let _ = waiting.await;
}

async fn requests_shed_at_the_concurrency_cap_are_counted(backend: Backend) {
    let Some(python) = parser() else { return };
    let app = TestApp::builder(backend)
        .config(|c| c.max_concurrent_requests = 1)
        .spawn()
        .await;
    let ada = app.user(7).await;
    let shed = "user_service_http_requests_shed_total";
    let before = scrape(&python, &app.address).await;
    let lock = hold_lock_on_user(&app.db, 7).await;
    let slow = tokio::spawn(
        app.request(Method::PUT, "/users/7", Some(&ada))
            .json(&json!({"bio": "slow"}))
            .send(),
    );
    // While the slow write holds the one permit, a read is shed (or, before it gets there,
    // the read holds the permit and sheds the write: then the write has ended).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no request was shed");
        let response = app.get("/users/7").await;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE || slow.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let after = scrape(&python, &app.address).await;
    assert!(after.value(shed, &[]) > before.value(shed, &[]));
    lock.release().await;
    let _ = slow.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_service_events_are_counted_by_type_and_outcome_beside_the_consumers_connection() {
    let Some(python) = parser() else { return };
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("metrics");
    broker.declare(&queue).await;
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
        })
        .spawn()
        .await;
    let connected = [("queue", queue.as_str())];
    eventually("the consumer is connected", || async {
        let scraped = scrape(&python, &app.address).await;
        (scraped.value("user_service_auth_events_connected", &connected) == 1.0).then_some(())
    })
    .await;

    let created = json!({
        "event_type": "UserCreated", "user_id": 31, "username": "grace",
        "email": "grace@example.com", "timestamp": 1.5,
    });
    broker.publish_json(&queue, &created).await;
    broker.publish_json(&queue, &created).await;
    broker.publish(&queue, b"not json").await;

    let events = "user_service_auth_events_total";
    let expected = [
        ("UserCreated", "applied", 1.0),
        ("UserCreated", "already applied", 1.0),
        ("unreadable", "rejected", 1.0),
    ];
    eventually("the three messages are counted", || async {
        let scraped = scrape(&python, &app.address).await;
        expected
            .iter()
            .all(|(kind, outcome, count)| {
                scraped.value(
                    events,
                    &[("queue", &queue), ("type", kind), ("outcome", outcome)],
                ) == *count
            })
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_metrics_addr_the_metrics_are_served_on_their_own_listener_and_not_on_the_main_one() {
    let Some(python) = parser() else { return };
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| c.metrics_addr = Some("127.0.0.1:0".parse().unwrap()))
        .spawn()
        .await;
    let metrics = app.metrics_address.clone().expect("a listener of its own");
    assert_ne!(metrics, app.address);
    assert_eq!(app.get("/users/1").await.status(), 404);

    let scraped = scrape(&python, &metrics).await;
    assert!(scraped.value(REQUESTS, &[("route", "/users/{user_id}")]) >= 1.0);
    assert_eq!(app.get("/metrics").await.status(), 404);
    let doc = app.get("/openapi.json").await.text().await.unwrap();
    assert!(
        !doc.contains("\"/metrics\""),
        "the main listener's document names /metrics"
    );
    assert_eq!(
        http_client()
            .get(format!("{metrics}/users/1"))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "the metrics listener serves nothing else"
    );
}

crate::backend_tests!(
    requests_are_counted_and_timed_by_route_template_method_and_status,
    requests_over_the_rate_limit_are_counted_as_rate_limited_and_as_429,
    refused_tokens_are_counted_by_reason_and_the_token_is_never_a_label,
    a_token_on_the_deny_list_is_counted_as_denied,
    the_database_pools_are_reported_at_each_scrape,
    a_request_that_waits_in_vain_for_a_connection_is_counted_as_a_pool_timeout_and_an_unavailable_query,
    requests_shed_at_the_concurrency_cap_are_counted,
);

/// While the broker is away the outbox's backlog and lag show; once it is back they fall
/// to zero and the published events are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_backlog_and_lag_show_while_the_broker_is_away_and_empty_when_it_returns() {
    let Some(python) = parser() else { return };
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let proxy = Proxy::start().await;
    proxy.cut();
    let app = TestApp::builder(Backend::Sqlite)
        .config(|c| subscriber.configure_through(&proxy, &mut c.events))
        .spawn()
        .await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "one").await;
    app.create_goal(1, &ada, "two").await;
    let exchange = subscriber.name.clone();
    let destination = [("destination", exchange.as_str())];
    eventually("the backlog counted", || async {
        let scraped = scrape(&python, &app.address).await;
        (scraped.value("user_service_outbox_backlog", &destination) == 3.0
            && scraped.value("user_service_outbox_publish_lag_seconds", &destination) > 0.0)
            .then_some(())
    })
    .await;

    proxy.restore().await;
    subscriber.take(3).await;
    eventually("the backlog gone and the events counted", || async {
        let scraped = scrape(&python, &app.address).await;
        (scraped.value("user_service_outbox_backlog", &destination) == 0.0
            && scraped.value("user_service_outbox_publish_lag_seconds", &destination) == 0.0
            && scraped.value("user_service_events_published_total", &destination) == 3.0)
            .then_some(())
    })
    .await;
}
