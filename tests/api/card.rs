//! The profile card: a self-contained SVG of about 500×200 with the name, the streaks, the
//! badges and 12 weeks of check-ins, drawn from the public sections only, with every user
//! text escaped; cached publicly for `CARD_MAX_AGE_SECS` and revalidated by its entity tag.

use reqwest::Response;
use serde_json::json;

use crate::helpers::{Backend, TestApp, error_fields, json_body, problem};

/// The card's SVG, asserting its headers.
async fn svg(response: Response) -> String {
    assert_eq!(response.status(), 200, "{}", response.url());
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    assert!(response.headers().contains_key("etag"));
    response.text().await.unwrap()
}

/// The texts the card draws, in order.
fn texts(document: &roxmltree::Document<'_>) -> Vec<String> {
    document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect()
}

/// The mini heatmap's squares.
fn cells(document: &roxmltree::Document<'_>) -> usize {
    document
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("width") == Some("11"))
        .count()
}

/// Ada, with a two-day streak on one goal (which earned `first-goal`).
async fn ada_with_a_streak(app: &TestApp) -> String {
    let ada = app.user(1).await;
    let profile = json!({"display_name": "Ada Lovelace"});
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;
    let goal = app.create_goal(1, &ada, "Rust").await;
    for date in ["2026-03-09", "2026-03-10"] {
        json_body(
            app.post(
                &format!("/users/1/goals/{}/checkins", goal["id"]),
                Some(&ada),
                &json!({ "date": date }),
            )
            .await,
            201,
        )
        .await;
    }
    ada
}

async fn the_card_is_a_self_contained_svg_with_the_name_streaks_badges_and_twelve_weeks(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    ada_with_a_streak(&app).await;

    let svg = svg(app.get("/users/1/card.svg").await).await;
    let document = roxmltree::Document::parse(&svg).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert_eq!(
        (root.attribute("width"), root.attribute("height")),
        (Some("500"), Some("200"))
    );
    let drawn = texts(&document);
    for expected in ["Ada Lovelace", "@user1", "2 days", "1 badge"] {
        assert!(drawn.iter().any(|t| t == expected), "{expected}: {drawn:?}");
    }
    // Eleven whole weeks from Monday 2025-12-22, and Monday and Tuesday of this one.
    assert_eq!(cells(&document), 11 * 7 + 2);
    // The newest badge's icon is drawn inline.
    assert!(
        document
            .descendants()
            .any(|n| n.has_tag_name("svg") && n.attribute("aria-label") == Some("first-goal"))
    );
    for reference in ["href", "url(", "<script", "<image", "@import"] {
        assert!(!svg.contains(reference), "the card refers to {reference}");
    }
}

async fn the_card_draws_the_username_when_there_is_no_display_name(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.insert_user(5, "grace").await;
    let svg = svg(app.get("/users/5/card.svg").await).await;
    let document = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(texts(&document)[..2], ["grace", "@grace"]);
}

/// A name stored before such names were refused, or written into a shared `users` table by
/// another program: the card draws the username instead.
async fn the_card_draws_the_username_when_the_display_name_draws_nothing(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.insert_user(5, "grace").await;

    for invisible in ["\u{FFFE}\u{FFFF}", "\u{200B}\u{3164}", "\u{FE0F}"] {
        app.db
            .execute(&format!(
                "UPDATE users SET display_name = '{invisible}', \
                 profile_revision = profile_revision + 1 WHERE id = 5"
            ))
            .await;

        let svg = svg(app.get("/users/5/card.svg").await).await;
        let document = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(texts(&document)[..2], ["grace", "@grace"], "{invisible:?}");
    }
}

async fn markup_in_a_display_name_is_drawn_as_its_characters(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let name = "</text><script>alert(1)</script>";
    let profile = json!({ "display_name": name });
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;

    let svg = svg(app.get("/users/1/card.svg").await).await;
    let document = roxmltree::Document::parse(&svg).unwrap();
    assert!(!document.descendants().any(|n| n.has_tag_name("script")));
    assert_eq!(texts(&document)[0], name);
}

async fn a_long_display_name_is_cut_to_fit_the_card(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let profile = json!({ "display_name": "A".repeat(100) });
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;

    let svg = svg(app.get("/users/1/card.svg").await).await;
    let document = roxmltree::Document::parse(&svg).unwrap();
    let name = &texts(&document)[0];
    assert!(name.ends_with('…'), "{name}");
    assert!(name.chars().count() <= 40, "{name}");
}

async fn private_sections_are_not_drawn_even_for_their_owner(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let ada = ada_with_a_streak(&app).await;
    let private = json!({"visibility": {"goals": "private", "badges": "private"}});
    json_body(app.put("/users/1", Some(&ada), &private).await, 200).await;

    for token in [None, Some(ada.as_str())] {
        let response = match token {
            Some(token) => app.get_as("/users/1/card.svg", token).await,
            None => app.get("/users/1/card.svg").await,
        };
        let svg = svg(response).await;
        let document = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(texts(&document), ["Ada Lovelace", "@user1"]);
        assert_eq!(cells(&document), 0);
        assert!(!svg.contains("first-goal"));
    }

    let badges_public = json!({"visibility": {"badges": "public"}});
    json_body(app.put("/users/1", Some(&ada), &badges_public).await, 200).await;
    let svg = svg(app.get("/users/1/card.svg").await).await;
    let document = roxmltree::Document::parse(&svg).unwrap();
    let drawn = texts(&document);
    assert!(drawn.iter().any(|t| t == "1 badge"), "{drawn:?}");
    assert!(!drawn.iter().any(|t| t.ends_with("days")), "{drawn:?}");
    assert_eq!(cells(&document), 0);
}

async fn the_card_answers_304_to_its_entity_tag_with_its_cache_lifetime(backend: Backend) {
    let app = TestApp::builder(backend)
        .config(|c| c.card_max_age_secs = 600)
        .spawn()
        .await;
    app.user(1).await;
    let first = app.get("/users/1/card.svg").await;
    assert_eq!(first.headers()["cache-control"], "public, max-age=600");
    let etag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/users/1/card.svg"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);
    assert_eq!(again.headers()["cache-control"], "public, max-age=600");

    let dark = app.get("/users/1/card.svg?theme=dark").await;
    assert_eq!(dark.status(), 200);
    assert_ne!(dark.headers()["etag"], etag, "each theme has its own tag");
}

async fn an_unknown_user_or_a_bad_theme_is_a_problem(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.user(1).await;
    problem(app.get("/users/99/card.svg").await, 404).await;
    problem(app.get("/users/0/card.svg").await, 400).await;
    let theme = problem(app.get("/users/1/card.svg?theme=blue").await, 400).await;
    assert_eq!(error_fields(&theme), ["theme"]);
}

crate::backend_tests!(
    the_card_is_a_self_contained_svg_with_the_name_streaks_badges_and_twelve_weeks,
    the_card_draws_the_username_when_there_is_no_display_name,
    the_card_draws_the_username_when_the_display_name_draws_nothing,
    markup_in_a_display_name_is_drawn_as_its_characters,
    a_long_display_name_is_cut_to_fit_the_card,
    private_sections_are_not_drawn_even_for_their_owner,
    the_card_answers_304_to_its_entity_tag_with_its_cache_lifetime,
    an_unknown_user_or_a_bad_theme_is_a_problem,
);
