//! Tokens revoked before they expire: the auth-service's logout writes the token's `jti`
//! into a table (its `token_blacklist`), and with `JWT_DENYLIST_TABLE` naming it this
//! service refuses those tokens too.
//!
//! A listed token is refused for as long as it could validate: until its entry's
//! `expires_at` (the token's `exp`) plus `JWT_LEEWAY_SECS`. Answers are remembered for at
//! most `JWT_DENYLIST_CACHE_SECS` (so a logout takes effect within that), for a bounded
//! number of tokens, and concurrent lookups of one `jti` share one query. When the table
//! cannot be read the request is refused with 503: a revoked token is never let through
//! because the database is away.

use std::{sync::Arc, time::Duration};

use chrono::{TimeDelta, Utc};
use moka::future::Cache;

use crate::{
    db::{DenylistTable, Store},
    domain::revocation::still_listed,
};

/// Tokens whose answer is remembered at once; beyond it the least used are forgotten.
pub(super) const CACHED_TOKENS: u64 = 100_000;

pub struct Denylist {
    table: DenylistTable,
    store: Arc<dyn Store>,
    /// `jti` → revoked; `None` when answers are not remembered at all.
    cache: Option<Cache<String, bool>>,
    /// How long past its `exp` a token still validates.
    leeway: TimeDelta,
}

/// The deny-list could not be read (the database is down, or the table is not there).
#[derive(Debug, thiserror::Error)]
#[error("the token deny-list could not be read: {0}")]
pub struct Unreadable(pub String);

impl Denylist {
    pub fn new(
        table: DenylistTable,
        store: Arc<dyn Store>,
        remember: Duration,
        leeway: TimeDelta,
    ) -> Self {
        let cache = (!remember.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(CACHED_TOKENS)
                .time_to_live(remember)
                .build()
        });
        Self {
            table,
            store,
            cache,
            leeway,
        }
    }

    pub fn table(&self) -> &DenylistTable {
        &self.table
    }

    /// Whether the token with this `jti` has been revoked.
    pub async fn is_revoked(&self, jti: &str) -> Result<bool, Unreadable> {
        let Some(cache) = &self.cache else {
            return self.lookup(jti).await;
        };
        // A hit borrows the jti; only a miss allocates its key (and shares one query).
        if let Some(revoked) = cache.get(jti).await {
            return Ok(revoked);
        }
        cache
            .try_get_with(jti.to_owned(), self.lookup(jti))
            .await
            .map_err(|shared| Unreadable(shared.0.clone()))
    }

    async fn lookup(&self, jti: &str) -> Result<bool, Unreadable> {
        let entry = self
            .store
            .denylist_entry(&self.table, jti)
            .await
            .map_err(|err| Unreadable(err.to_string()))?;
        // The entry's expiry is the token's `exp`, checked against the same system clock.
        Ok(entry.is_some_and(|expires_at| {
            still_listed(expires_at.map(|t| t.0), self.leeway, Utc::now())
        }))
    }
}
