//! Reminders: when a user's reminder is due, and which of their goals are at risk then.
//!
//! A user's reminder is due once per local day, at the reminder time (`REMINDER_LOCAL_TIME`,
//! 20:00 by default) in their time zone. Each user's schedule is the next local day still to
//! be handled and the instant its reminder falls on ([`Schedule`]); the scheduler selects
//! the schedules whose instant has come, through an index, so a pass reads only what is due.
//! [`plan`] says what a due schedule does at a pass: the day whose reminders go out now
//! (it is still that day in the user's zone, however late), the days skipped because they
//! ended while nobody looked (after downtime), and the next day to handle. Instants are
//! computed from the local day each time, so daylight saving moves them with the clocks.
//!
//! [`at_risk`] decides, from a goal's stored streak summary alone, whether a goal's streak
//! is at risk on a day: a daily goal with a live streak and no check-in yet that day; a
//! weekly goal whose week's target can still be met, but only if the user checks in that
//! day or the next.
//!
//! [`partner_at_risk`] decides, from a partnership's stored shared summary and the two
//! partners' check-ins of the last few days, whether one partner's shared streak is at risk
//! on their day: daily partnerships only, the other partner checked in on that day and they
//! have not, and the shared streak is live, so that the day would spend a freeze or end it.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;

use super::{
    partnership::{self, SharedRule, Side},
    streak::{Rule, StreakSummary, StreakUnit},
};

/// The default local time of the reminder.
pub const DEFAULT_TIME: &str = "20:00";

/// The local time of day reminders go out at: hours and minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderTime(NaiveTime);

impl ReminderTime {
    /// `HH:MM`, 24-hour.
    pub fn parse(raw: &str) -> Result<Self, String> {
        NaiveTime::parse_from_str(raw.trim(), "%H:%M")
            .map(Self)
            .map_err(|_| format!("{raw:?} is not a time of day as HH:MM (24-hour), e.g. 20:00"))
    }

    pub fn time(self) -> NaiveTime {
        self.0
    }

    /// The instant this time falls on, on `day` in `zone`. In a daylight-saving gap (a
    /// local time that does not exist that day) it is the first instant after the gap; in
    /// a repeated hour, the first of the two.
    pub fn on(self, day: NaiveDate, zone: Tz) -> DateTime<Utc> {
        let mut local = day.and_time(self.0);
        // No gap is longer than a day (Samoa skipped one, at midnight).
        for _ in 0..(24 * 60 + 1) {
            if let Some(instant) = zone.from_local_datetime(&local).earliest() {
                return instant.to_utc();
            }
            local += TimeDelta::minutes(1);
        }
        // Unreachable with the IANA database; stay defined anyway.
        day.and_time(self.0).and_utc()
    }
}

impl Default for ReminderTime {
    fn default() -> Self {
        Self::parse(DEFAULT_TIME).expect("the default is a time")
    }
}

/// A user's reminder schedule: the next local day to handle, and its reminder's instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub day: NaiveDate,
    pub at: DateTime<Utc>,
}

/// What a pass does with a schedule whose instant has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The local day whose reminders go out now: it is still that day in the user's zone.
    pub send: Option<NaiveDate>,
    /// A day whose reminder was due but which ended before any pass handled it: skipped.
    pub skipped: Option<NaiveDate>,
    /// What the schedule becomes.
    pub next: Schedule,
}

/// What a pass at `now` does with a user's schedule whose next day to handle is `next`
/// (`None`: not scheduled yet, or scheduled anew after a change of time zone).
///
/// The day's reminders go out when it is that day in the user's zone and its instant has
/// come, however late; a day that ended unhandled is skipped. The next schedule is always
/// after `now`, so a schedule is handled at most once per day.
pub fn plan(next: Option<NaiveDate>, now: DateTime<Utc>, zone: Tz, time: ReminderTime) -> Plan {
    let today = now.with_timezone(&zone).date_naive();
    let (day, skipped) = match next {
        None => (today, None),
        Some(day) if day < today => (today, Some(day)),
        Some(day) => (day, None),
    };
    let at = time.on(day, zone);
    if day == today && at <= now {
        let tomorrow = day.checked_add_days(Days::new(1)).unwrap_or(day);
        return Plan {
            send: Some(day),
            skipped,
            next: Schedule {
                day: tomorrow,
                at: time.on(tomorrow, zone).max(now + TimeDelta::seconds(1)),
            },
        };
    }
    Plan {
        send: None,
        skipped,
        next: Schedule {
            day,
            at: at.max(now + TimeDelta::seconds(1)),
        },
    }
}

/// A goal's streak at risk: what `streak.at_risk.v1` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtRisk {
    /// The streak as it reads that day (a weekly goal's may be 0: its first week is at
    /// stake).
    pub streak: u32,
    pub unit: StreakUnit,
}

/// Whether a goal (in progress, with reminders on: the caller's to check) with this stored
/// summary is at risk on `day`, the user's local day, and its streak that day.
///
/// - Daily: the streak is alive on `day` and the goal has no check-in that day yet.
/// - Weekly: no check-in that day yet, the week's target is not met, and it can still be
///   met, but no longer if the user skips both `day` and the day after (the week's last
///   day counts its next as gone: it is another week).
pub fn at_risk(summary: &StreakSummary, rule: Rule, day: NaiveDate) -> Option<AtRisk> {
    // A check-in that day (or, after a move west, dated later) means nothing is at risk.
    if summary.last_checkin.is_some_and(|last| last >= day) {
        return None;
    }
    let streak = summary.on(rule, day).streak_count;
    match rule {
        Rule::Daily => (streak > 0).then_some(AtRisk {
            streak,
            unit: StreakUnit::Day,
        }),
        Rule::Weekly { target, week_start } => {
            let week = week_start.week_of(day);
            let done = match summary.last_checkin {
                Some(last) if week_start.week_of(last) == week => summary.week_days,
                _ => 0,
            };
            let needed = target.saturating_sub(done);
            let left = u32::try_from((week_start.next_week(day) - day).num_days()).unwrap_or(0);
            (needed > 0 && needed <= left && needed + 2 > left).then_some(AtRisk {
                streak,
                unit: StreakUnit::Week,
            })
        }
    }
}

/// Whether the shared streak of an active partnership is at risk for the partner on `side`
/// on their local day (their side's `today`), and the shared streak then; `sides` hold
/// each partner's check-ins from [`SharedRule::window`] on, `summary` the stored one.
///
/// Daily partnerships only: the other partner checked in on that day (theirs, in their own
/// zone) and this one has not (nor, after a move west, on a later date), and the shared
/// streak is alive, so that the day missed would spend a freeze or end the run. A weekly
/// partnership's week has no such day (each partner's target spreads over it): never.
pub fn partner_at_risk(
    rule: SharedRule,
    start: NaiveDate,
    summary: &StreakSummary,
    sides: &[Side; 2],
    side: usize,
) -> Option<AtRisk> {
    if rule != SharedRule::Daily {
        return None;
    }
    let (me, other) = (&sides[side], &sides[1 - side]);
    let day = me.today;
    if me.dates.iter().any(|&date| date >= day) || !other.dates.contains(&day) {
        return None;
    }
    let streak = partnership::read(rule, start, summary, sides).streak;
    (streak > 0).then_some(AtRisk {
        streak,
        unit: StreakUnit::Day,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{streak, week::WeekStart};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        day(y, m, d).and_hms_opt(h, min, 0).unwrap().and_utc()
    }

    fn eight_pm() -> ReminderTime {
        ReminderTime::default()
    }

    const LONDON: Tz = chrono_tz::Europe::London;
    const TOKYO: Tz = chrono_tz::Asia::Tokyo;
    const LOS_ANGELES: Tz = chrono_tz::America::Los_Angeles;

    #[test]
    fn the_time_is_hours_and_minutes() {
        assert_eq!(
            eight_pm().time(),
            NaiveTime::from_hms_opt(20, 0, 0).unwrap()
        );
        assert!(ReminderTime::parse("07:30").is_ok());
        for bad in ["20", "25:00", "20:61", "8pm", "", "20:00:00"] {
            assert!(ReminderTime::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_instant_follows_the_users_clocks_across_daylight_saving() {
        // London: GMT in winter, BST (UTC+1) from 29 March 2026.
        assert_eq!(
            eight_pm().on(day(2026, 3, 28), LONDON),
            utc(2026, 3, 28, 20, 0)
        );
        assert_eq!(
            eight_pm().on(day(2026, 3, 29), LONDON),
            utc(2026, 3, 29, 19, 0)
        );
        assert_eq!(
            eight_pm().on(day(2026, 3, 10), TOKYO),
            utc(2026, 3, 10, 11, 0)
        );
        // A time inside the spring gap (01:00–02:00 in London) is the end of the gap.
        let gap = ReminderTime::parse("01:30").unwrap();
        assert_eq!(gap.on(day(2026, 3, 29), LONDON), utc(2026, 3, 29, 1, 0));
        // A time in the repeated autumn hour is the first of the two.
        let fold = ReminderTime::parse("01:30").unwrap();
        assert_eq!(fold.on(day(2026, 10, 25), LONDON), utc(2026, 10, 25, 0, 30));
    }

    #[test]
    fn a_schedule_not_due_yet_waits_for_its_instant() {
        let plan = plan(None, utc(2026, 3, 10, 12, 0), LONDON, eight_pm());
        assert_eq!(plan.send, None);
        assert_eq!(plan.skipped, None);
        assert_eq!(plan.next.day, day(2026, 3, 10));
        assert_eq!(plan.next.at, utc(2026, 3, 10, 20, 0));
    }

    #[test]
    fn a_due_day_is_sent_then_the_next_day_is_scheduled() {
        let at = utc(2026, 3, 10, 20, 0);
        let plan = plan(Some(day(2026, 3, 10)), at, LONDON, eight_pm());
        assert_eq!(plan.send, Some(day(2026, 3, 10)));
        assert_eq!(plan.next.day, day(2026, 3, 11));
        assert_eq!(plan.next.at, utc(2026, 3, 11, 20, 0));
    }

    #[test]
    fn after_downtime_a_day_still_running_is_sent_late_and_an_ended_one_skipped() {
        // Down from 19:00 to 23:30 London time: still the 10th there.
        let late = plan(
            Some(day(2026, 3, 10)),
            utc(2026, 3, 10, 23, 30),
            LONDON,
            eight_pm(),
        );
        assert_eq!(late.send, Some(day(2026, 3, 10)));
        // Back at 08:00 on the 11th: the 10th ended unhandled.
        let next_morning = plan(
            Some(day(2026, 3, 10)),
            utc(2026, 3, 11, 8, 0),
            LONDON,
            eight_pm(),
        );
        assert_eq!(next_morning.send, None);
        assert_eq!(next_morning.skipped, Some(day(2026, 3, 10)));
        assert_eq!(next_morning.next.day, day(2026, 3, 11));
        // Back at 21:00 on the 12th: the 10th is skipped and the 12th sent.
        let days_later = plan(
            Some(day(2026, 3, 10)),
            utc(2026, 3, 12, 21, 0),
            LONDON,
            eight_pm(),
        );
        assert_eq!(days_later.skipped, Some(day(2026, 3, 10)));
        assert_eq!(days_later.send, Some(day(2026, 3, 12)));
        assert_eq!(days_later.next.day, day(2026, 3, 13));
    }

    #[test]
    fn zones_far_apart_have_their_own_days() {
        // 11:00 UTC on the 10th: 20:00 in Tokyo, 03:00 in Los Angeles.
        let now = utc(2026, 3, 10, 11, 0);
        assert_eq!(
            plan(None, now, TOKYO, eight_pm()).send,
            Some(day(2026, 3, 10))
        );
        let la = plan(None, now, LOS_ANGELES, eight_pm());
        assert_eq!(la.send, None);
        assert_eq!(la.next.at, utc(2026, 3, 11, 3, 0));
    }

    fn summary(rule: Rule, dates: &[NaiveDate]) -> StreakSummary {
        StreakSummary::from_history(rule, dates.iter().copied())
    }

    #[test]
    fn a_daily_streak_is_at_risk_until_checked_in_that_day() {
        let dates = [day(2026, 3, 8), day(2026, 3, 9)];
        let s = summary(Rule::Daily, &dates);
        assert_eq!(
            at_risk(&s, Rule::Daily, day(2026, 3, 10)),
            Some(AtRisk {
                streak: 2,
                unit: StreakUnit::Day
            })
        );
        let checked = summary(Rule::Daily, &[day(2026, 3, 9), day(2026, 3, 10)]);
        assert_eq!(at_risk(&checked, Rule::Daily, day(2026, 3, 10)), None);
        // Broken (two days missed, no freeze) or never started: nothing at risk.
        assert_eq!(at_risk(&s, Rule::Daily, day(2026, 3, 12)), None);
        assert_eq!(
            at_risk(&StreakSummary::default(), Rule::Daily, day(2026, 3, 10)),
            None
        );
    }

    fn weekly(target: u32) -> Rule {
        Rule::Weekly {
            target,
            week_start: WeekStart::Monday,
        }
    }

    #[test]
    fn a_weekly_goal_is_at_risk_when_only_today_or_tomorrow_can_save_its_week() {
        // Three days a week, none yet; the week of Monday 9 March 2026.
        let none = StreakSummary::default();
        assert_eq!(at_risk(&none, weekly(3), day(2026, 3, 11)), None); // Wed: 5 days left
        assert!(at_risk(&none, weekly(3), day(2026, 3, 12)).is_some()); // Thu: 4 left
        assert!(at_risk(&none, weekly(3), day(2026, 3, 13)).is_some()); // Fri: 3 left
        assert_eq!(at_risk(&none, weekly(3), day(2026, 3, 14)), None); // Sat: lost already
        // Two done by Tuesday: one more needed, at risk only on Saturday and Sunday.
        let two = summary(weekly(3), &[day(2026, 3, 9), day(2026, 3, 10)]);
        assert_eq!(at_risk(&two, weekly(3), day(2026, 3, 13)), None);
        let saturday = at_risk(&two, weekly(3), day(2026, 3, 14)).unwrap();
        assert_eq!(saturday.unit, StreakUnit::Week);
        assert!(at_risk(&two, weekly(3), day(2026, 3, 15)).is_some());
        // Met: nothing at risk.
        let met = summary(weekly(2), &[day(2026, 3, 9), day(2026, 3, 10)]);
        assert_eq!(at_risk(&met, weekly(2), day(2026, 3, 15)), None);
    }

    fn partners(today: [NaiveDate; 2], dates: [&[NaiveDate]; 2]) -> [Side; 2] {
        [0, 1].map(|side| Side {
            today: today[side],
            dates: dates[side].to_vec(),
        })
    }

    /// Whether the partner on `side` is at risk, and their shared streak, from the whole
    /// histories summed up as the service stores them.
    fn partner_risk(rule: SharedRule, sides: &[Side; 2], side: usize) -> Option<u32> {
        let start = day(2026, 3, 1);
        let summary = partnership::from_histories(rule, start, sides);
        partner_at_risk(rule, start, &summary, sides, side).map(|risk| risk.streak)
    }

    #[test]
    fn a_partner_is_at_risk_when_the_other_checked_in_that_day_and_they_have_not() {
        let (d8, d9, d10) = (day(2026, 3, 8), day(2026, 3, 9), day(2026, 3, 10));
        let sides = partners([d10, d10], [&[d8, d9, d10], &[d8, d9]]);
        assert_eq!(partner_risk(SharedRule::Daily, &sides, 1), Some(2));
        assert_eq!(
            partner_risk(SharedRule::Daily, &sides, 0),
            None,
            "checked in"
        );
        // Neither, or both, checked in on the 10th: nobody is told.
        let neither = partners([d10, d10], [&[d8, d9], &[d8, d9]]);
        assert_eq!(partner_risk(SharedRule::Daily, &neither, 0), None);
        assert_eq!(partner_risk(SharedRule::Daily, &neither, 1), None);
        let both = partners([d10, d10], [&[d8, d9, d10], &[d8, d9, d10]]);
        assert_eq!(partner_risk(SharedRule::Daily, &both, 0), None);
        assert_eq!(partner_risk(SharedRule::Daily, &both, 1), None);
    }

    #[test]
    fn a_partner_is_not_at_risk_without_a_live_shared_streak_nor_on_weekly_goals() {
        let (d8, d9, d10) = (day(2026, 3, 8), day(2026, 3, 9), day(2026, 3, 10));
        // The 9th was missed by the second partner: no shared streak left to lose.
        let broken = partners([d10, d10], [&[d8, d9, d10], &[d8]]);
        assert_eq!(partner_risk(SharedRule::Daily, &broken, 1), None);
        let weekly = SharedRule::Weekly {
            week_start: WeekStart::Monday,
            targets: [1, 1],
        };
        let sides = partners([d10, d10], [&[d8, d9, d10], &[d8, d9]]);
        assert_eq!(partner_risk(weekly, &sides, 1), None);
    }

    #[test]
    fn a_partner_in_a_zone_a_day_behind_is_told_on_their_own_day() {
        // The first partner is already on the 11th and checked in on their 10th; the second,
        // still on the 10th, has not: at risk. The first partner's 11th is not the second's
        // day yet, so the first is not told anything about it.
        let (d8, d9, d10, d11) = (
            day(2026, 3, 8),
            day(2026, 3, 9),
            day(2026, 3, 10),
            day(2026, 3, 11),
        );
        let sides = partners([d11, d10], [&[d8, d9, d10], &[d8, d9]]);
        assert_eq!(partner_risk(SharedRule::Daily, &sides, 1), Some(2));
        assert_eq!(partner_risk(SharedRule::Daily, &sides, 0), None);
    }

    /// The week's rule read literally from the dates: the days checked in this week before
    /// `day`, and whether the target is reachable with every open day, and without `day`
    /// and the day after.
    fn weekly_literally(target: u32, start: WeekStart, dates: &[NaiveDate], d: NaiveDate) -> bool {
        if dates.iter().any(|&x| x >= d) {
            return false;
        }
        let week = start.week_of(d);
        let mut done: Vec<NaiveDate> = dates
            .iter()
            .copied()
            .filter(|&x| start.week_of(x) == week)
            .collect();
        done.sort_unstable();
        done.dedup();
        let done = done.len() as u32;
        let end = start.next_week(d);
        let open = |from: NaiveDate| u32::try_from((end - from.min(end)).num_days()).unwrap();
        let all = done + open(d);
        let without = done + open(d + Days::new(2));
        done < target && all >= target && without < target
    }

    fn zones() -> impl Strategy<Value = Tz> {
        prop::sample::select(vec![
            chrono_tz::UTC,
            LONDON,
            TOKYO,
            LOS_ANGELES,
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Pacific::Pago_Pago,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::America::Santiago,
            chrono_tz::Asia::Kathmandu,
        ])
    }

    proptest! {
        #[test]
        fn the_daily_rule_is_a_live_streak_without_a_checkin_that_day(
            offsets in prop::collection::vec(0u64..40, 0..30),
            ahead in 0u64..6,
        ) {
            let first = day(2026, 1, 1);
            let dates: Vec<NaiveDate> = offsets.iter().map(|&o| first + Days::new(o)).collect();
            let last = dates.iter().max().copied().unwrap_or(first);
            let d = last + Days::new(ahead);
            let literal = !dates.contains(&d)
                && !dates.iter().any(|&x| x > d)
                && streak::streak(Rule::Daily, &dates, d).streak_count > 0;
            let decided = at_risk(&summary(Rule::Daily, &dates), Rule::Daily, d);
            prop_assert_eq!(decided.is_some(), literal);
            if let Some(risk) = decided {
                prop_assert_eq!(risk.streak, streak::streak(Rule::Daily, &dates, d).streak_count);
            }
        }

        #[test]
        fn the_weekly_rule_is_the_literal_reading_of_the_week(
            offsets in prop::collection::vec(0u64..60, 0..25),
            ahead in 1u64..12,
            target in 1u32..=7,
            sunday in any::<bool>(),
        ) {
            let start = if sunday { WeekStart::Sunday } else { WeekStart::Monday };
            let rule = Rule::Weekly { target, week_start: start };
            let first = day(2026, 1, 1);
            let dates: Vec<NaiveDate> = offsets.iter().map(|&o| first + Days::new(o)).collect();
            let last = dates.iter().max().copied().unwrap_or(first);
            let d = last + Days::new(ahead);
            let decided = at_risk(&summary(rule, &dates), rule, d);
            prop_assert_eq!(decided.is_some(), weekly_literally(target, start, &dates, d));
            if let Some(risk) = decided {
                prop_assert_eq!(risk.streak, streak::streak(rule, &dates, d).streak_count);
            }
        }

        /// Passes at arbitrary moments over three weeks: each local day is sent at most once,
        /// only at or after its reminder time and while it is still that day; the first pass
        /// of a day at or after its time sends it; every other day is skipped or was never
        /// reached; and a schedule always points after the pass.
        #[test]
        fn passes_send_each_local_day_once_within_the_day(
            zone in zones(),
            gaps in prop::collection::vec(1i64..(36 * 60), 1..60),
            hour in 0u32..24,
            minute in prop::sample::select(vec![0u32, 15, 30, 45]),
        ) {
            let time = ReminderTime(NaiveTime::from_hms_opt(hour, minute, 0).unwrap());
            let mut now = utc(2026, 3, 20, 0, 0);
            let mut next: Option<NaiveDate> = None;
            let mut at: Option<DateTime<Utc>> = None;
            let mut sent: Vec<NaiveDate> = Vec::new();
            for gap in gaps {
                now += TimeDelta::minutes(gap);
                let today = now.with_timezone(&zone).date_naive();
                if at.is_none_or(|at| at <= now) {
                    // Selected: the index finds only the schedules that are due.
                    let p = plan(next, now, zone, time);
                    if let Some(d) = p.send {
                        prop_assert_eq!(d, today);
                        prop_assert!(time.on(d, zone) <= now);
                        prop_assert!(!sent.contains(&d), "{} sent twice", d);
                        sent.push(d);
                    }
                    if let Some(skipped) = p.skipped {
                        prop_assert!(skipped < today);
                    }
                    prop_assert!(p.next.at > now);
                    prop_assert!(p.next.day >= today);
                    next = Some(p.next.day);
                    at = Some(p.next.at);
                }
                // Once today's time has come, today has been sent.
                if time.on(today, zone) <= now {
                    prop_assert!(sent.contains(&today), "{} not sent by {}", today, now);
                }
            }
        }
    }
}
