//! The writes the API offers, each one transaction composed from the database's primitives
//! and the domain's rules: the state change, its activity event and the badges it earns
//! commit together or not at all. Routes validate input and shape output; everything
//! between happens here, once for both backends.

pub mod badges;
pub mod checkins;
pub mod goals;
pub mod profile;
pub mod users;

use crate::{
    db::{Tx, UserRow},
    domain::UserId,
    error::{AppError, AppResult},
};

/// The user a write is for: 404 for one who is deactivated, answered exactly as for one
/// who does not exist, so a write reveals neither.
pub(crate) async fn active_user(tx: &mut dyn Tx, user: UserId) -> AppResult<UserRow> {
    tx.user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))
}
