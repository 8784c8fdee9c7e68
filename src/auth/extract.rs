//! `AuthUser`: the caller named by the request's bearer token. Taking it as an argument
//! makes a handler require authentication; `Option<AuthUser>` makes it optional, but a token
//! that is present and invalid is still refused.

use std::sync::Arc;

use axum::{
    extract::{FromRef, FromRequestParts, OptionalFromRequestParts},
    http::{HeaderMap, header, request::Parts},
};

use super::{AuthError, Authenticator, Caller};
use crate::{error::AppError, metrics};

#[derive(Debug, Clone)]
pub struct AuthUser(pub Caller);

/// Any application state that holds the verifier will do.
impl<S> FromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        authenticate(parts, &Arc::from_ref(state)).await
    }
}

impl<S> OptionalFromRequestParts<S> for AuthUser
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, AppError> {
        if !parts.headers.contains_key(header::AUTHORIZATION) {
            return Ok(None);
        }
        authenticate(parts, &Arc::from_ref(state)).await.map(Some)
    }
}

/// Verifies once per request: a caller verified earlier (by the rate limiter, say) is reused.
async fn authenticate(parts: &mut Parts, auth: &Authenticator) -> Result<AuthUser, AppError> {
    if let Some(user) = parts.extensions.get::<AuthUser>() {
        return Ok(user.clone());
    }
    let token = bearer_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
    let caller = auth.verify(token).await.map_err(|err| match err {
        AuthError::Token(err) => {
            metrics::token_rejected(err.reason());
            AppError::InvalidToken(err.to_string())
        }
        AuthError::Denylist(_) => AppError::Unavailable(
            "revoked tokens cannot be checked right now; retry shortly".into(),
        ),
    })?;
    let user = AuthUser(caller);
    parts.extensions.insert(user.clone());
    Ok(user)
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
