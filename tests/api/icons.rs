//! The catalog's icons: every `icon_url` answers an SVG drawn by the service, cached for a
//! long time and revalidated by its entity tag, under `/users` where the platform's gateway
//! forwards; a badge an operator adds without an icon has `icon_url: null`, never a link that
//! answers 404. The icons' first address answers 308 to the new one.

use serde_json::{Value, json};

use crate::{
    cli::{command, run},
    helpers::{Backend, TestApp, award_token, gateway::Gateway, json_body, problem},
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
    assert_eq!(followed, 20, "every built-in badge has its icon");
    let mentor = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == "mentor")
        .unwrap();
    assert_eq!(mentor["icon_url"], Value::Null);
    problem(app.get("/users/badges/mentor.svg").await, 404).await;
    problem(app.get("/users/badges/streak-3.png").await, 404).await;
}

async fn the_tiers_are_told_apart_by_colour(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let app = &app;
    let svg = |code: &'static str| async move {
        app.get(&format!("/users/badges/{code}.svg"))
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
    assert_eq!(urls.len(), 20, "every built-in badge has its icon");
    assert_eq!(tags.len(), urls.len());
}

/// The `icon_url`s of the catalog and of a user's badges, as a browser behind the gateway
/// resolves them against the page's address.
async fn every_icon_url_followed_through_a_gateway_that_forwards_only_users_is_an_svg(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let token = app.user(1).await;
    app.create_goal(1, &token, "Learn Rust").await;
    json_body(
        app.post(
            "/users/1/badges",
            Some(&award_token()),
            &json!({"code": "weekly-streak-52"}),
        )
        .await,
        201,
    )
    .await;
    let gateway = Gateway::start(&app.address).await;
    let page = url::Url::parse(&gateway.url("/users/1")).unwrap();
    let client = &app.client;
    let get = |path: &str| client.get(gateway.url(path)).send();

    let catalog = json_body(get("/users/badges").await.unwrap(), 200).await;
    let held = json_body(get("/users/1/badges").await.unwrap(), 200).await;

    let urls: Vec<&str> = catalog
        .as_array()
        .unwrap()
        .iter()
        .chain(held.as_array().unwrap())
        .map(|badge| badge["icon_url"].as_str().expect("a built-in badge's icon"))
        .collect();
    assert_eq!(urls.len(), 20 + 2, "{urls:?}");
    for url in urls {
        let icon = client.get(page.join(url).unwrap()).send().await.unwrap();
        assert_eq!(icon.status(), 200, "{url} through the gateway");
        assert_eq!(icon.headers()["content-type"], "image/svg+xml", "{url}");
        let svg = icon.text().await.unwrap();
        roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
    // What the gateway refuses: the old address, which the service would redirect.
    assert_eq!(get("/badges/first-goal.svg").await.unwrap().status(), 404);
}

async fn the_old_icon_address_answers_308_to_the_new_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    for file in ["streak-7.svg", "mentor.svg", "a%20b.svg"] {
        let old = no_redirects
            .get(app.url(&format!("/badges/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(old.status(), 308, "{file}");
        assert_eq!(
            old.headers()["location"],
            format!("/users/badges/{file}").as_str()
        );
    }
    let followed = app.get("/badges/streak-7.svg").await;
    assert_eq!(followed.status(), 200);
    assert_eq!(
        followed.text().await.unwrap(),
        app.get("/users/badges/streak-7.svg")
            .await
            .text()
            .await
            .unwrap()
    );
    problem(app.get("/badges/mentor.svg").await, 404).await;
}

crate::backend_tests!(
    every_icon_url_of_the_catalog_answers_an_svg,
    the_tiers_are_told_apart_by_colour,
    each_icon_has_its_own_entity_tag,
    every_icon_url_followed_through_a_gateway_that_forwards_only_users_is_an_svg,
    the_old_icon_address_answers_308_to_the_new_one,
);
