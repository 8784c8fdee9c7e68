//! Check-ins on a goal: what makes a streak. Written by the goal's owner for today or
//! yesterday in their own time zone, read by anyone who may see the goals.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    CheckinPath, DayRange, GoalPath, Owned, RangeWording, open_section, optional_day,
    paging::{self, Limit},
    unknown_fields,
};
use crate::{
    auth::AuthUser,
    db::{CheckinPage, CheckinRow, EARLIEST_DAY, LATEST_DAY},
    domain::{GoalId, checkin::CheckinRequest, streak::Streak, visibility::Goals},
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath, ApiQuery},
    services,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_checkins, add_checkin))
        .routes(routes!(remove_checkin))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CheckIn)]
pub struct Checkin {
    pub goal_id: GoalId,
    /// The owner's calendar day it counts for.
    pub date: NaiveDate,
    pub minutes: Option<u32>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<CheckinRow> for Checkin {
    fn from(row: CheckinRow) -> Self {
        Self {
            goal_id: row.goal_id,
            date: row.checkin_date,
            minutes: row.minutes.and_then(|m| u32::try_from(m).ok()),
            note: row.note,
            created_at: row.created_at,
        }
    }
}

/// A check-in and the goal's streak after it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CheckInResult)]
pub struct CheckinResult {
    #[serde(flatten)]
    pub checkin: Checkin,
    pub streak: Streak,
}

/// A check-in. Every member is optional.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = CheckInCreate)]
pub struct CheckinCreate {
    /// Today (the default) or yesterday, in the owner's time zone.
    #[serde(default, deserialize_with = "optional_day")]
    #[schema(value_type = Option<String>, format = Date, example = "2026-03-10")]
    pub date: Option<NaiveDate>,
    /// Minutes spent, 1–1440.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: Option<u32>,
    /// At most 500 characters after trimming; line breaks are kept.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

impl CheckinCreate {
    /// The request, with an error for each member the type does not have; the fields are
    /// validated with the day, once the user's calendar is known
    /// ([`CheckinRequest::validate`]).
    pub(crate) fn into_request(self) -> CheckinRequest {
        CheckinRequest {
            refused: unknown_fields(
                &self.unknown,
                &["goal_id", "created_at", "streak"],
                "is set by the service",
                "CheckInCreate",
            ),
            day: self.date,
            minutes: self.minutes,
            note: self.note,
        }
    }
}

/// The check-ins list's range: an end left out does not bound it.
#[derive(Debug)]
pub struct ListedDays;

impl RangeWording for ListedDays {
    const FROM: &'static str = "The earliest day to include.";
    const TO: &'static str = "The latest day to include.";
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckinListQuery {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[serde(default, deserialize_with = "optional_day")]
    #[param(value_type = Option<String>, format = Date)]
    pub cursor: Option<NaiveDate>,
}

impl CheckinListQuery {
    /// The page of `range` to read (fetching one check-in more than it shows) and its size.
    fn page(&self, range: &DayRange<ListedDays>) -> AppResult<(CheckinPage, Limit)> {
        let limit = Limit::parse(self.limit)?;
        let from = range.from.unwrap_or(EARLIEST_DAY);
        let to = range.to.unwrap_or(LATEST_DAY);
        // The cursor is the last day of the previous page: this page ends the day before.
        let to = match self.cursor {
            Some(cursor) => to.min(
                cursor
                    .checked_sub_days(Days::new(1))
                    .unwrap_or(EARLIEST_DAY),
            ),
            None => to,
        };
        let page = CheckinPage {
            from,
            to,
            limit: limit.fetch(),
        };
        Ok((page, limit))
    }
}

/// The path and query of the page of `range` after the one ending on `last`.
fn next_page(
    path: &GoalPath,
    range: &DayRange<ListedDays>,
    limit: Limit,
    last: NaiveDate,
) -> String {
    let mut query = format!("limit={}", limit.get());
    if let Some(from) = range.from {
        query.push_str(&format!("&from={from}"));
    }
    if let Some(to) = range.to {
        query.push_str(&format!("&to={to}"));
    }
    let GoalPath { user_id, goal_id } = path;
    format!("/users/{user_id}/goals/{goal_id}/checkins?{query}&cursor={last}")
}

/// A goal's check-ins, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/users/{user_id}/goals/{goal_id}/checkins",
    tag = "goals",
    params(GoalPath, DayRange<ListedDays>, CheckinListQuery),
    responses(
        (status = 200, description = "One page of check-ins; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<Checkin>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such goal for this user, or their goals are private"),
    )
)]
async fn list_checkins(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<GoalPath>,
    ApiQuery(range): ApiQuery<DayRange<ListedDays>>,
    ApiQuery(query): ApiQuery<CheckinListQuery>,
) -> AppResult<Response> {
    let (page, limit) = query.page(&range)?;
    let (_, access) = open_section::<Goals>(&state, path.user_id, caller.as_ref()).await?;
    state
        .store
        .goal(&access, path.goal_id)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let rows = state.store.checkins(&access, path.goal_id, &page).await?;
    Ok(paging::page(
        rows,
        limit,
        |last| next_page(&path, &range, limit, last.checkin_date),
        Checkin::from,
    ))
}

/// Checks in on one of the caller's goals, for today or (logged late) yesterday.
#[utoipa::path(
    post,
    path = "/users/{user_id}/goals/{goal_id}/checkins",
    tag = "goals",
    params(GoalPath),
    request_body = CheckinCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Checked in", body = CheckinResult,
            links(("RemoveCheckIn" = (
                operation_id = "remove_checkin",
                parameters(
                    ("user_id" = "$request.path.user_id"),
                    ("goal_id" = "$request.path.goal_id"),
                    ("date" = "$response.body#/date")
                ),
                description = "Removes this check-in"
            )))
        ),
        (status = 200, description = "Already checked in that day: the stored check-in, unchanged", body = CheckinResult),
        (status = 400, description = "The body is not JSON, or an id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such goal for this user"),
        (status = 409, description = "The goal is not in progress"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "A field is not valid, or the date is not today or yesterday"),
    )
)]
async fn add_checkin(
    State(state): State<AppState>,
    Owned(path): Owned<GoalPath>,
    ApiJson(body): ApiJson<CheckinCreate>,
) -> AppResult<Response> {
    let request = body.into_request();
    let done = services::checkins::add(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.goal_id,
        request,
    )
    .await?;
    let status = if done.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let result = CheckinResult {
        checkin: done.checkin.into(),
        streak: done.streak,
    };
    Ok((status, Json(result)).into_response())
}

/// Removes a check-in from one of the caller's goals; the streak is recomputed.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/goals/{goal_id}/checkins/{date}",
    tag = "goals",
    params(CheckinPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "An id or the date is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such goal, or no check-in that day"),
    )
)]
async fn remove_checkin(
    State(state): State<AppState>,
    Owned(path): Owned<CheckinPath>,
) -> AppResult<StatusCode> {
    services::checkins::remove(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.goal_id,
        path.date,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
