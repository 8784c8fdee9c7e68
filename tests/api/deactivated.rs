//! A deactivated user (the auth-service's `is_active` false) is, for every operation of the
//! OpenAPI document, exactly a user who does not exist: the same 404, even with a valid
//! token of their own, and nothing written.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, award_token, json_body, token};

/// The deactivated user, with data of their own.
const DEACTIVATED: i64 = 2;
/// A user with no row at all.
const MISSING: i64 = 3;
/// An active user, whom the connect operations name.
const OTHER: i64 = 4;

/// A body each request type accepts.
fn body_for(schema: &str) -> Value {
    match schema {
        "UserUpdate" => json!({"bio": "still here"}),
        "LearningGoalCreate" => json!({"title": "A new goal"}),
        "LearningGoalUpdate" => json!({"title": "Renamed"}),
        "CheckInCreate" => json!({"minutes": 5}),
        "BadgeAward" => json!({"code": "streak-30"}),
        "PartnerInvite" => json!({"user_id": OTHER}),
        "PartnershipAccept" => json!({"goal_id": 1}),
        other => panic!("no body for {other}: add one"),
    }
}

async fn every_operation_treats_a_deactivated_user_as_one_who_does_not_exist(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token_of_2 = app.user(DEACTIVATED).await;
    app.user(OTHER).await;
    let goal = app
        .create_goal(DEACTIVATED, &token_of_2, "Learn Rust")
        .await["id"]
        .as_i64()
        .unwrap();
    let checkin = json_body(
        app.post(
            &format!("/users/{DEACTIVATED}/goals/{goal}/checkins"),
            Some(&token_of_2),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    let day = checkin["date"].as_str().unwrap().to_owned();
    app.db
        .execute(&format!(
            "UPDATE users SET is_active = FALSE WHERE id = {DEACTIVATED}"
        ))
        .await;
    let rows = || async {
        let mut counts = Vec::new();
        for table in [
            "learning_goals",
            "goal_checkins",
            "user_badges",
            "activity_events",
        ] {
            counts.push(
                app.db
                    .scalar(&format!("SELECT count(*) FROM {table}"))
                    .await,
            );
        }
        counts.push(
            app.db
                .scalar("SELECT count(*) FROM users WHERE bio IS NOT NULL")
                .await,
        );
        counts
    };
    let before = rows().await;
    let doc = json_body(app.get("/openapi.json").await, 200).await;
    let mut walked = 0;

    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/users/{user_id}") && path != "/users/me" {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let schema = operation
                .pointer("/requestBody/content/application~1json/schema/$ref")
                .and_then(Value::as_str)
                .map(|r| r.rsplit('/').next().unwrap().to_owned());
            let answer = |user: i64| {
                let url = path
                    .replace("{user_id}", &user.to_string())
                    .replace("{goal_id}", &goal.to_string())
                    .replace("{date}", &day)
                    .replace("{code}", "first-goal")
                    .replace("{target_id}", &OTHER.to_string())
                    .replace("{follower_id}", &OTHER.to_string())
                    .replace("{event_id}", "1")
                    .replace("{partnership_id}", "1");
                let token = if path.contains("/badges") {
                    award_token()
                } else {
                    token(user)
                };
                let mut request = app.request(method.clone(), &url, Some(&token));
                if let Some(schema) = &schema {
                    request = request.json(&body_for(schema));
                }
                async move {
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    (status, response.text().await.unwrap())
                }
            };
            let deactivated = answer(DEACTIVATED).await;
            let missing = answer(MISSING).await;
            assert_eq!(deactivated.0, 404, "{method} {path}: {}", deactivated.1);
            assert_eq!(deactivated, missing, "{method} {path}");
            walked += 1;
        }
    }

    assert!(walked >= 14, "only {walked} operations walked");
    assert_eq!(
        rows().await,
        before,
        "a deactivated user's request wrote something"
    );
}

crate::backend_tests!(every_operation_treats_a_deactivated_user_as_one_who_does_not_exist);
