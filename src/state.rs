//! What every handler can reach: the database, the token verifier and the clock.

use std::sync::Arc;

use crate::{auth::Authenticator, clock::Clock, db::Store};

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: Arc<Authenticator>,
    pub clock: Arc<dyn Clock>,
}
