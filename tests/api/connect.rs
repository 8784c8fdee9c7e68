//! Connect: follows, follow requests, the third visibility (`followers`), blocks and mutes,
//! seen through HTTP on both backends.

use chrono::TimeDelta;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::{
    auth_events::rows_of,
    cli::{command, run},
    helpers::{Backend, TestApp, error_fields, json_body, next_link, problem, token},
};

async fn send(app: &TestApp, method: Method, path: &str, caller: &str) -> Response {
    app.request(method, path, Some(caller))
        .send()
        .await
        .expect("request")
}

async fn status(app: &TestApp, method: Method, path: &str, caller: Option<&str>) -> u16 {
    app.request(method, path, caller)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn follow(app: &TestApp, user: i64, target: i64) -> u16 {
    let path = format!("/users/{user}/following/{target}");
    status(app, Method::PUT, &path, Some(&token(user))).await
}

async fn profile(app: &TestApp, user: i64) -> Value {
    json_body(app.get(&format!("/users/{user}")).await, 200).await
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect()
}

async fn a_follow_is_idempotent_counted_and_listed_and_an_unfollow_undoes_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.user(2).await;

    for _ in 0..2 {
        assert_eq!(
            follow(&app, 1, 2).await,
            204,
            "a repeated follow answers the same"
        );
    }
    assert_eq!(
        status(&app, Method::GET, "/users/1/following/2", None).await,
        204
    );
    assert_eq!(
        status(&app, Method::GET, "/users/2/following/1", None).await,
        404
    );
    let (bob, ada_profile) = (profile(&app, 2).await, profile(&app, 1).await);
    assert_eq!(bob["followers_count"], 1, "{bob}");
    assert_eq!(bob["following_count"], 0);
    assert_eq!(ada_profile["following_count"], 1);
    assert_eq!(bob["links"]["followers"], "/users/2/followers");
    assert_eq!(bob["links"]["following"], "/users/2/following");

    let followers = json_body(app.get("/users/2/followers").await, 200).await;
    assert_eq!(ids(&followers), [1]);
    let item = &followers[0];
    assert_eq!(item["username"], "user1");
    assert!(item["followed_at"].is_string(), "{item}");
    let mut keys: Vec<_> = item.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "avatar_url",
            "display_name",
            "followed_at",
            "id",
            "username"
        ]
    );
    let following = json_body(app.get("/users/1/following").await, 200).await;
    assert_eq!(ids(&following), [2]);

    for _ in 0..2 {
        let unfollow = send(&app, Method::DELETE, "/users/1/following/2", &ada).await;
        assert_eq!(unfollow.status(), 204);
    }
    assert_eq!(
        status(&app, Method::GET, "/users/1/following/2", None).await,
        404
    );
    assert_eq!(profile(&app, 2).await["followers_count"], 0);
    assert_eq!(profile(&app, 1).await["following_count"], 0);
    let followers = json_body(app.get("/users/2/followers").await, 200).await;
    assert_eq!(followers, json!([]));
}

async fn following_oneself_an_unknown_or_a_deactivated_user_or_as_someone_else_is_refused(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.user(3).await;
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 3")
        .await;

    for path in [
        "/users/1/following/1",
        "/users/1/blocks/1",
        "/users/1/mutes/1",
        "/users/1/followers/1",
    ] {
        let oneself = problem(send(&app, Method::PUT, path, &ada).await, 422).await;
        assert_eq!(error_fields(&oneself), ["target_id"], "PUT {path}");
        // Nobody follows, blocks or mutes themselves: nothing to take back.
        let undone = send(&app, Method::DELETE, path, &ada).await;
        assert_eq!(undone.status(), 204, "DELETE {path}");
    }
    let unknown = problem(
        send(&app, Method::PUT, "/users/1/following/2", &ada).await,
        404,
    )
    .await;
    let deactivated = problem(
        send(&app, Method::PUT, "/users/1/following/3", &ada).await,
        404,
    )
    .await;
    assert_eq!(
        unknown, deactivated,
        "a deactivated user is answered as unknown"
    );
    assert_eq!(
        status(&app, Method::PUT, "/users/2/following/1", Some(&ada)).await,
        403
    );
    assert_eq!(
        status(&app, Method::PUT, "/users/1/following/2", None).await,
        401
    );
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM follows").await, 0);
}

async fn the_five_thousand_and_first_follow_is_refused_naming_the_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    app.db
        .execute("INSERT INTO follow_counts (user_id, followers, following) VALUES (1, 0, 5000)")
        .await;
    let refused = problem(
        send(&app, Method::PUT, "/users/1/following/2", &token(1)).await,
        422,
    )
    .await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("5000"),
        "{refused}"
    );
    assert_eq!(profile(&app, 2).await["followers_count"], 0);
    app.db
        .execute("UPDATE follow_counts SET following = 4999 WHERE user_id = 1")
        .await;
    assert_eq!(follow(&app, 1, 2).await, 204);
}

async fn more_than_a_thousand_connect_writes_a_day_are_answered_429_until_midnight(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    // The test clock reads 2026-03-10 12:00 UTC: twelve hours to the next day.
    app.db
        .execute(
            "INSERT INTO daily_writes (user_id, kind, day, writes) \
             VALUES (1, 'connect', '2026-03-10', 999)",
        )
        .await;
    assert_eq!(follow(&app, 1, 2).await, 204, "the thousandth write");
    let refused = send(&app, Method::DELETE, "/users/1/following/2", &token(1)).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "43200");
    assert_eq!(
        profile(&app, 2).await["followers_count"],
        1,
        "a refused write writes nothing"
    );
    for path in ["/users/1/blocks/2", "/users/1/mutes/2"] {
        assert_eq!(
            status(&app, Method::PUT, path, Some(&token(1))).await,
            429,
            "{path}"
        );
    }
    app.clock.advance(TimeDelta::hours(12));
    let unfollow = send(&app, Method::DELETE, "/users/1/following/2", &token(1)).await;
    assert_eq!(unfollow.status(), 204, "a new day, a new quota");
}

/// The owner (1), a follower (2), another signed-in user (3), a user the owner blocked
/// after they followed (4), and nobody signed in.
const VIEWERS: [(&str, Option<i64>); 5] = [
    ("owner", Some(1)),
    ("follower", Some(2)),
    ("other", Some(3)),
    ("blocked", Some(4)),
    ("anonymous", None),
];

async fn each_section_at_each_visibility_is_seen_by_the_owner_and_whom_it_admits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner = app.user(1).await;
    for id in 2..=4 {
        app.user(id).await;
    }
    for follower in [2, 4] {
        assert_eq!(follow(&app, follower, 1).await, 204);
    }
    let goal = app.create_goal(1, &owner, "Learn Rust").await;
    let goal_path = format!("/users/1/goals/{}", goal["id"]);
    assert_eq!(
        status(&app, Method::PUT, "/users/1/blocks/4", Some(&owner)).await,
        204
    );
    let sections: [(&str, Vec<String>, &str); 5] = [
        (
            "goals",
            vec![
                "/users/1/goals".into(),
                goal_path.clone(),
                format!("{goal_path}/checkins"),
                "/users/1/heatmap".into(),
            ],
            "goals",
        ),
        ("badges", vec!["/users/1/badges".into()], "badges"),
        ("activity", vec!["/users/1/activity".into()], "activity"),
        ("stats", vec!["/users/1/stats".into()], "stats"),
        (
            "connections",
            vec!["/users/1/followers".into(), "/users/1/following".into()],
            "followers",
        ),
    ];
    for (section, paths, link) in &sections {
        for visibility in ["public", "followers", "private"] {
            let change = json!({"visibility": {*section: visibility}});
            json_body(app.put("/users/1", Some(&owner), &change).await, 200).await;
            for (viewer, id) in VIEWERS {
                let sees = matches!(
                    (visibility, viewer),
                    (_, "owner") | ("public", _) | ("followers", "follower")
                );
                let caller = id.map(token);
                for path in paths {
                    let got = status(&app, Method::GET, path, caller.as_deref()).await;
                    let expected = if sees { 200 } else { 404 };
                    assert_eq!(
                        got, expected,
                        "{section} {visibility}, {viewer}: GET {path}"
                    );
                }
                let seen_profile = match &caller {
                    Some(caller) => json_body(app.get_as("/users/1", caller).await, 200).await,
                    None => profile(&app, 1).await,
                };
                assert_eq!(
                    seen_profile["links"].get(*link).is_some(),
                    sees,
                    "{section} {visibility}, {viewer}: the profile's links {seen_profile}"
                );
            }
            json_body(
                app.put(
                    "/users/1",
                    Some(&owner),
                    &json!({"visibility": {*section: "public"}}),
                )
                .await,
                200,
            )
            .await;
        }
    }
    // The card draws public sections alone, whoever asks.
    let change = json!({"visibility": {"goals": "followers"}});
    json_body(app.put("/users/1", Some(&owner), &change).await, 200).await;
    let card = app
        .get_as("/users/1/card.svg", &token(2))
        .await
        .text()
        .await
        .unwrap();
    assert!(!card.contains("Learn Rust"), "{card}");
}

async fn a_follower_sees_followers_sections_in_the_stats_and_activity_and_loses_them_on_unfollow(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let owner = app.user(1).await;
    let bob = app.user(2).await;
    app.create_goal(1, &owner, "Secret plan").await;
    let change = json!({"visibility": {"goals": "followers"}});
    json_body(app.put("/users/1", Some(&owner), &change).await, 200).await;
    assert_eq!(follow(&app, 2, 1).await, 204);

    let stats = json_body(app.get_as("/users/1/stats", &bob).await, 200).await;
    assert_eq!(stats["goals_total"], 1, "{stats}");
    let activity = json_body(app.get_as("/users/1/activity", &bob).await, 200).await;
    assert!(
        activity
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["type"] == "goal_created"),
        "{activity}"
    );

    assert_eq!(
        send(&app, Method::DELETE, "/users/2/following/1", &bob)
            .await
            .status(),
        204
    );
    let stats = json_body(app.get_as("/users/1/stats", &bob).await, 200).await;
    assert_eq!(stats["goals_total"], Value::Null, "{stats}");
    let activity = json_body(app.get_as("/users/1/activity", &bob).await, 200).await;
    assert!(
        activity
            .as_array()
            .unwrap()
            .iter()
            .all(|event| event["type"] != "goal_created"),
        "{activity}"
    );
    assert_eq!(
        status(&app, Method::GET, "/users/1/goals", Some(&bob)).await,
        404
    );
}

async fn with_approval_a_follow_is_a_request_the_target_approves_or_declines(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let cy = app.user(3).await;
    let change = json!({"follow_policy": "approval", "visibility": {"goals": "followers"}});
    let own = json_body(app.put("/users/1", Some(&ada), &change).await, 200).await;
    assert_eq!(own["follow_policy"], "approval");
    assert_eq!(profile(&app, 1).await["follow_policy"], "approval");

    for _ in 0..2 {
        let asked = send(&app, Method::PUT, "/users/2/following/1", &bob).await;
        assert_eq!(json_body(asked, 202).await, json!({"status": "requested"}));
    }
    let asked = send(&app, Method::PUT, "/users/3/following/1", &cy).await;
    assert_eq!(asked.status(), 202);
    assert_eq!(
        status(&app, Method::GET, "/users/2/following/1", None).await,
        404,
        "a request is not a follow"
    );
    assert_eq!(profile(&app, 1).await["followers_count"], 0);
    assert_eq!(
        status(&app, Method::GET, "/users/1/goals", Some(&bob)).await,
        404
    );
    let requests = json_body(app.get_as("/users/1/follow-requests", &ada).await, 200).await;
    assert_eq!(ids(&requests), [3, 2], "newest first");
    assert!(requests[0]["requested_at"].is_string());
    for caller in [Some(bob.as_str()), None] {
        let got = status(&app, Method::GET, "/users/1/follow-requests", caller).await;
        assert_eq!(got, if caller.is_some() { 403 } else { 401 });
    }

    assert_eq!(
        send(&app, Method::PUT, "/users/1/followers/2", &ada)
            .await
            .status(),
        204
    );
    assert_eq!(
        send(&app, Method::PUT, "/users/1/followers/2", &ada)
            .await
            .status(),
        204,
        "approving a follower again changes nothing"
    );
    assert_eq!(profile(&app, 1).await["followers_count"], 1);
    assert_eq!(
        status(&app, Method::GET, "/users/1/goals", Some(&bob)).await,
        200
    );
    assert_eq!(
        send(&app, Method::DELETE, "/users/1/followers/3", &ada)
            .await
            .status(),
        204,
        "declined"
    );
    let requests = json_body(app.get_as("/users/1/follow-requests", &ada).await, 200).await;
    assert_eq!(requests, json!([]));
    assert_eq!(
        send(&app, Method::PUT, "/users/1/followers/3", &ada)
            .await
            .status(),
        404,
        "nothing left to approve"
    );

    assert_eq!(
        send(&app, Method::DELETE, "/users/1/followers/2", &ada)
            .await
            .status(),
        204,
        "a follower removed"
    );
    assert_eq!(profile(&app, 1).await["followers_count"], 0);
    assert_eq!(profile(&app, 2).await["following_count"], 0);
    assert_eq!(
        status(&app, Method::GET, "/users/1/goals", Some(&bob)).await,
        404,
        "a removed follower loses access on the next request"
    );
}

async fn opening_a_profile_that_asked_for_approval_approves_every_pending_request(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let change = json!({"follow_policy": "approval"});
    json_body(app.put("/users/1", Some(&ada), &change).await, 200).await;
    for id in 2..=5 {
        app.user(id).await;
        assert_eq!(follow(&app, id, 1).await, 202);
    }
    // An asker deactivated since: approved with the rest, counted once reactivated.
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 5")
        .await;
    let own = json_body(
        app.put("/users/1", Some(&ada), &json!({"follow_policy": null}))
            .await,
        200,
    )
    .await;
    assert_eq!(own["follow_policy"], "open");
    assert_eq!(own["followers_count"], 3, "{own}");
    let followers = json_body(app.get("/users/1/followers").await, 200).await;
    assert_eq!(ids(&followers).len(), 3);
    for id in 2..=4 {
        assert_eq!(profile(&app, id).await["following_count"], 1);
    }
    let requests = json_body(app.get_as("/users/1/follow-requests", &ada).await, 200).await;
    assert_eq!(requests, json!([]));
    app.db
        .execute("UPDATE users SET is_active = TRUE WHERE id = 5")
        .await;
    assert_eq!(profile(&app, 1).await["followers_count"], 4);
    assert_eq!(profile(&app, 5).await["following_count"], 1);
}

async fn a_block_ends_the_follows_both_ways_and_the_blocked_user_cannot_follow_again(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    assert_eq!(follow(&app, 1, 2).await, 204);
    assert_eq!(follow(&app, 2, 1).await, 204);
    let change = json!({"visibility": {"activity": "followers"}});
    json_body(app.put("/users/1", Some(&ada), &change).await, 200).await;
    assert_eq!(
        status(&app, Method::GET, "/users/1/activity", Some(&bob)).await,
        200
    );

    for _ in 0..2 {
        let blocked = send(&app, Method::PUT, "/users/1/blocks/2", &ada).await;
        assert_eq!(blocked.status(), 204);
    }
    for id in [1, 2] {
        let seen = profile(&app, id).await;
        assert_eq!(seen["followers_count"], 0, "{seen}");
        assert_eq!(seen["following_count"], 0, "{seen}");
    }
    let unknown = problem(
        send(&app, Method::PUT, "/users/2/following/99", &bob).await,
        404,
    )
    .await;
    let refused = problem(
        send(&app, Method::PUT, "/users/2/following/1", &bob).await,
        404,
    )
    .await;
    assert_eq!(
        refused, unknown,
        "the blocked user is answered as for an unknown user"
    );
    assert_eq!(
        follow(&app, 1, 2).await,
        404,
        "nor may the blocker follow while the block stands"
    );
    assert_eq!(
        status(&app, Method::GET, "/users/1/activity", Some(&bob)).await,
        404,
        "a followers section is closed to the blocked user"
    );
    assert_eq!(
        status(&app, Method::GET, "/users/1/goals", Some(&bob)).await,
        200,
        "a public section stays public to everyone"
    );
    let blocks = json_body(app.get_as("/users/1/blocks", &ada).await, 200).await;
    assert_eq!(ids(&blocks), [2]);
    assert!(blocks[0]["since"].is_string());
    assert_eq!(
        status(&app, Method::GET, "/users/1/blocks", Some(&bob)).await,
        403,
        "nobody but the blocker sees the block"
    );
    let bob_view = json_body(app.get_as("/users/1", &bob).await, 200).await;
    assert!(!bob_view.to_string().contains("block"), "{bob_view}");

    assert_eq!(
        send(&app, Method::DELETE, "/users/1/blocks/2", &ada)
            .await
            .status(),
        204
    );
    let blocks = json_body(app.get_as("/users/1/blocks", &ada).await, 200).await;
    assert_eq!(blocks, json!([]));
    assert_eq!(follow(&app, 2, 1).await, 204, "unblocked, they may follow");
}

async fn a_mute_changes_nothing_the_muted_user_can_see(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    assert_eq!(follow(&app, 2, 1).await, 204);
    assert_eq!(follow(&app, 1, 2).await, 204);
    let before = json_body(app.get_as("/users/1", &bob).await, 200).await;
    for _ in 0..2 {
        let muted = send(&app, Method::PUT, "/users/1/mutes/2", &ada).await;
        assert_eq!(muted.status(), 204);
    }
    let mutes = json_body(app.get_as("/users/1/mutes", &ada).await, 200).await;
    assert_eq!(ids(&mutes), [2]);
    assert_eq!(
        status(&app, Method::GET, "/users/1/mutes", Some(&bob)).await,
        403
    );
    let after = json_body(app.get_as("/users/1", &bob).await, 200).await;
    assert_eq!(before, after, "the muted user sees the same profile");
    assert_eq!(
        status(&app, Method::GET, "/users/2/following/1", None).await,
        204
    );
    assert_eq!(
        send(&app, Method::DELETE, "/users/1/mutes/2", &ada)
            .await
            .status(),
        204
    );
    let mutes = json_body(app.get_as("/users/1/mutes", &ada).await, 200).await;
    assert_eq!(mutes, json!([]));
}

async fn the_lists_page_newest_first_by_keyset_with_a_link_to_the_next(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    for id in 2..=6 {
        app.user(id).await;
        assert_eq!(follow(&app, id, 1).await, 204);
        app.clock.advance(TimeDelta::seconds(1));
    }
    // Two follows in the same microsecond are told apart by the follower's id.
    app.user(7).await;
    app.user(8).await;
    assert_eq!(follow(&app, 7, 1).await, 204);
    assert_eq!(follow(&app, 8, 1).await, 204);

    let mut seen = Vec::new();
    let mut path = "/users/1/followers?limit=2".to_owned();
    loop {
        let page = app.get(&path).await;
        let next = next_link(&page);
        let items = json_body(page, 200).await;
        assert!(ids(&items).len() <= 2);
        seen.extend(ids(&items));
        match next {
            Some(link) => path = link,
            None => break,
        }
    }
    assert_eq!(seen, [8, 7, 6, 5, 4, 3, 2]);
    assert_eq!(
        status(&app, Method::GET, "/users/1/followers?cursor=nope", None).await,
        400
    );
    assert_eq!(
        status(&app, Method::GET, "/users/1/followers?limit=101", None).await,
        400
    );
}

async fn a_deactivated_user_leaves_the_lists_and_counts_and_comes_back_when_reactivated(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    for id in 1..=4 {
        app.user(id).await;
    }
    assert_eq!(follow(&app, 2, 1).await, 204);
    assert_eq!(follow(&app, 3, 1).await, 204);
    assert_eq!(follow(&app, 1, 2).await, 204);
    assert_eq!(follow(&app, 4, 2).await, 204);
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 2")
        .await;
    let followers = json_body(app.get("/users/1/followers").await, 200).await;
    assert_eq!(ids(&followers), [3]);
    let ada = profile(&app, 1).await;
    assert_eq!(ada["followers_count"], 1, "{ada}");
    assert_eq!(ada["following_count"], 0, "{ada}");
    assert_eq!(profile(&app, 4).await["following_count"], 0);
    assert_eq!(
        status(&app, Method::GET, "/users/2/followers", None).await,
        404
    );
    app.db
        .execute("UPDATE users SET is_active = TRUE WHERE id = 2")
        .await;
    let followers = json_body(app.get("/users/1/followers").await, 200).await;
    assert_eq!(ids(&followers), [3, 2]);
    let ada = profile(&app, 1).await;
    assert_eq!(ada["followers_count"], 2, "{ada}");
    assert_eq!(ada["following_count"], 1, "{ada}");
    assert_eq!(profile(&app, 4).await["following_count"], 1);
    assert_eq!(profile(&app, 2).await["followers_count"], 2);

    // Deactivated, then erased: the counts move once, not twice.
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 2")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "2"]);
    let output = tokio::task::spawn_blocking(move || run(&mut erase))
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let ada = profile(&app, 1).await;
    assert_eq!(ada["followers_count"], 1, "{ada}");
    assert_eq!(ada["following_count"], 0, "{ada}");
    assert_eq!(profile(&app, 4).await["following_count"], 0);
}

async fn an_erasure_removes_the_users_follows_requests_blocks_and_mutes_and_corrects_counts(
    backend: Backend,
) {
    let app = TestApp::builder(backend)
        // Events on, with no broker to take them: what the outbox holds can be read.
        .config(|config| config.events.events_url = Some("amqp://127.0.0.1:9/".into()))
        .spawn()
        .await;
    for id in 1..=4 {
        app.user(id).await;
    }
    let dana = token(4);
    json_body(
        app.put(
            "/users/4",
            Some(&dana),
            &json!({"follow_policy": "approval"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(follow(&app, 1, 2).await, 204);
    assert_eq!(follow(&app, 3, 1).await, 204);
    assert_eq!(follow(&app, 1, 4).await, 202);
    for path in ["/users/1/blocks/3", "/users/1/mutes/2", "/users/2/mutes/1"] {
        let owner = path.split('/').nth(2).unwrap().parse().unwrap();
        assert_eq!(
            status(&app, Method::PUT, path, Some(&token(owner))).await,
            204
        );
    }
    assert_eq!(follow(&app, 2, 1).await, 204);
    let events_naming_ada = "SELECT COUNT(*) FROM event_outbox \
         WHERE event_type LIKE 'follow.%' AND data LIKE '%\"follower_id\":1}'";
    assert!(app.db.scalar(events_naming_ada).await > 0);

    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "1"]);
    let output = tokio::task::spawn_blocking(move || run(&mut erase))
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    for table in [
        "SELECT COUNT(*) FROM follows WHERE follower_id = 1 OR followee_id = 1",
        "SELECT COUNT(*) FROM blocks WHERE blocker_id = 1 OR blocked_id = 1",
        "SELECT COUNT(*) FROM mutes WHERE muter_id = 1 OR muted_id = 1",
        events_naming_ada,
    ] {
        assert_eq!(app.db.scalar(table).await, 0, "{table}");
    }
    for (table, count) in rows_of(&app, 1).await {
        assert_eq!(count, 0, "{table} still holds user 1");
    }
    let bob = profile(&app, 2).await;
    assert_eq!(bob["followers_count"], 0, "{bob}");
    assert_eq!(bob["following_count"], 0, "{bob}");
    let followers = json_body(app.get("/users/2/followers").await, 200).await;
    assert_eq!(followers, json!([]));
    let requests = json_body(app.get_as("/users/4/follow-requests", &dana).await, 200).await;
    assert_eq!(requests, json!([]));
}

async fn a_follow_announces_itself_and_earns_the_followed_user_their_badges(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|config| config.events.events_url = Some("amqp://127.0.0.1:9/".into()))
        .spawn()
        .await;
    app.user(1).await;
    for id in 2..=11 {
        app.user(id).await;
        assert_eq!(follow(&app, id, 1).await, 204);
    }
    let badges = json_body(app.get("/users/1/badges").await, 200).await;
    let codes: Vec<&str> = badges
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"first-follower"), "{badges}");
    assert!(codes.contains(&"followers-10"), "{badges}");
    assert!(!codes.contains(&"followers-100"), "{badges}");
    assert_eq!(
        app.db
            .scalar(
                "SELECT COUNT(*) FROM event_outbox WHERE event_type = 'follow.created.v1' \
                 AND user_id = 1"
            )
            .await,
        10
    );
    let data = app
        .db
        .text(
            "SELECT data FROM event_outbox WHERE event_type = 'follow.created.v1' \
             ORDER BY seq LIMIT 1",
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap(),
        json!({"user_id": 1, "follower_id": 2})
    );

    let ada = token(1);
    json_body(
        app.put(
            "/users/1",
            Some(&ada),
            &json!({"follow_policy": "approval"}),
        )
        .await,
        200,
    )
    .await;
    app.user(12).await;
    assert_eq!(follow(&app, 12, 1).await, 202);
    let requested = "SELECT COUNT(*) FROM event_outbox WHERE event_type = 'follow.requested.v1'";
    assert_eq!(app.db.scalar(requested).await, 1);
    let before = app.db.scalar("SELECT COUNT(*) FROM event_outbox").await;
    let bob = token(2);
    for (method, path, caller) in [
        (Method::DELETE, "/users/2/following/1", &bob),
        (Method::PUT, "/users/1/blocks/3", &ada),
        (Method::PUT, "/users/1/mutes/4", &ada),
        (Method::DELETE, "/users/1/followers/5", &ada),
    ] {
        assert_eq!(
            send(&app, method, path, caller).await.status(),
            204,
            "{path}"
        );
    }
    assert_eq!(
        app.db.scalar("SELECT COUNT(*) FROM event_outbox").await,
        before,
        "an unfollow, a block, a mute and a removal publish nothing"
    );
}

crate::backend_tests!(
    a_follow_is_idempotent_counted_and_listed_and_an_unfollow_undoes_it,
    following_oneself_an_unknown_or_a_deactivated_user_or_as_someone_else_is_refused,
    the_five_thousand_and_first_follow_is_refused_naming_the_limit,
    more_than_a_thousand_connect_writes_a_day_are_answered_429_until_midnight,
    each_section_at_each_visibility_is_seen_by_the_owner_and_whom_it_admits,
    a_follower_sees_followers_sections_in_the_stats_and_activity_and_loses_them_on_unfollow,
    with_approval_a_follow_is_a_request_the_target_approves_or_declines,
    opening_a_profile_that_asked_for_approval_approves_every_pending_request,
    a_block_ends_the_follows_both_ways_and_the_blocked_user_cannot_follow_again,
    a_mute_changes_nothing_the_muted_user_can_see,
    the_lists_page_newest_first_by_keyset_with_a_link_to_the_next,
    a_deactivated_user_leaves_the_lists_and_counts_and_comes_back_when_reactivated,
    an_erasure_removes_the_users_follows_requests_blocks_and_mutes_and_corrects_counts,
    a_follow_announces_itself_and_earns_the_followed_user_their_badges,
);
