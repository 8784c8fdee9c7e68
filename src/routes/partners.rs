//! Accountability partners: invitations to partner on a goal, their acceptance, the
//! partnerships with their shared streak, and nudges. Every operation is the caller's own
//! (`/users/{user_id}/…` with `user_id` the caller): a partnership is seen by its two
//! partners only.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::IgnoredAny};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{GoalPath, Owned, UserPath, UserScoped, field, paging, paging::Limit, unknown_fields};
use crate::{
    db::{PartnershipPage, UserRow},
    domain::{
        GoalId, UserId,
        partnership::{EndReason, PartnershipStatus},
        streak::StreakUnit,
    },
    error::{AppError, AppResult},
    extract::{ApiJson, ApiQuery},
    services::partners::{self, Seen},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(invite))
        .routes(routes!(list_partnerships))
        .routes(routes!(get_partnership, accept, end))
        .routes(routes!(nudge))
}

/// `/users/{user_id}/partnerships/{partnership_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PartnershipPath {
    pub user_id: UserId,
    /// The partnership.
    #[param(minimum = 1)]
    pub partnership_id: i64,
}

impl UserScoped for PartnershipPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

/// An invitation: the user to partner with on the goal. They must follow the caller, and
/// the caller them.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PartnerInvite {
    #[serde(default)]
    #[schema(value_type = i64, required = true, minimum = 1, example = 2)]
    pub user_id: Option<serde_json::Value>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

/// An acceptance: one of the caller's in-progress goals, of the partnership's cadence.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PartnershipAccept {
    #[serde(default)]
    #[schema(value_type = i64, required = true, minimum = 1, example = 7)]
    pub goal_id: Option<serde_json::Value>,
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

/// A positive 64-bit id in a body member.
fn id_member(value: Option<serde_json::Value>) -> Result<i64, String> {
    let value = value.ok_or_else(|| "is required".to_owned())?;
    value
        .as_i64()
        .filter(|id| *id > 0)
        .ok_or_else(|| "must be a positive 64-bit integer".to_owned())
}

/// The caller's goal in a partnership.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerGoal {
    pub id: GoalId,
    pub title: String,
}

/// The caller's side.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnershipMe {
    /// The caller's goal: `null` while an invitation waits for the caller's acceptance, or
    /// once the goal was deleted.
    pub goal: Option<PartnerGoal>,
}

/// The other partner. After an erasure (or while their account is deactivated) they are
/// "a former partner": no id, no username.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnershipPartner {
    pub id: Option<UserId>,
    pub username: Option<String>,
    #[schema(example = "Ada")]
    pub display_name: Option<String>,
}

/// Whether each partner checked in on their goal on their own today (both `false` unless
/// the partnership is active).
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnershipToday {
    pub me: bool,
    pub partner: bool,
}

/// A partnership as one of its partners sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Partnership {
    pub id: i64,
    pub status: PartnershipStatus,
    pub me: PartnershipMe,
    pub partner: PartnershipPartner,
    /// Shared days (weekly goals: weeks) in a row, read on each partner's own today; for an
    /// ended partnership, what it was when it ended.
    pub shared_streak: u32,
    pub longest_shared_streak: u32,
    /// `day` for daily goals, `week` for weekly ones.
    pub streak_unit: StreakUnit,
    /// Freezes the shared streak holds (one per 7 shared days or 4 shared weeks, at most 2).
    pub freezes_available: u32,
    pub today: PartnershipToday,
    /// Whether the caller invited the other.
    pub invited_by_me: bool,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
}

/// What an erased partner is called.
pub const FORMER_PARTNER: &str = "a former partner";

impl From<Seen> for Partnership {
    fn from(seen: Seen) -> Self {
        let Seen {
            row,
            side,
            goal,
            partner,
            streak,
        } = seen;
        let partner = match partner {
            Some(user) => PartnershipPartner {
                id: Some(user.id),
                display_name: user.display_name.clone(),
                username: Some(user.username),
            },
            None => PartnershipPartner {
                id: None,
                username: None,
                display_name: Some(FORMER_PARTNER.to_owned()),
            },
        };
        let today = [streak.today[side], streak.today[1 - side]];
        Self {
            id: row.id,
            status: row.status(),
            me: PartnershipMe {
                goal: goal.map(|(id, title)| PartnerGoal { id, title }),
            },
            partner,
            shared_streak: streak.streak,
            longest_shared_streak: streak.longest,
            streak_unit: streak.unit,
            freezes_available: streak.freezes,
            today: PartnershipToday {
                me: today[0],
                partner: today[1],
            },
            invited_by_me: side == 0,
            created_at: row.created_at,
            started_at: row.started_at,
            ended_at: row.ended_at,
            end_reason: row.end_reason(),
        }
    }
}

/// The caller, who must have a profile here.
async fn caller_row(state: &AppState, user: UserId) -> AppResult<UserRow> {
    state
        .store
        .user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the token's user"))
}

/// The partnership as the caller sees it.
async fn read_one(state: &AppState, user: UserId, id: i64) -> AppResult<Partnership> {
    let me = caller_row(state, user).await?;
    let row = state
        .store
        .partnership(id)
        .await?
        .ok_or_else(|| AppError::not_found("the partnership"))?;
    let seen = partners::seen(&*state.store, &*state.clock, &me, row).await?;
    Ok(seen.into())
}

/// Invites a user to partner on one of the caller's in-progress goals. Only users who
/// follow each other can partner; a goal has at most 5 active or pending partnerships.
#[utoipa::path(
    post,
    path = "/users/{user_id}/goals/{goal_id}/partners",
    tag = "partners",
    params(GoalPath),
    request_body = PartnerInvite,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Invited: the pending partnership", body = Partnership,
            headers(("Location" = String, description = "The partnership's path"))),
        (status = 400, description = "The body is not JSON, or an id in the path is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such goal of the caller's (or the caller has no profile here)"),
        (status = 409, description = "The goal is not in progress, or already has an open partnership with that user"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "No such user (or one deactivated), the user is the caller, the two do not follow each other (a block ends their follows), or the goal has 5 open partnerships; `errors` names the field"),
    )
)]
async fn invite(
    State(state): State<AppState>,
    Owned(path): Owned<GoalPath>,
    ApiJson(body): ApiJson<PartnerInvite>,
) -> AppResult<Response> {
    let mut errors = unknown_fields(&body.unknown, &[], "", "PartnerInvite");
    let invitee = field(
        &mut errors,
        "user_id",
        id_member(body.user_id).and_then(|id| UserId::parse(id).map_err(str::to_owned)),
    );
    let Some(invitee) = invitee.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let id = partners::invite(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.goal_id,
        invitee,
    )
    .await?;
    let body = read_one(&state, path.user_id, id).await?;
    let location = format!("/users/{}/partnerships/{id}", path.user_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PartnershipsQuery {
    /// Which partnerships: `pending` (invitations, sent and received), `active` (the
    /// default) or `ended`.
    pub status: Option<PartnershipStatus>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
}

/// The caller's partnerships of one status, newest first.
#[utoipa::path(
    get,
    path = "/users/{user_id}/partnerships",
    tag = "partners",
    params(UserPath, PartnershipsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of partnerships; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<Partnership>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 304, description = "Not modified since the `If-None-Match` entity tag"),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
    )
)]
async fn list_partnerships(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    ApiQuery(query): ApiQuery<PartnershipsQuery>,
) -> AppResult<Response> {
    let limit = Limit::parse(query.limit)?;
    if query.cursor.is_some_and(|cursor| cursor < 1) {
        return Err(AppError::invalid_parameter("cursor", "must be positive"));
    }
    let status = query.status.unwrap_or(PartnershipStatus::Active);
    let me = caller_row(&state, path.user_id).await?;
    let page = PartnershipPage {
        status,
        before: query.cursor,
        limit: limit.fetch(),
    };
    let rows = state.store.partnerships_of(path.user_id, &page).await?;
    let items = partners::seen_page(&*state.store, &*state.clock, &me, rows).await?;
    let base = format!("/users/{}/partnerships", path.user_id);
    Ok(paging::page(
        items,
        limit,
        |last| {
            format!(
                "{base}?status={}&limit={}&cursor={}",
                status.as_str(),
                limit.get(),
                last.row.id
            )
        },
        Partnership::from,
    ))
}

/// One of the caller's partnerships.
#[utoipa::path(
    get,
    path = "/users/{user_id}/partnerships/{partnership_id}",
    tag = "partners",
    params(PartnershipPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The partnership", body = Partnership),
        (status = 304, description = "Not modified since the `If-None-Match` entity tag"),
        (status = 400, description = "An id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such partnership of the caller's"),
    )
)]
async fn get_partnership(
    State(state): State<AppState>,
    Owned(path): Owned<PartnershipPath>,
) -> AppResult<Json<Partnership>> {
    Ok(Json(
        read_one(&state, path.user_id, path.partnership_id).await?,
    ))
}

/// Accepts an invitation, naming one of the caller's in-progress goals of the same cadence.
#[utoipa::path(
    put,
    path = "/users/{user_id}/partnerships/{partnership_id}",
    tag = "partners",
    params(PartnershipPath),
    request_body = PartnershipAccept,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Accepted: the active partnership", body = Partnership),
        (status = 400, description = "The body is not JSON, or an id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such partnership of the caller's"),
        (status = 409, description = "The partnership is not pending, or the caller is the inviter"),
        (status = 413, description = "The body is larger than 64 KiB"),
        (status = 415, description = "The body is not sent as JSON"),
        (status = 422, description = "The goal is not the caller's, not in progress, of another cadence or at its limit of 5, or the two no longer follow each other; `errors` names the field"),
    )
)]
async fn accept(
    State(state): State<AppState>,
    Owned(path): Owned<PartnershipPath>,
    ApiJson(body): ApiJson<PartnershipAccept>,
) -> AppResult<Json<Partnership>> {
    let mut errors = unknown_fields(&body.unknown, &[], "", "PartnershipAccept");
    let goal = field(
        &mut errors,
        "goal_id",
        id_member(body.goal_id).and_then(|id| GoalId::parse(id).map_err(str::to_owned)),
    );
    let Some(goal) = goal.filter(|_| errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    partners::accept(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.partnership_id,
        goal,
    )
    .await?;
    Ok(Json(
        read_one(&state, path.user_id, path.partnership_id).await?,
    ))
}

/// Declines an invitation (the invited user), withdraws it (the inviter) or ends an active
/// partnership (either partner). Its history is kept. Ending an ended one changes nothing.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/partnerships/{partnership_id}",
    tag = "partners",
    params(PartnershipPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 400, description = "An id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such partnership of the caller's"),
    )
)]
async fn end(
    State(state): State<AppState>,
    Owned(path): Owned<PartnershipPath>,
) -> AppResult<StatusCode> {
    partners::end(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.partnership_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Nudges the partner to check in today: `partner.nudged.v1` tells a notification
/// service. Once per partner per partnership per day (the caller's), and never once the
/// partner has checked in on their today.
#[utoipa::path(
    post,
    path = "/users/{user_id}/partnerships/{partnership_id}/nudge",
    tag = "partners",
    params(PartnershipPath),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The nudge is on its way"),
        (status = 400, description = "An id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such partnership of the caller's"),
        (status = 409, description = "The partnership is not active, or the partner has checked in today"),
        (status = 429, description = "The caller nudged in this partnership today; `Retry-After` says when their next day starts"),
    )
)]
async fn nudge(
    State(state): State<AppState>,
    Owned(path): Owned<PartnershipPath>,
) -> AppResult<StatusCode> {
    partners::nudge(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.partnership_id,
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}
