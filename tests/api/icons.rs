//! The catalog's icons: every `icon_url` answers an SVG drawn by the service, cached for a
//! long time and revalidated by its entity tag; a badge an operator adds without an icon has
//! `icon_url: null`, never a link that answers 404.

use serde_json::Value;

use crate::{
    cli::{command, run},
    helpers::{Backend, TestApp, json_body, problem},
};

async fn every_icon_url_of_the_catalog_answers_an_svg(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().unwrap();
    run(command(dir.path())
        .env("DATABASE_URL", app.database_url())
        .args(["badges", "add", "--code", "mentor", "--name", "Mentor"])
        .args(["--description", "Helped five learners", "--tier", "gold"])
        .args(["--criteria", "Awarded by the mentoring service."]));

    let catalog = json_body(app.get("/users/badges").await, 200).await;
    let mut followed = 0;
    for badge in catalog.as_array().unwrap() {
        let code = badge["code"].as_str().unwrap();
        let Some(url) = badge["icon_url"].as_str() else {
            assert_eq!(code, "mentor", "a built-in badge without an icon");
            continue;
        };
        let response = app.get(url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "image/svg+xml", "{url}");
        let cache = response.headers()["cache-control"].to_str().unwrap();
        assert!(
            cache.contains("public") && cache.contains("max-age="),
            "{cache}"
        );
        let etag = response.headers()["etag"].clone();
        let svg = response.text().await.unwrap();
        let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{url}: {e}"));
        let root = document.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{url}");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        let revalidated = app
            .client
            .get(app.url(url))
            .header("if-none-match", etag)
            .send()
            .await
            .unwrap();
        assert_eq!(revalidated.status(), 304, "{url}");
        followed += 1;
    }
    assert_eq!(followed, 12, "every built-in badge has its icon");
    let mentor = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == "mentor")
        .unwrap();
    assert_eq!(mentor["icon_url"], Value::Null);
    problem(app.get("/badges/mentor.svg").await, 404).await;
    problem(app.get("/badges/streak-3.png").await, 404).await;
}

async fn the_tiers_are_told_apart_by_colour(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let app = &app;
    let svg = |code: &'static str| async move {
        app.get(&format!("/badges/{code}.svg"))
            .await
            .text()
            .await
            .unwrap()
    };
    let (bronze, silver, gold) = (
        svg("streak-3").await,
        svg("streak-7").await,
        svg("streak-30").await,
    );
    let face = |svg: &str| {
        let at = svg.find("<circle").unwrap();
        svg[at..].split('"').nth(7).unwrap().to_owned()
    };
    assert_ne!(face(&bronze), face(&silver));
    assert_ne!(face(&silver), face(&gold));
    assert_ne!(face(&bronze), face(&gold));
}

async fn each_icon_has_its_own_entity_tag(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let catalog = json_body(app.get("/users/badges").await, 200).await;
    let urls: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|badge| badge["icon_url"].as_str())
        .collect();
    let mut tags = std::collections::HashSet::new();
    for url in &urls {
        let response = app.get(url).await;
        assert_eq!(response.status(), 200, "{url}");
        tags.insert(response.headers()["etag"].to_str().unwrap().to_owned());
    }
    assert_eq!(urls.len(), 12, "every built-in badge has its icon");
    assert_eq!(tags.len(), urls.len());
}

crate::backend_tests!(
    every_icon_url_of_the_catalog_answers_an_svg,
    the_tiers_are_told_apart_by_colour,
    each_icon_has_its_own_entity_tag,
);
