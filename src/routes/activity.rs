//! The activity feed: every change to a user's profile, goals, check-ins and badges.

use axum::{extract::State, response::Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    UserPath, open_section,
    paging::{self, Limit},
};
use crate::{
    auth::AuthUser,
    db::{ActivityPage, EventRow},
    domain::{
        activity::EventKind,
        visibility::{Activity, Section},
    },
    error::{AppError, AppResult},
    extract::{ApiPath, ApiQuery},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_activity))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityEvent {
    pub id: i64,
    #[serde(rename = "type")]
    #[schema(value_type = EventKind)]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    /// The goal it is about; it may since have been deleted.
    pub goal_id: Option<i64>,
    pub badge_code: Option<String>,
    /// What happened, in words, as it was when it happened.
    pub summary: String,
    /// Kudos the event received.
    pub kudos_count: i64,
    /// Whether the caller gave it kudos; present when the request has a token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kudos_by_me: Option<bool>,
}

impl From<EventRow> for ActivityEvent {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            occurred_at: row.occurred_at,
            goal_id: row.goal_id,
            badge_code: row.badge_code,
            summary: row.summary,
            kudos_count: row.kudos_count,
            kudos_by_me: row.kudos_by_me,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
}

/// A user's activity, newest first. Events about goals or badges are left out when those
/// sections are private to someone else.
#[utoipa::path(
    get,
    path = "/users/{user_id}/activity",
    tag = "activity",
    params(UserPath, ActivityQuery),
    responses(
        (status = 200, description = "One page of events; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<ActivityEvent>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, or their activity is private"),
    )
)]
async fn list_activity(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
    ApiQuery(query): ApiQuery<ActivityQuery>,
) -> AppResult<Response> {
    let limit = Limit::parse(query.limit)?;
    if query.cursor.is_some_and(|c| c < 1) {
        return Err(AppError::invalid_parameter(
            "cursor",
            "must be a positive integer",
        ));
    }
    let (owner, access) = open_section::<Activity>(&state, path.user_id, caller.as_ref()).await?;
    let privacy = owner.privacy();
    let page = ActivityPage {
        before: query.cursor,
        limit: limit.fetch(),
        goals_visible: privacy.allows(Section::Goals, access.viewer()),
        badges_visible: privacy.allows(Section::Badges, access.viewer()),
        reader: caller.as_ref().map(|AuthUser(caller)| caller.user_id),
    };
    let rows = state.store.activity(&access, &page).await?;
    Ok(paging::page(
        rows,
        limit,
        |last| {
            format!(
                "/users/{}/activity?limit={}&cursor={}",
                path.user_id,
                limit.get(),
                last.id
            )
        },
        ActivityEvent::from,
    ))
}
