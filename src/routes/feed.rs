//! The home feed (what the people the caller follows did, and the caller's own) and kudos
//! on activity events. Both decide privacy when the request is read: the feed asks, per
//! followed user, what the caller may see of them now; kudos go only to an event the giver
//! can see.

use axum::{extract::State, http::StatusCode, response::Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Owned, UserPath, UserScoped,
    activity::ActivityEvent,
    connect::{PeopleQuery, people_page},
    open_section,
    paging::{self, Limit},
};
use crate::{
    auth::AuthUser,
    db::FeedPage,
    domain::{
        UserId,
        activity::event_visible,
        social::{FEED_PAGE, feed_viewer},
        visibility::Activity,
    },
    error::{AppError, AppResult},
    extract::{ApiPath, ApiQuery},
    services::social,
    state::AppState,
};

/// How many candidates, hidden ones included, one read of the feed goes through before it
/// answers with what it found: it stops after the batch that reaches this many.
const FEED_SCAN: usize = 1_000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(home_feed))
        .routes(routes!(list_kudos, give_kudos, take_back_kudos))
}

/// `/users/{user_id}/activity/{event_id}/kudos`: an event of `user_id`'s.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EventPath {
    /// The event's owner.
    pub user_id: UserId,
    /// The event, as `/activity` numbers it.
    #[param(minimum = 1)]
    pub event_id: i64,
}

impl UserScoped for EventPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

impl EventPath {
    fn event(&self) -> AppResult<i64> {
        if self.event_id < 1 {
            return Err(AppError::invalid_parameter(
                "event_id",
                "must be a positive integer",
            ));
        }
        Ok(self.event_id)
    }
}

/// Who did what in a feed item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Actor {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

/// An event as `/activity` gives it, with who did it.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    #[serde(flatten)]
    pub event: ActivityEvent,
    pub actor: Actor,
}

/// A user who gave kudos, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct KudosGiver {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub given_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Page size, 1–100 (default 30).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[param(pattern = r"^[1-9][0-9]{0,18}$")]
    pub cursor: Option<String>,
}

/// The caller's home feed: the events of the users they follow, and their own, newest
/// first. An event shows only where the caller may see it now (the user's activity, and
/// the event's section, public or for followers); muted users are left out, and so is
/// anyone blocked either way.
#[utoipa::path(
    get,
    path = "/users/{user_id}/feed",
    tag = "connect",
    params(UserPath, FeedQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of the feed; `Link: <…>; rel=\"next\"` names the next page. A page passes over at most about a thousand hidden items: past them it holds fewer than `limit` items, or none, and its `Link` goes on from there; the feed ends where a page has no `Link`",
            body = Vec<FeedItem>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
    )
)]
async fn home_feed(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> AppResult<Response> {
    let limit = Limit::parse(Some(query.limit.unwrap_or(FEED_PAGE)))?;
    let before = query
        .cursor
        .as_deref()
        .map(|raw| {
            raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                AppError::invalid_parameter("cursor", "must be a cursor from a Link header")
            })
        })
        .transpose()?;
    let reader = path.user_id;
    // Candidates come in batches; the hidden ones (a user no longer followed, muted or
    // blocked, a section turned private) are passed over, and the next batch is larger. A
    // read passes over at most FEED_SCAN candidates: past them, the page is answered short
    // (even empty), its `Link` going on from the last candidate read, so that no request's
    // cost grows with what the reader hid.
    let wanted = limit.fetch() as usize;
    let mut shown = Vec::with_capacity(wanted);
    let mut page = FeedPage::first(before, limit.fetch());
    let mut reader_active = None;
    let mut read = 0;
    let mut stopped_at = None;
    loop {
        let rows = state.store.feed(reader, &page).await?;
        let exhausted = rows.len() < page.size() as usize;
        read += rows.len();
        reader_active = reader_active.or(rows.first().map(|row| row.reader_active));
        let last = rows.last().map(|row| row.event.id);
        shown.extend(rows.into_iter().filter(|row| {
            feed_viewer(row.relation(reader))
                .is_some_and(|viewer| event_visible(&row.privacy(), viewer, &row.section))
        }));
        match last {
            Some(last) if shown.len() < wanted && !exhausted => {
                if read >= FEED_SCAN {
                    stopped_at = Some(last);
                    break;
                }
                page = page.next(last);
            }
            _ => break,
        }
    }
    // Every row says whether the reader is an active user; with none, one more read.
    let known = match reader_active {
        Some(active) => active,
        None => state.store.user(reader).await?.is_some(),
    };
    if !known {
        return Err(AppError::not_found("the token's user"));
    }
    let next = |cursor: i64| {
        format!(
            "/users/{}/feed?limit={}&cursor={cursor}",
            path.user_id,
            limit.get(),
        )
    };
    let mut response = paging::page(
        shown,
        limit,
        |last| next(last.event.id),
        |row| FeedItem {
            actor: Actor {
                id: row.event.user_id,
                username: row.username,
                display_name: row.display_name,
                avatar_url: row.avatar_url,
            },
            event: ActivityEvent::from(row.event),
        },
    );
    if let Some(cursor) = stopped_at {
        paging::link_next(&mut response, &next(cursor));
    }
    Ok(response)
}

/// Who gave kudos to an event, newest first: as visible as the event.
#[utoipa::path(
    get,
    path = "/users/{user_id}/activity/{event_id}/kudos",
    tag = "connect",
    params(EventPath, PeopleQuery),
    responses(
        (status = 200, description = "One page of givers; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<KudosGiver>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user or event, or the caller may not see it"),
    )
)]
async fn list_kudos(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<EventPath>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> AppResult<Response> {
    let event = path.event()?;
    let (limit, page) = query.page()?;
    let (owner, access) = open_section::<Activity>(&state, path.user_id, caller.as_ref()).await?;
    let unknown = || AppError::not_found("the activity event");
    let found = state
        .store
        .event_ref(path.user_id, event)
        .await?
        .ok_or_else(unknown)?;
    if !event_visible(&owner.privacy(), access.viewer(), &found.section) {
        return Err(unknown());
    }
    if let Some(AuthUser(caller)) = &caller
        && caller.user_id != path.user_id
        && state
            .store
            .blocked_either_way(caller.user_id, path.user_id)
            .await?
    {
        return Err(unknown());
    }
    let rows = state.store.kudos_givers(event, &page).await?;
    let base = format!("/users/{}/activity/{event}/kudos", path.user_id);
    Ok(people_page(rows, limit, &base, |row| KudosGiver {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        avatar_url: row.avatar_url,
        given_at: row.at,
    }))
}

/// Gives kudos to another user's event the caller can see. Repeating it changes nothing.
#[utoipa::path(
    put,
    path = "/users/{user_id}/activity/{event_id}/kudos",
    tag = "connect",
    params(EventPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The caller has given the event kudos"),
        (status = 400, description = "An id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such user or event, or the caller may not see it"),
        (status = 422, description = "The event is the caller's own"),
        (status = 429, description = "More than 2,000 kudos given and taken back today (UTC); `Retry-After` says when"),
    )
)]
async fn give_kudos(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(path): ApiPath<EventPath>,
) -> AppResult<StatusCode> {
    let event = path.event()?;
    social::give_kudos(
        &*state.store,
        &*state.clock,
        caller.user_id,
        path.user_id,
        event,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes the caller's kudos back. Idempotent; nothing is published.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/activity/{event_id}/kudos",
    tag = "connect",
    params(EventPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The caller's kudos are not on the event (any more)"),
        (status = 400, description = "An id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 404, description = "No such user or event, or the caller may not see it"),
        (status = 429, description = "More than 2,000 kudos given and taken back today (UTC); `Retry-After` says when"),
    )
)]
async fn take_back_kudos(
    State(state): State<AppState>,
    AuthUser(caller): AuthUser,
    ApiPath(path): ApiPath<EventPath>,
) -> AppResult<StatusCode> {
    let event = path.event()?;
    social::take_back_kudos(
        &*state.store,
        &*state.clock,
        caller.user_id,
        path.user_id,
        event,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
