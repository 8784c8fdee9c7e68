use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_fields, json_body, keys, problem, token};

async fn a_public_profile_shows_public_fields_and_links_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.insert_user(7, "ada").await;

    let profile = json_body(app.get("/users/7").await, 200).await;

    assert_eq!(
        keys(&profile),
        [
            "avatar_url",
            "bio",
            "created_at",
            "display_name",
            "follow_policy",
            "followers_count",
            "following_count",
            "id",
            "links",
            "skills",
            "username"
        ]
    );
    assert_eq!(profile["id"], 7);
    assert_eq!(profile["username"], "ada");
    assert_eq!(profile["skills"], json!([]));
    assert!(profile["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        profile["links"],
        json!({"self": "/users/7", "badges": "/users/7/badges", "goals": "/users/7/goals", "stats": "/users/7/stats", "activity": "/users/7/activity",
               "followers": "/users/7/followers", "following": "/users/7/following"})
    );
    assert_eq!(profile["followers_count"], 0);
    assert_eq!(profile["following_count"], 0);
    assert_eq!(profile["follow_policy"], "open");
}

async fn an_unknown_user_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    problem(app.get("/users/404").await, 404).await;
}

async fn a_deactivated_user_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.insert_user(7, "ada").await;
    app.db
        .execute("UPDATE users SET is_active = FALSE WHERE id = 7")
        .await;

    problem(app.get("/users/7").await, 404).await;
    problem(app.get("/users/7/goals").await, 404).await;
}

async fn me_shows_the_owner_only_fields_and_is_not_cached(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let response = app.get_as("/users/me", &ada).await;
    assert_eq!(response.headers()["cache-control"], "private, no-store");
    let me = json_body(response, 200).await;

    assert_eq!(me["id"], 7);
    assert_eq!(me["email"], "user7@example.com");
    assert_eq!(me["timezone"], "UTC");
    assert_eq!(me["week_start"], "monday");
    assert_eq!(me["links"]["self"], "/users/7");
    assert!(me.get("hashed_password").is_none());
}

async fn me_for_a_token_whose_user_has_no_row_is_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    problem(app.get_as("/users/me", &token(42)).await, 404).await;
}

async fn me_without_a_token_is_401_with_a_bearer_challenge(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app.get("/users/me").await;
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    problem(response, 401).await;
}

async fn an_owner_updates_every_profile_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let updated = json_body(
        app.put(
            "/users/7",
            Some(&ada),
            &json!({
                "display_name": "  Ada Lovelace ",
                "bio": "Counts things.\nWrites notes.",
                "skills": ["Rust", " SQL ", "rust", "sql", "HTTP"],
                "avatar_url": "https://cdn.example.com/ada.png",
                "timezone": "Europe/London",
            }),
        )
        .await,
        200,
    )
    .await;

    assert_eq!(updated["display_name"], "Ada Lovelace");
    assert_eq!(updated["bio"], "Counts things.\nWrites notes.");
    assert_eq!(updated["skills"], json!(["Rust", "SQL", "HTTP"]));
    assert_eq!(updated["avatar_url"], "https://cdn.example.com/ada.png");
    assert_eq!(updated["timezone"], "Europe/London");
    let public = json_body(app.get("/users/7").await, 200).await;
    assert_eq!(public["display_name"], "Ada Lovelace");
    assert_eq!(public["skills"], json!(["Rust", "SQL", "HTTP"]));
    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(me["timezone"], "Europe/London");
}

async fn a_field_left_out_is_kept_and_null_clears_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let path = "/users/7";
    json_body(
        app.put(path, Some(&ada), &json!({"display_name": "Ada", "bio": "Hi", "skills": ["Go"], "timezone": "Asia/Tokyo"}))
            .await,
        200,
    )
    .await;

    let updated = json_body(
        app.put(
            path,
            Some(&ada),
            &json!({"bio": null, "skills": null, "timezone": null}),
        )
        .await,
        200,
    )
    .await;

    assert_eq!(updated["display_name"], "Ada");
    assert_eq!(updated["bio"], Value::Null);
    assert_eq!(updated["skills"], json!([]));
    assert_eq!(updated["timezone"], "UTC");
}

async fn unknown_and_read_only_members_are_refused_by_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let body = problem(
        app.put(
            "/users/7",
            Some(&ada),
            &json!({"bio": "fine", "email": "x@example.com", "id": 8, "username": "eve", "is_admin": true}),
        )
        .await,
        422,
    )
    .await;

    assert_eq!(error_fields(&body), ["email", "id", "is_admin", "username"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
    assert!(
        body["errors"][2]["message"]
            .as_str()
            .unwrap()
            .contains("not a field")
    );
    let unchanged = json_body(app.get("/users/7").await, 200).await;
    assert_eq!(
        unchanged["bio"],
        Value::Null,
        "a refused update writes nothing"
    );
    assert_eq!(unchanged["username"], "user7");
}

async fn every_profile_limit_holds_at_its_bound_and_fails_just_past_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let long_url = |len: usize| {
        format!(
            "https://example.com/{}",
            "a".repeat(len - "https://example.com/".len())
        )
    };
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "display_name",
            json!("d".repeat(100)),
            json!("d".repeat(101)),
        ),
        (
            "display_name",
            json!("é".repeat(100)),
            json!("é".repeat(101)),
        ),
        ("bio", json!("b".repeat(500)), json!("b".repeat(501))),
        (
            "skills",
            json!(
                vec!["s"; 30]
                    .iter()
                    .enumerate()
                    .map(|(i, _)| format!("s{i}"))
                    .collect::<Vec<_>>()
            ),
            json!((0..31).map(|i| format!("s{i}")).collect::<Vec<_>>()),
        ),
        (
            "skills[0]",
            json!(["k".repeat(40)]),
            json!(["k".repeat(41)]),
        ),
        ("avatar_url", json!(long_url(2048)), json!(long_url(2049))),
        (
            "avatar_url",
            json!("https://example.com/a.png"),
            json!("http://example.com/a.png"),
        ),
        (
            "timezone",
            json!("America/Los_Angeles"),
            json!("America/Springfield"),
        ),
    ];
    for (field, ok, too_far) in cases {
        let member = field.split('[').next().unwrap();
        let accepted = app
            .put("/users/7", Some(&ada), &json!({ member: ok }))
            .await;
        assert_eq!(
            accepted.status(),
            200,
            "{field} at its bound: {}",
            accepted.text().await.unwrap()
        );
        let refused = problem(
            app.put("/users/7", Some(&ada), &json!({ member: too_far }))
                .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), [field], "{field} past its bound");
    }
}

async fn an_empty_skill_or_a_wrong_type_is_named(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let blank = problem(
        app.put("/users/7", Some(&ada), &json!({"skills": ["ok", "  "]}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&blank), ["skills[1]"]);
    let wrong_type = problem(
        app.put("/users/7", Some(&ada), &json!({"display_name": 5}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&wrong_type), ["display_name"]);
    let several = problem(
        app.put(
            "/users/7",
            Some(&ada),
            &json!({"bio": "x".repeat(501), "timezone": "Nowhere"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&several), ["bio", "timezone"]);
}

/// Text made only of what draws nothing (noncharacters, format characters, fillers,
/// variation selectors, tags) is refused in every text field, naming it, and nothing is
/// written.
async fn text_that_draws_nothing_is_refused_by_field_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let goal = app.create_goal(7, &ada, "Rust").await;
    let goal_path = format!("/users/7/goals/{}", goal["id"]);

    for invisible in [
        "\u{FFFE}\u{FFFF}",
        "\u{200B}\u{200D}",
        "\u{3164}",
        " \u{FE0F} ",
        "\u{E0041}",
    ] {
        let profile = problem(
            app.put(
                "/users/7",
                Some(&ada),
                &json!({"display_name": invisible, "bio": invisible, "skills": ["Rust", invisible]}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(
            error_fields(&profile),
            ["skills[1]", "display_name", "bio"],
            "{invisible:?}"
        );
        let created = problem(
            app.post(
                "/users/7/goals",
                Some(&ada),
                &json!({"title": invisible, "description": invisible}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&created), ["title", "description"]);
        let updated = problem(
            app.put(&goal_path, Some(&ada), &json!({"title": invisible}))
                .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&updated), ["title"]);
        let checkin = problem(
            app.post(
                &format!("{goal_path}/checkins"),
                Some(&ada),
                &json!({"note": invisible}),
            )
            .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&checkin), ["note"]);
    }
    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(me["display_name"], Value::Null);
    assert_eq!(me["skills"], json!([]));
    assert_eq!(app.db.scalar("SELECT count(*) FROM goal_checkins").await, 0);
    // Visible text with such characters in it is kept as written.
    let heart = "I \u{2764}\u{FE0F} Rust\u{200B}";
    let kept = json_body(
        app.put("/users/7", Some(&ada), &json!({"display_name": heart}))
            .await,
        200,
    )
    .await;
    assert_eq!(kept["display_name"], heart);
}

async fn a_user_cannot_update_another_users_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    app.insert_user(8, "bob").await;

    problem(
        app.put("/users/8", Some(&ada), &json!({"bio": "hacked"}))
            .await,
        403,
    )
    .await;
    problem(
        app.put("/users/8", None, &json!({"bio": "hacked"})).await,
        401,
    )
    .await;

    let bob = json_body(app.get("/users/8").await, 200).await;
    assert_eq!(bob["bio"], Value::Null);
}

async fn another_users_request_is_refused_before_its_body_is_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    app.insert_user(8, "bob").await;

    problem(
        app.put("/users/8", Some(&ada), &json!({"bio": "x".repeat(9999)}))
            .await,
        403,
    )
    .await;
}

async fn a_path_id_that_is_not_a_positive_64_bit_integer_is_a_400_naming_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    for id in ["0", "-1", "abc", "1.5", "99999999999999999999", "%20"] {
        let body = problem(app.get(&format!("/users/{id}")).await, 400).await;
        assert_eq!(error_fields(&body), ["user_id"], "/users/{id}");
    }
    let body = problem(app.put("/users/0", Some(&ada), &json!({})).await, 400).await;
    assert_eq!(error_fields(&body), ["user_id"]);
}

async fn a_body_that_is_not_json_gets_a_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let put = || app.request(Method::PUT, "/users/7", Some(&ada));

    let response = put()
        .header("content-type", "text/plain")
        .body("bio=hi")
        .send()
        .await
        .unwrap();
    problem(response, 415).await;
    let response = put()
        .header("content-type", "application/json")
        .body("{\"bio\": ")
        .send()
        .await
        .unwrap();
    problem(response, 400).await;
    let response = put()
        .header("content-type", "application/json")
        .body("[]")
        .send()
        .await
        .unwrap();
    problem(response, 422).await;
    let deep = format!("{{\"bio\": {}{}}}", "[".repeat(40), "]".repeat(40));
    let response = put()
        .header("content-type", "application/json")
        .body(deep)
        .send()
        .await
        .unwrap();
    problem(response, 400).await;
    let huge = json!({ "bio": "x".repeat(70 * 1024) });
    problem(app.put("/users/7", Some(&ada), &huge).await, 413).await;
}

async fn an_update_that_changes_nothing_keeps_the_profile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;
    let before = json_body(app.get_as("/users/me", &ada).await, 200).await;

    let after = json_body(app.put("/users/7", Some(&ada), &json!({})).await, 200).await;

    assert_eq!(before, after);
}

async fn unknown_routes_and_methods_answer_with_problems(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    problem(app.get("/nowhere").await, 404).await;
    problem(
        app.request(Method::PATCH, "/users/1", None)
            .send()
            .await
            .unwrap(),
        405,
    )
    .await;
}

async fn the_week_starts_on_the_day_the_owner_chooses_and_only_they_see_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(7).await;

    let sunday = json!({"week_start": "sunday"});
    let updated = json_body(app.put("/users/7", Some(&ada), &sunday).await, 200).await;
    assert_eq!(updated["week_start"], "sunday");
    let me = json_body(app.get_as("/users/me", &ada).await, 200).await;
    assert_eq!(me["week_start"], "sunday");
    let public = json_body(app.get("/users/7").await, 200).await;
    assert!(public.get("week_start").is_none(), "{public}");
    assert!(public.get("timezone").is_none(), "{public}");

    for bad in [json!("Sunday"), json!("saturday"), json!(1)] {
        let refused = problem(
            app.put("/users/7", Some(&ada), &json!({ "week_start": bad }))
                .await,
            422,
        )
        .await;
        assert_eq!(error_fields(&refused), ["week_start"], "{bad}");
    }
    let cleared = json!({"week_start": null});
    let updated = json_body(app.put("/users/7", Some(&ada), &cleared).await, 200).await;
    assert_eq!(updated["week_start"], "monday");
}

crate::backend_tests!(
    the_week_starts_on_the_day_the_owner_chooses_and_only_they_see_it,
    a_public_profile_shows_public_fields_and_links_only,
    an_unknown_user_is_404,
    a_deactivated_user_is_404,
    me_shows_the_owner_only_fields_and_is_not_cached,
    me_for_a_token_whose_user_has_no_row_is_404,
    me_without_a_token_is_401_with_a_bearer_challenge,
    an_owner_updates_every_profile_field,
    a_field_left_out_is_kept_and_null_clears_it,
    unknown_and_read_only_members_are_refused_by_name,
    every_profile_limit_holds_at_its_bound_and_fails_just_past_it,
    an_empty_skill_or_a_wrong_type_is_named,
    text_that_draws_nothing_is_refused_by_field_and_nothing_is_written,
    a_user_cannot_update_another_users_profile,
    another_users_request_is_refused_before_its_body_is_read,
    a_path_id_that_is_not_a_positive_64_bit_integer_is_a_400_naming_it,
    a_body_that_is_not_json_gets_a_problem,
    an_update_that_changes_nothing_keeps_the_profile,
    unknown_routes_and_methods_answer_with_problems,
);
