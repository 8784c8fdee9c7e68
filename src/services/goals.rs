use chrono::TimeDelta;

use crate::{
    clock::Clock,
    db::{GoalRow, Store, StoredResponse, Tx},
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        badges::Measure,
        goal::{GoalChanges, NewGoal},
        streak::{self, Streak},
    },
    error::{AppError, AppResult, FieldError},
    services::{active_user, badges::award_earned},
};

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: TimeDelta = TimeDelta::hours(24);

/// An `Idempotency-Key` and the fingerprint of the request body it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: String,
}

/// The answer to a creation: for a new goal, or replayed from the first request with the
/// same key.
#[derive(Debug, Clone)]
pub struct Created {
    pub response: StoredResponse,
    pub replayed: bool,
}

/// Creates a goal. With an idempotency key, the response (made by `respond`) is stored in
/// the same transaction, and a retry with the same key and body gets it back instead of a
/// second goal; the key is claimed by a unique insert, so two retries racing on two
/// replicas still create one goal.
#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: NewGoal,
    idempotency: Option<&Idempotency>,
    respond: &(dyn Fn(&GoalRow) -> StoredResponse + Sync),
) -> AppResult<Created> {
    let now = clock.now();
    let mut tx = store.begin().await?;
    active_user(&mut *tx, user).await?;
    if let Some(idempotency) = idempotency {
        let claimed = tx
            .claim_idempotency_key(
                user,
                &idempotency.key,
                &idempotency.fingerprint,
                now,
                now - IDEMPOTENCY_TTL,
            )
            .await?;
        if !claimed {
            let response = replay(&mut *tx, user, idempotency).await?;
            return Ok(Created {
                response,
                replayed: true,
            });
        }
    }
    let created = tx.insert_goal(user, &goal, now).await?;
    tx.insert_event(
        user,
        &NewEvent::goal_created(created.id, &created.title),
        now,
    )
    .await?;
    award_earned(&mut *tx, user, Measure::GoalsCreated, None, now).await?;
    if created.status == GoalStatus::Completed {
        award_earned(&mut *tx, user, Measure::GoalsCompleted, None, now).await?;
    }
    let response = respond(&created);
    if let Some(idempotency) = idempotency {
        tx.save_idempotent_response(user, &idempotency.key, &response, created.id)
            .await?;
    }
    tx.commit().await?;
    Ok(Created {
        response,
        replayed: false,
    })
}

/// The stored answer for a key already used: only for the same request body, and only
/// while the goal it created exists (a deleted goal is not handed out as created).
async fn replay(
    tx: &mut dyn Tx,
    user: UserId,
    idempotency: &Idempotency,
) -> AppResult<StoredResponse> {
    let record = tx
        .idempotency_record(user, &idempotency.key)
        .await?
        .ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "an unclaimed idempotency key has no record"
            ))
        })?;
    if record.request_hash != idempotency.fingerprint {
        return Err(AppError::Validation(vec![FieldError::new(
            "Idempotency-Key",
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
    match (record.status, record.body) {
        (Some(status), Some(body)) => Ok(StoredResponse {
            status: u16::try_from(status).unwrap_or(500),
            location: record.location,
            body,
        }),
        _ => Err(AppError::Conflict(
            "a request with this Idempotency-Key is still in progress".into(),
        )),
    }
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn update(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    changes: GoalChanges,
    unchanged_since_read: &(dyn Fn(&GoalRow, &Streak) -> bool + Sync),
) -> AppResult<(GoalRow, Streak)> {
    let mut tx = store.begin().await?;
    let owner = active_user(&mut *tx, user).await?;
    let current = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let now = clock.now();
    let streak = current
        .streak
        .summary()
        .on(streak::today(now, owner.time_zone()));
    if !unchanged_since_read(&current, &streak) {
        return Err(AppError::PreconditionFailed(
            "the goal changed since it was read: read it again".into(),
        ));
    }
    let fields = changes.apply(&current.fields(), now);
    if fields == current.fields() {
        return Ok((current, streak));
    }
    let updated = tx.save_goal(user, goal, &fields, now).await?;
    let completed =
        current.status != GoalStatus::Completed && updated.status == GoalStatus::Completed;
    if completed {
        tx.insert_event(user, &NewEvent::goal_completed(goal, &updated.title), now)
            .await?;
        award_earned(&mut *tx, user, Measure::GoalsCompleted, None, now).await?;
    } else {
        tx.insert_event(user, &NewEvent::goal_updated(goal, &updated.title), now)
            .await?;
    }
    tx.commit().await?;
    Ok((updated, streak))
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn delete(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
) -> AppResult<()> {
    let mut tx = store.begin().await?;
    active_user(&mut *tx, user).await?;
    let title = tx
        .delete_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    tx.insert_event(user, &NewEvent::goal_deleted(goal, &title), clock.now())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Deletes the idempotency keys older than their time to live: how many.
pub async fn purge_expired_idempotency_keys(
    store: &dyn Store,
    clock: &dyn Clock,
) -> AppResult<u64> {
    let mut tx = store.begin().await?;
    let purged = tx
        .purge_idempotency_keys(clock.now() - IDEMPOTENCY_TTL)
        .await?;
    tx.commit().await?;
    Ok(purged)
}
