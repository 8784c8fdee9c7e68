//! Probes for the platform that runs the service.

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    error::{AppError, AppResult, is_transient},
    state::AppState,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up and answering.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is up", body = Health))
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: migrated, not shutting down, the database answers, its deny-list table exists.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Starting (or waiting for the auth-service's users table), shutting down, the database does not answer, or the deny-list table of `JWT_DENYLIST_TABLE` is missing"),
    )
)]
async fn readyz(State(state): State<AppState>) -> AppResult<Json<Health>> {
    if state.readiness.is_draining() {
        return Err(AppError::Unavailable("shutting down".into()));
    }
    if state.readiness.is_waiting_for_users() {
        return Err(AppError::Unavailable(
            "waiting for the auth-service's users table".into(),
        ));
    }
    if !state.readiness.is_migrated() {
        return Err(AppError::Unavailable(
            "starting: the database is not ready yet".into(),
        ));
    }
    state
        .store
        .ping()
        .await
        .map_err(|err| AppError::DatabaseUnavailable(err.to_string()))?;
    if let Some(table) = state.auth.denylist_table() {
        state.store.probe_denylist(table).await.map_err(|err| {
            if is_transient(&err) {
                AppError::DatabaseUnavailable(err.to_string())
            } else {
                AppError::Unavailable(format!(
                    "the deny-list table `{}` (JWT_DENYLIST_TABLE) is missing or lacks `jti` \
                     or `expires_at`",
                    table.name()
                ))
            }
        })?;
    }
    Ok(Json(Health { status: "ready" }))
}
