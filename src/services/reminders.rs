//! Reminders' writes: a batch of due schedules in one transaction. Each schedule is planned
//! by the domain (`reminder::plan`: the local day to remind of now, or a day skipped because
//! it ended), each goal of the user judged (`reminder::at_risk`), and each reminder's key
//! (goal, local day) written with its `streak.at_risk.v1` in the outbox: a key already
//! there means it went out before, and nothing is written. The users are held as their own
//! writes hold them, so a reminder never outlives an erasure (see `Store::begin_for`).
//!
//! The same batch tells the partners of the users reminded of a day whose shared streak is
//! at risk that day (`reminder::partner_at_risk`): their active partnerships are read (only
//! for users with a day to remind of, so a batch with nothing due reads none), with the two
//! goals' check-ins of the last few days, and each reminder's key (partnership, user, local
//! day) is written with its `partner_streak.at_risk.v1` the same way.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::{
    clock::Clock,
    db::{
        PartnershipRow, ReminderGoalRow, Store, Tx,
        reminders::{Move, PartnerClaim},
    },
    domain::{
        GoalId, UserId,
        goal::Schedule,
        platform_event::{AtRiskFacts, PartnerAtRiskFacts, PlatformEvent},
        profile::TimeZone,
        reminder::{self, ReminderTime},
        streak,
        week::WeekStart,
    },
    error::AppResult,
    services::{
        partners::{sides, start_of},
        retry,
    },
};

/// What one batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Batch {
    /// Schedules that were due (users).
    pub due: usize,
    /// Reminders written to the outbox.
    pub sent: usize,
    /// Partners' reminders written to the outbox.
    pub partners_sent: usize,
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
    let mut reminded: HashMap<UserId, NaiveDate> = HashMap::new();
    let mut moves = Vec::with_capacity(due.len());
    for schedule in &due {
        let zone = TimeZone::from_stored(&schedule.timezone);
        let plan = reminder::plan(schedule.next_date, now, zone.tz(), time);
        batch.skipped += usize::from(plan.skipped.is_some());
        if let Some(day) = plan.send.filter(|_| schedule.active) {
            reminded.insert(schedule.user_id, day);
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
    let partners_at_risk = partners_at_risk(&mut *tx, &reminded, &goals, now).await?;
    if !partners_at_risk.is_empty() {
        let claims: Vec<PartnerClaim> = partners_at_risk
            .iter()
            .map(|f| PartnerClaim {
                partnership: f.partnership_id,
                user: f.user_id,
                day: f.local_date,
            })
            .collect();
        let claimed: HashSet<(i64, i64)> = tx
            .claim_partner_reminders(&claims)
            .await?
            .into_iter()
            .collect();
        // Never sent before: each user has one day here.
        for facts in partners_at_risk
            .into_iter()
            .filter(|f| claimed.contains(&(f.partnership_id, f.user_id.get())))
        {
            tx.announce(&PlatformEvent::PartnerStreakAtRisk(facts), now);
            batch.partners_sent += 1;
        }
    }
    tx.reschedule(&moves).await?;
    tx.commit().await?;
    Ok(batch)
}

/// A user reminded of a day now, on one side of an active partnership.
struct Candidate {
    row: PartnershipRow,
    side: usize,
    user: UserId,
    partner: UserId,
    goal: GoalId,
    /// Each side's today, the user's being the day reminded of.
    todays: [NaiveDate; 2],
    /// The first day whose check-ins the shared streak reads.
    from: NaiveDate,
}

/// The partners' shared streaks at risk among the users reminded of a day now (`reminded`,
/// each with the day), each about the user's goal in a daily partnership, in progress with
/// its reminders on (among `goals`): two reads whatever the batch's size, the users' active
/// partnerships and their goals' check-ins from the earliest day a shared streak reads, and
/// none when nobody is reminded of anything.
async fn partners_at_risk(
    tx: &mut dyn Tx,
    reminded: &HashMap<UserId, NaiveDate>,
    goals: &HashMap<UserId, Vec<ReminderGoalRow>>,
    now: DateTime<Utc>,
) -> AppResult<Vec<PartnerAtRiskFacts>> {
    if reminded.is_empty() {
        return Ok(Vec::new());
    }
    let mut users: Vec<UserId> = reminded.keys().copied().collect();
    users.sort_unstable();
    // Each (partnership, side) whose user is reminded of a day, with both sides' todays.
    let mut candidates = Vec::new();
    for read in tx.reminder_partnerships(&users).await? {
        let row = read.partnership;
        let (Some(a), Some(b)) = (read.inviter_timezone, read.invitee_timezone) else {
            continue;
        };
        let zones = [a, b].map(|zone| TimeZone::from_stored(&zone));
        for side in [0, 1] {
            let (Some(user), Some(partner), Some(goal)) =
                (row.user(side), row.user(1 - side), row.goal(side))
            else {
                continue;
            };
            let Some(&day) = reminded.get(&user) else {
                continue;
            };
            let reminders_on = goals
                .get(&user)
                .is_some_and(|held| held.iter().any(|g| g.id == goal));
            if !reminders_on {
                continue;
            }
            let mut todays = zones.map(|zone| streak::today(now, zone));
            todays[side] = day;
            let from = row
                .rule()
                .window(todays)
                .max(row.rule().unit_of(start_of(&row)));
            candidates.push(Candidate {
                row: row.clone(),
                side,
                user,
                partner,
                goal,
                todays,
                from,
            });
        }
    }
    let Some(from) = candidates.iter().map(|c| c.from).min() else {
        return Ok(Vec::new());
    };
    let mut goal_ids: Vec<GoalId> = candidates
        .iter()
        .flat_map(|c| [c.row.goal(0), c.row.goal(1)])
        .flatten()
        .collect();
    goal_ids.sort_unstable();
    goal_ids.dedup();
    let dates = tx.reminder_checkins(&goal_ids, from).await?;
    Ok(candidates
        .into_iter()
        .filter_map(|c| {
            let recent: Vec<(GoalId, NaiveDate)> = dates
                .iter()
                .filter(|(_, d)| *d >= c.from)
                .copied()
                .collect();
            let risk = reminder::partner_at_risk(
                c.row.rule(),
                start_of(&c.row),
                &c.row.summary(),
                &sides(&c.row, c.todays, &recent),
                c.side,
            )?;
            Some(PartnerAtRiskFacts {
                user_id: c.user,
                partner_id: c.partner,
                partnership_id: c.row.id,
                goal_id: c.goal,
                shared_streak: risk.streak,
                unit: risk.unit,
                local_date: c.todays[c.side],
            })
        })
        .collect())
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
