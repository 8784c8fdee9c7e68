//! Weekly goals ("three times a week") through HTTP: their validation, their streaks in the
//! owner's weeks, a change of cadence or target counting the same check-ins again, their
//! badges, and the stats and the card that count daily streaks only. The rules themselves are
//! the pure function's, property-tested in `src/domain/weekly_streak.rs`; these are the wiring.

use chrono::{TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp,
    events::{Bus, Subscriber},
    json_body, problem,
};

/// 2026-03-10, where test clocks start, is a Tuesday.
async fn weekly_goal(app: &TestApp, token: &str, days_per_week: i64) -> Value {
    json_body(
        app.post(
            "/users/1/goals",
            Some(token),
            &json!({"title": "Run", "cadence": "weekly", "days_per_week": days_per_week}),
        )
        .await,
        201,
    )
    .await
}

async fn check_in(app: &TestApp, token: &str, goal: &Value, date: Option<&str>) -> Value {
    let body = date.map_or_else(|| json!({}), |date| json!({ "date": date }));
    json_body(
        app.post(
            &format!("/users/1/goals/{}/checkins", goal["id"]),
            Some(token),
            &body,
        )
        .await,
        201,
    )
    .await
}

async fn read(app: &TestApp, goal: &Value) -> Value {
    json_body(
        app.get(&format!("/users/1/goals/{}", goal["id"])).await,
        200,
    )
    .await
}

fn figures(goal: &Value) -> (Value, Value, Value) {
    (
        goal["streak_count"].clone(),
        goal["longest_streak"].clone(),
        goal["streak_unit"].clone(),
    )
}

async fn a_weekly_goal_says_its_cadence_target_and_unit_and_a_daily_one_its_own(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let weekly = weekly_goal(&app, &ada, 3).await;
    assert_eq!(weekly["cadence"], "weekly");
    assert_eq!(weekly["days_per_week"], 3);
    assert_eq!(weekly["streak_unit"], "week");
    let daily = app.create_goal(1, &ada, "Read").await;
    assert_eq!(
        (
            daily["cadence"].clone(),
            daily["days_per_week"].clone(),
            daily["streak_unit"].clone()
        ),
        (json!("daily"), Value::Null, json!("day"))
    );
    assert_eq!(read(&app, &weekly).await["days_per_week"], 3);
}

async fn a_bad_cadence_or_target_is_a_422_naming_the_field_and_writes_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    for (body, field) in [
        (
            json!({"title": "Run", "cadence": "weekly"}),
            "days_per_week",
        ),
        (
            json!({"title": "Run", "cadence": "weekly", "days_per_week": 0}),
            "days_per_week",
        ),
        (
            json!({"title": "Run", "cadence": "weekly", "days_per_week": 8}),
            "days_per_week",
        ),
        (json!({"title": "Run", "days_per_week": 3}), "days_per_week"),
        (json!({"title": "Run", "cadence": "monthly"}), "cadence"),
    ] {
        let response = app.post("/users/1/goals", Some(&ada), &body).await;
        let problem = problem(response, 422).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
    }
    let goals = json_body(app.get("/users/1/goals").await, 200).await;
    assert_eq!(goals, json!([]));

    let daily = app.create_goal(1, &ada, "Read").await;
    let path = format!("/users/1/goals/{}", daily["id"]);
    let response = app
        .put(&path, Some(&ada), &json!({"cadence": "weekly"}))
        .await;
    assert_eq!(
        problem(response, 422).await["errors"][0]["field"],
        "days_per_week"
    );
    assert_eq!(read(&app, &daily).await["cadence"], "daily");
}

async fn a_weeks_target_met_counts_at_once_and_a_week_that_can_no_longer_be_met_ends_the_streak(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = weekly_goal(&app, &ada, 2).await;
    let first = check_in(&app, &ada, &goal, None).await;
    assert_eq!(first["streak"]["streak_count"], 0, "one day of two");
    assert_eq!(first["streak"]["streak_unit"], "week");
    // Monday, the day before: the week of 9 March has its two days.
    let second = check_in(&app, &ada, &goal, Some("2026-03-09")).await;
    assert_eq!(second["streak"]["streak_count"], 1);

    // Tuesday of the next week, nothing yet: two days are still possible.
    app.clock.advance(TimeDelta::days(7));
    assert_eq!(
        figures(&read(&app, &goal).await),
        (json!(1), json!(1), json!("week"))
    );
    // Sunday: one day left, two needed.
    app.clock.advance(TimeDelta::days(5));
    assert_eq!(
        figures(&read(&app, &goal).await),
        (json!(0), json!(1), json!("week"))
    );
}

/// The report: in `Etc/GMT+12`, on a Sunday, a twice-a-week goal with nothing yet that week.
/// Checked in, Sunday is no longer left: the week is lost, the streak stays 0, and nothing
/// announces it extended.
async fn a_check_in_on_the_last_day_of_a_week_that_cannot_meet_its_target_extends_nothing(
    backend: Backend,
) {
    let Some(mut subscriber) = Subscriber::start(Bus::Nats).await else {
        return;
    };
    // 08:00 on Monday 9 March in Etc/GMT+12 (UTC−12).
    let monday = Utc.with_ymd_and_hms(2026, 3, 9, 20, 0, 0).unwrap();
    let app = TestApp::builder(backend)
        .at(monday)
        .config(|c| subscriber.configure(&mut c.events))
        .spawn()
        .await;
    let ada = app.user(1).await;
    let zone = app
        .put("/users/1", Some(&ada), &json!({"timezone": "Etc/GMT+12"}))
        .await;
    assert_eq!(zone.status(), 200);
    let goal = weekly_goal(&app, &ada, 2).await;
    check_in(&app, &ada, &goal, None).await;
    app.clock.advance(TimeDelta::days(1));
    assert_eq!(
        check_in(&app, &ada, &goal, None).await["streak"]["streak_count"],
        1
    );

    // 18:00 on Sunday 22 March there, already Monday in UTC; nothing this week yet.
    app.clock
        .set(Utc.with_ymd_and_hms(2026, 3, 23, 6, 0, 0).unwrap());
    assert_eq!(read(&app, &goal).await["streak_count"], 0);
    let sunday = check_in(&app, &ada, &goal, None).await;
    assert_eq!(sunday["date"], "2026-03-22");
    assert_eq!(
        (
            sunday["streak"]["streak_count"].clone(),
            sunday["streak"]["longest_streak"].clone()
        ),
        (json!(0), json!(1))
    );
    assert_eq!(read(&app, &goal).await["streak_count"], 0);

    // The zone, the goal and its badge, two check-ins and the week met; then Sunday's
    // check-in, and nothing after it.
    let events = subscriber.take(7).await;
    let kinds: Vec<_> = events.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds[3..],
        [
            "checkin.added.v1",
            "checkin.added.v1",
            "streak.extended.v1",
            "checkin.added.v1"
        ]
    );
    assert_eq!(events[6].data()["date"], "2026-03-22");
    subscriber
        .assert_no_more(std::time::Duration::from_millis(700))
        .await;
}

async fn changing_the_cadence_or_the_target_counts_the_same_check_ins_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Read").await;
    check_in(&app, &ada, &goal, Some("2026-03-09")).await;
    check_in(&app, &ada, &goal, None).await;
    assert_eq!(
        figures(&read(&app, &goal).await),
        (json!(2), json!(2), json!("day"))
    );
    let path = format!("/users/1/goals/{}", goal["id"]);

    let put = |body: Value| {
        let (app, ada, path) = (&app, &ada, &path);
        async move { json_body(app.put(path, Some(ada), &body).await, 200).await }
    };
    let weekly = put(json!({"cadence": "weekly", "days_per_week": 2})).await;
    assert_eq!(figures(&weekly), (json!(1), json!(1), json!("week")));
    assert_eq!(
        read(&app, &goal).await,
        weekly,
        "the answer is the stored goal"
    );
    let harder = put(json!({"days_per_week": 3})).await;
    assert_eq!(figures(&harder), (json!(0), json!(0), json!("week")));
    let daily = put(json!({"cadence": "daily"})).await;
    assert_eq!(daily["days_per_week"], Value::Null);
    assert_eq!(figures(&daily), (json!(2), json!(2), json!("day")));
    let checkins = json_body(app.get(&format!("{path}/checkins")).await, 200).await;
    assert_eq!(
        checkins.as_array().unwrap().len(),
        2,
        "past check-ins are kept"
    );
}

async fn a_new_week_start_counts_weekly_goals_again_in_the_new_weeks(backend: Backend) {
    // Sunday 8 and Monday 9 March: two weeks from Monday, one week from Sunday.
    let sunday = Utc.with_ymd_and_hms(2026, 3, 8, 12, 0, 0).unwrap();
    let app = TestApp::builder(backend).at(sunday).spawn().await;
    let ada = app.user(1).await;
    let goal = weekly_goal(&app, &ada, 2).await;
    check_in(&app, &ada, &goal, None).await;
    app.clock.advance(TimeDelta::days(1));
    check_in(&app, &ada, &goal, None).await;
    assert_eq!(read(&app, &goal).await["streak_count"], 0);

    let week_start = |day: &'static str| {
        let (app, ada) = (&app, &ada);
        async move {
            let response = app
                .put("/users/1", Some(ada), &json!({ "week_start": day }))
                .await;
            assert_eq!(response.status(), 200);
        }
    };
    week_start("sunday").await;
    assert_eq!(
        figures(&read(&app, &goal).await),
        (json!(1), json!(1), json!("week"))
    );
    week_start("monday").await;
    assert_eq!(
        figures(&read(&app, &goal).await),
        (json!(0), json!(0), json!("week"))
    );
}

async fn four_weeks_met_in_a_row_earn_the_weekly_streak_badge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = weekly_goal(&app, &ada, 1).await;
    for week in 0..4 {
        if week > 0 {
            app.clock.advance(TimeDelta::days(7));
        }
        let held = json_body(app.get("/users/1/badges").await, 200).await;
        let codes: Vec<&str> = held
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["code"].as_str().unwrap())
            .collect();
        assert!(!codes.contains(&"weekly-streak-4"), "after {week} weeks");
        check_in(&app, &ada, &goal, None).await;
    }
    let held = json_body(app.get("/users/1/badges").await, 200).await;
    assert!(
        held.as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "weekly-streak-4"),
        "{held}"
    );
    // Daily streak badges are for days: four days in four weeks earn none.
    assert!(
        !held
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "streak-3")
    );
}

/// Ada, with a once-a-week goal met three weeks running, up to this week.
async fn ada_three_weeks_in(app: &TestApp) -> String {
    let ada = app.user(1).await;
    let goal = weekly_goal(app, &ada, 1).await;
    for week in 0..3 {
        if week > 0 {
            app.clock.advance(TimeDelta::days(7));
        }
        check_in(app, &ada, &goal, None).await;
    }
    assert_eq!(read(app, &goal).await["streak_count"], 3);
    ada
}

async fn the_stats_streaks_count_daily_goals_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada_three_weeks_in(&app).await;
    let stats = json_body(app.get("/users/1/stats").await, 200).await;
    assert_eq!(stats["best_current_streak"], 0);
    assert_eq!(stats["longest_streak"], 0);
    assert_eq!(stats["checkins_total"], 3);

    let daily = app.create_goal(1, &ada, "Read").await;
    check_in(&app, &ada, &daily, None).await;
    let stats = json_body(app.get("/users/1/stats").await, 200).await;
    assert_eq!(stats["best_current_streak"], 1);
    assert_eq!(stats["longest_streak"], 1);
}

/// The card's streaks are in days, like the stats': a weekly goal's weeks are not drawn.
async fn the_cards_streaks_count_daily_goals_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada_three_weeks_in(&app).await;
    let streaks = |svg: String| {
        let document = roxmltree::Document::parse(&svg).unwrap();
        document
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| {
                n.text()
                    .filter(|t| t.ends_with(" days") || t.ends_with(" day"))
            })
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let card = app.get("/users/1/card.svg").await.text().await.unwrap();
    assert_eq!(streaks(card), ["0 days", "0 days"]);

    let daily = app.create_goal(1, &ada, "Read").await;
    check_in(&app, &ada, &daily, None).await;
    let card = app.get("/users/1/card.svg").await.text().await.unwrap();
    assert_eq!(streaks(card), ["1 day", "1 day"]);
}

crate::backend_tests!(
    a_weekly_goal_says_its_cadence_target_and_unit_and_a_daily_one_its_own,
    a_bad_cadence_or_target_is_a_422_naming_the_field_and_writes_nothing,
    a_weeks_target_met_counts_at_once_and_a_week_that_can_no_longer_be_met_ends_the_streak,
    a_check_in_on_the_last_day_of_a_week_that_cannot_meet_its_target_extends_nothing,
    changing_the_cadence_or_the_target_counts_the_same_check_ins_again,
    a_new_week_start_counts_weekly_goals_again_in_the_new_weeks,
    four_weeks_met_in_a_row_earn_the_weekly_streak_badge,
    the_stats_streaks_count_daily_goals_only,
    the_cards_streaks_count_daily_goals_only,
);
