//! Check-ins: which day a check-in may be for, and its optional details.

use chrono::{Days, NaiveDate};

use super::text;

pub const MINUTES_MAX: u32 = 1440;
pub const NOTE_MAX: usize = 500;

/// The day a check-in is for: today by default, or yesterday, logged late. Later days have
/// not happened and earlier ones are history, which cannot be rewritten.
pub fn day(requested: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, String> {
    let Some(day) = requested else {
        return Ok(today);
    };
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    if day > today {
        Err(format!(
            "must not be after today ({today}) in the user's time zone"
        ))
    } else if day < yesterday {
        Err(format!(
            "must be today ({today}) or yesterday ({yesterday}) in the user's time zone"
        ))
    } else {
        Ok(day)
    }
}

pub fn minutes(raw: u32) -> Result<u32, String> {
    if (1..=MINUTES_MAX).contains(&raw) {
        Ok(raw)
    } else {
        Err(format!("must be between 1 and {MINUTES_MAX}"))
    }
}

/// Blank means no note. Line breaks are kept.
pub fn note(raw: &str) -> Result<Option<String>, String> {
    text::clean(raw, NOTE_MAX, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    #[test]
    fn today_is_the_default_and_yesterday_may_be_logged_late() {
        assert_eq!(day(None, date(10)), Ok(date(10)));
        assert_eq!(day(Some(date(9)), date(10)), Ok(date(9)));
    }

    #[test]
    fn tomorrow_and_the_day_before_yesterday_are_refused() {
        assert!(day(Some(date(11)), date(10)).is_err());
        assert!(day(Some(date(8)), date(10)).is_err());
    }

    #[test]
    fn minutes_are_between_one_and_a_day() {
        assert!(minutes(1).is_ok() && minutes(1440).is_ok());
        assert!(minutes(0).is_err() && minutes(1441).is_err());
    }
}
