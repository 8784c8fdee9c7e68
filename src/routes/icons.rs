//! The built-in badges' icons, the catalog's `icon_url`s: SVG drawn by `render`, served
//! from the binary with a long cache lifetime (and, by `middleware::conditional_get`, an
//! entity tag).

use axum::response::Response;
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
async fn badge_icon(ApiPath(path): ApiPath<IconPath>) -> AppResult<Response> {
    let icon = path
        .file
        .strip_suffix(".svg")
        .and_then(badge_icon::icon)
        .ok_or_else(|| AppError::NotFound("no built-in badge has this icon".into()))?;
    Ok(svg_response(icon, ICON_CACHE))
}
