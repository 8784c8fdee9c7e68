//! A user's activity in figures.

use std::collections::BTreeMap;

use axum::{Json, extract::State};
use chrono::{DateTime, Days, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{UserPath, open_section};
use crate::{
    auth::AuthUser,
    domain::{
        GoalStatus,
        streak::{self, MAX_ALIVE_GAP_DAYS},
        visibility::Stats,
    },
    error::AppResult,
    extract::ApiPath,
    state::AppState,
};

/// The window of `active_days_30`, today included.
const RECENT_DAYS: u64 = 30;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_stats))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserStats {
    pub goals_total: u64,
    /// Every status, with zero for those no goal has.
    #[schema(value_type = BTreeMap<String, u64>)]
    pub goals_by_status: BTreeMap<&'static str, u64>,
    pub checkins_total: u64,
    /// Distinct days with a check-in among the last 30 of the user's calendar, today included.
    pub active_days_30: u64,
    /// The best streak any goal has today.
    pub best_current_streak: u32,
    /// The best streak any goal ever had.
    pub longest_streak: u64,
    pub badges_count: u64,
    /// The latest change to the user's profile, goals, check-ins or badges.
    pub last_active_at: Option<DateTime<Utc>>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// A user's goals, check-ins, streaks and badges in figures.
#[utoipa::path(
    get,
    path = "/users/{user_id}/stats",
    tag = "stats",
    params(UserPath),
    responses(
        (status = 200, description = "The user's figures", body = UserStats),
        (status = 400, description = "The user id is not a positive 64-bit integer"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, or their stats are private"),
    )
)]
async fn get_stats(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
) -> AppResult<Json<UserStats>> {
    let (owner, access) = open_section::<Stats>(&state, path.user_id, caller.as_ref()).await?;
    let today = streak::today(state.clock.now(), owner.time_zone());
    let days_before = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(today);
    let figures = state
        .store
        .stats(
            &access,
            days_before(RECENT_DAYS - 1),
            days_before(MAX_ALIVE_GAP_DAYS),
        )
        .await?;

    let mut goals_by_status: BTreeMap<&'static str, u64> =
        GoalStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for row in &figures.by_status {
        if let Ok(status) = GoalStatus::parse(&row.status) {
            goals_by_status.insert(status.as_str(), count(row.goals));
        }
    }
    let best_current_streak = figures
        .recent_streaks
        .iter()
        .map(|row| row.summary().on(today).streak_count)
        .max()
        .unwrap_or(0);
    Ok(Json(UserStats {
        goals_total: goals_by_status.values().sum(),
        goals_by_status,
        checkins_total: figures
            .by_status
            .iter()
            .map(|row| count(row.checkins))
            .sum(),
        active_days_30: count(figures.active_days),
        best_current_streak,
        longest_streak: figures
            .by_status
            .iter()
            .map(|row| count(row.longest_streak))
            .max()
            .unwrap_or(0),
        badges_count: count(figures.badges_count),
        last_active_at: figures.last_active_at,
    }))
}
