//! Badges (the catalog, rule awards, trusted awards), the activity feed, privacy of the
//! profile's sections and the stats that follow them, through HTTP on both backends.

use chrono::TimeDelta;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, catalog_entry, claims, error_fields, json_body, keys, next_link, problem,
    sign, token,
};

/// The id a trusted service's tokens name: no user of the tests.
const SERVICE: i64 = 900;

/// A trusted service's token: `badges:award` among space-separated scopes.
fn award_token() -> String {
    let mut claims = claims(SERVICE);
    claims["scope"] = json!("profile:read badges:award other");
    sign(&claims)
}

/// A token carrying `scope` (a string claim) for `user`.
fn token_with_scope(user: i64, scope: &str) -> String {
    let mut claims = claims(user);
    claims["scope"] = json!(scope);
    sign(&claims)
}

fn id(value: &Value) -> i64 {
    value["id"].as_i64().expect("an id")
}

/// The clock of `app` as the API prints it.
fn now(app: &TestApp) -> String {
    use user_service::clock::Clock;
    app.clock
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The user's badges as their owner sees them.
async fn badges(app: &TestApp, user: i64) -> Vec<Value> {
    let list = json_body(
        app.get_as(&format!("/users/{user}/badges"), &token(user))
            .await,
        200,
    )
    .await;
    list.as_array().unwrap().clone()
}

/// The codes of the user's badges, sorted.
async fn badge_codes(app: &TestApp, user: i64) -> Vec<String> {
    let mut codes: Vec<String> = badges(app, user)
        .await
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_owned())
        .collect();
    codes.sort_unstable();
    codes
}

/// The one badge with this code the user holds; fails unless there is exactly one.
async fn the_badge(app: &TestApp, user: i64, code: &str) -> Value {
    let held: Vec<Value> = badges(app, user)
        .await
        .into_iter()
        .filter(|b| b["code"] == code)
        .collect();
    assert_eq!(held.len(), 1, "user {user} holds {code} once: {held:?}");
    held[0].clone()
}

/// Up to 100 events of the user's feed, newest first, as `token`'s holder (or anyone) sees it.
async fn activity(app: &TestApp, user: i64, token: Option<&str>) -> Vec<Value> {
    let response = app
        .request(
            reqwest::Method::GET,
            &format!("/users/{user}/activity?limit=100"),
            token,
        )
        .send()
        .await
        .unwrap();
    json_body(response, 200).await.as_array().unwrap().clone()
}

/// The types of a feed's events, in order.
fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn create_goal_with(app: &TestApp, user: i64, body: &Value) -> Value {
    json_body(
        app.post(&format!("/users/{user}/goals"), Some(&token(user)), body)
            .await,
        201,
    )
    .await
}

async fn complete(app: &TestApp, user: i64, goal: i64) -> Value {
    json_body(
        app.put(
            &format!("/users/{user}/goals/{goal}"),
            Some(&token(user)),
            &json!({"status": "completed"}),
        )
        .await,
        200,
    )
    .await
}

/// Checks in today on a goal; the status of the answer.
async fn check_in(app: &TestApp, user: i64, goal: i64) -> u16 {
    app.post(
        &format!("/users/{user}/goals/{goal}/checkins"),
        Some(&token(user)),
        &json!({}),
    )
    .await
    .status()
    .as_u16()
}

async fn update_profile(app: &TestApp, user: i64, body: &Value) -> Value {
    json_body(
        app.put(&format!("/users/{user}"), Some(&token(user)), body)
            .await,
        200,
    )
    .await
}

async fn award(app: &TestApp, user: i64, code: &str) -> Response {
    app.post(
        &format!("/users/{user}/badges"),
        Some(&award_token()),
        &json!({ "code": code }),
    )
    .await
}

/// User 1's stats as anyone sees them.
async fn stats(app: &TestApp) -> Value {
    json_body(app.get("/users/1/stats").await, 200).await
}

// ---- the catalog ----

async fn the_catalog_lists_every_badge_definition_with_its_tier_and_criteria(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    let catalog = json_body(app.get("/users/badges").await, 200).await;

    let catalog = catalog.as_array().expect("an array of definitions");
    // Every rule awards a badge of the migrated catalog, and every built-in badge has a rule.
    let mut rules: Vec<&str> = user_service::domain::badges::RULES
        .iter()
        .map(|rule| rule.code)
        .collect();
    rules.sort_unstable();
    let codes: Vec<&str> = catalog
        .iter()
        .map(|b| b["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, rules);
    let tiers: Vec<(&str, &str)> = catalog
        .iter()
        .map(|b| (b["code"].as_str().unwrap(), b["tier"].as_str().unwrap()))
        .collect();
    assert_eq!(
        tiers,
        [
            ("first-completion", "bronze"),
            ("first-follower", "bronze"),
            ("first-goal", "bronze"),
            ("five-completions", "silver"),
            ("followers-10", "silver"),
            ("followers-100", "gold"),
            ("kudos-given-10", "bronze"),
            ("kudos-given-100", "silver"),
            ("kudos-received-100", "gold"),
            ("partner-streak-30", "gold"),
            ("partner-streak-7", "silver"),
            ("profile-complete", "bronze"),
            ("streak-100", "gold"),
            ("streak-3", "bronze"),
            ("streak-30", "gold"),
            ("streak-7", "silver"),
            ("twenty-five-completions", "gold"),
            ("weekly-streak-12", "silver"),
            ("weekly-streak-4", "bronze"),
            ("weekly-streak-52", "gold"),
        ]
    );
    for badge in catalog {
        assert_eq!(
            keys(badge),
            [
                "code",
                "criteria",
                "description",
                "holders",
                "icon_url",
                "name",
                "tier"
            ]
        );
        let criteria = badge["criteria"].as_str().unwrap();
        assert!(
            criteria.len() > 10 && criteria.ends_with('.') && criteria.matches(". ").count() == 0,
            "criteria is one sentence: {badge}"
        );
        assert_eq!(badge["holders"], 0, "{badge}");
    }
    assert_eq!(
        catalog_entry(&app, "first-goal").await,
        json!({
            "code": "first-goal",
            "name": "First step",
            "description": "Set a first learning goal.",
            "icon_url": "/users/badges/first-goal.svg",
            "tier": "bronze",
            "criteria": "Create a learning goal.",
            "holders": 0,
        })
    );
}

async fn the_catalog_counts_the_holders_of_each_badge_as_awards_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for user in 1..=3 {
        app.user(user).await;
    }

    app.create_goal(1, &token(1), "Rust").await;
    app.create_goal(2, &token(2), "Go").await;
    assert_eq!(catalog_entry(&app, "first-goal").await["holders"], 2);
    assert_eq!(catalog_entry(&app, "first-completion").await["holders"], 0);

    create_goal_with(&app, 3, &json!({"title": "Done", "status": "completed"})).await;
    assert_eq!(catalog_entry(&app, "first-goal").await["holders"], 3);
    assert_eq!(catalog_entry(&app, "first-completion").await["holders"], 1);

    let response = app
        .delete("/users/2/badges/first-goal", Some(&award_token()))
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(catalog_entry(&app, "first-goal").await["holders"], 2);
}

// ---- badges earned by rules ----

async fn a_first_goal_earns_first_goal_at_the_moment_it_is_created_and_only_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.clock.advance(TimeDelta::hours(3));
    assert_eq!(badge_codes(&app, 1).await, Vec::<String>::new());

    app.create_goal(1, &ada, "Learn Rust").await;
    let earned_at = now(&app);
    app.clock.advance(TimeDelta::days(1));
    app.create_goal(1, &ada, "Learn Go").await;

    assert_eq!(badge_codes(&app, 1).await, ["first-goal"]);
    let badge = the_badge(&app, 1, "first-goal").await;
    assert_eq!(badge["date_achieved"], earned_at);
    assert_eq!(earned_at, "2026-03-10T15:00:00Z");
    assert_eq!(badge["name"], "First step");
}

async fn completing_a_first_goal_earns_first_completion_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = id(&app.create_goal(1, &ada, "Learn Rust").await);
    assert_eq!(badge_codes(&app, 1).await, ["first-goal"]);

    app.clock.advance(TimeDelta::minutes(90));
    complete(&app, 1, goal).await;
    let earned_at = now(&app);

    // The same write again, and a reopening completed once more, earn nothing new.
    app.clock.advance(TimeDelta::hours(1));
    complete(&app, 1, goal).await;
    json_body(
        app.put(
            &format!("/users/1/goals/{goal}"),
            Some(&ada),
            &json!({"status": "in-progress"}),
        )
        .await,
        200,
    )
    .await;
    complete(&app, 1, goal).await;

    assert_eq!(
        badge_codes(&app, 1).await,
        ["first-completion", "first-goal"]
    );
    assert_eq!(
        the_badge(&app, 1, "first-completion").await["date_achieved"],
        earned_at
    );
}

async fn a_goal_created_completed_earns_first_completion(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    create_goal_with(&app, 1, &json!({"title": "Done", "status": "completed"})).await;

    assert_eq!(
        badge_codes(&app, 1).await,
        ["first-completion", "first-goal"]
    );
    assert_eq!(
        the_badge(&app, 1, "first-completion").await["date_achieved"],
        now(&app)
    );
}

async fn the_fifth_and_twenty_fifth_completions_earn_their_badges_and_not_before(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    let done = json!({"title": "Done", "status": "completed"});
    for _ in 0..4 {
        create_goal_with(&app, 1, &done).await;
    }
    assert_eq!(
        badge_codes(&app, 1).await,
        ["first-completion", "first-goal"]
    );

    let fifth = id(&create_goal_with(&app, 1, &json!({"title": "Fifth"})).await);
    app.clock.advance(TimeDelta::minutes(5));
    complete(&app, 1, fifth).await;
    assert_eq!(
        the_badge(&app, 1, "five-completions").await["date_achieved"],
        now(&app)
    );

    for _ in 5..24 {
        create_goal_with(&app, 1, &done).await;
    }
    assert!(
        !badge_codes(&app, 1)
            .await
            .contains(&"twenty-five-completions".to_owned()),
        "24 completions are not 25"
    );
    app.clock.advance(TimeDelta::minutes(5));
    create_goal_with(&app, 1, &done).await;

    assert_eq!(
        badge_codes(&app, 1).await,
        [
            "first-completion",
            "first-goal",
            "five-completions",
            "twenty-five-completions"
        ]
    );
    assert_eq!(
        the_badge(&app, 1, "twenty-five-completions").await["date_achieved"],
        now(&app)
    );
    assert_eq!(
        the_badge(&app, 1, "five-completions").await["date_achieved"],
        "2026-03-10T12:05:00Z"
    );
}

async fn a_complete_profile_earns_profile_complete_and_an_incomplete_one_does_not(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    update_profile(
        &app,
        1,
        &json!({"display_name": "Ada", "bio": "Counts things.", "skills": ["Rust", "SQL"]}),
    )
    .await;
    update_profile(&app, 1, &json!({"skills": ["Rust", "rust", "SQL"]})).await;
    update_profile(
        &app,
        1,
        &json!({"skills": ["Rust", "SQL", "Go"], "bio": null}),
    )
    .await;
    assert_eq!(badge_codes(&app, 1).await, Vec::<String>::new());

    app.clock.advance(TimeDelta::minutes(10));
    update_profile(&app, 1, &json!({"bio": "Counts things."})).await;
    let earned_at = now(&app);
    app.clock.advance(TimeDelta::minutes(10));
    update_profile(&app, 1, &json!({"bio": "Counts more things."})).await;

    assert_eq!(badge_codes(&app, 1).await, ["profile-complete"]);
    assert_eq!(
        the_badge(&app, 1, "profile-complete").await["date_achieved"],
        earned_at
    );
}

async fn check_ins_on_three_and_seven_consecutive_days_earn_streak_3_and_streak_7(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = id(&app.create_goal(1, &ada, "Practice scales").await);

    assert_eq!(check_in(&app, 1, goal).await, 201);
    app.clock.advance(TimeDelta::days(1));
    assert_eq!(check_in(&app, 1, goal).await, 201);
    assert_eq!(badge_codes(&app, 1).await, ["first-goal"]);

    app.clock.advance(TimeDelta::days(1));
    assert_eq!(check_in(&app, 1, goal).await, 201);
    let third_day = now(&app);
    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(check_in(&app, 1, goal).await, 200, "the same day again");
    assert_eq!(badge_codes(&app, 1).await, ["first-goal", "streak-3"]);
    assert_eq!(
        the_badge(&app, 1, "streak-3").await["date_achieved"],
        third_day
    );

    for _ in 4..=6 {
        app.clock.advance(TimeDelta::days(1));
        assert_eq!(check_in(&app, 1, goal).await, 201);
    }
    assert!(!badge_codes(&app, 1).await.contains(&"streak-7".to_owned()));
    app.clock.advance(TimeDelta::days(1));
    assert_eq!(check_in(&app, 1, goal).await, 201);
    let seventh_day = now(&app);

    assert_eq!(
        badge_codes(&app, 1).await,
        ["first-goal", "streak-3", "streak-7"]
    );
    assert_eq!(
        the_badge(&app, 1, "streak-7").await["date_achieved"],
        seventh_day
    );
    assert_eq!(seventh_day, "2026-03-16T14:00:00Z");
}

async fn a_user_cannot_award_or_revoke_a_badge_with_their_own_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;

    problem(
        app.post(
            "/users/1/badges",
            Some(&ada),
            &json!({"code": "streak-100"}),
        )
        .await,
        403,
    )
    .await;
    problem(
        app.delete("/users/1/badges/first-goal", Some(&ada)).await,
        403,
    )
    .await;

    assert_eq!(badge_codes(&app, 1).await, ["first-goal"]);
}

// ---- races ----

async fn twenty_concurrent_completions_earn_each_completion_badge_exactly_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let mut goals = Vec::new();
    for n in 0..20 {
        goals.push(id(&app.create_goal(1, &ada, &format!("Goal {n}")).await));
    }
    app.clock.advance(TimeDelta::hours(1));

    let body = json!({"status": "completed"});
    let paths: Vec<String> = goals
        .iter()
        .map(|g| format!("/users/1/goals/{g}"))
        .collect();
    let responses =
        futures::future::join_all(paths.iter().map(|path| app.put(path, Some(&ada), &body))).await;

    for response in responses {
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    assert_eq!(
        badge_codes(&app, 1).await,
        ["first-completion", "first-goal", "five-completions"]
    );
    assert_eq!(
        the_badge(&app, 1, "first-completion").await["date_achieved"],
        "2026-03-10T13:00:00Z"
    );
    let events = activity(&app, 1, Some(&ada)).await;
    for code in ["first-completion", "five-completions"] {
        let awarded = events
            .iter()
            .filter(|e| e["type"] == "badge_awarded" && e["badge_code"] == code)
            .count();
        assert_eq!(awarded, 1, "{code} awarded once: {events:?}");
        assert_eq!(catalog_entry(&app, code).await["holders"], 1);
    }
    let completed = events
        .iter()
        .filter(|e| e["type"] == "goal_completed")
        .count();
    assert_eq!(completed, 20);
}

async fn five_goals_completed_at_once_still_earn_five_completions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let body = json!({"status": "completed"});
    let mut without = Vec::new();
    // Several users, each completing their only five goals at the same moment: every one of
    // them has completed five goals.
    for user in 1..=10 {
        let own = app.user(user).await;
        let mut paths = Vec::new();
        for n in 0..5 {
            let goal = id(&app.create_goal(user, &own, &format!("Goal {n}")).await);
            paths.push(format!("/users/{user}/goals/{goal}"));
        }

        let responses =
            futures::future::join_all(paths.iter().map(|path| app.put(path, Some(&own), &body)))
                .await;

        for response in responses {
            assert_eq!(response.status(), 200);
        }
        let completed =
            json_body(app.get(&format!("/users/{user}/stats")).await, 200).await["goals_by_status"]
                ["completed"]
                .clone();
        assert_eq!(completed, 5);
        if !badge_codes(&app, user)
            .await
            .contains(&"five-completions".to_owned())
        {
            without.push(user);
        }
    }

    assert_eq!(
        without,
        Vec::<i64>::new(),
        "users with five completed goals and no five-completions badge"
    );
}

// ---- badges awarded by trusted services ----

async fn a_trusted_service_awards_a_badge_with_201_then_200_keeping_its_date(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    app.clock.advance(TimeDelta::minutes(30));

    let first = json_body(award(&app, 1, "streak-100").await, 201).await;
    app.clock.advance(TimeDelta::days(2));
    let again = json_body(award(&app, 1, "streak-100").await, 200).await;

    assert_eq!(
        first,
        json!({
            "code": "streak-100",
            "name": "Unstoppable",
            "description": "Kept a goal going a hundred days in a row.",
            "icon_url": "/users/badges/streak-100.svg",
            "date_achieved": "2026-03-10T12:30:00Z",
        })
    );
    assert_eq!(again, first);
    assert_eq!(badges(&app, 1).await, [first]);
    let events = activity(&app, 1, None).await;
    assert_eq!(types(&events), ["badge_awarded"], "the repeat is no event");
    assert_eq!(events[0]["occurred_at"], "2026-03-10T12:30:00Z");
}

async fn the_award_scope_may_come_as_a_scopes_array(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    let mut claims = claims(SERVICE);
    claims["scopes"] = json!(["profile:read", "badges:award"]);
    let service = sign(&claims);

    let awarded = app
        .post(
            "/users/1/badges",
            Some(&service),
            &json!({"code": "streak-30"}),
        )
        .await;
    json_body(awarded, 201).await;
    assert_eq!(badge_codes(&app, 1).await, ["streak-30"]);

    let revoked = app
        .delete("/users/1/badges/streak-30", Some(&service))
        .await;
    assert_eq!(revoked.status(), 204);
    assert_eq!(badge_codes(&app, 1).await, Vec::<String>::new());
}

async fn a_trusted_service_revokes_a_badge_with_204_and_a_second_revoke_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;

    let response = app
        .delete("/users/1/badges/first-goal", Some(&award_token()))
        .await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(badge_codes(&app, 1).await, Vec::<String>::new());

    problem(
        app.delete("/users/1/badges/first-goal", Some(&award_token()))
            .await,
        404,
    )
    .await;
}

async fn awarding_or_revoking_without_the_award_scope_is_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;
    let lookalikes = [
        token(SERVICE),
        token_with_scope(SERVICE, "profile:read badges:read"),
        token_with_scope(SERVICE, "badges:award:extra"),
        token_with_scope(1, "badges"),
    ];

    for service in &lookalikes {
        problem(
            app.post(
                "/users/1/badges",
                Some(service),
                &json!({"code": "streak-100"}),
            )
            .await,
            403,
        )
        .await;
        problem(
            app.delete("/users/1/badges/first-goal", Some(service))
                .await,
            403,
        )
        .await;
    }

    assert_eq!(badge_codes(&app, 1).await, ["first-goal"]);
}

async fn awarding_an_unknown_badge_code_is_a_422_naming_code(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    for code in ["no-such-badge", "FIRST-GOAL"] {
        let body = problem(award(&app, 1, code).await, 422).await;
        assert_eq!(error_fields(&body), ["code"], "{code}: {body}");
    }
    let missing = problem(
        app.post("/users/1/badges", Some(&award_token()), &json!({}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&missing), ["code"]);

    assert_eq!(badge_codes(&app, 1).await, Vec::<String>::new());
}

async fn awarding_or_revoking_for_an_unknown_user_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    problem(award(&app, 42, "streak-3").await, 404).await;
    problem(
        app.delete("/users/42/badges/streak-3", Some(&award_token()))
            .await,
        404,
    )
    .await;
}

async fn awarding_or_revoking_without_a_token_is_401(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;

    for response in [
        app.post("/users/1/badges", None, &json!({"code": "streak-3"}))
            .await,
        app.delete("/users/1/badges/first-goal", None).await,
    ] {
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        problem(response, 401).await;
    }

    assert_eq!(badge_codes(&app, 1).await, ["first-goal"]);
}

// ---- the activity feed ----

async fn every_state_change_appends_one_event_and_the_feed_lists_them_newest_first(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let minute = || app.clock.advance(TimeDelta::minutes(1));

    update_profile(&app, 1, &json!({"display_name": "Ada"})).await;
    minute();
    let goal = id(&app.create_goal(1, &ada, "Learn Rust").await);
    let path = format!("/users/1/goals/{goal}");
    minute();
    json_body(
        app.put(&path, Some(&ada), &json!({"title": "Learn Rust well"}))
            .await,
        200,
    )
    .await;
    minute();
    assert_eq!(check_in(&app, 1, goal).await, 201);
    minute();
    let removed = app
        .delete(&format!("{path}/checkins/2026-03-10"), Some(&ada))
        .await;
    assert_eq!(removed.status(), 204);
    minute();
    complete(&app, 1, goal).await;
    minute();
    json_body(award(&app, 1, "streak-100").await, 201).await;
    minute();
    let revoked = app
        .delete("/users/1/badges/streak-100", Some(&award_token()))
        .await;
    assert_eq!(revoked.status(), 204);
    minute();
    assert_eq!(app.delete(&path, Some(&ada)).await.status(), 204);

    let events = activity(&app, 1, None).await;

    for event in &events {
        assert_eq!(
            keys(event),
            [
                "badge_code",
                "goal_id",
                "id",
                "kudos_count",
                "occurred_at",
                "summary",
                "type"
            ]
        );
    }
    let ids: Vec<i64> = events.iter().map(id).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let seen: Vec<Value> = events
        .iter()
        .map(|e| {
            json!([
                e["type"],
                e["occurred_at"],
                e["goal_id"],
                e["badge_code"],
                e["summary"]
            ])
        })
        .collect();
    let at = |minutes: u32| format!("2026-03-10T12:{minutes:02}:00Z");
    assert_eq!(
        seen,
        [
            json!([
                "goal_deleted",
                at(8),
                goal,
                null,
                "Deleted a goal: Learn Rust well"
            ]),
            json!([
                "badge_revoked",
                at(7),
                null,
                "streak-100",
                "Lost the badge Unstoppable"
            ]),
            json!([
                "badge_awarded",
                at(6),
                null,
                "streak-100",
                "Earned the badge Unstoppable"
            ]),
            json!([
                "badge_awarded",
                at(5),
                null,
                "first-completion",
                "Earned the badge Finisher"
            ]),
            json!([
                "goal_completed",
                at(5),
                goal,
                null,
                "Completed a goal: Learn Rust well"
            ]),
            json!([
                "checkin_removed",
                at(4),
                goal,
                null,
                "Removed the check-in on Learn Rust well for 2026-03-10"
            ]),
            json!([
                "checkin_added",
                at(3),
                goal,
                null,
                "Checked in on Learn Rust well for 2026-03-10"
            ]),
            json!([
                "goal_updated",
                at(2),
                goal,
                null,
                "Updated a goal: Learn Rust well"
            ]),
            json!([
                "badge_awarded",
                at(1),
                null,
                "first-goal",
                "Earned the badge First step"
            ]),
            json!(["goal_created", at(1), goal, null, "Set a goal: Learn Rust"]),
            json!([
                "profile_updated",
                at(0),
                null,
                null,
                "Updated their profile"
            ]),
        ]
    );
}

async fn a_deleted_goals_events_stay_with_the_title_it_had(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let goal = id(&app.create_goal(1, &ada, "Learn Haskell").await);
    let path = format!("/users/1/goals/{goal}");
    json_body(
        app.put(&path, Some(&ada), &json!({"title": "Learn Idris"}))
            .await,
        200,
    )
    .await;

    assert_eq!(app.delete(&path, Some(&ada)).await.status(), 204);
    problem(app.get(&path).await, 404).await;

    let about_goal: Vec<Value> = activity(&app, 1, None)
        .await
        .into_iter()
        .filter(|e| e["goal_id"] == goal)
        .collect();
    assert_eq!(
        types(&about_goal),
        ["goal_deleted", "goal_updated", "goal_created"]
    );
    assert!(
        about_goal[2]["summary"]
            .as_str()
            .unwrap()
            .contains("Learn Haskell"),
        "{about_goal:?}"
    );
    assert!(
        about_goal[0]["summary"]
            .as_str()
            .unwrap()
            .contains("Learn Idris"),
        "{about_goal:?}"
    );
}

async fn the_activity_feed_pages_with_a_next_link_until_the_last_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    for n in 0..5 {
        app.create_goal(1, &ada, &format!("Goal {n}")).await;
    }
    let all = activity(&app, 1, None).await;
    assert_eq!(all.len(), 6, "five goals and the first-goal badge");

    let mut seen = Vec::new();
    let mut next = Some("/users/1/activity?limit=4".to_owned());
    let mut pages = 0;
    while let Some(url) = next {
        let response = app.get(&url).await;
        next = next_link(&response);
        let page = json_body(response, 200).await;
        seen.extend(page.as_array().unwrap().iter().cloned());
        pages += 1;
        assert!(pages <= 2, "two pages of four hold six events");
    }

    assert_eq!(pages, 2);
    assert_eq!(seen, all);
    let first = app.get("/users/1/activity?limit=4").await;
    let cursor = id(&all[3]);
    assert_eq!(
        next_link(&first).unwrap(),
        format!("/users/1/activity?limit=4&cursor={cursor}")
    );
    let exact = app.get("/users/1/activity?limit=6").await;
    assert_eq!(next_link(&exact), None, "a page ending at the last event");
    for bad in ["limit=0", "limit=101", "cursor=0", "limit=x"] {
        let body = problem(app.get(&format!("/users/1/activity?{bad}")).await, 400).await;
        let name = bad.split('=').next().unwrap();
        assert_eq!(error_fields(&body), [name], "{bad}");
    }
}

async fn a_refused_write_adds_no_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let goal = id(&app.create_goal(1, &ada, "Learn Rust").await);
    let paused = id(&app.create_goal(1, &ada, "Learn Go").await);
    let path = format!("/users/1/goals/{goal}");
    json_body(
        app.put(
            &format!("/users/1/goals/{paused}"),
            Some(&ada),
            &json!({"status": "paused"}),
        )
        .await,
        200,
    )
    .await;
    let before = activity(&app, 1, Some(&ada)).await;
    app.clock.advance(TimeDelta::hours(1));

    let refused = [
        (
            app.put(&path, Some(&ada), &json!({"status": "finished"}))
                .await,
            422,
        ),
        (app.put(&path, Some(&ada), &json!({"title": ""})).await, 422),
        (
            app.post(
                &format!("{path}/checkins"),
                Some(&ada),
                &json!({"date": "2026-03-12"}),
            )
            .await,
            422,
        ),
        (
            app.post(
                &format!("/users/1/goals/{paused}/checkins"),
                Some(&ada),
                &json!({}),
            )
            .await,
            409,
        ),
        (
            app.delete(&format!("{path}/checkins/2026-03-10"), Some(&ada))
                .await,
            404,
        ),
        (
            app.put(
                "/users/1",
                Some(&ada),
                &json!({"display_name": "Ada", "visibility": {"goals": "friends"}}),
            )
            .await,
            422,
        ),
        (
            app.put(&path, Some(&bob), &json!({"title": "Bob's"})).await,
            403,
        ),
        (app.delete(&path, Some(&bob)).await, 403),
        (award(&app, 1, "no-such-badge").await, 422),
        (
            app.delete("/users/1/badges/streak-3", Some(&award_token()))
                .await,
            404,
        ),
    ];
    for (response, status) in refused {
        problem(response, status).await;
    }

    assert_eq!(activity(&app, 1, Some(&ada)).await, before);
    assert_eq!(stats(&app).await["last_active_at"], "2026-03-10T12:00:00Z");
}

async fn an_unknown_users_activity_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;

    problem(app.get("/users/42/activity").await, 404).await;
}

// ---- privacy ----

async fn private_goals_are_404_to_others_on_every_goal_endpoint_and_open_to_their_owner(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let goal = id(&app.create_goal(1, &ada, "Secret plan").await);
    assert_eq!(check_in(&app, 1, goal).await, 201);
    update_profile(&app, 1, &json!({"visibility": {"goals": "private"}})).await;
    let paths = [
        "/users/1/goals".to_owned(),
        "/users/1/goals?limit=1".to_owned(),
        format!("/users/1/goals/{goal}"),
        format!("/users/1/goals/{goal}/checkins"),
    ];

    for path in &paths {
        problem(app.get(path).await, 404).await;
        problem(app.get_as(path, &bob).await, 404).await;
        json_body(app.get_as(path, &ada).await, 200).await;
    }
    // Others cannot tell an existing goal from a missing one.
    let existing = problem(app.get(&format!("/users/1/goals/{goal}")).await, 404).await;
    let missing = problem(
        app.get(&format!("/users/1/goals/{}", goal + 1000)).await,
        404,
    )
    .await;
    assert_eq!(existing, missing);

    let list = json_body(app.get_as("/users/1/goals", &ada).await, 200).await;
    assert_eq!(list[0]["title"], "Secret plan");
    let checkins = json_body(
        app.get_as(&format!("/users/1/goals/{goal}/checkins"), &ada)
            .await,
        200,
    )
    .await;
    assert_eq!(checkins[0]["date"], "2026-03-10");
    // Bob's own goals stay public.
    json_body(app.get("/users/2/goals").await, 200).await;
}

async fn private_badges_activity_and_stats_are_404_to_others_and_open_to_their_owner(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    app.create_goal(1, &ada, "Learn Rust").await;

    for section in ["badges", "activity", "stats"] {
        let path = format!("/users/1/{section}");
        json_body(app.get(&path).await, 200).await;

        update_profile(&app, 1, &json!({"visibility": {section: "private"}})).await;

        problem(app.get(&path).await, 404).await;
        problem(app.get_as(&path, &bob).await, 404).await;
        let own = json_body(app.get_as(&path, &ada).await, 200).await;
        assert!(!own.is_null(), "{section}");
        // Only this section is private.
        json_body(app.get("/users/1/goals").await, 200).await;

        update_profile(&app, 1, &json!({"visibility": {section: "public"}})).await;
        json_body(app.get(&path).await, 200).await;
    }
    let own_badges = badge_codes(&app, 1).await;
    assert_eq!(own_badges, ["first-goal"]);
}

async fn the_profile_links_leave_out_private_sections_for_others_but_not_for_the_owner(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let everything = json!({
        "self": "/users/1",
        "goals": "/users/1/goals",
        "badges": "/users/1/badges",
        "stats": "/users/1/stats",
        "activity": "/users/1/activity",
        "followers": "/users/1/followers",
        "following": "/users/1/following",
    });
    assert_eq!(
        json_body(app.get("/users/1").await, 200).await["links"],
        everything
    );

    update_profile(
        &app,
        1,
        &json!({"visibility": {"goals": "private", "stats": "private"}}),
    )
    .await;

    let public = json!({
        "self": "/users/1",
        "badges": "/users/1/badges",
        "activity": "/users/1/activity",
        "followers": "/users/1/followers",
        "following": "/users/1/following",
    });
    assert_eq!(
        json_body(app.get("/users/1").await, 200).await["links"],
        public
    );
    assert_eq!(
        json_body(app.get_as("/users/1", &bob).await, 200).await["links"],
        public
    );
    assert_eq!(
        json_body(app.get_as("/users/1", &ada).await, 200).await["links"],
        everything
    );
    assert_eq!(
        json_body(app.get_as("/users/me", &ada).await, 200).await["links"],
        everything
    );
}

async fn my_profile_shows_the_visibility_settings_and_sections_left_out_keep_theirs(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let all_public = json!({"goals": "public", "badges": "public", "activity": "public",
                            "stats": "public", "connections": "public"});
    assert_eq!(
        json_body(app.get_as("/users/me", &ada).await, 200).await["visibility"],
        all_public
    );

    let updated = update_profile(
        &app,
        1,
        &json!({"visibility": {"goals": "private", "badges": "private"}}),
    )
    .await;
    update_profile(
        &app,
        1,
        &json!({"visibility": {"badges": "public", "stats": "private"}}),
    )
    .await;

    let expected = json!({"goals": "private", "badges": "public", "activity": "public",
                          "stats": "private", "connections": "public"});
    assert_eq!(
        updated["visibility"],
        json!({"goals": "private", "badges": "private", "activity": "public", "stats": "public",
               "connections": "public"})
    );
    assert_eq!(
        json_body(app.get_as("/users/me", &ada).await, 200).await["visibility"],
        expected
    );
    let public = json_body(app.get("/users/1").await, 200).await;
    assert!(public.get("visibility").is_none(), "{public}");
}

async fn an_invalid_visibility_is_a_422_naming_the_section(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;

    for (visibility, field) in [
        (json!({"goals": "friends"}), "visibility.goals"),
        (json!({"goals": 5}), "visibility.goals"),
        (json!({"badges": "Private"}), "visibility.badges"),
        (json!({"activity": ""}), "visibility.activity"),
        (json!({"stats": "hidden"}), "visibility.stats"),
        (json!({"friends": "private"}), "visibility.friends"),
    ] {
        let body = problem(
            app.put(
                "/users/1",
                Some(&ada),
                &json!({"bio": "Changed", "visibility": visibility}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&body), [field], "{visibility}: {body}");
    }

    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(me["bio"], Value::Null, "a refused update changes nothing");
    assert_eq!(me["visibility"]["goals"], "public");
}

async fn with_goals_private_others_see_the_activity_feed_without_goal_and_checkin_events(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let bob = app.user(2).await;
    let goal = id(&app.create_goal(1, &ada, "Secret plan").await);
    assert_eq!(check_in(&app, 1, goal).await, 201);
    complete(&app, 1, goal).await;
    update_profile(&app, 1, &json!({"visibility": {"goals": "private"}})).await;

    let others = [
        activity(&app, 1, None).await,
        activity(&app, 1, Some(&bob)).await,
    ];
    let own = activity(&app, 1, Some(&ada)).await;

    for seen in &others {
        assert_eq!(
            types(seen),
            ["profile_updated", "badge_awarded", "badge_awarded"]
        );
        assert!(seen.iter().all(|e| e["goal_id"].is_null()), "{seen:?}");
        assert!(
            !seen
                .iter()
                .any(|e| e["summary"].as_str().unwrap().contains("Secret plan")),
            "{seen:?}"
        );
    }
    assert_eq!(
        types(&own),
        [
            "profile_updated",
            "badge_awarded",
            "goal_completed",
            "checkin_added",
            "badge_awarded",
            "goal_created"
        ]
    );
    // A page of others' feed is full of what they may see.
    let page = json_body(app.get("/users/1/activity?limit=2").await, 200).await;
    assert_eq!(
        types(page.as_array().unwrap()),
        ["profile_updated", "badge_awarded"]
    );
}

async fn with_badges_private_others_see_the_activity_feed_without_badge_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    app.create_goal(1, &ada, "Learn Rust").await;
    json_body(award(&app, 1, "streak-100").await, 201).await;
    let revoked = app
        .delete("/users/1/badges/streak-100", Some(&award_token()))
        .await;
    assert_eq!(revoked.status(), 204);
    update_profile(&app, 1, &json!({"visibility": {"badges": "private"}})).await;

    assert_eq!(
        types(&activity(&app, 1, None).await),
        ["profile_updated", "goal_created"]
    );
    assert_eq!(
        types(&activity(&app, 1, Some(&ada)).await),
        [
            "profile_updated",
            "badge_revoked",
            "badge_awarded",
            "badge_awarded",
            "goal_created"
        ]
    );
}

// ---- stats ----

async fn badges_count_in_stats_follows_awards_and_revocations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let badges_count = || async { stats(&app).await["badges_count"].clone() };
    assert_eq!(badges_count().await, 0);

    app.create_goal(1, &ada, "Learn Rust").await;
    assert_eq!(badges_count().await, 1);

    json_body(award(&app, 1, "streak-100").await, 201).await;
    json_body(award(&app, 1, "streak-100").await, 200).await;
    assert_eq!(badges_count().await, 2);

    let revoked = app
        .delete("/users/1/badges/first-goal", Some(&award_token()))
        .await;
    assert_eq!(revoked.status(), 204);
    assert_eq!(badges_count().await, 1);
}

async fn last_active_at_in_stats_is_the_time_of_the_latest_event(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let last_active_at = || async { stats(&app).await["last_active_at"].clone() };
    assert_eq!(last_active_at().await, Value::Null);

    app.clock.advance(TimeDelta::hours(1));
    let goal = id(&app.create_goal(1, &ada, "Learn Rust").await);
    assert_eq!(last_active_at().await, "2026-03-10T13:00:00Z");

    app.clock.advance(TimeDelta::days(1));
    assert_eq!(check_in(&app, 1, goal).await, 201);
    assert_eq!(last_active_at().await, "2026-03-11T13:00:00Z");

    // Reads and a repeated check-in are not activity.
    app.clock.advance(TimeDelta::hours(2));
    assert_eq!(check_in(&app, 1, goal).await, 200);
    json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(last_active_at().await, "2026-03-11T13:00:00Z");

    app.clock.advance(TimeDelta::hours(2));
    json_body(award(&app, 1, "streak-30").await, 201).await;
    assert_eq!(last_active_at().await, "2026-03-11T17:00:00Z");
    let latest = activity(&app, 1, None).await;
    assert_eq!(latest[0]["occurred_at"], "2026-03-11T17:00:00Z");
}

// ---- the operator's `badges add` ----

#[tokio::test]
async fn badges_add_puts_an_entry_in_the_catalog_that_the_server_lists_and_awards() {
    use crate::{
        cli::{command, run},
        helpers::ChildServer,
    };

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = format!("sqlite://{}", dir.path().join("catalog.db").display());
    let with_db = |args: &[&str]| {
        let mut command = command(&data);
        command.env("DATABASE_URL", &database).args(args);
        command
    };

    let output = run(&mut with_db(&[
        "badges",
        "add",
        "--code",
        "mentor",
        "--name",
        "Mentor",
        "--description",
        "Helped another learner.",
        "--tier",
        "gold",
        "--criteria",
        "Answer ten questions from other learners.",
    ]));
    assert!(String::from_utf8_lossy(&output.stdout).contains("mentor"));
    run(&mut with_db(&[
        "users",
        "create",
        "--id",
        "1",
        "--username",
        "ada",
    ]));
    let service = String::from_utf8(
        run(&mut with_db(&[
            "token",
            "--user",
            "900",
            "--scope",
            "badges:award",
        ]))
        .stdout,
    )
    .unwrap();

    let server = ChildServer::start(&mut with_db(&["serve"]));
    let client = crate::helpers::http_client();
    let catalog: Value = client
        .get(format!("{}/users/badges", server.address))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mentor = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == "mentor")
        .unwrap_or_else(|| panic!("mentor is not in the catalog: {catalog}"));
    assert_eq!(
        *mentor,
        json!({
            "code": "mentor",
            "name": "Mentor",
            "description": "Helped another learner.",
            "icon_url": null,
            "tier": "gold",
            "criteria": "Answer ten questions from other learners.",
            "holders": 0,
        })
    );
    assert_eq!(
        catalog.as_array().unwrap().len(),
        21,
        "eighteen built in and mentor"
    );

    let awarded = client
        .post(format!("{}/users/1/badges", server.address))
        .bearer_auth(service.trim())
        .json(&json!({"code": "mentor"}))
        .send()
        .await
        .unwrap();
    assert_eq!(awarded.status(), 201);
}

#[test]
fn badges_add_refuses_a_code_that_is_not_lowercase_letters_digits_and_dashes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("catalog.db");
    for code in ["Mentor", "big mentor", "", "mentor!"] {
        let output = crate::cli::command(dir.path())
            .env("DATABASE_URL", format!("sqlite://{}", db.display()))
            .args([
                "badges",
                "add",
                "--code",
                code,
                "--name",
                "Mentor",
                "--description",
                "Helped another learner.",
                "--criteria",
                "Answer ten questions.",
            ])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{code:?} was accepted");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("--code"),
            "{code:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

async fn stats_of_a_user_without_goals_count_their_badges_and_last_activity(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    let awarded = json_body(
        app.post(
            "/users/1/badges",
            Some(&award_token()),
            &json!({"code": "first-goal"}),
        )
        .await,
        201,
    )
    .await;

    let stats = json_body(app.get("/users/1/stats").await, 200).await;

    assert_eq!(stats["goals_total"], 0);
    assert_eq!(stats["checkins_total"], 0);
    assert_eq!(stats["badges_count"], 1);
    assert_eq!(stats["last_active_at"], awarded["date_achieved"]);
}

crate::backend_tests!(
    stats_of_a_user_without_goals_count_their_badges_and_last_activity,
    the_catalog_lists_every_badge_definition_with_its_tier_and_criteria,
    the_catalog_counts_the_holders_of_each_badge_as_awards_change,
    a_first_goal_earns_first_goal_at_the_moment_it_is_created_and_only_once,
    completing_a_first_goal_earns_first_completion_once,
    a_goal_created_completed_earns_first_completion,
    the_fifth_and_twenty_fifth_completions_earn_their_badges_and_not_before,
    a_complete_profile_earns_profile_complete_and_an_incomplete_one_does_not,
    check_ins_on_three_and_seven_consecutive_days_earn_streak_3_and_streak_7,
    a_user_cannot_award_or_revoke_a_badge_with_their_own_token,
    twenty_concurrent_completions_earn_each_completion_badge_exactly_once,
    five_goals_completed_at_once_still_earn_five_completions,
    a_trusted_service_awards_a_badge_with_201_then_200_keeping_its_date,
    the_award_scope_may_come_as_a_scopes_array,
    a_trusted_service_revokes_a_badge_with_204_and_a_second_revoke_is_404,
    awarding_or_revoking_without_the_award_scope_is_403,
    awarding_an_unknown_badge_code_is_a_422_naming_code,
    awarding_or_revoking_for_an_unknown_user_is_404,
    awarding_or_revoking_without_a_token_is_401,
    every_state_change_appends_one_event_and_the_feed_lists_them_newest_first,
    a_deleted_goals_events_stay_with_the_title_it_had,
    the_activity_feed_pages_with_a_next_link_until_the_last_page,
    a_refused_write_adds_no_event,
    an_unknown_users_activity_is_404,
    private_goals_are_404_to_others_on_every_goal_endpoint_and_open_to_their_owner,
    private_badges_activity_and_stats_are_404_to_others_and_open_to_their_owner,
    the_profile_links_leave_out_private_sections_for_others_but_not_for_the_owner,
    my_profile_shows_the_visibility_settings_and_sections_left_out_keep_theirs,
    an_invalid_visibility_is_a_422_naming_the_section,
    with_goals_private_others_see_the_activity_feed_without_goal_and_checkin_events,
    with_badges_private_others_see_the_activity_feed_without_badge_events,
    badges_count_in_stats_follows_awards_and_revocations,
    last_active_at_in_stats_is_the_time_of_the_latest_event,
);
