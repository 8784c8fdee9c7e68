//! The user's week: it starts on the profile's `week_start`, in the user's time zone (a
//! week is seven calendar dates there, whatever daylight saving does to its hours).

use chrono::{Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WeekStart {
    #[default]
    Monday,
    Sunday,
}

impl WeekStart {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "monday" => Ok(Self::Monday),
            "sunday" => Ok(Self::Sunday),
            _ => Err("must be monday or sunday".into()),
        }
    }

    /// A name read back from the database; an unknown one (written by another program)
    /// falls back to the default rather than failing the read.
    pub fn from_stored(name: &str) -> Self {
        Self::parse(name).unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monday => "monday",
            Self::Sunday => "sunday",
        }
    }

    fn weekday(self) -> Weekday {
        match self {
            Self::Monday => Weekday::Mon,
            Self::Sunday => Weekday::Sun,
        }
    }

    /// The first day of the week that holds `date`.
    pub fn week_of(self, date: NaiveDate) -> NaiveDate {
        date.week(self.weekday()).first_day()
    }

    /// The first day of the week after the one that holds `date`.
    pub fn next_week(self, date: NaiveDate) -> NaiveDate {
        self.week_of(date) + Days::new(7)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_week_starts_on_the_chosen_day() {
        // 2026-03-10 is a Tuesday.
        assert_eq!(WeekStart::Monday.week_of(day(2026, 3, 10)), day(2026, 3, 9));
        assert_eq!(WeekStart::Sunday.week_of(day(2026, 3, 10)), day(2026, 3, 8));
        assert_eq!(WeekStart::Monday.week_of(day(2026, 3, 9)), day(2026, 3, 9));
        assert_eq!(WeekStart::Sunday.week_of(day(2026, 3, 8)), day(2026, 3, 8));
        assert_eq!(WeekStart::Sunday.week_of(day(2026, 3, 14)), day(2026, 3, 8));
        assert_eq!(
            WeekStart::Monday.next_week(day(2026, 3, 15)),
            day(2026, 3, 16)
        );
    }

    #[test]
    fn only_the_two_names_parse_and_an_unknown_stored_one_reads_as_monday() {
        assert_eq!(WeekStart::parse("sunday"), Ok(WeekStart::Sunday));
        assert!(WeekStart::parse("Sunday").is_err());
        assert!(WeekStart::parse("saturday").is_err());
        assert_eq!(WeekStart::from_stored("?"), WeekStart::Monday);
        assert_eq!(WeekStart::default().as_str(), "monday");
    }
}
