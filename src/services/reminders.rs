//! Reminders' writes: a batch of due schedules in one transaction. Each schedule is planned
//! by the domain (`reminder::plan`: the local day to remind of now, or a day skipped because
//! it ended), each goal of the user judged (`reminder::at_risk`), and each reminder's key
//! (goal, local day) written with its `streak.at_risk.v1` in the outbox: a key already
//! there means it went out before, and nothing is written. The users are held as their own
//! writes hold them, so a reminder never outlives an erasure (see `Store::begin_for`).

use std::collections::{HashMap, HashSet};

use chrono::{Days, NaiveDate};

use crate::{
    clock::Clock,
    db::{ReminderGoalRow, Store, reminders::Move},
    domain::{
        UserId,
        goal::Schedule,
        platform_event::{AtRiskFacts, PlatformEvent},
        profile::TimeZone,
        reminder::{self, ReminderTime},
        week::WeekStart,
    },
    error::AppResult,
    services::retry,
};

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Schedules that were due (users).
    pub due: usize,
    /// Reminders written to the outbox.
    pub sent: usize,
    /// Local days skipped because they ended before a pass came.
    pub skipped: usize,
}

/// Handles at most `limit` schedules due at the clock's now, earliest first.
pub async fn send_due(
    store: &dyn Store,
    clock: &dyn Clock,
    time: ReminderTime,
    limit: i64,
) -> AppResult<Batch> {
    retry(|| send_due_once(store, clock, time, limit)).await
}

async fn send_due_once(
    store: &dyn Store,
    clock: &dyn Clock,
    time: ReminderTime,
    limit: i64,
) -> AppResult<Batch> {
    let now = clock.now();
    let mut tx = store.begin().await?;
    let due = tx.due_reminders(now.timestamp(), limit).await?;
    if due.is_empty() {
        return Ok(Batch::default());
    }
    let mut users: Vec<UserId> = due.iter().map(|row| row.user_id).collect();
    users.sort_unstable();
    users.dedup();
    tx.hold_users(&users).await?;
    let mut goals: HashMap<UserId, Vec<ReminderGoalRow>> = HashMap::new();
    for goal in tx.reminder_goals(&users).await? {
        goals.entry(goal.user_id).or_default().push(goal);
    }
    let mut batch = Batch {
        due: due.len(),
        ..Batch::default()
    };
    let mut at_risk = Vec::new();
    let mut moves = Vec::with_capacity(due.len());
    for schedule in &due {
        let zone = TimeZone::from_stored(&schedule.timezone);
        let plan = reminder::plan(schedule.next_date, now, zone.tz(), time);
        batch.skipped += usize::from(plan.skipped.is_some());
        if let Some(day) = plan.send.filter(|_| schedule.active) {
            let week_start = WeekStart::from_stored(&schedule.week_start);
            for goal in goals.get(&schedule.user_id).into_iter().flatten() {
                let rule = Schedule::from_stored(goal.cadence, goal.days_per_week).rule(week_start);
                if let Some(risk) = reminder::at_risk(&goal.streak.summary(), rule, day) {
                    at_risk.push(AtRiskFacts {
                        user_id: schedule.user_id,
                        goal_id: goal.id,
                        streak: risk.streak,
                        unit: risk.unit,
                        local_date: day,
                    });
                }
            }
        }
        moves.push(Move {
            user: schedule.user_id,
            was_day: schedule.next_date,
            was_at: schedule.next_at,
            day: plan.next.day,
            at: plan.next.at.timestamp(),
        });
    }
    if !at_risk.is_empty() {
        let claims: Vec<_> = at_risk.iter().map(|f| (f.goal_id, f.local_date)).collect();
        let claimed: HashSet<i64> = tx.claim_reminders(&claims).await?.into_iter().collect();
        // Never sent before: each goal has one day here, so its id is its key.
        for facts in at_risk
            .into_iter()
            .filter(|f| claimed.contains(&f.goal_id.get()))
        {
            tx.announce(&PlatformEvent::StreakAtRisk(facts), now);
            batch.sent += 1;
        }
    }
    tx.reschedule(&moves).await?;
    tx.commit().await?;
    Ok(batch)
}

/// Forgets up to `limit` keys of reminders for local days long over (before the UTC day
/// `keep` days ago: no zone is more than a day from UTC), so the table holds a few days.
pub async fn purge_sent(
    store: &dyn Store,
    clock: &dyn Clock,
    keep: u64,
    limit: i64,
) -> AppResult<u64> {
    let today: NaiveDate = clock.now().date_naive();
    let before = today.checked_sub_days(Days::new(keep)).unwrap_or(today);
    let mut tx = store.begin().await?;
    let purged = tx.purge_reminders_sent(before, limit).await?;
    tx.commit().await?;
    Ok(purged)
}
