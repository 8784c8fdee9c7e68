use crate::{
    clock::Clock,
    db::{GoalRow, Store},
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        goal::{GoalChanges, NewGoal},
        streak::{self, Streak},
    },
    error::{AppError, AppResult},
    services::badges::{Measured, award_earned},
};

#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: NewGoal,
) -> AppResult<GoalRow> {
    let now = clock.now();
    let mut tx = store.begin().await?;
    // A token whose user has no row fails the foreign key: answered as 404.
    let created = tx.insert_goal(user, &goal, now).await?;
    tx.record(
        user,
        &NewEvent::goal_created(created.id, &created.title),
        now,
    )
    .await?;
    award_earned(&mut *tx, user, Measured::GoalsCreated, now).await?;
    if created.status == GoalStatus::Completed {
        award_earned(&mut *tx, user, Measured::GoalsCompleted, now).await?;
    }
    tx.commit().await?;
    Ok(created)
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn update(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    changes: GoalChanges,
) -> AppResult<(GoalRow, Streak)> {
    let mut tx = store.begin().await?;
    let current = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let now = clock.now();
    let owner = tx
        .user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))?;
    let streak = current
        .streak
        .summary()
        .on(streak::today(now, owner.time_zone()));
    let fields = changes.apply(&current.fields(), now);
    if fields == current.fields() {
        return Ok((current, streak));
    }
    let updated = tx.save_goal(user, goal, &fields, now).await?;
    let completed =
        current.status != GoalStatus::Completed && updated.status == GoalStatus::Completed;
    if completed {
        tx.record(user, &NewEvent::goal_completed(goal, &updated.title), now)
            .await?;
        award_earned(&mut *tx, user, Measured::GoalsCompleted, now).await?;
    } else {
        tx.record(user, &NewEvent::goal_updated(goal, &updated.title), now)
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
    let title = tx
        .delete_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    tx.record(user, &NewEvent::goal_deleted(goal, &title), clock.now())
        .await?;
    tx.commit().await?;
    Ok(())
}
