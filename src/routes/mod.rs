//! The HTTP API, one module per resource. Each module's `router()` lists its handlers with
//! their OpenAPI descriptions; [`router`] merges them. Handlers parse and authorise, call
//! the database or a service, and shape the response.

mod activity;
mod badges;
mod checkins;
mod goals;
mod health;
mod stats;
mod users;

use std::collections::BTreeMap;

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::{
    Deserialize,
    de::{DeserializeOwned, IgnoredAny},
};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use chrono::NaiveDate;

use crate::{
    auth::{AuthUser, Caller},
    db::UserRow,
    domain::{
        GoalId, UserId,
        visibility::{Access, SectionKind, Viewer},
    },
    error::{AppError, AppResult, FieldError},
    extract::ApiPath,
    state::AppState,
};

/// The API proper.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(users::router())
        .merge(goals::router())
        .merge(badges::router())
        .merge(checkins::router())
        .merge(activity::router())
        .merge(stats::router())
}

/// Liveness and readiness, for the platform that runs the service.
pub fn probes() -> OpenApiRouter<AppState> {
    health::router()
}

/// `/users/{user_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The user, as numbered by the auth-service.
    pub user_id: UserId,
}

/// `/users/{user_id}/goals/{goal_id}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GoalPath {
    pub user_id: UserId,
    pub goal_id: GoalId,
}

/// `/users/{user_id}/goals/{goal_id}/checkins/{date}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CheckinPath {
    pub user_id: UserId,
    pub goal_id: GoalId,
    /// A day, `YYYY-MM-DD`.
    #[serde(deserialize_with = "day")]
    #[param(value_type = String, format = Date)]
    pub date: NaiveDate,
}

/// A `YYYY-MM-DD` day; the error names the expected shape (and, raised inside the visitor,
/// lets axum say which parameter it was).
pub fn day<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    struct DayVisitor;
    impl serde::de::Visitor<'_> for DayVisitor {
        type Value = NaiveDate;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a date like 2026-03-10")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NaiveDate, E> {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| E::custom("must be a date like 2026-03-10"))
        }
    }
    deserializer.deserialize_str(DayVisitor)
}

/// Like [`day`], for optional members and parameters.
pub fn optional_day<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    #[derive(Deserialize)]
    struct Day(#[serde(deserialize_with = "day")] NaiveDate);
    Ok(Option::<Day>::deserialize(deserializer)?.map(|d| d.0))
}

/// Paths under one user's resources.
pub trait UserScoped {
    fn user_id(&self) -> UserId;
}

impl UserScoped for UserPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

impl UserScoped for GoalPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

impl UserScoped for CheckinPath {
    fn user_id(&self) -> UserId {
        self.user_id
    }
}

/// Whether the caller, if any, owns `user`'s profile.
pub fn viewer_of(caller: Option<&AuthUser>, user: UserId) -> Viewer {
    match caller {
        Some(AuthUser(caller)) if caller.user_id == user => Viewer::Owner,
        _ => Viewer::Other,
    }
}

/// The user whose section `S` is read, and leave to read it: 404 for an unknown or
/// deactivated user, and 404 for a section private to someone else, so nothing in it (not
/// even which goals exist) can be learned.
pub async fn open_section<S: SectionKind>(
    state: &AppState,
    user: UserId,
    caller: Option<&AuthUser>,
) -> AppResult<(UserRow, Access<S>)> {
    let row = state
        .store
        .user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let access = row
        .privacy()
        .grant::<S>(user, viewer_of(caller, user))
        .ok_or_else(|| AppError::NotFound("this section of the profile is not public".into()))?;
    Ok((row, access))
}

/// A path under the caller's own resources: 401 without a valid token, 403 when the path
/// names another user. Checked before the body is read, so another user's request learns
/// nothing from validation.
pub struct Owned<P>(pub P, pub Caller);

impl<P: DeserializeOwned + UserScoped + Send> FromRequestParts<AppState> for Owned<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let AuthUser(caller) = AuthUser::from_request_parts(parts, state).await?;
        let ApiPath(path) = ApiPath::<P>::from_request_parts(parts, state).await?;
        if path.user_id() != caller.user_id {
            return Err(AppError::Forbidden(
                "a token may only change its own user's data".into(),
            ));
        }
        Ok(Self(path, caller))
    }
}

/// One error per member a request type does not have: `read_only_message` for those a
/// client may see but not set, "is not a field of …" for the rest.
fn unknown_fields(
    unknown: &BTreeMap<String, IgnoredAny>,
    read_only: &[&str],
    read_only_message: &str,
    schema: &str,
) -> Vec<FieldError> {
    unknown
        .keys()
        .map(|field| {
            let message = if read_only.contains(&field.as_str()) {
                read_only_message.to_owned()
            } else {
                format!("is not a field of {schema}")
            };
            FieldError::new(field.clone(), message)
        })
        .collect()
}

/// Records a field's validation failure, yielding its value when valid.
fn field<T>(errors: &mut Vec<FieldError>, name: &str, result: Result<T, String>) -> Option<T> {
    result
        .map_err(|message| errors.push(FieldError::new(name, message)))
        .ok()
}
