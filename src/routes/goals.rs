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
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    GoalPath, Owned, UserPath, field, open_section,
    paging::{self, Limit},
    unknown_fields,
};
use crate::{
    auth::AuthUser,
    db::{GoalPage, GoalRow, StoredResponse},
    domain::{
        GoalDescription, GoalId, GoalStatus, GoalTitle, Patch, UserId,
        goal::{GoalChanges, NewGoal},
        streak::{self, Streak},
        visibility::Goals,
    },
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath, ApiQuery, RawJson, parse_json},
    middleware::{Comparison, etag_matches, etag_of_json},
    services::{self, goals::Idempotency},
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
    /// Consecutive days with a check-in up to today or yesterday in the owner's time zone
    /// (frozen days keep it alive without adding to it), computed by the service.
    pub streak_count: u32,
    /// The best streak this goal ever had.
    pub longest_streak: u32,
    /// Freezes held: each covers one missed day. One is earned every 7th consecutive day, at
    /// most 2 held.
    pub freezes_available: u32,
    /// The owner's calendar day of the latest check-in.
    pub last_checkin_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the goal last became completed; null unless it is completed.
    pub completed_at: Option<DateTime<Utc>>,
}

impl LearningGoal {
    /// The goal as of `today`, the owner's calendar day.
    pub fn on(row: GoalRow, today: NaiveDate) -> Self {
        Self::with_streak(&row.streak.summary().on(today), row)
    }

    fn with_streak(streak: &Streak, row: GoalRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            title: row.title,
            description: row.description,
            status: row.status,
            streak_count: streak.streak_count,
            longest_streak: streak.longest_streak,
            freezes_available: streak.freezes_available,
            last_checkin_date: streak.last_checkin_date,
            created_at: row.created_at,
            updated_at: row.updated_at,
            completed_at: row.completed_at,
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
        match (title, description, status) {
            (Some(title), Some(description), Some(status)) if errors.is_empty() => Ok(NewGoal {
                title,
                description,
                status,
            }),
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
        match (title, description, status) {
            (Some(title), Some(description), Some(status)) if errors.is_empty() => {
                Ok(GoalChanges {
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
        |row| LearningGoal::on(row, today),
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
) -> AppResult<Json<LearningGoal>> {
    let (owner, access) = open_section::<Goals>(&state, path.user_id, caller.as_ref()).await?;
    let row = state
        .store
        .goal(&access, path.goal_id)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let today = streak::today(state.clock.now(), owner.time_zone());
    Ok(Json(LearningGoal::on(row, today)))
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
    let idempotency = idempotency(&headers, &bytes)?;
    let respond = |row: &GoalRow| StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        location: Some(format!("/users/{}/goals/{}", row.user_id, row.id)),
        // A new goal has no check-ins: its streak is zero whatever day it is.
        body: serde_json::to_string(&LearningGoal::with_streak(&Streak::default(), row.clone()))
            .expect("a goal serialises"),
    };
    let created = services::goals::create(
        &*state.store,
        &*state.clock,
        path.user_id,
        goal,
        idempotency.as_ref(),
        &respond,
    )
    .await?;
    Ok(stored_response(created.response, created.replayed))
}

/// The `Idempotency-Key` of a request, if any, with its body's fingerprint. The key is an
/// RFC 8941 string (quotes optional here), 1–255 visible ASCII characters.
fn idempotency(headers: &HeaderMap, body: &[u8]) -> AppResult<Option<Idempotency>> {
    let Some(raw) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = raw.to_str().unwrap_or_default().trim();
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid_parameter(
            "Idempotency-Key",
            "must be 1-255 visible ASCII characters",
        ));
    }
    let value: serde_json::Value = parse_json(body)?;
    Ok(Some(Idempotency {
        key: key.to_owned(),
        fingerprint: fingerprint(&value),
    }))
}

/// A request body's fingerprint: the SHA-256 of its JSON with object members in sorted
/// order, so whitespace and member order do not make two equal requests differ.
fn fingerprint(value: &serde_json::Value) -> String {
    fn canonical(value: &serde_json::Value, out: &mut Vec<u8>) {
        match value {
            serde_json::Value::Object(map) => {
                let mut members: Vec<_> = map.iter().collect();
                members.sort_by(|a, b| a.0.cmp(b.0));
                out.push(b'{');
                for (i, (key, member)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(serde_json::to_vec(key).expect("a string serialises"));
                    out.push(b':');
                    canonical(member, out);
                }
                out.push(b'}');
            }
            serde_json::Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    canonical(item, out);
                }
                out.push(b']');
            }
            scalar => out.extend(serde_json::to_vec(scalar).expect("a scalar serialises")),
        }
    }
    let mut bytes = Vec::new();
    canonical(value, &mut bytes);
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The keys [`idempotency`] accepts, as the OpenAPI document states them.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r"^[\x21-\x7e]{1,255}$";

/// A response as stored for idempotent replays; a replay says so.
fn stored_response(stored: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(location) = stored.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    if replayed {
        headers.insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    response
}

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
) -> AppResult<Json<LearningGoal>> {
    let changes = body.validate()?;
    let if_match = headers.get(header::IF_MATCH);
    let unchanged_since_read = |current: &GoalRow, streak: &Streak| {
        if_match.is_none_or(|tags| {
            etag_matches(
                tags,
                &etag_of_json(&LearningGoal::with_streak(streak, current.clone())),
                Comparison::Strong,
            )
        })
    };
    let (row, streak) = services::goals::update(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.goal_id,
        changes,
        &unchanged_since_read,
    )
    .await?;
    Ok(Json(LearningGoal::with_streak(&streak, row)))
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
