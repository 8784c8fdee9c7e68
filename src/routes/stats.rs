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
    db::StatsSections,
    domain::{
        GoalStatus,
        streak::{self, MAX_ALIVE_GAP_DAYS, Rule},
        visibility::{Activity, Badges, Goals, Stats},
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

/// A user's figures. Those drawn from a section that is private to the caller are null:
/// the goal and check-in figures when the goals are, `badges_count` when the badges are,
/// and `last_active_at` counts only the events the caller may see in the activity feed
/// (null when the feed is private to them).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserStats {
    #[schema(required = true)]
    pub goals_total: Option<u64>,
    /// Every status, with zero for those no goal has.
    #[schema(value_type = Option<BTreeMap<String, u64>>, required = true)]
    pub goals_by_status: Option<BTreeMap<&'static str, u64>>,
    #[schema(required = true)]
    pub checkins_total: Option<u64>,
    /// Distinct days with a check-in among the last 30 of the user's calendar, today included.
    #[schema(required = true)]
    pub active_days_30: Option<u64>,
    /// The best streak, in days, any daily goal has today (weekly goals' streaks are in
    /// weeks and are not counted here).
    #[schema(required = true)]
    pub best_current_streak: Option<u32>,
    /// The best streak, in days, any daily goal ever had.
    #[schema(required = true)]
    pub longest_streak: Option<u64>,
    #[schema(required = true)]
    pub badges_count: Option<u64>,
    /// The latest change the caller may see in the user's activity feed.
    #[schema(required = true)]
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
        (status = 200, description = "The user's figures; those from a section private to the caller are null", body = UserStats),
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
    let (privacy, viewer) = (owner.privacy(), access.viewer());
    let sections = StatsSections {
        goals: privacy.grant::<Goals>(path.user_id, viewer),
        badges: privacy.grant::<Badges>(path.user_id, viewer),
        activity: privacy.grant::<Activity>(path.user_id, viewer),
    };
    let today = streak::today(state.clock.now(), owner.time_zone());
    let days_before = |n: u64| today.checked_sub_days(Days::new(n)).unwrap_or(today);
    let figures = state
        .store
        .stats(
            &access,
            &sections,
            days_before(RECENT_DAYS - 1),
            days_before(MAX_ALIVE_GAP_DAYS),
        )
        .await?;

    let goals_by_status = figures.by_status.as_ref().map(|by_status| {
        let mut counts: BTreeMap<&'static str, u64> =
            GoalStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        for row in by_status {
            if let Ok(status) = GoalStatus::parse(&row.status) {
                counts.insert(status.as_str(), count(row.goals));
            }
        }
        counts
    });
    let best_current_streak = figures.recent_streaks.as_ref().map(|streaks| {
        streaks
            .iter()
            .map(|row| row.summary().on(Rule::Daily, today).streak_count)
            .max()
            .unwrap_or(0)
    });
    let by_status = figures.by_status.as_deref();
    Ok(Json(UserStats {
        goals_total: goals_by_status.as_ref().map(|counts| counts.values().sum()),
        goals_by_status,
        checkins_total: by_status.map(|rows| rows.iter().map(|row| count(row.checkins)).sum()),
        active_days_30: figures.active_days.map(count),
        best_current_streak,
        longest_streak: by_status.map(|rows| {
            rows.iter()
                .map(|row| count(row.longest_streak))
                .max()
                .unwrap_or(0)
        }),
        badges_count: figures.badges_count.map(count),
        last_active_at: figures.last_active_at,
    }))
}
