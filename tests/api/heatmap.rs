//! The heatmap: every day of a range with its check-ins, minutes and level, the range
//! defaulting to the 53 weeks ending today in the user's zone, aligned to their week
//! start; private with the goals section; tagged and revalidated.

use chrono::{NaiveDate, TimeDelta};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_fields, json_body, problem, token};

/// Checks `user` in on `goal` on `date` (today or yesterday by the app's clock).
async fn check_in(app: &TestApp, user: i64, goal: &Value, date: &str, minutes: u32) {
    json_body(
        app.post(
            &format!("/users/{user}/goals/{}/checkins", goal["id"]),
            Some(&token(user)),
            &json!({ "date": date, "minutes": minutes }),
        )
        .await,
        201,
    )
    .await;
}

fn day_of<'a>(heatmap: &'a Value, date: &str) -> &'a Value {
    heatmap["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date} is not in the heatmap"))
}

async fn the_heatmap_has_every_day_of_the_53_weeks_ending_today_from_the_users_week_start(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    // 2026-03-10 is a Tuesday: the first week starts on Monday 2025-03-10.
    let heatmap = json_body(app.get("/users/1/heatmap").await, 200).await;
    assert_eq!(heatmap["from"], "2025-03-10");
    assert_eq!(heatmap["to"], "2026-03-10");
    let days = heatmap["days"].as_array().unwrap();
    assert_eq!(days.len(), 366);
    assert_eq!(days[0]["date"], "2025-03-10");
    assert_eq!(days[365]["date"], "2026-03-10");
    assert!(days.iter().all(|d| d["checkins"] == 0 && d["level"] == 0));
    assert_eq!(heatmap["total_checkins"], 0);

    let profile = json!({"week_start": "sunday"});
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;
    let heatmap = json_body(app.get("/users/1/heatmap").await, 200).await;
    assert_eq!(heatmap["from"], "2025-03-09");
    assert_eq!(heatmap["days"].as_array().unwrap().len(), 367);
}

async fn today_is_the_users_day_in_their_time_zone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    // 12:00 UTC on the 10th is 01:00 on the 11th in Auckland, a Wednesday.
    let profile = json!({"timezone": "Pacific/Auckland"});
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;
    let goal = app.create_goal(1, &ada, "Te reo").await;
    check_in(&app, 1, &goal, "2026-03-11", 20).await;

    let heatmap = json_body(app.get("/users/1/heatmap").await, 200).await;
    assert_eq!(heatmap["to"], "2026-03-11");
    assert_eq!(heatmap["from"], "2025-03-10");
    assert_eq!(day_of(&heatmap, "2026-03-11")["checkins"], 1);
}

async fn each_day_counts_its_check_ins_and_minutes_and_the_busiest_quarter_is_level_4(
    backend: Backend,
) {
    let noon = |day: u32| {
        NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
    };
    let app = TestApp::builder(backend).at(noon(6)).spawn().await;
    let ada = app.user(1).await;
    let rust = app.create_goal(1, &ada, "Rust").await;
    let sql = app.create_goal(1, &ada, "SQL").await;
    // Four days: one with both goals, three with one.
    for day in 6..=9 {
        app.clock.set(noon(day));
        check_in(&app, 1, &rust, &format!("2026-03-0{day}"), 10).await;
    }
    check_in(&app, 1, &sql, "2026-03-08", 25).await;
    app.clock.advance(TimeDelta::days(1));

    let heatmap = json_body(app.get("/users/1/heatmap").await, 200).await;
    assert_eq!(heatmap["total_checkins"], 5);
    assert_eq!(heatmap["total_minutes"], 65);
    let busiest = day_of(&heatmap, "2026-03-08");
    assert_eq!(
        (&busiest["checkins"], &busiest["minutes"]),
        (&json!(2), &json!(35))
    );
    assert_eq!(busiest["level"], 4);
    for quiet in ["2026-03-06", "2026-03-07", "2026-03-09"] {
        assert_eq!(day_of(&heatmap, quiet)["level"], 1, "{quiet}");
    }
    assert_eq!(day_of(&heatmap, "2026-03-10")["level"], 0);

    let one_goal = json_body(
        app.get(&format!("/users/1/heatmap?goal_id={}", sql["id"]))
            .await,
        200,
    )
    .await;
    assert_eq!(one_goal["total_checkins"], 1);
    assert_eq!(one_goal["total_minutes"], 25);
    assert_eq!(day_of(&one_goal, "2026-03-08")["checkins"], 1);
}

async fn a_chosen_range_is_answered_day_by_day_up_to_371_days(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    let week = json_body(
        app.get("/users/1/heatmap?from=2026-01-01&to=2026-01-07")
            .await,
        200,
    )
    .await;
    assert_eq!(week["days"].as_array().unwrap().len(), 7);
    let longest = json_body(
        app.get("/users/1/heatmap?from=2025-01-01&to=2026-01-06")
            .await,
        200,
    )
    .await;
    assert_eq!(longest["days"].as_array().unwrap().len(), 371);
}

async fn a_bad_range_or_parameter_is_a_problem_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    let bob = app.user(2).await;
    let bobs_goal = app.create_goal(2, &bob, "Bob's").await;
    for (query, field) in [
        ("from=2025-01-01&to=2026-01-07", "from"),
        ("from=2026-01-08&to=2026-01-07", "from"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("goal_id=first", "goal_id"),
        ("goal_id=0", "goal_id"),
    ] {
        let answer = problem(app.get(&format!("/users/1/heatmap?{query}")).await, 400).await;
        assert_eq!(error_fields(&answer), [field], "{query}");
    }
    let others_goal = format!("/users/1/heatmap?goal_id={}", bobs_goal["id"]);
    problem(app.get(&others_goal).await, 404).await;
    problem(app.get("/users/99/heatmap").await, 404).await;
}

async fn private_goals_hide_the_heatmap_from_everyone_but_the_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let goal = app.create_goal(1, &ada, "Secret").await;
    check_in(&app, 1, &goal, "2026-03-10", 5).await;
    let private = json!({"visibility": {"goals": "private"}});
    json_body(app.put("/users/1", Some(&ada), &private).await, 200).await;

    problem(app.get("/users/1/heatmap").await, 404).await;
    problem(app.get_as("/users/1/heatmap", &bob).await, 404).await;
    let own = json_body(app.get_as("/users/1/heatmap", &ada).await, 200).await;
    assert_eq!(own["total_checkins"], 1);
}

async fn the_heatmap_answers_304_to_its_entity_tag_until_a_check_in_changes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Rust").await;
    let first = app.get("/users/1/heatmap").await;
    let etag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/users/1/heatmap"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    check_in(&app, 1, &goal, "2026-03-10", 5).await;
    let changed = app
        .client
        .get(app.url("/users/1/heatmap"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
}

crate::backend_tests!(
    the_heatmap_has_every_day_of_the_53_weeks_ending_today_from_the_users_week_start,
    today_is_the_users_day_in_their_time_zone,
    each_day_counts_its_check_ins_and_minutes_and_the_busiest_quarter_is_level_4,
    a_chosen_range_is_answered_day_by_day_up_to_371_days,
    a_bad_range_or_parameter_is_a_problem_naming_it,
    private_goals_hide_the_heatmap_from_everyone_but_the_owner,
    the_heatmap_answers_304_to_its_entity_tag_until_a_check_in_changes_it,
);
