use crate::{
    clock::Clock,
    db::{GoalRow, Store},
    domain::{
        GoalId, UserId,
        goal::{GoalChanges, NewGoal},
    },
    error::{AppError, AppResult},
};

#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: NewGoal,
) -> AppResult<GoalRow> {
    let mut tx = store.begin().await?;
    // A token whose user has no row fails the foreign key: answered as 404.
    let created = tx.insert_goal(user, &goal, clock.now()).await?;
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
) -> AppResult<GoalRow> {
    let mut tx = store.begin().await?;
    let current = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let now = clock.now();
    let fields = changes.apply(&current.fields(), now);
    if fields == current.fields() {
        return Ok(current);
    }
    let updated = tx.save_goal(user, goal, &fields, now).await?;
    tx.commit().await?;
    Ok(updated)
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn delete(store: &dyn Store, user: UserId, goal: GoalId) -> AppResult<()> {
    let mut tx = store.begin().await?;
    tx.delete_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    tx.commit().await?;
    Ok(())
}
