use serde_json::Value;

use crate::helpers::{Backend, TestApp, json_body};

async fn healthz_answers_while_the_process_is_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json_body(app.get("/healthz").await, 200).await;
    assert_eq!(body["status"], "ok");
}

async fn readyz_answers_when_the_database_does(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json_body(app.get("/readyz").await, 200).await;
    assert_eq!(body["status"], "ready");
}

async fn every_response_carries_a_request_id_and_nosniff(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/users/1").await;
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(!response.headers()["x-request-id"].is_empty());
    let echoed = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
}

async fn the_openapi_document_names_the_schemas_and_secures_the_writes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc = json_body(app.get("/openapi.json").await, 200).await;

    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "UserUpdate",
        "UserProfileResponse",
        "Badge",
        "LearningGoal",
        "LearningGoalCreate",
        "LearningGoalUpdate",
        "Problem",
    ] {
        assert!(schemas.contains_key(name), "schema {name} is missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let operation = |path: &str, method: &str| doc["paths"][path][method].clone();
    for (path, method) in [
        ("/users/me", "get"),
        ("/users/{user_id}", "put"),
        ("/users/{user_id}/goals", "post"),
        ("/users/{user_id}/goals/{goal_id}", "put"),
        ("/users/{user_id}/goals/{goal_id}", "delete"),
    ] {
        let op = operation(path, method);
        assert_eq!(
            op["security"][0]["bearer"],
            Value::Array(vec![]),
            "{method} {path}"
        );
        assert!(
            op["responses"]["401"].is_object(),
            "{method} {path} documents 401"
        );
        assert!(
            op["responses"]["401"]["content"]["application/problem+json"].is_object(),
            "{method} {path}: errors are problem documents"
        );
    }
    assert!(
        operation("/users/{user_id}", "get")["security"].is_null(),
        "profiles are public"
    );
}

async fn swagger_ui_is_served_from_the_binary(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/docs/").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let script = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(script.status(), 200);
}

/// The whole document, reviewed as a snapshot: a change to the API shows up in review.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = json_body(app.get("/openapi.json").await, 200).await;
    insta::assert_json_snapshot!("openapi", doc);
}

/// Every operation of the served document with its path filled in for user 1's data (a
/// goal, a check-in, a badge), skipping the probes, which are outside the API's middleware.
async fn documented_operations(app: &TestApp) -> Vec<(reqwest::Method, String, String, Value)> {
    let token = app.user(1).await;
    let goal = app.create_goal(1, &token, "Learn Rust").await["id"].clone();
    let checkin = json_body(
        app.post(
            &format!("/users/1/goals/{goal}/checkins"),
            Some(&token),
            &serde_json::json!({}),
        )
        .await,
        201,
    )
    .await;
    // A partnership with user 2, who follows user 1 back: partnership 1.
    let other = app.user(2).await;
    for (user, target, token) in [(1, 2, &token), (2, 1, &other)] {
        let path = format!("/users/{user}/following/{target}");
        let response = app
            .request(reqwest::Method::PUT, &path, Some(token))
            .send()
            .await;
        assert_eq!(response.unwrap().status(), 204);
    }
    json_body(
        app.post(
            &format!("/users/1/goals/{goal}/partners"),
            Some(&token),
            &serde_json::json!({"user_id": 2}),
        )
        .await,
        201,
    )
    .await;
    let doc = json_body(app.get("/openapi.json").await, 200).await;
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let url = path
                .replace("{user_id}", "1")
                .replace("{goal_id}", &goal.to_string())
                .replace("{date}", checkin["date"].as_str().unwrap())
                .replace("{code}", "first-goal")
                .replace("{file}", "first-goal.svg")
                .replace("{list}", "1")
                .replace("{target_id}", "2")
                .replace("{follower_id}", "2")
                .replace("{event_id}", "1")
                .replace("{partnership_id}", "1");
            operations.push((
                method.to_uppercase().parse().unwrap(),
                path.clone(),
                url,
                operation.clone(),
            ));
        }
    }
    operations
}

async fn every_operation_documents_401_exactly_when_it_refuses_a_bad_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let operations = documented_operations(&app).await;

    for (method, path, url, operation) in &operations {
        let documented = operation["responses"]["401"].is_object();
        let answer = app
            .request(method.clone(), url, Some("not-a-token"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(
            answer == 401,
            documented,
            "{method} {path}: answered {answer}, 401 documented: {documented}"
        );
    }
    assert!(operations.len() >= 17, "{}", operations.len());
}

/// Whether the middleware tags the operation's answer: JSON or SVG, not a download (the
/// export's archive, streamed as it is written, fresh each time and once an hour).
fn tagged(operation: &Value) -> bool {
    operation["responses"]["200"]["content"]
        .as_object()
        .is_none_or(|content| {
            content
                .keys()
                .any(|t| t.starts_with("application/json") || t.starts_with("image/svg+xml"))
        })
}

async fn every_get_documents_304_and_answers_it_to_its_own_entity_tag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = crate::helpers::token(1);

    for (method, path, url, operation) in documented_operations(&app).await {
        // A GET that answers with no representation (204 or 404, as "is following?") has
        // no entity tag.
        if method != reqwest::Method::GET || operation["responses"]["200"].is_null() {
            continue;
        }
        if !tagged(&operation) {
            assert!(operation["responses"]["304"].is_null(), "GET {path}");
            continue;
        }
        assert!(operation["responses"]["304"].is_object(), "GET {path}");
        let first = app.get_as(&url, &token).await;
        assert_eq!(first.status(), 200, "GET {path}");
        let etag = first.headers()["etag"].clone();
        let again = app
            .request(method.clone(), &url, Some(&token))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "GET {path}");
    }
}

async fn every_head_carries_the_entity_tag_of_its_get_and_answers_304_to_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = crate::helpers::token(1);
    let head = |url: &str| app.request(reqwest::Method::HEAD, url, Some(&token));

    for (method, path, url, operation) in documented_operations(&app).await {
        if method != reqwest::Method::GET
            || operation["responses"]["200"].is_null()
            || !tagged(&operation)
        {
            continue;
        }
        let get = app.get_as(&url, &token).await;
        let etag = get.headers()["etag"].clone();
        let first = head(&url).send().await.unwrap();
        assert_eq!(first.status(), 200, "HEAD {path}");
        assert_eq!(first.headers()["etag"], etag, "HEAD {path}");
        let again = head(&url)
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "HEAD {path}");
    }
}

async fn every_operation_documents_what_the_middleware_may_answer(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    for (method, path, _, operation) in documented_operations(&app).await {
        let responses = &operation["responses"];
        for status in ["429", "503", "500"] {
            assert!(responses[status].is_object(), "{method} {path}: {status}");
            assert!(
                responses[status]["content"]["application/problem+json"].is_object(),
                "{method} {path}: {status} is a problem"
            );
        }
        for header in [
            "Retry-After",
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
        ] {
            assert!(
                responses["429"]["headers"][header].is_object(),
                "{method} {path}: 429 {header}"
            );
        }
        assert!(
            responses["503"]["headers"]["Retry-After"].is_object(),
            "{method} {path}"
        );
    }
}

crate::backend_tests!(
    healthz_answers_while_the_process_is_up,
    readyz_answers_when_the_database_does,
    every_response_carries_a_request_id_and_nosniff,
    the_openapi_document_names_the_schemas_and_secures_the_writes,
    swagger_ui_is_served_from_the_binary,
    every_operation_documents_401_exactly_when_it_refuses_a_bad_token,
    every_get_documents_304_and_answers_it_to_its_own_entity_tag,
    every_head_carries_the_entity_tag_of_its_get_and_answers_304_to_it,
    every_operation_documents_what_the_middleware_may_answer,
);
