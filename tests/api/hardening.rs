//! Limits on what one client or one request may take, caching and CORS headers, and the
//! defences against lost updates and repeated writes (ETag, If-Match, Idempotency-Key).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, error_fields, hold_lock_on_user, json_body, problem, token,
};

async fn a_request_that_takes_too_long_is_answered_503(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|c| c.request_timeout_secs = 1)
        .spawn()
        .await;
    let ada = app.user(7).await;
    let lock = hold_lock_on_user(&app.db, 7).await;

    let started = Instant::now();
    let response = app
        .put("/users/7", Some(&ada), &json!({"bio": "slow"}))
        .await;

    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(response.headers().contains_key("retry-after"));
    problem(response, 503).await;
    lock.release().await;
    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(
        me["bio"],
        Value::Null,
        "the timed-out write left nothing behind"
    );
    let after = app
        .put("/users/7", Some(&ada), &json!({"bio": "later"}))
        .await;
    assert_eq!(
        after.status(),
        200,
        "writes work again once the lock is gone"
    );
}

async fn requests_past_the_concurrency_cap_are_shed_with_503_while_probes_answer(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|c| c.max_concurrent_requests = 1)
        .spawn()
        .await;
    let ada = app.user(7).await;
    let lock = hold_lock_on_user(&app.db, 7).await;
    // The slow request holds the only permit once it waits on the lock. Until it gets
    // there a probe may hold the permit instead and shed the slow request itself; then
    // send it again. Ask until the API is saturated.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (slow, shed) = 'saturate: loop {
        assert!(
            Instant::now() < deadline,
            "a request beyond the cap is shed"
        );
        let slow = tokio::spawn(
            app.request(Method::PUT, "/users/7", Some(&ada))
                .json(&json!({"bio": "x"}))
                .send(),
        );
        while !slow.is_finished() {
            let response = app.get("/users/7").await;
            if response.status() == StatusCode::SERVICE_UNAVAILABLE {
                break 'saturate (slow, response);
            }
            tokio::task::yield_now().await;
        }
        let refused = slow.await.unwrap().unwrap();
        assert_eq!(
            refused.status(),
            503,
            "only shedding ends the slow request early"
        );
    };
    assert_eq!(shed.headers()["retry-after"], "1");
    problem(shed, 503).await;
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "probes are not behind the cap"
    );
    lock.release().await;
    assert_eq!(slow.await.unwrap().unwrap().status(), 200);
    assert_eq!(app.get("/users/7").await.status(), 200, "capacity is back");
}

async fn a_client_past_its_rate_limit_gets_429_with_retry_after(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|c| c.rate_limit_per_minute = 3)
        .spawn()
        .await;
    let ada = app.user(7).await;
    let bob = app.user(8).await;

    for remaining in ["2", "1", "0"] {
        let response = app.get_as("/users/7", &ada).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(response.headers()["ratelimit-remaining"], remaining);
        assert!(response.headers().contains_key("ratelimit-reset"));
    }
    let limited = app.get_as("/users/7", &ada).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    problem(limited, 429).await;

    assert_eq!(
        app.get_as("/users/8", &bob).await.status(),
        200,
        "each user has a bucket"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "probes are not rate-limited"
    );
}

async fn anonymous_clients_are_limited_by_address(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|c| c.rate_limit_per_minute = 2)
        .spawn()
        .await;
    app.insert_user(7, "ada").await;

    assert_eq!(app.get("/users/7").await.status(), 200);
    assert_eq!(app.get("/users/7").await.status(), 200);
    problem(app.get("/users/7").await, 429).await;
    // An invalid token does not buy a fresh bucket: it counts against the address.
    problem(app.get_as("/users/7", "not-a-token").await, 429).await;
    assert_eq!(app.get_as("/users/7", &token(9)).await.status(), 200);
}

async fn answers_to_authenticated_requests_are_private_and_vary_by_authorization(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    app.insert_user(8, "bob").await;

    let authenticated = app.get_as("/users/8", &ada).await;
    assert_eq!(
        authenticated.headers()["cache-control"],
        "private, no-store"
    );
    assert_eq!(authenticated.headers()["vary"], "Authorization");
    let anonymous = app.get("/users/8").await;
    assert!(anonymous.headers().get("cache-control").is_none());
    assert_eq!(anonymous.headers()["vary"], "Authorization");
    assert_eq!(anonymous.headers()["x-content-type-options"], "nosniff");
}

async fn cors_answers_only_the_allowed_origins(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|c| c.cors_allowed_origins = vec!["https://app.example.com".into()])
        .spawn()
        .await;
    let preflight = |origin: &'static str| {
        app.request(Method::OPTIONS, "/users/7", None)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };

    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let denied = preflight("https://evil.example.net").await.unwrap();
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let default_app = TestApp::spawn(backend).await;
    let response = default_app
        .request(Method::GET, "/healthz", None)
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "no CORS by default"
    );
}

async fn reads_carry_an_etag_and_if_none_match_answers_304(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let goal = app.create_goal(7, &ada, "Read the book").await;
    let goal_path = format!("/users/7/goals/{}", goal["id"]);

    for path in ["/users/7", "/users/7/goals", goal_path.as_str()] {
        let first = app.get(path).await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"'), "{path}: {etag}");
        let again = app
            .request(Method::GET, path, None)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert_eq!(again.headers()["etag"], etag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
    }

    let before = app.get(&goal_path).await.headers()["etag"].clone();
    app.put(&goal_path, Some(&ada), &json!({"title": "Read two books"}))
        .await;
    let changed = app
        .request(Method::GET, &goal_path, None)
        .header("if-none-match", before)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200, "a changed goal is sent again");
}

async fn the_second_of_two_racing_profile_editors_gets_412_and_the_first_edit_survives(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let read = app.get_as("/users/7", &ada).await;
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();

    let first = app
        .request(Method::PUT, "/users/7", Some(&ada))
        .header("if-match", &etag)
        .json(&json!({"bio": "first editor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let second = app
        .request(Method::PUT, "/users/7", Some(&ada))
        .header("if-match", &etag)
        .json(&json!({"bio": "second editor"}))
        .send()
        .await
        .unwrap();
    problem(second, 412).await;

    let now = app.get_as("/users/7", &ada).await;
    let fresh = now.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(json_body(now, 200).await["bio"], "first editor");
    let third = app
        .request(Method::PUT, "/users/7", Some(&ada))
        .header("if-match", &fresh)
        .json(&json!({"bio": "third editor, up to date"}))
        .send()
        .await
        .unwrap();
    assert_eq!(third.status(), 200, "an up-to-date If-Match passes");
}

async fn a_put_answers_with_the_etag_a_later_get_sends(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let put = app.put("/users/7", Some(&ada), &json!({"bio": "hi"})).await;
    let put_etag = put.headers()["etag"].clone();
    let get = app.get_as("/users/7", &ada).await;

    assert_eq!(get.headers()["etag"], put_etag);
    assert_eq!(
        app.get_as("/users/me", &ada).await.headers()["etag"],
        put_etag
    );
}

async fn a_stale_if_match_on_a_goal_is_412_and_changes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let goal = app.create_goal(7, &ada, "Learn SQL").await;
    let path = format!("/users/7/goals/{}", goal["id"]);
    let etag = app.get(&path).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    app.put(&path, Some(&ada), &json!({"status": "paused"}))
        .await;

    let stale = app
        .request(Method::PUT, &path, Some(&ada))
        .header("if-match", &etag)
        .json(&json!({"title": "Renamed"}))
        .send()
        .await
        .unwrap();

    problem(stale, 412).await;
    let now = json_body(app.get(&path).await, 200).await;
    assert_eq!(now["title"], "Learn SQL");
    assert_eq!(now["status"], "paused");
}

async fn post_goal(
    app: &TestApp,
    user: i64,
    token: &str,
    key: &str,
    body: &str,
) -> reqwest::Response {
    app.request(Method::POST, &format!("/users/{user}/goals"), Some(token))
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn goal_count(app: &TestApp, user: i64) -> usize {
    json_body(app.get(&format!("/users/{user}/goals")).await, 200)
        .await
        .as_array()
        .unwrap()
        .len()
}

async fn a_retried_post_with_the_same_idempotency_key_replays_and_creates_nothing(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let first = post_goal(
        &app,
        7,
        &ada,
        "key-1",
        r#"{"title": "Learn Go", "description": "tour"}"#,
    )
    .await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let body: Value = first.json().await.unwrap();
    // The same request, its members reordered and spaced differently.
    let retry = post_goal(
        &app,
        7,
        &ada,
        "key-1",
        r#"{ "description":"tour", "title":"Learn Go" }"#,
    )
    .await;

    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["location"], location);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), body);
    assert_eq!(goal_count(&app, 7).await, 1);
}

async fn a_retry_after_its_goal_was_deleted_is_409_and_creates_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let body = r#"{"title": "Learn Go"}"#;
    let first = post_goal(&app, 7, &ada, "key-1", body).await;
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let deleted = app
        .request(Method::DELETE, &location, Some(&ada))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let retry = post_goal(&app, 7, &ada, "key-1", body).await;

    let answer = problem(retry, 409).await;
    assert!(
        answer["detail"].as_str().unwrap().contains("deleted"),
        "{answer}"
    );
    assert_eq!(goal_count(&app, 7).await, 0);
}

async fn an_idempotency_key_reused_with_another_body_is_422(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    post_goal(&app, 7, &ada, "key-1", r#"{"title": "Learn Go"}"#).await;

    let other = post_goal(&app, 7, &ada, "key-1", r#"{"title": "Learn Zig"}"#).await;

    let body = problem(other, 422).await;
    assert_eq!(error_fields(&body), ["Idempotency-Key"]);
    assert_eq!(goal_count(&app, 7).await, 1);
}

async fn idempotency_keys_are_per_user_and_expire_after_a_day(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let bob = app.user(8).await;
    let body = r#"{"title": "Learn Go"}"#;
    post_goal(&app, 7, &ada, "shared-key", body).await;

    let bobs = post_goal(&app, 8, &bob, "shared-key", body).await;
    assert_eq!(bobs.status(), 201);
    assert!(
        bobs.headers().get("idempotent-replayed").is_none(),
        "bob's key is his own"
    );

    app.clock.advance(chrono::TimeDelta::hours(25));
    let next_day = post_goal(&app, 7, &ada, "shared-key", body).await;
    assert_eq!(next_day.status(), 201);
    assert!(next_day.headers().get("idempotent-replayed").is_none());
    assert_eq!(
        goal_count(&app, 7).await,
        2,
        "an expired key makes a new goal"
    );
}

async fn an_idempotency_key_must_be_visible_ascii(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    for key in ["", &"k".repeat(256), "with space"] {
        let body = problem(
            post_goal(&app, 7, &ada, key, r#"{"title": "x"}"#).await,
            400,
        )
        .await;
        assert_eq!(error_fields(&body), ["Idempotency-Key"], "{key:?}");
    }
    assert_eq!(goal_count(&app, 7).await, 0);
}

async fn a_retry_on_another_replica_replays_the_first_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let replica = app.start_again().await;
    let ada = app.user(7).await;
    let body = r#"{"title": "Learn Rust"}"#;

    let first = post_goal(&app, 7, &ada, "retry-me", body).await;
    let first_body: Value = first.json().await.unwrap();
    let retry = post_goal(&replica, 7, &ada, "retry-me", body).await;

    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first_body);
    assert_eq!(goal_count(&replica, 7).await, 1);
}

async fn concurrent_retries_with_one_key_create_one_goal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let request = app
            .request(Method::POST, "/users/7/goals", Some(&ada))
            .header("idempotency-key", "storm")
            .json(&json!({"title": "Once"}));
        requests.spawn(request.send());
    }
    let mut statuses = Vec::new();
    while let Some(response) = requests.join_next().await {
        statuses.push(response.unwrap().unwrap().status().as_u16());
    }

    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    assert_eq!(goal_count(&app, 7).await, 1);
}

crate::backend_tests!(
    a_request_that_takes_too_long_is_answered_503,
    requests_past_the_concurrency_cap_are_shed_with_503_while_probes_answer,
    a_client_past_its_rate_limit_gets_429_with_retry_after,
    anonymous_clients_are_limited_by_address,
    answers_to_authenticated_requests_are_private_and_vary_by_authorization,
    cors_answers_only_the_allowed_origins,
    reads_carry_an_etag_and_if_none_match_answers_304,
    the_second_of_two_racing_profile_editors_gets_412_and_the_first_edit_survives,
    a_put_answers_with_the_etag_a_later_get_sends,
    a_stale_if_match_on_a_goal_is_412_and_changes_nothing,
    a_retried_post_with_the_same_idempotency_key_replays_and_creates_nothing,
    a_retry_after_its_goal_was_deleted_is_409_and_creates_nothing,
    an_idempotency_key_reused_with_another_body_is_422,
    idempotency_keys_are_per_user_and_expire_after_a_day,
    an_idempotency_key_must_be_visible_ascii,
    a_retry_on_another_replica_replays_the_first_answer,
    concurrent_retries_with_one_key_create_one_goal,
);
