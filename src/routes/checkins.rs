//! Check-ins on a goal: what makes a streak. Written by the goal's owner for today or
//! yesterday in their own time zone, read by anyone who may see the goals.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{CheckinPath, GoalPath, Owned, field, open_section, optional_day, unknown_fields};
use crate::{
    auth::AuthUser,
    db::{CheckinPage, CheckinRow, EARLIEST_DAY, LATEST_DAY},
    domain::{GoalId, UserId, checkin, streak::Streak, visibility::Goals},
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath, ApiQuery},
    routes::goals::{DEFAULT_PAGE, MAX_PAGE},
    services::{self, checkins::CheckinRequest},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_checkins, add_checkin))
        .routes(routes!(remove_checkin))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckIn {
    pub goal_id: GoalId,
    /// The owner's calendar day it counts for.
    pub date: NaiveDate,
    pub minutes: Option<u32>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<CheckinRow> for CheckIn {
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
pub struct CheckInResult {
    #[serde(flatten)]
    pub checkin: CheckIn,
    pub streak: Streak,
}

/// A check-in. Every member is optional.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CheckInCreate {
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

impl CheckInCreate {
    pub(crate) fn validate(self) -> AppResult<CheckinRequest> {
        let mut errors = unknown_fields(
            &self.unknown,
            &["goal_id", "created_at", "streak"],
            "is set by the service",
            "CheckInCreate",
        );
        let minutes = field(
            &mut errors,
            "minutes",
            self.minutes.map(checkin::minutes).transpose(),
        );
        let note = field(
            &mut errors,
            "note",
            self.note
                .as_deref()
                .map(checkin::note)
                .transpose()
                .map(Option::flatten),
        );
        match (minutes, note) {
            (Some(minutes), Some(note)) if errors.is_empty() => Ok(CheckinRequest {
                day: self.date,
                minutes,
                note,
            }),
            _ => Err(AppError::Validation(errors)),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckinListQuery {
    /// The earliest day to include.
    #[serde(default, deserialize_with = "optional_day")]
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<NaiveDate>,
    /// The latest day to include.
    #[serde(default, deserialize_with = "optional_day")]
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<NaiveDate>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[serde(default, deserialize_with = "optional_day")]
    #[param(value_type = Option<String>, format = Date)]
    pub cursor: Option<NaiveDate>,
}

impl CheckinListQuery {
    fn page(&self) -> AppResult<CheckinPage> {
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid_parameter(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let from = self.from.unwrap_or(EARLIEST_DAY);
        let to = self.to.unwrap_or(LATEST_DAY);
        // The cursor is the last day of the previous page: this page ends the day before.
        let to = match self.cursor {
            Some(cursor) => to.min(
                cursor
                    .checked_sub_days(Days::new(1))
                    .unwrap_or(EARLIEST_DAY),
            ),
            None => to,
        };
        Ok(CheckinPage { from, to, limit })
    }

    fn next_link(&self, user: UserId, goal: GoalId, limit: u32, last: NaiveDate) -> HeaderValue {
        let mut query = format!("limit={limit}");
        if let Some(from) = self.from {
            query.push_str(&format!("&from={from}"));
        }
        if let Some(to) = self.to {
            query.push_str(&format!("&to={to}"));
        }
        let link =
            format!("</users/{user}/goals/{goal}/checkins?{query}&cursor={last}>; rel=\"next\"");
        HeaderValue::from_str(&link).expect("a link built from ids and dates is a valid header")
    }
}

/// A goal's check-ins, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/users/{user_id}/goals/{goal_id}/checkins",
    tag = "goals",
    params(GoalPath, CheckinListQuery),
    responses(
        (status = 200, description = "One page of check-ins; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<CheckIn>,
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
    ApiQuery(query): ApiQuery<CheckinListQuery>,
) -> AppResult<Response> {
    let page = query.page()?;
    let (_, access) = open_section::<Goals>(&state, path.user_id, caller.as_ref()).await?;
    state
        .store
        .goal(&access, path.goal_id)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let mut rows = state
        .store
        .checkins(
            &access,
            path.goal_id,
            &CheckinPage {
                limit: page.limit + 1,
                ..page
            },
        )
        .await?;
    let more = rows.len() > page.limit as usize;
    rows.truncate(page.limit as usize);
    let next = rows
        .last()
        .filter(|_| more)
        .map(|last| query.next_link(path.user_id, path.goal_id, page.limit, last.checkin_date));
    let checkins: Vec<CheckIn> = rows.into_iter().map(CheckIn::from).collect();
    let mut response = Json(checkins).into_response();
    if let Some(link) = next {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// Checks in on one of the caller's goals, for today or (logged late) yesterday.
#[utoipa::path(
    post,
    path = "/users/{user_id}/goals/{goal_id}/checkins",
    tag = "goals",
    params(GoalPath),
    request_body = CheckInCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Checked in", body = CheckInResult,
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
        (status = 200, description = "Already checked in that day: the stored check-in, unchanged", body = CheckInResult),
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
    Owned(path, _): Owned<GoalPath>,
    ApiJson(body): ApiJson<CheckInCreate>,
) -> AppResult<Response> {
    let request = body.validate()?;
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
    let result = CheckInResult {
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
    Owned(path, _): Owned<CheckinPath>,
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
