//! What a private section still gave away: the stats. A figure drawn from a private section
//! is null for everyone but the owner, and `last_active_at` counts only the events the
//! caller may see; the check-ins page reads only the user's own check-ins.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, codes, json_body, token};

const GOAL_FIGURES: &[&str] = &[
    "goals_total",
    "goals_by_status",
    "checkins_total",
    "active_days_30",
    "best_current_streak",
    "longest_streak",
];

async fn stats_leave_out_what_private_sections_hold_for_everyone_but_the_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let goal = app.create_goal(1, &ada, "Secret plan").await;
    // A visible change, then, later, a check-in others may not see.
    app.clock.advance(TimeDelta::minutes(5));
    let private = json!({"visibility": {"goals": "private"}});
    json_body(app.put("/users/1", Some(&ada), &private).await, 200).await;
    let visible_at =
        json_body(app.get("/users/1/activity?limit=1").await, 200).await[0]["occurred_at"].clone();
    app.clock.advance(TimeDelta::minutes(5));
    json_body(
        app.post(
            &format!("/users/1/goals/{}/checkins", goal["id"]),
            Some(&ada),
            &json!({}),
        )
        .await,
        201,
    )
    .await;

    for caller in [None, Some(bob.as_str())] {
        let stats = match caller {
            Some(token) => json_body(app.get_as("/users/1/stats", token).await, 200).await,
            None => json_body(app.get("/users/1/stats").await, 200).await,
        };
        for figure in GOAL_FIGURES {
            assert_eq!(stats[figure], Value::Null, "{figure}: {stats}");
        }
        assert_eq!(stats["badges_count"], 1, "badges are public: {stats}");
        assert_eq!(stats["last_active_at"], visible_at, "{stats}");
    }
    let own = json_body(app.get_as("/users/1/stats", &ada).await, 200).await;
    assert_eq!(own["goals_total"], 1);
    assert_eq!(own["checkins_total"], 1);
    assert_eq!(own["best_current_streak"], 1);
    assert_ne!(
        own["last_active_at"], visible_at,
        "the owner sees the check-in"
    );

    let all_private = json!({"visibility": {"badges": "private", "activity": "private"}});
    json_body(app.put("/users/1", Some(&ada), &all_private).await, 200).await;
    let stats = json_body(app.get("/users/1/stats").await, 200).await;
    assert_eq!(stats["badges_count"], Value::Null);
    assert_eq!(stats["last_active_at"], Value::Null);
    let own = json_body(app.get_as("/users/1/stats", &ada).await, 200).await;
    assert_eq!(own["badges_count"], 1);
    assert!(own["last_active_at"].is_string());
}

async fn a_badge_earned_by_a_streak_shows_in_a_public_badges_section(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = app.create_goal(1, &ada, "Secret plan").await;
    json_body(
        app.put(
            "/users/1",
            Some(&ada),
            &json!({"visibility": {"goals": "private"}}),
        )
        .await,
        200,
    )
    .await;
    let checkins = format!("/users/1/goals/{}/checkins", goal["id"]);
    for day in ["2026-03-09", "2026-03-10"] {
        json_body(
            app.post(&checkins, Some(&ada), &json!({"date": day})).await,
            201,
        )
        .await;
    }
    app.clock.advance(TimeDelta::days(1));
    json_body(app.post(&checkins, Some(&ada), &json!({})).await, 201).await;

    let badges = json_body(app.get("/users/1/badges").await, 200).await;
    let codes = codes(&badges);
    assert!(codes.contains(&"streak-3"), "{codes:?}");
    crate::helpers::problem(app.get("/users/1/goals").await, 404).await;
    assert_eq!(
        json_body(app.get_as("/users/1/goals", &token(1)).await, 200).await[0]["streak_count"],
        3
    );
}

crate::backend_tests!(
    stats_leave_out_what_private_sections_hold_for_everyone_but_the_owner,
    a_badge_earned_by_a_streak_shows_in_a_public_badges_section,
);
