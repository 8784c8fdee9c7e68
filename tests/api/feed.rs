//! Connect II: the home feed, decided at read time, and kudos, through HTTP on both backends.

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::{
    cli::{command, run},
    helpers::{Backend, TestApp, eventually, json_body, next_link, problem, token},
};

async fn send(app: &TestApp, method: Method, path: &str, caller: Option<&str>) -> Response {
    app.request(method, path, caller)
        .send()
        .await
        .expect("request")
}

async fn status(app: &TestApp, method: Method, path: &str, caller: Option<&str>) -> u16 {
    send(app, method, path, caller).await.status().as_u16()
}

async fn follow(app: &TestApp, user: i64, target: i64) {
    let path = format!("/users/{user}/following/{target}");
    assert_eq!(
        status(app, Method::PUT, &path, Some(&token(user))).await,
        204,
        "{path}"
    );
}

async fn set(app: &TestApp, user: i64, change: Value) {
    json_body(
        app.put(&format!("/users/{user}"), Some(&token(user)), &change)
            .await,
        200,
    )
    .await;
}

async fn feed(app: &TestApp, user: i64) -> Value {
    json_body(
        app.get_as(&format!("/users/{user}/feed"), &token(user))
            .await,
        200,
    )
    .await
}

/// The feed's items as (actor, type, summary).
fn items(feed: &Value) -> Vec<(i64, String, String)> {
    feed.as_array()
        .expect("a list")
        .iter()
        .map(|item| {
            (
                item["actor"]["id"].as_i64().unwrap(),
                item["type"].as_str().unwrap().to_owned(),
                item["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn actors(feed: &Value) -> Vec<i64> {
    let mut actors: Vec<i64> = items(feed).into_iter().map(|(actor, ..)| actor).collect();
    actors.sort_unstable();
    actors.dedup();
    actors
}

/// The id of the newest event of `user`'s of type `kind`, as its owner sees it.
async fn event_of(app: &TestApp, user: i64, kind: &str) -> i64 {
    let activity = json_body(
        app.get_as(&format!("/users/{user}/activity"), &token(user))
            .await,
        200,
    )
    .await;
    activity
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {activity}"))["id"]
        .as_i64()
        .unwrap()
}

async fn the_feed_shows_the_followed_users_and_ones_own_events_newest_first(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for id in 1..=3 {
        app.user(id).await;
    }
    follow(&app, 1, 2).await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    app.create_goal(3, &token(3), "Cy's plan").await;
    app.create_goal(1, &token(1), "Ada's plan").await;

    let page = feed(&app, 1).await;
    assert_eq!(actors(&page), [1, 2], "{page}");
    let summaries: Vec<String> = items(&page).into_iter().map(|(.., s)| s).collect();
    assert!(summaries.contains(&"Set a goal: Bob's plan".to_owned()));
    assert!(!summaries.iter().any(|s| s.contains("Cy's plan")));
    let ids: Vec<i64> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let first = &page[0];
    assert_eq!(first["actor"]["username"], "user1");
    assert_eq!(first["kudos_count"], 0);
    assert_eq!(first["kudos_by_me"], false);

    assert_eq!(
        status(&app, Method::GET, "/users/1/feed", Some(&token(2))).await,
        403
    );
    assert_eq!(status(&app, Method::GET, "/users/1/feed", None).await, 401);
    let nobody = feed(&app, 3).await;
    assert_eq!(actors(&nobody), [3], "who follows nobody reads their own");
}

async fn the_feed_shows_each_section_as_its_owner_set_it_when_it_is_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    follow(&app, 1, 2).await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    let kinds = |page: &Value| -> Vec<String> {
        items(page)
            .into_iter()
            .filter(|(actor, ..)| *actor == 2)
            .map(|(_, kind, _)| kind)
            .collect()
    };
    for goals in ["public", "followers"] {
        set(&app, 2, json!({"visibility": {"goals": goals}})).await;
        let seen = kinds(&feed(&app, 1).await);
        assert!(
            seen.contains(&"goal_created".to_owned()),
            "{goals}: {seen:?}"
        );
    }
    set(&app, 2, json!({"visibility": {"goals": "private"}})).await;
    let seen = kinds(&feed(&app, 1).await);
    assert!(!seen.contains(&"goal_created".to_owned()), "{seen:?}");
    assert!(seen.contains(&"badge_awarded".to_owned()), "{seen:?}");
    set(&app, 2, json!({"visibility": {"badges": "private"}})).await;
    let seen = kinds(&feed(&app, 1).await);
    assert!(!seen.contains(&"badge_awarded".to_owned()), "{seen:?}");
    set(
        &app,
        2,
        json!({"visibility": {"goals": "public", "badges": "public", "activity": "followers"}}),
    )
    .await;
    assert!(kinds(&feed(&app, 1).await).contains(&"goal_created".to_owned()));
    set(&app, 2, json!({"visibility": {"activity": "private"}})).await;
    assert_eq!(kinds(&feed(&app, 1).await), Vec::<String>::new());
}

async fn an_unfollow_a_block_or_a_mute_between_two_reads_changes_the_next_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    let (ada, bob) = (token(1), token(2));
    follow(&app, 1, 2).await;
    assert_eq!(actors(&feed(&app, 1).await), [2]);

    let steps: [(Method, &str, &str, bool); 8] = [
        (Method::DELETE, "/users/1/following/2", &ada, false),
        (Method::PUT, "/users/1/following/2", &ada, true),
        (Method::PUT, "/users/1/mutes/2", &ada, false),
        (Method::DELETE, "/users/1/mutes/2", &ada, true),
        (Method::PUT, "/users/1/blocks/2", &ada, false),
        (Method::DELETE, "/users/1/blocks/2", &ada, false),
        (Method::PUT, "/users/1/following/2", &ada, true),
        (Method::PUT, "/users/2/blocks/1", &bob, false),
    ];
    for (method, path, caller, shows_bob) in steps {
        assert_eq!(
            status(&app, method.clone(), path, Some(caller)).await,
            204,
            "{method} {path}"
        );
        let seen = actors(&feed(&app, 1).await);
        assert_eq!(
            seen.contains(&2),
            shows_bob,
            "after {method} {path}: {seen:?}"
        );
    }
}

async fn the_feed_pages_by_an_opaque_cursor_without_repeats_or_gaps(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    follow(&app, 1, 2).await;
    for n in 0..4 {
        app.create_goal(2, &token(2), &format!("Goal {n}")).await;
        app.create_goal(1, &token(1), &format!("Mine {n}")).await;
    }
    let all: Vec<i64> = feed(&app, 1)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_i64().unwrap())
        .collect();
    let mut seen = Vec::new();
    let mut path = "/users/1/feed?limit=3".to_owned();
    loop {
        let page = app.get_as(&path, &token(1)).await;
        let next = next_link(&page);
        let body = json_body(page, 200).await;
        seen.extend(
            body.as_array()
                .unwrap()
                .iter()
                .map(|item| item["id"].as_i64().unwrap()),
        );
        match next {
            Some(link) => path = link,
            None => break,
        }
    }
    assert_eq!(seen, all);
    for bad in ["cursor=0", "cursor=x", "limit=0", "limit=101"] {
        let got = status(
            &app,
            Method::GET,
            &format!("/users/1/feed?{bad}"),
            Some(&token(1)),
        )
        .await;
        assert_eq!(got, 400, "{bad}");
    }
}

async fn events_hidden_from_the_reader_near_the_top_never_cut_a_page_short(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for id in 1..=4 {
        app.user(id).await;
    }
    for id in 2..=4 {
        follow(&app, 1, id).await;
    }
    // Each followed user's newest events are hidden from the reader (private goals), their
    // older ones are not: a page cut at the newest events of all would come up short.
    for id in 2..=4 {
        for n in 0..2 {
            set(&app, id, json!({"bio": format!("Visible change {n}")})).await;
        }
        set(&app, id, json!({"visibility": {"goals": "private"}})).await;
    }
    for id in 2..=4 {
        for n in 0..3 {
            app.create_goal(id, &token(id), &format!("Hidden plan {n}"))
                .await;
        }
    }
    let ids = |page: &Value| -> Vec<i64> {
        page.as_array()
            .unwrap()
            .iter()
            .map(|item| item["id"].as_i64().unwrap())
            .collect()
    };
    let everything =
        ids(&json_body(app.get_as("/users/1/feed?limit=100", &token(1)).await, 200).await);
    assert!(
        !items(&feed(&app, 1).await)
            .iter()
            .any(|(_, _, summary)| summary.contains("Hidden plan")),
        "private goals stay out"
    );
    for limit in 1..=4 {
        let mut seen = Vec::new();
        let mut path = format!("/users/1/feed?limit={limit}");
        loop {
            let page = app.get_as(&path, &token(1)).await;
            let next = next_link(&page);
            let body = json_body(page, 200).await;
            let got = ids(&body);
            assert!(
                got.len() == limit || next.is_none(),
                "limit {limit}: a short page {got:?}"
            );
            seen.extend(got);
            match next {
                Some(link) => path = link,
                None => break,
            }
        }
        assert_eq!(seen, everything, "limit {limit}");
    }
}

async fn a_read_passes_over_about_a_thousand_hidden_items_then_links_on_from_where_it_stopped(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    for id in 1..=3 {
        app.user(id).await;
    }
    follow(&app, 1, 2).await;
    follow(&app, 1, 3).await;
    app.create_goal(3, &token(3), "Cy's plan").await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    let bob = event_of(&app, 2, "goal_created").await;
    assert_eq!(
        status(&app, Method::PUT, "/users/1/mutes/2", Some(&token(1))).await,
        204
    );
    // Cy's events in the reader's timeline before the backlog comes (a read looks through
    // only the newest of the fan-out's queue).
    eventually("the fan-out took every pending event", || async {
        (app.db.scalar("SELECT COUNT(*) FROM feed_pending").await == 0).then_some(())
    })
    .await;
    // 3,000 more events of the muted user above Cy's, in the reader's timeline.
    app.db
        .execute(&format!(
            "WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) \
             INSERT INTO activity_events (user_id, kind, section, occurred_at, goal_id, badge_code, summary) \
             SELECT e.user_id, e.kind, e.section, e.occurred_at, e.goal_id, e.badge_code, e.summary \
             FROM activity_events e CROSS JOIN n WHERE e.id = {bob}; \
             INSERT INTO feed_items (reader_id, event_id) \
             SELECT 1, id FROM activity_events WHERE user_id = 2 ON CONFLICT DO NOTHING;"
        ))
        .await;

    let mut pages = Vec::new();
    let mut path = Some("/users/1/feed?limit=10".to_owned());
    while let Some(at) = path {
        let page = app.get_as(&at, &token(1)).await;
        path = next_link(&page);
        pages.push(items(&json_body(page, 200).await));
        assert!(pages.len() <= 3, "the feed never ends: {path:?}");
    }
    assert_eq!(
        pages[0],
        [],
        "the first read stops after about a thousand hidden items"
    );
    let shown = pages.concat();
    assert!(
        shown.iter().all(|(actor, ..)| *actor == 3)
            && shown.iter().any(|(_, kind, _)| kind == "goal_created"),
        "Cy's events only, and all of them: {pages:?}"
    );
}

async fn kudos_are_given_once_counted_listed_and_taken_back(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    let event = event_of(&app, 2, "goal_created").await;
    let path = format!("/users/2/activity/{event}/kudos");
    for _ in 0..2 {
        assert_eq!(status(&app, Method::PUT, &path, Some(&token(1))).await, 204);
    }
    let seen_by_ada = json_body(app.get_as("/users/2/activity", &token(1)).await, 200).await;
    let item = seen_by_ada
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event)
        .unwrap();
    assert_eq!(item["kudos_count"], 1, "{item}");
    assert_eq!(item["kudos_by_me"], true, "{item}");
    let anonymous = json_body(app.get("/users/2/activity").await, 200).await;
    let item = anonymous
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event)
        .unwrap();
    assert_eq!(item["kudos_count"], 1);
    assert!(item.get("kudos_by_me").is_none(), "{item}");
    let givers = json_body(app.get(&path).await, 200).await;
    assert_eq!(givers.as_array().unwrap().len(), 1);
    assert_eq!(givers[0]["id"], 1);
    assert_eq!(givers[0]["username"], "user1");
    assert!(givers[0]["given_at"].is_string());

    for _ in 0..2 {
        assert_eq!(
            status(&app, Method::DELETE, &path, Some(&token(1))).await,
            204
        );
    }
    let givers = json_body(app.get(&path).await, 200).await;
    assert_eq!(givers, json!([]));
    let seen = json_body(app.get_as("/users/2/activity", &token(1)).await, 200).await;
    let item = seen
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == event)
        .unwrap();
    assert_eq!(item["kudos_count"], 0);
    assert_eq!(item["kudos_by_me"], false);
}

async fn kudos_go_only_to_another_users_event_the_giver_can_see(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for id in 1..=3 {
        app.user(id).await;
    }
    app.create_goal(2, &token(2), "Bob's plan").await;
    let event = event_of(&app, 2, "goal_created").await;
    let path = format!("/users/2/activity/{event}/kudos");

    let own = problem(send(&app, Method::PUT, &path, Some(&token(2))).await, 422).await;
    assert_eq!(own["errors"][0]["field"], "event_id");
    assert_eq!(status(&app, Method::PUT, &path, None).await, 401);
    let missing = problem(
        send(
            &app,
            Method::PUT,
            "/users/2/activity/999999/kudos",
            Some(&token(1)),
        )
        .await,
        404,
    )
    .await;

    set(&app, 2, json!({"visibility": {"goals": "followers"}})).await;
    let hidden = problem(send(&app, Method::PUT, &path, Some(&token(1))).await, 404).await;
    assert_eq!(
        hidden, missing,
        "an unseen event is answered as one that does not exist"
    );
    assert_eq!(status(&app, Method::GET, &path, Some(&token(1))).await, 404);
    follow(&app, 1, 2).await;
    assert_eq!(status(&app, Method::PUT, &path, Some(&token(1))).await, 204);

    // A block either way: the same answer, and the kudos between them go.
    assert_eq!(
        status(&app, Method::PUT, "/users/2/blocks/3", Some(&token(2))).await,
        204
    );
    set(&app, 2, json!({"visibility": {"goals": "public"}})).await;
    let blocked = problem(send(&app, Method::PUT, &path, Some(&token(3))).await, 404).await;
    assert_eq!(blocked, missing);
    assert_eq!(status(&app, Method::GET, &path, Some(&token(3))).await, 404);
}

async fn a_block_takes_back_the_kudos_between_the_two_both_ways(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    app.create_goal(1, &token(1), "Ada's plan").await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    let ada_event = event_of(&app, 1, "goal_created").await;
    let bob_event = event_of(&app, 2, "goal_created").await;
    let to_bob = format!("/users/2/activity/{bob_event}/kudos");
    let to_ada = format!("/users/1/activity/{ada_event}/kudos");
    assert_eq!(
        status(&app, Method::PUT, &to_bob, Some(&token(1))).await,
        204
    );
    assert_eq!(
        status(&app, Method::PUT, &to_ada, Some(&token(2))).await,
        204
    );
    assert_eq!(
        app.db
            .scalar("SELECT CAST(COALESCE(SUM(given + received), 0) AS BIGINT) FROM kudos_counts")
            .await,
        4
    );

    assert_eq!(
        status(&app, Method::PUT, "/users/1/blocks/2", Some(&token(1))).await,
        204
    );
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM kudos").await, 0);
    assert_eq!(
        app.db
            .scalar("SELECT CAST(COALESCE(SUM(kudos_count), 0) AS BIGINT) FROM activity_events")
            .await,
        0
    );
    assert_eq!(
        app.db
            .scalar("SELECT CAST(COALESCE(SUM(given + received), 0) AS BIGINT) FROM kudos_counts")
            .await,
        0
    );
}

async fn kudos_announce_themselves_earn_badges_and_leave_with_an_erasure(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|config| config.events.events_url = Some("amqp://127.0.0.1:9/".into()))
        .spawn()
        .await;
    app.user(1).await;
    app.user(2).await;
    for n in 0..10 {
        app.create_goal(2, &token(2), &format!("Goal {n}")).await;
    }
    let events: Vec<i64> = json_body(app.get("/users/2/activity?limit=100").await, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "goal_created")
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(events.len(), 10);
    for event in &events {
        let path = format!("/users/2/activity/{event}/kudos");
        assert_eq!(status(&app, Method::PUT, &path, Some(&token(1))).await, 204);
    }
    let badges = json_body(app.get("/users/1/badges").await, 200).await;
    assert!(
        badges
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["code"] == "kudos-given-10"),
        "{badges}"
    );
    let given = "SELECT COUNT(*) FROM event_outbox WHERE event_type = 'kudos.given.v1'";
    assert_eq!(app.db.scalar(given).await, 10);
    let data = app
        .db
        .text(
            "SELECT data FROM event_outbox WHERE event_type = 'kudos.given.v1' \
             ORDER BY seq LIMIT 1",
        )
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap(),
        json!({"user_id": 2, "giver_id": 1, "activity_id": events[0], "activity_type": "goal_created"})
    );
    let before = app.db.scalar("SELECT COUNT(*) FROM event_outbox").await;
    let back = format!("/users/2/activity/{}/kudos", events[0]);
    assert_eq!(
        status(&app, Method::DELETE, &back, Some(&token(1))).await,
        204
    );
    assert_eq!(
        app.db.scalar("SELECT COUNT(*) FROM event_outbox").await,
        before,
        "taking kudos back publishes nothing"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "1"]);
    let output = tokio::task::spawn_blocking(move || run(&mut erase))
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        app.db.scalar(given).await,
        0,
        "no event names the erased giver"
    );
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM kudos").await, 0);
    assert_eq!(
        app.db
            .scalar("SELECT CAST(COALESCE(SUM(kudos_count), 0) AS BIGINT) FROM activity_events")
            .await,
        0
    );
    assert_eq!(
        app.db
            .scalar("SELECT CAST(COALESCE(SUM(received), 0) AS BIGINT) FROM kudos_counts WHERE user_id = 2")
            .await,
        0
    );
}

async fn more_than_two_thousand_kudos_writes_a_day_are_answered_429_until_midnight(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    let event = event_of(&app, 2, "goal_created").await;
    app.db
        .execute(
            "INSERT INTO daily_writes (user_id, kind, day, writes) \
             VALUES (1, 'kudos', '2026-03-10', 2000)",
        )
        .await;
    let refused = send(
        &app,
        Method::PUT,
        &format!("/users/2/activity/{event}/kudos"),
        Some(&token(1)),
    )
    .await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "43200");
    assert_eq!(app.db.scalar("SELECT COUNT(*) FROM kudos").await, 0);
    assert_eq!(
        status(&app, Method::PUT, "/users/1/following/2", Some(&token(1))).await,
        204,
        "the kudos quota is its own"
    );
}

/// The goals' titles in a feed, by whom: (actor, summary) of its `goal_created` items.
fn goals_in(feed: &Value) -> Vec<(i64, String)> {
    items(feed)
        .into_iter()
        .filter(|(_, kind, _)| kind == "goal_created")
        .map(|(actor, _, summary)| (actor, summary))
        .collect()
}

async fn nothing_pending(app: &TestApp) {
    eventually("the fan-out took every pending event", || async {
        (app.db.scalar("SELECT COUNT(*) FROM feed_pending").await == 0).then_some(())
    })
    .await;
}

async fn a_follow_brings_what_the_followed_user_did_before_into_the_feed_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for user in 1..=3 {
        app.user(user).await;
    }
    app.create_goal(2, &token(2), "Bob's old plan").await;
    set(&app, 3, json!({"follow_policy": "approval"})).await;
    app.create_goal(3, &token(3), "Cleo's old plan").await;
    assert!(goals_in(&feed(&app, 1).await).is_empty());

    follow(&app, 1, 2).await;
    assert_eq!(
        goals_in(&feed(&app, 1).await),
        [(2, "Set a goal: Bob's old plan".to_owned())],
        "an open follow"
    );
    assert_eq!(
        status(&app, Method::PUT, "/users/1/following/3", Some(&token(1))).await,
        202,
        "a request"
    );
    assert_eq!(
        goals_in(&feed(&app, 1).await).len(),
        1,
        "a request shows nothing"
    );
    set(&app, 3, json!({"follow_policy": "open"})).await;
    assert_eq!(
        goals_in(&feed(&app, 1).await),
        [
            (3, "Set a goal: Cleo's old plan".to_owned()),
            (2, "Set a goal: Bob's old plan".to_owned()),
        ],
        "every request approved at once"
    );
}

async fn the_feed_reads_the_same_before_and_after_the_fan_out_and_famous_users_where_they_are(
    backend: Backend,
) {
    // More than one follower makes a user famous here.
    let app = TestApp::builder(backend)
        .config(|config| config.feed_fanout_max_followers = 1)
        .spawn()
        .await;
    for user in 1..=4 {
        app.user(user).await;
    }
    follow(&app, 1, 2).await;
    follow(&app, 1, 3).await;
    follow(&app, 4, 3).await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    app.create_goal(3, &token(3), "Cleo's plan").await;
    app.create_goal(1, &token(1), "Ada's plan").await;
    let expected = [
        (1, "Set a goal: Ada's plan".to_owned()),
        (3, "Set a goal: Cleo's plan".to_owned()),
        (2, "Set a goal: Bob's plan".to_owned()),
    ];
    let before = feed(&app, 1).await;
    assert_eq!(goals_in(&before), expected, "read while pending");

    nothing_pending(&app).await;
    assert_eq!(feed(&app, 1).await, before, "read from the timeline");
    assert_eq!(
        goals_in(&feed(&app, 4).await),
        [(3, "Set a goal: Cleo's plan".to_owned())]
    );
    let copied = |user: i64| {
        format!(
            "SELECT COUNT(*) FROM feed_items i JOIN activity_events e ON e.id = i.event_id \
             WHERE e.user_id = {user} AND e.kind = 'goal_created'"
        )
    };
    assert_eq!(app.db.scalar(&copied(2)).await, 1, "Bob's goal, to Ada");
    assert_eq!(
        app.db.scalar(&copied(3)).await,
        0,
        "Cleo's goal stays where it is"
    );
    assert_eq!(
        app.db
            .scalar("SELECT COUNT(*) FROM feed_famous WHERE user_id = 3")
            .await,
        1
    );

    // Privacy is still decided at the read, for timelines and famous users alike.
    set(&app, 2, json!({"visibility": {"goals": "private"}})).await;
    let path = "/users/3/followers/1";
    assert_eq!(
        status(&app, Method::DELETE, path, Some(&token(3))).await,
        204
    );
    assert_eq!(
        goals_in(&feed(&app, 1).await),
        [(1, "Set a goal: Ada's plan".to_owned())]
    );
}

async fn an_erasure_leaves_no_timeline_row_of_the_user_on_either_side(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    follow(&app, 1, 2).await;
    follow(&app, 2, 1).await;
    app.create_goal(1, &token(1), "Ada's plan").await;
    app.create_goal(2, &token(2), "Bob's plan").await;
    nothing_pending(&app).await;
    let rows = |sql: &'static str| {
        let app = &app;
        async move { app.db.scalar(sql).await }
    };
    assert!(rows("SELECT COUNT(*) FROM feed_items WHERE reader_id = 1").await > 0);
    assert!(rows("SELECT COUNT(*) FROM feed_items WHERE reader_id = 2").await > 0);

    let dir = tempfile::tempdir().unwrap();
    let mut erase = command(dir.path());
    erase
        .env("DATABASE_URL", app.database_url())
        .args(["users", "erase", "--id", "1"]);
    let output = tokio::task::spawn_blocking(move || run(&mut erase))
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        rows("SELECT COUNT(*) FROM feed_items").await,
        0,
        "neither Ada's timeline nor her events in Bob's"
    );
    assert_eq!(goals_in(&feed(&app, 2).await).len(), 1, "Bob's own");
}

/// Gives kudos from `giver` to each of `events` of `owner`'s.
async fn give_each(app: &TestApp, giver: i64, owner: i64, events: &[i64]) {
    for event in events {
        let path = format!("/users/{owner}/activity/{event}/kudos");
        assert_eq!(
            status(app, Method::PUT, &path, Some(&token(giver))).await,
            204
        );
    }
}

async fn badge_codes(app: &TestApp, user: i64) -> Vec<String> {
    json_body(app.get(&format!("/users/{user}/badges")).await, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|badge| badge["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_hundred_kudos_given_and_a_hundred_received_earn_their_badges(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.user(2).await;
    for n in 0..100 {
        app.create_goal(2, &token(2), &format!("Goal {n}")).await;
    }
    let mut events = Vec::new();
    let mut page = Some("/users/2/activity?limit=100".to_owned());
    while let Some(path) = page {
        let answer = app.get(&path).await;
        page = next_link(&answer);
        let body = json_body(answer, 200).await;
        events.extend(
            body.as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "goal_created")
                .map(|e| e["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(events.len(), 100);
    give_each(&app, 1, 2, &events[..99]).await;
    assert!(
        !badge_codes(&app, 1)
            .await
            .contains(&"kudos-given-100".into())
    );
    assert!(
        !badge_codes(&app, 2)
            .await
            .contains(&"kudos-received-100".into())
    );
    give_each(&app, 1, 2, &events[99..]).await;
    assert!(
        badge_codes(&app, 1)
            .await
            .contains(&"kudos-given-100".into())
    );
    assert!(
        badge_codes(&app, 2)
            .await
            .contains(&"kudos-received-100".into())
    );
}

crate::backend_tests!(
    the_feed_shows_the_followed_users_and_ones_own_events_newest_first,
    the_feed_shows_each_section_as_its_owner_set_it_when_it_is_read,
    an_unfollow_a_block_or_a_mute_between_two_reads_changes_the_next_read,
    the_feed_pages_by_an_opaque_cursor_without_repeats_or_gaps,
    events_hidden_from_the_reader_near_the_top_never_cut_a_page_short,
    a_read_passes_over_about_a_thousand_hidden_items_then_links_on_from_where_it_stopped,
    kudos_are_given_once_counted_listed_and_taken_back,
    kudos_go_only_to_another_users_event_the_giver_can_see,
    a_block_takes_back_the_kudos_between_the_two_both_ways,
    kudos_announce_themselves_earn_badges_and_leave_with_an_erasure,
    more_than_two_thousand_kudos_writes_a_day_are_answered_429_until_midnight,
    a_follow_brings_what_the_followed_user_did_before_into_the_feed_at_once,
    the_feed_reads_the_same_before_and_after_the_fan_out_and_famous_users_where_they_are,
    an_erasure_leaves_no_timeline_row_of_the_user_on_either_side,
    a_hundred_kudos_given_and_a_hundred_received_earn_their_badges,
);
