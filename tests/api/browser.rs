//! The card and the documentation page in a real browser: Debian's Chromium, headless,
//! opens each, takes a screenshot and records its network log. The picture must have the
//! window's size and not be blank, and every request the page made must have gone to the
//! service. Without Chromium the tests are skipped, loudly; with `CI=true` they fail.

use std::{collections::HashSet, path::Path, process::Command};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, json_body};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Flags this machine needs (no sandbox, no GPU, a fresh profile), and those that keep the
/// browser's own services quiet. Any host name but the loopback address resolves to
/// nothing, so that even a request that slipped through could not leave the machine.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-first-run",
    "--no-pings",
    "--disable-features=AutofillServerCommunication,OptimizationHints,Translate,MediaRouter",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    // Lets the page's scripts and fetches finish before the screenshot.
    "--virtual-time-budget=15000",
];

/// Chromium, if it is installed.
fn chromium() -> Option<&'static Path> {
    let path = Path::new(CHROMIUM);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {CHROMIUM} is missing: .ci/run installs Debian's chromium");
    }
    eprintln!("SKIPPED: {CHROMIUM} is missing (apt-get install chromium)");
    None
}

/// A screenshot, decoded.
struct Picture {
    width: u32,
    height: u32,
    /// RGB triples, row by row.
    pixels: Vec<[u8; 3]>,
}

impl Picture {
    fn read(path: &Path) -> Self {
        let file = std::fs::File::open(path).expect("the screenshot exists");
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .expect("the screenshot is a PNG");
        let mut buffer = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buffer).expect("a frame");
        let channels = frame.color_type.samples();
        assert!(channels >= 3, "a colour screenshot: {:?}", frame.color_type);
        assert_eq!(frame.bit_depth, png::BitDepth::Eight);
        let pixels = buffer[..frame.buffer_size()]
            .chunks(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Self {
            width: frame.width,
            height: frame.height,
            pixels,
        }
    }

    fn colours(&self) -> usize {
        self.pixels.iter().collect::<HashSet<_>>().len()
    }

    /// The share of pixels that differ from the most common colour.
    fn drawn_share(&self) -> f64 {
        let mut counts = std::collections::HashMap::new();
        for p in &self.pixels {
            *counts.entry(p).or_insert(0usize) += 1;
        }
        let background = counts.values().max().copied().unwrap_or(0);
        1.0 - background as f64 / self.pixels.len() as f64
    }

    fn has(&self, hex: &str) -> bool {
        let channel = |i: usize| u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap();
        let colour = [channel(0), channel(1), channel(2)];
        self.pixels.contains(&colour)
    }
}

/// What the browser showed and what the page asked for.
struct Visit {
    picture: Picture,
    /// The URLs the page requested (not the browser's own services).
    requests: Vec<String>,
}

/// Opens `url` in a window of `width`×`height`.
async fn visit(browser: &Path, url: &str, width: u32, height: u32) -> Visit {
    let dir = tempfile::tempdir().unwrap();
    let shot = dir.path().join("shot.png");
    let log = dir.path().join("net.json");
    let mut command = Command::new("timeout");
    command
        .args(["--kill-after=5", "90"])
        .arg(browser)
        .args(FLAGS)
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--log-net-log={}", log.display()))
        .arg(url);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("Chromium starts");
    assert!(
        output.status.success(),
        "Chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Visit {
        picture: Picture::read(&shot),
        requests: page_requests(&log, url),
    }
}

/// The requests of the page at `url`, from Chromium's network log: those whose network
/// isolation key names the page's site, which the browser's own background requests do not.
fn page_requests(log: &Path, url: &str) -> Vec<String> {
    let text = std::fs::read_to_string(log).expect("the network log");
    let log: Value = serde_json::from_str(&text).expect("the network log is JSON");
    let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
    let site = url::Url::parse(url).unwrap();
    let site = format!("{}://{}", site.scheme(), site.host_str().unwrap());
    log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| &e["type"] == start_job)
        .filter(|e| {
            e["params"]["network_isolation_key"]
                .as_str()
                .is_some_and(|key| key.starts_with(&format!("{site} ")))
        })
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts that every request went to the service (or stayed inside the page).
fn assert_only_the_service(requests: &[String], app: &TestApp) {
    let service = app.url("/");
    for request in requests {
        assert!(
            request.starts_with(&service)
                || request.starts_with("data:")
                || request.starts_with("blob:"),
            "the page requested {request} (outside {service})"
        );
    }
}

async fn the_card_draws_in_chromium_at_its_size_and_requests_nothing_elsewhere(backend: Backend) {
    let Some(browser) = chromium() else { return };
    let app = TestApp::spawn(backend).await;
    let ada = app.user(1).await;
    let profile = json!({"display_name": "Ada Lovelace"});
    json_body(app.put("/users/1", Some(&ada), &profile).await, 200).await;
    let goal = app.create_goal(1, &ada, "Rust").await;
    let checkins = format!("/users/1/goals/{}/checkins", goal["id"]);
    json_body(app.post(&checkins, Some(&ada), &json!({})).await, 201).await;

    for (theme, background, empty_day) in [
        ("light", "#ffffff", "#ebedf0"),
        ("dark", "#0d1117", "#161b22"),
    ] {
        let url = app.url(&format!("/users/1/card.svg?theme={theme}"));
        let visit = visit(browser, &url, 500, 200).await;
        let picture = &visit.picture;
        assert_eq!((picture.width, picture.height), (500, 200), "{theme}");
        assert!(
            picture.colours() > 8,
            "{theme}: {} colours",
            picture.colours()
        );
        assert!(picture.drawn_share() > 0.02, "{theme}: blank");
        assert!(
            picture.has(background),
            "{theme}: no {background} background"
        );
        assert!(picture.has(empty_day), "{theme}: no heatmap cell");
        assert!(
            visit.requests.iter().any(|r| r.contains("/card.svg")),
            "{theme}: the log has the card's request: {:?}",
            visit.requests
        );
        assert_only_the_service(&visit.requests, &app);
    }
}

async fn the_docs_page_draws_in_chromium_from_the_service_alone(backend: Backend) {
    let Some(browser) = chromium() else { return };
    let app = TestApp::spawn(backend).await;
    let visit = visit(browser, &app.url("/docs/"), 1280, 800).await;
    let picture = &visit.picture;
    assert_eq!((picture.width, picture.height), (1280, 800));
    assert!(picture.colours() > 16, "{} colours", picture.colours());
    assert!(picture.drawn_share() > 0.02, "blank");
    assert!(
        visit.requests.iter().any(|r| r.ends_with("/openapi.json")),
        "Swagger UI read the document: {:?}",
        visit.requests
    );
    assert_only_the_service(&visit.requests, &app);
}

crate::backend_tests!(
    the_card_draws_in_chromium_at_its_size_and_requests_nothing_elsewhere,
    the_docs_page_draws_in_chromium_from_the_service_alone,
);
