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

crate::backend_tests!(
    healthz_answers_while_the_process_is_up,
    readyz_answers_when_the_database_does,
    every_response_carries_a_request_id_and_nosniff,
    the_openapi_document_names_the_schemas_and_secures_the_writes,
    swagger_ui_is_served_from_the_binary,
);
