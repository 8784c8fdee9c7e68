//! Reading answers: problems, JSON bodies, their members, the next page's link, and
//! effects that come beside a request.

use reqwest::Response;
use serde_json::Value;

/// Asserts a problem document with this status and returns it.
pub async fn problem(response: Response, status: u16) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "status of {}",
        response.url()
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["status"], status, "{body}");
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "problem without {member}: {body}");
    }
    body
}

/// The fields a validation problem names, in order.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 2xx JSON answer with this status and returns its body.
pub async fn json_body(response: Response, status: u16) -> Value {
    let url = response.url().to_string();
    let actual = response.status().as_u16();
    let body = response.text().await.unwrap();
    assert_eq!(actual, status, "status of {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"))
}

/// Polls `check` until it yields a value, for at most 30 s: for effects that happen beside
/// the request that caused them (a message consumed, an event published).
pub async fn eventually<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The members of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The `Link: <…>; rel="next"` header, whole, when there is one.
pub fn link_header(response: &Response) -> Option<String> {
    response
        .headers()
        .get("link")
        .map(|v| v.to_str().expect("an ASCII Link header").to_owned())
}

/// The URL inside a `Link: <…>; rel="next"` header.
pub fn next_url(link: &str) -> &str {
    let rest = link
        .strip_prefix('<')
        .unwrap_or_else(|| panic!("a Link header starting with <: {link}"));
    let (url, params) = rest
        .split_once('>')
        .unwrap_or_else(|| panic!("a Link header with >: {link}"));
    assert_eq!(params, "; rel=\"next\"", "{link}");
    url
}

/// The next page's URL, when the answer names one.
pub fn next_link(response: &Response) -> Option<String> {
    link_header(response).map(|link| next_url(&link).to_owned())
}

/// The `code` of each item of a list, in order.
pub fn codes(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|item| item["code"].as_str().expect("a code"))
        .collect()
}
