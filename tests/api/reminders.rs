//! Reminders (`streak.at_risk.v1`): once per goal and local day at 20:00 in the user's time
//! zone, read by a consumer on the machine's RabbitMQ; and partners' (`partner_streak.at_risk
//! .v1`), once per partnership, user and local day, to a partner who has not checked in when
//! the other has. The clock is the service's, so each
//! test sets the time of day and runs the scheduler's pass itself (`TestApp::remind`), as
//! the scheduler's timer would; the outbox says exactly what was written, the broker what a
//! consumer receives.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection};

use crate::{
    helpers::{
        Backend, TestApp,
        events::{Bus, Received, Subscriber},
        eventually, json_body, token,
    },
    partners::{check_in, daily_goal, invite, mutual, set_zone, try_accept},
};

const AT_RISK: &str = "streak.at_risk.v1";
const PARTNER_AT_RISK: &str = "partner_streak.at_risk.v1";

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

async fn app_publishing_to(
    backend: Backend,
    subscriber: &Subscriber,
    at: DateTime<Utc>,
) -> TestApp {
    TestApp::builder(backend)
        .config(|c| subscriber.configure(&mut c.events))
        .at(at)
        .spawn()
        .await
}

/// A user in `zone` with a daily goal checked in yesterday and today (their days): a
/// two-day streak, alive tomorrow until they check in. Returns the token and the goal's id.
async fn user_with_a_streak(app: &TestApp, id: i64, zone: &str) -> (String, i64) {
    let token = app.user(id).await;
    let profile = app
        .put(
            &format!("/users/{id}"),
            Some(&token),
            &json!({"timezone": zone}),
        )
        .await;
    assert_eq!(profile.status(), 200);
    let goal = app.create_goal(id, &token, "Daily reading").await["id"]
        .as_i64()
        .unwrap();
    let checkins = format!("/users/{id}/goals/{goal}/checkins");
    let today = json_body(app.post(&checkins, Some(&token), &json!({})).await, 201).await;
    let today = today["date"].as_str().unwrap().to_owned();
    let yesterday = chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d")
        .unwrap()
        .pred_opt()
        .unwrap();
    let answer = app
        .post(
            &checkins,
            Some(&token),
            &json!({"date": yesterday.to_string()}),
        )
        .await;
    assert_eq!(answer.status(), 201);
    (token, goal)
}

/// Reads the broker until `count` reminders arrived (other events pass by), within 30 s.
/// Delivery is at least once (a replica stopped between a publish and its mark publishes
/// again), so repeats of an id are dropped, as a consumer does.
async fn receive_reminders(subscriber: &mut Subscriber, count: usize) -> Vec<Received> {
    receive(subscriber, AT_RISK, count).await
}

/// No event of type `kind` but `only` comes within 700 ms.
async fn nothing_more(subscriber: &mut Subscriber, kind: &str, only: &Received) {
    let deadline = Instant::now() + Duration::from_millis(700);
    while let Some(event) = subscriber
        .next_within(deadline.saturating_duration_since(Instant::now()))
        .await
    {
        assert!(
            event.kind() != kind || event.id() == only.id(),
            "a second {kind}: {:#?}",
            event.event
        );
    }
}

/// Reads the broker until `count` events of type `kind` arrived, as [`receive_reminders`].
async fn receive(subscriber: &mut Subscriber, kind: &str, count: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut reminders = Vec::new();
    while reminders.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let Some(event) = subscriber.next_within(left).await else {
            panic!("{} of {count} {kind} within 30 s", reminders.len());
        };
        if event.kind() == kind && !reminders.iter().any(|r: &Received| r.id() == event.id()) {
            reminders.push(event);
        }
    }
    reminders
}

fn facts(event: &Received) -> Value {
    event.data().clone()
}

async fn subscriber() -> Option<Subscriber> {
    Subscriber::start(Bus::RabbitMq).await
}

async fn users_far_apart_are_reminded_at_eight_in_their_own_evenings(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    // 12:00 UTC on 9 March: 21:00 in Tokyo, 05:00 in Los Angeles (UTC-7 since the 8th).
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (_, tokyo_goal) = user_with_a_streak(&app, 1, "Asia/Tokyo").await;
    let (_, la_goal) = user_with_a_streak(&app, 2, "America/Los_Angeles").await;
    // Both checked in on their 9th: nothing at risk that day, in either zone.
    assert_eq!(app.remind().await.sent, 0);
    app.clock.set(utc(2026, 3, 10, 10, 59));
    assert_eq!(app.remind().await.sent, 0);
    // 20:00 on the 10th in Tokyo.
    app.clock.set(utc(2026, 3, 10, 11, 0));
    let pass = app.remind().await;
    assert!(pass.ran);
    assert_eq!(pass.sent, 1);
    assert_eq!(app.remind().await.sent, 0, "once a day");
    let tokyo = receive_reminders(&mut subscriber, 1).await;
    assert_eq!(
        facts(&tokyo[0]),
        json!({"user_id": 1, "goal_id": tokyo_goal, "streak": 2, "unit": "day", "local_date": "2026-03-10"})
    );
    assert_eq!(tokyo[0].event["subject"], "1");
    // 02:59 UTC on the 11th is 19:59 on the 10th in Los Angeles: not yet.
    app.clock.set(utc(2026, 3, 11, 2, 59));
    assert_eq!(app.remind().await.sent, 0);
    app.clock.set(utc(2026, 3, 11, 3, 0));
    assert_eq!(app.remind().await.sent, 1);
    let la = receive_reminders(&mut subscriber, 1).await;
    assert_eq!(
        facts(&la[0]),
        json!({"user_id": 2, "goal_id": la_goal, "streak": 2, "unit": "day", "local_date": "2026-03-10"})
    );
    assert_eq!(at_risk_count(&app).await, 2);
}

async fn at_risk_count(app: &TestApp) -> i64 {
    app.db
        .scalar(&format!(
            "SELECT COUNT(*) FROM event_outbox WHERE event_type = '{AT_RISK}'"
        ))
        .await
}

async fn a_goal_checked_in_that_day_or_with_no_streak_is_not_reminded_of(backend: Backend) {
    let Some(subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (token, goal) = user_with_a_streak(&app, 1, "UTC").await;
    // A goal without a streak, and a paused one with a streak, are never at risk.
    app.create_goal(1, &token, "Someday").await;
    let (other, paused) = user_with_a_streak(&app, 2, "UTC").await;
    let answer = app
        .put(
            &format!("/users/2/goals/{paused}"),
            Some(&other),
            &json!({"status": "paused"}),
        )
        .await;
    assert_eq!(answer.status(), 200);
    // The 10th: user 1 checks in before 20:00.
    app.clock.set(utc(2026, 3, 10, 9, 0));
    let checkins = format!("/users/1/goals/{goal}/checkins");
    assert_eq!(
        app.post(&checkins, Some(&token), &json!({})).await.status(),
        201
    );
    app.clock.set(utc(2026, 3, 10, 20, 0));
    let pass = app.remind().await;
    assert_eq!((pass.due, pass.sent), (2, 0));
    assert_eq!(at_risk_count(&app).await, 0);
}

async fn a_reminder_goes_out_once_across_two_replicas_and_a_restart(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (_, goal) = user_with_a_streak(&app, 1, "Europe/London").await;
    let replica = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 10, 20, 0));
    // Both replicas' timers fire at once.
    let (first, second) = tokio::join!(app.remind(), replica.remind());
    assert_eq!(first.sent + second.sent, 1, "{first:?} {second:?}");
    assert_eq!(app.remind().await.sent + replica.remind().await.sent, 0);
    // A restart, later that evening, sends nothing again.
    drop(replica);
    let restarted = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 10, 22, 0));
    assert_eq!(restarted.remind().await.sent, 0);
    assert_eq!(at_risk_count(&app).await, 1);
    let received = receive_reminders(&mut subscriber, 1).await;
    assert_eq!(received[0].data()["goal_id"], goal);
    // Only one was published: nothing else comes (the outbox holds exactly one).
    nothing_more(&mut subscriber, AT_RISK, &received[0]).await;
}

async fn a_replica_holding_the_turn_keeps_the_others_out_and_hands_over_when_it_dies(
    backend: Backend,
) {
    if backend != Backend::Postgres {
        // SQLite is served by one process: its scheduler always has the turn.
        return;
    }
    let Some(subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    user_with_a_streak(&app, 1, "Europe/London").await;
    app.clock.set(utc(2026, 3, 10, 20, 0));
    // Another replica's pass holds the lease: this one's pass does nothing.
    let mut other = PgConnection::connect(&app.database_url()).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut other)
        .await
        .unwrap();
    let mut held = other.begin().await.unwrap();
    let lease: Option<String> = sqlx::query_scalar(
        "SELECT name FROM reminder_lease WHERE name = 'reminders' FOR UPDATE SKIP LOCKED",
    )
    .fetch_optional(&mut *held)
    .await
    .unwrap();
    assert!(lease.is_some());
    let pass = app.remind().await;
    assert!(!pass.ran);
    assert_eq!(at_risk_count(&app).await, 0);
    // That replica dies: its connection goes, and the lease with it once the server has
    // ended its session.
    drop(held);
    other.close().await.unwrap();
    eventually("the dead replica's session ended", || async {
        let left = app
            .db
            .scalar(&format!(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = {pid}"
            ))
            .await;
        (left == 0).then_some(())
    })
    .await;
    let pass = app.remind().await;
    assert!(pass.ran);
    assert_eq!(pass.sent, 1);
}

async fn a_stopped_replica_hands_the_schedule_over_to_the_next(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (token, goal) = user_with_a_streak(&app, 1, "Europe/London").await;
    let first = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 10, 20, 0));
    assert_eq!(first.remind().await.sent, 1);
    // The user keeps going on the 10th; the replica that reminded them stops.
    let checkins = format!("/users/1/goals/{goal}/checkins");
    assert_eq!(
        app.post(&checkins, Some(&token), &json!({})).await.status(),
        201
    );
    drop(first);
    let second = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 11, 20, 0));
    assert_eq!(second.remind().await.sent, 1);
    let received = receive_reminders(&mut subscriber, 2).await;
    let days: Vec<&str> = received
        .iter()
        .map(|r| r.data()["local_date"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-03-10", "2026-03-11"]);
    assert_eq!(received[1].data()["streak"], 3);
}

async fn reminders_stop_for_a_goal_or_a_profile_that_opts_out(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (token, kept) = user_with_a_streak(&app, 1, "UTC").await;
    // A second goal with the same streak, whose reminders its owner turns off.
    let quiet = app.create_goal(1, &token, "Quiet").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        app.get(&format!("/users/1/goals/{quiet}"))
            .await
            .json::<Value>()
            .await
            .unwrap()["reminders"],
        true,
        "on by default"
    );
    let checkins = format!("/users/1/goals/{quiet}/checkins");
    for date in ["2026-03-08", "2026-03-09"] {
        let answer = app
            .post(&checkins, Some(&token), &json!({"date": date}))
            .await;
        assert_eq!(answer.status(), 201);
    }
    let off = json_body(
        app.put(
            &format!("/users/1/goals/{quiet}"),
            Some(&token),
            &json!({"reminders": false}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(off["reminders"], false);
    app.clock.set(utc(2026, 3, 10, 20, 0));
    assert_eq!(app.remind().await.sent, 1);
    let received = receive_reminders(&mut subscriber, 1).await;
    assert_eq!(received[0].data()["goal_id"], kept);

    // The whole profile opts out: nothing on the 11th.
    let me = json_body(app.get_as("/users/me", &token).await, 200).await;
    assert_eq!(me["reminders"], true, "on by default");
    let me = json_body(
        app.put("/users/1", Some(&token), &json!({"reminders": false}))
            .await,
        200,
    )
    .await;
    assert_eq!(me["reminders"], false);
    for goal in [kept, quiet] {
        let checkins = format!("/users/1/goals/{goal}/checkins");
        assert_eq!(
            app.post(&checkins, Some(&token), &json!({})).await.status(),
            201
        );
    }
    app.clock.set(utc(2026, 3, 11, 20, 0));
    let pass = app.remind().await;
    assert_eq!(
        (pass.due, pass.sent),
        (0, 0),
        "an opted-out user is not even read"
    );
    for goal in [kept, quiet] {
        let checkins = format!("/users/1/goals/{goal}/checkins");
        assert_eq!(
            app.post(&checkins, Some(&token), &json!({})).await.status(),
            201
        );
    }
    // Back on (null is the default): the 12th's reminder goes out, for the goal left on.
    let me = json_body(
        app.put("/users/1", Some(&token), &json!({"reminders": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(me["reminders"], true);
    app.clock.set(utc(2026, 3, 12, 20, 0));
    assert_eq!(app.remind().await.sent, 1);
    assert_eq!(
        receive_reminders(&mut subscriber, 1).await[0].data()["goal_id"],
        kept
    );
    // Neither setting takes anything but a boolean.
    for (path, body) in [
        ("/users/1".to_owned(), json!({"reminders": "no"})),
        (format!("/users/1/goals/{kept}"), json!({"reminders": null})),
    ] {
        let answer = app.put(&path, Some(&token), &body).await;
        assert_eq!(answer.status(), 422, "{path} {body}");
    }
}

async fn after_downtime_a_day_still_running_is_reminded_of_late_and_an_ended_one_skipped(
    backend: Backend,
) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (_, goal) = user_with_a_streak(&app, 1, "Europe/London").await;
    // The last pass before the outage, at 19:00 on the 10th.
    app.clock.set(utc(2026, 3, 10, 19, 0));
    assert_eq!(app.remind().await.sent, 0);
    // Back at 23:30 the same day (a restart): still the 10th in London, sent late.
    let restarted = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 10, 23, 30));
    assert_eq!(restarted.remind().await.sent, 1);
    let late = receive_reminders(&mut subscriber, 1).await;
    assert_eq!(late[0].data()["local_date"], "2026-03-10");
    assert_eq!(late[0].data()["goal_id"], goal);
    // Down again from 19:00 on the 11th to 08:00 on the 12th: the 11th ended unreminded.
    app.clock.set(utc(2026, 3, 11, 19, 0));
    assert_eq!(restarted.remind().await.sent, 0);
    app.clock.set(utc(2026, 3, 12, 8, 0));
    let pass = restarted.remind().await;
    assert_eq!((pass.sent, pass.skipped), (0, 1));
    assert_eq!(at_risk_count(&app).await, 1);
}

async fn a_weekly_goal_is_reminded_of_when_only_today_or_tomorrow_can_meet_its_target(
    backend: Backend,
) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    // Monday 9 March 2026, in UTC: three days a week, checked in on Monday.
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let token = app.user(1).await;
    let goal = json_body(
        app.post(
            "/users/1/goals",
            Some(&token),
            &json!({"title": "Run", "cadence": "weekly", "days_per_week": 3}),
        )
        .await,
        201,
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let checkins = format!("/users/1/goals/{goal}/checkins");
    assert_eq!(
        app.post(&checkins, Some(&token), &json!({})).await.status(),
        201
    );
    // Two more needed. Thursday evening: four days left, still two to spare.
    app.clock.set(utc(2026, 3, 12, 20, 0));
    assert_eq!(app.remind().await.sent, 0);
    // Friday: three days left (Friday to Sunday); skip today and tomorrow and it is lost.
    app.clock.set(utc(2026, 3, 13, 20, 0));
    assert_eq!(app.remind().await.sent, 1);
    let friday = receive_reminders(&mut subscriber, 1).await;
    assert_eq!(
        facts(&friday[0]),
        json!({"user_id": 1, "goal_id": goal, "streak": 0, "unit": "week", "local_date": "2026-03-13"})
    );
    // Checked in on Saturday: one more needed, on Sunday, the week's last day.
    app.clock.set(utc(2026, 3, 14, 10, 0));
    assert_eq!(
        app.post(&checkins, Some(&token), &json!({})).await.status(),
        201
    );
    app.clock.set(utc(2026, 3, 14, 20, 0));
    assert_eq!(app.remind().await.sent, 0, "checked in that day");
    app.clock.set(utc(2026, 3, 15, 20, 0));
    assert_eq!(app.remind().await.sent, 1);
    assert_eq!(
        receive_reminders(&mut subscriber, 1).await[0].data()["local_date"],
        "2026-03-15"
    );
}

async fn a_user_who_moves_far_away_is_reminded_there_but_never_twice_for_one_day(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (token, goal) = user_with_a_streak(&app, 1, "Asia/Tokyo").await;
    // 20:00 on the 10th in Tokyo.
    app.clock.set(utc(2026, 3, 10, 11, 0));
    assert_eq!(app.remind().await.sent, 1);
    // An hour later the user is in Los Angeles, where it is 05:00 on the 10th.
    app.clock.set(utc(2026, 3, 10, 12, 0));
    let moved = app
        .put(
            "/users/1",
            Some(&token),
            &json!({"timezone": "America/Los_Angeles"}),
        )
        .await;
    assert_eq!(moved.status(), 200);
    assert_eq!(app.remind().await.sent, 0);
    // 20:00 on the 10th there: the streak is still at risk, but the 10th was reminded of.
    app.clock.set(utc(2026, 3, 11, 3, 0));
    let pass = app.remind().await;
    assert_eq!((pass.due, pass.sent), (1, 0));
    // The user checks in on their 10th and 11th goes by: 20:00 on the 11th is a new day.
    app.clock.set(utc(2026, 3, 11, 4, 0));
    let checkins = format!("/users/1/goals/{goal}/checkins");
    assert_eq!(
        app.post(&checkins, Some(&token), &json!({})).await.status(),
        201
    );
    app.clock.set(utc(2026, 3, 12, 3, 0));
    assert_eq!(app.remind().await.sent, 1);
    let received = receive_reminders(&mut subscriber, 2).await;
    let days: Vec<(&str, &Value)> = received
        .iter()
        .map(|r| {
            (
                r.data()["local_date"].as_str().unwrap(),
                &r.data()["streak"],
            )
        })
        .collect();
    assert_eq!(days, [("2026-03-10", &json!(2)), ("2026-03-11", &json!(3))]);
}

/// Users 1 and 2 in `zones`, partnered on daily goals, who both checked in on their today:
/// a shared streak of one day. Returns (partnership, goal of 1, goal of 2).
async fn partners_in(app: &TestApp, zones: [&str; 2]) -> (i64, i64, i64) {
    mutual(app, 1, 2).await;
    set_zone(app, 1, zones[0]).await;
    set_zone(app, 2, zones[1]).await;
    let (a, b) = (daily_goal(app, 1).await, daily_goal(app, 2).await);
    let id = invite(app, 1, a, 2).await;
    json_body(try_accept(app, 2, id, b).await, 200).await;
    check_in(app, 1, a).await;
    check_in(app, 2, b).await;
    (id, a, b)
}

async fn partner_reminders(app: &TestApp) -> i64 {
    app.db
        .scalar(&format!(
            "SELECT COUNT(*) FROM event_outbox WHERE event_type = '{PARTNER_AT_RISK}'"
        ))
        .await
}

async fn a_partner_who_has_not_checked_in_when_the_other_has_is_told_the_shared_streak_is_at_risk(
    backend: Backend,
) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (id, a, b) = partners_in(&app, ["UTC", "UTC"]).await;
    // The 10th: the first partner checks in in the morning, the second does not.
    app.clock.set(utc(2026, 3, 10, 9, 0));
    check_in(&app, 1, a).await;
    app.clock.set(utc(2026, 3, 10, 19, 59));
    assert_eq!(app.remind().await.partners_sent, 0, "not before 20:00");
    app.clock.set(utc(2026, 3, 10, 20, 0));
    let pass = app.remind().await;
    assert_eq!(pass.partners_sent, 1);
    let told = receive(&mut subscriber, PARTNER_AT_RISK, 1).await;
    assert_eq!(
        facts(&told[0]),
        json!({"user_id": 2, "partner_id": 1, "partnership_id": id, "goal_id": b,
               "shared_streak": 1, "unit": "day", "local_date": "2026-03-10"})
    );
    assert_eq!(told[0].event["subject"], "2");
    assert_eq!(
        partner_reminders(&app).await,
        1,
        "the partner who checked in is told nothing"
    );
}

async fn no_partner_is_told_on_a_day_both_or_neither_checked_in(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (id, a, b) = partners_in(&app, ["UTC", "UTC"]).await;
    // The 10th: both check in.
    app.clock.set(utc(2026, 3, 10, 9, 0));
    check_in(&app, 1, a).await;
    check_in(&app, 2, b).await;
    app.clock.set(utc(2026, 3, 10, 20, 0));
    let pass = app.remind().await;
    assert_eq!((pass.due, pass.partners_sent), (2, 0));
    // The 11th: neither by 20:00; the shared streak lives until the day ends.
    app.clock.set(utc(2026, 3, 11, 20, 0));
    let pass = app.remind().await;
    assert_eq!((pass.due, pass.partners_sent), (2, 0));
    app.clock.set(utc(2026, 3, 11, 21, 0));
    check_in(&app, 1, a).await;
    check_in(&app, 2, b).await;
    // The 12th: only the second partner: the first is told.
    app.clock.set(utc(2026, 3, 12, 9, 0));
    check_in(&app, 2, b).await;
    app.clock.set(utc(2026, 3, 12, 20, 0));
    assert_eq!(app.remind().await.partners_sent, 1);
    let told = receive(&mut subscriber, PARTNER_AT_RISK, 1).await;
    assert_eq!(
        facts(&told[0]),
        json!({"user_id": 1, "partner_id": 2, "partnership_id": id, "goal_id": a,
               "shared_streak": 3, "unit": "day", "local_date": "2026-03-12"})
    );
    assert_eq!(partner_reminders(&app).await, 1);
}

async fn a_partners_reminder_goes_out_once_across_two_replicas_and_a_restart(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (id, a, _) = partners_in(&app, ["UTC", "UTC"]).await;
    app.clock.set(utc(2026, 3, 10, 9, 0));
    check_in(&app, 1, a).await;
    let replica = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 10, 20, 0));
    // Both replicas' timers fire at once.
    let (first, second) = tokio::join!(app.remind(), replica.remind());
    assert_eq!(
        first.partners_sent + second.partners_sent,
        1,
        "{first:?} {second:?}"
    );
    assert_eq!(
        app.remind().await.partners_sent + replica.remind().await.partners_sent,
        0
    );
    // A restart later that evening, after the second partner's move to a zone where it is
    // the same day (scheduled anew, so due again): the key keeps the day from a second one.
    drop(replica);
    let restarted = app
        .start_again_with(|c| subscriber.configure(&mut c.events))
        .await;
    app.clock.set(utc(2026, 3, 10, 22, 0));
    set_zone(&app, 2, "Europe/Lisbon").await;
    let pass = restarted.remind().await;
    assert_eq!((pass.due, pass.partners_sent), (1, 0));
    assert_eq!(partner_reminders(&app).await, 1);
    let received = receive(&mut subscriber, PARTNER_AT_RISK, 1).await;
    assert_eq!(received[0].data()["partnership_id"], id);
    nothing_more(&mut subscriber, PARTNER_AT_RISK, &received[0]).await;
}

async fn a_partner_who_turned_reminders_off_for_the_goal_or_the_profile_is_not_told(
    backend: Backend,
) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (_, a, b) = partners_in(&app, ["UTC", "UTC"]).await;
    let second = token(2);
    let set = |path: String, on: Value| {
        let app = &app;
        let second = &second;
        async move {
            let answer = app
                .put(&path, Some(second), &json!({"reminders": on}))
                .await;
            assert_eq!(answer.status(), 200, "{path} {on}");
        }
    };
    // Each day the first partner checks in in the morning, the second after 20:00.
    let day = |d: u32| {
        let app = &app;
        async move {
            app.clock.set(utc(2026, 3, d, 9, 0));
            check_in(app, 1, a).await;
            app.clock.set(utc(2026, 3, d, 20, 0));
            let pass = app.remind().await;
            app.clock.set(utc(2026, 3, d, 21, 0));
            check_in(app, 2, b).await;
            pass.partners_sent
        }
    };
    set(format!("/users/2/goals/{b}"), json!(false)).await;
    assert_eq!(day(10).await, 0, "the goal's reminders are off");
    set(format!("/users/2/goals/{b}"), json!(true)).await;
    set("/users/2".to_owned(), json!(false)).await;
    assert_eq!(day(11).await, 0, "the profile's reminders are off");
    set("/users/2".to_owned(), Value::Null).await;
    assert_eq!(day(12).await, 1, "both back on");
    let told = receive(&mut subscriber, PARTNER_AT_RISK, 1).await;
    assert_eq!(told[0].data()["user_id"], 2);
    assert_eq!(told[0].data()["local_date"], "2026-03-12");
    assert_eq!(told[0].data()["shared_streak"], 3);
    assert_eq!(partner_reminders(&app).await, 1);
}

async fn partners_far_apart_are_each_told_at_eight_in_their_own_evening(backend: Backend) {
    let Some(mut subscriber) = subscriber().await else {
        return;
    };
    // 12:00 UTC on 9 March: 21:00 in Tokyo, 05:00 in Los Angeles (UTC-7 since the 8th);
    // both check in on their 9th.
    let app = app_publishing_to(backend, &subscriber, utc(2026, 3, 9, 12, 0)).await;
    let (id, a, b) = partners_in(&app, ["Asia/Tokyo", "America/Los_Angeles"]).await;
    // 03:00 on the 10th in Los Angeles: the second partner checks in on their 10th.
    app.clock.set(utc(2026, 3, 10, 10, 0));
    check_in(&app, 2, b).await;
    app.clock.set(utc(2026, 3, 10, 10, 59));
    assert_eq!(app.remind().await.partners_sent, 0);
    // 20:00 on the 10th in Tokyo, 04:00 in Los Angeles: the first partner is told.
    app.clock.set(utc(2026, 3, 10, 11, 0));
    assert_eq!(app.remind().await.partners_sent, 1);
    let tokyo = receive(&mut subscriber, PARTNER_AT_RISK, 1).await;
    assert_eq!(
        facts(&tokyo[0]),
        json!({"user_id": 1, "partner_id": 2, "partnership_id": id, "goal_id": a,
               "shared_streak": 1, "unit": "day", "local_date": "2026-03-10"})
    );
    // 21:00 in Tokyo: the first partner checks in on their 10th; at 09:00 on their 11th
    // (midnight UTC), on their 11th.
    app.clock.set(utc(2026, 3, 10, 12, 0));
    check_in(&app, 1, a).await;
    app.clock.set(utc(2026, 3, 11, 0, 0));
    check_in(&app, 1, a).await;
    // 20:00 on the 10th in Los Angeles: checked in that day, nothing.
    app.clock.set(utc(2026, 3, 11, 3, 0));
    assert_eq!(app.remind().await.partners_sent, 0);
    // 20:00 on the 11th in Tokyo: checked in, nothing.
    app.clock.set(utc(2026, 3, 11, 11, 0));
    assert_eq!(app.remind().await.partners_sent, 0);
    // 20:00 on the 11th in Los Angeles (12:00 on the 12th in Tokyo): the second is told.
    app.clock.set(utc(2026, 3, 12, 2, 59));
    assert_eq!(app.remind().await.partners_sent, 0);
    app.clock.set(utc(2026, 3, 12, 3, 0));
    assert_eq!(app.remind().await.partners_sent, 1);
    let la = receive(&mut subscriber, PARTNER_AT_RISK, 1).await;
    assert_eq!(
        facts(&la[0]),
        json!({"user_id": 2, "partner_id": 1, "partnership_id": id, "goal_id": b,
               "shared_streak": 2, "unit": "day", "local_date": "2026-03-11"})
    );
    assert_eq!(partner_reminders(&app).await, 2);
}

crate::backend_tests!(
    users_far_apart_are_reminded_at_eight_in_their_own_evenings,
    a_goal_checked_in_that_day_or_with_no_streak_is_not_reminded_of,
    a_reminder_goes_out_once_across_two_replicas_and_a_restart,
    a_replica_holding_the_turn_keeps_the_others_out_and_hands_over_when_it_dies,
    a_stopped_replica_hands_the_schedule_over_to_the_next,
    reminders_stop_for_a_goal_or_a_profile_that_opts_out,
    after_downtime_a_day_still_running_is_reminded_of_late_and_an_ended_one_skipped,
    a_weekly_goal_is_reminded_of_when_only_today_or_tomorrow_can_meet_its_target,
    a_user_who_moves_far_away_is_reminded_there_but_never_twice_for_one_day,
    a_partner_who_has_not_checked_in_when_the_other_has_is_told_the_shared_streak_is_at_risk,
    no_partner_is_told_on_a_day_both_or_neither_checked_in,
    a_partners_reminder_goes_out_once_across_two_replicas_and_a_restart,
    a_partner_who_turned_reminders_off_for_the_goal_or_the_profile_is_not_told,
    partners_far_apart_are_each_told_at_eight_in_their_own_evening,
);
