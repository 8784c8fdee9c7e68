//! Learning goals: listed and read by anyone, written by their owner.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    GoalPath, Owned, UserPath, field, open_section,
    paging::{self, Limit},
    unknown_fields,
};
use crate::{
    auth::AuthUser,
    db::{GoalPage, GoalRow},
    domain::{
        GoalDescription, GoalId, GoalStatus, GoalTitle, Patch, UserId,
        goal::{Cadence, CreatedGoal, GoalChanges, NewGoal, Schedule},
        streak::{self, Streak, StreakUnit},
        visibility::Goals,
        week::WeekStart,
    },
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath, ApiQuery, RawJson, parse_json},
    idempotency::{Fingerprint, IdempotencyKey, Idempotent},
    middleware::{expected_versions, with_version},
    services,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_goals, create_goal))
        .routes(routes!(get_goal, update_goal, delete_goal))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LearningGoal {
    pub id: GoalId,
    pub user_id: UserId,
    pub title: String,
    pub description: Option<String>,
    pub status: GoalStatus,
    /// `daily` (a check-in every day) or `weekly` (on `days_per_week` days of each of the
    /// owner's weeks).
    pub cadence: Cadence,
    /// A weekly goal's target, 1–7; null for a daily goal.
    #[schema(minimum = 1, maximum = 7)]
    pub days_per_week: Option<u32>,
    /// Daily: consecutive days with a check-in up to today or yesterday in the owner's time
    /// zone. Weekly: consecutive weeks that met the target, the current week counted once it
    /// does. Frozen days (weeks) keep it alive without adding to it. Computed by the service.
    pub streak_count: u32,
    /// The best streak this goal ever had.
    pub longest_streak: u32,
    /// What the streaks count: `day` for a daily goal, `week` for a weekly one.
    pub streak_unit: StreakUnit,
    /// Freezes held: each covers one missed day (week). One is earned every 7th day (4th
    /// week) in a row, at most 2 held.
    pub freezes_available: u32,
    /// The owner's calendar day of the latest check-in.
    pub last_checkin_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the goal last became completed; null unless it is completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Whether `streak.at_risk.v1` reminders go out for this goal, and
    /// `partner_streak.at_risk.v1` for its partnerships (when the profile's `reminders` are
    /// on too).
    pub reminders: bool,
}

impl LearningGoal {
    /// The goal as of `today`, the owner's calendar day, in weeks starting on `week_start`.
    pub fn on(row: GoalRow, today: NaiveDate, week_start: WeekStart) -> Self {
        let rule = row.schedule().rule(week_start);
        Self::with_streak(&row.streak.summary().on(rule, today), row)
    }

    /// The answer to its creation: a new goal has no check-ins, so no streak, whatever day
    /// it is.
    fn created(goal: CreatedGoal) -> AppResult<Self> {
        let stored =
            |what: &str| AppError::Internal(anyhow::anyhow!("a kept goal's {what} is not an id"));
        Ok(Self {
            id: GoalId::parse(goal.id).map_err(|_| stored("id"))?,
            user_id: UserId::parse(goal.user_id).map_err(|_| stored("user_id"))?,
            title: goal.title,
            description: goal.description,
            status: goal.status,
            cadence: goal.cadence,
            days_per_week: goal.days_per_week,
            streak_count: 0,
            longest_streak: 0,
            streak_unit: match goal.cadence {
                Cadence::Daily => StreakUnit::Day,
                Cadence::Weekly => StreakUnit::Week,
            },
            freezes_available: 0,
            last_checkin_date: None,
            created_at: goal.created_at,
            updated_at: goal.updated_at,
            completed_at: goal.completed_at,
            reminders: goal.reminders,
        })
    }

    fn with_streak(streak: &Streak, row: GoalRow) -> Self {
        let schedule = row.schedule();
        Self {
            id: row.id,
            user_id: row.user_id,
            title: row.title,
            description: row.description,
            status: row.status,
            cadence: schedule.cadence(),
            days_per_week: schedule.days_per_week(),
            streak_count: streak.streak_count,
            longest_streak: streak.longest_streak,
            streak_unit: streak.streak_unit,
            freezes_available: streak.freezes_available,
            last_checkin_date: streak.last_checkin_date,
            created_at: row.created_at,
            updated_at: row.updated_at,
            completed_at: row.completed_at,
            reminders: row.reminders,
        }
    }
}

/// A new learning goal.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LearningGoalCreate {
    /// One line, 1–200 characters after trimming.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub title: Option<String>,
    /// At most 2000 characters after trimming; line breaks are kept.
    #[serde(default)]
    pub description: Option<String>,
    /// Default: in-progress.
    #[serde(default)]
    #[schema(value_type = Option<GoalStatus>)]
    pub status: Option<String>,
    /// Default: daily.
    #[serde(default)]
    #[schema(value_type = Option<Cadence>)]
    pub cadence: Option<String>,
    /// Required for a weekly goal, 1–7: on how many days of each week to check in.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 7)]
    pub days_per_week: Option<i64>,
    /// Whether `streak.at_risk.v1` reminders go out for this goal, and
    /// `partner_streak.at_risk.v1` for its partnerships. Default: true.
    #[serde(default)]
    pub reminders: Option<bool>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

/// A partial update of a goal: leave a field out to keep it. The description can be
/// cleared with `null`; title and status cannot.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LearningGoalUpdate {
    /// One line, 1–200 characters after trimming.
    #[serde(default)]
    #[schema(value_type = String)]
    pub title: Patch<String>,
    /// At most 2000 characters after trimming; `null` or blank clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = GoalStatus)]
    pub status: Patch<String>,
    /// A new cadence: the streak is counted again from the same check-ins. A goal becoming
    /// daily drops its `days_per_week`; one becoming weekly needs one.
    #[serde(default)]
    #[schema(value_type = Cadence)]
    pub cadence: Patch<String>,
    /// A weekly goal's new target, 1–7; the streak is counted again.
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 7)]
    pub days_per_week: Patch<i64>,
    /// `false` stops `streak.at_risk.v1` reminders for this goal and
    /// `partner_streak.at_risk.v1` for its partnerships, `true` resumes them.
    #[serde(default)]
    #[schema(value_type = bool)]
    pub reminders: Patch<bool>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

/// Members of a LearningGoal that the service computes.
const GOAL_READ_ONLY: &[&str] = &[
    "id",
    "user_id",
    "streak_count",
    "longest_streak",
    "streak_unit",
    "freezes_available",
    "last_checkin_date",
    "created_at",
    "updated_at",
    "completed_at",
];

const COMPUTED: &str = "is computed by the service and cannot be set";

fn not_null<T>(patch: Patch<T>) -> Result<Option<T>, String> {
    match patch {
        Patch::Unchanged => Ok(None),
        Patch::Clear => Err("cannot be null".into()),
        Patch::Set(value) => Ok(Some(value)),
    }
}

impl LearningGoalCreate {
    pub(crate) fn validate(self) -> Result<NewGoal, AppError> {
        let mut errors = unknown_fields(
            &self.unknown,
            GOAL_READ_ONLY,
            COMPUTED,
            "LearningGoalCreate",
        );
        let title = field(
            &mut errors,
            "title",
            self.title
                .ok_or_else(|| "is required".to_owned())
                .and_then(|t| GoalTitle::parse(&t)),
        );
        let description = field(
            &mut errors,
            "description",
            self.description
                .map_or(Ok(None), |d| GoalDescription::parse(&d)),
        );
        let status = field(
            &mut errors,
            "status",
            self.status
                .map_or(Ok(GoalStatus::InProgress), |s| GoalStatus::parse(&s)),
        );
        let cadence = field(
            &mut errors,
            "cadence",
            self.cadence
                .map_or(Ok(Cadence::Daily), |c| Cadence::parse(&c)),
        );
        let schedule = cadence.and_then(|cadence| {
            Schedule::parse(cadence, self.days_per_week)
                .map_err(|error| errors.push(error))
                .ok()
        });
        match (title, description, status, schedule) {
            (Some(title), Some(description), Some(status), Some(schedule)) if errors.is_empty() => {
                Ok(NewGoal {
                    title,
                    description,
                    status,
                    schedule,
                    reminders: self.reminders.unwrap_or(true),
                })
            }
            _ => Err(AppError::Validation(errors)),
        }
    }
}

impl LearningGoalUpdate {
    pub(crate) fn validate(self) -> Result<GoalChanges, AppError> {
        let mut errors = unknown_fields(
            &self.unknown,
            GOAL_READ_ONLY,
            COMPUTED,
            "LearningGoalUpdate",
        );
        let title = field(
            &mut errors,
            "title",
            not_null(self.title).and_then(|t| t.map(|t| GoalTitle::parse(&t)).transpose()),
        );
        let description = field(
            &mut errors,
            "description",
            self.description
                .try_map(|d| GoalDescription::parse(&d))
                .map(Patch::flatten),
        );
        let status = field(
            &mut errors,
            "status",
            not_null(self.status).and_then(|s| s.map(|s| GoalStatus::parse(&s)).transpose()),
        );
        let cadence = field(
            &mut errors,
            "cadence",
            not_null(self.cadence).and_then(|c| c.map(|c| Cadence::parse(&c)).transpose()),
        );
        let reminders = field(&mut errors, "reminders", not_null(self.reminders));
        match (title, description, status, cadence, reminders) {
            (Some(title), Some(description), Some(status), Some(cadence), Some(reminders))
                if errors.is_empty() =>
            {
                Ok(GoalChanges {
                    reminders,
                    cadence,
                    days_per_week: self.days_per_week,
                    title,
                    description,
                    status,
                })
            }
            _ => Err(AppError::Validation(errors)),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GoalListQuery {
    /// Only goals with this status.
    #[param(value_type = Option<GoalStatus>)]
    pub status: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub cursor: Option<GoalId>,
}

impl GoalListQuery {
    /// The page to read (fetching one goal more than it shows) and its size.
    fn page(&self) -> AppResult<(GoalPage, Limit)> {
        let status = self
            .status
            .as_deref()
            .map(GoalStatus::parse)
            .transpose()
            .map_err(|message| AppError::invalid_parameter("status", message))?;
        let limit = Limit::parse(self.limit)?;
        let page = GoalPage {
            status,
            before: self.cursor,
            limit: limit.fetch(),
        };
        Ok((page, limit))
    }
}

/// A user's goals, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/users/{user_id}/goals",
    tag = "goals",
    params(UserPath, GoalListQuery),
    responses(
        (status = 200, description = "One page of goals; `Link: <…>; rel=\"next\"` names the next page, absent on the last",
            body = Vec<LearningGoal>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 404, description = "No such user"),
    )
)]
async fn list_goals(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
    ApiQuery(query): ApiQuery<GoalListQuery>,
) -> AppResult<Response> {
    let (page, limit) = query.page()?;
    let (owner, access) = open_section::<Goals>(&state, path.user_id, caller.as_ref()).await?;
    let today = streak::today(state.clock.now(), owner.time_zone());
    let rows = state.store.goals(&access, &page).await?;
    let status = page
        .status
        .map(|s| format!("&status={}", s.as_str()))
        .unwrap_or_default();
    Ok(paging::page(
        rows,
        limit,
        |last| {
            format!(
                "/users/{}/goals?limit={}{status}&cursor={}",
                path.user_id,
                limit.get(),
                last.id
            )
        },
        |row| LearningGoal::on(row, today, owner.week_start()),
    ))
}

/// One goal of a user.
#[utoipa::path(
    get,
    path = "/users/{user_id}/goals/{goal_id}",
    tag = "goals",
    params(GoalPath),
    responses(
        (status = 200, description = "The goal", body = LearningGoal),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 404, description = "No such goal for this user"),
    )
)]
async fn get_goal(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<GoalPath>,
) -> AppResult<Response> {
    let (owner, access) = open_section::<Goals>(&state, path.user_id, caller.as_ref()).await?;
    let row = state
        .store
        .goal(&access, path.goal_id)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let today = streak::today(state.clock.now(), owner.time_zone());
    let version = row.version(today);
    Ok(with_version(
        Json(LearningGoal::on(row, today, owner.week_start())),
        &version,
    ))
}

/// Creates a goal for the caller. With an `Idempotency-Key`, retrying the same request
/// within 24 hours answers the first response again and creates nothing.
#[utoipa::path(
    post,
    path = "/users/{user_id}/goals",
    tag = "goals",
    params(
        UserPath,
        ("Idempotency-Key" = Option<String>, Header,
            description = "Makes retries safe: 1-255 visible ASCII characters, unique per request, kept 24 hours"),
    ),
    request_body = LearningGoalCreate,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created (or, with `Idempotent-Replayed: true`, the first answer to this key)", body = LearningGoal,
            headers(("Location" = String, description = "The new goal's path"))),
        (status = 400, description = "The body is not JSON, or the user id or Idempotency-Key is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
        (status = 409, description = "A request with this Idempotency-Key is still in progress, or the goal it created has since been deleted"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "A field is not valid, or the Idempotency-Key was used with another body"),
    )
)]
async fn create_goal(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    headers: HeaderMap,
    RawJson(bytes): RawJson,
) -> AppResult<Response> {
    let body: LearningGoalCreate = parse_json(&bytes)?;
    let goal = body.validate()?;
    let idempotent = match headers.get(IDEMPOTENCY_KEY) {
        None => None,
        Some(raw) => Some(Idempotent {
            key: IdempotencyKey::parse(raw.to_str().unwrap_or_default())?,
            fingerprint: Fingerprint::of(&parse_json(&bytes)?),
        }),
    };
    let created = services::goals::create(
        &*state.store,
        &*state.clock,
        path.user_id,
        goal,
        idempotent.as_ref(),
    )
    .await?;
    let location = format!("/users/{}/goals/{}", created.goal.user_id, created.goal.id);
    let mut response = (
        StatusCode::CREATED,
        Json(LearningGoal::created(created.goal)?),
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&location).expect("a path of ids is a valid header"),
    );
    if created.replayed {
        headers.insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// Updates one of the caller's goals.
#[utoipa::path(
    put,
    path = "/users/{user_id}/goals/{goal_id}",
    tag = "goals",
    params(GoalPath),
    request_body = LearningGoalUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated goal", body = LearningGoal),
        (status = 400, description = "The body is not JSON, or an id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such goal for this user"),
        (status = 412, description = "`If-Match` names an entity tag the goal no longer has"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "A field is not valid, or is computed by the service"),
    )
)]
async fn update_goal(
    State(state): State<AppState>,
    Owned(path): Owned<GoalPath>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LearningGoalUpdate>,
) -> AppResult<Response> {
    let changes = body.validate()?;
    let expected = headers.get(header::IF_MATCH).map(expected_versions);
    let goal = services::goals::update(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.goal_id,
        changes,
        expected.as_ref(),
    )
    .await?;
    let version = goal.row.version(goal.today);
    Ok(with_version(
        Json(LearningGoal::with_streak(&goal.streak, goal.row)),
        &version,
    ))
}

/// Deletes one of the caller's goals.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/goals/{goal_id}",
    tag = "goals",
    params(GoalPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such goal for this user"),
    )
)]
async fn delete_goal(
    State(state): State<AppState>,
    Owned(path): Owned<GoalPath>,
) -> AppResult<StatusCode> {
    services::goals::delete(&*state.store, &*state.clock, path.user_id, path.goal_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
