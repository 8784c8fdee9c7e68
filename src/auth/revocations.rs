//! This service's own deny-list, fed by the auth-service's `TokenRevoked` (a logout: one
//! `jti`) and `UserTokensRevoked` (a password change, a "sign out everywhere": a user's tokens
//! issued before a moment) messages, consulted while `AMQP_URL` is set, beside the shared
//! table of `JWT_DENYLIST_TABLE` when there is one.
//!
//! While nothing is revoked, which is the common case, a token costs no query: whether
//! anything is revoked at all is itself an answer remembered for `JWT_DENYLIST_CACHE_SECS`.
//! Once something is, each token's answer is remembered as long (bounded in number, one
//! query shared by concurrent lookups), so a revocation takes effect within that time, as a
//! logout in the shared table does. A listed `jti` is refused until its `expires_at` plus
//! `JWT_LEEWAY_SECS`; a token without `iat` counts as issued before any cut-off. When the
//! tables cannot be read the request is refused with 503.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use moka::future::Cache;

use super::denylist::{CACHED_TOKENS, Unreadable};
use crate::{
    db::Store,
    domain::{
        UserId,
        revocation::{issued_before, still_listed},
    },
};

/// What a token says of itself that a revocation can name.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub jti: Option<&'a str>,
    pub user: UserId,
    pub iat: Option<DateTime<Utc>>,
}

/// What the deny-list says of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// Its `jti` is listed.
    Listed,
    /// It was issued before its user's tokens were revoked.
    CutOff,
}

/// A token's answer is remembered under what the answer depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Remembered {
    jti: Option<Box<str>>,
    user: UserId,
    iat: Option<DateTime<Utc>>,
}

pub struct Revocations {
    store: Arc<dyn Store>,
    /// How long past its `exp` a token still validates.
    leeway: TimeDelta,
    /// Whether anything is revoked, and each token's answer; `None` when answers are not
    /// remembered at all (then every token is looked up).
    remembered: Option<(Cache<(), bool>, Cache<Remembered, Verdict>)>,
}

impl Revocations {
    pub fn new(store: Arc<dyn Store>, remember: Duration, leeway: TimeDelta) -> Self {
        let remembered = (!remember.is_zero()).then(|| {
            (
                Cache::builder().time_to_live(remember).build(),
                Cache::builder()
                    .max_capacity(CACHED_TOKENS)
                    .time_to_live(remember)
                    .build(),
            )
        });
        Self {
            store,
            leeway,
            remembered,
        }
    }

    /// Whether the token is revoked, and how.
    pub async fn verdict(&self, token: Presented<'_>) -> Result<Verdict, Unreadable> {
        let Some((anything, answers)) = &self.remembered else {
            return self.lookup(token).await;
        };
        let anything = anything
            .try_get_with((), async {
                self.store
                    .anything_revoked()
                    .await
                    .map_err(|err| Unreadable(err.to_string()))
            })
            .await
            .map_err(|shared| Unreadable(shared.0.clone()))?;
        if !anything {
            return Ok(Verdict::Accepted);
        }
        let key = Remembered {
            jti: token.jti.map(Box::from),
            user: token.user,
            iat: token.iat,
        };
        answers
            .try_get_with(key, self.lookup(token))
            .await
            .map_err(|shared| Unreadable(shared.0.clone()))
    }

    async fn lookup(&self, token: Presented<'_>) -> Result<Verdict, Unreadable> {
        let row = self
            .store
            .revocations(token.jti, token.user)
            .await
            .map_err(|err| Unreadable(err.to_string()))?;
        // Against the system clock, as the token's `exp` is.
        let listed = row
            .token_expires_at
            .is_some_and(|expires_at| still_listed(Some(expires_at), self.leeway, Utc::now()));
        let cut_off = row
            .tokens_before
            .is_some_and(|before| issued_before(token.iat, before));
        Ok(if listed {
            Verdict::Listed
        } else if cut_off {
            Verdict::CutOff
        } else {
            Verdict::Accepted
        })
    }
}
