//! Streaks, in the user's own calendar.
//!
//! A day is a calendar date in the user's time zone; a check-in keeps the date it was made
//! for, whatever time zone the user moves to later, and a daylight-saving day is a day like
//! any other. The rules, day by day:
//!
//! - a day with a check-in adds one to the streak; every 7th consecutive day earns a freeze,
//!   at most 2 held;
//! - a missed day (other than today, which is not over yet) spends a held freeze: it keeps
//!   the streak alive without adding to it. With no freeze left, the streak resets to 0;
//! - the longest streak is the best run ever.
//!
//! [`StreakSummary`] folds a goal's history up to its last check-in; [`StreakSummary::on`]
//! carries it forward to any later day. The summary is stored with the goal, so reading a
//! goal costs the same however long its history, and [`streak`] (history + today) is
//! defined as exactly that composition.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{profile::TimeZone, week::WeekStart, weekly_streak};

/// Every this many consecutive check-in days earn a freeze.
pub const FREEZE_EVERY: u32 = 7;
/// Freezes a goal can hold at once.
pub const MAX_FREEZES: u32 = 2;
/// A goal whose last check-in is older than this many days has no live streak.
pub const MAX_ALIVE_GAP_DAYS: u64 = MAX_FREEZES as u64 + 1;

/// The calendar date it is now for a user in `zone`.
pub fn today(now: DateTime<Utc>, zone: TimeZone) -> NaiveDate {
    now.with_timezone(&zone.tz()).date_naive()
}

/// How a goal's streak counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rule {
    /// Consecutive days with a check-in.
    #[default]
    Daily,
    /// Consecutive weeks (starting on `week_start`) with a check-in on at least `target`
    /// days (see `weekly_streak`).
    Weekly { target: u32, week_start: WeekStart },
}

impl Rule {
    pub fn unit(self) -> StreakUnit {
        match self {
            Self::Daily => StreakUnit::Day,
            Self::Weekly { .. } => StreakUnit::Week,
        }
    }
}

/// What a streak counts: days or weeks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StreakUnit {
    #[default]
    Day,
    Week,
}

/// A goal's streak figures on a given day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Streak {
    /// Consecutive days (or, for a weekly goal, weeks) of the current streak.
    pub streak_count: u32,
    pub longest_streak: u32,
    /// `day` for a daily goal, `week` for a weekly one.
    pub streak_unit: StreakUnit,
    pub freezes_available: u32,
    /// Missed days a freeze covered in the current streak, oldest first; for a weekly goal,
    /// the first days of the missed weeks a freeze covered.
    pub frozen_dates: Vec<NaiveDate>,
    pub last_checkin_date: Option<NaiveDate>,
}

/// A goal's streak state as of its last check-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreakSummary {
    pub last_checkin: Option<NaiveDate>,
    /// Check-in days in the current run (frozen days do not count).
    pub run: u32,
    pub longest: u32,
    /// Freezes held after the last check-in.
    pub freezes: u32,
    pub frozen_dates: Vec<NaiveDate>,
    /// Weekly goals: days with a check-in in the week of the last check-in.
    #[serde(default)]
    pub week_days: u32,
}

impl StreakSummary {
    /// Folds check-in dates (any order, repeats ignored) into a summary.
    pub fn from_history(rule: Rule, dates: impl IntoIterator<Item = NaiveDate>) -> Self {
        let mut dates: Vec<NaiveDate> = dates.into_iter().collect();
        dates.sort_unstable();
        dates.dedup();
        let mut summary = Self::default();
        for date in dates {
            summary.add(rule, date);
        }
        summary
    }

    /// The summary with one more check-in day, when that day is after the last one: the
    /// usual check-in costs the same however long the history. `None` for a day at or
    /// before the last check-in (yesterday logged after today), which needs the history.
    pub fn with_later_day(&self, rule: Rule, date: NaiveDate) -> Option<Self> {
        if self.last_checkin.is_some_and(|last| date <= last) {
            return None;
        }
        let mut next = self.clone();
        next.add(rule, date);
        Some(next)
    }

    fn add(&mut self, rule: Rule, date: NaiveDate) {
        match rule {
            Rule::Daily => self.add_day(date),
            Rule::Weekly { target, week_start } => {
                weekly_streak::add_day(self, target, week_start, date)
            }
        }
    }

    /// The figures on `today`.
    pub fn on(&self, rule: Rule, today: NaiveDate) -> Streak {
        match rule {
            Rule::Daily => self.on_day(today),
            Rule::Weekly { target, week_start } => {
                weekly_streak::on(self, target, week_start, today)
            }
        }
    }

    /// The first day of the run the streak reads on `today`: a daily goal's first check-in
    /// day of it, a weekly goal's first day of its first week. `None` when no streak reads
    /// on `today`. A run is every day (or week) from there checked in or frozen, so it is
    /// known by that day whatever is taken back or added at its end.
    pub fn run_start_on(&self, rule: Rule, today: NaiveDate) -> Option<NaiveDate> {
        let last = self.last_checkin?;
        if self.on(rule, today).streak_count == 0 {
            return None;
        }
        // Every day (week) of the run up to the last check-in is checked in or frozen.
        let covered = u64::from(self.run) + self.frozen_dates.len() as u64;
        match rule {
            Rule::Daily => last.checked_sub_days(Days::new(covered - 1)),
            Rule::Weekly { target, week_start } => {
                let last_week_met = u64::from(self.week_days >= target);
                week_start
                    .week_of(last)
                    .checked_sub_days(Days::new(7 * (covered - last_week_met)))
            }
        }
    }

    /// A unit (a day, or a weekly streak's week, known by `unit`, its first day) that ended
    /// unmet after the last one counted: a held freeze covers it, or the run ends. Nothing
    /// to do with no run.
    pub fn miss(&mut self, unit: NaiveDate) {
        if self.run == 0 {
            return;
        }
        if self.freezes > 0 {
            self.freezes -= 1;
            self.frozen_dates.push(unit);
        } else {
            self.run = 0;
            self.freezes = 0;
            self.frozen_dates.clear();
        }
    }

    /// Folds in a day after the last check-in.
    fn add_day(&mut self, date: NaiveDate) {
        if let Some(last) = self.last_checkin {
            self.miss_days_between(last, date);
        }
        self.run += 1;
        if self.run.is_multiple_of(FREEZE_EVERY) {
            self.freezes = (self.freezes + 1).min(MAX_FREEZES);
        }
        self.longest = self.longest.max(self.run);
        self.last_checkin = Some(date);
    }

    /// A daily goal's figures on `today`: the days missed since the last check-in (today
    /// excluded) spend freezes or end the streak.
    fn on_day(&self, today: NaiveDate) -> Streak {
        let mut carried = self.clone();
        if let Some(last) = self.last_checkin {
            carried.miss_days_between(last, today);
        }
        Streak {
            streak_count: carried.run,
            longest_streak: carried.longest,
            streak_unit: StreakUnit::Day,
            freezes_available: carried.freezes,
            frozen_dates: carried.frozen_dates,
            last_checkin_date: self.last_checkin,
        }
    }

    /// Spends a freeze on each day strictly between `from` and `to`, or resets the run.
    fn miss_days_between(&mut self, from: NaiveDate, to: NaiveDate) {
        let missed = (to - from).num_days() - 1;
        if missed <= 0 || self.run == 0 {
            return;
        }
        let missed = missed as u64;
        if missed <= u64::from(self.freezes) {
            self.freezes -= missed as u32;
            self.frozen_dates
                .extend((1..=missed).filter_map(|d| from.checked_add_days(Days::new(d))));
        } else {
            self.run = 0;
            self.freezes = 0;
            self.frozen_dates.clear();
        }
    }
}

/// A goal's streak on `today` from its whole check-in history.
pub fn streak(rule: Rule, dates: &[NaiveDate], today: NaiveDate) -> Streak {
    StreakSummary::from_history(rule, dates.iter().copied()).on(rule, today)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(n)
    }

    fn days(ns: &[i64]) -> Vec<NaiveDate> {
        ns.iter().map(|n| day(*n)).collect()
    }

    #[test]
    fn no_check_ins_is_no_streak() {
        assert_eq!(streak(Rule::Daily, &[], day(0)), Streak::default());
    }

    #[test]
    fn consecutive_days_ending_today_or_yesterday_count() {
        assert_eq!(
            streak(Rule::Daily, &days(&[0, 1, 2]), day(2)).streak_count,
            3
        );
        // Today has no check-in yet: the streak is still alive.
        assert_eq!(
            streak(Rule::Daily, &days(&[0, 1, 2]), day(3)).streak_count,
            3
        );
    }

    #[test]
    fn a_missed_day_without_a_freeze_resets_the_streak() {
        let s = streak(Rule::Daily, &days(&[0, 1, 2]), day(4));
        assert_eq!(s.streak_count, 0);
        assert_eq!(s.longest_streak, 3);
        assert_eq!(s.last_checkin_date, Some(day(2)));
    }

    #[test]
    fn the_seventh_day_earns_a_freeze_that_covers_a_missed_day() {
        let week: Vec<i64> = (0..7).collect();
        let s = streak(Rule::Daily, &days(&week), day(6));
        assert_eq!((s.streak_count, s.freezes_available), (7, 1));
        // Day 7 missed, day 8 checked in: the freeze covers day 7.
        let mut with_gap = week.clone();
        with_gap.push(8);
        let s = streak(Rule::Daily, &days(&with_gap), day(8));
        assert_eq!(
            s.streak_count, 8,
            "a frozen day keeps the streak but does not add to it"
        );
        assert_eq!(s.freezes_available, 0);
        assert_eq!(s.frozen_dates, [day(7)]);
    }

    #[test]
    fn a_freeze_is_spent_at_read_time_with_no_new_check_in() {
        let week: Vec<i64> = (0..7).collect();
        // Last check-in day 6; on day 8, day 7 was missed and frozen.
        let s = streak(Rule::Daily, &days(&week), day(8));
        assert_eq!((s.streak_count, s.freezes_available), (7, 0));
        assert_eq!(s.frozen_dates, [day(7)]);
        // On day 9, day 8 is missed too and no freeze is left.
        assert_eq!(streak(Rule::Daily, &days(&week), day(9)).streak_count, 0);
    }

    #[test]
    fn at_most_two_freezes_are_held() {
        let four_weeks: Vec<i64> = (0..28).collect();
        let s = streak(Rule::Daily, &days(&four_weeks), day(27));
        assert_eq!(s.freezes_available, MAX_FREEZES);
        // Three missed days: two frozen, then the third resets.
        assert_eq!(
            streak(Rule::Daily, &days(&four_weeks), day(30)).streak_count,
            28
        );
        assert_eq!(
            streak(Rule::Daily, &days(&four_weeks), day(31)).streak_count,
            0
        );
    }

    #[test]
    fn freezes_are_earned_by_check_in_days_not_frozen_days() {
        // 7 days, 1 frozen, 6 more: the 14th check-in day earns the second freeze.
        let mut history: Vec<i64> = (0..7).collect();
        history.extend(8..14);
        let s = streak(Rule::Daily, &days(&history), day(13));
        assert_eq!((s.streak_count, s.freezes_available), (13, 0));
        history.push(14);
        let s = streak(Rule::Daily, &days(&history), day(14));
        assert_eq!((s.streak_count, s.freezes_available), (14, 1));
    }

    #[test]
    fn the_longest_streak_is_the_best_run_ever() {
        let s = streak(Rule::Daily, &days(&[0, 1, 2, 3, 10, 11]), day(11));
        assert_eq!((s.streak_count, s.longest_streak), (2, 4));
    }

    #[test]
    fn a_last_check_in_after_today_does_not_break_the_streak() {
        // The user moved west: their newest check-in is dated tomorrow in the new zone.
        let s = streak(Rule::Daily, &days(&[0, 1, 2]), day(1));
        assert_eq!(s.streak_count, 3);
    }

    #[test]
    fn today_is_the_date_in_the_users_zone() {
        let instant = DateTime::parse_from_rfc3339("2026-03-10T11:30:00Z")
            .unwrap()
            .to_utc();
        let auckland = TimeZone::parse("Pacific/Auckland").unwrap();
        let los_angeles = TimeZone::parse("America/Los_Angeles").unwrap();
        assert_eq!(
            today(instant, auckland),
            NaiveDate::from_ymd_opt(2026, 3, 11).unwrap()
        );
        assert_eq!(
            today(instant, los_angeles),
            NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
        );
    }

    /// The rules read literally: walk every day from the first check-in to today.
    fn day_by_day(dates: &[NaiveDate], today: NaiveDate) -> Streak {
        walk_days(dates, today).0
    }

    /// The walk, with the first day of the run it ends in (`None` at 0).
    fn walk_days(dates: &[NaiveDate], today: NaiveDate) -> (Streak, Option<NaiveDate>) {
        let mut sorted = dates.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let Some(&first) = sorted.first() else {
            return (Streak::default(), None);
        };
        let (mut run, mut longest, mut freezes, mut frozen) = (0u32, 0u32, 0u32, Vec::new());
        let mut run_start = None;
        let mut d = first;
        let end = today.max(*sorted.last().unwrap());
        while d <= end {
            if sorted.binary_search(&d).is_ok() {
                if run == 0 {
                    run_start = Some(d);
                }
                run += 1;
                if run % FREEZE_EVERY == 0 && freezes < MAX_FREEZES {
                    freezes += 1;
                }
                longest = longest.max(run);
            } else if d < today && run > 0 {
                if freezes > 0 {
                    freezes -= 1;
                    frozen.push(d);
                } else {
                    run = 0;
                    run_start = None;
                    frozen.clear();
                }
            }
            d = d.succ_opt().unwrap();
        }
        let streak = Streak {
            streak_count: run,
            longest_streak: longest,
            streak_unit: StreakUnit::Day,
            freezes_available: freezes,
            frozen_dates: frozen,
            last_checkin_date: sorted.last().copied(),
        };
        (streak, run_start)
    }

    proptest! {
        #[test]
        fn the_summary_agrees_with_walking_every_day(
            offsets in proptest::collection::vec(0i64..120, 0..80),
            after in 0i64..10,
        ) {
            let dates = days(&offsets);
            let last = offsets.iter().copied().max().unwrap_or(0);
            let today = day(last + after);
            prop_assert_eq!(streak(Rule::Daily, &dates, today), day_by_day(&dates, today));
        }

        /// A run is known by its first day: the summary's is the walk's, on any later day.
        #[test]
        fn the_summary_knows_the_first_day_of_its_run(
            offsets in proptest::collection::vec(0i64..120, 0..80),
            after in 0i64..10,
        ) {
            let dates = days(&offsets);
            let last = offsets.iter().copied().max().unwrap_or(0);
            let today = day(last + after);
            let summary = StreakSummary::from_history(Rule::Daily, dates.clone());
            prop_assert_eq!(summary.run_start_on(Rule::Daily, today), walk_days(&dates, today).1);
        }

        #[test]
        fn a_stored_summary_read_later_equals_recomputing_from_history(
            offsets in proptest::collection::vec(0i64..60, 1..40),
            later in 0i64..6,
        ) {
            let dates = days(&offsets);
            let summary = StreakSummary::from_history(Rule::Daily, dates.clone());
            let today = summary.last_checkin.unwrap() + chrono::Duration::days(later);
            prop_assert_eq!(summary.on(Rule::Daily, today), streak(Rule::Daily, &dates, today));
        }

        #[test]
        fn folding_a_later_day_into_the_summary_equals_recomputing_from_history(
            offsets in proptest::collection::vec(0i64..60, 0..40),
            gap in 1i64..6,
        ) {
            let mut dates = days(&offsets);
            let summary = StreakSummary::from_history(Rule::Daily, dates.clone());
            let next = day(offsets.iter().copied().max().unwrap_or(0) + gap);
            dates.push(next);
            prop_assert_eq!(summary.with_later_day(Rule::Daily, next), Some(StreakSummary::from_history(Rule::Daily, dates)));
        }
    }

    #[test]
    fn a_day_at_or_before_the_last_check_in_needs_the_history() {
        let summary = StreakSummary::from_history(Rule::Daily, days(&[0, 2]));
        assert_eq!(summary.with_later_day(Rule::Daily, day(2)), None);
        assert_eq!(summary.with_later_day(Rule::Daily, day(1)), None);
    }
}
