//! Accountability partners: two users, each on a goal of their own of the same cadence, who
//! keep a streak together.
//!
//! **The shared streak.** A unit is a day (daily goals) or a week starting on the inviter's
//! `week_start` (weekly goals). Each partner's check-ins keep the dates of their own time
//! zone, and each partner has their own "today". A unit is, for one partner:
//!
//! - *met* when they checked in on it (daily), or on at least their goal's target of its
//!   days (weekly);
//! - *still open* while it can be met: enough of its days are left from their today, after
//!   their last check-in (the single-goal rules' reading, so today, once checked in, is no
//!   longer left);
//! - *lost* otherwise.
//!
//! A unit is **shared** when both met it, **missed** when either lost it, and open
//! otherwise. The streak is the single-goal rule over the shared units: each adds one, a
//! freeze is earned every 7 shared days (every 4 shared weeks), at most 2 held, and a missed
//! unit spends one or ends the run; an open unit breaks nothing. [`StreakSummary`] folds
//! the shared units (the daily rule over days, the weekly rule with a target of one over
//! the weeks' first days), so the fold, the freezes and their spending are the existing
//! rules' own. The summary is stored with the partnership and kept in the check-in's
//! transaction; a read adds only the units of the partners' last few days.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    profile::TimeZone,
    streak::{Rule, StreakSummary, StreakUnit},
    week::WeekStart,
};

/// Active and pending partnerships a goal may have at once.
pub const PARTNERSHIPS_PER_GOAL: i64 = 5;

/// The shared streak lengths (in days) that earn the partners a badge.
pub const SHARED_STREAK_BADGES: [u32; 2] = [7, 30];

/// Where a partnership stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnershipStatus {
    /// Invited, not yet accepted.
    Pending,
    Active,
    /// Declined, withdrawn or ended: kept as history.
    Ended,
}

impl PartnershipStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "pending" => Ok(Self::Pending),
            "active" => Ok(Self::Active),
            "ended" => Ok(Self::Ended),
            _ => Err("must be pending, active or ended".into()),
        }
    }

    /// As stored: an unknown name (written by another program) reads as ended.
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(Self::Ended)
    }
}

/// Why a partnership ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The invited user said no.
    Declined,
    /// The inviter took the invitation back.
    Withdrawn,
    /// A partner ended it.
    Ended,
    Blocked,
    Unfollowed,
    GoalDeleted,
    GoalCompleted,
    Erased,
    Deactivated,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Declined => "declined",
            Self::Withdrawn => "withdrawn",
            Self::Ended => "ended",
            Self::Blocked => "blocked",
            Self::Unfollowed => "unfollowed",
            Self::GoalDeleted => "goal_deleted",
            Self::GoalCompleted => "goal_completed",
            Self::Erased => "erased",
            Self::Deactivated => "deactivated",
        }
    }

    pub fn from_stored(raw: &str) -> Self {
        [
            Self::Declined,
            Self::Withdrawn,
            Self::Ended,
            Self::Blocked,
            Self::Unfollowed,
            Self::GoalDeleted,
            Self::GoalCompleted,
            Self::Erased,
            Self::Deactivated,
        ]
        .into_iter()
        .find(|reason| reason.as_str() == raw)
        .unwrap_or(Self::Ended)
    }

    /// A partner ending it by hand: a pending invitation is declined by the invited user
    /// or withdrawn by the inviter; an active partnership is ended.
    pub fn by_hand(status: PartnershipStatus, by_inviter: bool) -> Self {
        match (status, by_inviter) {
            (PartnershipStatus::Pending, true) => Self::Withdrawn,
            (PartnershipStatus::Pending, false) => Self::Declined,
            _ => Self::Ended,
        }
    }
}

/// Why an invitation or an acceptance is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerRefusal {
    Oneself,
    /// The two do not follow each other.
    NotMutual,
    /// The goal has [`PARTNERSHIPS_PER_GOAL`] open partnerships.
    TooMany,
    /// The accepting goal's cadence is not the partnership's.
    OtherCadence,
}

/// Whether `user` may partner with `other`: not themselves, following each other, and the
/// goal below its limit.
pub fn may_partner(
    user: super::UserId,
    other: super::UserId,
    mutual: bool,
    open_on_goal: i64,
) -> Result<(), PartnerRefusal> {
    if user == other {
        Err(PartnerRefusal::Oneself)
    } else if !mutual {
        Err(PartnerRefusal::NotMutual)
    } else if open_on_goal >= PARTNERSHIPS_PER_GOAL {
        Err(PartnerRefusal::TooMany)
    } else {
        Ok(())
    }
}

/// How a partnership's shared streak counts: by days, or by the inviter's weeks with each
/// partner's own target (inviter's first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedRule {
    Daily,
    Weekly {
        week_start: WeekStart,
        targets: [u32; 2],
    },
}

impl SharedRule {
    pub fn unit(self) -> StreakUnit {
        match self {
            Self::Daily => StreakUnit::Day,
            Self::Weekly { .. } => StreakUnit::Week,
        }
    }

    /// The first day of the unit that holds `date`.
    pub fn unit_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Self::Daily => date,
            Self::Weekly { week_start, .. } => week_start.week_of(date),
        }
    }

    fn length(self) -> u64 {
        match self {
            Self::Daily => 1,
            Self::Weekly { .. } => 7,
        }
    }

    fn next(self, unit: NaiveDate) -> NaiveDate {
        unit + Days::new(self.length())
    }

    fn target(self, side: usize) -> u32 {
        match self {
            Self::Daily => 1,
            Self::Weekly { targets, .. } => targets[side].max(1),
        }
    }

    /// The single-goal rule the shared units are folded by: one "day" per shared unit.
    fn fold_rule(self) -> Rule {
        match self {
            Self::Daily => Rule::Daily,
            Self::Weekly { week_start, .. } => Rule::Weekly {
                target: 1,
                week_start,
            },
        }
    }

    /// The first day whose check-ins a read needs, given the partners' todays: the unit of
    /// the earlier one. Every unit before it is over for both partners.
    pub fn window(self, todays: [NaiveDate; 2]) -> NaiveDate {
        self.unit_of(todays[0].min(todays[1]))
    }
}

/// One partner as a rule reads them: their today, and their goal's check-in dates from a
/// given day on (earlier ones may be left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    pub today: NaiveDate,
    pub dates: Vec<NaiveDate>,
}

impl Side {
    fn last(&self) -> Option<NaiveDate> {
        self.dates.iter().copied().max()
    }

    fn checked_in(&self, day: NaiveDate) -> bool {
        self.dates.contains(&day)
    }

    /// The same side without one day's check-in.
    pub fn without(&self, day: NaiveDate) -> Self {
        Self {
            today: self.today,
            dates: self.dates.iter().copied().filter(|d| *d != day).collect(),
        }
    }
}

/// Seconds from `now` to the next midnight in `zone` (the first instant of the next day
/// there, whatever daylight saving does to it), at least one: when a partner may nudge again.
pub fn seconds_to_next_local_day(now: DateTime<Utc>, zone: TimeZone) -> u64 {
    let tomorrow = super::streak::today(now, zone)
        .succ_opt()
        .unwrap_or(NaiveDate::MAX);
    let tz = zone.tz();
    let mut local = tomorrow.and_time(NaiveTime::MIN);
    // A zone that skips its midnight starts the day at the first time it has.
    let next = loop {
        if let Some(at) = tz.from_local_datetime(&local).earliest() {
            break at.to_utc();
        }
        local += TimeDelta::minutes(30);
    };
    u64::try_from((next - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}

/// A unit for the pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitState {
    Shared,
    Missed,
    Open,
}

/// How the unit starting `unit` stands for the two sides.
pub fn unit_state(rule: SharedRule, unit: NaiveDate, sides: &[Side; 2]) -> UnitState {
    let end = rule.next(unit);
    let mut open = false;
    for (index, side) in sides.iter().enumerate() {
        let target = rule.target(index);
        let mut days: Vec<NaiveDate> = side
            .dates
            .iter()
            .copied()
            .filter(|d| unit <= *d && *d < end)
            .collect();
        days.sort_unstable();
        days.dedup();
        let met = days.len() as u32;
        if met >= target {
            continue;
        }
        let last = side.last();
        let first_left = match last {
            Some(last) => side.today.max(last + Days::new(1)),
            None => side.today,
        }
        .max(unit);
        let left = u32::try_from((end - first_left).num_days().max(0)).unwrap_or(0);
        if left < target - met {
            return UnitState::Missed;
        }
        open = true;
    }
    if open {
        UnitState::Open
    } else {
        UnitState::Shared
    }
}

/// The summary with every shared unit from `from` (a unit's first day, and no earlier
/// than `start`) folded in after its last one: `sides` must hold every check-in from
/// `from` on.
pub fn fold(
    rule: SharedRule,
    start: NaiveDate,
    summary: &StreakSummary,
    sides: &[Side; 2],
    from: NaiveDate,
) -> StreakSummary {
    let fold_rule = rule.fold_rule();
    let mut folded = summary.clone();
    let mut unit = rule.unit_of(from.max(start));
    let end = last_unit(rule, sides);
    while unit <= end {
        if unit_state(rule, unit, sides) == UnitState::Shared
            && let Some(next) = folded.with_later_day(fold_rule, unit)
        {
            folded = next;
        }
        unit = rule.next(unit);
    }
    folded
}

/// The summary from the partners' whole histories (since `start`): for a day checked in
/// before the last shared one, or a check-in taken back.
pub fn from_histories(rule: SharedRule, start: NaiveDate, sides: &[Side; 2]) -> StreakSummary {
    let first = sides
        .iter()
        .filter_map(|side| side.dates.iter().copied().filter(|d| *d >= start).min())
        .max();
    match first {
        Some(first) => fold(
            rule,
            start,
            &StreakSummary::default(),
            sides,
            first.max(start),
        ),
        None => StreakSummary::default(),
    }
}

/// The last unit a read looks at: the later of each side's today and last check-in.
fn last_unit(rule: SharedRule, sides: &[Side; 2]) -> NaiveDate {
    let latest = sides
        .iter()
        .map(|side| side.last().map_or(side.today, |last| last.max(side.today)))
        .max()
        .unwrap_or(NaiveDate::MIN);
    rule.unit_of(latest)
}

/// A partnership's shared streak now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedStreak {
    pub streak: u32,
    pub longest: u32,
    pub unit: StreakUnit,
    pub freezes: u32,
    /// The missed units a freeze covered in the current run (their first days).
    pub frozen: Vec<NaiveDate>,
    /// Whether each side checked in on their own today.
    pub today: [bool; 2],
}

/// The shared streak on the sides' todays, from the stored summary and each side's
/// check-ins from [`SharedRule::window`] on: the units since the summary's last shared one
/// that are missed spend freezes or end the run, open ones break nothing.
pub fn read(
    rule: SharedRule,
    start: NaiveDate,
    summary: &StreakSummary,
    sides: &[Side; 2],
) -> SharedStreak {
    let window = rule
        .window([sides[0].today, sides[1].today])
        .max(rule.unit_of(start));
    let mut carried = fold(rule, start, summary, sides, window);
    let end = last_unit(rule, sides);
    if let Some(last) = carried.last_checkin {
        let mut unit = rule.next(last);
        // Before the window every unit is over for both, and none after the last shared
        // one was shared: each is missed. A run survives at most `MAX_FREEZES` of them.
        while unit < window && carried.run > 0 {
            carried.miss(unit);
            unit = rule.next(unit);
        }
        let mut unit = unit.max(window);
        while unit <= end && carried.run > 0 {
            if unit_state(rule, unit, sides) == UnitState::Missed {
                carried.miss(unit);
            }
            unit = rule.next(unit);
        }
    }
    SharedStreak {
        streak: carried.run,
        longest: carried.longest,
        unit: rule.unit(),
        freezes: carried.freezes,
        frozen: carried.frozen_dates,
        today: [
            sides[0].checked_in(sides[0].today),
            sides[1].checked_in(sides[1].today),
        ],
    }
}

/// Whether the check-in of `side` on `day` made its unit shared where it was not, in a
/// unit before the summary's last shared one (so the summary must be folded again from
/// the histories).
pub fn shares_an_earlier_unit(
    rule: SharedRule,
    summary: &StreakSummary,
    sides: &[Side; 2],
    side: usize,
    day: NaiveDate,
) -> bool {
    let unit = rule.unit_of(day);
    if summary.last_checkin.is_none_or(|last| unit >= last) {
        return false;
    }
    let mut before = sides.clone();
    before[side] = sides[side].without(day);
    unit_state(rule, unit, sides) == UnitState::Shared
        && unit_state(rule, unit, &before) != UnitState::Shared
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{
        streak::{FREEZE_EVERY, MAX_FREEZES, today},
        weekly_streak::FREEZE_EVERY_WEEKS,
    };

    /// 2026-03-02, a Monday.
    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() + Duration::days(n)
    }

    fn side(today: i64, dates: &[i64]) -> Side {
        Side {
            today: day(today),
            dates: dates.iter().map(|n| day(*n)).collect(),
        }
    }

    fn weekly(a: u32, b: u32) -> SharedRule {
        SharedRule::Weekly {
            week_start: WeekStart::Monday,
            targets: [a, b],
        }
    }

    /// The shared streak from whole histories, as the service reads it from a summary.
    fn shared(rule: SharedRule, sides: [Side; 2]) -> SharedStreak {
        let summary = from_histories(rule, day(0), &sides);
        read(rule, day(0), &summary, &sides)
    }

    #[test]
    fn a_day_counts_when_both_checked_in_on_it() {
        let s = shared(SharedRule::Daily, [side(2, &[0, 1, 2]), side(2, &[0, 2])]);
        // Day 1 was missed by the second partner and no freeze is held.
        assert_eq!((s.streak, s.longest), (1, 1));
        assert_eq!(s.today, [true, true]);
    }

    #[test]
    fn today_breaks_nothing_while_it_can_still_be_made() {
        let s = shared(
            SharedRule::Daily,
            [side(3, &[0, 1, 2]), side(3, &[0, 1, 2, 3])],
        );
        assert_eq!(s.streak, 3);
        assert_eq!(s.today, [false, true]);
        // The next day, day 3 is over for the first partner without a check-in.
        let s = shared(
            SharedRule::Daily,
            [side(4, &[0, 1, 2]), side(4, &[0, 1, 2, 3])],
        );
        assert_eq!(s.streak, 0);
    }

    #[test]
    fn a_partner_a_day_ahead_loses_a_day_the_other_has_not_reached_yet() {
        // The first partner is on day 4, the second still on day 3. Day 3 is over for the
        // first: without their check-in on it, it is missed whatever the second does.
        let s = shared(
            SharedRule::Daily,
            [side(4, &[0, 1, 2]), side(3, &[0, 1, 2])],
        );
        assert_eq!(s.streak, 0);
        // Checked in on day 3, it waits for the second partner's day 3.
        let s = shared(
            SharedRule::Daily,
            [side(4, &[0, 1, 2, 3]), side(3, &[0, 1, 2])],
        );
        assert_eq!(s.streak, 3);
    }

    #[test]
    fn seven_shared_days_earn_a_freeze_spent_on_a_missed_day() {
        let week: Vec<i64> = (0..7).collect();
        let mut a = week.clone();
        a.push(8);
        let s = shared(SharedRule::Daily, [side(8, &a), side(8, &a)]);
        assert_eq!((s.streak, s.freezes), (8, 0));
        assert_eq!(s.frozen, [day(7)]);
        // Two missed days with one freeze: the run ends.
        let s = shared(SharedRule::Daily, [side(9, &week), side(9, &week)]);
        assert_eq!((s.streak, s.longest), (0, 7));
    }

    #[test]
    fn a_week_counts_when_both_met_their_own_targets() {
        let rule = weekly(3, 1);
        let s = shared(rule, [side(3, &[0, 1, 2]), side(3, &[3])]);
        assert_eq!((s.streak, s.unit), (1, StreakUnit::Week));
        // The first partner's third day is still to come: the week is open.
        let s = shared(rule, [side(3, &[0, 1]), side(3, &[3])]);
        assert_eq!(s.streak, 0);
        // On Sunday with one day, three needed: the week is missed.
        let s = shared(rule, [side(13, &[0, 1, 2, 7]), side(13, &[3, 9])]);
        assert_eq!((s.streak, s.longest), (0, 1));
    }

    #[test]
    fn a_check_in_on_an_earlier_unit_that_makes_it_shared_is_noticed() {
        let sides = [side(3, &[0, 1, 2]), side(3, &[0, 2])];
        let summary = from_histories(
            SharedRule::Daily,
            day(0),
            &[side(3, &[0, 2]), side(3, &[0, 2])],
        );
        assert!(shares_an_earlier_unit(
            SharedRule::Daily,
            &summary,
            &[sides[0].clone(), side(3, &[0, 1, 2])],
            1,
            day(1)
        ));
        assert!(!shares_an_earlier_unit(
            SharedRule::Daily,
            &summary,
            &sides,
            0,
            day(1)
        ));
    }

    #[test]
    fn a_nudge_waits_for_the_next_day_of_the_nudger() {
        let now = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(seconds_to_next_local_day(now, TimeZone::UTC), 12 * 3600);
        // Kiritimati (UTC+14) is at 02:00 on the 11th.
        let kiritimati = TimeZone::parse("Pacific/Kiritimati").unwrap();
        assert_eq!(seconds_to_next_local_day(now, kiritimati), 22 * 3600);
    }

    #[test]
    fn an_invitation_needs_a_mutual_follow_and_room_on_the_goal() {
        let (a, b) = (
            crate::domain::UserId::parse(1).unwrap(),
            crate::domain::UserId::parse(2).unwrap(),
        );
        assert_eq!(may_partner(a, a, true, 0), Err(PartnerRefusal::Oneself));
        assert_eq!(may_partner(a, b, false, 0), Err(PartnerRefusal::NotMutual));
        assert_eq!(
            may_partner(a, b, true, PARTNERSHIPS_PER_GOAL),
            Err(PartnerRefusal::TooMany)
        );
        assert_eq!(may_partner(a, b, true, PARTNERSHIPS_PER_GOAL - 1), Ok(()));
    }

    // The literal reading: every unit from the start to the last one, each partner's whole
    // history, nothing stored.

    fn literal_met(rule: SharedRule, index: usize, unit: NaiveDate, side: &Side) -> UnitFor {
        let target = match rule {
            SharedRule::Daily => 1,
            SharedRule::Weekly { targets, .. } => targets[index],
        };
        let length = match rule {
            SharedRule::Daily => 1,
            SharedRule::Weekly { .. } => 7,
        };
        let days: Vec<NaiveDate> = (0..length).map(|i| unit + Duration::days(i)).collect();
        let met = days.iter().filter(|d| side.dates.contains(d)).count() as u32;
        if met >= target {
            return UnitFor::Met;
        }
        let last = side.dates.iter().max().copied();
        // A day is left when it is today or later and after the last check-in.
        let left = days
            .iter()
            .filter(|d| **d >= side.today && last.is_none_or(|last| **d > last))
            .count() as u32;
        if met + left >= target {
            UnitFor::Open
        } else {
            UnitFor::Lost
        }
    }

    #[derive(PartialEq)]
    enum UnitFor {
        Met,
        Open,
        Lost,
    }

    fn literal(rule: SharedRule, start: NaiveDate, sides: &[Side; 2]) -> (u32, u32) {
        let (every, length) = match rule {
            SharedRule::Daily => (FREEZE_EVERY, 1),
            SharedRule::Weekly { .. } => (FREEZE_EVERY_WEEKS, 7),
        };
        let unit_of = |d: NaiveDate| match rule {
            SharedRule::Daily => d,
            SharedRule::Weekly { week_start, .. } => week_start.week_of(d),
        };
        let end = sides
            .iter()
            .flat_map(|s| s.dates.iter().copied().chain([s.today]))
            .max()
            .unwrap();
        let (mut run, mut longest, mut freezes) = (0u32, 0u32, 0u32);
        let mut unit = unit_of(start);
        while unit <= unit_of(end) {
            let states: Vec<UnitFor> = sides
                .iter()
                .enumerate()
                .map(|(i, s)| literal_met(rule, i, unit, s))
                .collect();
            if states.iter().all(|s| *s == UnitFor::Met) {
                run += 1;
                if run % every == 0 && freezes < MAX_FREEZES {
                    freezes += 1;
                }
                longest = longest.max(run);
            } else if states.contains(&UnitFor::Lost) && run > 0 {
                if freezes > 0 {
                    freezes -= 1;
                } else {
                    run = 0;
                }
            }
            unit += Duration::days(length);
        }
        (run, longest)
    }

    /// Zones with daylight-saving changes in March and October–November, and the two
    /// 25 hours apart on either side of the date line.
    const ZONES: [&str; 6] = [
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "America/New_York",
        "Europe/London",
        "Australia/Sydney",
        "UTC",
    ];

    /// A partnership lived step by step: time moves on by some hours, and one partner
    /// checks in today or yesterday (their own), as the service allows. After every
    /// step, the summary kept as the service keeps it (folded at each check-in, from the
    /// check-ins of the last few days only) reads as the literal walk over both histories.
    fn lived(
        rule: SharedRule,
        zones: [usize; 2],
        start: DateTime<Utc>,
        steps: &[(u32, usize, bool)],
    ) -> Result<(), TestCaseError> {
        let zones = zones.map(|z| TimeZone::parse(ZONES[z]).unwrap());
        let mut now = start;
        let todays = |now| zones.map(|zone| today(now, zone));
        let begun = todays(now);
        let first = begun[0].min(begun[1]);
        let mut histories: [Vec<NaiveDate>; 2] = [Vec::new(), Vec::new()];
        let mut summary = StreakSummary::default();
        for &(hours, who, yesterday) in steps {
            now += TimeDelta::hours(i64::from(hours));
            let todays = todays(now);
            let date = if yesterday {
                todays[who].pred_opt().unwrap()
            } else {
                todays[who]
            };
            if histories[who].contains(&date) {
                continue;
            }
            histories[who].push(date);
            // What the service reads in the check-in's transaction: the days from the
            // earlier of the window and the check-in's unit.
            let from = rule
                .window(todays)
                .min(rule.unit_of(date))
                .max(rule.unit_of(first));
            let recent = |i: usize| Side {
                today: todays[i],
                dates: histories[i]
                    .iter()
                    .copied()
                    .filter(|d| *d >= from)
                    .collect(),
            };
            let sides = [recent(0), recent(1)];
            summary = if shares_an_earlier_unit(rule, &summary, &sides, who, date) {
                let whole = [0, 1].map(|i| Side {
                    today: todays[i],
                    dates: histories[i].clone(),
                });
                from_histories(rule, first, &whole)
            } else {
                fold(rule, first, &summary, &sides, from)
            };
            let window = rule.window(todays);
            let read_sides = [0, 1].map(|i| Side {
                today: todays[i],
                dates: histories[i]
                    .iter()
                    .copied()
                    .filter(|d| *d >= window)
                    .collect(),
            });
            let got = read(rule, first, &summary, &read_sides);
            let whole = [0, 1].map(|i| Side {
                today: todays[i],
                dates: histories[i].clone(),
            });
            prop_assert_eq!(
                (got.streak, got.longest),
                literal(rule, first, &whole),
                "at {} with {:?}",
                now,
                histories
            );
            prop_assert_eq!(got.today, [0, 1].map(|i| histories[i].contains(&todays[i])));
        }
        Ok(())
    }

    fn steps() -> impl Strategy<Value = Vec<(u32, usize, bool)>> {
        proptest::collection::vec((0u32..30, 0usize..2, proptest::bool::weighted(0.2)), 0..120)
    }

    /// Instants around the daylight-saving changes of 2026 (March in the north, April and
    /// October in the south, October–November in the north).
    fn starts() -> impl Strategy<Value = DateTime<Utc>> {
        (
            prop_oneof![
                Just("2026-03-01T00:00:00Z"),
                Just("2026-03-24T00:00:00Z"),
                Just("2026-09-28T00:00:00Z"),
                Just("2026-10-20T00:00:00Z")
            ],
            0i64..48,
        )
            .prop_map(|(at, hours)| {
                DateTime::parse_from_rfc3339(at).unwrap().to_utc() + TimeDelta::hours(hours)
            })
    }

    proptest! {
        #[test]
        fn a_daily_shared_streak_kept_check_in_by_check_in_reads_as_the_literal_walk(
            zones in (0usize..6, 0usize..6),
            start in starts(),
            steps in steps(),
        ) {
            lived(SharedRule::Daily, [zones.0, zones.1], start, &steps)?;
        }

        #[test]
        fn a_weekly_shared_streak_kept_check_in_by_check_in_reads_as_the_literal_walk(
            zones in (0usize..6, 0usize..6),
            targets in (1u32..8, 1u32..8),
            sunday in proptest::bool::ANY,
            start in starts(),
            steps in steps(),
        ) {
            let week_start = if sunday { WeekStart::Sunday } else { WeekStart::Monday };
            let rule = SharedRule::Weekly { week_start, targets: [targets.0, targets.1] };
            lived(rule, [zones.0, zones.1], start, &steps)?;
        }

        /// Partners 25 hours apart, on either side of the date line, check in every day.
        #[test]
        fn partners_a_day_apart_who_check_in_daily_keep_their_streak(
            start in starts(),
            skip in proptest::bool::weighted(0.1),
        ) {
            let steps: Vec<(u32, usize, bool)> = (0..40)
                .flat_map(|_| [(12, 0, false), (0, 1, false), (12, 0, false), (0, 1, false)])
                .collect();
            let steps = if skip { steps[..10].to_vec() } else { steps };
            lived(SharedRule::Daily, [0, 1], start, &steps)?;
        }
    }
}
