//! Weekly goals' streaks ("three times a week"), in the user's own weeks.
//!
//! A week (seven calendar dates from the user's `week_start`, in their time zone) meets the
//! target when at least `days_per_week` of its days have a check-in. The rules, week by week:
//!
//! - a week counts the moment it meets the target, the current week included; every 4th met
//!   week in a row earns a freeze, at most 2 held;
//! - a week that ended below target (or the current week, once too few of its days are left
//!   to meet it) spends a held freeze, which keeps the streak alive without adding to it;
//!   with no freeze left the streak resets to 0. A current week that can still be met
//!   breaks nothing. The days left are those from today to the week's end that come after
//!   the last check-in: today, once checked in, is no longer left;
//! - the longest streak is the best run ever, in weeks.
//!
//! The summary is the daily one's ([`StreakSummary`]) with `week_days`, the days checked in
//! so far in the week of the last check-in: so a weekly goal, too, costs the same to read
//! whatever the length of its history.

use chrono::{Days, NaiveDate};

use super::{
    streak::{MAX_FREEZES, Streak, StreakSummary, StreakUnit},
    week::WeekStart,
};

/// Every this many met weeks in a row earn a freeze.
pub const FREEZE_EVERY_WEEKS: u32 = 4;

/// Folds in a check-in day after the last one.
pub(super) fn add_day(summary: &mut StreakSummary, target: u32, start: WeekStart, date: NaiveDate) {
    let week = start.week_of(date);
    match summary.last_checkin {
        Some(last) if start.week_of(last) == week => summary.week_days += 1,
        Some(last) => {
            close_weeks(summary, target, start, start.week_of(last), week);
            summary.week_days = 1;
        }
        None => summary.week_days = 1,
    }
    if summary.week_days == target {
        met(summary);
    }
    summary.last_checkin = Some(date);
}

/// The figures on `today`: the weeks that ended since the last check-in's week (and the
/// current one, once it can no longer be met) are settled.
pub(super) fn on(
    summary: &StreakSummary,
    target: u32,
    start: WeekStart,
    today: NaiveDate,
) -> Streak {
    let mut carried = summary.clone();
    if let Some(last) = summary.last_checkin {
        let (last_week, this_week) = (start.week_of(last), start.week_of(today));
        if this_week > last_week {
            close_weeks(&mut carried, target, start, last_week, this_week);
            if days_left(start, today, last) < target {
                missed(&mut carried, this_week);
            }
        } else if this_week == last_week
            && summary.week_days < target
            && days_left(start, today, last) < target - summary.week_days
        {
            missed(&mut carried, this_week);
        }
    }
    Streak {
        streak_count: carried.run,
        longest_streak: carried.longest,
        streak_unit: StreakUnit::Week,
        freezes_available: carried.freezes,
        frozen_dates: carried.frozen_dates,
        last_checkin_date: summary.last_checkin,
    }
}

/// Settles the week starting `from` (the last check-in's, with `week_days` so far) and every
/// week after it that ended before the week starting `to`.
fn close_weeks(
    summary: &mut StreakSummary,
    target: u32,
    start: WeekStart,
    from: NaiveDate,
    to: NaiveDate,
) {
    if summary.week_days < target {
        missed(summary, from);
    }
    let mut week = start.next_week(from);
    while week < to && summary.run > 0 {
        missed(summary, week);
        week = week + Days::new(7);
    }
}

/// Days of the week left to meet its target: from `today` to the week's end, after the
/// `last` check-in (a check-in dated after today, made before a move west, leaves only
/// the days after it).
fn days_left(start: WeekStart, today: NaiveDate, last: NaiveDate) -> u32 {
    let first = last.succ_opt().map_or(today, |after| today.max(after));
    let end = start.next_week(today);
    u32::try_from((end - first).num_days()).unwrap_or(0)
}

fn met(summary: &mut StreakSummary) {
    summary.run += 1;
    if summary.run.is_multiple_of(FREEZE_EVERY_WEEKS) {
        summary.freezes = (summary.freezes + 1).min(MAX_FREEZES);
    }
    summary.longest = summary.longest.max(summary.run);
}

/// A week below target: a freeze covers it, or the streak ends.
fn missed(summary: &mut StreakSummary, week: NaiveDate) {
    summary.miss(week);
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{
        profile::TimeZone,
        streak::{self, Rule},
    };

    /// 2026-03-02 is a Monday.
    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() + chrono::Duration::days(n)
    }

    fn days(ns: &[i64]) -> Vec<NaiveDate> {
        ns.iter().map(|n| day(*n)).collect()
    }

    fn weekly(target: u32) -> Rule {
        Rule::Weekly {
            target,
            week_start: WeekStart::Monday,
        }
    }

    fn streak(target: u32, dates: &[i64], today: i64) -> Streak {
        streak::streak(weekly(target), &days(dates), day(today))
    }

    #[test]
    fn the_current_week_counts_as_soon_as_it_meets_the_target() {
        assert_eq!(streak(3, &[0, 1], 1).streak_count, 0);
        let s = streak(3, &[0, 1, 3], 3);
        assert_eq!((s.streak_count, s.streak_unit), (1, StreakUnit::Week));
    }

    #[test]
    fn a_week_that_can_still_be_met_breaks_nothing_and_one_that_cannot_does() {
        // Week 0 met (3 days), week 1 has 1 day by Thursday (day 10): 2 needed, 4 days left.
        let history = [0, 1, 2, 7];
        assert_eq!(streak(3, &history, 10).streak_count, 1);
        // Saturday (day 12): 2 needed, 2 left (Saturday, Sunday): still possible.
        assert_eq!(streak(3, &history, 12).streak_count, 1);
        // Sunday (day 13): 2 needed, 1 left: the week is lost, and with it the streak.
        assert_eq!(streak(3, &history, 13).streak_count, 0);
        assert_eq!(streak(3, &history, 13).longest_streak, 1);
    }

    #[test]
    fn a_check_in_on_the_last_day_of_a_week_that_cannot_meet_its_target_extends_nothing() {
        // Week 0 met; week 1 has nothing until its Sunday (day 13), 2 days needed. Checked
        // in, Sunday is no longer left: the week is lost on that day, as it was before.
        assert_eq!(streak(2, &[0, 1], 13).streak_count, 0);
        let s = streak(2, &[0, 1, 13], 13);
        assert_eq!((s.streak_count, s.longest_streak), (0, 1));
        // Four weeks met hold a freeze; week 4 (days 28–34) gets only its Sunday: the freeze
        // is spent on it, and the streak stays where it was.
        let four_weeks = [0, 1, 7, 8, 14, 15, 21, 22];
        assert_eq!(streak(2, &four_weeks, 27).freezes_available, 1);
        let checked_in = streak(2, &[&four_weeks[..], &[34]].concat(), 34);
        assert_eq!(
            (checked_in.streak_count, checked_in.freezes_available),
            (4, 0)
        );
        assert_eq!(checked_in.frozen_dates, [day(28)]);
        // A second day that meets the target still counts on the last day.
        assert_eq!(streak(2, &[0, 1, 10, 13], 13).streak_count, 2);
    }

    #[test]
    fn a_week_that_ended_below_target_breaks_the_streak() {
        let s = streak(2, &[0, 1, 7, 8, 14], 21);
        assert_eq!((s.streak_count, s.longest_streak), (0, 2));
    }

    #[test]
    fn four_met_weeks_earn_a_freeze_that_covers_a_missed_week() {
        let four_weeks = [0, 7, 14, 21];
        assert_eq!(streak(1, &four_weeks, 21).freezes_available, 1);
        // Week 4 (days 28–34) missed; week 5 met.
        let s = streak(1, &[0, 7, 14, 21, 35], 35);
        assert_eq!((s.streak_count, s.freezes_available), (5, 0));
        assert_eq!(s.frozen_dates, [day(28)]);
    }

    #[test]
    fn the_week_starts_on_the_users_week_start() {
        // Sunday 2026-03-08 (day 6) and Monday 2026-03-09 (day 7): two weeks from Monday,
        // one from Sunday.
        let dates = days(&[6, 7]);
        let monday = streak::streak(weekly(2), &dates, day(7));
        let sunday = streak::streak(
            Rule::Weekly {
                target: 2,
                week_start: WeekStart::Sunday,
            },
            &dates,
            day(7),
        );
        assert_eq!((monday.streak_count, sunday.streak_count), (0, 1));
    }

    /// The rules read literally: walk every week from the first check-in's to today's.
    fn week_by_week(
        target: u32,
        start: WeekStart,
        dates: &[NaiveDate],
        today: NaiveDate,
    ) -> Streak {
        walk_weeks(target, start, dates, today).0
    }

    /// The walk, with the first day of the run's first week (`None` at 0).
    fn walk_weeks(
        target: u32,
        start: WeekStart,
        dates: &[NaiveDate],
        today: NaiveDate,
    ) -> (Streak, Option<NaiveDate>) {
        let mut sorted = dates.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let Some(&first) = sorted.first() else {
            let streak = Streak {
                streak_unit: StreakUnit::Week,
                ..Streak::default()
            };
            return (streak, None);
        };
        let (mut run, mut longest, mut freezes, mut frozen) = (0u32, 0u32, 0u32, Vec::new());
        let mut run_start = None;
        let this_week = start.week_of(today);
        let mut week = start.week_of(first);
        // A check-in dated after today (the user moved west) makes its week the current one;
        // the weeks before it are over.
        let current = this_week.max(start.week_of(*sorted.last().unwrap()));
        while week <= current {
            let checked =
                u32::try_from(sorted.iter().filter(|d| start.week_of(**d) == week).count())
                    .unwrap();
            let ended = week < current;
            // The days left: today and the rest of the week, but none at or before a
            // check-in (today, once checked in, is no longer left).
            let left = if week == this_week {
                let mut left = 0;
                let mut d = today;
                while d < start.next_week(today) {
                    if sorted.iter().all(|checked| *checked < d) {
                        left += 1;
                    }
                    d = d.succ_opt().unwrap();
                }
                left
            } else {
                7
            };
            let lost = if ended {
                checked < target
            } else {
                checked + left < target
            };
            if checked >= target {
                if run == 0 {
                    run_start = Some(week);
                }
                run += 1;
                if run % FREEZE_EVERY_WEEKS == 0 && freezes < MAX_FREEZES {
                    freezes += 1;
                }
                longest = longest.max(run);
            } else if lost && run > 0 {
                if freezes > 0 {
                    freezes -= 1;
                    frozen.push(week);
                } else {
                    run = 0;
                    run_start = None;
                    frozen.clear();
                }
            }
            week = week + Days::new(7);
        }
        let streak = Streak {
            streak_count: run,
            longest_streak: longest,
            streak_unit: StreakUnit::Week,
            freezes_available: freezes,
            frozen_dates: frozen,
            last_checkin_date: sorted.last().copied(),
        };
        (streak, run_start)
    }

    fn week_start() -> impl Strategy<Value = WeekStart> {
        prop_oneof![Just(WeekStart::Monday), Just(WeekStart::Sunday)]
    }

    /// Zones with and without daylight saving, on both sides of the date line.
    fn zone() -> impl Strategy<Value = TimeZone> {
        prop_oneof![
            Just("UTC"),
            Just("Europe/Paris"),
            Just("America/Los_Angeles"),
            Just("Pacific/Auckland"),
            Just("Asia/Kolkata"),
        ]
        .prop_map(|name| TimeZone::parse(name).unwrap())
    }

    proptest! {
        /// The history spans the March and October daylight-saving changes of both
        /// hemispheres; "today" is an instant read in the user's zone.
        #[test]
        fn the_summary_agrees_with_walking_every_week(
            offsets in proptest::collection::vec(0i64..240, 0..90),
            target in 1u32..=7,
            start in week_start(),
            zone in zone(),
            hours_after in 0i64..(24 * 30),
        ) {
            let dates = days(&offsets);
            let last = offsets.iter().copied().max().unwrap_or(0);
            let now: DateTime<Utc> = day(last).and_hms_opt(0, 0, 0).unwrap().and_utc()
                + chrono::Duration::hours(hours_after);
            let today = streak::today(now, zone);
            let rule = Rule::Weekly { target, week_start: start };
            let (walked, run_start) = walk_weeks(target, start, &dates, today);
            prop_assert_eq!(streak::streak(rule, &dates, today), walked);
            prop_assert_eq!(
                StreakSummary::from_history(rule, dates).run_start_on(rule, today),
                run_start
            );
        }

        /// A move to another zone keeps every check-in's date and moves only "today": the
        /// stored summary, read on either zone's today, is the literal reading there.
        #[test]
        fn a_time_zone_change_reads_the_same_history_on_the_new_zones_today(
            offsets in proptest::collection::vec(0i64..240, 1..90),
            target in 1u32..=7,
            start in week_start(),
            zones in (zone(), zone()),
            hours_after in 0i64..(24 * 30),
        ) {
            let dates = days(&offsets);
            let rule = Rule::Weekly { target, week_start: start };
            let summary = StreakSummary::from_history(rule, dates.clone());
            let last = offsets.iter().copied().max().unwrap_or(0);
            let now: DateTime<Utc> = day(last).and_hms_opt(0, 0, 0).unwrap().and_utc()
                + chrono::Duration::hours(hours_after);
            for zone in [zones.0, zones.1] {
                let today = streak::today(now, zone);
                prop_assert_eq!(summary.on(rule, today), week_by_week(target, start, &dates, today));
            }
        }

        /// A change of week start or target is a recomputation from the same dates: the
        /// summary folded under the new rule is the literal reading under it.
        #[test]
        fn changing_the_week_start_or_the_target_recomputes_from_the_history(
            offsets in proptest::collection::vec(0i64..120, 1..60),
            targets in (1u32..=7, 1u32..=7),
            later in 0i64..15,
        ) {
            let dates = days(&offsets);
            let today = *dates.iter().max().unwrap() + chrono::Duration::days(later);
            for (target, start) in [(targets.0, WeekStart::Monday), (targets.1, WeekStart::Sunday)] {
                let rule = Rule::Weekly { target, week_start: start };
                let summary = StreakSummary::from_history(rule, dates.clone());
                prop_assert_eq!(summary.on(rule, today), week_by_week(target, start, &dates, today));
            }
        }

        /// A check-in on the last day of a week that holds too few days to meet its target
        /// even with that day: the literal reading, and no figure moves (the week was
        /// already lost that morning).
        #[test]
        fn a_check_in_on_the_last_day_of_a_week_that_cannot_meet_its_target_changes_no_figure(
            offsets in proptest::collection::vec(0i64..120, 0..60),
            target in 2u32..=7,
            start in week_start(),
            earlier in proptest::collection::btree_set(0u64..6, 0..6),
            weeks_later in 0u64..3,
        ) {
            let rule = Rule::Weekly { target, week_start: start };
            let mut dates = days(&offsets);
            let after = dates.iter().max().copied().unwrap_or(day(0));
            let week = start.next_week(after) + Days::new(7 * weeks_later);
            let last_day = start.next_week(week).pred_opt().unwrap();
            // At most target - 2 days before the last: the week stays below target.
            let room = usize::try_from(target - 2).unwrap();
            dates.extend(earlier.iter().take(room).map(|n| week + Days::new(*n)));
            let before = StreakSummary::from_history(rule, dates.clone()).on(rule, last_day);
            dates.push(last_day);
            let checked_in = StreakSummary::from_history(rule, dates.clone()).on(rule, last_day);
            prop_assert_eq!(&checked_in, &week_by_week(target, start, &dates, last_day));
            prop_assert_eq!(
                (checked_in.streak_count, checked_in.longest_streak, checked_in.freezes_available),
                (before.streak_count, before.longest_streak, before.freezes_available)
            );
            prop_assert_eq!(checked_in.frozen_dates, before.frozen_dates);
        }

        #[test]
        fn folding_a_later_day_into_a_weekly_summary_equals_recomputing_from_history(
            offsets in proptest::collection::vec(0i64..90, 0..50),
            gap in 1i64..20,
            target in 1u32..=7,
            start in week_start(),
        ) {
            let rule = Rule::Weekly { target, week_start: start };
            let mut dates = days(&offsets);
            let summary = StreakSummary::from_history(rule, dates.clone());
            let next = day(offsets.iter().copied().max().unwrap_or(0) + gap);
            dates.push(next);
            prop_assert_eq!(
                summary.with_later_day(rule, next),
                Some(StreakSummary::from_history(rule, dates))
            );
        }
    }
}
