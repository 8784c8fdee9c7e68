//! A calendar of a user's check-ins, as GitHub's contribution calendar draws one: every
//! day of a range with how much happened, and a level from 0 (nothing) to 4 (the busiest
//! quarter of the active days).

use chrono::{Days, NaiveDate};

use super::week::WeekStart;

/// The longest range one request may ask for: 53 weeks.
pub const MAX_DAYS: u64 = 371;

/// The default range: the 53 weeks ending today, the first of them a whole week.
pub const DEFAULT_WEEKS: u64 = 53;

/// Why a range is refused, and which parameter it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeError {
    pub parameter: &'static str,
    pub message: String,
}

/// The first day of the `weeks` weeks ending with the week that holds `last`.
pub fn weeks_ending(last: NaiveDate, week_start: WeekStart, weeks: u64) -> NaiveDate {
    let first_week = week_start.week_of(last);
    first_week
        .checked_sub_days(Days::new(7 * weeks.saturating_sub(1)))
        .unwrap_or(first_week)
}

/// The days to show, both included. `to` defaults to `today` (the user's day) and `from` to
/// the start of the 53 weeks ending with `to`'s week, aligned to the user's week start.
pub fn range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
    week_start: WeekStart,
) -> Result<(NaiveDate, NaiveDate), RangeError> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| weeks_ending(to, week_start, DEFAULT_WEEKS));
    if from > to {
        return Err(RangeError {
            parameter: "from",
            message: "must not be after `to`".into(),
        });
    }
    let days = to.signed_duration_since(from).num_days() + 1;
    if days > MAX_DAYS as i64 {
        return Err(RangeError {
            parameter: "from",
            message: format!("the range from `from` to `to` must be at most {MAX_DAYS} days"),
        });
    }
    Ok((from, to))
}

/// One day's check-ins as read: only days with some.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    pub date: NaiveDate,
    pub checkins: u32,
    pub minutes: u64,
}

/// One day of the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub checkins: u32,
    pub minutes: u64,
    pub level: u8,
}

/// Levels by quartiles of the active days' check-in counts: a day at or below the first
/// quartile is level 1, at or below the median 2, at or below the third quartile 3, above
/// it 4; a day without check-ins is 0. Quartiles interpolate between the two nearest
/// counts (as spreadsheets' `QUARTILE.INC` does), kept as four times their value so that
/// the arithmetic stays exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Levels {
    quartiles_x4: [u64; 3],
}

impl Levels {
    pub fn of(counts: impl IntoIterator<Item = u32>) -> Self {
        let mut counts: Vec<u64> = counts
            .into_iter()
            .filter(|&c| c > 0)
            .map(u64::from)
            .collect();
        counts.sort_unstable();
        let quartile_x4 = |quarter: usize| {
            let Some(last) = counts.len().checked_sub(1) else {
                return 0;
            };
            // The quartile sits at position last·quarter/4 among the sorted counts.
            let (index, fraction) = ((last * quarter) / 4, (last * quarter) % 4);
            let (low, high) = (counts[index], counts[(index + 1).min(last)]);
            4 * low + fraction as u64 * (high - low)
        };
        Self {
            quartiles_x4: [quartile_x4(1), quartile_x4(2), quartile_x4(3)],
        }
    }

    pub fn level(&self, checkins: u32) -> u8 {
        if checkins == 0 {
            return 0;
        }
        let [q1, q2, q3] = self.quartiles_x4;
        match 4 * u64::from(checkins) {
            c if c <= q1 => 1,
            c if c <= q2 => 2,
            c if c <= q3 => 3,
            _ => 4,
        }
    }
}

/// Every day from `from` to `to`, with the activity of the days that had some (in any
/// order; days outside the range are ignored) and each day's level among them.
pub fn calendar(from: NaiveDate, to: NaiveDate, activity: &[Activity]) -> Vec<Day> {
    let in_range: Vec<&Activity> = activity
        .iter()
        .filter(|a| (from..=to).contains(&a.date))
        .collect();
    let levels = Levels::of(in_range.iter().map(|a| a.checkins));
    let mut days: Vec<Day> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|date| Day {
            date,
            checkins: 0,
            minutes: 0,
            level: 0,
        })
        .collect();
    for a in in_range {
        let index = usize::try_from(a.date.signed_duration_since(from).num_days())
            .expect("a day in the range");
        let day = &mut days[index];
        day.checkins += a.checkins;
        day.minutes += a.minutes;
        day.level = levels.level(day.checkins);
    }
    days
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn active(date: NaiveDate, checkins: u32) -> Activity {
        Activity {
            date,
            checkins,
            minutes: u64::from(checkins) * 10,
        }
    }

    #[test]
    fn the_default_range_is_53_weeks_ending_today_aligned_to_the_week_start() {
        // 2026-03-10 is a Tuesday.
        let today = day(2026, 3, 10);
        let (from, to) = range(None, None, today, WeekStart::Monday).unwrap();
        assert_eq!(to, today);
        assert_eq!(from, day(2025, 3, 10));
        assert_eq!(from.weekday(), chrono::Weekday::Mon);
        let (from, _) = range(None, None, today, WeekStart::Sunday).unwrap();
        assert_eq!(from, day(2025, 3, 9));
        assert_eq!(from.weekday(), chrono::Weekday::Sun);
        // On the last day of a week the range is 371 days, the most there is.
        let saturday = day(2026, 3, 14);
        let (from, to) = range(None, None, saturday, WeekStart::Sunday).unwrap();
        assert_eq!(to.signed_duration_since(from).num_days() + 1, 371);
    }

    #[test]
    fn a_range_without_from_ends_at_to_and_covers_its_53_weeks() {
        let (from, to) = range(
            None,
            Some(day(2025, 12, 31)),
            day(2026, 3, 10),
            WeekStart::Monday,
        )
        .unwrap();
        assert_eq!(to, day(2025, 12, 31));
        assert_eq!(from, WeekStart::Monday.week_of(day(2025, 1, 1)));
    }

    #[test]
    fn a_range_is_at_most_371_days_and_never_reversed() {
        let today = day(2026, 3, 10);
        let monday = WeekStart::Monday;
        assert!(range(Some(day(2025, 3, 5)), Some(day(2026, 3, 10)), today, monday).is_ok());
        let too_long = range(Some(day(2025, 3, 4)), Some(day(2026, 3, 10)), today, monday);
        assert_eq!(too_long.unwrap_err().parameter, "from");
        let reversed = range(
            Some(day(2026, 3, 11)),
            Some(day(2026, 3, 10)),
            today,
            monday,
        );
        assert_eq!(reversed.unwrap_err().parameter, "from");
        assert!(
            range(
                Some(day(2026, 3, 10)),
                Some(day(2026, 3, 10)),
                today,
                monday
            )
            .is_ok()
        );
    }

    #[test]
    fn levels_follow_the_quartiles_of_the_active_days() {
        // Eight active days: 1 1 2 2 3 3 4 8; quartiles 1.75, 2.5 and 3.25.
        let levels = Levels::of([1, 1, 2, 2, 3, 3, 4, 8, 0, 0]);
        assert_eq!(
            [0, 1, 2, 3, 4, 8].map(|c| levels.level(c)),
            [0, 1, 2, 3, 4, 4]
        );
    }

    #[test]
    fn equal_active_days_share_the_first_level_and_one_day_alone_too() {
        let levels = Levels::of([2, 2, 2]);
        assert_eq!(levels.level(2), 1);
        assert_eq!(Levels::of([5]).level(5), 1);
        assert_eq!(Levels::of([]).level(0), 0);
    }

    #[test]
    fn four_distinct_counts_take_the_four_levels() {
        let levels = Levels::of([10, 1, 7, 3]);
        assert_eq!([1, 3, 7, 10].map(|c| levels.level(c)), [1, 2, 3, 4]);
    }

    #[test]
    fn the_calendar_has_every_day_of_the_range_and_only_its_activity() {
        let (from, to) = (day(2026, 3, 1), day(2026, 3, 10));
        let days = calendar(
            from,
            to,
            &[
                active(day(2026, 3, 10), 3),
                active(day(2026, 3, 2), 1),
                active(day(2026, 2, 28), 100),
                active(day(2026, 3, 11), 100),
            ],
        );
        assert_eq!(days.len(), 10);
        assert_eq!(days.first().unwrap().date, from);
        assert_eq!(days.last().unwrap().date, to);
        assert!(
            days.windows(2)
                .all(|w| w[1].date == w[0].date.succ_opt().unwrap())
        );
        let active: Vec<_> = days.iter().filter(|d| d.checkins > 0).collect();
        assert_eq!(active.len(), 2);
        assert_eq!(
            (days[1].checkins, days[1].minutes, days[1].level),
            (1, 10, 1)
        );
        // Out-of-range days do not count towards the quartiles: 3 is above the third.
        assert_eq!(days[9].level, 4);
        assert!(
            days.iter()
                .filter(|d| d.checkins == 0)
                .all(|d| d.level == 0)
        );
    }
}
