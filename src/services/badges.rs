use chrono::{DateTime, Utc};

use crate::{
    db::{AwardedBadgeRow, Hold, NewBadge, Store, Tx},
    domain::{
        UserId,
        activity::NewEvent,
        badges::{self, Measure},
        platform_event::{BadgeFacts, PlatformEvent},
    },
    error::{AppError, AppResult},
    services::{active_user, retry},
};

/// Awards, inside the caller's transaction, every badge the rules on this measure say is
/// earned and not yet held, each with its activity event. `reported` is the measure's value
/// when the write knows it; a count is taken only when a badge on it is pending. A badge
/// awarded concurrently by another transaction is skipped by the database's unique key, so
/// it is awarded once.
pub(crate) async fn award_earned(
    tx: &mut dyn Tx,
    user: UserId,
    measure: Measure,
    reported: Option<i64>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let held = tx.held_badges(user).await?;
    let pending = badges::pending(measure, &held);
    if pending.is_empty() {
        return Ok(());
    }
    let value = match (reported, measure.goals_counted()) {
        (Some(value), _) => value,
        // Counted under the user's row lock: concurrent writes of one user then count one
        // after the other, each seeing the others' committed goals (without it, five goals
        // completed at once could each count fewer than five).
        (None, Some(status)) => {
            tx.lock_user(user).await?;
            tx.count_goals(user, status).await?
        }
        (None, None) => 0,
    };
    for code in badges::earned(&pending, value) {
        award_one(tx, user, code, now).await?;
    }
    Ok(())
}

/// Awards one badge unless held; whether it was awarded.
async fn award_one(
    tx: &mut dyn Tx,
    user: UserId,
    code: &str,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    if !tx.award(user, code, now).await? {
        return Ok(false);
    }
    let facts = badge_facts(tx, user, code).await?;
    tx.insert_event(user, &NewEvent::badge_awarded(code, &facts.name), now)
        .await?;
    tx.announce(&PlatformEvent::BadgeAwarded(facts), now);
    Ok(true)
}

/// A held badge as events describe it, from its catalog entry (which a held badge has: the
/// award references it).
async fn badge_facts(tx: &mut dyn Tx, user: UserId, code: &str) -> AppResult<BadgeFacts> {
    let entry = tx.badge(code).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("held badge {code} is not in the catalog"))
    })?;
    Ok(BadgeFacts {
        user_id: user,
        badge_code: code.to_owned(),
        name: entry.name,
        tier: entry.tier,
    })
}

/// A trusted service awards a badge: the award, and whether it is new.
#[tracing::instrument(skip_all, fields(user_id = %user, badge = code))]
pub async fn award(
    store: &dyn Store,
    now: DateTime<Utc>,
    user: UserId,
    code: &str,
) -> AppResult<(AwardedBadgeRow, bool)> {
    retry(|| award_once(store, now, user, code)).await
}

async fn award_once(
    store: &dyn Store,
    now: DateTime<Utc>,
    user: UserId,
    code: &str,
) -> AppResult<(AwardedBadgeRow, bool)> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    active_user(&mut *tx, user).await?;
    if tx.badge(code).await?.is_none() {
        return Err(AppError::validation(
            "code",
            "is not a badge of the catalog",
        ));
    }
    let awarded = award_one(&mut *tx, user, code, now).await?;
    let row = tx.user_badge(user, code).await?.ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("badge {code} not held after awarding"))
    })?;
    tx.commit().await?;
    Ok((row, awarded))
}

/// A trusted service takes a badge back.
#[tracing::instrument(skip_all, fields(user_id = %user, badge = code))]
pub async fn revoke(
    store: &dyn Store,
    now: DateTime<Utc>,
    user: UserId,
    code: &str,
) -> AppResult<()> {
    retry(|| revoke_once(store, now, user, code)).await
}

async fn revoke_once(
    store: &dyn Store,
    now: DateTime<Utc>,
    user: UserId,
    code: &str,
) -> AppResult<()> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    active_user(&mut *tx, user).await?;
    if !tx.revoke(user, code).await? {
        return Err(AppError::NotFound(
            "the user does not hold that badge".into(),
        ));
    }
    let facts = badge_facts(&mut *tx, user, code).await?;
    tx.insert_event(user, &NewEvent::badge_revoked(code, &facts.name), now)
        .await?;
    tx.announce(&PlatformEvent::BadgeRevoked(facts), now);
    tx.commit().await?;
    Ok(())
}

/// An operator adds a catalog entry.
pub async fn add_to_catalog(store: &dyn Store, badge: &NewBadge) -> AppResult<()> {
    let mut tx = store.begin().await?;
    tx.add_badge(badge).await?;
    tx.commit().await?;
    Ok(())
}
