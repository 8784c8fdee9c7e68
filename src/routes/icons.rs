//! The built-in badges' icons, the catalog's `icon_url`s: SVG drawn by `render`, served
//! from the binary with a long cache lifetime (and, by `middleware::conditional_get`, an
//! entity tag), under `/users` like every route (the platform's gateway forwards `/users/*`
//! only). Their first home, `/badges/`, answers 308 to the new one.

use axum::{
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::svg_response;
use crate::{
    error::{AppError, AppResult},
    extract::ApiPath,
    render::badge_icon,
    state::AppState,
};

/// An icon changes only with the binary: a week in any cache.
const ICON_CACHE: &str = "public, max-age=604800";

// The old address is deprecated in the document (from `#[deprecated]`), and still served.
#[allow(deprecated)]
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(badge_icon))
        .routes(routes!(old_badge_icon))
}

/// Where the icons were served before they moved under `/users`.
const OLD_PREFIX: &str = "/badges/";
const PREFIX: &str = "/users/badges/";

/// `/users/badges/{file}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IconPath {
    /// A built-in badge's code followed by `.svg`, e.g. `streak-7.svg`.
    pub file: String,
}

/// The icon of a built-in badge.
#[utoipa::path(
    get,
    path = "/users/badges/{file}",
    tag = "badges",
    params(IconPath),
    responses(
        (status = 200, description = "The icon, SVG", content_type = "image/svg+xml", body = String,
            headers(
                ("ETag" = String, description = "The icon's entity tag"),
                ("Cache-Control" = String, description = "`public, max-age=604800`"),
            )),
        (status = 304, description = "Not modified since the `If-None-Match` entity tag"),
        (status = 404, description = "No built-in badge has this icon"),
    )
)]
async fn badge_icon(ApiPath(path): ApiPath<IconPath>) -> AppResult<Response> {
    let icon = path
        .file
        .strip_suffix(".svg")
        .and_then(badge_icon::icon)
        .ok_or_else(|| AppError::NotFound("no built-in badge has this icon".into()))?;
    Ok(svg_response(icon, ICON_CACHE))
}

/// The icon's former address, redirecting to `/users/badges/{file}`.
///
/// Links made before the icons moved under `/users` keep working.
#[utoipa::path(
    get,
    path = "/badges/{file}",
    tag = "badges",
    params(IconPath),
    responses(
        (status = 308, description = "The icon is at `/users/badges/{file}`",
            headers(
                ("Location" = String, description = "`/users/badges/{file}`"),
                ("Cache-Control" = String, description = "`public, max-age=604800`"),
            )),
    )
)]
#[deprecated(note = "the icons are served under /users/badges/")]
async fn old_badge_icon(uri: Uri) -> Response {
    // The segment as it came, still percent-encoded: the router matched one segment.
    let file = uri.path().strip_prefix(OLD_PREFIX).unwrap_or_default();
    let location = HeaderValue::from_str(&format!("{PREFIX}{file}"))
        .expect("a request path is a valid header value");
    (
        StatusCode::PERMANENT_REDIRECT,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static(ICON_CACHE)),
        ],
    )
        .into_response()
}
