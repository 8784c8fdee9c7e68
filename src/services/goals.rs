use chrono::NaiveDate;

use crate::{
    clock::Clock,
    db::{GoalRow, Hold, OpenOf, Store},
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        badges::Measure,
        goal::{CreatedGoal, GoalChanges, NewGoal},
        partnership::EndReason,
        platform_event::{DeletedGoalFacts, GoalFacts, PlatformEvent},
        streak::{self, Streak},
        version::Expected,
    },
    error::{AppError, AppResult},
    idempotency::{self, Claim, Idempotent},
    services::{active_user, badges::award_earned, checkins::history, partners, retry},
};

/// The answer to a creation: the goal as created, new or (with an idempotency key used
/// before) the one the first request created.
#[derive(Debug, Clone)]
pub struct Created {
    pub goal: CreatedGoal,
    pub replayed: bool,
}

/// Creates a goal. With an idempotency key, the goal created is kept in the same
/// transaction, and a retry with the same key and body gets it back instead of a second
/// goal (see `idempotency`).
#[tracing::instrument(skip_all, fields(user_id = %user))]
pub async fn create(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: NewGoal,
    idempotent: Option<&Idempotent>,
) -> AppResult<Created> {
    retry(|| create_once(store, clock, user, goal.clone(), idempotent)).await
}

async fn create_once(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: NewGoal,
    idempotent: Option<&Idempotent>,
) -> AppResult<Created> {
    let now = clock.now();
    let mut tx = store.begin_for(user, Hold::Write).await?;
    active_user(&mut *tx, user).await?;
    if let Some(request) = idempotent
        && let Claim::Replay(goal) = idempotency::claim(&mut *tx, user, request, now).await?
    {
        return Ok(Created {
            goal,
            replayed: true,
        });
    }
    let created = tx.insert_goal(user, &goal, now).await?;
    // A user with goals has a reminder schedule (made at the next pass).
    tx.schedule_user(user, now.timestamp()).await?;
    tx.insert_event(
        user,
        &NewEvent::goal_created(created.id, &created.title),
        now,
    )
    .await?;
    tx.announce(&PlatformEvent::GoalCreated(facts(user, &created)), now);
    award_earned(&mut *tx, user, Measure::GoalsCreated, None, now).await?;
    if created.status == GoalStatus::Completed {
        award_earned(&mut *tx, user, Measure::GoalsCompleted, None, now).await?;
    }
    let goal = created.as_created();
    if let Some(request) = idempotent {
        idempotency::remember(&mut *tx, user, request, &goal).await?;
    }
    tx.commit().await?;
    Ok(Created {
        goal,
        replayed: false,
    })
}

/// A goal as its owner's day shows it: the row, its streak and that day.
#[derive(Debug, Clone)]
pub struct GoalToday {
    pub row: GoalRow,
    pub streak: Streak,
    pub today: NaiveDate,
}

/// Applies a partial update to a goal if its stored version is one `expected` admits
/// (checked under the row lock, so two editors cannot both pass). An update that changes
/// nothing writes nothing.
#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn update(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    changes: GoalChanges,
    expected: Option<&Expected>,
) -> AppResult<GoalToday> {
    retry(|| update_once(store, clock, user, goal, changes.clone(), expected)).await
}

async fn update_once(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    changes: GoalChanges,
    expected: Option<&Expected>,
) -> AppResult<GoalToday> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    let owner = active_user(&mut *tx, user).await?;
    let current = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    let now = clock.now();
    let today = streak::today(now, owner.time_zone());
    let week_start = owner.week_start();
    let streak = current
        .streak
        .summary()
        .on(current.schedule().rule(week_start), today);
    if expected.is_some_and(|expected| !expected.admits(&current.version(today))) {
        return Err(AppError::PreconditionFailed(
            "the goal changed since it was read: read it again".into(),
        ));
    }
    let fields = changes
        .apply(&current.fields(), now)
        .map_err(|error| AppError::Validation(vec![error]))?;
    if fields == current.fields() {
        return Ok(GoalToday {
            row: current,
            streak,
            today,
        });
    }
    let mut updated = tx.save_goal(user, goal, &fields, now).await?;
    let mut streak = streak;
    if fields.schedule != current.schedule() {
        // A new cadence or target: the same check-ins, counted by the new rule (whose runs
        // and their announcements start from that count).
        let rule = fields.schedule.rule(week_start);
        let summary = history(&mut *tx, goal, rule).await?;
        tx.save_streak(goal, &summary, None, 0).await?;
        streak = summary.on(rule, today);
        updated = tx.lock_goal(user, goal).await?.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("goal vanished inside its transaction"))
        })?;
    }
    let completed =
        current.status != GoalStatus::Completed && updated.status == GoalStatus::Completed;
    if completed {
        partners::end_open(&mut *tx, OpenOf::Goal(goal), EndReason::GoalCompleted, now).await?;
        tx.insert_event(user, &NewEvent::goal_completed(goal, &updated.title), now)
            .await?;
        tx.announce(&PlatformEvent::GoalCompleted(facts(user, &updated)), now);
        award_earned(&mut *tx, user, Measure::GoalsCompleted, None, now).await?;
    } else {
        tx.insert_event(user, &NewEvent::goal_updated(goal, &updated.title), now)
            .await?;
        tx.announce(&PlatformEvent::GoalUpdated(facts(user, &updated)), now);
    }
    tx.commit().await?;
    Ok(GoalToday {
        row: updated,
        streak,
        today,
    })
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn delete(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
) -> AppResult<()> {
    retry(|| delete_once(store, clock, user, goal)).await
}

async fn delete_once(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
) -> AppResult<()> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    active_user(&mut *tx, user).await?;
    let now = clock.now();
    partners::end_open(&mut *tx, OpenOf::Goal(goal), EndReason::GoalDeleted, now).await?;
    let title = tx
        .delete_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    tx.insert_event(user, &NewEvent::goal_deleted(goal, &title), now)
        .await?;
    let deleted = DeletedGoalFacts {
        user_id: user,
        goal_id: goal,
        title,
    };
    tx.announce(&PlatformEvent::GoalDeleted(deleted), now);
    tx.commit().await?;
    Ok(())
}

/// A goal as the platform's events describe it.
fn facts(user: UserId, row: &GoalRow) -> GoalFacts {
    GoalFacts {
        user_id: user,
        goal_id: row.id,
        title: row.title.clone(),
        status: row.status,
    }
}
