//! Badges: the catalog, a user's shelf, and awards by trusted services.
//!
//! Rules award most badges by themselves (see `domain::badges`). Other services may award
//! or revoke with a token carrying the `badges:award` scope; a user's own token never can,
//! so no one awards themselves.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{UserPath, field, open_section, unknown_fields};
use crate::{
    auth::{AuthUser, Caller},
    db::{AwardedBadgeRow, CatalogRow},
    domain::{
        UserId,
        badges::{BadgeCode, Tier},
        visibility::Badges,
    },
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath},
    services,
    state::AppState,
};

/// The scope a token needs to award or revoke badges.
pub const AWARD_SCOPE: &str = "badges:award";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(badge_catalog))
        .routes(routes!(list_badges, award_badge))
        .routes(routes!(revoke_badge))
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

/// A badge of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct BadgeDefinition {
    pub code: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub tier: Tier,
    /// How it is earned, in one sentence.
    pub criteria: String,
    /// How many users hold it.
    pub holders: u64,
}

impl From<CatalogRow> for BadgeDefinition {
    fn from(row: CatalogRow) -> Self {
        Self {
            code: row.code,
            name: row.name,
            description: row.description,
            icon_url: row.icon_url,
            tier: Tier::from_stored(&row.tier),
            criteria: row.criteria,
            holders: u64::try_from(row.holders).unwrap_or(0),
        }
    }
}

/// A badge to award.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BadgeAward {
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "first-goal")]
    pub code: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

/// `/users/{user_id}/badges/{code}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BadgePath {
    pub user_id: UserId,
    /// A badge code of the catalog.
    pub code: String,
}

fn require_award_scope(caller: &Caller) -> AppResult<()> {
    if caller.has_scope(AWARD_SCOPE) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "awarding and revoking badges needs a token with the {AWARD_SCOPE} scope"
        )))
    }
}

/// Every badge that can be earned, with how many users hold it.
#[utoipa::path(
    get,
    path = "/users/badges",
    tag = "badges",
    responses((status = 200, description = "The catalog, by code", body = Vec<BadgeDefinition>))
)]
async fn badge_catalog(State(state): State<AppState>) -> AppResult<Json<Vec<BadgeDefinition>>> {
    let rows = state.store.badge_catalog().await?;
    Ok(Json(rows.into_iter().map(BadgeDefinition::from).collect()))
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
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, or their badges are private"),
    )
)]
async fn list_badges(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
) -> AppResult<Json<Vec<Badge>>> {
    let (_, access) = open_section::<Badges>(&state, path.user_id, caller.as_ref()).await?;
    let badges = state.store.badges_of(&access).await?;
    Ok(Json(badges.into_iter().map(Badge::from).collect()))
}

/// Awards a badge (trusted services: the token needs the `badges:award` scope).
#[utoipa::path(
    post,
    path = "/users/{user_id}/badges",
    tag = "badges",
    params(UserPath),
    request_body = BadgeAward,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Awarded", body = Badge),
        (status = 200, description = "Already held: the existing award", body = Badge),
        (status = 400, description = "The body is not JSON, or the user id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token lacks the badges:award scope"),
        (status = 404, description = "No such user"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "The code is not in the catalog"),
    )
)]
async fn award_badge(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(path): ApiPath<UserPath>,
    ApiJson(body): ApiJson<BadgeAward>,
) -> AppResult<Response> {
    require_award_scope(&caller)?;
    let mut errors = unknown_fields(&body.unknown, &[], "", "BadgeAward");
    let code = field(
        &mut errors,
        "code",
        body.code
            .ok_or_else(|| "is required".to_owned())
            .and_then(|code| BadgeCode::parse(&code)),
    );
    let Some(code) = code.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let (row, awarded) = services::badges::award(
        &*state.store,
        state.clock.now(),
        path.user_id,
        code.as_str(),
    )
    .await?;
    let status = if awarded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(Badge::from(row))).into_response())
}

/// Takes a badge back (trusted services: the token needs the `badges:award` scope).
#[utoipa::path(
    delete,
    path = "/users/{user_id}/badges/{code}",
    tag = "badges",
    params(BadgePath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "The user id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token lacks the badges:award scope"),
        (status = 404, description = "No such user, or the user does not hold that badge"),
    )
)]
async fn revoke_badge(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(path): ApiPath<BadgePath>,
) -> AppResult<StatusCode> {
    require_award_scope(&caller)?;
    let code = BadgeCode::parse(&path.code)
        .map_err(|message| AppError::invalid_parameter("code", message))?;
    services::badges::revoke(
        &*state.store,
        state.clock.now(),
        path.user_id,
        code.as_str(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
