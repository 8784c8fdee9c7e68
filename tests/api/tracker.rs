//! The learning tracker through HTTP: check-ins, the streaks they make (read at any later
//! time), freezes, the user's own calendar across time zones and daylight saving, the figures
//! in goals and stats, and concurrent check-ins.

use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::{America::Los_Angeles, Pacific::Auckland, Tz};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use user_service::clock::Clock as _;

use crate::helpers::{Backend, TestApp, error_fields, json_body, next_link, problem, token};

// ---- helpers ----

fn utc(instant: &str) -> DateTime<Utc> {
    instant.parse().expect("an RFC 3339 instant")
}

fn naive(date: &str, time: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M")
        .expect("a local date and time")
}

/// The instant a wall clock in `zone` shows `time` on `date` (a time that occurs once).
fn local(zone: Tz, date: &str, time: &str) -> DateTime<Utc> {
    zone.from_local_datetime(&naive(date, time))
        .single()
        .unwrap_or_else(|| panic!("{date} {time} occurs exactly once in {zone}"))
        .to_utc()
}

/// The two instants a wall clock in `zone` shows `time` on `date`, when it is set back.
fn local_twice(zone: Tz, date: &str, time: &str) -> (DateTime<Utc>, DateTime<Utc>) {
    match zone.from_local_datetime(&naive(date, time)) {
        chrono::LocalResult::Ambiguous(first, second) => (first.to_utc(), second.to_utc()),
        other => panic!("{date} {time} should occur twice in {zone}: {other:?}"),
    }
}

/// The dates of a list of check-ins, in order.
fn dates(checkins: &Value) -> Vec<&str> {
    checkins
        .as_array()
        .expect("an array of check-ins")
        .iter()
        .map(|c| c["date"].as_str().expect("a check-in date"))
        .collect()
}

/// The streak figures a goal shows, shaped like a check-in's `streak` without `frozen_dates`.
fn goal_figures(goal: &Value) -> Value {
    json!({
        "streak_count": goal["streak_count"],
        "longest_streak": goal["longest_streak"],
        "freezes_available": goal["freezes_available"],
        "last_checkin_date": goal["last_checkin_date"],
    })
}

/// The same figures from a check-in response.
fn checkin_figures(checkin: &Value) -> Value {
    let streak = &checkin["streak"];
    json!({
        "streak_count": streak["streak_count"],
        "longest_streak": streak["longest_streak"],
        "freezes_available": streak["freezes_available"],
        "last_checkin_date": streak["last_checkin_date"],
    })
}

/// A user with one in-progress goal.
struct Learner {
    user: i64,
    token: String,
    goal: i64,
}

impl Learner {
    async fn new(app: &TestApp, user: i64) -> Self {
        let token = app.user(user).await;
        let goal = app.create_goal(user, &token, "Learn Rust").await;
        Self {
            user,
            token,
            goal: goal["id"].as_i64().expect("a goal id"),
        }
    }

    /// A learner whose profile is in `zone`.
    async fn in_zone(app: &TestApp, user: i64, zone: &str) -> Self {
        let learner = Self::new(app, user).await;
        learner.move_to(app, zone).await;
        learner
    }

    async fn move_to(&self, app: &TestApp, zone: &str) {
        let profile = json_body(
            app.put(
                &format!("/users/{}", self.user),
                Some(&self.token),
                &json!({ "timezone": zone }),
            )
            .await,
            200,
        )
        .await;
        assert_eq!(profile["timezone"], zone);
    }

    fn goal_path(&self) -> String {
        format!("/users/{}/goals/{}", self.user, self.goal)
    }

    fn checkins(&self) -> String {
        format!("{}/checkins", self.goal_path())
    }

    async fn check_in(&self, app: &TestApp, body: Value) -> Response {
        app.post(&self.checkins(), Some(&self.token), &body).await
    }

    /// Checks in for today, asserting a new check-in, and returns the response.
    async fn check_in_today(&self, app: &TestApp) -> Value {
        json_body(self.check_in(app, json!({})).await, 201).await
    }

    /// Checks in today on another of the learner's goals, asserting a new check-in.
    async fn check_in_today_on(&self, app: &TestApp, goal: &Value) -> Value {
        let path = format!("/users/{}/goals/{}/checkins", self.user, goal["id"]);
        json_body(app.post(&path, Some(&self.token), &json!({})).await, 201).await
    }

    /// Checks in on `days` consecutive days, today first, moving the clock a day between
    /// them; returns the last response.
    async fn check_in_daily(&self, app: &TestApp, days: u32) -> Value {
        let mut last = self.check_in_today(app).await;
        for _ in 1..days {
            app.clock.advance(TimeDelta::days(1));
            last = self.check_in_today(app).await;
        }
        last
    }

    async fn uncheck(&self, app: &TestApp, date: &str) -> Response {
        app.delete(&format!("{}/{date}", self.checkins()), Some(&self.token))
            .await
    }

    /// Every check-in on the goal, newest first, read without a token.
    async fn list(&self, app: &TestApp) -> Value {
        json_body(
            app.get(&format!("{}?limit=100", self.checkins())).await,
            200,
        )
        .await
    }

    async fn goal(&self, app: &TestApp) -> Value {
        json_body(app.get(&self.goal_path()).await, 200).await
    }

    async fn stats(&self, app: &TestApp) -> Value {
        json_body(app.get(&format!("/users/{}/stats", self.user)).await, 200).await
    }

    /// The types of the user's activity events, newest first.
    async fn activity(&self, app: &TestApp) -> Vec<String> {
        let events = json_body(
            app.get(&format!("/users/{}/activity?limit=100", self.user))
                .await,
            200,
        )
        .await;
        events
            .as_array()
            .expect("an array of events")
            .iter()
            .map(|e| e["type"].as_str().expect("an event type").to_owned())
            .collect()
    }
}

fn count(events: &[String], kind: &str) -> usize {
    events.iter().filter(|e| *e == kind).count()
}

// ---- checking in ----

async fn a_check_in_with_no_fields_is_for_today_and_starts_a_streak_of_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    let bob = Learner::new(&app, 2).await;

    let checkin = ada.check_in_today(&app).await;

    assert_eq!(
        checkin,
        json!({
            "goal_id": ada.goal,
            "date": "2026-03-10",
            "minutes": null,
            "note": null,
            "created_at": "2026-03-10T12:00:00Z",
            "streak": {
                "streak_count": 1,
                "longest_streak": 1,
                "freezes_available": 0,
                "frozen_dates": [],
                "streak_unit": "day",
                "last_checkin_date": "2026-03-10",
            },
        })
    );
    let explicit_nulls = json_body(
        app.post(
            &format!("/users/2/goals/{}/checkins", bob.goal),
            Some(&bob.token),
            &json!({"date": null, "minutes": null, "note": null}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(explicit_nulls["goal_id"], bob.goal);
    assert_eq!(explicit_nulls["date"], "2026-03-10");
    assert_eq!(explicit_nulls["minutes"], Value::Null);
    assert_eq!(explicit_nulls["note"], Value::Null);
    let listed = ada.list(&app).await;
    assert_eq!(
        listed,
        json!([{
            "goal_id": ada.goal,
            "date": "2026-03-10",
            "minutes": null,
            "note": null,
            "created_at": "2026-03-10T12:00:00Z",
        }])
    );
}

async fn a_check_in_keeps_its_minutes_and_note(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;

    let checkin = json_body(
        ada.check_in(
            &app,
            json!({"minutes": 45, "note": "  Chapter 4: ownership.\nHard.  "}),
        )
        .await,
        201,
    )
    .await;

    assert_eq!(checkin["minutes"], 45);
    assert_eq!(checkin["note"], "Chapter 4: ownership.\nHard.");
    assert_eq!(checkin["streak"]["streak_count"], 1);
    let listed = ada.list(&app).await;
    assert_eq!(listed[0]["minutes"], 45);
    assert_eq!(listed[0]["note"], "Chapter 4: ownership.\nHard.");
}

async fn checking_in_again_on_the_same_day_answers_200_with_the_stored_check_in_unchanged(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    let first = json_body(
        ada.check_in(&app, json!({"minutes": 30, "note": "First"}))
            .await,
        201,
    )
    .await;
    app.clock.advance(TimeDelta::hours(3));

    let again = json_body(
        ada.check_in(&app, json!({"minutes": 90, "note": "Second"}))
            .await,
        200,
    )
    .await;
    let explicit = json_body(ada.check_in(&app, json!({"date": "2026-03-10"})).await, 200).await;

    assert_eq!(again, first);
    assert_eq!(explicit, first);
    assert_eq!(again["created_at"], "2026-03-10T12:00:00Z");
    assert_eq!(again["minutes"], 30);
    assert_eq!(again["note"], "First");
    assert_eq!(again["streak"]["streak_count"], 1);
    assert_eq!(dates(&ada.list(&app).await), ["2026-03-10"]);
    assert_eq!(count(&ada.activity(&app).await, "checkin_added"), 1);
}

async fn minutes_hold_from_1_to_1440_and_0_or_1441_are_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    let bob = Learner::new(&app, 2).await;

    for minutes in [json!(0), json!(1441), json!(-5), json!("ten")] {
        let refused = problem(ada.check_in(&app, json!({ "minutes": minutes })).await, 422).await;
        assert_eq!(error_fields(&refused), ["minutes"], "{minutes}: {refused}");
    }
    assert_eq!(ada.list(&app).await, json!([]));

    let one = json_body(ada.check_in(&app, json!({"minutes": 1})).await, 201).await;
    let day = json_body(bob.check_in(&app, json!({"minutes": 1440})).await, 201).await;
    assert_eq!(one["minutes"], 1);
    assert_eq!(day["minutes"], 1440);
}

async fn a_note_holds_at_500_characters_and_fails_at_501(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;

    let refused = problem(
        ada.check_in(&app, json!({"note": "é".repeat(501)})).await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["note"]);
    assert_eq!(ada.list(&app).await, json!([]));

    let kept = json_body(
        ada.check_in(&app, json!({"note": "é".repeat(500)})).await,
        201,
    )
    .await;
    assert_eq!(kept["note"], "é".repeat(500));
}

async fn a_check_in_date_that_is_not_a_date_is_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;

    for date in [
        json!("tomorrow"),
        json!("2026-02-30"),
        json!("10/03/2026"),
        json!(20260310),
    ] {
        let refused = problem(ada.check_in(&app, json!({ "date": date })).await, 422).await;
        assert_eq!(error_fields(&refused), ["date"], "{date}: {refused}");
    }
    assert_eq!(ada.list(&app).await, json!([]));
}

async fn a_date_after_today_or_before_yesterday_in_the_users_zone_is_refused_by_name(
    backend: Backend,
) {
    // 2026-03-10T12:00Z is 01:00 on the 11th in Auckland: its today is UTC's tomorrow.
    let app = TestApp::spawn(backend).await;
    let kiri = Learner::in_zone(&app, 1, "Pacific/Auckland").await;

    for date in ["2026-03-12", "2026-03-09", "2026-01-01", "2027-03-11"] {
        let refused = problem(kiri.check_in(&app, json!({ "date": date })).await, 422).await;
        assert_eq!(error_fields(&refused), ["date"], "{date}: {refused}");
    }
    assert_eq!(kiri.list(&app).await, json!([]));
    assert_eq!(kiri.goal(&app).await["streak_count"], 0);

    let today = json_body(
        kiri.check_in(&app, json!({"date": "2026-03-11"})).await,
        201,
    )
    .await;
    let yesterday = json_body(
        kiri.check_in(&app, json!({"date": "2026-03-10"})).await,
        201,
    )
    .await;
    assert_eq!(today["date"], "2026-03-11");
    assert_eq!(yesterday["date"], "2026-03-10");
}

async fn yesterday_logged_late_is_accepted_and_counts_in_the_streak(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-08T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_today(&app).await;
    // The 9th passes without a check-in; on the 10th the streak is over...
    app.clock.advance(TimeDelta::days(2));
    assert_eq!(ada.goal(&app).await["streak_count"], 0);

    // ...until the 9th is logged late.
    let late = json_body(ada.check_in(&app, json!({"date": "2026-03-09"})).await, 201).await;

    assert_eq!(late["date"], "2026-03-09");
    assert_eq!(late["created_at"], "2026-03-10T12:00:00Z");
    assert_eq!(late["streak"]["streak_count"], 2);
    assert_eq!(late["streak"]["last_checkin_date"], "2026-03-09");
    let today = ada.check_in_today(&app).await;
    assert_eq!(today["streak"]["streak_count"], 3);
    assert_eq!(
        dates(&ada.list(&app).await),
        ["2026-03-10", "2026-03-09", "2026-03-08"]
    );
}

async fn yesterday_logged_after_today_is_counted_in_calendar_order(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-07T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 2).await;
    // The 9th is skipped; on the 10th today is logged first: the streak starts again...
    app.clock.set(utc("2026-03-10T12:00:00Z"));
    let today = ada.check_in_today(&app).await;
    assert_eq!(today["streak"]["streak_count"], 1);
    assert_eq!(today["streak"]["longest_streak"], 2);

    // ...and the 9th logged after it joins the 7th to the 10th in one run.
    let late = json_body(ada.check_in(&app, json!({"date": "2026-03-09"})).await, 201).await;

    assert_eq!(late["streak"]["streak_count"], 4);
    assert_eq!(late["streak"]["longest_streak"], 4);
    assert_eq!(late["streak"]["last_checkin_date"], "2026-03-10");
    assert_eq!(ada.goal(&app).await["streak_count"], 4);
}

async fn a_member_that_is_not_a_check_in_field_is_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;

    let unknown = problem(ada.check_in(&app, json!({"mood": "good"})).await, 422).await;
    let computed = problem(
        ada.check_in(&app, json!({"streak": {"streak_count": 100}, "goal_id": 9}))
            .await,
        422,
    )
    .await;

    assert_eq!(error_fields(&unknown), ["mood"]);
    let mut fields = error_fields(&computed);
    fields.sort();
    assert_eq!(fields, ["goal_id", "streak"]);
    assert_eq!(ada.list(&app).await, json!([]));
    assert_eq!(ada.goal(&app).await["streak_count"], 0);
}

async fn a_goal_that_is_not_in_progress_refuses_check_ins_with_409(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;

    for status in ["paused", "completed", "abandoned"] {
        json_body(
            app.put(
                &ada.goal_path(),
                Some(&ada.token),
                &json!({ "status": status }),
            )
            .await,
            200,
        )
        .await;

        problem(ada.check_in(&app, json!({})).await, 409).await;

        assert_eq!(ada.list(&app).await, json!([]), "{status}");
    }
    let goal = ada.goal(&app).await;
    assert_eq!(goal["streak_count"], 0);
    assert_eq!(goal["last_checkin_date"], Value::Null);
    assert_eq!(count(&ada.activity(&app).await, "checkin_added"), 0);
}

async fn checking_in_on_another_users_goal_or_an_unknown_goal_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    let bob = Learner::new(&app, 2).await;

    let bobs_goal_under_ada = app
        .post(
            &format!("/users/1/goals/{}/checkins", bob.goal),
            Some(&ada.token),
            &json!({}),
        )
        .await;
    let unknown = app
        .post(
            "/users/1/goals/999999/checkins",
            Some(&ada.token),
            &json!({}),
        )
        .await;

    problem(bobs_goal_under_ada, 404).await;
    problem(unknown, 404).await;
    assert_eq!(bob.list(&app).await, json!([]));
    assert_eq!(bob.goal(&app).await["streak_count"], 0);
    assert_eq!(ada.list(&app).await, json!([]));
}

async fn checking_in_under_another_users_path_is_403_and_without_a_token_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    let bob = Learner::new(&app, 2).await;

    let as_ada = app
        .post(&bob.checkins(), Some(&ada.token), &json!({}))
        .await;
    let anonymous = app.post(&bob.checkins(), None, &json!({})).await;
    let forged = app
        .post(&bob.checkins(), Some("not-a-token"), &json!({}))
        .await;

    problem(as_ada, 403).await;
    problem(anonymous, 401).await;
    problem(forged, 401).await;
    assert_eq!(bob.list(&app).await, json!([]));
    assert_eq!(bob.goal(&app).await["streak_count"], 0);
    assert_eq!(count(&bob.activity(&app).await, "checkin_added"), 0);
}

// ---- removing a check-in ----

async fn deleting_a_check_in_answers_204_and_recomputes_the_streak(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-08T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    let third = ada.check_in_daily(&app, 3).await;
    assert_eq!(checkin_figures(&third)["streak_count"], 3);

    let response = ada.uncheck(&app, "2026-03-09").await;

    assert_eq!(response.status(), 204);
    assert_eq!(dates(&ada.list(&app).await), ["2026-03-10", "2026-03-08"]);
    // The history is now two runs of one day: the run of three no longer happened.
    assert_eq!(
        goal_figures(&ada.goal(&app).await),
        json!({
            "streak_count": 1,
            "longest_streak": 1,
            "freezes_available": 0,
            "last_checkin_date": "2026-03-10",
        })
    );
    assert_eq!(count(&ada.activity(&app).await, "checkin_removed"), 1);

    // Removing today's leaves the 8th, two days back: no streak.
    assert_eq!(ada.uncheck(&app, "2026-03-10").await.status(), 204);
    assert_eq!(
        goal_figures(&ada.goal(&app).await),
        json!({
            "streak_count": 0,
            "longest_streak": 1,
            "freezes_available": 0,
            "last_checkin_date": "2026-03-08",
        })
    );
}

async fn deleting_the_last_check_in_leaves_no_streak_and_no_last_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_today(&app).await;

    assert_eq!(ada.uncheck(&app, "2026-03-10").await.status(), 204);

    assert_eq!(ada.list(&app).await, json!([]));
    assert_eq!(
        goal_figures(&ada.goal(&app).await),
        json!({
            "streak_count": 0,
            "longest_streak": 0,
            "freezes_available": 0,
            "last_checkin_date": null,
        })
    );
    // The day is free again.
    let again = ada.check_in_today(&app).await;
    assert_eq!(again["streak"]["streak_count"], 1);
}

async fn deleting_a_day_without_a_check_in_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_today(&app).await;

    problem(ada.uncheck(&app, "2026-03-09").await, 404).await;
    let unknown_goal = app
        .delete(
            "/users/1/goals/999999/checkins/2026-03-10",
            Some(&ada.token),
        )
        .await;
    problem(unknown_goal, 404).await;

    assert_eq!(dates(&ada.list(&app).await), ["2026-03-10"]);
    assert_eq!(ada.goal(&app).await["streak_count"], 1);
    assert_eq!(count(&ada.activity(&app).await, "checkin_removed"), 0);
}

async fn a_delete_path_date_that_is_not_a_date_is_a_400_naming_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_today(&app).await;

    for date in ["today", "2026-03-32", "20260310"] {
        let refused = problem(ada.uncheck(&app, date).await, 400).await;
        assert_eq!(error_fields(&refused), ["date"], "{date}: {refused}");
    }
    assert_eq!(dates(&ada.list(&app).await), ["2026-03-10"]);
}

async fn deleting_under_another_users_path_is_403_and_without_a_token_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    let bob = Learner::new(&app, 2).await;
    bob.check_in_today(&app).await;
    let day = format!("{}/2026-03-10", bob.checkins());

    problem(app.delete(&day, Some(&ada.token)).await, 403).await;
    problem(app.delete(&day, None).await, 401).await;
    let bobs_goal_under_ada = format!("/users/1/goals/{}/checkins/2026-03-10", bob.goal);
    problem(
        app.delete(&bobs_goal_under_ada, Some(&ada.token)).await,
        404,
    )
    .await;

    assert_eq!(dates(&bob.list(&app).await), ["2026-03-10"]);
    assert_eq!(bob.goal(&app).await["streak_count"], 1);
}

// ---- listing check-ins ----

async fn check_ins_are_listed_newest_first_to_anyone(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-06T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 5).await;

    let anonymous = app.get(&ada.checkins()).await;
    assert!(next_link(&anonymous).is_none(), "one page only");
    let listed = json_body(anonymous, 200).await;
    let as_someone_else = json_body(app.get_as(&ada.checkins(), &token(2)).await, 200).await;

    assert_eq!(
        dates(&listed),
        [
            "2026-03-10",
            "2026-03-09",
            "2026-03-08",
            "2026-03-07",
            "2026-03-06"
        ]
    );
    assert_eq!(as_someone_else, listed);
}

async fn the_check_in_list_filters_by_from_and_to(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-06T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 5).await;
    async fn filtered(app: &TestApp, checkins: &str, query: &str) -> Value {
        json_body(app.get(&format!("{checkins}?{query}")).await, 200).await
    }
    let checkins = ada.checkins();
    let list = |query: &'static str| filtered(&app, &checkins, query);

    assert_eq!(
        dates(&list("from=2026-03-07&to=2026-03-09").await),
        ["2026-03-09", "2026-03-08", "2026-03-07"]
    );
    assert_eq!(
        dates(&list("from=2026-03-09").await),
        ["2026-03-10", "2026-03-09"]
    );
    assert_eq!(
        dates(&list("to=2026-03-07").await),
        ["2026-03-07", "2026-03-06"]
    );
    assert_eq!(
        dates(&list("from=2026-03-08&to=2026-03-08").await),
        ["2026-03-08"]
    );
    assert_eq!(list("from=2026-04-01").await, json!([]));
}

async fn the_check_in_list_pages_with_a_next_link_until_the_last_page(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-06T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 5).await;

    let mut pages = Vec::new();
    let mut next = Some(format!("{}?limit=2", ada.checkins()));
    while let Some(url) = next {
        assert!(pages.len() < 5, "the pages never end");
        let response = app.get(&url).await;
        next = next_link(&response);
        let page = json_body(response, 200).await;
        pages.push(
            dates(&page)
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>(),
        );
    }

    assert_eq!(
        pages,
        [
            vec!["2026-03-10", "2026-03-09"],
            vec!["2026-03-08", "2026-03-07"],
            vec!["2026-03-06"],
        ]
    );

    // A filtered list keeps its filter on the next page.
    let first = app
        .get(&format!(
            "{}?limit=2&from=2026-03-07&to=2026-03-09",
            ada.checkins()
        ))
        .await;
    let link = next_link(&first).expect("a next page");
    assert!(
        link.contains("from=2026-03-07") && link.contains("to=2026-03-09"),
        "{link}"
    );
    assert_eq!(
        dates(&json_body(first, 200).await),
        ["2026-03-09", "2026-03-08"]
    );
    let second = app.get(&link).await;
    assert!(
        next_link(&second).is_none(),
        "the last page has no next link"
    );
    assert_eq!(dates(&json_body(second, 200).await), ["2026-03-07"]);

    // A page that ends exactly at the last check-in has no next link.
    let exact = app.get(&format!("{}?limit=5", ada.checkins())).await;
    assert!(next_link(&exact).is_none());
    assert_eq!(dates(&json_body(exact, 200).await).len(), 5);
}

async fn an_invalid_check_in_list_parameter_is_a_400_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_today(&app).await;

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=many", "limit"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("cursor=abc", "cursor"),
    ] {
        let refused = problem(app.get(&format!("{}?{query}", ada.checkins())).await, 400).await;
        assert_eq!(error_fields(&refused), [field], "{query}: {refused}");
    }
    // A range that ends before it starts is well-formed, and empty.
    let empty = app
        .get(&format!("{}?from=2026-03-10&to=2026-03-09", ada.checkins()))
        .await;
    assert_eq!(json_body(empty, 200).await, json!([]));
}

async fn private_goals_hide_their_check_ins_from_everyone_but_the_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_today(&app).await;
    json_body(
        app.put(
            "/users/1",
            Some(&ada.token),
            &json!({"visibility": {"goals": "private"}}),
        )
        .await,
        200,
    )
    .await;

    problem(app.get(&ada.checkins()).await, 404).await;
    problem(app.get_as(&ada.checkins(), &token(2)).await, 404).await;
    let own = json_body(app.get_as(&ada.checkins(), &ada.token).await, 200).await;

    assert_eq!(dates(&own), ["2026-03-10"]);
}

// ---- streak rules, read at any time ----

async fn consecutive_days_of_check_ins_make_a_streak_of_that_many_days(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;

    let mut counts = Vec::new();
    for day in 0..5 {
        if day > 0 {
            app.clock.advance(TimeDelta::days(1));
        }
        counts.push(ada.check_in_today(&app).await["streak"]["streak_count"].clone());
    }

    assert_eq!(counts, [1, 2, 3, 4, 5]);
    assert_eq!(
        goal_figures(&ada.goal(&app).await),
        json!({
            "streak_count": 5,
            "longest_streak": 5,
            "freezes_available": 0,
            "last_checkin_date": "2026-03-05",
        })
    );
}

async fn today_without_a_check_in_yet_keeps_the_streak(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 3).await;

    // The next day, up to its last minute, without a check-in.
    app.clock.set(utc("2026-03-04T23:59:00Z"));
    let goal = ada.goal(&app).await;

    assert_eq!(goal["streak_count"], 3);
    assert_eq!(goal["last_checkin_date"], "2026-03-03");
    let next = ada.check_in_today(&app).await;
    assert_eq!(next["date"], "2026-03-04");
    assert_eq!(next["streak"]["streak_count"], 4);
}

async fn a_missed_day_without_a_freeze_resets_the_streak_at_read_time(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 3).await;
    let events_before = ada.activity(&app).await;

    // The 4th passes without a check-in: on the 5th, nothing was written, yet it is over.
    app.clock.set(utc("2026-03-05T00:00:00Z"));
    let goal = ada.goal(&app).await;
    let listed = json_body(app.get("/users/1/goals").await, 200).await;
    let stats = ada.stats(&app).await;

    assert_eq!(
        goal_figures(&goal),
        json!({
            "streak_count": 0,
            "longest_streak": 3,
            "freezes_available": 0,
            "last_checkin_date": "2026-03-03",
        })
    );
    assert_eq!(goal_figures(&listed[0]), goal_figures(&goal));
    assert_eq!(stats["best_current_streak"], 0);
    assert_eq!(stats["longest_streak"], 3);
    assert_eq!(
        ada.activity(&app).await,
        events_before,
        "reading wrote nothing"
    );

    // A check-in starts again from one.
    let again = ada.check_in_today(&app).await;
    assert_eq!(again["streak"]["streak_count"], 1);
    assert_eq!(again["streak"]["longest_streak"], 3);
}

async fn seven_consecutive_days_earn_a_freeze_that_covers_a_later_missed_day(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;

    let sixth = ada.check_in_daily(&app, 6).await;
    assert_eq!(sixth["streak"]["freezes_available"], 0);
    app.clock.advance(TimeDelta::days(1));
    let seventh = ada.check_in_today(&app).await;
    assert_eq!(
        seventh["streak"],
        json!({
            "streak_count": 7,
            "longest_streak": 7,
            "freezes_available": 1,
            "frozen_dates": [],
            "streak_unit": "day",
            "last_checkin_date": "2026-03-07",
        })
    );
    assert_eq!(ada.goal(&app).await["freezes_available"], 1);

    // The 8th is missed; the check-in on the 9th finds it frozen.
    app.clock.advance(TimeDelta::days(2));
    let ninth = ada.check_in_today(&app).await;

    assert_eq!(ninth["date"], "2026-03-09");
    assert_eq!(
        ninth["streak"],
        json!({
            "streak_count": 8,
            "longest_streak": 8,
            "freezes_available": 0,
            "frozen_dates": ["2026-03-08"],
            "streak_unit": "day",
            "last_checkin_date": "2026-03-09",
        })
    );
    assert_eq!(goal_figures(&ada.goal(&app).await), checkin_figures(&ninth));
}

async fn a_freeze_is_spent_at_read_time_and_a_second_missed_day_ends_the_streak(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 7).await;

    // The 8th: today is not over, so the freeze is still held.
    app.clock.set(utc("2026-03-08T23:00:00Z"));
    let eighth = ada.goal(&app).await;
    // The 9th: the 8th was missed and the freeze covered it.
    app.clock.set(utc("2026-03-09T01:00:00Z"));
    let ninth = ada.goal(&app).await;
    // The 10th: the 9th was missed too, with no freeze left.
    app.clock.set(utc("2026-03-10T01:00:00Z"));
    let tenth = ada.goal(&app).await;

    assert_eq!(
        (
            eighth["streak_count"].clone(),
            eighth["freezes_available"].clone()
        ),
        (json!(7), json!(1))
    );
    assert_eq!(
        (
            ninth["streak_count"].clone(),
            ninth["freezes_available"].clone()
        ),
        (json!(7), json!(0))
    );
    assert_eq!(
        goal_figures(&tenth),
        json!({
            "streak_count": 0,
            "longest_streak": 7,
            "freezes_available": 0,
            "last_checkin_date": "2026-03-07",
        })
    );
}

async fn logging_a_frozen_day_late_gives_the_freeze_back(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 7).await;
    app.clock.advance(TimeDelta::days(2));
    let frozen = ada.goal(&app).await;
    assert_eq!(
        (
            frozen["streak_count"].clone(),
            frozen["freezes_available"].clone()
        ),
        (json!(7), json!(0))
    );

    let late = json_body(ada.check_in(&app, json!({"date": "2026-03-08"})).await, 201).await;

    assert_eq!(
        late["streak"],
        json!({
            "streak_count": 8,
            "longest_streak": 8,
            "freezes_available": 1,
            "frozen_dates": [],
            "streak_unit": "day",
            "last_checkin_date": "2026-03-08",
        })
    );
    assert_eq!(ada.goal(&app).await["freezes_available"], 1);
}

async fn at_most_two_freezes_are_held_after_four_weeks_straight(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-02-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;

    let last = ada.check_in_daily(&app, 28).await;

    assert_eq!(last["date"], "2026-02-28");
    assert_eq!(last["streak"]["streak_count"], 28);
    assert_eq!(
        last["streak"]["freezes_available"], 2,
        "four weeks earn 2, not 4"
    );
    // Two missed days (1 and 2 March) are frozen; on the 3rd the streak lives.
    app.clock.set(utc("2026-03-03T12:00:00Z"));
    let goal = ada.goal(&app).await;
    assert_eq!(
        (
            goal["streak_count"].clone(),
            goal["freezes_available"].clone()
        ),
        (json!(28), json!(0))
    );
    // A third missed day has no freeze left.
    app.clock.set(utc("2026-03-04T12:00:00Z"));
    let goal = ada.goal(&app).await;
    assert_eq!(goal["streak_count"], 0);
    assert_eq!(goal["longest_streak"], 28);
}

async fn the_frozen_days_are_named_when_the_streak_goes_on_after_two_of_them(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-02-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 14).await;

    app.clock.set(utc("2026-02-17T12:00:00Z"));
    let after_two_missed = ada.check_in_today(&app).await;

    assert_eq!(
        after_two_missed["streak"],
        json!({
            "streak_count": 15,
            "longest_streak": 15,
            "freezes_available": 0,
            "frozen_dates": ["2026-02-15", "2026-02-16"],
            "streak_unit": "day",
            "last_checkin_date": "2026-02-17",
        })
    );
}

async fn the_longest_streak_keeps_the_best_run_after_a_reset(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 4).await;

    // The 5th and 6th are missed; a new run of two starts on the 7th.
    app.clock.set(utc("2026-03-07T12:00:00Z"));
    let newer = ada.check_in_daily(&app, 2).await;

    assert_eq!(newer["streak"]["streak_count"], 2);
    assert_eq!(newer["streak"]["longest_streak"], 4);
    assert_eq!(ada.goal(&app).await["longest_streak"], 4);
    // Three more days make the new run of five the best one.
    app.clock.advance(TimeDelta::days(1));
    let best = ada.check_in_daily(&app, 3).await;
    assert_eq!(best["streak"]["streak_count"], 5);
    assert_eq!(best["streak"]["longest_streak"], 5);
}

// ---- time zones ----

async fn the_same_instant_is_the_11th_in_auckland_and_the_10th_in_los_angeles(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-10T11:30:00Z"))
        .spawn()
        .await;
    let kiri = Learner::in_zone(&app, 1, "Pacific/Auckland").await;
    let lee = Learner::in_zone(&app, 2, "America/Los_Angeles").await;

    let kiris = kiri.check_in_today(&app).await;
    let lees = lee.check_in_today(&app).await;

    assert_eq!(kiris["date"], "2026-03-11");
    assert_eq!(lees["date"], "2026-03-10");
    assert_eq!(kiris["created_at"], lees["created_at"]);
    assert_eq!(kiri.goal(&app).await["last_checkin_date"], "2026-03-11");
    assert_eq!(lee.goal(&app).await["last_checkin_date"], "2026-03-10");
}

/// A learner's midnight, with another learner far away for whom the same instants fall
/// on one day.
struct Midnight {
    zone: &'static str,
    tz: Tz,
    /// 23:59 on the 10th in `zone`, in UTC.
    instant: &'static str,
    other: &'static str,
    /// The other learner's day at both instants.
    other_day: &'static str,
}

const MIDNIGHTS: [Midnight; 2] = [
    Midnight {
        zone: "Pacific/Auckland",
        tz: Auckland,
        instant: "2026-03-10T10:59:00Z",
        // Los Angeles is still in the early hours of the 10th.
        other: "America/Los_Angeles",
        other_day: "2026-03-10",
    },
    Midnight {
        zone: "America/Los_Angeles",
        tz: Los_Angeles,
        instant: "2026-03-11T06:59:00Z",
        // Auckland is in the evening of the 11th.
        other: "Pacific/Auckland",
        other_day: "2026-03-11",
    },
];

async fn a_check_in_either_side_of_midnight_lands_on_its_local_day(backend: Backend) {
    for midnight in MIDNIGHTS {
        let app = TestApp::builder(backend)
            .at(local(midnight.tz, "2026-03-10", "23:59"))
            .spawn()
            .await;
        assert_eq!(app.clock.now(), utc(midnight.instant), "{}", midnight.zone);
        let own = Learner::in_zone(&app, 1, midnight.zone).await;
        let other = Learner::in_zone(&app, 2, midnight.other).await;

        let before = own.check_in_today(&app).await;
        let other_before = other.check_in_today(&app).await;
        app.clock.set(local(midnight.tz, "2026-03-11", "00:01"));
        let after = own.check_in_today(&app).await;
        let other_after = json_body(other.check_in(&app, json!({})).await, 200).await;

        assert_eq!(before["date"], "2026-03-10", "{}", midnight.zone);
        assert_eq!(after["date"], "2026-03-11", "{}", midnight.zone);
        assert_eq!(after["streak"]["streak_count"], 2, "{}", midnight.zone);
        assert_eq!(
            other_before["date"], midnight.other_day,
            "{}",
            midnight.zone
        );
        assert_eq!(other_after["date"], midnight.other_day, "{}", midnight.zone);
        assert_eq!(dates(&own.list(&app).await), ["2026-03-11", "2026-03-10"]);
        assert_eq!(dates(&other.list(&app).await), [midnight.other_day]);
    }
}

async fn the_short_daylight_saving_day_in_los_angeles_is_one_day_of_a_streak(backend: Backend) {
    // On 8 March 2026 Los Angeles skips from 02:00 to 03:00: a day of 23 hours.
    let app = TestApp::builder(backend)
        .at(local(Los_Angeles, "2026-03-07", "23:30"))
        .spawn()
        .await;
    let lee = Learner::in_zone(&app, 1, "America/Los_Angeles").await;

    let saturday = lee.check_in_today(&app).await;
    app.clock.set(local(Los_Angeles, "2026-03-08", "01:30"));
    let before_the_jump = lee.check_in_today(&app).await;
    app.clock.set(local(Los_Angeles, "2026-03-08", "03:30"));
    let after_the_jump = json_body(lee.check_in(&app, json!({})).await, 200).await;
    app.clock.set(local(Los_Angeles, "2026-03-09", "00:30"));
    let monday = lee.check_in_today(&app).await;

    assert_eq!(saturday["date"], "2026-03-07");
    assert_eq!(before_the_jump["date"], "2026-03-08");
    assert_eq!(after_the_jump["date"], "2026-03-08");
    assert_eq!(monday["date"], "2026-03-09");
    assert_eq!(monday["streak"]["streak_count"], 3);
    assert_eq!(
        dates(&lee.list(&app).await),
        ["2026-03-09", "2026-03-08", "2026-03-07"]
    );
    // Late on the 10th, the streak is still alive and still 3.
    app.clock.set(local(Los_Angeles, "2026-03-10", "23:30"));
    assert_eq!(lee.goal(&app).await["streak_count"], 3);
}

async fn the_long_daylight_saving_day_in_auckland_is_one_day_of_a_streak(backend: Backend) {
    // On 5 April 2026 Auckland goes back from 03:00 to 02:00: a day of 25 hours.
    let app = TestApp::builder(backend)
        .at(local(Auckland, "2026-04-04", "23:30"))
        .spawn()
        .await;
    let kiri = Learner::in_zone(&app, 1, "Pacific/Auckland").await;
    let (first_half_past_two, second_half_past_two) = local_twice(Auckland, "2026-04-05", "02:30");

    let saturday = kiri.check_in_today(&app).await;
    app.clock.set(first_half_past_two);
    let sunday = kiri.check_in_today(&app).await;
    app.clock.set(second_half_past_two);
    let sunday_again = json_body(kiri.check_in(&app, json!({})).await, 200).await;
    app.clock.set(local(Auckland, "2026-04-05", "23:30"));
    let sunday_late = json_body(kiri.check_in(&app, json!({})).await, 200).await;
    app.clock.set(local(Auckland, "2026-04-06", "00:30"));
    let monday = kiri.check_in_today(&app).await;

    assert_eq!(saturday["date"], "2026-04-04");
    assert_eq!(sunday["date"], "2026-04-05");
    assert_eq!(sunday_again["date"], "2026-04-05");
    assert_eq!(sunday_late["date"], "2026-04-05");
    assert_eq!(monday["date"], "2026-04-06");
    assert_eq!(monday["streak"]["streak_count"], 3);
    assert_eq!(
        dates(&kiri.list(&app).await),
        ["2026-04-06", "2026-04-05", "2026-04-04"]
    );
}

async fn a_missed_day_is_judged_by_the_owners_calendar_not_utc(backend: Backend) {
    // 11:30 UTC is half past midnight the next day in Auckland.
    let app = TestApp::builder(backend)
        .at(utc("2026-03-08T11:30:00Z"))
        .spawn()
        .await;
    let kiri = Learner::in_zone(&app, 1, "Pacific/Auckland").await;
    kiri.check_in_daily(&app, 2).await;
    assert_eq!(kiri.goal(&app).await["last_checkin_date"], "2026-03-10");

    // 23:30 on the 11th in Auckland: the 11th is not over, the streak lives.
    app.clock.set(local(Auckland, "2026-03-11", "23:30"));
    let late_on_the_11th = kiri.goal(&app).await;
    // 00:30 on the 12th in Auckland (still the 11th in UTC): the 11th was missed.
    app.clock.set(local(Auckland, "2026-03-12", "00:30"));
    assert_eq!(app.clock.now(), utc("2026-03-11T11:30:00Z"));
    let early_on_the_12th = kiri.goal(&app).await;
    let stats = kiri.stats(&app).await;

    assert_eq!(late_on_the_11th["streak_count"], 2);
    assert_eq!(early_on_the_12th["streak_count"], 0);
    assert_eq!(stats["best_current_streak"], 0);
}

async fn moving_west_keeps_past_check_in_dates_and_the_streak(backend: Backend) {
    // 11:30 UTC is half past midnight the next day in Auckland.
    let app = TestApp::builder(backend)
        .at(utc("2026-03-08T11:30:00Z"))
        .spawn()
        .await;
    let kiri = Learner::in_zone(&app, 1, "Pacific/Auckland").await;
    kiri.check_in_daily(&app, 3).await;
    assert_eq!(
        dates(&kiri.list(&app).await),
        ["2026-03-11", "2026-03-10", "2026-03-09"]
    );

    // Kiri flies to Los Angeles, where it is still the 10th.
    kiri.move_to(&app, "America/Los_Angeles").await;

    assert_eq!(
        dates(&kiri.list(&app).await),
        ["2026-03-11", "2026-03-10", "2026-03-09"]
    );
    let goal = kiri.goal(&app).await;
    assert_eq!(goal["streak_count"], 3);
    assert_eq!(goal["last_checkin_date"], "2026-03-11");
    let today = json_body(kiri.check_in(&app, json!({})).await, 200).await;
    assert_eq!(
        today["date"], "2026-03-10",
        "already checked in on the 10th"
    );
    assert_eq!(today["streak"]["streak_count"], 3);
    // Two days on, in Los Angeles: the 12th follows the 11th.
    app.clock.set(utc("2026-03-12T19:00:00Z"));
    let next = kiri.check_in_today(&app).await;
    assert_eq!(next["date"], "2026-03-12");
    assert_eq!(next["streak"]["streak_count"], 4);
}

async fn moving_east_keeps_past_check_in_dates_and_the_streak(backend: Backend) {
    // 20:00 UTC is 13:00 in Los Angeles and 09:00 the next day in Auckland.
    let app = TestApp::builder(backend)
        .at(utc("2026-03-10T20:00:00Z"))
        .spawn()
        .await;
    let lee = Learner::in_zone(&app, 1, "America/Los_Angeles").await;
    json_body(lee.check_in(&app, json!({"date": "2026-03-09"})).await, 201).await;
    lee.check_in_today(&app).await;

    lee.move_to(&app, "Pacific/Auckland").await;

    assert_eq!(dates(&lee.list(&app).await), ["2026-03-10", "2026-03-09"]);
    let goal = lee.goal(&app).await;
    assert_eq!(goal["streak_count"], 2, "the 10th is yesterday in Auckland");
    let next = lee.check_in_today(&app).await;
    assert_eq!(next["date"], "2026-03-11");
    assert_eq!(next["streak"]["streak_count"], 3);
    assert_eq!(
        dates(&lee.list(&app).await),
        ["2026-03-11", "2026-03-10", "2026-03-09"]
    );
}

// ---- the figures elsewhere ----

async fn the_goal_and_the_goal_list_show_the_check_in_responses_streak_figures(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    let other = app.create_goal(1, &ada.token, "Learn SQL").await;

    let last = ada.check_in_daily(&app, 8).await;

    let figures = checkin_figures(&last);
    assert_eq!(
        figures,
        json!({
            "streak_count": 8,
            "longest_streak": 8,
            "freezes_available": 1,
            "last_checkin_date": "2026-03-08",
        })
    );
    assert_eq!(goal_figures(&ada.goal(&app).await), figures);
    let listed = json_body(app.get("/users/1/goals").await, 200).await;
    let mine = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == ada.goal)
        .expect("the goal in the list");
    assert_eq!(goal_figures(mine), figures);
    let renamed = json_body(
        app.put(
            &ada.goal_path(),
            Some(&ada.token),
            &json!({"title": "Learn more Rust"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(goal_figures(&renamed), figures);
    let untouched = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == other["id"])
        .expect("the other goal in the list");
    assert_eq!(untouched["streak_count"], 0);
    assert_eq!(untouched["last_checkin_date"], Value::Null);
}

async fn stats_count_check_ins_active_days_and_streaks(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    let sql = app.create_goal(1, &ada.token, "Learn SQL").await;
    // Rust on the 1st to the 4th; SQL on the 3rd and 4th.
    ada.check_in_daily(&app, 3).await;
    ada.check_in_today_on(&app, &sql).await;
    app.clock.advance(TimeDelta::days(1));
    ada.check_in_today(&app).await;
    app.clock.advance(TimeDelta::minutes(5));
    let last = ada.check_in_today_on(&app, &sql).await;

    let stats = ada.stats(&app).await;

    assert_eq!(stats["checkins_total"], 6);
    assert_eq!(stats["active_days_30"], 4);
    assert_eq!(stats["best_current_streak"], 4);
    assert_eq!(stats["longest_streak"], 4);
    assert_eq!(stats["last_active_at"], last["created_at"]);
    assert_eq!(stats["last_active_at"], "2026-03-04T12:05:00Z");
    // Another user's check-ins are theirs.
    let bob = Learner::new(&app, 2).await;
    bob.check_in_today(&app).await;
    assert_eq!(ada.stats(&app).await["checkins_total"], 6);
    assert_eq!(bob.stats(&app).await["checkins_total"], 1);
}

async fn checkins_total_follows_removed_check_ins_and_deleted_goals(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    let sql = app.create_goal(1, &ada.token, "Learn SQL").await;
    ada.check_in_daily(&app, 3).await;
    ada.check_in_today_on(&app, &sql).await;
    assert_eq!(ada.stats(&app).await["checkins_total"], 4);

    assert_eq!(ada.uncheck(&app, "2026-03-02").await.status(), 204);
    assert_eq!(ada.stats(&app).await["checkins_total"], 3);
    let deleted = app
        .delete(&format!("/users/1/goals/{}", sql["id"]), Some(&ada.token))
        .await;
    assert_eq!(deleted.status(), 204);
    assert_eq!(ada.stats(&app).await["checkins_total"], 2);
}

async fn active_days_30_counts_today_and_the_29_days_before_it(backend: Backend) {
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T12:00:00Z"))
        .spawn()
        .await;
    let ada = Learner::new(&app, 1).await;
    ada.check_in_daily(&app, 2).await;
    let on = |stats: &Value| {
        (
            stats["checkins_total"].clone(),
            stats["active_days_30"].clone(),
        )
    };

    // The 30th: the 1st is 29 days back, inside the window.
    app.clock.set(utc("2026-03-30T23:59:00Z"));
    let thirtieth = ada.stats(&app).await;
    // The 31st: the 1st is 30 days back, outside it.
    app.clock.set(utc("2026-03-31T00:00:00Z"));
    let thirty_first = ada.stats(&app).await;
    // 1 April: the 1st is 31 days back, the 2nd 30.
    app.clock.set(utc("2026-04-01T12:00:00Z"));
    let april = ada.stats(&app).await;

    assert_eq!(on(&thirtieth), (json!(2), json!(2)));
    assert_eq!(on(&thirty_first), (json!(2), json!(1)));
    assert_eq!(on(&april), (json!(2), json!(0)));
    assert_eq!(april["best_current_streak"], 0);
    assert_eq!(april["longest_streak"], 2);
    assert_eq!(april["last_active_at"], "2026-03-02T12:00:00Z");
}

async fn active_days_30_follows_the_users_own_calendar(backend: Backend) {
    // 11:30 UTC on 1 March is already the 2nd in Auckland.
    let app = TestApp::builder(backend)
        .at(utc("2026-03-01T11:30:00Z"))
        .spawn()
        .await;
    let kiri = Learner::in_zone(&app, 1, "Pacific/Auckland").await;
    assert_eq!(kiri.check_in_today(&app).await["date"], "2026-03-02");

    // Late on the 31st in Auckland, the 2nd is 29 days back: inside the window...
    app.clock.set(local(Auckland, "2026-03-31", "23:30"));
    assert_eq!(kiri.stats(&app).await["active_days_30"], 1);
    // ...and just after midnight, on 1 April there, it is 30 days back, though in UTC it
    // is still the 31st.
    app.clock.set(local(Auckland, "2026-04-01", "00:30"));
    assert_eq!(app.clock.now(), utc("2026-03-31T11:30:00Z"));
    assert_eq!(kiri.stats(&app).await["active_days_30"], 0);
}

// ---- races ----

async fn twenty_concurrent_identical_check_ins_leave_one_row_one_event_and_a_streak_of_one(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = Learner::new(&app, 1).await;

    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let request = app
            .request(Method::POST, &ada.checkins(), Some(&ada.token))
            .json(&json!({"minutes": 20}));
        requests.spawn(async move {
            let response = request.send().await.expect("POST");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("a JSON answer");
            (status, body)
        });
    }
    let answers = requests.join_all().await;

    let statuses: Vec<u16> = answers.iter().map(|(status, _)| *status).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 201),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    for (_, body) in &answers {
        assert_eq!(body["date"], "2026-03-10");
        assert_eq!(body["streak"]["streak_count"], 1, "{body}");
    }
    assert_eq!(dates(&ada.list(&app).await), ["2026-03-10"]);
    assert_eq!(ada.goal(&app).await["streak_count"], 1);
    assert_eq!(count(&ada.activity(&app).await, "checkin_added"), 1);
    assert_eq!(ada.stats(&app).await["checkins_total"], 1);
}

crate::backend_tests!(
    a_check_in_with_no_fields_is_for_today_and_starts_a_streak_of_one,
    a_check_in_keeps_its_minutes_and_note,
    checking_in_again_on_the_same_day_answers_200_with_the_stored_check_in_unchanged,
    minutes_hold_from_1_to_1440_and_0_or_1441_are_refused_by_name,
    a_note_holds_at_500_characters_and_fails_at_501,
    a_check_in_date_that_is_not_a_date_is_refused_by_name,
    a_date_after_today_or_before_yesterday_in_the_users_zone_is_refused_by_name,
    yesterday_logged_late_is_accepted_and_counts_in_the_streak,
    yesterday_logged_after_today_is_counted_in_calendar_order,
    a_member_that_is_not_a_check_in_field_is_refused_by_name,
    a_goal_that_is_not_in_progress_refuses_check_ins_with_409,
    checking_in_on_another_users_goal_or_an_unknown_goal_is_404,
    checking_in_under_another_users_path_is_403_and_without_a_token_401,
    deleting_a_check_in_answers_204_and_recomputes_the_streak,
    deleting_the_last_check_in_leaves_no_streak_and_no_last_date,
    deleting_a_day_without_a_check_in_is_404,
    a_delete_path_date_that_is_not_a_date_is_a_400_naming_date,
    deleting_under_another_users_path_is_403_and_without_a_token_401,
    check_ins_are_listed_newest_first_to_anyone,
    the_check_in_list_filters_by_from_and_to,
    the_check_in_list_pages_with_a_next_link_until_the_last_page,
    an_invalid_check_in_list_parameter_is_a_400_naming_it,
    private_goals_hide_their_check_ins_from_everyone_but_the_owner,
    consecutive_days_of_check_ins_make_a_streak_of_that_many_days,
    today_without_a_check_in_yet_keeps_the_streak,
    a_missed_day_without_a_freeze_resets_the_streak_at_read_time,
    seven_consecutive_days_earn_a_freeze_that_covers_a_later_missed_day,
    a_freeze_is_spent_at_read_time_and_a_second_missed_day_ends_the_streak,
    logging_a_frozen_day_late_gives_the_freeze_back,
    at_most_two_freezes_are_held_after_four_weeks_straight,
    the_frozen_days_are_named_when_the_streak_goes_on_after_two_of_them,
    the_longest_streak_keeps_the_best_run_after_a_reset,
    the_same_instant_is_the_11th_in_auckland_and_the_10th_in_los_angeles,
    a_check_in_either_side_of_midnight_lands_on_its_local_day,
    the_short_daylight_saving_day_in_los_angeles_is_one_day_of_a_streak,
    the_long_daylight_saving_day_in_auckland_is_one_day_of_a_streak,
    a_missed_day_is_judged_by_the_owners_calendar_not_utc,
    moving_west_keeps_past_check_in_dates_and_the_streak,
    moving_east_keeps_past_check_in_dates_and_the_streak,
    the_goal_and_the_goal_list_show_the_check_in_responses_streak_figures,
    stats_count_check_ins_active_days_and_streaks,
    checkins_total_follows_removed_check_ins_and_deleted_goals,
    active_days_30_counts_today_and_the_29_days_before_it,
    active_days_30_follows_the_users_own_calendar,
    twenty_concurrent_identical_check_ins_leave_one_row_one_event_and_a_streak_of_one,
);
