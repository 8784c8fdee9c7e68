//! A user's activity in figures.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::UserPath;
use crate::{
    domain::GoalStatus,
    error::{AppError, AppResult},
    extract::ApiPath,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserStats {
    pub goals_total: u64,
    /// Every status, with zero for those no goal has.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub goals_by_status: BTreeMap<&'static str, u64>,
    pub badges_count: u64,
}

/// A user's goals and badges in figures.
#[utoipa::path(
    get,
    path = "/users/{user_id}/stats",
    tag = "stats",
    params(UserPath),
    responses(
        (status = 200, description = "The user's figures", body = UserStats),
        (status = 400, description = "The user id is not a positive 64-bit integer"),
        (status = 404, description = "No such user"),
    )
)]
async fn get_stats(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<UserPath>,
) -> AppResult<Json<UserStats>> {
    state
        .store
        .user(path.user_id)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let counts = state.store.goal_counts(path.user_id).await?;
    let badges_count = state.store.badge_count(path.user_id).await?;
    let mut goals_by_status: BTreeMap<&'static str, u64> =
        GoalStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for (status, count) in counts {
        if let Ok(status) = GoalStatus::parse(&status) {
            goals_by_status.insert(status.as_str(), count.max(0) as u64);
        }
    }
    Ok(Json(UserStats {
        goals_total: goals_by_status.values().sum(),
        goals_by_status,
        badges_count: badges_count.max(0) as u64,
    }))
}
