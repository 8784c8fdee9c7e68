use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, error_fields, json_body, keys, link_header, next_url, problem, token,
};

/// The ids of a list of goals, in order.
fn ids(goals: &Value) -> Vec<i64> {
    goals
        .as_array()
        .expect("an array of goals")
        .iter()
        .map(|g| g["id"].as_i64().expect("a goal id"))
        .collect()
}

fn id(goal: &Value) -> i64 {
    goal["id"].as_i64().expect("a goal id")
}

fn message<'a>(problem: &'a Value, field: &str) -> &'a str {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no error for {field}: {problem}"))
}

// ---- success paths ----

async fn creating_a_goal_answers_201_with_its_location_and_defaults(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    let response = app
        .post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "  Learn Rust  ", "description": "The book, then a project."}),
        )
        .await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let goal = json_body(response, 201).await;

    assert_eq!(
        keys(&goal),
        [
            "cadence",
            "completed_at",
            "created_at",
            "days_per_week",
            "description",
            "freezes_available",
            "id",
            "last_checkin_date",
            "longest_streak",
            "reminders",
            "status",
            "streak_count",
            "streak_unit",
            "title",
            "updated_at",
            "user_id"
        ]
    );
    assert!(id(&goal) > 0);
    assert_eq!(location, format!("/users/1/goals/{}", id(&goal)));
    assert_eq!(goal["user_id"], 1);
    assert_eq!(goal["title"], "Learn Rust");
    assert_eq!(goal["description"], "The book, then a project.");
    assert_eq!(goal["status"], "in-progress");
    assert_eq!(goal["streak_count"], 0);
    assert_eq!(goal["longest_streak"], 0);
    assert_eq!(goal["reminders"], true);
    assert_eq!(goal["freezes_available"], 0);
    assert_eq!(goal["last_checkin_date"], Value::Null);
    assert_eq!(goal["created_at"], "2026-03-10T12:00:00Z");
    assert_eq!(goal["updated_at"], "2026-03-10T12:00:00Z");
    assert_eq!(goal["completed_at"], Value::Null);
    assert_eq!(json_body(app.get(&location).await, 200).await, goal);
}

async fn a_goal_created_without_a_description_has_a_null_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    let goal = app.create_goal(1, &ada, "Learn SQL").await;

    assert_eq!(goal["description"], Value::Null);
    let read = json_body(app.get(&format!("/users/1/goals/{}", id(&goal))).await, 200).await;
    assert_eq!(read["description"], Value::Null);
}

async fn anyone_reads_one_goal_without_a_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;

    let read = json_body(app.get(&format!("/users/1/goals/{}", id(&goal))).await, 200).await;

    assert_eq!(read, goal);
}

async fn the_goal_list_shows_the_users_own_goals_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let first = app.create_goal(1, &ada, "First").await;
    app.create_goal(2, &bob, "Bob's").await;
    app.clock.advance(TimeDelta::minutes(1));
    let second = app.create_goal(1, &ada, "Second").await;
    app.clock.advance(TimeDelta::minutes(1));
    let third = app.create_goal(1, &ada, "Third").await;

    let response = app.get("/users/1/goals").await;
    assert!(link_header(&response).is_none(), "one page only");
    let list = json_body(response, 200).await;

    assert_eq!(list, json!([third, second, first]));
}

async fn a_user_without_goals_has_an_empty_list(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    let response = app.get("/users/1/goals").await;
    assert!(link_header(&response).is_none());

    assert_eq!(json_body(response, 200).await, json!([]));
}

async fn an_owner_updates_every_goal_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));
    app.clock.advance(TimeDelta::hours(1));

    let updated = json_body(
        app.put(
            &path,
            Some(&ada),
            &json!({"title": " Learn async Rust ", "description": "Tokio.\nAxum.", "status": "paused"}),
        )
        .await,
        200,
    )
    .await;

    assert_eq!(updated["id"], goal["id"]);
    assert_eq!(updated["user_id"], 1);
    assert_eq!(updated["title"], "Learn async Rust");
    assert_eq!(updated["description"], "Tokio.\nAxum.");
    assert_eq!(updated["status"], "paused");
    assert_eq!(updated["streak_count"], 0);
    assert_eq!(updated["created_at"], "2026-03-10T12:00:00Z");
    assert_eq!(updated["updated_at"], "2026-03-10T13:00:00Z");
    assert_eq!(updated["completed_at"], Value::Null);
    assert_eq!(json_body(app.get(&path).await, 200).await, updated);
}

async fn a_goal_field_left_out_of_an_update_is_kept(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let created = json_body(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "Learn Rust", "description": "Daily", "status": "paused"}),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/users/1/goals/{}", id(&created));

    let updated = json_body(
        app.put(&path, Some(&ada), &json!({"title": "Learn Go"}))
            .await,
        200,
    )
    .await;

    assert_eq!(updated["title"], "Learn Go");
    assert_eq!(updated["description"], "Daily");
    assert_eq!(updated["status"], "paused");
}

async fn a_goal_update_that_changes_nothing_keeps_updated_at(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));
    app.clock.advance(TimeDelta::hours(1));

    let same = json_body(
        app.put(
            &path,
            Some(&ada),
            &json!({"title": "Learn Rust", "status": "in-progress"}),
        )
        .await,
        200,
    )
    .await;

    assert_eq!(same, goal);
    assert_eq!(json_body(app.get(&path).await, 200).await, goal);
}

async fn a_deleted_goal_answers_204_and_is_gone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let kept = app.create_goal(1, &ada, "Keep").await;
    let goal = app.create_goal(1, &ada, "Drop").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    let response = app.delete(&path, Some(&ada)).await;
    assert_eq!(response.status(), 204);
    assert!(
        response.bytes().await.unwrap().is_empty(),
        "204 has no body"
    );

    problem(app.get(&path).await, 404).await;
    problem(app.delete(&path, Some(&ada)).await, 404).await;
    assert_eq!(
        json_body(app.get("/users/1/goals").await, 200).await,
        json!([kept])
    );
}

// ---- list paging ----

async fn the_goal_list_pages_with_a_next_link_until_the_last_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let mut created = Vec::new();
    for n in 1..=5 {
        created.push(id(&app.create_goal(1, &ada, &format!("Goal {n}")).await));
    }
    let newest_first: Vec<i64> = created.iter().rev().copied().collect();

    let response = app.get("/users/1/goals?limit=2").await;
    let link = link_header(&response).expect("a next link on the first page");
    let first = ids(&json_body(response, 200).await);
    assert_eq!(first, newest_first[0..2]);
    assert_eq!(
        link,
        format!("</users/1/goals?limit=2&cursor={}>; rel=\"next\"", first[1])
    );

    let response = app.get(next_url(&link)).await;
    let link = link_header(&response).expect("a next link on the second page");
    let second = ids(&json_body(response, 200).await);
    assert_eq!(second, newest_first[2..4]);
    assert_eq!(
        link,
        format!(
            "</users/1/goals?limit=2&cursor={}>; rel=\"next\"",
            second[1]
        )
    );

    let response = app.get(next_url(&link)).await;
    assert!(
        link_header(&response).is_none(),
        "the last page has no next link"
    );
    let last = ids(&json_body(response, 200).await);
    assert_eq!(last, newest_first[4..]);
}

async fn a_page_that_ends_exactly_at_the_last_goal_has_no_next_link(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    for n in 1..=4 {
        app.create_goal(1, &ada, &format!("Goal {n}")).await;
    }

    let response = app.get("/users/1/goals?limit=2").await;
    let link = link_header(&response).expect("a next link on the first page");
    json_body(response, 200).await;
    let response = app.get(next_url(&link)).await;

    assert!(link_header(&response).is_none(), "no empty page is offered");
    assert_eq!(ids(&json_body(response, 200).await).len(), 2);
}

async fn a_page_holds_50_goals_by_default_and_at_most_100(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let mut created = Vec::new();
    for n in 1..=101 {
        created.push(id(&app.create_goal(1, &ada, &format!("Goal {n}")).await));
    }

    let response = app.get("/users/1/goals").await;
    let link = link_header(&response).expect("a next link after 50 of 101");
    assert_eq!(ids(&json_body(response, 200).await).len(), 50);
    assert_eq!(
        link,
        format!(
            "</users/1/goals?limit=50&cursor={}>; rel=\"next\"",
            created[51]
        )
    );

    let response = app.get("/users/1/goals?limit=100").await;
    let link = link_header(&response).expect("a next link after 100 of 101");
    assert_eq!(ids(&json_body(response, 200).await).len(), 100);
    let response = app.get(next_url(&link)).await;
    assert!(link_header(&response).is_none());
    assert_eq!(ids(&json_body(response, 200).await), [created[0]]);
}

async fn a_status_filter_lists_only_that_status_and_its_next_link_keeps_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let mut paused = Vec::new();
    for n in 1..=6 {
        let status = if n % 2 == 0 { "paused" } else { "in-progress" };
        let goal = json_body(
            app.post(
                "/users/1/goals",
                Some(&ada),
                &json!({"title": format!("Goal {n}"), "status": status}),
            )
            .await,
            201,
        )
        .await;
        if status == "paused" {
            paused.push(id(&goal));
        }
    }
    paused.reverse();

    let response = app.get("/users/1/goals?status=paused&limit=2").await;
    let link = link_header(&response).expect("a next link on the first page");
    let first = json_body(response, 200).await;
    assert_eq!(ids(&first), paused[0..2]);
    assert!(
        first
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["status"] == "paused")
    );
    assert_eq!(
        link,
        format!(
            "</users/1/goals?limit=2&status=paused&cursor={}>; rel=\"next\"",
            paused[1]
        )
    );

    let response = app.get(next_url(&link)).await;
    assert!(link_header(&response).is_none());
    let rest = json_body(response, 200).await;
    assert_eq!(ids(&rest), paused[2..]);
    assert_eq!(rest[0]["status"], "paused");
}

async fn an_invalid_list_parameter_is_a_400_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("status=done", "status"),
        ("status=In-Progress", "status"),
        ("cursor=-1", "cursor"),
        ("cursor=0", "cursor"),
        ("cursor=abc", "cursor"),
    ] {
        let body = problem(app.get(&format!("/users/1/goals?{query}")).await, 400).await;
        assert_eq!(error_fields(&body), [field], "?{query}");
    }
}

async fn a_list_limit_of_1_or_100_is_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let older = app.create_goal(1, &ada, "Older").await;
    let newer = app.create_goal(1, &ada, "Newer").await;

    let one = json_body(app.get("/users/1/goals?limit=1").await, 200).await;
    let hundred = json_body(app.get("/users/1/goals?limit=100").await, 200).await;

    assert_eq!(one, json!([newer]));
    assert_eq!(hundred, json!([newer, older]));
}

// ---- validation ----

async fn a_title_holds_at_200_characters_and_fails_at_201(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    for title in [
        "t".repeat(200),
        "é".repeat(200),
        format!("  {}  ", "t".repeat(200)),
    ] {
        let created = json_body(
            app.post("/users/1/goals", Some(&ada), &json!({ "title": title }))
                .await,
            201,
        )
        .await;
        assert_eq!(created["title"], title.trim(), "create");
        let updated = json_body(
            app.put(&path, Some(&ada), &json!({ "title": title })).await,
            200,
        )
        .await;
        assert_eq!(updated["title"], title.trim(), "update");
    }
    for title in ["t".repeat(201), "é".repeat(201)] {
        let refused = problem(
            app.post("/users/1/goals", Some(&ada), &json!({ "title": title }))
                .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), ["title"], "create");
        let refused = problem(
            app.put(&path, Some(&ada), &json!({ "title": title })).await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), ["title"], "update");
    }
}

async fn a_blank_missing_or_null_title_is_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    for body in [
        json!({"title": ""}),
        json!({"title": "   "}),
        json!({"title": null}),
        json!({"description": "No title"}),
    ] {
        let refused = problem(app.post("/users/1/goals", Some(&ada), &body).await, 422).await;
        assert_eq!(error_fields(&refused), ["title"], "{body}");
    }
    assert_eq!(
        json_body(app.get("/users/1/goals").await, 200).await,
        json!([])
    );
}

async fn a_description_holds_at_2000_characters_and_fails_at_2001(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));
    let at_bound = "d".repeat(2000);
    let past = "d".repeat(2001);

    let created = json_body(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "t", "description": at_bound}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["description"], at_bound);
    let updated = json_body(
        app.put(&path, Some(&ada), &json!({ "description": at_bound }))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["description"], at_bound);

    let refused = problem(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "t", "description": past}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["description"]);
    let refused = problem(
        app.put(&path, Some(&ada), &json!({ "description": past }))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["description"]);
}

async fn an_unknown_status_is_refused_with_the_four_statuses_listed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    let on_create = problem(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "t", "status": "done"}),
        )
        .await,
        422,
    )
    .await;
    let on_update = problem(
        app.put(&path, Some(&ada), &json!({"status": "done"})).await,
        422,
    )
    .await;

    for refused in [on_create, on_update] {
        assert_eq!(error_fields(&refused), ["status"]);
        let text = message(&refused, "status");
        for status in ["in-progress", "paused", "completed", "abandoned"] {
            assert!(text.contains(status), "{status} missing from {text:?}");
        }
    }
    assert_eq!(
        json_body(app.get(&path).await, 200).await["status"],
        "in-progress"
    );
}

async fn every_status_can_be_set_on_create_and_on_update(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    for status in ["paused", "completed", "abandoned", "in-progress"] {
        let created = json_body(
            app.post(
                "/users/1/goals",
                Some(&ada),
                &json!({"title": "t", "status": status}),
            )
            .await,
            201,
        )
        .await;
        assert_eq!(created["status"], status);
        let updated = json_body(
            app.put(&path, Some(&ada), &json!({ "status": status }))
                .await,
            200,
        )
        .await;
        assert_eq!(updated["status"], status);
    }
}

async fn computed_fields_are_refused_on_create_as_computed_by_the_service(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    for (field, value) in [
        ("streak_count", json!(5)),
        ("id", json!(77)),
        ("completed_at", json!("2026-01-01T00:00:00Z")),
    ] {
        let refused = problem(
            app.post(
                "/users/1/goals",
                Some(&ada),
                &json!({"title": "Learn Rust", field: value}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), [field]);
        assert!(
            message(&refused, field).contains("computed by the service"),
            "{refused}"
        );
    }
    assert_eq!(
        json_body(app.get("/users/1/goals").await, 200).await,
        json!([]),
        "a refused create writes nothing"
    );
}

async fn computed_fields_are_refused_on_update_as_computed_by_the_service(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    for (field, value) in [
        ("streak_count", json!(5)),
        ("id", json!(77)),
        ("completed_at", json!("2026-01-01T00:00:00Z")),
    ] {
        let refused = problem(
            app.put(
                &path,
                Some(&ada),
                &json!({"title": "Changed", field: value}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), [field]);
        assert!(
            message(&refused, field).contains("computed by the service"),
            "{refused}"
        );
    }
    assert_eq!(
        json_body(app.get(&path).await, 200).await,
        goal,
        "a refused update writes nothing"
    );
}

async fn a_member_that_is_not_a_goal_field_is_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    let on_create = problem(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "t", "priority": 1}),
        )
        .await,
        422,
    )
    .await;
    let on_update = problem(
        app.put(&path, Some(&ada), &json!({"priority": 1})).await,
        422,
    )
    .await;

    for refused in [on_create, on_update] {
        assert_eq!(error_fields(&refused), ["priority"]);
        assert!(
            message(&refused, "priority").contains("not a field"),
            "{refused}"
        );
    }
}

async fn a_null_title_or_status_in_an_update_is_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    for field in ["title", "status"] {
        let refused = problem(
            app.put(&path, Some(&ada), &json!({ field: null })).await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), [field]);
    }
    let refused = problem(
        app.put(&path, Some(&ada), &json!({"title": "  "})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["title"]);
    assert_eq!(json_body(app.get(&path).await, 200).await, goal);
}

async fn a_null_description_in_an_update_clears_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = json_body(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "Learn Rust", "description": "Daily"}),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/users/1/goals/{}", id(&goal));

    let updated = json_body(
        app.put(&path, Some(&ada), &json!({"description": null}))
            .await,
        200,
    )
    .await;

    assert_eq!(updated["description"], Value::Null);
    assert_eq!(updated["title"], "Learn Rust");
    assert_eq!(
        json_body(app.get(&path).await, 200).await["description"],
        Value::Null
    );
}

// ---- completed_at ----

async fn a_goal_created_as_completed_is_completed_when_created(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    let goal = json_body(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "Done already", "status": "completed"}),
        )
        .await,
        201,
    )
    .await;

    assert_eq!(goal["status"], "completed");
    assert_eq!(goal["completed_at"], "2026-03-10T12:00:00Z");
    assert_eq!(goal["completed_at"], goal["created_at"]);
}

async fn becoming_completed_sets_completed_at_and_leaving_it_clears_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));
    app.clock.advance(TimeDelta::hours(1));

    let completed = json_body(
        app.put(&path, Some(&ada), &json!({"status": "completed"}))
            .await,
        200,
    )
    .await;
    assert_eq!(completed["completed_at"], "2026-03-10T13:00:00Z");
    assert_eq!(
        json_body(app.get(&path).await, 200).await["completed_at"],
        "2026-03-10T13:00:00Z"
    );
    app.clock.advance(TimeDelta::hours(1));

    let reopened = json_body(
        app.put(&path, Some(&ada), &json!({"status": "in-progress"}))
            .await,
        200,
    )
    .await;
    assert_eq!(reopened["completed_at"], Value::Null);
    assert_eq!(reopened["updated_at"], "2026-03-10T14:00:00Z");
    assert_eq!(
        json_body(app.get(&path).await, 200).await["completed_at"],
        Value::Null
    );
}

async fn completing_a_completed_goal_again_keeps_the_first_completed_at(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));
    app.clock.advance(TimeDelta::hours(1));
    json_body(
        app.put(&path, Some(&ada), &json!({"status": "completed"}))
            .await,
        200,
    )
    .await;
    app.clock.advance(TimeDelta::hours(1));

    let again = json_body(
        app.put(
            &path,
            Some(&ada),
            &json!({"status": "completed", "title": "Learned Rust"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(again["completed_at"], "2026-03-10T13:00:00Z");
    assert_eq!(again["updated_at"], "2026-03-10T14:00:00Z");
    app.clock.advance(TimeDelta::hours(1));

    let status_only = json_body(
        app.put(&path, Some(&ada), &json!({"status": "completed"}))
            .await,
        200,
    )
    .await;
    assert_eq!(status_only["completed_at"], "2026-03-10T13:00:00Z");
    assert_eq!(
        json_body(app.get(&path).await, 200).await["completed_at"],
        "2026-03-10T13:00:00Z"
    );
}

async fn editing_a_completed_goal_without_a_status_keeps_completed_at(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = json_body(
        app.post(
            "/users/1/goals",
            Some(&ada),
            &json!({"title": "Done", "status": "completed"}),
        )
        .await,
        201,
    )
    .await;
    let path = format!("/users/1/goals/{}", id(&goal));
    app.clock.advance(TimeDelta::hours(1));

    let edited = json_body(
        app.put(&path, Some(&ada), &json!({"description": "Notes"}))
            .await,
        200,
    )
    .await;

    assert_eq!(edited["status"], "completed");
    assert_eq!(edited["completed_at"], "2026-03-10T12:00:00Z");
    assert_eq!(edited["updated_at"], "2026-03-10T13:00:00Z");
}

// ---- ownership and authentication ----

async fn a_user_cannot_create_change_or_delete_another_users_goals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let bobs = app.create_goal(2, &bob, "Bob's goal").await;
    let path = format!("/users/2/goals/{}", id(&bobs));

    problem(
        app.post("/users/2/goals", Some(&ada), &json!({"title": "Planted"}))
            .await,
        403,
    )
    .await;
    problem(
        app.put(
            &path,
            Some(&ada),
            &json!({"title": "Hijacked", "status": "abandoned"}),
        )
        .await,
        403,
    )
    .await;
    problem(app.delete(&path, Some(&ada)).await, 403).await;

    assert_eq!(json_body(app.get(&path).await, 200).await, bobs);
    assert_eq!(
        json_body(app.get("/users/2/goals").await, 200).await,
        json!([bobs])
    );
    assert_eq!(
        json_body(app.get("/users/1/goals").await, 200).await,
        json!([])
    );
}

async fn another_users_goal_request_is_refused_before_its_body_is_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let bobs = app.create_goal(2, &bob, "Bob's goal").await;
    let invalid = json!({"title": "", "streak_count": 9});

    problem(app.post("/users/2/goals", Some(&ada), &invalid).await, 403).await;
    problem(
        app.put(
            &format!("/users/2/goals/{}", id(&bobs)),
            Some(&ada),
            &invalid,
        )
        .await,
        403,
    )
    .await;
}

async fn goal_writes_without_a_token_are_401_with_a_bearer_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Learn Rust").await;
    let path = format!("/users/1/goals/{}", id(&goal));

    for response in [
        app.post("/users/1/goals", None, &json!({"title": "Anonymous"}))
            .await,
        app.put(&path, None, &json!({"title": "Anonymous"})).await,
        app.delete(&path, None).await,
    ] {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        problem(response, 401).await;
    }

    assert_eq!(
        json_body(app.get("/users/1/goals").await, 200).await,
        json!([goal])
    );
}

async fn another_users_goal_under_ones_own_path_is_the_same_404_as_no_goal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let bobs = app.create_goal(2, &bob, "Bob's goal").await;
    let theirs = format!("/users/1/goals/{}", id(&bobs));
    let missing = format!("/users/1/goals/{}", id(&bobs) + 1000);
    let change = json!({"title": "Hijacked"});

    let pairs = [
        (app.get(&theirs).await, app.get(&missing).await),
        (
            app.put(&theirs, Some(&ada), &change).await,
            app.put(&missing, Some(&ada), &change).await,
        ),
        (
            app.delete(&theirs, Some(&ada)).await,
            app.delete(&missing, Some(&ada)).await,
        ),
    ];
    for (theirs, missing) in pairs {
        let theirs = problem(theirs, 404).await;
        let missing = problem(missing, 404).await;
        assert_eq!(theirs, missing);
    }

    assert_eq!(
        json_body(app.get(&format!("/users/2/goals/{}", id(&bobs))).await, 200).await,
        bobs
    );
}

async fn creating_a_goal_for_a_token_whose_user_has_no_row_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    problem(
        app.post(
            "/users/42/goals",
            Some(&token(42)),
            &json!({"title": "Orphan"}),
        )
        .await,
        404,
    )
    .await;
}

// ---- unknown users and path ids ----

async fn an_unknown_users_goals_badges_and_stats_are_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    for path in [
        "/users/999/goals",
        "/users/999/goals?limit=2",
        "/users/999/badges",
        "/users/999/stats",
    ] {
        problem(app.get(path).await, 404).await;
    }
}

async fn a_goal_id_that_is_not_a_positive_integer_is_a_400_naming_goal_id(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    for goal_id in ["0", "-1", "abc", "1.5", "99999999999999999999"] {
        let path = format!("/users/1/goals/{goal_id}");
        let body = problem(app.get(&path).await, 400).await;
        assert_eq!(error_fields(&body), ["goal_id"], "GET {path}");
        let body = problem(
            app.put(&path, Some(&ada), &json!({"title": "x"})).await,
            400,
        )
        .await;
        assert_eq!(error_fields(&body), ["goal_id"], "PUT {path}");
        let body = problem(app.delete(&path, Some(&ada)).await, 400).await;
        assert_eq!(error_fields(&body), ["goal_id"], "DELETE {path}");
    }
}

// ---- badges ----

async fn a_new_user_has_no_badges(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    assert_eq!(
        json_body(app.get("/users/1/badges").await, 200).await,
        json!([])
    );
}

async fn a_users_badges_are_listed_newest_first_with_their_catalog_details(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    // Older first, so neither insertion order nor code order gives newest first.
    app.db
        .execute(
            "INSERT INTO user_badges (user_id, badge_code, awarded_at) VALUES \
             (1, 'first-goal', '2026-03-01T10:00:00+00:00'), \
             (1, 'streak-3', '2026-03-05T09:30:00+00:00'), \
             (2, 'streak-7', '2026-03-06T08:00:00+00:00')",
        )
        .await;

    let badges = json_body(app.get("/users/1/badges").await, 200).await;

    assert_eq!(
        badges,
        json!([
            {
                "code": "streak-3",
                "name": "Warming up",
                "description": "Kept a goal going three days in a row.",
                "icon_url": "/users/badges/streak-3.svg",
                "date_achieved": "2026-03-05T09:30:00Z",
            },
            {
                "code": "first-goal",
                "name": "First step",
                "description": "Set a first learning goal.",
                "icon_url": "/users/badges/first-goal.svg",
                "date_achieved": "2026-03-01T10:00:00Z",
            },
        ])
    );
}

// ---- stats ----

async fn stats_count_the_users_goals_by_every_status_and_their_badges(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    for status in [
        "in-progress",
        "in-progress",
        "paused",
        "completed",
        "completed",
        "completed",
    ] {
        json_body(
            app.post(
                "/users/1/goals",
                Some(&ada),
                &json!({"title": "t", "status": status}),
            )
            .await,
            201,
        )
        .await;
    }
    app.create_goal(2, &bob, "Bob's").await;
    // Creating goals earned first-goal and first-completion; one more is given by hand.
    app.db
        .execute(
            "INSERT INTO user_badges (user_id, badge_code, awarded_at) VALUES \
             (1, 'streak-100', '2026-03-02T10:00:00+00:00'), \
             (2, 'streak-30', '2026-03-03T10:00:00+00:00')",
        )
        .await;

    let stats = json_body(app.get("/users/1/stats").await, 200).await;

    assert_eq!(stats["goals_total"], 6);
    assert_eq!(
        stats["goals_by_status"],
        json!({"in-progress": 2, "paused": 1, "completed": 3, "abandoned": 0})
    );
    assert_eq!(stats["badges_count"], 3);
}

async fn a_new_users_stats_are_all_zero(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    let stats = json_body(app.get("/users/1/stats").await, 200).await;

    assert_eq!(
        stats,
        json!({
            "goals_total": 0,
            "goals_by_status": {"in-progress": 0, "paused": 0, "completed": 0, "abandoned": 0},
            "checkins_total": 0,
            "active_days_30": 0,
            "best_current_streak": 0,
            "longest_streak": 0,
            "badges_count": 0,
            "last_active_at": null,
        })
    );
}

async fn stats_follow_goal_updates_and_deletions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let kept = app.create_goal(1, &ada, "Kept").await;
    let dropped = app.create_goal(1, &ada, "Dropped").await;
    json_body(
        app.put(
            &format!("/users/1/goals/{}", id(&kept)),
            Some(&ada),
            &json!({"status": "abandoned"}),
        )
        .await,
        200,
    )
    .await;
    let response = app
        .delete(&format!("/users/1/goals/{}", id(&dropped)), Some(&ada))
        .await;
    assert_eq!(response.status(), 204);

    let stats = json_body(app.get("/users/1/stats").await, 200).await;

    assert_eq!(stats["goals_total"], 1);
    assert_eq!(
        stats["goals_by_status"],
        json!({"in-progress": 0, "paused": 0, "completed": 0, "abandoned": 1})
    );
}

crate::backend_tests!(
    creating_a_goal_answers_201_with_its_location_and_defaults,
    a_goal_created_without_a_description_has_a_null_one,
    anyone_reads_one_goal_without_a_token,
    the_goal_list_shows_the_users_own_goals_newest_first,
    a_user_without_goals_has_an_empty_list,
    an_owner_updates_every_goal_field,
    a_goal_field_left_out_of_an_update_is_kept,
    a_goal_update_that_changes_nothing_keeps_updated_at,
    a_deleted_goal_answers_204_and_is_gone,
    the_goal_list_pages_with_a_next_link_until_the_last_page,
    a_page_that_ends_exactly_at_the_last_goal_has_no_next_link,
    a_page_holds_50_goals_by_default_and_at_most_100,
    a_status_filter_lists_only_that_status_and_its_next_link_keeps_it,
    an_invalid_list_parameter_is_a_400_naming_it,
    a_list_limit_of_1_or_100_is_accepted,
    a_title_holds_at_200_characters_and_fails_at_201,
    a_blank_missing_or_null_title_is_refused_by_name,
    a_description_holds_at_2000_characters_and_fails_at_2001,
    an_unknown_status_is_refused_with_the_four_statuses_listed,
    every_status_can_be_set_on_create_and_on_update,
    computed_fields_are_refused_on_create_as_computed_by_the_service,
    computed_fields_are_refused_on_update_as_computed_by_the_service,
    a_member_that_is_not_a_goal_field_is_refused_by_name,
    a_null_title_or_status_in_an_update_is_refused_by_name,
    a_null_description_in_an_update_clears_it,
    a_goal_created_as_completed_is_completed_when_created,
    becoming_completed_sets_completed_at_and_leaving_it_clears_it,
    completing_a_completed_goal_again_keeps_the_first_completed_at,
    editing_a_completed_goal_without_a_status_keeps_completed_at,
    a_user_cannot_create_change_or_delete_another_users_goals,
    another_users_goal_request_is_refused_before_its_body_is_read,
    goal_writes_without_a_token_are_401_with_a_bearer_challenge,
    another_users_goal_under_ones_own_path_is_the_same_404_as_no_goal,
    creating_a_goal_for_a_token_whose_user_has_no_row_is_404,
    an_unknown_users_goals_badges_and_stats_are_404,
    a_goal_id_that_is_not_a_positive_integer_is_a_400_naming_goal_id,
    a_new_user_has_no_badges,
    a_users_badges_are_listed_newest_first_with_their_catalog_details,
    stats_count_the_users_goals_by_every_status_and_their_badges,
    a_new_users_stats_are_all_zero,
    stats_follow_goal_updates_and_deletions,
);
