//! The built-in badges' icons, the catalog's `icon_url`s: SVG drawn by `render`, served
//! from the binary with a long cache lifetime and an entity tag.

use axum::{
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{AppError, AppResult},
    extract::ApiPath,
    middleware::{Comparison, etag_matches},
    render::badge_icon,
    state::AppState,
};

/// An icon changes only with the binary: a week in any cache.
const ICON_CACHE: &str = "public, max-age=604800";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(badge_icon))
}

/// `/badges/{file}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IconPath {
    /// A built-in badge's code followed by `.svg`, e.g. `streak-7.svg`.
    pub file: String,
}

/// The icon of a built-in badge.
#[utoipa::path(
    get,
    path = "/badges/{file}",
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
async fn badge_icon(ApiPath(path): ApiPath<IconPath>, headers: HeaderMap) -> AppResult<Response> {
    let icon = path
        .file
        .strip_suffix(".svg")
        .and_then(badge_icon::icon)
        .ok_or_else(|| AppError::NotFound("no built-in badge has this icon".into()))?;
    let etag = HeaderValue::from_str(&icon.etag).expect("an entity tag is a valid header value");
    let cache = HeaderValue::from_static(ICON_CACHE);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|list| etag_matches(list, &icon.etag, Comparison::Weak));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = icon.svg.as_str().into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("image/svg+xml"),
        );
        response
    };
    response.headers_mut().insert(header::ETAG, etag);
    response.headers_mut().insert(header::CACHE_CONTROL, cache);
    Ok(response)
}
