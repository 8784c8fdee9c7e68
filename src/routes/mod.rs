//! The HTTP API, one module per resource. Each module's `router()` lists its handlers with
//! their OpenAPI descriptions; [`router`] merges them. Handlers parse and authorise, call
//! the database or a service, and shape the response.

mod badges;
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

use crate::{
    auth::{AuthUser, Caller},
    domain::{GoalId, UserId},
    error::{AppError, FieldError},
    extract::ApiPath,
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(health::router())
        .merge(users::router())
        .merge(goals::router())
        .merge(badges::router())
        .merge(stats::router())
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
