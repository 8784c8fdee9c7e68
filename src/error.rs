//! The one error type of the HTTP layer. Every failure, from a malformed path to a lost
//! database, becomes an RFC 9457 `application/problem+json` response. Internal causes are
//! logged with their whole chain and never sent to the client.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{domain::FieldError, metrics, telemetry};

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem; the README lists them.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation-error")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Present on validation errors: every field that was rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request is not valid")]
    Validation(Vec<FieldError>),
    /// A path or query parameter that cannot be what it names.
    #[error("a parameter is not valid")]
    InvalidParameters(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    /// No credentials, or not a Bearer scheme.
    #[error("authentication is required")]
    Unauthenticated,
    /// Credentials were presented and rejected; the reason is for the logs only.
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    TooManyRequests(String),
    /// A daily quota is spent: 429, with `Retry-After` the seconds until it opens again.
    #[error("{message}")]
    QuotaSpent { message: String, retry_after: u64 },
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    Unavailable(String),
    /// The database is out of reach or refusing work; the cause is for the logs only (its
    /// text can name hosts, users and SQL).
    #[error("{DATABASE_UNAVAILABLE}")]
    DatabaseUnavailable(String),
    /// The database rolled the transaction back because it met others (see
    /// [`is_contention`]); the same work run again may succeed. The cause is for the logs.
    #[error("{DATABASE_CONTENDED}")]
    DatabaseContention(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    pub fn invalid_parameter(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidParameters(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} was not found"))
    }

    /// The error and its causes on one line, for the logs: never a backtrace, and never a
    /// database error's detail (which can quote the values of a row).
    pub fn log_text(&self) -> String {
        match self {
            Self::Internal(err) => format!("{err:#}"),
            other => other.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InvalidParameters(_) | Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests(_) | Self::QuotaSpent { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::Unavailable(_) | Self::DatabaseUnavailable(_) | Self::DatabaseContention(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation-error",
            Self::InvalidParameters(_) => "invalid-parameters",
            Self::BadRequest(_) => "bad-request",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidToken(_) => "invalid-token",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::MethodNotAllowed(_) => "method-not-allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload-too-large",
            Self::UnsupportedMediaType(_) => "unsupported-media-type",
            Self::TooManyRequests(_) | Self::QuotaSpent { .. } => "too-many-requests",
            Self::PreconditionFailed(_) => "precondition-failed",
            Self::Unavailable(_) | Self::DatabaseUnavailable(_) | Self::DatabaseContention(_) => {
                "service-unavailable"
            }
            Self::Internal(_) => "internal-error",
        }
    }

    fn detail(&self) -> String {
        match self {
            Self::Validation(errors) | Self::InvalidParameters(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                _ => format!("{} fields are not valid", errors.len()),
            },
            // The reason a token failed helps an attacker more than a client; it is logged.
            Self::InvalidToken(_) => "the bearer token is not valid".into(),
            Self::Internal(_) => "an unexpected error occurred; it has been logged".into(),
            other => other.to_string(),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            problem_type: format!("/problems/{}", self.slug()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            errors: match self {
                Self::Validation(errors) | Self::InvalidParameters(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl AppError {
    /// One line for a failed request, if it is worth one: an internal error, a service
    /// that is unavailable, a token refused. A cause repeated within a second is counted,
    /// not written (the next line says how many it stood for), so an outage under load
    /// writes a few lines a second, not one per request. Backtraces are for debug level.
    fn log(&self) {
        let (what, cause) = match self {
            Self::Internal(_) => ("request failed", self.log_text()),
            Self::DatabaseUnavailable(cause) => ("database unavailable", cause.clone()),
            Self::DatabaseContention(cause) => ("database contention", cause.clone()),
            Self::Unavailable(reason) => ("service unavailable", reason.clone()),
            Self::InvalidToken(reason) => ("token rejected", reason.clone()),
            _ => return,
        };
        let Some(repeated) = telemetry::admit(what, &cause) else {
            return;
        };
        match self {
            Self::Internal(err) => {
                tracing::error!(error = %cause, repeated, "{what}");
                tracing::debug!(backtrace = %err.backtrace(), "{what}: backtrace");
            }
            Self::DatabaseUnavailable(_) | Self::DatabaseContention(_) => {
                tracing::warn!(error = %cause, repeated, "{what}")
            }
            _ => tracing::info!(reason = %cause, repeated, "{what}"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let mut response = (self.status(), Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match self {
            Self::Unauthenticated => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::InvalidToken(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Bearer error="invalid_token""#),
                );
            }
            Self::Unavailable(_) | Self::DatabaseUnavailable(_) | Self::DatabaseContention(_) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::QuotaSpent { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            _ => {}
        }
        response
    }
}

/// Database failures by kind: an unreachable database, or a transaction rolled back for
/// contention, is a 503 the client may retry (a contention is first retried by the service,
/// see `services::retry`), a violated constraint is the client's conflict or a missing
/// parent row, anything else a bug.
impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        let class = QueryErrorClass::of(&err);
        metrics::db_error(class.as_str(), matches!(err, sqlx::Error::PoolTimedOut));
        match class {
            QueryErrorClass::Unavailable => Self::DatabaseUnavailable(err.to_string()),
            QueryErrorClass::Contention => Self::DatabaseContention(err.to_string()),
            QueryErrorClass::UniqueViolation => {
                Self::Conflict("that resource already exists".into())
            }
            QueryErrorClass::ForeignKeyViolation => {
                Self::NotFound("the resource this request refers to does not exist".into())
            }
            QueryErrorClass::Other => Self::Internal(err.into()),
        }
    }
}

/// What a failed query means: the database out of reach or refusing work (see
/// [`is_transient`]), a transaction that met others (see [`is_contention`]), a row that
/// exists already, a missing parent row, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryErrorClass {
    Unavailable,
    Contention,
    UniqueViolation,
    ForeignKeyViolation,
    Other,
}

impl QueryErrorClass {
    pub fn of(err: &sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        if is_transient(err) {
            return Self::Unavailable;
        }
        if is_contention(err) {
            return Self::Contention;
        }
        match err {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => Self::UniqueViolation,
                ErrorKind::ForeignKeyViolation => Self::ForeignKeyViolation,
                _ => Self::Other,
            },
            _ => Self::Other,
        }
    }

    /// The metrics' label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::Contention => "contention",
            Self::UniqueViolation => "unique_violation",
            Self::ForeignKeyViolation => "foreign_key_violation",
            Self::Other => "other",
        }
    }
}

const DATABASE_UNAVAILABLE: &str = "the database is not available right now; retry shortly";
const DATABASE_CONTENDED: &str = "the database is busy with other work right now; retry shortly";

/// Failures that say the database is out of reach or refusing work right now, not that the
/// request is wrong: the same request may succeed a moment later. This is the one place
/// that decides it, for requests, migrations and the event consumer alike.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<u32>().is_ok_and(is_transient_sqlite_code)
            } else {
                is_transient_sqlstate(&code)
            }
        }
        _ => false,
    }
}

/// SQLite result codes, by their primary code: BUSY, LOCKED, IOERR, CANTOPEN, NOTADB.
fn is_transient_sqlite_code(code: u32) -> bool {
    matches!(code & 0xff, 5 | 6 | 10 | 14 | 26)
}

/// PostgreSQL SQLSTATEs of a server that is up but cannot serve right now: class 08
/// (connection exception), class 53 (insufficient resources, such as 53300 too many
/// connections), 55000 (the database is not accepting connections: `ALLOW_CONNECTIONS
/// false`), 57P01 to 57P03 (shutting down, crashed, starting up).
fn is_transient_sqlstate(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(code, "55000" | "57P01" | "57P02" | "57P03")
}

/// Failures that say the transaction met others and was rolled back whole, not that the
/// database is out of reach nor that the request is wrong: the same transaction run again
/// may succeed (PostgreSQL's; SQLite's one writer meets no other, and its busy database is
/// [`is_transient`]).
pub fn is_contention(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_none() =>
        {
            is_contention_sqlstate(&db.code().unwrap_or_default())
        }
        _ => false,
    }
}

/// 40P01 (deadlock detected), 40001 (serialization failure, under `REPEATABLE READ` or
/// `SERIALIZABLE`) and 55P03 (lock not available: `lock_timeout`, `NOWAIT`).
fn is_contention_sqlstate(code: &str) -> bool {
    matches!(code, "40P01" | "40001" | "55P03")
}

/// Whether an error, anywhere in its chain of causes, is a transient database failure.
pub fn is_transient_chain(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_transient)
    })
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_exceptions_are_transient() {
        for code in ["08000", "08001", "08003", "08004", "08006", "08P01"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn insufficient_resources_are_transient() {
        for code in ["53000", "53100", "53200", "53300", "53400"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_database_not_accepting_connections_is_transient() {
        assert!(is_transient_sqlstate("55000"));
    }

    #[test]
    fn a_server_shutting_down_crashed_or_starting_up_is_transient() {
        for code in ["57P01", "57P02", "57P03"] {
            assert!(is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn the_requests_own_faults_are_not_transient() {
        // Unique and foreign-key violations, a bad value, a missing table, a cancelled
        // statement, a lock timeout.
        for code in [
            "23505", "23503", "22021", "22008", "42P01", "57014", "55P03", "57P04",
        ] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_deadlock_is_contention() {
        assert!(is_contention_sqlstate("40P01"));
    }

    #[test]
    fn a_serialization_failure_is_contention() {
        assert!(is_contention_sqlstate("40001"));
    }

    #[test]
    fn a_lock_not_available_is_contention() {
        assert!(is_contention_sqlstate("55P03"));
    }

    #[test]
    fn contention_is_no_other_fault_and_unavailability_is_no_contention() {
        for code in [
            "23505", "23503", "22021", "42P01", "57014", "40000", "40002", "40003", "08006",
            "53300", "55000", "57P01",
        ] {
            assert!(!is_contention_sqlstate(code), "{code}");
        }
        for code in ["40P01", "40001", "55P03"] {
            assert!(!is_transient_sqlstate(code), "{code}");
        }
    }

    #[test]
    fn a_contention_is_answered_503_with_retry_after_and_its_cause_is_not_sent() {
        let error = AppError::DatabaseContention("deadlock detected on users".into());
        let problem = error.problem();
        assert_eq!(problem.status, 503);
        assert_eq!(problem.problem_type, "/problems/service-unavailable");
        assert!(!problem.detail.contains("users"), "{}", problem.detail);
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(QueryErrorClass::Contention.as_str(), "contention");
    }

    #[test]
    fn sqlite_busy_locked_io_cantopen_and_notadb_are_transient_by_primary_code() {
        for code in [5, 6, 10, 14, 26, 261, 517, 266, 1038] {
            assert!(is_transient_sqlite_code(code), "{code}");
        }
        for code in [1, 19, 2067, 787, 11] {
            assert!(!is_transient_sqlite_code(code), "{code}");
        }
    }

    #[test]
    fn failed_queries_are_classed_for_the_metrics() {
        assert_eq!(
            QueryErrorClass::of(&sqlx::Error::PoolTimedOut),
            QueryErrorClass::Unavailable
        );
        assert_eq!(
            QueryErrorClass::of(&sqlx::Error::RowNotFound),
            QueryErrorClass::Other
        );
    }

    #[test]
    fn connection_failures_and_pool_timeouts_are_transient() {
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(is_transient(&sqlx::Error::PoolClosed));
        assert!(is_transient(&sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
    }
}
