//! `Idempotency-Key` on goal creation (draft-ietf-httpapi-idempotency-key-header), in one
//! place: the key, the fingerprint of the request it came with, what is kept to answer a
//! retry, how long, and the purge.
//!
//! The first request with a key claims it with a unique insert in the transaction of its
//! write and keeps the goal it created, as created, in that same transaction: a retry with
//! the same key and body, on any replica, gets the same goal back instead of a second one,
//! and two retries racing still create one goal.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{
    clock::Clock,
    db::{Store, Tx},
    domain::{FieldError, GoalId, UserId, goal::CreatedGoal},
    error::{AppError, AppResult},
};

/// How long a key is remembered.
pub const TTL: TimeDelta = TimeDelta::hours(24);

/// The keys [`IdempotencyKey::parse`] accepts, as the OpenAPI document states them.
pub const KEY_PATTERN: &str = r"^[\x21-\x7e]{1,255}$";

/// The member a faulty key is reported under.
const FIELD: &str = "Idempotency-Key";

/// A key as a client sends it: an RFC 8941 string (quotes optional), 1–255 visible ASCII
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let raw = raw.trim();
        let key = raw
            .strip_prefix('"')
            .and_then(|k| k.strip_suffix('"'))
            .unwrap_or(raw);
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(AppError::invalid_parameter(
                FIELD,
                "must be 1-255 visible ASCII characters",
            ));
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A request body's fingerprint: the SHA-256 of its JSON with object members in sorted
/// order, so that whitespace and member order do not make two equal requests differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(String);

impl Fingerprint {
    pub fn of(body: &Value) -> Self {
        fn canonical(value: &Value, out: &mut Vec<u8>) {
            match value {
                Value::Object(map) => {
                    let mut members: Vec<_> = map.iter().collect();
                    members.sort_by(|a, b| a.0.cmp(b.0));
                    out.push(b'{');
                    for (i, (key, member)) in members.into_iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.extend(serde_json::to_vec(key).expect("a string serialises"));
                        out.push(b':');
                        canonical(member, out);
                    }
                    out.push(b'}');
                }
                Value::Array(items) => {
                    out.push(b'[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        canonical(item, out);
                    }
                    out.push(b']');
                }
                scalar => out.extend(serde_json::to_vec(scalar).expect("a scalar serialises")),
            }
        }
        let mut bytes = Vec::new();
        canonical(body, &mut bytes);
        Self(
            Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }
}

/// A request made idempotent: its key and its body's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotent {
    pub key: IdempotencyKey,
    pub fingerprint: Fingerprint,
}

/// What a key is for this request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Claimed: this request writes, and [`remember`]s what it created.
    New,
    /// Used before, by this same request: the goal it created then.
    Replay(CreatedGoal),
}

/// Claims the key for this request, inside the transaction of its write: [`Claim::New`],
/// or the earlier request's goal to answer with again. A key used with another body is
/// 422; one whose request is still running, or whose goal has since been deleted, is 409
/// (a deleted goal is never handed back as created).
pub async fn claim(
    tx: &mut dyn Tx,
    user: UserId,
    request: &Idempotent,
    now: DateTime<Utc>,
) -> AppResult<Claim> {
    let claimed = tx
        .claim_idempotency_key(
            user,
            request.key.as_str(),
            &request.fingerprint.0,
            now,
            now - TTL,
        )
        .await?;
    if claimed {
        return Ok(Claim::New);
    }
    let record = tx
        .idempotency_record(user, request.key.as_str())
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "an unclaimed idempotency key has no record"
            ))
        })?;
    if record.request_hash != request.fingerprint.0 {
        return Err(AppError::Validation(vec![FieldError::new(
            FIELD,
            "was first used with another request body; use a new key for a new request",
        )]));
    }
    if record.goal_deleted {
        return Err(AppError::Conflict(
            "the goal created with this Idempotency-Key has since been deleted; \
             use a new key to create another"
                .into(),
        ));
    }
    let created = record
        .body
        .as_deref()
        .and_then(|body| serde_json::from_str(body).ok())
        .ok_or_else(|| {
            AppError::Conflict("a request with this Idempotency-Key is still in progress".into())
        })?;
    Ok(Claim::Replay(created))
}

/// Keeps what the request that claimed the key created, in the transaction of its write.
pub async fn remember(
    tx: &mut dyn Tx,
    user: UserId,
    request: &Idempotent,
    created: &CreatedGoal,
) -> AppResult<()> {
    let kept = serde_json::to_string(created).expect("a goal serialises");
    let goal = GoalId::parse(created.id)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("a created goal's id is not an id")))?;
    tx.save_idempotent_result(user, request.key.as_str(), &kept, goal)
        .await?;
    Ok(())
}

/// Deletes the keys older than [`TTL`]: how many.
pub async fn purge(store: &dyn Store, clock: &dyn Clock) -> AppResult<u64> {
    let mut tx = store.begin().await?;
    let purged = tx.purge_idempotency_keys(clock.now() - TTL).await?;
    tx.commit().await?;
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_visible_ascii_with_optional_quotes() {
        assert_eq!(
            IdempotencyKey::parse("abc-123").unwrap().as_str(),
            "abc-123"
        );
        assert_eq!(
            IdempotencyKey::parse("\"quoted\"").unwrap().as_str(),
            "quoted"
        );
        for bad in ["", "\"\"", "a b", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        let pattern = regex::Regex::new(KEY_PATTERN).unwrap();
        assert!(pattern.is_match("abc-123") && !pattern.is_match("a b"));
    }

    #[test]
    fn a_fingerprint_ignores_member_order_and_spacing_but_not_values() {
        let a = Fingerprint::of(&json!({"title": "Learn Go", "description": "tour"}));
        let b: Value =
            serde_json::from_str(r#"{ "description":"tour",  "title":"Learn Go" }"#).unwrap();
        assert_eq!(a, Fingerprint::of(&b));
        assert_ne!(a, Fingerprint::of(&json!({"title": "Learn Go"})));
        assert_ne!(
            Fingerprint::of(&json!([1, 2])),
            Fingerprint::of(&json!([2, 1]))
        );
    }

    #[test]
    fn a_key_lives_a_day() {
        assert_eq!(TTL, TimeDelta::hours(24));
    }
}
