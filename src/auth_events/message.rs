//! The auth-service's messages, as its signup publishes them:
//!
//! ```json
//! {"event_type": "UserCreated", "user_id": 123, "username": "johndoe",
//!  "email": "john@example.com", "timestamp": 1234567890.123}
//! ```
//!
//! and, in the same style, `UserUpdated` {user_id, username?, email?}, `UserDeactivated`
//! {user_id} and `UserDeleted` {user_id}. `timestamp` is the publisher's event-loop clock,
//! not a wall-clock time, so it is not read. A message that cannot be one of these is
//! refused with the reason, which names fields but never quotes their values.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::{UserId, account::Change, text};

/// Usernames longer than this are refused (the auth-service's own limit is lower).
const USERNAME_MAX: usize = 255;
/// Emails longer than this are refused (RFC 5321's path limit).
const EMAIL_MAX: usize = 254;

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error("`event_type` is missing or not a string")]
    NoEventType,
    #[error("unknown event_type (not UserCreated, UserUpdated, UserDeactivated or UserDeleted)")]
    UnknownEventType,
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("`{0}` is not valid: {1}")]
    Invalid(&'static str, &'static str),
}

/// Reads a message body.
pub fn parse(body: &[u8]) -> Result<Change, Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Refusal::NotJson)?;
    let Value::Object(fields) = value else {
        return Err(Refusal::NotAnObject);
    };
    let event_type = fields
        .get("event_type")
        .and_then(Value::as_str)
        .ok_or(Refusal::NoEventType)?;
    let user = user_id(&fields)?;
    Ok(match event_type {
        "UserCreated" => Change::Created {
            user,
            username: username(&fields)?.ok_or(Refusal::Missing("username"))?,
            email: email(&fields)?.flatten(),
        },
        "UserUpdated" => Change::Updated {
            user,
            username: username(&fields)?,
            email: email(&fields)?,
        },
        "UserDeactivated" => Change::Deactivated { user },
        "UserDeleted" => Change::Deleted { user },
        _ => return Err(Refusal::UnknownEventType),
    })
}

/// The identity of a message, to recognise it when it comes again: its AMQP `message_id`
/// when the publisher set one, else the digest of its body (whose `timestamp` tells two
/// publications apart).
pub fn key(message_id: Option<&str>, body: &[u8]) -> String {
    match message_id.filter(|id| !id.is_empty()) {
        Some(id) => format!("id:{id}"),
        None => {
            let digest = Sha256::digest(body);
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            format!("sha256:{hex}")
        }
    }
}

fn user_id(fields: &Map<String, Value>) -> Result<UserId, Refusal> {
    match fields.get("user_id") {
        None | Some(Value::Null) => Err(Refusal::Missing("user_id")),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| UserId::parse(n).ok())
            .ok_or(Refusal::Invalid("user_id", "not a positive 64-bit integer")),
        Some(_) => Err(Refusal::Invalid("user_id", "not a number")),
    }
}

/// Absent: `None`; present: a one-line, non-blank name.
fn username(fields: &Map<String, Value>) -> Result<Option<String>, Refusal> {
    match fields.get("username") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => text::required(raw, USERNAME_MAX)
            .map(Some)
            .map_err(|_| Refusal::Invalid("username", "blank, too long or not one line")),
        Some(_) => Err(Refusal::Invalid("username", "not a string")),
    }
}

/// Absent: `None`; `null`: `Some(None)`; else the address.
fn email(fields: &Map<String, Value>) -> Result<Option<Option<String>>, Refusal> {
    match fields.get("email") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(raw)) => text::required(raw, EMAIL_MAX)
            .map(|email| Some(Some(email)))
            .map_err(|_| Refusal::Invalid("email", "blank, too long or not one line")),
        Some(_) => Err(Refusal::Invalid("email", "not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64) -> UserId {
        UserId::parse(id).unwrap()
    }

    #[test]
    fn the_auth_services_user_created_message_is_read_as_published() {
        let body = br#"{"event_type": "UserCreated", "user_id": 123, "username": "johndoe",
            "email": "john@example.com", "timestamp": 1234567890.123}"#;
        assert_eq!(
            parse(body),
            Ok(Change::Created {
                user: user(123),
                username: "johndoe".into(),
                email: Some("john@example.com".into()),
            })
        );
    }

    #[test]
    fn updates_tell_absent_from_null() {
        assert_eq!(
            parse(br#"{"event_type": "UserUpdated", "user_id": 5, "email": null}"#),
            Ok(Change::Updated {
                user: user(5),
                username: None,
                email: Some(None),
            })
        );
        assert_eq!(
            parse(br#"{"event_type": "UserUpdated", "user_id": 5, "username": "new"}"#),
            Ok(Change::Updated {
                user: user(5),
                username: Some("new".into()),
                email: None,
            })
        );
    }

    #[test]
    fn deactivation_and_deletion_need_only_the_user() {
        assert_eq!(
            parse(br#"{"event_type": "UserDeactivated", "user_id": 9}"#),
            Ok(Change::Deactivated { user: user(9) })
        );
        assert_eq!(
            parse(br#"{"event_type": "UserDeleted", "user_id": 9, "timestamp": 1.5}"#),
            Ok(Change::Deleted { user: user(9) })
        );
    }

    #[test]
    fn poison_messages_are_refused_with_a_reason_that_quotes_no_value() {
        let cases: &[(&[u8], Refusal)] = &[
            (b"not json", Refusal::NotJson),
            (b"[1, 2]", Refusal::NotAnObject),
            (br#"{"user_id": 1}"#, Refusal::NoEventType),
            (
                br#"{"event_type": "UserExploded", "user_id": 1}"#,
                Refusal::UnknownEventType,
            ),
            (
                br#"{"event_type": "UserCreated", "username": "a"}"#,
                Refusal::Missing("user_id"),
            ),
            (
                br#"{"event_type": "UserCreated", "user_id": 1, "email": "secret@example.com"}"#,
                Refusal::Missing("username"),
            ),
            (
                br#"{"event_type": "UserDeleted", "user_id": "12"}"#,
                Refusal::Invalid("user_id", "not a number"),
            ),
            (
                br#"{"event_type": "UserDeleted", "user_id": 0}"#,
                Refusal::Invalid("user_id", "not a positive 64-bit integer"),
            ),
            (
                br#"{"event_type": "UserCreated", "user_id": 1, "username": "a", "email": 5}"#,
                Refusal::Invalid("email", "not a string"),
            ),
        ];
        for (body, refusal) in cases {
            let got = parse(body);
            assert_eq!(
                got.as_ref(),
                Err(refusal),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(!refusal.to_string().contains("secret@example.com"));
        }
    }

    #[test]
    fn a_message_is_known_by_its_id_or_else_by_its_body() {
        assert_eq!(key(Some("m-1"), b"{}"), "id:m-1");
        let a = key(None, br#"{"timestamp": 1.0}"#);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        assert_eq!(a, key(Some(""), br#"{"timestamp": 1.0}"#));
        assert_ne!(a, key(None, br#"{"timestamp": 2.0}"#));
    }

    proptest::proptest! {
        /// Whatever arrives on the queue, reading it answers; it never panics.
        #[test]
        fn reading_arbitrary_bodies_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..128),
            text in r#"\{("event_type":"User(Created|Updated|Deactivated|Deleted|X)")?(,"user_id":-?[0-9]{1,20})?(,"username":".{0,8}")?(,"email":(null|".{0,8}"|1))?\}"#,
        ) {
            let _ = parse(&bytes);
            let _ = parse(text.as_bytes());
        }
    }
}
