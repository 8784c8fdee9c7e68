//! The badges a user has earned.

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::UserPath;
use crate::{
    db::AwardedBadgeRow,
    error::{AppError, AppResult},
    extract::ApiPath,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_badges))
}

/// A badge a user holds.
#[derive(Debug, Serialize, ToSchema)]
pub struct Badge {
    #[schema(example = "first-goal")]
    pub code: String,
    pub name: String,
    pub description: String,
    /// A path or URL of the badge's image.
    pub icon_url: Option<String>,
    /// When the user earned it.
    pub date_achieved: DateTime<Utc>,
}

impl From<AwardedBadgeRow> for Badge {
    fn from(row: AwardedBadgeRow) -> Self {
        Self {
            code: row.code,
            name: row.name,
            description: row.description,
            icon_url: row.icon_url,
            date_achieved: row.awarded_at,
        }
    }
}

/// The badges a user has earned, newest first.
#[utoipa::path(
    get,
    path = "/users/{user_id}/badges",
    tag = "badges",
    params(UserPath),
    responses(
        (status = 200, description = "The user's badges, newest first", body = Vec<Badge>),
        (status = 400, description = "The user id is not a positive 64-bit integer"),
        (status = 404, description = "No such user"),
    )
)]
async fn list_badges(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<UserPath>,
) -> AppResult<Json<Vec<Badge>>> {
    state
        .store
        .user(path.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let badges = state.store.badges_of(path.user_id).await?;
    Ok(Json(badges.into_iter().map(Badge::from).collect()))
}
