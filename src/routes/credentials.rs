//! Badges as verifiable credentials (`crate::credentials`): a held badge as a signed Open
//! Badges 3.0 credential, under the badges section's visibility, and the signed revocation
//! status lists, public like any status list (a list names no one).

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, PartialSchema, ToSchema, openapi::RefOr, openapi::schema::Schema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{badges::BadgePath, open_section};
use crate::{
    auth::AuthUser,
    credentials::{indexes_of, lists_in_use},
    domain::{badges::BadgeCode, visibility::Badges},
    error::{AppError, AppResult},
    extract::ApiPath,
    middleware::with_version,
    state::AppState,
};

/// A status list changes with every revocation: caches ask again each time, and the entity
/// tag makes that a 304 until a bit flips.
const STATUS_LIST_CACHE: &str = "public, no-cache";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(badge_credential))
        .routes(routes!(status_list))
}

/// `/users/credentials/status/{list}`
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct StatusListPath {
    /// The list's number, from 1 (a credential names its list in `statusListCredential`).
    #[param(value_type = i64, minimum = 1)]
    pub list: String,
}

/// A signed Open Badges 3.0 `OpenBadgeCredential` (W3C Verifiable Credentials 2.0).
pub struct OpenBadgeCredential;

impl PartialSchema for OpenBadgeCredential {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "description": "An Open Badges 3.0 OpenBadgeCredential with a Data Integrity proof (eddsa-rdfc-2022). The issuer is the platform, identified by a did:key; the recipient is the user's profile URL.",
            "required": ["@context", "id", "type", "name", "issuer", "validFrom", "credentialSubject", "credentialStatus", "proof"],
            "properties": {
                "@context": {"type": "array", "items": {"type": "string"}, "example": [crate::credentials::VC_V2_CONTEXT, crate::credentials::OB_V3_CONTEXT]},
                "id": {"type": "string", "description": "urn:uuid: of this award's credential"},
                "type": {"type": "array", "items": {"type": "string"}, "example": ["VerifiableCredential", "OpenBadgeCredential"]},
                "name": {"type": "string"},
                "issuer": {
                    "type": "object",
                    "required": ["id", "type", "name", "url"],
                    "properties": {
                        "id": {"type": "string", "description": "The issuer's did:key"},
                        "type": {"type": "array", "items": {"type": "string"}},
                        "name": {"type": "string"},
                        "url": {"type": "string"},
                    },
                },
                "validFrom": {"type": "string", "format": "date-time", "description": "When the badge was awarded"},
                "credentialSubject": {
                    "type": "object",
                    "required": ["id", "type", "achievement"],
                    "properties": {
                        "id": {"type": "string", "description": "The user's profile URL"},
                        "type": {"type": "array", "items": {"type": "string"}},
                        "achievement": {
                            "type": "object",
                            "required": ["id", "type", "name", "description", "criteria"],
                            "properties": {
                                "id": {"type": "string"},
                                "type": {"type": "array", "items": {"type": "string"}},
                                "name": {"type": "string"},
                                "description": {"type": "string"},
                                "criteria": {
                                    "type": "object",
                                    "required": ["narrative"],
                                    "properties": {"narrative": {"type": "string"}},
                                },
                                "image": {
                                    "type": "object",
                                    "required": ["id", "type"],
                                    "properties": {"id": {"type": "string"}, "type": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
                "credentialStatus": {
                    "type": "object",
                    "required": ["id", "type", "statusPurpose", "statusListIndex", "statusListCredential"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"type": "string", "example": "BitstringStatusListEntry"},
                        "statusPurpose": {"type": "string", "example": "revocation"},
                        "statusListIndex": {"type": "string"},
                        "statusListCredential": {"type": "string"},
                    },
                },
                "proof": proof_schema(),
            },
        }))
    }
}

impl ToSchema for OpenBadgeCredential {}

/// A signed `BitstringStatusListCredential` of revocations.
pub struct BitstringStatusListCredential;

impl PartialSchema for BitstringStatusListCredential {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "description": "A W3C Bitstring Status List of revocations, with a Data Integrity proof (eddsa-rdfc-2022) by the same issuer as the credentials.",
            "required": ["@context", "id", "type", "issuer", "credentialSubject", "proof"],
            "properties": {
                "@context": {"type": "array", "items": {"type": "string"}},
                "id": {"type": "string"},
                "type": {"type": "array", "items": {"type": "string"}, "example": ["VerifiableCredential", "BitstringStatusListCredential"]},
                "issuer": {"type": "string", "description": "The issuer's did:key"},
                "credentialSubject": {
                    "type": "object",
                    "required": ["id", "type", "statusPurpose", "encodedList"],
                    "properties": {
                        "id": {"type": "string"},
                        "type": {"type": "string", "example": "BitstringStatusList"},
                        "statusPurpose": {"type": "string", "example": "revocation"},
                        "encodedList": {"type": "string", "description": "The 131,072 bits, GZIP-compressed, multibase base64url"},
                    },
                },
                "proof": proof_schema(),
            },
        }))
    }
}

impl ToSchema for BitstringStatusListCredential {}

fn proof_schema() -> Value {
    json!({
        "type": "object",
        "required": ["type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"],
        "properties": {
            "type": {"type": "string", "example": "DataIntegrityProof"},
            "cryptosuite": {"type": "string", "example": "eddsa-rdfc-2022"},
            "verificationMethod": {"type": "string"},
            "proofPurpose": {"type": "string", "example": "assertionMethod"},
            "proofValue": {"type": "string"},
        },
    })
}

fn schema(value: Value) -> RefOr<Schema> {
    RefOr::T(serde_json::from_value(value).expect("a JSON Schema utoipa reads"))
}

/// A held badge as a signed Open Badges 3.0 credential.
#[utoipa::path(
    get,
    path = "/users/{user_id}/badges/{code}/credential",
    tag = "badges",
    params(BadgePath),
    responses(
        (status = 200, description = "The badge's credential, signed; verifiable offline", body = OpenBadgeCredential),
        (status = 400, description = "The user id or the code is not valid"),
        (status = 401, description = "A bearer token was sent and is not valid"),
        (status = 404, description = "No such user, their badges are private, or they do not hold the badge"),
    )
)]
async fn badge_credential(
    State(state): State<AppState>,
    caller: Option<AuthUser>,
    ApiPath(path): ApiPath<BadgePath>,
) -> AppResult<Json<Value>> {
    let code = BadgeCode::parse(&path.code)
        .map_err(|message| AppError::invalid_parameter("code", message))?;
    let (_, access) = open_section::<Badges>(&state, path.user_id, caller.as_ref()).await?;
    let award = state
        .store
        .credential_award(&access, code.as_str())
        .await?
        .ok_or_else(|| AppError::NotFound("the user does not hold that badge".into()))?;
    let credential = state
        .credentials
        .badge_credential(&award)
        .await
        .map_err(AppError::Internal)?;
    Ok(Json(credential))
}

/// A revocation status list of badge credentials, signed.
#[utoipa::path(
    get,
    path = "/users/credentials/status/{list}",
    tag = "badges",
    params(StatusListPath),
    responses(
        (status = 200, description = "The list, signed by the credentials' issuer", body = BitstringStatusListCredential,
            headers(
                ("ETag" = String, description = "Changes when a bit of the list flips"),
                ("Cache-Control" = String, description = "`public, no-cache`"),
            )),
        (status = 400, description = "The list number is not a positive integer"),
        (status = 404, description = "No credential is on this list yet"),
    )
)]
async fn status_list(
    State(state): State<AppState>,
    ApiPath(path): ApiPath<StatusListPath>,
) -> AppResult<Response> {
    let list = parse_list(&path.list)?;
    let (first, end) = indexes_of(list).ok_or_else(|| AppError::not_found("the status list"))?;
    let rows = state.store.status_list(first, end).await?;
    if list > lists_in_use(rows.last_index) {
        return Err(AppError::not_found("the status list"));
    }
    let (signed, version) = state
        .credentials
        .status_list_credential(list, &rows.revoked)
        .await
        .map_err(AppError::Internal)?;
    let mut response = with_version(Json(&*signed), &version);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(STATUS_LIST_CACHE),
    );
    Ok(response.into_response())
}

/// A list number: plain decimal digits, from 1.
fn parse_list(raw: &str) -> AppResult<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1 && raw.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| AppError::invalid_parameter("list", "must be a positive integer"))
}
