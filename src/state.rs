//! What every handler can reach: the database, the token verifier, the clock, and the
//! process's readiness as the probes report it.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use axum::extract::FromRef;

use crate::{auth::Authenticator, clock::Clock, credentials::Issuer, db::Store, metrics::Pools};

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<Authenticator>,
    pub clock: Arc<dyn Clock>,
    pub readiness: Arc<Readiness>,
    /// `CARD_MAX_AGE_SECS`: the profile card's cache lifetime.
    pub card_max_age_secs: u64,
    /// The platform as the issuer of badge credentials, with its signing key.
    pub credentials: Arc<Issuer>,
}

/// The token verifier, for the `AuthUser` extractor (which knows no `AppState`).
impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The database's pools, for a scrape of `/metrics` (which knows no `AppState`).
impl FromRef<AppState> for Arc<dyn Pools> {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

/// Whether the schema is in place, and whether the process is shutting down.
#[derive(Debug, Default)]
pub struct Readiness {
    migrated: AtomicBool,
    draining: AtomicBool,
    /// Not migrated yet because the auth-service has not created `users` yet.
    waiting_for_users: AtomicBool,
}

impl Readiness {
    pub fn is_migrated(&self) -> bool {
        self.migrated.load(Ordering::Acquire)
    }

    pub fn set_migrated(&self) {
        self.waiting_for_users.store(false, Ordering::Release);
        self.migrated.store(true, Ordering::Release);
    }

    pub fn is_waiting_for_users(&self) -> bool {
        self.waiting_for_users.load(Ordering::Acquire)
    }

    pub fn set_waiting_for_users(&self) {
        self.waiting_for_users.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }
}
