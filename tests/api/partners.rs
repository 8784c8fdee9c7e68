//! Accountability partners through HTTP on both backends: invitations between users who
//! follow each other, acceptance with a goal of one's own, the shared streak counted in
//! each partner's own time zone (freezes, weeks, partners a day apart), nudges, every way a
//! partnership ends, an erased partner, and the events on the real RabbitMQ.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::{
    auth_events::{event, rows_of},
    cli::{command, run},
    helpers::{
        Backend, TestApp, error_fields,
        events::{Bus, Received, Subscriber},
        eventually, json_body, next_link, problem,
        rabbitmq::{AMQP_URL, Broker},
        token,
    },
};

async fn send(app: &TestApp, method: Method, path: &str, user: i64) -> Response {
    app.request(method, path, Some(&token(user)))
        .send()
        .await
        .expect("request")
}

async fn follow(app: &TestApp, user: i64, target: i64) {
    let path = format!("/users/{user}/following/{target}");
    assert_eq!(send(app, Method::PUT, &path, user).await.status(), 204);
}

/// Users `a` and `b`, who follow each other.
pub(crate) async fn mutual(app: &TestApp, a: i64, b: i64) {
    app.user(a).await;
    app.user(b).await;
    follow(app, a, b).await;
    follow(app, b, a).await;
}

pub(crate) async fn set_zone(app: &TestApp, user: i64, zone: &str) {
    let body = json!({ "timezone": zone });
    json_body(
        app.put(&format!("/users/{user}"), Some(&token(user)), &body)
            .await,
        200,
    )
    .await;
}

/// A goal of `user`'s: its id.
async fn goal(app: &TestApp, user: i64, body: Value) -> i64 {
    let created = json_body(
        app.post(&format!("/users/{user}/goals"), Some(&token(user)), &body)
            .await,
        201,
    )
    .await;
    created["id"].as_i64().unwrap()
}

pub(crate) async fn daily_goal(app: &TestApp, user: i64) -> i64 {
    goal(app, user, json!({"title": "Read a chapter"})).await
}

async fn try_invite(app: &TestApp, user: i64, goal: i64, other: i64) -> Response {
    app.post(
        &format!("/users/{user}/goals/{goal}/partners"),
        Some(&token(user)),
        &json!({ "user_id": other }),
    )
    .await
}

/// `user` invites `other` on `goal`: the partnership's id.
pub(crate) async fn invite(app: &TestApp, user: i64, goal: i64, other: i64) -> i64 {
    json_body(try_invite(app, user, goal, other).await, 201).await["id"]
        .as_i64()
        .unwrap()
}

pub(crate) async fn try_accept(app: &TestApp, user: i64, id: i64, goal: i64) -> Response {
    app.put(
        &format!("/users/{user}/partnerships/{id}"),
        Some(&token(user)),
        &json!({ "goal_id": goal }),
    )
    .await
}

async fn read(app: &TestApp, user: i64, id: i64) -> Value {
    json_body(
        app.get_as(&format!("/users/{user}/partnerships/{id}"), &token(user))
            .await,
        200,
    )
    .await
}

async fn list(app: &TestApp, user: i64, status: &str) -> Value {
    json_body(
        app.get_as(
            &format!("/users/{user}/partnerships?status={status}"),
            &token(user),
        )
        .await,
        200,
    )
    .await
}

pub(crate) async fn check_in(app: &TestApp, user: i64, goal: i64) {
    let response = app
        .post(
            &format!("/users/{user}/goals/{goal}/checkins"),
            Some(&token(user)),
            &json!({}),
        )
        .await;
    assert_eq!(response.status(), 201, "check-in of user {user}");
}

/// Users 1 and 2 partnered on daily goals: (partnership, goal of 1, goal of 2).
async fn partnered(app: &TestApp) -> (i64, i64, i64) {
    mutual(app, 1, 2).await;
    let (a, b) = (daily_goal(app, 1).await, daily_goal(app, 2).await);
    let id = invite(app, 1, a, 2).await;
    json_body(try_accept(app, 2, id, b).await, 200).await;
    (id, a, b)
}

/// An app that keeps its events in the outbox (a broker that never answers).
async fn with_outbox(backend: Backend) -> TestApp {
    TestApp::builder(backend)
        .config(|config| config.events.events_url = Some(NOWHERE.into()))
        .spawn()
        .await
}

const NOWHERE: &str = "amqp://127.0.0.1:9/";

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

async fn an_invitation_between_users_who_follow_each_other_waits_for_acceptance_with_a_goal(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    mutual(&app, 1, 2).await;
    let a = daily_goal(&app, 1).await;
    let response = try_invite(&app, 1, a, 2).await;
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let invited = json_body(response, 201).await;
    let id = invited["id"].as_i64().unwrap();
    assert_eq!(location, format!("/users/1/partnerships/{id}"));
    assert_eq!(invited["status"], "pending");
    assert_eq!(invited["me"]["goal"]["id"], a);
    assert_eq!(invited["me"]["goal"]["title"], "Read a chapter");
    assert_eq!(
        invited["partner"],
        json!({"id": 2, "username": "user2", "display_name": null})
    );
    for member in [
        "shared_streak",
        "longest_shared_streak",
        "streak_unit",
        "today",
    ] {
        assert!(invited.get(member).is_some(), "{member} in {invited}");
    }
    assert_eq!(invited["today"], json!({"me": false, "partner": false}));

    // The invited user sees it among their pending ones, without a goal of theirs yet.
    let pending = list(&app, 2, "pending").await;
    assert_eq!(pending.as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending[0]["id"], id);
    assert_eq!(pending[0]["me"]["goal"], Value::Null);
    assert_eq!(pending[0]["partner"]["username"], "user1");
    assert_eq!(pending[0]["invited_by_me"], false);
    assert_eq!(list(&app, 2, "active").await, json!([]));

    let b = daily_goal(&app, 2).await;
    let accepted = json_body(try_accept(&app, 2, id, b).await, 200).await;
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["me"]["goal"]["id"], b);
    assert_eq!(accepted["shared_streak"], 0);
    assert_eq!(accepted["streak_unit"], "day");
    assert_eq!(list(&app, 1, "active").await[0]["id"], id);
    assert_eq!(list(&app, 1, "pending").await, json!([]));

    // Only the two partners see it.
    app.user(3).await;
    problem(
        send(&app, Method::GET, &format!("/users/3/partnerships/{id}"), 3).await,
        404,
    )
    .await;
    problem(app.get_as("/users/1/partnerships", &token(3)).await, 403).await;
}

async fn only_users_who_follow_each_other_partner_and_a_goal_takes_at_most_five(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    let a = daily_goal(&app, 1).await;
    follow(&app, 1, 2).await;
    // One way is not enough.
    let one_way = problem(try_invite(&app, 1, a, 2).await, 422).await;
    assert_eq!(error_fields(&one_way), ["user_id"]);
    assert!(
        one_way["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("follow each other"),
        "{one_way}"
    );
    let oneself = problem(try_invite(&app, 1, a, 1).await, 422).await;
    assert_eq!(error_fields(&oneself), ["user_id"]);
    let missing = problem(
        app.post(
            &format!("/users/1/goals/{a}/partners"),
            Some(&token(1)),
            &json!({"user": 2}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&missing), ["user", "user_id"]);
    let nobody = problem(try_invite(&app, 1, a, 99).await, 422).await;
    assert_eq!(error_fields(&nobody), ["user_id"]);

    for other in 2..=7 {
        if other > 2 {
            app.user(other).await;
            follow(&app, 1, other).await;
        }
        follow(&app, other, 1).await;
    }
    for other in 2..=6 {
        invite(&app, 1, a, other).await;
    }
    problem(try_invite(&app, 1, a, 2).await, 409).await;
    let sixth = problem(try_invite(&app, 1, a, 7).await, 422).await;
    assert_eq!(error_fields(&sixth), ["goal_id"]);
    // An ended one makes room again.
    let first = list(&app, 1, "pending").await[4]["id"].as_i64().unwrap();
    assert_eq!(
        send(
            &app,
            Method::DELETE,
            &format!("/users/1/partnerships/{first}"),
            1
        )
        .await
        .status(),
        204
    );
    invite(&app, 1, a, 7).await;
}

async fn acceptance_takes_one_of_ones_own_in_progress_goals_of_the_same_cadence(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    mutual(&app, 1, 2).await;
    let a = daily_goal(&app, 1).await;
    let id = invite(&app, 1, a, 2).await;
    let weekly = goal(
        &app,
        2,
        json!({"title": "Run", "cadence": "weekly", "days_per_week": 3}),
    )
    .await;
    let paused = goal(&app, 2, json!({"title": "Later", "status": "paused"})).await;
    for (goal, why) in [(weekly, "weekly"), (paused, "paused"), (a, "the inviter's")] {
        let refused = problem(try_accept(&app, 2, id, goal).await, 422).await;
        assert_eq!(error_fields(&refused), ["goal_id"], "{why}");
    }
    problem(try_accept(&app, 1, id, a).await, 409).await;
    let b = daily_goal(&app, 2).await;
    json_body(try_accept(&app, 2, id, b).await, 200).await;
    problem(try_accept(&app, 2, id, b).await, 409).await;
}

/// Partners 25 hours apart: Kiritimati (UTC+14) and Pago Pago (UTC−11). Each day is each
/// partner's own; the shared streak counts a day once both checked in on it.
async fn partners_in_zones_far_apart_share_a_day_each_in_their_own_zone(backend: Backend) {
    // 10:30 UTC: 00:30 on 11 March in Kiritimati, 23:30 on 9 March in Pago Pago.
    let app = TestApp::builder(backend)
        .at(at("2026-03-10T10:30:00Z"))
        .spawn()
        .await;
    mutual(&app, 1, 2).await;
    set_zone(&app, 1, "Pacific/Kiritimati").await;
    set_zone(&app, 2, "Pacific/Pago_Pago").await;
    let (a, b) = (daily_goal(&app, 1).await, daily_goal(&app, 2).await);
    let id = invite(&app, 1, a, 2).await;
    json_body(try_accept(&app, 2, id, b).await, 200).await;

    // 10:30 UTC: Kiritimati checks in on its 11 March; an hour later Pago Pago on its 10th.
    check_in(&app, 1, a).await;
    app.clock.advance(TimeDelta::hours(1));
    check_in(&app, 2, b).await;
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 0, "no day both checked in on yet");
    assert_eq!(seen["today"], json!({"me": true, "partner": true}));
    // Every 24 hours the same: Kiritimati's 12th, 13th, 14th, Pago Pago's 11th, 12th, 13th.
    for day in 0..3 {
        app.clock.advance(TimeDelta::hours(23));
        check_in(&app, 1, a).await;
        app.clock.advance(TimeDelta::hours(1));
        check_in(&app, 2, b).await;
        let seen = read(&app, 2, id).await;
        assert_eq!(seen["shared_streak"], day + 1, "day {day}: {seen}");
    }
    // A day on, neither checked in today: Kiritimati's 14th waits for Pago Pago, whose
    // 14th has just begun; nothing is broken.
    app.clock.advance(TimeDelta::hours(24));
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 3, "{seen}");
    assert_eq!(seen["today"], json!({"me": false, "partner": false}));
    // Another day: Pago Pago's 14th is over without a check-in, and no freeze is held.
    app.clock.advance(TimeDelta::hours(24));
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 0, "{seen}");
    assert_eq!(seen["longest_shared_streak"], 3);
}

/// A missed day spends a freeze earned by 7 shared days; two missed days end the run.
async fn a_day_a_partner_misses_spends_a_freeze_and_without_one_ends_the_shared_streak(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let (id, a, b) = partnered(&app).await;
    for day in 0..7 {
        if day > 0 {
            app.clock.advance(TimeDelta::days(1));
        }
        check_in(&app, 1, a).await;
        check_in(&app, 2, b).await;
    }
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 7);
    assert_eq!(seen["freezes_available"], 1);
    // Day 8: only the first partner checks in. On day 9 it is missed, and frozen.
    app.clock.advance(TimeDelta::days(1));
    check_in(&app, 1, a).await;
    let seen = read(&app, 2, id).await;
    assert_eq!(seen["today"], json!({"me": false, "partner": true}));
    assert_eq!(seen["shared_streak"], 7, "today breaks nothing yet");
    app.clock.advance(TimeDelta::days(1));
    let seen = read(&app, 2, id).await;
    assert_eq!(seen["shared_streak"], 7, "a freeze covers the missed day");
    assert_eq!(seen["freezes_available"], 0);
    check_in(&app, 1, a).await;
    check_in(&app, 2, b).await;
    assert_eq!(read(&app, 1, id).await["shared_streak"], 8);
    // Then a day missed with no freeze left.
    app.clock.advance(TimeDelta::days(2));
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 0);
    assert_eq!(seen["longest_shared_streak"], 8);
}

pub(crate) async fn check_in_on(app: &TestApp, user: i64, goal: i64, date: &str) {
    let response = app
        .post(
            &format!("/users/{user}/goals/{goal}/checkins"),
            Some(&token(user)),
            &json!({ "date": date }),
        )
        .await;
    assert_eq!(response.status(), 201, "check-in of user {user} on {date}");
}

/// What the partners' tables hold, as text.
async fn partnership_rows(app: &TestApp) -> Vec<Option<String>> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT COUNT(*) || ' ' || MAX(status) || ' ' || COALESCE(MAX(summary), '') \
         || ' ' || COALESCE(MAX(CAST(invitee_goal_id AS TEXT)), '') FROM partnerships",
        "SELECT CAST(COUNT(*) AS TEXT) FROM partnership_nudges",
    ] {
        rows.push(app.db.text(sql).await);
    }
    rows
}

/// Every write on partnerships is the caller's own: without a token 401, with another
/// user's 403, on the caller's own path naming a partnership (or goal) not theirs 404; and
/// none of them changes anything.
async fn a_partnership_is_written_by_its_partners_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, a, b) = partnered(&app).await;
    app.user(3).await;
    let before = partnership_rows(&app).await;
    let writes = [
        (
            Method::POST,
            format!("/goals/{a}/partners"),
            Some(json!({"user_id": 2})),
        ),
        (
            Method::PUT,
            format!("/partnerships/{id}"),
            Some(json!({"goal_id": b})),
        ),
        (Method::DELETE, format!("/partnerships/{id}"), None),
        (Method::POST, format!("/partnerships/{id}/nudge"), None),
    ];
    for (method, tail, body) in &writes {
        let path = format!("/users/1{tail}");
        for (caller, status) in [(None, 401), (Some(token(3)), 403)] {
            let mut request = app.request(method.clone(), &path, caller.as_deref());
            if let Some(body) = body {
                request = request.json(body);
            }
            let answer = request.send().await.unwrap();
            assert_eq!(answer.status(), status, "{method} {path}");
        }
        let own = format!("/users/3{tail}");
        let mut request = app.request(method.clone(), &own, Some(&token(3)));
        if let Some(body) = body {
            request = request.json(body);
        }
        problem(request.send().await.unwrap(), 404).await;
    }
    assert_eq!(partnership_rows(&app).await, before, "nothing changed");
}

/// A day logged late, before the last shared one, joins two runs; taking a check-in back
/// splits them again: both fold the two histories again.
async fn a_day_logged_late_or_taken_back_counts_the_shared_streak_again(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, a, b) = partnered(&app).await;
    // 10 March: both. 11 March: the second only. 12 March: both.
    check_in(&app, 1, a).await;
    check_in(&app, 2, b).await;
    app.clock.advance(TimeDelta::days(1));
    check_in(&app, 2, b).await;
    app.clock.advance(TimeDelta::days(1));
    check_in(&app, 1, a).await;
    check_in(&app, 2, b).await;
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 1, "the 11th was missed: {seen}");
    // The first partner logs the 11th late: three shared days in a row.
    check_in_on(&app, 1, a, "2026-03-11").await;
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 3, "{seen}");
    assert_eq!(seen["longest_shared_streak"], 3);
    // Taken back, the 11th is missed again.
    let taken_back = app
        .delete(
            &format!("/users/1/goals/{a}/checkins/2026-03-11"),
            Some(&token(1)),
        )
        .await;
    assert_eq!(taken_back.status(), 204);
    let seen = read(&app, 2, id).await;
    assert_eq!(seen["shared_streak"], 1, "{seen}");
    assert_eq!(seen["longest_shared_streak"], 1);
}

/// A shared week counts when both met their own target in it; weeks start on the
/// inviter's week start.
async fn a_week_counts_when_both_partners_met_their_own_targets(backend: Backend) {
    // Sunday 8 March 2026, noon UTC.
    let app = TestApp::builder(backend)
        .at(at("2026-03-08T12:00:00Z"))
        .spawn()
        .await;
    mutual(&app, 1, 2).await;
    json_body(
        app.put(
            "/users/1",
            Some(&token(1)),
            &json!({"week_start": "sunday"}),
        )
        .await,
        200,
    )
    .await;
    let a = goal(
        &app,
        1,
        json!({"title": "Run", "cadence": "weekly", "days_per_week": 2}),
    )
    .await;
    let b = goal(
        &app,
        2,
        json!({"title": "Swim", "cadence": "weekly", "days_per_week": 3}),
    )
    .await;
    let id = invite(&app, 1, a, 2).await;
    let accepted = json_body(try_accept(&app, 2, id, b).await, 200).await;
    assert_eq!(accepted["streak_unit"], "week");
    // The inviter's week runs Sunday 8 to Saturday 14 March.
    for day in 0..3 {
        if day > 0 {
            app.clock.advance(TimeDelta::days(1));
        }
        if day < 2 {
            check_in(&app, 1, a).await;
        }
        check_in(&app, 2, b).await;
    }
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["shared_streak"], 1, "both met their targets: {seen}");
    // The next week (from Sunday 15): only the first partner meets theirs by Friday 20,
    // when the second can no longer make three days.
    app.clock.set(at("2026-03-15T12:00:00Z"));
    check_in(&app, 1, a).await;
    app.clock.advance(TimeDelta::days(1));
    check_in(&app, 1, a).await;
    assert_eq!(read(&app, 1, id).await["shared_streak"], 1);
    app.clock.set(at("2026-03-20T12:00:00Z"));
    let seen = read(&app, 1, id).await;
    assert_eq!(
        (
            seen["shared_streak"].clone(),
            seen["longest_shared_streak"].clone()
        ),
        (json!(0), json!(1))
    );
}

/// A pending invitation of user 2 by user 1 on new daily goals: (partnership, goals).
async fn fresh(app: &TestApp) -> (i64, i64, i64) {
    let (a, b) = (daily_goal(app, 1).await, daily_goal(app, 2).await);
    (invite(app, 1, a, 2).await, a, b)
}

async fn accept_with(app: &TestApp, id: i64, b: i64) {
    json_body(try_accept(app, 2, id, b).await, 200).await;
}

async fn ended_reason(app: &TestApp, user: i64, id: i64) -> Value {
    let seen = read(app, user, id).await;
    assert_eq!(seen["status"], "ended", "{seen}");
    seen["end_reason"].clone()
}

/// Declined, withdrawn, ended by hand, by a block, an unfollow either way, a goal deleted
/// or completed: each ends the partnership, which both keep as history.
async fn every_way_a_partnership_ends_ends_it_and_both_keep_its_history(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    mutual(&app, 1, 2).await;
    let (declined, ..) = fresh(&app).await;
    send(
        &app,
        Method::DELETE,
        &format!("/users/2/partnerships/{declined}"),
        2,
    )
    .await;
    assert_eq!(ended_reason(&app, 1, declined).await, "declined");

    let (withdrawn, ..) = fresh(&app).await;
    send(
        &app,
        Method::DELETE,
        &format!("/users/1/partnerships/{withdrawn}"),
        1,
    )
    .await;
    assert_eq!(ended_reason(&app, 2, withdrawn).await, "withdrawn");

    let (ended, _, b) = fresh(&app).await;
    accept_with(&app, ended, b).await;
    let path = format!("/users/2/partnerships/{ended}");
    for _ in 0..2 {
        assert_eq!(send(&app, Method::DELETE, &path, 2).await.status(), 204);
    }
    assert_eq!(ended_reason(&app, 1, ended).await, "ended");

    let (deleted, _, b) = fresh(&app).await;
    accept_with(&app, deleted, b).await;
    send(&app, Method::DELETE, &format!("/users/2/goals/{b}"), 2).await;
    assert_eq!(ended_reason(&app, 1, deleted).await, "goal_deleted");
    assert_eq!(read(&app, 2, deleted).await["me"]["goal"], Value::Null);

    let (completed, a, b) = fresh(&app).await;
    accept_with(&app, completed, b).await;
    json_body(
        app.put(
            &format!("/users/1/goals/{a}"),
            Some(&token(1)),
            &json!({"status": "completed"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(ended_reason(&app, 2, completed).await, "goal_completed");

    for (unfollower, unfollowed) in [(1, 2), (2, 1)] {
        let (id, _, b) = fresh(&app).await;
        accept_with(&app, id, b).await;
        let path = format!("/users/{unfollower}/following/{unfollowed}");
        assert_eq!(
            send(&app, Method::DELETE, &path, unfollower).await.status(),
            204
        );
        assert_eq!(ended_reason(&app, 1, id).await, "unfollowed");
        follow(&app, unfollower, unfollowed).await;
    }

    let (blocked, _, b) = fresh(&app).await;
    accept_with(&app, blocked, b).await;
    let pending_too = invite(&app, 2, daily_goal(&app, 2).await, 1).await;
    assert_eq!(
        send(&app, Method::PUT, "/users/2/blocks/1", 2)
            .await
            .status(),
        204
    );
    assert_eq!(ended_reason(&app, 1, blocked).await, "blocked");
    assert_eq!(ended_reason(&app, 1, pending_too).await, "blocked");

    let history = list(&app, 1, "ended").await;
    assert_eq!(history.as_array().unwrap().len(), 9, "{history}");
    assert_eq!(list(&app, 2, "ended").await.as_array().unwrap().len(), 9);
    assert_eq!(list(&app, 1, "active").await, json!([]));
    assert_eq!(list(&app, 1, "pending").await, json!([]));
}

/// The auth-service flips `is_active` in a shared database: the trigger ends the open
/// partnerships at once; they stay ended when the account comes back.
async fn a_deactivation_ends_the_partnerships_whoever_deactivates_the_account(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (id, ..) = partnered(&app).await;
    let pending = invite(&app, 2, daily_goal(&app, 2).await, 1).await;
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 2")
        .await;
    for partnership in [id, pending] {
        let seen = read(&app, 1, partnership).await;
        assert_eq!(seen["status"], "ended");
        assert_eq!(seen["end_reason"], "deactivated");
        assert_eq!(
            seen["partner"]["display_name"], "a former partner",
            "{seen}"
        );
    }
    app.db
        .execute("UPDATE users SET is_active = TRUE WHERE id = 2")
        .await;
    let seen = read(&app, 1, id).await;
    assert_eq!(seen["status"], "ended");
    assert_eq!(seen["partner"]["username"], "user2");
}

/// The auth-service's `UserDeactivated`, applied by this service: the partnerships end in
/// the same transaction, and the partner who remains is told.
async fn a_deactivation_message_ends_the_partnerships_and_tells_the_partner(backend: Backend) {
    let Some(mut broker) = Broker::connect().await else {
        return;
    };
    let queue = broker.queue_name("user-events");
    broker.declare(&queue).await;
    let app = TestApp::builder(backend)
        .config(|c| {
            c.amqp_url = Some(AMQP_URL.into());
            c.auth_events_queue = queue.clone();
            c.events.events_url = Some(NOWHERE.into());
        })
        .spawn()
        .await;
    let (id, ..) = partnered(&app).await;
    broker
        .publish_json(&queue, &event("UserDeactivated", 2, 3.0))
        .await;
    eventually("the partnership ends", || async {
        (read(&app, 1, id).await["status"] == "ended").then_some(())
    })
    .await;
    assert_eq!(read(&app, 1, id).await["end_reason"], "deactivated");
    let told = app
        .db
        .text("SELECT data FROM event_outbox WHERE event_type = 'partnership.ended.v1' AND user_id = 1")
        .await
        .unwrap();
    let told: Value = serde_json::from_str(&told).unwrap();
    assert_eq!(
        told,
        json!({"user_id": 1, "partner_id": 2, "partnership_id": id, "reason": "deactivated",
               "shared_streak": 0})
    );
}

async fn the_lists_page_newest_first_with_a_link_to_the_next(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    mutual(&app, 1, 2).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let a = daily_goal(&app, 1).await;
        ids.push(invite(&app, 1, a, 2).await);
    }
    ids.reverse();
    let first = app
        .get_as("/users/2/partnerships?status=pending&limit=2", &token(2))
        .await;
    let next = next_link(&first).expect("a next page");
    let page = json_body(first, 200).await;
    let got: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..2]);
    let second = app.get_as(&next, &token(2)).await;
    assert!(next_link(&second).is_none());
    assert_eq!(json_body(second, 200).await[0]["id"], ids[2]);
    let bad = problem(
        app.get_as("/users/2/partnerships?status=over", &token(2))
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&bad), ["status"]);
}

async fn a_nudge_goes_once_a_day_and_never_once_the_partner_checked_in(backend: Backend) {
    let app = with_outbox(backend).await;
    let (id, a, _) = partnered(&app).await;
    let path = format!("/users/2/partnerships/{id}/nudge");
    assert_eq!(send(&app, Method::POST, &path, 2).await.status(), 202);
    let again = send(&app, Method::POST, &path, 2).await;
    let retry_after: u64 = again.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    problem(again, 429).await;
    // 12:00 UTC: the nudger's day (UTC) ends in 12 hours.
    assert_eq!(retry_after, 12 * 3600);
    let nudges = "SELECT COUNT(*) FROM event_outbox WHERE event_type = 'partner.nudged.v1'";
    assert_eq!(app.db.scalar(nudges).await, 1);
    let data = app
        .db
        .text("SELECT data FROM event_outbox WHERE event_type = 'partner.nudged.v1'")
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap(),
        json!({"user_id": 1, "from_user_id": 2, "partnership_id": id})
    );
    // The other partner may nudge too, once.
    let back = format!("/users/1/partnerships/{id}/nudge");
    assert_eq!(send(&app, Method::POST, &back, 1).await.status(), 202);

    app.clock.advance(TimeDelta::days(1));
    check_in(&app, 1, a).await;
    problem(send(&app, Method::POST, &path, 2).await, 409).await;
    // An ended partnership takes no nudges.
    send(
        &app,
        Method::DELETE,
        &format!("/users/1/partnerships/{id}"),
        1,
    )
    .await;
    problem(send(&app, Method::POST, &back, 1).await, 409).await;
    problem(
        send(&app, Method::POST, "/users/1/partnerships/999/nudge", 1).await,
        404,
    )
    .await;
}

/// `users erase --id <user>`, the operator's command, against the app's database.
async fn erase_with_the_command(app: &TestApp, user: i64) {
    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .env("EVENTS_URL", NOWHERE)
        .args(["users", "erase", "--id", &user.to_string()]);
    tokio::task::spawn_blocking(move || run(&mut erase))
        .await
        .unwrap();
}

/// An erased partner leaves nothing of theirs; the remaining partner keeps the history,
/// with "a former partner".
async fn an_erased_partner_becomes_a_former_partner_and_nothing_of_theirs_remains(
    backend: Backend,
) {
    let app = with_outbox(backend).await;
    let (id, _, b) = partnered(&app).await;
    for nudger in [1, 2] {
        let nudge = format!("/users/{nudger}/partnerships/{id}/nudge");
        assert_eq!(send(&app, Method::POST, &nudge, nudger).await.status(), 202);
    }
    check_in(&app, 2, b).await;

    erase_with_the_command(&app, 1).await;

    let seen = read(&app, 2, id).await;
    assert_eq!(seen["status"], "ended");
    assert_eq!(seen["end_reason"], "erased");
    assert_eq!(
        seen["partner"],
        json!({"id": null, "username": null, "display_name": "a former partner"})
    );
    assert_eq!(seen["me"]["goal"]["id"], b);
    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{table} still holds user 1");
    }
    let naming = app
        .db
        .scalar(
            "SELECT COUNT(*) FROM partnerships WHERE inviter_id = 1 OR invitee_id = 1 \
             OR inviter_goal_id IS NOT NULL",
        )
        .await;
    assert_eq!(
        naming, 0,
        "no partnership names the erased user or their goal"
    );
    assert_eq!(
        app.db
            .scalar("SELECT COUNT(*) FROM partnership_nudges WHERE from_user_id = 1")
            .await,
        0
    );
    let ended = app
        .db
        .text(
            "SELECT data FROM event_outbox WHERE event_type = 'partnership.ended.v1' \
             ORDER BY seq DESC",
        )
        .await
        .unwrap();
    let ended: Value = serde_json::from_str(&ended).unwrap();
    assert_eq!(ended["user_id"], 2);
    assert_eq!(ended["partner_id"], Value::Null);
    assert_eq!(ended["reason"], "erased");
    assert_eq!(
        app.db
            .scalar(
                "SELECT COUNT(*) FROM event_outbox WHERE data LIKE '%\"from_user_id\":1,%' \
                 OR data LIKE '%\"partner_id\":1,%'"
            )
            .await,
        0,
        "no event waiting in the outbox names them"
    );
}

/// Partners' reminders (`partner_streak.at_risk.v1`) of an erased user go with them: those
/// to them and those naming them waiting in the outbox, and the keys of those sent to them;
/// the key of one sent to a partner who remains names only the partnership and that partner.
async fn an_erased_users_partner_reminders_and_their_keys_go_with_them(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|config| config.events.events_url = Some(NOWHERE.into()))
        .at(at("2026-03-09T12:00:00Z"))
        .spawn()
        .await;
    mutual(&app, 1, 2).await;
    app.user(3).await;
    follow(&app, 1, 3).await;
    follow(&app, 3, 1).await;
    let (with_2, with_3) = (daily_goal(&app, 1).await, daily_goal(&app, 1).await);
    let (b, c) = (daily_goal(&app, 2).await, daily_goal(&app, 3).await);
    let id = invite(&app, 1, with_2, 2).await;
    json_body(try_accept(&app, 2, id, b).await, 200).await;
    let other = invite(&app, 1, with_3, 3).await;
    json_body(try_accept(&app, 3, other, c).await, 200).await;
    for (user, goal) in [(1, with_2), (2, b), (1, with_3), (3, c)] {
        check_in(&app, user, goal).await;
    }
    // The 10th: user 2 checks in and user 1 does not on their goal; user 1 checks in on the
    // goal shared with user 3, who does not.
    app.clock.set(at("2026-03-10T09:00:00Z"));
    check_in(&app, 2, b).await;
    check_in(&app, 1, with_3).await;
    app.clock.set(at("2026-03-10T20:00:00Z"));
    assert_eq!(app.remind().await.partners_sent, 2);
    let kept = "SELECT COUNT(*) FROM partner_reminders_sent";
    assert_eq!(app.db.scalar(kept).await, 2);

    erase_with_the_command(&app, 1).await;

    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{table} still holds user 1");
    }
    assert_eq!(
        app.db
            .scalar(
                "SELECT COUNT(*) FROM event_outbox \
                 WHERE event_type = 'partner_streak.at_risk.v1'"
            )
            .await,
        0,
        "neither the reminder to user 1 nor the one naming them waits"
    );
    let remaining = format!(
        "SELECT COUNT(*) FROM partner_reminders_sent WHERE user_id = 3 AND partnership_id = {other}"
    );
    assert_eq!(app.db.scalar(&remaining).await, 1);
    assert_eq!(app.db.scalar(kept).await, 1);
}

fn partner_kinds(received: &[Received]) -> Vec<(String, i64)> {
    received
        .iter()
        .filter(|r| r.kind().contains("partner"))
        .map(|r| (r.kind().to_owned(), r.data()["user_id"].as_i64().unwrap()))
        .collect()
}

/// On the real RabbitMQ: the invitation, the start, each shared day's growth to both
/// partners, the milestone at 7 with both partners' badge.
async fn a_partnership_and_its_shared_streak_are_announced_and_earn_both_partners_badges(
    backend: Backend,
) {
    let Some(mut subscriber) = Subscriber::start(Bus::RabbitMq).await else {
        return;
    };
    let app = TestApp::builder(backend)
        .config(|c| subscriber.configure(&mut c.events))
        .spawn()
        .await;
    let (id, a, b) = partnered(&app).await;
    for day in 0..7 {
        if day > 0 {
            app.clock.advance(TimeDelta::days(1));
        }
        check_in(&app, 1, a).await;
        check_in(&app, 2, b).await;
    }
    // Two goals with their first-goal badges and follows; then per day two check-ins with
    // their streak events, badges of 3 and 7 days each, the partners' events.
    let mut everything = Vec::new();
    while let Some(received) = subscriber.next_within(Duration::from_secs(5)).await {
        everything.push(received);
        if partner_kinds(&everything)
            .iter()
            .filter(|(kind, _)| kind == "partner_streak.milestone.v1")
            .count()
            == 2
        {
            break;
        }
    }
    let mut expected = vec![
        ("partnership.requested.v1".to_owned(), 2),
        ("partnership.started.v1".to_owned(), 1),
        ("partnership.started.v1".to_owned(), 2),
    ];
    for day in 0..7 {
        for user in [1, 2] {
            expected.push(("partner_streak.extended.v1".to_owned(), user));
            if day == 6 {
                expected.push(("partner_streak.milestone.v1".to_owned(), user));
            }
        }
    }
    assert_eq!(partner_kinds(&everything), expected);
    // The next day the first partner nudges the second, who then ends the partnership.
    app.clock.advance(TimeDelta::days(1));
    let nudge = format!("/users/1/partnerships/{id}/nudge");
    assert_eq!(send(&app, Method::POST, &nudge, 1).await.status(), 202);
    let end = format!("/users/2/partnerships/{id}");
    assert_eq!(send(&app, Method::DELETE, &end, 2).await.status(), 204);
    // After what is left of the seventh day's (the second partner's badge).
    let mut after = Vec::new();
    while partner_kinds(&after).len() < 3 {
        let received = subscriber.next_within(Duration::from_secs(5)).await;
        after.push(received.expect("the nudge and the ends are published"));
    }
    assert_eq!(
        partner_kinds(&after),
        [
            ("partner.nudged.v1".to_owned(), 2),
            ("partnership.ended.v1".to_owned(), 1),
            ("partnership.ended.v1".to_owned(), 2),
        ]
    );
    let ended = after
        .iter()
        .find(|r| r.kind() == "partnership.ended.v1")
        .unwrap();
    assert_eq!(
        ended.data(),
        &json!({"user_id": 1, "partner_id": 2, "partnership_id": id, "reason": "ended",
                "shared_streak": 7})
    );
    let milestone = everything
        .iter()
        .find(|r| r.kind() == "partner_streak.milestone.v1")
        .unwrap();
    assert_eq!(
        milestone.data(),
        &json!({"user_id": 1, "partner_id": 2, "partnership_id": id, "milestone": 7,
                "streak": 7, "unit": "day"})
    );
    for user in [1, 2] {
        let badges = json_body(app.get(&format!("/users/{user}/badges")).await, 200).await;
        assert!(
            badges
                .as_array()
                .unwrap()
                .iter()
                .any(|badge| badge["code"] == "partner-streak-7"),
            "{badges}"
        );
    }
}

crate::backend_tests!(
    an_invitation_between_users_who_follow_each_other_waits_for_acceptance_with_a_goal,
    only_users_who_follow_each_other_partner_and_a_goal_takes_at_most_five,
    acceptance_takes_one_of_ones_own_in_progress_goals_of_the_same_cadence,
    partners_in_zones_far_apart_share_a_day_each_in_their_own_zone,
    a_day_a_partner_misses_spends_a_freeze_and_without_one_ends_the_shared_streak,
    a_week_counts_when_both_partners_met_their_own_targets,
    a_day_logged_late_or_taken_back_counts_the_shared_streak_again,
    a_partnership_is_written_by_its_partners_alone,
    every_way_a_partnership_ends_ends_it_and_both_keep_its_history,
    a_deactivation_ends_the_partnerships_whoever_deactivates_the_account,
    a_deactivation_message_ends_the_partnerships_and_tells_the_partner,
    the_lists_page_newest_first_with_a_link_to_the_next,
    a_nudge_goes_once_a_day_and_never_once_the_partner_checked_in,
    an_erased_partner_becomes_a_former_partner_and_nothing_of_theirs_remains,
    an_erased_users_partner_reminders_and_their_keys_go_with_them,
    a_partnership_and_its_shared_streak_are_announced_and_earn_both_partners_badges,
);
