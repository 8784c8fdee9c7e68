use chrono::NaiveDate;

use crate::{
    clock::Clock,
    db::{CheckinRow, Store},
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        badges::Measure,
        checkin::CheckinRequest,
        platform_event::{CheckinFacts, PlatformEvent},
        streak::{self, Streak, StreakSummary},
    },
    error::{AppError, AppResult},
    services::{active_user, badges::award_earned},
};

/// The outcome of a check-in: the stored row, the goal's streak now, and whether this
/// request wrote it (a repeat for the same day writes nothing).
#[derive(Debug, Clone)]
pub struct CheckedIn {
    pub checkin: CheckinRow,
    pub streak: Streak,
    pub created: bool,
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn add(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    request: CheckinRequest,
) -> AppResult<CheckedIn> {
    let mut tx = store.begin().await?;
    let owner = active_user(&mut *tx, user).await?;
    let now = clock.now();
    let today = streak::today(now, owner.time_zone());
    // Validated here, where the user's day is known, every field at once.
    let new = request.validate(today).map_err(AppError::Validation)?;
    let day = new.day;
    let row = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    if row.status != GoalStatus::InProgress {
        return Err(AppError::Conflict(format!(
            "only an in-progress goal takes check-ins; this one is {}",
            row.status.as_str()
        )));
    }
    let Some(checkin) = tx.insert_checkin(user, goal, &new, now).await? else {
        // Already checked in that day: answer with what is stored, write nothing.
        let existing = tx.checkin(goal, day).await?.ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("check-in vanished inside its transaction"))
        })?;
        return Ok(CheckedIn {
            checkin: existing,
            streak: row.streak.summary().on(today),
            created: false,
        });
    };
    let summary = match row.streak.summary().with_later_day(day) {
        Some(summary) => summary,
        None => history(&mut *tx, goal).await?,
    };
    tx.save_streak(goal, &summary, 1).await?;
    tx.insert_event(user, &NewEvent::checkin_added(goal, &row.title, day), now)
        .await?;
    let added = CheckinFacts {
        user_id: user,
        goal_id: goal,
        date: day,
        minutes: new.minutes,
    };
    tx.announce(&PlatformEvent::CheckinAdded(added), now)
        .await?;
    let before = row.streak.summary().on(today).streak_count;
    let streak = summary.on(today);
    for event in PlatformEvent::streak_grew(
        user,
        goal,
        before,
        streak.streak_count,
        streak.longest_streak,
    ) {
        tx.announce(&event, now).await?;
    }
    award_earned(
        &mut *tx,
        user,
        Measure::StreakDays,
        Some(i64::from(streak.longest_streak)),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(CheckedIn {
        checkin,
        streak,
        created: true,
    })
}

#[tracing::instrument(skip_all, fields(user_id = %user, goal_id = %goal))]
pub async fn remove(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    day: NaiveDate,
) -> AppResult<()> {
    let mut tx = store.begin().await?;
    active_user(&mut *tx, user).await?;
    let row = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    if !tx.delete_checkin(goal, day).await? {
        return Err(AppError::NotFound(format!(
            "the goal has no check-in on {day}"
        )));
    }
    let summary = history(&mut *tx, goal).await?;
    tx.save_streak(goal, &summary, -1).await?;
    let now = clock.now();
    tx.insert_event(user, &NewEvent::checkin_removed(goal, &row.title, day), now)
        .await?;
    let removed = CheckinFacts {
        user_id: user,
        goal_id: goal,
        date: day,
        minutes: None,
    };
    tx.announce(&PlatformEvent::CheckinRemoved(removed), now)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The goal's whole history folded again: for a removal, or a day before the last one.
async fn history(tx: &mut dyn crate::db::Tx, goal: GoalId) -> AppResult<StreakSummary> {
    Ok(StreakSummary::from_history(tx.checkin_dates(goal).await?))
}
