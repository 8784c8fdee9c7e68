//! Connect: follows and follow requests, the lists of followers and followed, blocks and
//! mutes. The writes are the caller's own (`/users/{user_id}/…` with `user_id` the caller);
//! the lists of followers and followed are the `connections` section, as visible as its
//! owner chose; requests, blocks and mutes are seen by their owner alone.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    Owned, UserPath, UserScoped, open_section,
    paging::{self, Limit},
};
use crate::{
    auth::AuthUser,
    db::{PeopleList, PeoplePage, PersonRow},
    domain::{
        UserId,
        social::{FollowCursor, FollowState},
        visibility::Connections,
    },
    error::{AppError, AppResult},
    extract::{ApiPath, ApiQuery},
    services::social::{self, Switch},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(is_following, follow, unfollow))
        .routes(routes!(list_followers))
        .routes(routes!(list_following))
        .routes(routes!(list_follow_requests))
        .routes(routes!(approve_follower, remove_follower))
        .routes(routes!(block, unblock))
        .routes(routes!(list_blocks))
        .routes(routes!(mute, unmute))
        .routes(routes!(list_mutes))
}

/// `/users/{user_id}/following/{target_id}`, `/users/{user_id}/blocks/{target_id}`,
/// `/users/{user_id}/mutes/{target_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TargetPath {
    pub user_id: UserId,
    /// The other user.
    pub target_id: UserId,
}

impl UserScoped for TargetPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

/// `/users/{user_id}/followers/{follower_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FollowerPath {
    pub user_id: UserId,
    /// The follower, or the user who asked to follow.
    pub follower_id: UserId,
}

impl UserScoped for FollowerPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

/// A user in a list of followers or followed: `followed_at` is when the follow began.
#[derive(Debug, Serialize, ToSchema)]
pub struct Follow {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub followed_at: DateTime<Utc>,
}

/// A user who asked to follow the caller, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowRequest {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub requested_at: DateTime<Utc>,
}

/// A user the caller blocked or muted, and when.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedUser {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub since: DateTime<Utc>,
}

/// A follow that waits for the user's approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowRequested {
    /// Always `requested`.
    #[schema(example = "requested")]
    pub status: &'static str,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Where the page starts: taken from the `Link: rel="next"` of the previous page.
    #[param(pattern = r"^-?[0-9]{1,19}\.[0-9]{1,19}$")]
    pub cursor: Option<String>,
}

impl PeopleQuery {
    pub(super) fn page(&self) -> AppResult<(Limit, PeoplePage)> {
        let limit = Limit::parse(self.limit)?;
        let after = self
            .cursor
            .as_deref()
            .map(FollowCursor::parse)
            .transpose()
            .map_err(|message| AppError::invalid_parameter("cursor", message))?;
        Ok((
            limit,
            PeoplePage {
                after,
                limit: limit.fetch(),
            },
        ))
    }
}

/// One page of a list, with the link to the next.
pub(super) fn people_page<T: Serialize>(
    rows: Vec<PersonRow>,
    limit: Limit,
    path: &str,
    item: impl FnMut(PersonRow) -> T,
) -> Response {
    paging::page(
        rows,
        limit,
        |last| {
            let cursor = FollowCursor {
                at: last.at,
                id: last.id,
            };
            format!("{path}?limit={}&cursor={}", limit.get(), cursor.encode())
        },
        item,
    )
}

pub(super) fn follow_item(row: PersonRow) -> Follow {
    Follow {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        avatar_url: row.avatar_url,
        followed_at: row.at,
    }
}

pub(super) fn listed_item(row: PersonRow) -> ListedUser {
    ListedUser {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        avatar_url: row.avatar_url,
        since: row.at,
    }
}

/// Whether the user follows the target: 204 when they do, 404 when not (a request is not a
/// follow), as GitHub answers. Part of the `connections` section.
#[utoipa::path(
    get,
    path = "/users/{user_id}/following/{target_id}",
    tag = "connect",
    params(TargetPath),
    responses(
        (status = 204, description = "The user follows the target"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "Not following; or no such user, or their connections are hidden from the caller"),
    )
)]
async fn is_following(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<TargetPath>,
) -> AppResult<StatusCode> {
    open_section::<Connections>(&state, path.user_id, caller.as_ref()).await?;
    let following = state.store.follows(path.user_id, path.target_id).await?
        && state.store.user(path.target_id).await?.is_some();
    if following {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound("the user does not follow them".into()))
    }
}

/// Follows the target: 204 when the follow begins (or already had), 202 when the target
/// approves follows and this is a request (or already was). Repeating it changes nothing.
#[utoipa::path(
    put,
    path = "/users/{user_id}/following/{target_id}",
    tag = "connect",
    params(TargetPath),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "The target approves follows: a request is made", body = FollowRequested),
        (status = 204, description = "The caller follows the target"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 422, description = "The target is the caller, or the caller already follows 5,000 users"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn follow(
    State(state): State<AppState>,
    Owned(path): Owned<TargetPath>,
) -> AppResult<Response> {
    let state_after =
        social::follow(&*state.store, &*state.clock, path.user_id, path.target_id).await?;
    Ok(match state_after {
        FollowState::Following => StatusCode::NO_CONTENT.into_response(),
        FollowState::Requested => (
            StatusCode::ACCEPTED,
            Json(FollowRequested {
                status: "requested",
            }),
        )
            .into_response(),
    })
}

/// Stops following the target, or withdraws a request. Idempotent.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/following/{target_id}",
    tag = "connect",
    params(TargetPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The caller does not follow the target (any more)"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn unfollow(
    State(state): State<AppState>,
    Owned(path): Owned<TargetPath>,
) -> AppResult<StatusCode> {
    social::unfollow(&*state.store, &*state.clock, path.user_id, path.target_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The user's followers, newest first. Part of the `connections` section.
#[utoipa::path(
    get,
    path = "/users/{user_id}/followers",
    tag = "connect",
    params(UserPath, PeopleQuery),
    responses(
        (status = 200, description = "One page of followers; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<Follow>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 304, description = "Not modified since the `If-None-Match` entity tag"),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, or their connections are hidden from the caller"),
    )
)]
async fn list_followers(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> AppResult<Response> {
    connections(
        state,
        caller,
        path,
        query,
        PeopleList::Followers,
        "followers",
    )
    .await
}

/// The users the user follows, newest first. Part of the `connections` section.
#[utoipa::path(
    get,
    path = "/users/{user_id}/following",
    tag = "connect",
    params(UserPath, PeopleQuery),
    responses(
        (status = 200, description = "One page of users followed; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<Follow>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 304, description = "Not modified since the `If-None-Match` entity tag"),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, or their connections are hidden from the caller"),
    )
)]
async fn list_following(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<UserPath>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> AppResult<Response> {
    connections(
        state,
        caller,
        path,
        query,
        PeopleList::Following,
        "following",
    )
    .await
}

async fn connections(
    state: AppState,
    caller: Option<AuthUser>,
    path: UserPath,
    query: PeopleQuery,
    list: PeopleList,
    name: &str,
) -> AppResult<Response> {
    let (limit, page) = query.page()?;
    let (_, access) = open_section::<Connections>(&state, path.user_id, caller.as_ref()).await?;
    let rows = state.store.connections(&access, list, &page).await?;
    let base = format!("/users/{}/{name}", path.user_id);
    Ok(people_page(rows, limit, &base, follow_item))
}

/// The owner's own list (requests, blocks, mutes), for the owner alone.
async fn own_list(
    state: &AppState,
    owner: UserId,
    list: PeopleList,
    page: &PeoplePage,
) -> AppResult<Vec<PersonRow>> {
    state
        .store
        .user(owner)
        .await?
        .ok_or_else(|| AppError::not_found("the token's user"))?;
    Ok(state.store.own_list(owner, list, page).await?)
}

/// Who asked to follow the caller, newest first.
#[utoipa::path(
    get,
    path = "/users/{user_id}/follow-requests",
    tag = "connect",
    params(UserPath, PeopleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of requests; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<FollowRequest>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
    )
)]
async fn list_follow_requests(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> AppResult<Response> {
    let (limit, page) = query.page()?;
    let rows = own_list(&state, path.user_id, PeopleList::Requests, &page).await?;
    let base = format!("/users/{}/follow-requests", path.user_id);
    Ok(people_page(rows, limit, &base, |row| FollowRequest {
        id: row.id,
        username: row.username,
        display_name: row.display_name,
        avatar_url: row.avatar_url,
        requested_at: row.at,
    }))
}

/// Approves a request to follow the caller. Approving a follower changes nothing.
#[utoipa::path(
    put,
    path = "/users/{user_id}/followers/{follower_id}",
    tag = "connect",
    params(FollowerPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The user follows the caller"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or they have not asked to follow the caller"),
        (status = 422, description = "The follower is the caller"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn approve_follower(
    State(state): State<AppState>,
    Owned(path): Owned<FollowerPath>,
) -> AppResult<StatusCode> {
    social::approve(&*state.store, &*state.clock, path.user_id, path.follower_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Declines a request to follow the caller, or removes a follower. Idempotent.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/followers/{follower_id}",
    tag = "connect",
    params(FollowerPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The user neither follows nor asks to follow the caller (any more)"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn remove_follower(
    State(state): State<AppState>,
    Owned(path): Owned<FollowerPath>,
) -> AppResult<StatusCode> {
    social::remove_follower(&*state.store, &*state.clock, path.user_id, path.follower_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Blocks the target: the follows between the two, either way, and any request end, and
/// the target can no longer follow or ask to. The target is never told.
#[utoipa::path(
    put,
    path = "/users/{user_id}/blocks/{target_id}",
    tag = "connect",
    params(TargetPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The target is blocked"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 422, description = "The target is the caller"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn block(
    State(state): State<AppState>,
    Owned(path): Owned<TargetPath>,
) -> AppResult<StatusCode> {
    social::block(&*state.store, &*state.clock, path.user_id, path.target_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a block back. Idempotent; the follows it ended stay ended.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/blocks/{target_id}",
    tag = "connect",
    params(TargetPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The target is not blocked (any more)"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn unblock(
    State(state): State<AppState>,
    Owned(path): Owned<TargetPath>,
) -> AppResult<StatusCode> {
    social::unblock(&*state.store, &*state.clock, path.user_id, path.target_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users the caller blocked, newest first.
#[utoipa::path(
    get,
    path = "/users/{user_id}/blocks",
    tag = "connect",
    params(UserPath, PeopleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of blocked users; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<ListedUser>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
    )
)]
async fn list_blocks(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> AppResult<Response> {
    let (limit, page) = query.page()?;
    let rows = own_list(&state, path.user_id, PeopleList::Blocks, &page).await?;
    let base = format!("/users/{}/blocks", path.user_id);
    Ok(people_page(rows, limit, &base, listed_item))
}

/// Mutes the target: they leave the caller's home feed, and nothing else changes. The
/// target cannot tell.
#[utoipa::path(
    put,
    path = "/users/{user_id}/mutes/{target_id}",
    tag = "connect",
    params(TargetPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The target is muted"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 422, description = "The target is the caller"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn mute(
    State(state): State<AppState>,
    Owned(path): Owned<TargetPath>,
) -> AppResult<StatusCode> {
    social::mute(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.target_id,
        Switch::On,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes a mute back. Idempotent.
#[utoipa::path(
    delete,
    path = "/users/{user_id}/mutes/{target_id}",
    tag = "connect",
    params(TargetPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The target is not muted (any more)"),
        (status = 400, description = "An id is not a positive 64-bit integer"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "No such user, or the account is deactivated"),
        (status = 429, description = "More than 1,000 follow, unfollow, block and mute writes today (UTC); `Retry-After` says when"),
    )
)]
async fn unmute(
    State(state): State<AppState>,
    Owned(path): Owned<TargetPath>,
) -> AppResult<StatusCode> {
    social::mute(
        &*state.store,
        &*state.clock,
        path.user_id,
        path.target_id,
        Switch::Off,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The users the caller muted, newest first.
#[utoipa::path(
    get,
    path = "/users/{user_id}/mutes",
    tag = "connect",
    params(UserPath, PeopleQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of muted users; `Link: <…>; rel=\"next\"` names the next page",
            body = Vec<ListedUser>,
            headers(("Link" = String, description = "The next page, RFC 8288"))),
        (status = 400, description = "A parameter is not valid; `errors` names it"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
    )
)]
async fn list_mutes(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> AppResult<Response> {
    let (limit, page) = query.page()?;
    let rows = own_list(&state, path.user_id, PeopleList::Mutes, &page).await?;
    let base = format!("/users/{}/mutes", path.user_id);
    Ok(people_page(rows, limit, &base, listed_item))
}
