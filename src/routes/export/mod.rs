//! The user's data as one ZIP archive (`GET /users/{user_id}/export`, and the `users export`
//! command): every file read in one snapshot (`db::export`), streamed as it is written, at
//! most once an hour per user (`services::export`); and the files' JSON Schemas, served
//! beside the OpenAPI document.

mod archive;
mod schemas;

use std::{collections::BTreeMap, io, sync::Arc};

use axum::{
    Router,
    body::Body,
    extract::{Path, State},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::{StreamExt, stream};
use serde_json::Value;
use tokio_util::io::ReaderStream;
use tracing::Instrument as _;
use utoipa::{
    PartialSchema, ToSchema,
    openapi::{OpenApi, RefOr, schema::Schema},
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub use archive::{Archive, FILES, SCHEMAS_PATH};

use super::{Owned, UserPath};
use crate::{
    error::{AppError, AppResult},
    services::export::{self, Start},
    state::AppState,
};

/// How much of the archive may wait, written but not yet sent: the writer pauses (and with
/// it the reads) while the client is slower.
const IN_FLIGHT_BYTES: usize = 64 * 1024;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_archive))
}

/// `/export-schemas/{name}`: the archive's JSON Schemas, made from the finished OpenAPI
/// document `doc`.
pub fn schema_router<S: Clone + Send + Sync + 'static>(doc: &OpenApi) -> Router<S> {
    let documents: Arc<BTreeMap<String, Value>> = Arc::new(schemas::documents(doc));
    Router::new().route(
        &format!("{SCHEMAS_PATH}{{name}}"),
        get(move |Path(name): Path<String>| {
            let documents = documents.clone();
            async move {
                match documents.get(&name) {
                    Some(schema) => Ok(axum::Json(schema.clone())),
                    None => Err(AppError::NotFound(format!(
                        "no schema {name}: the archive's JSON files are {}",
                        documents.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }),
    )
}

/// The archive's bytes, as the OpenAPI document describes them.
pub struct ZipArchive;

impl PartialSchema for ZipArchive {
    fn schema() -> RefOr<Schema> {
        RefOr::T(
            serde_json::from_value(serde_json::json!({
                "type": "string",
                "contentMediaType": "application/zip",
                "description": "A ZIP archive; README.txt inside describes every file",
            }))
            .expect("a JSON Schema utoipa reads"),
        )
    }
}

impl ToSchema for ZipArchive {}

/// Everything the service holds about the caller, as a ZIP archive: `README.txt`
/// describes each file. Read in one snapshot and streamed as it is written; at most one
/// export an hour.
#[utoipa::path(
    get,
    path = "/users/{user_id}/export",
    tag = "profiles",
    params(UserPath),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The archive: README.txt, profile.json, goals.json, checkins.json, badges.json, activity.json, followers.json, following.json, follow-requests.json, blocks.json, mutes.json, kudos-received.json, kudos-given.json, partnerships.json and credentials/<code>.json; each JSON file's schema is at /export-schemas/<name>",
            content_type = "application/zip", body = inline(ZipArchive),
            headers(
                ("Content-Disposition" = String, description = "`attachment; filename=\"user-service-export-<username or id>-<YYYY-MM-DD>.zip\"`"),
                ("Cache-Control" = String, description = "`private, no-store`"),
            )),
        (status = 400, description = "The user id is not valid"),
        (status = 401, description = "No valid bearer token"),
        (status = 403, description = "The token belongs to another user"),
        (status = 404, description = "The token's user has no profile here"),
        (status = 429, description = "An export was started less than an hour ago",
            headers(("Retry-After" = u64, description = "Seconds until the next export may start"))),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %path.user_id))]
async fn export_archive(
    State(state): State<AppState>,
    Owned(path): Owned<UserPath>,
) -> AppResult<Response> {
    let user = path.user_id;
    if let Start::TooSoon { retry_after_secs } =
        export::start(&*state.store, &*state.clock, user).await?
    {
        let mut response = AppError::TooManyRequests(format!(
            "one export an hour; the next may start in {retry_after_secs} s"
        ))
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        return Ok(response);
    }
    let archive = Archive::open(&*state.store, user, state.clock.now())
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let disposition = format!("attachment; filename=\"{}\"", archive.file_name());

    let (writer, reader) = tokio::io::duplex(IN_FLIGHT_BYTES);
    let issuer = state.credentials.clone();
    let written = tokio::spawn(
        async move { archive.write(&issuer, writer).await.map(drop) }.in_current_span(),
    );
    // The archive's bytes as they are written; a failure then ends the body with an error,
    // so the client sees a broken transfer, never a short archive that looks whole.
    let ending = stream::once(async move {
        let failure = match written.await {
            Ok(Ok(())) => return None,
            Ok(Err(cause)) => cause,
            Err(join) => anyhow::Error::new(join),
        };
        tracing::warn!(error = %format_args!("{failure:#}"), "an export stopped before its end");
        Some(Err(io::Error::other("the export could not be completed")))
    })
    .filter_map(std::future::ready);
    let body = Body::from_stream(ReaderStream::new(reader).chain(ending));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/zip"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).map_err(|e| AppError::Internal(e.into()))?,
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            ),
        ],
        body,
    )
        .into_response())
}
