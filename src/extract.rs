//! Extractors whose rejections are problems like every other error: a body that is not
//! JSON, a path id that is not an id, a query that does not parse. Each names the field it
//! could not accept.

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Request, rejection::PathRejection},
    http::{HeaderMap, StatusCode, header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::{domain::FieldError, error::AppError};

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// JSON nested deeper than this is refused with 400 before it is parsed.
pub const MAX_JSON_DEPTH: usize = 32;

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let RawJson(bytes) = RawJson::from_request(req, state).await?;
        parse_json(&bytes).map(Self)
    }
}

/// The bytes of a body sent as JSON (within the size limit), not parsed yet: for handlers
/// that also need the request itself, such as its fingerprint for idempotency.
pub struct RawJson(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawJson {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers()) {
            return Err(AppError::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                }
            } else {
                AppError::BadRequest(rejection.body_text())
            }
        })?;
        Ok(Self(bytes))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a body: 400 when it is not JSON (or too deep), 422 naming the member when it is
/// JSON of the wrong shape, names a member twice, or holds a number no type can hold.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if exceeds_depth(bytes, MAX_JSON_DEPTH) {
        return Err(AppError::BadRequest(format!(
            "the JSON body is nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    // RFC 8259 leaves a repeated member's meaning open; serde would keep one silently.
    parse_with_path::<UniqueMembers>(bytes)?;
    parse_with_path(bytes)
}

fn parse_with_path<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let field = match path.as_str() {
            "." => "body".to_owned(),
            _ => path.clone(),
        };
        let inner = err.into_inner();
        let message = without_position(&inner);
        if let Some(member) = message.strip_prefix(DUPLICATE_MEMBER) {
            let field = if path == "." {
                member.to_owned()
            } else {
                format!("{path}.{member}")
            };
            return AppError::Validation(vec![FieldError::new(field, "appears more than once")]);
        }
        match inner.classify() {
            serde_json::error::Category::Data => {
                AppError::Validation(vec![FieldError::new(field, message)])
            }
            // Valid JSON, but a number beyond any type's range (1e400): the member's fault.
            serde_json::error::Category::Syntax if message == "number out of range" => {
                AppError::Validation(vec![FieldError::new(field, "is a number out of range")])
            }
            _ => AppError::BadRequest(format!("the body is not valid JSON: {inner}")),
        }
    })?;
    deserializer
        .end()
        .map_err(|err| AppError::BadRequest(format!("the body is not valid JSON: {err}")))?;
    Ok(value)
}

/// How [`UniqueMembers`] reports a repeated member, followed by its name.
const DUPLICATE_MEMBER: &str = "duplicate member: ";

/// Any JSON value, refused when one of its objects names a member twice.
struct UniqueMembers;

impl<'de> serde::Deserialize<'de> for UniqueMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueMembersVisitor)
    }
}

struct UniqueMembersVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueMembersVisitor {
    type Value = UniqueMembers;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_unit<E>(self) -> Result<UniqueMembers, E> {
        Ok(UniqueMembers)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<UniqueMembers, A::Error> {
        while seq.next_element::<UniqueMembers>()?.is_some() {}
        Ok(UniqueMembers)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<UniqueMembers, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(member) = map.next_key::<String>()? {
            if seen.contains(&member) {
                return Err(serde::de::Error::custom(format!(
                    "{DUPLICATE_MEMBER}{member}"
                )));
            }
            map.next_value::<UniqueMembers>()?;
            seen.insert(member);
        }
        Ok(UniqueMembers)
    }
}

/// serde_json appends " at line L column C"; in a field error the field says where.
fn without_position(err: &serde_json::Error) -> String {
    let message = err.to_string();
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    }
}

/// Whether arrays and objects nest deeper than `max`, found in one pass over the bytes
/// without building anything.
fn exceeds_depth(bytes: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Path parameters; a segment that does not parse is a 400 naming the parameter.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(err)) => {
                use axum::extract::path::ErrorKind;
                Err(match err.into_kind() {
                    ErrorKind::DeserializeError { key, message, .. } => {
                        AppError::invalid_parameter(key, message)
                    }
                    ErrorKind::ParseErrorAtKey {
                        key, expected_type, ..
                    } => {
                        AppError::invalid_parameter(key, format!("must be a valid {expected_type}"))
                    }
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        AppError::invalid_parameter(key, "must be valid UTF-8")
                    }
                    other => AppError::BadRequest(other.to_string()),
                })
            }
            Err(other) => Err(AppError::Internal(anyhow::anyhow!(
                "path extraction: {other}"
            ))),
        }
    }
}

/// Query parameters; one that does not parse is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer =
            serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Self)
            .map_err(|err| {
                let field = err.path().to_string();
                let message = err.into_inner().to_string();
                if field == "." {
                    AppError::BadRequest(format!("the query string is not valid: {message}"))
                } else {
                    AppError::invalid_parameter(field, message)
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        let deep = format!("{}{}", "[".repeat(33), "]".repeat(33));
        assert!(exceeds_depth(deep.as_bytes(), 32));
        let ok = format!("{}{}", "[".repeat(32), "]".repeat(32));
        assert!(!exceeds_depth(ok.as_bytes(), 32));
        let in_string = format!(r#"{{"a": "{}\"{}"}}"#, "[".repeat(40), "{".repeat(40));
        assert!(!exceeds_depth(in_string.as_bytes(), 32));
    }

    #[derive(Debug, Deserialize)]
    struct Body {
        title: String,
    }

    #[test]
    fn wrong_types_name_the_member_and_broken_json_is_a_bad_request() {
        assert_eq!(parse_json::<Body>(br#"{"title": "x"}"#).unwrap().title, "x");
        match parse_json::<Body>(br#"{"title": 5}"#) {
            Err(AppError::Validation(errors)) => {
                assert_eq!(errors[0].field, "title");
                assert!(!errors[0].message.contains("line"), "{}", errors[0].message);
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        assert!(matches!(
            parse_json::<Body>(b"{\"title\": "),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"title": "x"} {}"#),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"[1]"),
            Err(AppError::Validation(_))
        ));
    }

    #[test]
    fn a_member_named_twice_is_refused_naming_it_at_any_depth() {
        let field = |body: &[u8]| match parse_json::<serde_json::Value>(body) {
            Err(AppError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(br#"{"title": "a", "title": "b"}"#), "title");
        assert_eq!(
            field(br#"{"visibility": {"goals": "public", "goals": "private"}}"#),
            "visibility.goals"
        );
        assert_eq!(field(br#"{"skills": [{"a": 1, "a": 2}]}"#), "skills[0].a");
        assert!(parse_json::<serde_json::Value>(br#"{"a": {"b": 1}, "c": {"b": 2}}"#).is_ok());
    }

    #[test]
    fn a_number_out_of_any_range_is_the_members_fault() {
        match parse_json::<serde_json::Value>(br#"{"note": "x", "minutes": 1e400}"#) {
            Err(AppError::Validation(errors)) => assert_eq!(errors[0].field, "minutes"),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn json_content_types_include_charset_and_suffixes() {
        let headers = |value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, value.parse().unwrap());
            h
        };
        assert!(is_json(&headers("application/json")));
        assert!(is_json(&headers("Application/JSON; charset=utf-8")));
        assert!(is_json(&headers("application/merge-patch+json")));
        assert!(!is_json(&headers("text/plain")));
        assert!(!is_json(&HeaderMap::new()));
    }
}
