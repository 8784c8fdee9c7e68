//! A user's check-ins as a calendar, day by day, like GitHub's contribution graph.

use axum::{Json, extract::State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{DayRange, RangeWording, UserPath, open_section};
use crate::{
    auth::AuthUser,
    db::{EARLIEST_DAY, HeatmapRow},
    domain::{
        GoalId,
        heatmap::{self, Activity},
        streak,
        visibility::Goals,
    },
    error::{AppError, AppResult},
    extract::{ApiPath, ApiQuery},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_heatmap))
}

/// The heatmap's range: a year of weeks ending today unless chosen, and at most 371 days.
#[derive(Debug)]
pub struct CalendarDays;

impl RangeWording for CalendarDays {
    const FROM: &'static str = "The first day; default: the start of the 53 weeks ending with \
        `to`'s week, aligned\nto the user's `week_start`.";
    const TO: &'static str =
        "The last day; default: today in the user's time zone. At most 371 days after `from`.";
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HeatmapQuery {
    /// Only this goal's check-ins.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub goal_id: Option<GoalId>,
}

/// A user's check-ins, every day of a range.
#[derive(Debug, Serialize, ToSchema)]
pub struct Heatmap {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total_checkins: u64,
    pub total_minutes: u64,
    /// Every day from `from` to `to`, in order.
    pub days: Vec<HeatmapDay>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeatmapDay {
    pub date: NaiveDate,
    /// Goals checked in that day.
    pub checkins: u32,
    /// Minutes logged that day.
    pub minutes: u64,
    /// 0 for a day without check-ins, else 1 to 4 by the quartiles of the range's active
    /// days' check-ins.
    #[schema(minimum = 0, maximum = 4)]
    pub level: u8,
}

/// The rows as the calendar reads them.
pub fn activity(rows: &[HeatmapRow]) -> Vec<Activity> {
    rows.iter()
        .map(|row| Activity {
            date: row.checkin_date,
            checkins: u32::try_from(row.checkins).unwrap_or(0),
            minutes: u64::try_from(row.minutes).unwrap_or(0),
        })
        .collect()
}

/// A user's check-ins day by day, with a level for drawing them.
#[utoipa::path(
    get,
    path = "/users/{user_id}/heatmap",
    tag = "goals",
    params(UserPath, DayRange<CalendarDays>, HeatmapQuery),
    responses(
        (status = 200, description = "Every day of the range with its check-ins and level", body = Heatmap),
        (status = 400, description = "A parameter is not valid (a range longer than 371 days, or `from` after `to`); `errors` names it"),
        (status = 404, description = "No such user or goal, or their goals are private"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %path.user_id))]
async fn get_heatmap(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
    ApiQuery(range): ApiQuery<DayRange<CalendarDays>>,
    ApiQuery(query): ApiQuery<HeatmapQuery>,
) -> AppResult<Json<Heatmap>> {
    let (owner, access) = open_section::<Goals>(&state, path.user_id, caller.as_ref()).await?;
    let today = streak::today(state.clock.now(), owner.time_zone());
    let (from, to) = heatmap::range(range.from, range.to, today, owner.week_start())
        .map_err(|e| AppError::invalid_parameter(e.parameter, e.message))?;
    // A default range near year 1 would start before the first day both backends store.
    let from = from.max(EARLIEST_DAY);
    if let Some(goal) = query.goal_id {
        state
            .store
            .goal(&access, goal)
            .await?
            .ok_or_else(|| AppError::not_found("the goal"))?;
    }
    let rows = state
        .store
        .heatmap(&access, query.goal_id, from, to)
        .await?;
    let days = heatmap::calendar(from, to, &activity(&rows));
    Ok(Json(Heatmap {
        from,
        to,
        total_checkins: days.iter().map(|d| u64::from(d.checkins)).sum(),
        total_minutes: days.iter().map(|d| d.minutes).sum(),
        days: days
            .into_iter()
            .map(|d| HeatmapDay {
                date: d.date,
                checkins: d.checkins,
                minutes: d.minutes,
                level: d.level,
            })
            .collect(),
    }))
}
