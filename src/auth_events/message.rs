//! The auth-service's messages, as its signup publishes them:
//!
//! ```json
//! {"event_type": "UserCreated", "user_id": 123, "username": "johndoe",
//!  "email": "john@example.com", "timestamp": 1234567890.123}
//! ```
//!
//! and, in the same style, this service's proposal for the rest of an account's life:
//! `UserUpdated` {user_id, username?, email?}, `UserDeactivated` {user_id}, `UserDeleted`
//! {user_id}, `TokenRevoked` {jti, expires_at} and `UserTokensRevoked` {user_id, before}.
//! Times are RFC 3339 or seconds since the epoch. `timestamp` is the publisher's event-loop
//! clock, not a wall-clock time, so it is not read. Usernames and emails are taken as sent:
//! the auth-service accepted them, and an account it created is never dropped here. A
//! message that cannot be one of these is refused with the reason, which names fields but
//! never quotes their values.

use chrono::{DateTime, Datelike, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::{
    UserId,
    account::{Change, stored_as_sent},
    revocation::{epoch_seconds, plausible_jti},
};

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error("`event_type` is missing or not a string")]
    NoEventType,
    #[error(
        "unknown event_type (not UserCreated, UserUpdated, UserDeactivated, UserDeleted, \
         TokenRevoked or UserTokensRevoked)"
    )]
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
    if event_type == "TokenRevoked" {
        return Ok(Change::TokenRevoked {
            jti: jti(&fields)?,
            expires_at: instant(&fields, "expires_at")?,
        });
    }
    let user = user_id(&fields)?;
    Ok(match event_type {
        "UserCreated" => Change::Created {
            user,
            username: text(&fields, "username")?.ok_or(Refusal::Missing("username"))?,
            email: email(&fields)?.flatten(),
        },
        "UserUpdated" => Change::Updated {
            user,
            username: text(&fields, "username")?,
            email: email(&fields)?,
        },
        "UserDeactivated" => Change::Deactivated { user },
        "UserDeleted" => Change::Deleted { user },
        "UserTokensRevoked" => Change::TokensRevoked {
            user,
            before: instant(&fields, "before")?,
        },
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

/// Absent or null: `None`; else the text as stored (see [`stored_as_sent`]).
fn text(fields: &Map<String, Value>, name: &'static str) -> Result<Option<String>, Refusal> {
    match fields.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => Ok(Some(stored_as_sent(raw))),
        Some(_) => Err(Refusal::Invalid(name, "not a string")),
    }
}

/// Absent: `None`; `null`: `Some(None)`; else the address as stored.
fn email(fields: &Map<String, Value>) -> Result<Option<Option<String>>, Refusal> {
    match fields.get("email") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(_) => text(fields, "email").map(Some),
    }
}

/// A revoked token's id, as the token carries it.
fn jti(fields: &Map<String, Value>) -> Result<String, Refusal> {
    match fields.get("jti") {
        None | Some(Value::Null) => Err(Refusal::Missing("jti")),
        Some(Value::String(jti)) if plausible_jti(jti) => Ok(jti.clone()),
        Some(Value::String(_)) => Err(Refusal::Invalid(
            "jti",
            "not 1 to 255 bytes without control characters",
        )),
        Some(_) => Err(Refusal::Invalid("jti", "not a string")),
    }
}

/// A moment: RFC 3339 text, or seconds since the epoch (a fraction allowed), within the
/// years 1 to 9999 that both databases store.
fn instant(fields: &Map<String, Value>, name: &'static str) -> Result<DateTime<Utc>, Refusal> {
    const NOT_A_TIME: &str = "not RFC 3339 or seconds since the epoch";
    let at = match fields.get(name) {
        None | Some(Value::Null) => return Err(Refusal::Missing(name)),
        Some(Value::String(text)) => DateTime::parse_from_rfc3339(text)
            .map(|at| at.to_utc())
            .map_err(|_| Refusal::Invalid(name, NOT_A_TIME))?,
        Some(Value::Number(seconds)) => seconds
            .as_f64()
            .and_then(epoch_seconds)
            .ok_or(Refusal::Invalid(name, NOT_A_TIME))?,
        Some(_) => return Err(Refusal::Invalid(name, NOT_A_TIME)),
    };
    if !(1..=9999).contains(&at.year()) {
        return Err(Refusal::Invalid(name, "outside the years 1 to 9999"));
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
    fn usernames_and_emails_are_taken_as_sent_and_only_a_nul_is_replaced() {
        let long = "x".repeat(300);
        for username in [
            "",
            "   ",
            " spaced",
            "a\nb",
            long.as_str(),
            "\u{FFFE}\u{FFFF}",
        ] {
            let body = json!({"event_type": "UserCreated", "user_id": 3, "username": username,
                              "email": " A@B "});
            assert_eq!(
                parse(body.to_string().as_bytes()),
                Ok(Change::Created {
                    user: user(3),
                    username: username.into(),
                    email: Some(" A@B ".into()),
                }),
                "{username:?}"
            );
        }
        let body = json!({"event_type": "UserUpdated", "user_id": 3, "username": "a\u{0}b"});
        assert_eq!(
            parse(body.to_string().as_bytes()),
            Ok(Change::Updated {
                user: user(3),
                username: Some("a\u{FFFD}b".into()),
                email: None,
            })
        );
    }

    #[test]
    fn revocations_are_read_with_times_in_rfc_3339_or_seconds_since_the_epoch() {
        let at = |secs, nanos| DateTime::from_timestamp(secs, nanos).unwrap();
        assert_eq!(
            parse(
                br#"{"event_type": "TokenRevoked", "jti": "j-1", "expires_at": "2026-12-07T10:00:00+01:00", "timestamp": 1.0}"#
            ),
            Ok(Change::TokenRevoked {
                jti: "j-1".into(),
                expires_at: at(1_796_634_000, 0),
            })
        );
        assert_eq!(
            parse(br#"{"event_type": "TokenRevoked", "jti": "j-1", "expires_at": 1796634000.25}"#),
            Ok(Change::TokenRevoked {
                jti: "j-1".into(),
                expires_at: at(1_796_634_000, 250_000_000),
            })
        );
        assert_eq!(
            parse(br#"{"event_type": "UserTokensRevoked", "user_id": 4, "before": 1796634000}"#),
            Ok(Change::TokensRevoked {
                user: user(4),
                before: at(1_796_634_000, 0),
            })
        );
        assert_eq!(
            parse(
                br#"{"event_type": "UserTokensRevoked", "user_id": 4, "before": "2026-12-07T09:00:00Z"}"#
            ),
            Ok(Change::TokensRevoked {
                user: user(4),
                before: at(1_796_634_000, 0),
            })
        );
    }

    #[test]
    fn revocations_without_a_usable_token_id_or_time_are_refused() {
        let cases: &[(&[u8], Refusal)] = &[
            (
                br#"{"event_type": "TokenRevoked", "expires_at": 1}"#,
                Refusal::Missing("jti"),
            ),
            (
                br#"{"event_type": "TokenRevoked", "jti": "a\u0000b", "expires_at": 1}"#,
                Refusal::Invalid("jti", "not 1 to 255 bytes without control characters"),
            ),
            (
                br#"{"event_type": "TokenRevoked", "jti": 5, "expires_at": 1}"#,
                Refusal::Invalid("jti", "not a string"),
            ),
            (
                br#"{"event_type": "TokenRevoked", "jti": "j"}"#,
                Refusal::Missing("expires_at"),
            ),
            (
                br#"{"event_type": "TokenRevoked", "jti": "j", "expires_at": "2026-12-07 10:00:00"}"#,
                Refusal::Invalid("expires_at", "not RFC 3339 or seconds since the epoch"),
            ),
            (
                br#"{"event_type": "TokenRevoked", "jti": "j", "expires_at": 1e300}"#,
                Refusal::Invalid("expires_at", "not RFC 3339 or seconds since the epoch"),
            ),
            (
                br#"{"event_type": "TokenRevoked", "jti": "j", "expires_at": 300000000000}"#,
                Refusal::Invalid("expires_at", "outside the years 1 to 9999"),
            ),
            (
                br#"{"event_type": "UserTokensRevoked", "before": 1}"#,
                Refusal::Missing("user_id"),
            ),
            (
                br#"{"event_type": "UserTokensRevoked", "user_id": 4, "before": true}"#,
                Refusal::Invalid("before", "not RFC 3339 or seconds since the epoch"),
            ),
        ];
        for (body, refusal) in cases {
            assert_eq!(
                parse(body).as_ref(),
                Err(refusal),
                "{}",
                String::from_utf8_lossy(body)
            );
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
            text in r#"\{("event_type":"(User(Created|Updated|Deactivated|Deleted|TokensRevoked|X)|TokenRevoked)")?(,"user_id":-?[0-9]{1,20})?(,"username":".{0,8}")?(,"email":(null|".{0,8}"|1))?(,"jti":".{0,8}")?(,"(expires_at|before)":(-?[0-9]{1,20}(\.[0-9]{1,3})?|"[-0-9T:.Z+]{0,30}"))?\}"#,
        ) {
            let _ = parse(&bytes);
            let _ = parse(text.as_bytes());
        }
    }
}
