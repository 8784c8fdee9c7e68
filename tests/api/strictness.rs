//! Strict where the standards are strict: the strong comparison for `If-Match` (RFC 9110),
//! user ids in canonical decimal, scopes separated by spaces only (RFC 6749), a JSON member
//! named twice or a number beyond any range refused naming it, and `Connection: close` on an
//! answer given before the request's body was read.

use std::time::Duration;

use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::helpers::{Backend, TestApp, claims, error_fields, json_body, problem, sign, token};

async fn a_weak_entity_tag_never_satisfies_if_match(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.user(1).await;
    let goal = app.create_goal(1, &token, "Learn Rust").await;
    let goal_path = format!("/users/1/goals/{}", goal["id"]);

    for path in ["/users/1".to_owned(), goal_path] {
        let read = app.get_as(&path, &token).await;
        let etag = read.headers()["etag"].to_str().unwrap().to_owned();
        let body = if path == "/users/1" {
            json!({"bio": "changed"})
        } else {
            json!({"title": "changed"})
        };
        let weak = app
            .request(reqwest::Method::PUT, &path, Some(&token))
            .header("if-match", format!("W/{etag}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(weak, 412).await;
        let strong = app
            .request(reqwest::Method::PUT, &path, Some(&token))
            .header("if-match", &etag)
            .json(&body)
            .send()
            .await
            .unwrap();
        json_body(strong, 200).await;
        // If-None-Match compares weakly: the weak form of the current tag is a 304.
        let current = app.get_as(&path, &token).await;
        let etag = current.headers()["etag"].to_str().unwrap().to_owned();
        let revalidated = app
            .request(reqwest::Method::GET, &path, Some(&token))
            .header("if-none-match", format!("W/{etag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{path}");
    }
}

async fn a_user_id_claim_must_be_in_canonical_decimal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.insert_user(1, "ada").await;
    let with_sub = |sub: &str| {
        let mut claims = claims(1);
        claims["sub"] = json!(sub);
        sign(&claims)
    };

    json_body(app.get_as("/users/me", &with_sub("1")).await, 200).await;
    for sub in ["01", "+1", " 1", "1 ", "0x1", "1.0"] {
        problem(app.get_as("/users/me", &with_sub(sub)).await, 401).await;
    }
}

async fn scopes_are_split_on_spaces_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.insert_user(1, "ada").await;
    let with_scope = |scope: &str| {
        let mut claims = claims(900);
        claims["scope"] = json!(scope);
        sign(&claims)
    };

    for scope in ["x\tbadges:award", "x\nbadges:award", "badges:award\u{a0}x"] {
        problem(
            app.post(
                "/users/1/badges",
                Some(&with_scope(scope)),
                &json!({"code": "streak-3"}),
            )
            .await,
            403,
        )
        .await;
    }
    json_body(
        app.post(
            "/users/1/badges",
            Some(&with_scope("profile  badges:award")),
            &json!({"code": "streak-3"}),
        )
        .await,
        201,
    )
    .await;
}

/// Sends raw bytes as a body.
async fn post_raw(app: &TestApp, path: &str, body: &'static str) -> reqwest::Response {
    app.request(reqwest::Method::POST, path, Some(&token(1)))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn a_member_named_twice_or_a_number_out_of_range_is_422_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.user(1).await;
    let goal = app.create_goal(1, &token, "Learn Rust").await;

    let twice = problem(
        post_raw(&app, "/users/1/goals", r#"{"title": "a", "title": "b"}"#).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&twice), ["title"]);
    let nested = app
        .request(reqwest::Method::PUT, "/users/1", Some(&token))
        .header("content-type", "application/json")
        .body(r#"{"visibility": {"goals": "public", "goals": "private"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&problem(nested, 422).await),
        ["visibility.goals"]
    );
    let huge = problem(
        post_raw(
            &app,
            &format!("/users/1/goals/{}/checkins", goal["id"]),
            r#"{"minutes": 1e400}"#,
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&huge), ["minutes"]);
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM learning_goals").await,
        1
    );
    assert_eq!(app.db.scalar("SELECT count(*) FROM goal_checkins").await, 0);
}

/// One HTTP/1.1 exchange on an open keep-alive connection: the head of the answer.
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte))
            .await
            .expect("an answer")
            .unwrap();
        assert_eq!(read, 1, "the connection closed mid-answer");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.unwrap();
    head.to_ascii_lowercase()
}

async fn an_answer_given_before_the_body_was_read_says_connection_close(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.user(1).await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let body = r#"{"title": "Learn Rust"}"#;
    let post = |authorization: &str, path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\n{authorization}\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };

    for (authorization, path, status) in [
        (String::new(), "/users/1/goals", "401"),
        (
            "Authorization: Bearer not-a-token\r\n".to_owned(),
            "/users/1/goals",
            "401",
        ),
        (
            format!("Authorization: Bearer {token}\r\n"),
            "/users/2/goals",
            "403",
        ),
        (
            format!("Authorization: Bearer {token}\r\n"),
            "/users/x/goals",
            "400",
        ),
    ] {
        let mut stream = TcpStream::connect(&host).await.unwrap();
        let head = exchange(&mut stream, &post(&authorization, path)).await;
        assert!(head.starts_with(&format!("http/1.1 {status}")), "{head}");
        assert!(
            head.contains("connection: close"),
            "{status} on {path}: {head}"
        );
    }

    // A request whose body was read keeps its connection: two answers on one.
    let mut stream = TcpStream::connect(&host).await.unwrap();
    let owned = format!("Authorization: Bearer {token}\r\n");
    for _ in 0..2 {
        let head = exchange(&mut stream, &post(&owned, "/users/1/goals")).await;
        assert!(head.starts_with("http/1.1 201"), "{head}");
        assert!(!head.contains("connection: close"), "{head}");
    }
}

crate::backend_tests!(
    a_weak_entity_tag_never_satisfies_if_match,
    a_user_id_claim_must_be_in_canonical_decimal,
    scopes_are_split_on_spaces_only,
    a_member_named_twice_or_a_number_out_of_range_is_422_naming_it,
    an_answer_given_before_the_body_was_read_says_connection_close,
);
