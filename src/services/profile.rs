use crate::{
    clock::Clock,
    db::{Store, UserRow},
    domain::{UserId, profile::ProfileChanges},
    error::{AppError, AppResult},
};

/// Applies a partial update to a user's profile. An update that changes nothing writes
/// nothing.
#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn update(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    changes: ProfileChanges,
) -> AppResult<UserRow> {
    let mut tx = store.begin().await?;
    let current = tx
        .lock_user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let before = current.profile();
    let after = changes.apply(before.clone());
    if after == before {
        return Ok(current);
    }
    let updated = tx.save_profile(user, &after, clock.now()).await?;
    tx.commit().await?;
    Ok(updated)
}
