//! Accountability partnerships' writes: invitations, acceptances, ends by hand or by what
//! else ends them (a block, an unfollow, a goal deleted or completed, an erasure, a
//! deactivation), nudges, and the shared streak kept in each check-in's transaction. Each
//! write holds both users (as the social graph's do) and locks the partnership rows it
//! changes, so that the two partners' check-ins on one day fold one after the other.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{
    clock::Clock,
    db::{GoalsAmong, OpenOf, PartnershipRow, Store, Tx, UserRow},
    domain::{
        GoalId, GoalStatus, UserId,
        badges::Measure,
        partnership::{
            self, EndReason, PARTNERSHIPS_PER_GOAL, PartnerRefusal, PartnershipStatus, SharedRule,
            SharedStreak, Side, may_partner,
        },
        platform_event::{
            NudgeFacts, PartnerMilestoneFacts, PartnerStreakFacts, PartnershipEndFacts,
            PartnershipFacts, PartnershipRequestFacts, PlatformEvent, milestone_reached,
        },
        profile::TimeZone,
        streak::{self, StreakSummary, StreakUnit},
    },
    error::{AppError, AppResult},
    services::{active_user, badges::award_earned, retry},
};

/// A partnership as one of its partners sees it now.
#[derive(Debug, Clone)]
pub struct Seen {
    pub row: PartnershipRow,
    /// The reader's side: 0 the inviter, 1 the invited user.
    pub side: usize,
    /// The reader's goal in it, and its title.
    pub goal: Option<(GoalId, String)>,
    /// The other partner; `None` once they were erased or while deactivated.
    pub partner: Option<UserRow>,
    pub streak: SharedStreak,
}

/// The shared streak of a partnership that is not active: what it was when it ended.
fn settled(row: &PartnershipRow) -> SharedStreak {
    let summary = row.summary();
    SharedStreak {
        streak: u32::try_from(row.final_streak).unwrap_or(0),
        longest: summary.longest,
        unit: row.rule().unit(),
        freezes: 0,
        frozen: Vec::new(),
        today: [false, false],
    }
}

fn zone_of(user: Option<&UserRow>) -> TimeZone {
    user.map_or(TimeZone::UTC, UserRow::time_zone)
}

/// The two sides as the rule reads them, from the check-ins read from `from` on.
pub(crate) fn sides(
    row: &PartnershipRow,
    todays: [NaiveDate; 2],
    dates: &[(GoalId, NaiveDate)],
) -> [Side; 2] {
    [0, 1].map(|side| Side {
        today: todays[side],
        dates: dates
            .iter()
            .filter(|(goal, _)| Some(*goal) == row.goal(side))
            .map(|(_, date)| *date)
            .collect(),
    })
}

/// Where the shared streak starts counting.
pub(crate) fn start_of(row: &PartnershipRow) -> NaiveDate {
    row.started_on.unwrap_or(NaiveDate::MIN)
}

/// What a reader's view of a partnership needs besides the row and what is read: the
/// reader's side, each side's today, and the first day whose check-ins the shared streak
/// reads (`None` for one that is not active: it reads none).
#[derive(Debug, Clone)]
pub struct Pieces {
    pub side: usize,
    pub todays: [NaiveDate; 2],
    pub from: Option<NaiveDate>,
}

impl Pieces {
    /// For `reader` and their partner as read (`None`: gone), at `now`; `None` when the
    /// reader is not a partner.
    pub fn of(
        row: &PartnershipRow,
        reader: &UserRow,
        partner: Option<&UserRow>,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let side = row.side_of(reader.id)?;
        let mut zones = [reader.time_zone(); 2];
        zones[1 - side] = zone_of(partner);
        let todays = zones.map(|zone| streak::today(now, zone));
        let from = (row.status() == PartnershipStatus::Active).then(|| row.rule().window(todays));
        Some(Self { side, todays, from })
    }

    /// The view, from what was read.
    pub fn seen(
        self,
        row: PartnershipRow,
        partner: Option<UserRow>,
        goal: Option<(GoalId, String)>,
        dates: &[(GoalId, NaiveDate)],
    ) -> Seen {
        let streak = match self.from {
            Some(_) => partnership::read(
                row.rule(),
                start_of(&row),
                &row.summary(),
                &sides(&row, self.todays, dates),
            ),
            None => settled(&row),
        };
        Seen {
            row,
            side: self.side,
            goal,
            partner,
            streak,
        }
    }
}

/// The reader's view of a partnership, read outside any transaction.
pub async fn seen(
    store: &dyn Store,
    clock: &dyn Clock,
    reader: &UserRow,
    row: PartnershipRow,
) -> AppResult<Seen> {
    seen_page(store, clock, reader, vec![row])
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("the partnership"))
}

/// The reader's views of a page of partnerships: three reads for the page (the partners,
/// the goals' titles, their recent check-ins), whatever its length.
pub async fn seen_page(
    store: &dyn Store,
    clock: &dyn Clock,
    reader: &UserRow,
    rows: Vec<PartnershipRow>,
) -> AppResult<Vec<Seen>> {
    let unknown = || AppError::not_found("the partnership");
    let sides = rows
        .iter()
        .map(|row| row.side_of(reader.id).ok_or_else(unknown))
        .collect::<AppResult<Vec<usize>>>()?;
    let partner_ids: Vec<UserId> = rows
        .iter()
        .zip(&sides)
        .filter_map(|(row, side)| row.user(1 - side))
        .collect();
    let partners = store.users_among(&partner_ids).await?;
    let partner_of = |row: &PartnershipRow, side: usize| {
        row.user(1 - side)
            .and_then(|id| partners.iter().find(|user| user.id == id).cloned())
    };
    let now = clock.now();
    let pieces = rows
        .iter()
        .zip(&sides)
        .map(|(row, side)| {
            Pieces::of(row, reader, partner_of(row, *side).as_ref(), now).ok_or_else(unknown)
        })
        .collect::<AppResult<Vec<Pieces>>>()?;
    let goals: Vec<GoalId> = rows
        .iter()
        .flat_map(|row| [row.goal(0), row.goal(1)])
        .flatten()
        .collect();
    let from = pieces.iter().filter_map(|p| p.from).min();
    let read = if goals.is_empty() {
        GoalsAmong::default()
    } else {
        store.goals_among(&goals, from).await?
    };
    Ok(rows
        .into_iter()
        .zip(sides)
        .zip(pieces)
        .map(|((row, side), pieces)| {
            let partner = partner_of(&row, side);
            let goal = row.goal(side).and_then(|goal| {
                read.titles
                    .iter()
                    .find(|(id, _)| *id == goal)
                    .map(|(_, title)| (goal, title.clone()))
            });
            let dates: Vec<(GoalId, NaiveDate)> = match pieces.from {
                Some(from) => read
                    .dates
                    .iter()
                    .filter(|(_, date)| *date >= from)
                    .copied()
                    .collect(),
                None => Vec::new(),
            };
            pieces.seen(row, partner, goal, &dates)
        })
        .collect())
}

/// The shared streak now, inside a write's transaction.
async fn streak_in(
    tx: &mut dyn Tx,
    row: &PartnershipRow,
    users: &[Option<UserRow>; 2],
    now: DateTime<Utc>,
) -> AppResult<SharedStreak> {
    if row.status() != PartnershipStatus::Active {
        return Ok(settled(row));
    }
    let todays = [0, 1].map(|side| streak::today(now, zone_of(users[side].as_ref())));
    let rule = row.rule();
    let dates = tx
        .partner_dates([row.goal(0), row.goal(1)], rule.window(todays))
        .await?;
    Ok(partnership::read(
        rule,
        start_of(row),
        &row.summary(),
        &sides(row, todays, &dates),
    ))
}

/// Opens a write about a partnership: both partners held (the caller first), the
/// partnership locked, the caller one of them (404 otherwise).
async fn begin_on(
    store: &dyn Store,
    user: UserId,
    id: i64,
) -> AppResult<(Box<dyn Tx>, PartnershipRow, usize)> {
    let unknown = || AppError::not_found("the partnership");
    let peek = store.partnership(id).await?.ok_or_else(unknown)?;
    let side = peek.side_of(user).ok_or_else(unknown)?;
    let mut tx = store.begin_for(user, crate::db::Hold::Write).await?;
    if let Some(other) = peek.user(1 - side) {
        tx.hold_also(other).await?;
    }
    active_user(&mut *tx, user).await?;
    let row = tx.lock_partnership(id).await?.ok_or_else(unknown)?;
    let side = row.side_of(user).ok_or_else(unknown)?;
    Ok((tx, row, side))
}

fn refused(refusal: PartnerRefusal, field: &str) -> AppError {
    match refusal {
        PartnerRefusal::Oneself => {
            AppError::validation("user_id", "a user cannot partner with themselves")
        }
        PartnerRefusal::NotMutual => AppError::validation(
            field,
            "only users who follow each other can partner: both must follow the other",
        ),
        PartnerRefusal::TooMany => AppError::validation(
            "goal_id",
            format!("a goal has at most {PARTNERSHIPS_PER_GOAL} active or pending partnerships"),
        ),
        PartnerRefusal::OtherCadence => AppError::validation(
            "goal_id",
            "must have the partnership's cadence (daily or weekly)",
        ),
    }
}

async fn mutual(tx: &mut dyn Tx, a: UserId, b: UserId) -> AppResult<bool> {
    Ok(tx.follows(a, b).await? && tx.follows(b, a).await? && !tx.blocked_either_way(a, b).await?)
}

/// `inviter` invites `invitee` to partner on the inviter's goal: the new partnership's id.
#[tracing::instrument(skip_all, fields(user_id = %inviter, goal_id = %goal, invitee_id = %invitee))]
pub async fn invite(
    store: &dyn Store,
    clock: &dyn Clock,
    inviter: UserId,
    goal: GoalId,
    invitee: UserId,
) -> AppResult<i64> {
    retry(|| async move {
        let now = clock.now();
        let mut tx = store.begin_for(inviter, crate::db::Hold::Write).await?;
        if invitee != inviter {
            tx.hold_also(invitee).await?;
        }
        let owner = active_user(&mut *tx, inviter).await?;
        let row = tx
            .lock_goal(inviter, goal)
            .await?
            .ok_or_else(|| AppError::not_found("the goal"))?;
        if row.status != GoalStatus::InProgress {
            return Err(AppError::Conflict(format!(
                "only an in-progress goal takes partners; this one is {}",
                row.status.as_str()
            )));
        }
        // A body's member naming nobody: 422 naming it (a 404 is for the path's goal).
        if invitee != inviter && tx.user(invitee).await?.is_none() {
            return Err(AppError::validation("user_id", "no such user"));
        }
        if tx.open_with(goal, invitee).await? {
            return Err(AppError::Conflict(
                "this goal already has a pending or active partnership with that user".into(),
            ));
        }
        let mutual = invitee != inviter && mutual(&mut *tx, inviter, invitee).await?;
        let open = tx.open_on_goal(goal).await?;
        may_partner(inviter, invitee, mutual, open).map_err(|r| refused(r, "user_id"))?;
        let cadence = row.schedule().cadence();
        let id = tx
            .insert_partnership(inviter, invitee, goal, cadence, owner.week_start(), now)
            .await?;
        let unit = match cadence {
            crate::domain::goal::Cadence::Daily => StreakUnit::Day,
            crate::domain::goal::Cadence::Weekly => StreakUnit::Week,
        };
        tx.announce(
            &PlatformEvent::PartnershipRequested(PartnershipRequestFacts {
                user_id: invitee,
                from_user_id: inviter,
                partnership_id: id,
                goal_id: goal,
                unit,
            }),
            now,
        );
        tx.commit().await?;
        Ok(id)
    })
    .await
}

/// The invited user accepts with a goal of theirs.
#[tracing::instrument(skip_all, fields(user_id = %user, partnership_id = id, goal_id = %goal))]
pub async fn accept(
    store: &dyn Store,
    clock: &dyn Clock,
    user: UserId,
    id: i64,
    goal: GoalId,
) -> AppResult<()> {
    retry(|| async move {
        let now = clock.now();
        let (mut tx, row, side) = begin_on(store, user, id).await?;
        if side != 1 {
            return Err(AppError::Conflict(
                "only the invited user accepts an invitation".into(),
            ));
        }
        if row.status() != PartnershipStatus::Pending {
            return Err(AppError::Conflict(format!(
                "the partnership is {}, not pending",
                row.status().as_str()
            )));
        }
        let invitee = active_user(&mut *tx, user).await?;
        let (Some(inviter_id), Some(inviter_goal)) = (row.inviter_id, row.inviter_goal_id) else {
            return Err(AppError::Conflict("the inviter is no longer here".into()));
        };
        let inviter = active_user(&mut *tx, inviter_id).await?;
        let mine = tx
            .lock_goal(user, goal)
            .await?
            .ok_or_else(|| AppError::validation("goal_id", "must be one of your goals"))?;
        if mine.status != GoalStatus::InProgress {
            return Err(AppError::validation(
                "goal_id",
                "must be an in-progress goal",
            ));
        }
        if mine.schedule().cadence() != row.cadence() {
            return Err(refused(PartnerRefusal::OtherCadence, "goal_id"));
        }
        let theirs = tx
            .lock_goal(inviter_id, inviter_goal)
            .await?
            .ok_or_else(|| AppError::Conflict("the inviter's goal is gone".into()))?;
        let mutual = mutual(&mut *tx, user, inviter_id).await?;
        let open = tx.open_on_goal(goal).await?;
        may_partner(user, inviter_id, mutual, open).map_err(|r| refused(r, "goal_id"))?;
        let rule = match row.cadence() {
            crate::domain::goal::Cadence::Daily => SharedRule::Daily,
            crate::domain::goal::Cadence::Weekly => SharedRule::Weekly {
                week_start: inviter.week_start(),
                targets: [
                    theirs.schedule().days_per_week().unwrap_or(1),
                    mine.schedule().days_per_week().unwrap_or(1),
                ],
            },
        };
        let todays = [
            streak::today(now, inviter.time_zone()),
            streak::today(now, invitee.time_zone()),
        ];
        let started_on = todays[0].min(todays[1]);
        let from = rule.unit_of(started_on);
        let dates = tx
            .partner_dates([Some(inviter_goal), Some(goal)], from)
            .await?;
        let sides = [0, 1].map(|s| Side {
            today: todays[s],
            dates: dates
                .iter()
                .filter(|(g, _)| *g == [inviter_goal, goal][s])
                .map(|(_, d)| *d)
                .collect(),
        });
        let summary = partnership::from_histories(rule, started_on, &sides);
        tx.activate_partnership(id, goal, rule, started_on, &summary, now)
            .await?;
        for (who, other, goal) in [(inviter_id, user, inviter_goal), (user, inviter_id, goal)] {
            tx.announce(
                &PlatformEvent::PartnershipStarted(PartnershipFacts {
                    user_id: who,
                    partner_id: Some(other),
                    partnership_id: id,
                    goal_id: Some(goal),
                }),
                now,
            );
        }
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Either partner ends a partnership, or declines or withdraws an invitation. Ending one
/// that has ended changes nothing.
#[tracing::instrument(skip_all, fields(user_id = %user, partnership_id = id))]
pub async fn end(store: &dyn Store, clock: &dyn Clock, user: UserId, id: i64) -> AppResult<()> {
    retry(|| async move {
        let now = clock.now();
        let (mut tx, row, side) = begin_on(store, user, id).await?;
        let status = row.status();
        if status == PartnershipStatus::Ended {
            return Ok(());
        }
        let reason = EndReason::by_hand(status, side == 0);
        end_one(&mut *tx, &row, reason, None, now).await?;
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// Ends one open partnership, telling each partner who remains (not `gone`, an erased user).
async fn end_one(
    tx: &mut dyn Tx,
    row: &PartnershipRow,
    reason: EndReason,
    gone: Option<UserId>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut users: [Option<UserRow>; 2] = [None, None];
    for side in [0, 1] {
        if let Some(id) = row.user(side) {
            users[side] = tx.user(id).await?;
        }
    }
    let streak = streak_in(tx, row, &users, now).await?;
    if !tx
        .end_partnership(row.id, reason, streak.streak, now)
        .await?
    {
        return Ok(());
    }
    for side in [0, 1] {
        let Some(user) = row.user(side).filter(|user| Some(*user) != gone) else {
            continue;
        };
        let partner = row.user(1 - side).filter(|other| Some(*other) != gone);
        tx.announce(
            &PlatformEvent::PartnershipEnded(PartnershipEndFacts {
                user_id: user,
                partner_id: partner,
                partnership_id: row.id,
                reason: reason.as_str().to_owned(),
                shared_streak: streak.streak,
            }),
            now,
        );
    }
    Ok(())
}

/// Ends every open partnership `of` names, inside another write's transaction: a block or
/// an unfollow (between two users), a goal deleted or completed, an erasure or a
/// deactivation (of a user, who is `gone` when erased).
pub(crate) async fn end_open(
    tx: &mut dyn Tx,
    of: OpenOf,
    reason: EndReason,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let gone = match (of, reason) {
        (OpenOf::User(user), EndReason::Erased) => Some(user),
        _ => None,
    };
    for row in tx.lock_open_partnerships(of).await? {
        end_one(tx, &row, reason, gone, now).await?;
    }
    Ok(())
}

/// `user` nudges their partner to check in today.
#[tracing::instrument(skip_all, fields(user_id = %user, partnership_id = id))]
pub async fn nudge(store: &dyn Store, clock: &dyn Clock, user: UserId, id: i64) -> AppResult<()> {
    retry(|| async move {
        let now = clock.now();
        let (mut tx, row, side) = begin_on(store, user, id).await?;
        if row.status() != PartnershipStatus::Active {
            return Err(AppError::Conflict(format!(
                "only an active partnership takes nudges; this one is {}",
                row.status().as_str()
            )));
        }
        let me = active_user(&mut *tx, user).await?;
        let partner_id = row
            .user(1 - side)
            .ok_or_else(|| AppError::Conflict("the partner is no longer here".into()))?;
        let partner = tx
            .user(partner_id)
            .await?
            .ok_or_else(|| AppError::Conflict("the partner is no longer here".into()))?;
        let their_today = streak::today(now, partner.time_zone());
        let their_goal = row.goal(1 - side);
        let checked_in = tx
            .partner_dates([their_goal, None], their_today)
            .await?
            .iter()
            .any(|(goal, date)| Some(*goal) == their_goal && *date == their_today);
        if checked_in {
            return Err(AppError::Conflict(
                "the partner has checked in today already".into(),
            ));
        }
        let my_today = streak::today(now, me.time_zone());
        if !tx.insert_nudge(id, user, my_today, now).await? {
            let retry_after = partnership::seconds_to_next_local_day(now, me.time_zone());
            return Err(AppError::QuotaSpent {
                message: format!(
                    "one nudge per partner per day; retry in {retry_after} s, on your next day"
                ),
                retry_after,
            });
        }
        tx.announce(
            &PlatformEvent::PartnerNudged(NudgeFacts {
                user_id: partner_id,
                from_user_id: user,
                partnership_id: id,
            }),
            now,
        );
        tx.commit().await?;
        Ok(())
    })
    .await
}

/// A check-in of `user` on `goal` for `day`, inside its transaction (after the check-in is
/// written): each active partnership on the goal folds the day into its shared streak,
/// reading the two goals' check-ins of the last few days only; a grown streak is announced
/// to both partners and earns them their badges.
pub(crate) async fn checked_in(
    tx: &mut dyn Tx,
    owner: &UserRow,
    goal: GoalId,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for row in tx
        .lock_open_partnerships(OpenOf::ActiveOnGoal(goal))
        .await?
    {
        let Some(side) = row.side_of(owner.id) else {
            continue;
        };
        let Some(partner) = (match row.user(1 - side) {
            Some(id) => tx.user(id).await?,
            None => None,
        }) else {
            continue;
        };
        let mut zones = [owner.time_zone(); 2];
        zones[1 - side] = partner.time_zone();
        let todays = zones.map(|zone| streak::today(now, zone));
        let rule = row.rule();
        let start = start_of(&row);
        let from = rule
            .window(todays)
            .min(rule.unit_of(day))
            .max(rule.unit_of(start));
        let dates = tx.partner_dates([row.goal(0), row.goal(1)], from).await?;
        let sides = sides(&row, todays, &dates);
        let stored = row.summary();
        let mut before_sides = sides.clone();
        before_sides[side] = sides[side].without(day);
        let before = partnership::read(rule, start, &stored, &before_sides);
        let summary = if partnership::shares_an_earlier_unit(rule, &stored, &sides, side, day) {
            whole_history(tx, &row, todays).await?
        } else {
            partnership::fold(rule, start, &stored, &sides, from)
        };
        if summary != stored {
            tx.save_shared_summary(row.id, &summary).await?;
        }
        let after = partnership::read(rule, start, &summary, &sides);
        if after.streak > before.streak {
            announce_growth(tx, &row, &before, &after, now).await?;
        }
    }
    Ok(())
}

/// A check-in taken back on `goal` for `day`: a shared unit it was part of is counted
/// again from both histories; a later day was never folded in.
pub(crate) async fn checked_out(
    tx: &mut dyn Tx,
    owner: &UserRow,
    goal: GoalId,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for row in tx
        .lock_open_partnerships(OpenOf::ActiveOnGoal(goal))
        .await?
    {
        let rule = row.rule();
        let stored = row.summary();
        if stored
            .last_checkin
            .is_none_or(|last| rule.unit_of(day) > last)
        {
            continue;
        }
        let Some(side) = row.side_of(owner.id) else {
            continue;
        };
        let partner = match row.user(1 - side) {
            Some(id) => tx.user(id).await?,
            None => None,
        };
        let mut zones = [owner.time_zone(); 2];
        zones[1 - side] = zone_of(partner.as_ref());
        let todays = zones.map(|zone| streak::today(now, zone));
        let summary = whole_history(tx, &row, todays).await?;
        tx.save_shared_summary(row.id, &summary).await?;
    }
    Ok(())
}

/// The shared summary folded again from both goals' whole histories: only for a day
/// checked in before the last shared one, or a check-in taken back.
async fn whole_history(
    tx: &mut dyn Tx,
    row: &PartnershipRow,
    todays: [NaiveDate; 2],
) -> AppResult<StreakSummary> {
    let mut sides = [0, 1].map(|side| Side {
        today: todays[side],
        dates: Vec::new(),
    });
    for (side, entry) in sides.iter_mut().enumerate() {
        if let Some(goal) = row.goal(side) {
            entry.dates = tx.checkin_dates(goal).await?;
        }
    }
    Ok(partnership::from_histories(
        row.rule(),
        start_of(row),
        &sides,
    ))
}

/// Tells both partners their shared streak grew, and a milestone it reached; a daily
/// shared streak earns both their badges.
async fn announce_growth(
    tx: &mut dyn Tx,
    row: &PartnershipRow,
    before: &SharedStreak,
    after: &SharedStreak,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let (Some(a), Some(b)) = (row.inviter_id, row.invitee_id) else {
        return Ok(());
    };
    let milestone = milestone_reached(before.streak, after.streak);
    for (user, partner) in [(a, b), (b, a)] {
        tx.announce(
            &PlatformEvent::PartnerStreakExtended(PartnerStreakFacts {
                user_id: user,
                partner_id: partner,
                partnership_id: row.id,
                streak: after.streak,
                longest_streak: after.longest,
                unit: after.unit,
            }),
            now,
        );
        if let Some(milestone) = milestone {
            tx.announce(
                &PlatformEvent::PartnerStreakMilestone(PartnerMilestoneFacts {
                    user_id: user,
                    partner_id: partner,
                    partnership_id: row.id,
                    milestone,
                    streak: after.streak,
                    unit: after.unit,
                }),
                now,
            );
        }
        if after.unit == StreakUnit::Day {
            award_earned(
                tx,
                user,
                Measure::SharedStreakDays,
                Some(i64::from(after.longest)),
                now,
            )
            .await?;
        }
    }
    Ok(())
}
