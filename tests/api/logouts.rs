//! Logouts: a listed token is refused for as long as it could validate; fed by events, the
//! auth-service's `TokenRevoked` and `UserTokensRevoked` (on the machine's RabbitMQ) refuse
//! tokens within `JWT_DENYLIST_CACHE_SECS`, as the shared deny-list does; expired entries are
//! purged; and readiness waits for the deny-list table of `JWT_DENYLIST_TABLE`.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use clap::Parser;
use serde_json::{Value, json};

use crate::{
    auth_events::event,
    auth_service::{denylist_app, with_jti},
    helpers::{
        Backend, TestApp, claims, eventually, json_body, problem,
        rabbitmq::{AMQP_URL, Broker},
        sign,
    },
};

/// A token of `user` with this `jti`, `iat` (left out when `None`) and `exp`.
fn token_at(user: i64, jti: &str, iat: Option<i64>, exp: i64) -> String {
    let mut claims = claims(user);
    claims["jti"] = json!(jti);
    claims["exp"] = json!(exp);
    match iat {
        Some(iat) => claims["iat"] = json!(iat),
        None => {
            claims.as_object_mut().unwrap().remove("iat");
        }
    }
    sign(&claims)
}

/// As the auth-service's `token_blacklist` stores it: a UTC time without zone.
fn naive(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn a_logged_out_token_is_refused_for_as_long_as_it_could_validate_past_its_expiry(
    backend: Backend,
) {
    let app = denylist_app(backend, 0).await;
    // Expired 6 s ago: within the 30 s leeway the token still validates.
    let exp = Utc::now().timestamp() - 6;
    let expired_at = DateTime::from_timestamp(exp, 0).unwrap();
    let kept = token_at(1, "kept", None, exp);
    let logged_out = token_at(1, "logged-out-late", None, exp);
    json_body(app.get_as("/users/me", &kept).await, 200).await;
    json_body(app.get_as("/users/me", &logged_out).await, 200).await;

    app.db
        .execute(&format!(
            "INSERT INTO token_blacklist (jti, expires_at) VALUES ('logged-out-late', '{}')",
            naive(expired_at)
        ))
        .await;

    problem(app.get_as("/users/me", &logged_out).await, 401).await;
    json_body(app.get_as("/users/me", &kept).await, 200).await;
}

async fn with_a_deny_list_table_that_does_not_exist_readiness_answers_503_naming_it_until_it_exists(
    backend: Backend,
) {
    let app = TestApp::builder(backend)
        .jwt(|jwt| jwt.jwt_denylist_table = Some("token_blacklist".into()))
        .spawn()
        .await;

    let response = app.get("/readyz").await;
    assert!(response.headers().contains_key("retry-after"));
    let unready = problem(response, 503).await;
    assert!(
        unready["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`token_blacklist`")),
        "{backend:?}: {unready}"
    );

    app.db
        .execute("CREATE TABLE token_blacklist (jti VARCHAR(255) PRIMARY KEY, expires_at TIMESTAMP NOT NULL)")
        .await;

    let ready = json_body(app.get("/readyz").await, 200).await;
    assert_eq!(ready["status"], "ready");
}

/// A service consuming `queue`, remembering deny-list answers for `cache` seconds.
async fn consuming_with_cache(backend: Backend, queue: &str, cache: u64) -> TestApp {
    let app = TestApp::builder(backend)
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.into();
        })
        .jwt(|jwt| jwt.jwt_denylist_cache_secs = cache)
        .spawn()
        .await;
    for id in [1, 2] {
        app.insert_user(id, &format!("user{id}")).await;
    }
    app
}

/// Asks `/users/me` with `token` until it is refused, and says how long that took from
/// `since`.
async fn until_refused(app: &TestApp, token: &str, since: Instant) -> Duration {
    loop {
        let response = app.get_as("/users/me", token).await;
        if response.status() == 401 {
            problem(response, 401).await;
            return since.elapsed();
        }
        json_body(response, 200).await;
        assert!(since.elapsed() < Duration::from_secs(30), "never refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes a revocation and asserts that `token` is refused within `cache` (and half a
/// second for the request) of the moment the consumer wrote it, which `written` counts.
async fn refused_within(
    app: &TestApp,
    broker: &Broker,
    queue: &str,
    revocation: &Value,
    written: &str,
    token: &str,
    cache: Duration,
) {
    broker.publish_json(queue, revocation).await;
    eventually(written, || async {
        (app.db.scalar(written).await > 0).then_some(())
    })
    .await;
    let took = until_refused(app, token, Instant::now()).await;
    assert!(
        took < cache + Duration::from_millis(500),
        "{:?}: still accepted {took:?} after {revocation}",
        app.backend
    );
}

async fn a_token_revoked_message_refuses_the_token_within_the_cache_time(backend: Backend) {
    let Some((broker, queue)) = Broker::with_queue().await else {
        return;
    };
    let cache = Duration::from_secs(2);
    let app = consuming_with_cache(backend, &queue, cache.as_secs()).await;
    let exp = Utc::now().timestamp() + 3600;
    let logged_out = token_at(1, "logout-1", Some(exp - 3600), exp);
    let by_seconds = token_at(1, "logout-2", Some(exp - 3600), exp);
    let still_in = token_at(1, "still-in", Some(exp - 3600), exp);
    for token in [&logged_out, &by_seconds, &still_in] {
        json_body(app.get_as("/users/me", token).await, 200).await;
    }
    let expires_at = DateTime::from_timestamp(exp, 0)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Secs, true);

    refused_within(
        &app,
        &broker,
        &queue,
        &json!({"event_type": "TokenRevoked", "jti": "logout-1", "expires_at": expires_at,
                "timestamp": 1.0}),
        "SELECT count(*) FROM revoked_tokens WHERE jti = 'logout-1'",
        &logged_out,
        cache,
    )
    .await;
    refused_within(
        &app,
        &broker,
        &queue,
        &json!({"event_type": "TokenRevoked", "jti": "logout-2", "expires_at": exp}),
        "SELECT count(*) FROM revoked_tokens WHERE jti = 'logout-2'",
        &by_seconds,
        cache,
    )
    .await;
    // Refused on every route; another token of the same user is not.
    problem(app.get_as("/users/1/goals", &logged_out).await, 401).await;
    json_body(app.get_as("/users/me", &still_in).await, 200).await;
}

async fn a_user_tokens_revoked_message_refuses_the_tokens_issued_before_it_and_those_without_iat(
    backend: Backend,
) {
    let Some((broker, queue)) = Broker::with_queue().await else {
        return;
    };
    let cache = Duration::from_secs(2);
    let app = consuming_with_cache(backend, &queue, cache.as_secs()).await;
    let now = Utc::now().timestamp();
    let exp = now + 3600;
    let before = now - 30;
    let old = token_at(1, "old", Some(now - 60), exp);
    let undated = token_at(1, "undated", None, exp);
    let new = token_at(1, "new", Some(before), exp);
    let someone_elses = token_at(2, "other", Some(now - 60), exp);
    for token in [&old, &undated, &new, &someone_elses] {
        json_body(app.get_as("/users/me", token).await, 200).await;
    }

    refused_within(
        &app,
        &broker,
        &queue,
        &json!({"event_type": "UserTokensRevoked", "user_id": 1, "before": before,
                "timestamp": 1.0}),
        "SELECT count(*) FROM revoked_user_tokens WHERE user_id = 1",
        &old,
        cache,
    )
    .await;
    problem(app.get_as("/users/me", &undated).await, 401).await;
    json_body(app.get_as("/users/me", &new).await, 200).await;
    json_body(app.get_as("/users/me", &someone_elses).await, 200).await;

    // An earlier revocation arriving late moves nothing back; a later one in RFC 3339
    // takes the token issued at `before` too.
    let at = |secs: i64| {
        DateTime::from_timestamp(secs, 0)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    for (moment, stamp) in [(now - 120, 2.0), (before + 1, 3.0)] {
        broker
            .publish_json(
                &queue,
                &json!({"event_type": "UserTokensRevoked", "user_id": 1, "before": at(moment),
                        "timestamp": stamp}),
            )
            .await;
    }
    until_refused(&app, &new, Instant::now()).await;
    problem(app.get_as("/users/me", &old).await, 401).await;

    // Erased with the user's data; and nothing of an erased account is recorded again.
    broker
        .publish_json(&queue, &event("UserDeleted", 1, 4.0))
        .await;
    broker
        .publish_json(
            &queue,
            &json!({"event_type": "UserTokensRevoked", "user_id": 1, "before": now,
                    "timestamp": 5.0}),
        )
        .await;
    broker
        .publish_json(&queue, &event("UserDeactivated", 2, 6.0))
        .await;
    eventually("the sentinel applied", || async {
        (app.get("/users/2").await.status() == 404).then_some(())
    })
    .await;
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM revoked_user_tokens WHERE user_id = 1")
            .await,
        0,
        "{backend:?}"
    );
}

async fn revoked_tokens_are_purged_once_their_tokens_can_no_longer_validate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let now = Utc::now();
    let stamp = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, false);
    app.db
        .execute(&format!(
            "INSERT INTO revoked_tokens (jti, expires_at) VALUES \
             ('long-gone', '{}'), ('within-leeway', '{}'), ('live', '{}')",
            stamp(now - TimeDelta::seconds(60)),
            stamp(now - TimeDelta::seconds(10)),
            stamp(now + TimeDelta::seconds(3600)),
        ))
        .await;
    let mut config = user_service::cli::Cli::try_parse_from(["user-service"])
        .unwrap()
        .config;
    config.database_url = Some(app.database_url());
    let store = user_service::db::connect(&config).await.unwrap();
    store.migrate().await.unwrap();

    // The application's own housekeeping purges at its start too, and may come first.
    user_service::services::users::purge_revoked_tokens(&*store, TimeDelta::seconds(30))
        .await
        .unwrap();

    let left = app
        .db
        .text("SELECT min(jti) || ',' || max(jti) FROM revoked_tokens")
        .await;
    assert_eq!(left.as_deref(), Some("live,within-leeway"), "{backend:?}");
    store.close().await;
}

/// The README's promise for `/me`: with nothing revoked, a token costs no query of the
/// deny-list. Shown by taking the tables away: requests still pass while the answer that
/// nothing is revoked is remembered.
async fn with_nothing_revoked_a_token_is_not_looked_up(backend: Backend) {
    let Some((_broker, queue)) = Broker::with_queue().await else {
        return;
    };
    let app = consuming_with_cache(backend, &queue, 30).await;
    let tokens: Vec<String> = (0..20)
        .map(|n| with_jti(1, &format!("fresh-{n}")))
        .collect();
    json_body(app.get_as("/users/me", &tokens[0]).await, 200).await;

    app.db
        .execute("ALTER TABLE revoked_tokens RENAME TO revoked_tokens_away")
        .await;

    for token in &tokens {
        let me: Value = json_body(app.get_as("/users/me", token).await, 200).await;
        assert_eq!(me["id"], 1, "{backend:?}");
    }
    app.db
        .execute("ALTER TABLE revoked_tokens_away RENAME TO revoked_tokens")
        .await;
}

crate::backend_tests!(
    a_logged_out_token_is_refused_for_as_long_as_it_could_validate_past_its_expiry,
    with_a_deny_list_table_that_does_not_exist_readiness_answers_503_naming_it_until_it_exists,
    a_token_revoked_message_refuses_the_token_within_the_cache_time,
    a_user_tokens_revoked_message_refuses_the_tokens_issued_before_it_and_those_without_iat,
    revoked_tokens_are_purged_once_their_tokens_can_no_longer_validate,
    with_nothing_revoked_a_token_is_not_looked_up,
);
