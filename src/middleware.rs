//! The request pipeline's guards, each an axum middleware function. `startup::router` puts
//! them in order: shed load, wait for readiness, rate-limit (`crate::rate_limit`), then mark
//! private answers, answer conditional GETs, and bound the time a handler may take.

use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::{Body, Bytes, HttpBody},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Version, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::Engine;
use http_body::{Frame, SizeHint};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::{
    domain::version::{self, Expected},
    error::AppError,
    metrics,
    state::AppState,
};

/// A request body that notes when it has been read to its end.
struct Tracked {
    inner: Body,
    read: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let frame = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(frame, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.read.store(true, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// An answer given before the request's body was read (a 401, 403 or 400 on a write, a
/// 429) leaves the rest of the body on the connection, so the server closes it: the
/// answer says `Connection: close`, and a keep-alive client opens a new connection rather
/// than send its next request into a closed socket. HTTP/1 only; HTTP/2 streams end alone.
pub async fn close_when_body_unread(request: Request, next: Next) -> Response {
    if request.body().is_end_stream() || request.version() >= Version::HTTP_2 {
        return next.run(request).await;
    }
    let read = Arc::new(AtomicBool::new(false));
    let tracked = read.clone();
    let request = request.map(|inner| {
        Body::new(Tracked {
            inner,
            read: tracked,
        })
    });
    let mut response = next.run(request).await;
    if !read.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Bounds every request: one that takes longer is answered 503 and its work dropped.
pub async fn request_timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            AppError::Unavailable(format!("the request took longer than {limit:?}")).into_response()
        }
    }
}

/// Serves at most as many requests at once as the semaphore has permits; the rest are
/// answered 503 at once rather than queued without bound.
pub async fn shed_load(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    match permits.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            metrics::request_shed();
            AppError::Unavailable("the service is at capacity; retry shortly".into())
                .into_response()
        }
    }
}

/// Until the database is migrated (it may be down at start), answers 503 instead of
/// letting queries fail against a missing schema.
pub async fn require_ready(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if state.readiness.is_migrated() {
        next.run(request).await
    } else {
        AppError::Unavailable("the service is starting: its database is not ready yet".into())
            .into_response()
    }
}

/// An answer to a request that carried credentials may hold what only that caller may see:
/// no shared cache keeps it, and answers to reads vary by who asks.
pub async fn private_when_authenticated(request: Request, next: Next) -> Response {
    let authenticated = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Authorization"));
    if authenticated && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    response
}

/// A strong entity tag of a representation: the first 128 bits of its SHA-256.
pub fn etag_of(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
    )
}

/// How two entity tags are compared (RFC 9110 §8.8.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `If-Match`: a weak tag (`W/"…"`) never matches.
    Strong,
    /// `If-None-Match`: the tags match whether weak or not.
    Weak,
}

/// Whether an `If-Match` / `If-None-Match` list names `etag` (or is `*`).
pub fn etag_matches(list: &HeaderValue, etag: &str, comparison: Comparison) -> bool {
    list.to_str().is_ok_and(|list| {
        list.split(',').map(str::trim).any(|tag| {
            tag == "*"
                || match (comparison, tag.strip_prefix("W/")) {
                    (Comparison::Strong, Some(_)) => false,
                    (_, Some(weak)) => weak == etag,
                    (_, None) => tag == etag,
                }
        })
    })
}

/// The versions an `If-Match` list admits, by the strong comparison: a weak tag admits
/// none.
pub fn expected_versions(if_match: &HeaderValue) -> Expected {
    let list = if_match.to_str().unwrap_or_default();
    if list.split(',').any(|tag| tag.trim() == "*") {
        return Expected::Any;
    }
    Expected::OneOf(
        list.split(',')
            .filter_map(|tag| tag.trim().strip_prefix('"')?.strip_suffix('"'))
            .map(version::Version::from_tag)
            .collect(),
    )
}

/// An answer tagged with the version of what it shows, as a strong entity tag.
pub fn with_version(answer: impl IntoResponse, version: &version::Version) -> Response {
    let mut response = answer.into_response();
    let tag = HeaderValue::from_str(&format!("\"{}\"", version.as_str()))
        .expect("a version is a valid header value");
    response.headers_mut().insert(header::ETAG, tag);
    response
}

/// `ETag` on every answer to a GET, HEAD or PUT that is a representation of the API (JSON,
/// or an SVG picture): the version its handler tagged it with, else a digest of its bytes;
/// and 304 when a GET's or HEAD's `If-None-Match` names it. Handlers set only the body, its
/// type and their `Cache-Control`, which the 304 carries too.
pub async fn conditional_get(mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    if method != Method::GET && method != Method::HEAD && method != Method::PUT {
        return next.run(request).await;
    }
    // A HEAD is answered as its GET, tag and all (RFC 9110 §9.3.2); its body is dropped on
    // the way out, after this has read it.
    if method == Method::HEAD {
        *request.method_mut() = Method::GET;
    }
    let if_none_match = (method != Method::PUT)
        .then(|| request.headers().get(header::IF_NONE_MATCH).cloned())
        .flatten();
    let response = next.run(request).await;
    if response.status() != StatusCode::OK || !is_representation(response.headers()) {
        return response;
    }
    if let Some(tagged) = response.headers().get(header::ETAG) {
        let tagged = tagged.to_str().unwrap_or_default().to_owned();
        if if_none_match.is_some_and(|list| etag_matches(&list, &tagged, Comparison::Weak)) {
            return not_modified(response.headers(), &tagged);
        }
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return AppError::Internal(anyhow::anyhow!("buffering a response body failed"))
            .into_response();
    };
    let etag = etag_of(&bytes);
    let value = HeaderValue::from_str(&etag).expect("an entity tag is a valid header value");
    if if_none_match.is_some_and(|list| etag_matches(&list, &etag, Comparison::Weak)) {
        return not_modified(&parts.headers, &etag);
    }
    parts.headers.insert(header::ETAG, value);
    Response::from_parts(parts, Body::from(bytes))
}

/// A 304 carrying the headers of the answer it stands for that a cache needs.
fn not_modified(headers: &HeaderMap, etag: &str) -> Response {
    let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
    for name in [header::CACHE_CONTROL, header::VARY, header::LINK] {
        if let Some(v) = headers.get(&name) {
            not_modified.headers_mut().insert(name, v.clone());
        }
    }
    not_modified.headers_mut().insert(
        header::ETAG,
        HeaderValue::from_str(etag).expect("an entity tag is a valid header value"),
    );
    not_modified
}

/// The media types of the API's representations. Others (the pages and scripts of `/docs`)
/// are served as they are.
/// What `conditional_get` tags: the JSON and SVG answers (not a download such as the export).
pub const TAGGED_TYPES: [&str; 2] = ["application/json", "image/svg+xml"];

fn is_representation(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| TAGGED_TYPES.iter().any(|t| v.starts_with(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_quoted_and_follow_the_bytes() {
        let tag = etag_of(b"{\"id\":1}");
        assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 24);
        assert_eq!(tag, etag_of(b"{\"id\":1}"));
        assert_ne!(tag, etag_of(b"{\"id\":2}"));
    }

    #[test]
    fn tag_lists_match_any_member_or_a_star() {
        let tag = etag_of(b"x");
        let list = HeaderValue::from_str(&format!("\"other\", {tag}")).unwrap();
        for comparison in [Comparison::Strong, Comparison::Weak] {
            assert!(etag_matches(&list, &tag, comparison));
            assert!(etag_matches(
                &HeaderValue::from_static("*"),
                &tag,
                comparison
            ));
            assert!(!etag_matches(
                &HeaderValue::from_static("\"other\""),
                &tag,
                comparison
            ));
        }
    }

    #[test]
    fn a_weak_tag_matches_only_in_the_weak_comparison() {
        let tag = etag_of(b"x");
        let weak = HeaderValue::from_str(&format!("W/{tag}")).unwrap();
        assert!(etag_matches(&weak, &tag, Comparison::Weak));
        assert!(!etag_matches(&weak, &tag, Comparison::Strong));
    }
}
