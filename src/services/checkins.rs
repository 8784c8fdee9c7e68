use chrono::NaiveDate;

use crate::{
    clock::Clock,
    db::{CheckinRow, Hold, Store},
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        badges::Measure,
        checkin::CheckinRequest,
        platform_event::{AnnouncedRun, PlatformEvent, StreakGrowth},
        streak::{self, Rule, Streak, StreakSummary},
    },
    error::{AppError, AppResult},
    services::{active_user, badges::award_earned, partners, retry},
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
    retry(|| add_once(store, clock, user, goal, request.clone())).await
}

async fn add_once(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    request: CheckinRequest,
) -> AppResult<CheckedIn> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
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
    let rule = row.schedule().rule(owner.week_start());
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
            streak: row.streak.summary().on(rule, today),
            created: false,
        });
    };
    let stored = row.streak.summary();
    let summary = match stored.with_later_day(rule, day) {
        Some(summary) => summary,
        None => history(&mut *tx, goal, rule).await?,
    };
    let streak = summary.on(rule, today);
    let growth = StreakGrowth {
        unit: rule.unit(),
        before: stored.on(rule, today).streak_count,
        after: streak.streak_count,
        longest: streak.longest_streak,
        run_start: summary.run_start_on(rule, today),
    };
    let held = AnnouncedRun::held(row.announced(), &stored, rule);
    let (streak_events, announced) = PlatformEvent::streak_grew(user, goal, growth, held);
    tx.save_streak(goal, &summary, announced, 1).await?;
    tx.insert_event(user, &NewEvent::checkin_added(goal, &row.title, day), now)
        .await?;
    tx.announce(
        &PlatformEvent::checkin_added(user, goal, day, new.minutes),
        now,
    );
    for event in streak_events {
        tx.announce(&event, now);
    }
    award_earned(
        &mut *tx,
        user,
        Measure::streak_in(rule.unit()),
        Some(i64::from(streak.longest_streak)),
        now,
    )
    .await?;
    partners::checked_in(&mut *tx, &owner, goal, day, now).await?;
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
    retry(|| remove_once(store, clock, user, goal, day)).await
}

async fn remove_once(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    goal: GoalId,
    day: NaiveDate,
) -> AppResult<()> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    let owner = active_user(&mut *tx, user).await?;
    let row = tx
        .lock_goal(user, goal)
        .await?
        .ok_or_else(|| AppError::not_found("the goal"))?;
    if !tx.delete_checkin(goal, day).await? {
        return Err(AppError::NotFound(format!(
            "the goal has no check-in on {day}"
        )));
    }
    let rule = row.schedule().rule(owner.week_start());
    let summary = history(&mut *tx, goal, rule).await?;
    // The run keeps what it announced: checked in again, the day is not news.
    let held = AnnouncedRun::held(row.announced(), &row.streak.summary(), rule);
    tx.save_streak(goal, &summary, held, -1).await?;
    let now = clock.now();
    partners::checked_out(&mut *tx, &owner, goal, day, now).await?;
    tx.insert_event(user, &NewEvent::checkin_removed(goal, &row.title, day), now)
        .await?;
    tx.announce(&PlatformEvent::checkin_removed(user, goal, day), now);
    tx.commit().await?;
    Ok(())
}

/// The goal's whole history folded again: for a removal, a day before the last one, or a
/// change of the rule.
pub(crate) async fn history(
    tx: &mut dyn crate::db::Tx,
    goal: GoalId,
    rule: Rule,
) -> AppResult<StreakSummary> {
    Ok(StreakSummary::from_history(
        rule,
        tx.checkin_dates(goal).await?,
    ))
}
