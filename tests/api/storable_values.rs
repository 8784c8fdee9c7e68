//! Values PostgreSQL cannot store, refused before they reach it, alike on both backends:
//! days outside 0001-01-01 … 9999-12-31 and text holding a NUL are a 400 or 422 naming the
//! parameter or member, never a 500. A property test sends arbitrary text and dates to every
//! text and date input and checks that no answer is a 5xx.

use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, RngSeed, TestRunner},
};
use reqwest::{Method, Url};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, award_token, error_fields, json_body, problem, token};

/// User 1 with a goal that has a check-in today: its id.
async fn user_with_a_goal(app: &TestApp) -> i64 {
    let token = app.user(1).await;
    let goal = app.create_goal(1, &token, "Learn Rust").await["id"]
        .as_i64()
        .unwrap();
    json_body(
        app.post(
            &format!("/users/1/goals/{goal}/checkins"),
            Some(&token),
            &json!({}),
        )
        .await,
        201,
    )
    .await;
    goal
}

async fn days_outside_0001_to_9999_are_refused_naming_the_parameter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let goal = user_with_a_goal(&app).await;
    let token = token(1);
    let checkins = format!("/users/1/goals/{goal}/checkins");

    for (query, parameter) in [
        ("from=-12345-01-01", "from"),
        ("to=-4714-01-01", "to"),
        ("cursor=-12345-01-01", "cursor"),
        ("from=0000-12-31", "from"),
        ("to=%2B10000-01-01", "to"),
    ] {
        for path in [checkins.as_str(), "/users/1/heatmap"] {
            if parameter == "cursor" && path.ends_with("heatmap") {
                continue;
            }
            let body = problem(app.get(&format!("{path}?{query}")).await, 400).await;
            assert_eq!(
                body["type"], "/problems/invalid-parameters",
                "{path}?{query}"
            );
            assert_eq!(error_fields(&body), [parameter], "{path}?{query}");
        }
    }
    for day in ["-12345-01-01", "-4714-01-01", "0000-01-01"] {
        let body = problem(
            app.delete(&format!("{checkins}/{day}"), Some(&token)).await,
            400,
        )
        .await;
        assert_eq!(error_fields(&body), ["date"], "{day}");
    }
    let body = problem(
        app.post(&checkins, Some(&token), &json!({"date": "-12345-01-01"}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&body), ["date"]);
    // The edges themselves are days like any other.
    json_body(
        app.get(&format!("{checkins}?from=0001-01-01&to=9999-12-31"))
            .await,
        200,
    )
    .await;
    for (range, from) in [
        ("from=0001-01-01&to=0001-01-31", "0001-01-01"),
        ("to=0001-01-03", "0001-01-01"),
        ("to=9999-12-31", "9998-12-28"),
    ] {
        let heatmap = json_body(app.get(&format!("/users/1/heatmap?{range}")).await, 200).await;
        assert_eq!(heatmap["from"], from, "{range}");
    }
}

async fn a_nul_in_any_text_is_refused_naming_the_field_and_nothing_is_written(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let goal = user_with_a_goal(&app).await;
    let token = token(1);
    let nul = "a\u{0}b";
    let goal_path = format!("/users/1/goals/{goal}");
    let profile_before = json_body(app.get_as("/users/1", &token).await, 200).await;

    for (member, body) in [
        ("display_name", json!({"display_name": nul})),
        ("bio", json!({"bio": nul})),
        ("skills[0]", json!({"skills": [nul]})),
        ("avatar_url", json!({"avatar_url": nul})),
        ("timezone", json!({"timezone": nul})),
        ("week_start", json!({"week_start": nul})),
        ("visibility.goals", json!({"visibility": {"goals": nul}})),
    ] {
        let refused = problem(app.put("/users/1", Some(&token), &body).await, 422).await;
        assert_eq!(error_fields(&refused), [member]);
    }
    for (path, member, body) in [
        ("/users/1/goals".to_owned(), "title", json!({"title": nul})),
        (
            "/users/1/goals".to_owned(),
            "description",
            json!({"title": "ok", "description": nul}),
        ),
        (
            "/users/1/goals".to_owned(),
            "status",
            json!({"title": "ok", "status": nul}),
        ),
        (
            format!("{goal_path}/checkins"),
            "note",
            json!({"note": nul}),
        ),
    ] {
        let refused = problem(app.post(&path, Some(&token), &body).await, 422).await;
        assert_eq!(error_fields(&refused), [member], "{path}");
    }
    let refused = problem(
        app.put(&goal_path, Some(&token), &json!({"title": nul}))
            .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["title"]);
    let refused = problem(
        app.post(
            "/users/1/badges",
            Some(&award_token()),
            &json!({"code": nul}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(error_fields(&refused), ["code"]);
    let refused = problem(
        app.delete("/users/1/badges/%00", Some(&award_token()))
            .await,
        400,
    )
    .await;
    assert_eq!(error_fields(&refused), ["code"]);
    let refused = problem(app.get("/users/1/goals?status=%00").await, 400).await;
    assert_eq!(error_fields(&refused), ["status"]);

    assert_eq!(
        json_body(app.get_as("/users/1", &token).await, 200).await,
        profile_before
    );
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM learning_goals").await,
        1
    );
}

/// One input of the API, and a request putting `value` in it.
struct Input {
    name: &'static str,
    method: Method,
    /// The path for a goal id and the value (already in the path, for path inputs).
    path: fn(i64, &str) -> String,
    body: fn(&str) -> Option<Value>,
    /// A header the value goes into, where it can be a header value.
    header: Option<&'static str>,
}

/// A path segment or query value holding any text.
fn encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn inputs() -> Vec<Input> {
    fn none(_: &str) -> Option<Value> {
        None
    }
    vec![
        Input {
            name: "display_name",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"display_name": v})),
            header: None,
        },
        Input {
            name: "bio",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"bio": v})),
            header: None,
        },
        Input {
            name: "skills",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"skills": [v, "Rust"]})),
            header: None,
        },
        Input {
            name: "avatar_url",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"avatar_url": v})),
            header: None,
        },
        Input {
            name: "timezone",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"timezone": v})),
            header: None,
        },
        Input {
            name: "week_start",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"week_start": v})),
            header: None,
        },
        Input {
            name: "visibility",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |v| Some(json!({"visibility": {"stats": v}})),
            header: None,
        },
        Input {
            name: "If-Match",
            method: Method::PUT,
            path: |_, _| "/users/1".into(),
            body: |_| Some(json!({"bio": "x"})),
            header: Some("if-match"),
        },
        Input {
            name: "goal title, description and status",
            method: Method::POST,
            path: |_, _| "/users/1/goals".into(),
            body: |v| Some(json!({"title": v, "description": v, "status": v})),
            header: None,
        },
        Input {
            name: "a goal's title",
            method: Method::POST,
            path: |_, _| "/users/1/goals".into(),
            body: |v| Some(json!({"title": v})),
            header: None,
        },
        Input {
            name: "Idempotency-Key",
            method: Method::POST,
            path: |_, _| "/users/1/goals".into(),
            body: |_| Some(json!({"title": "Keyed"})),
            header: Some("idempotency-key"),
        },
        Input {
            name: "a goal update",
            method: Method::PUT,
            path: |goal, _| format!("/users/1/goals/{goal}"),
            body: |v| Some(json!({"title": v, "description": v, "status": v})),
            header: None,
        },
        Input {
            name: "a check-in's note",
            method: Method::POST,
            path: |goal, _| format!("/users/1/goals/{goal}/checkins"),
            body: |v| Some(json!({"note": v})),
            header: None,
        },
        Input {
            name: "a check-in's date",
            method: Method::POST,
            path: |goal, _| format!("/users/1/goals/{goal}/checkins"),
            body: |v| Some(json!({"date": v})),
            header: None,
        },
        Input {
            name: "a check-in to remove",
            method: Method::DELETE,
            path: |goal, v| format!("/users/1/goals/{goal}/checkins/{}", encoded(v)),
            body: none,
            header: None,
        },
        Input {
            name: "check-in dates",
            method: Method::GET,
            path: |goal, v| {
                let v = encoded(v);
                format!("/users/1/goals/{goal}/checkins?from={v}&to={v}&cursor={v}&limit={v}")
            },
            body: none,
            header: None,
        },
        Input {
            name: "a goals page",
            method: Method::GET,
            path: |_, v| {
                let v = encoded(v);
                format!("/users/1/goals?status={v}&cursor={v}&limit={v}")
            },
            body: none,
            header: None,
        },
        Input {
            name: "an activity page",
            method: Method::GET,
            path: |_, v| {
                let v = encoded(v);
                format!("/users/1/activity?cursor={v}&limit={v}")
            },
            body: none,
            header: None,
        },
        Input {
            name: "a heatmap's range and goal",
            method: Method::GET,
            path: |_, v| {
                let v = encoded(v);
                format!("/users/1/heatmap?from={v}&to={v}&goal_id={v}")
            },
            body: none,
            header: None,
        },
        Input {
            name: "a card's theme",
            method: Method::GET,
            path: |_, v| format!("/users/1/card.svg?theme={}", encoded(v)),
            body: none,
            header: None,
        },
        Input {
            name: "a badge to award",
            method: Method::POST,
            path: |_, _| "/users/1/badges".into(),
            body: |v| Some(json!({"code": v})),
            header: None,
        },
        Input {
            name: "a badge to revoke",
            method: Method::DELETE,
            path: |_, v| format!("/users/1/badges/{}", encoded(v)),
            body: none,
            header: None,
        },
        Input {
            name: "an icon",
            method: Method::GET,
            path: |_, v| format!("/users/badges/{}", encoded(v)),
            body: none,
            header: None,
        },
        Input {
            name: "an icon at its old address",
            method: Method::GET,
            path: |_, v| format!("/badges/{}", encoded(v)),
            body: none,
            header: None,
        },
        Input {
            name: "a user id",
            method: Method::GET,
            path: |_, v| format!("/users/{}", encoded(v)),
            body: none,
            header: None,
        },
    ]
}

/// Text as it comes from anywhere: any characters, controls and NULs, dates of every sign
/// and length, and numbers.
fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\x00-\\x1f\\x7f]{0,4}[a-z]{0,4}[\\x00]{0,2}",
        "[+-]?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}",
        "-?[0-9]{1,25}(\\.[0-9]{1,5})?(e[+-]?[0-9]{1,4})?",
        "\\PC{0,300}",
    ]
}

/// The seed: `PROPTEST_RNG_SEED` when set (CI sets it), else a fixed one, printed so that a
/// failure can be run again.
fn seed() -> u64 {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261201);
    eprintln!("storable_values: PROPTEST_RNG_SEED={seed}");
    seed
}

async fn arbitrary_text_and_dates_in_every_input_never_get_a_5xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let goal = user_with_a_goal(&app).await;
    let (owner, awarder) = (token(1), award_token());
    let mut runner = TestRunner::new(Config {
        rng_seed: RngSeed::Fixed(seed()),
        ..Config::default()
    });
    let strategy = arbitrary_text();
    let cases = 24;

    for input in inputs() {
        for _ in 0..cases {
            let value = strategy.new_tree(&mut runner).unwrap().current();
            let path = (input.path)(goal, &value);
            let Ok(url) = Url::parse(&app.url(&path)) else {
                continue;
            };
            let token = if path.contains("/badges") {
                &awarder
            } else {
                &owner
            };
            let mut request = app
                .client
                .request(input.method.clone(), url)
                .bearer_auth(token);
            if let Some(body) = (input.body)(&value) {
                request = request.json(&body);
            }
            if let Some(header) = input.header {
                match reqwest::header::HeaderValue::from_str(&value) {
                    Ok(v) => request = request.header(header, v),
                    Err(_) => continue,
                }
            }
            let response = request.send().await.expect("an answer");
            assert!(
                response.status().as_u16() < 500,
                "{}: {value:?} got {}: {}",
                input.name,
                response.status(),
                response.text().await.unwrap_or_default()
            );
        }
    }
}

crate::backend_tests!(
    days_outside_0001_to_9999_are_refused_naming_the_parameter,
    a_nul_in_any_text_is_refused_naming_the_field_and_nothing_is_written,
    arbitrary_text_and_dates_in_every_input_never_get_a_5xx,
);
