//! Check-ins: which day a check-in may be for, and its optional details, validated at once
//! so that a request with several faults hears of all of them.

use chrono::{Days, NaiveDate};

use super::{FieldError, field, text};

/// A check-in as the client sent it, with the errors for members it should not have sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckinRequest {
    pub day: Option<NaiveDate>,
    pub minutes: Option<u32>,
    pub note: Option<String>,
    pub refused: Vec<FieldError>,
}

/// A validated check-in about to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheckin {
    pub day: NaiveDate,
    pub minutes: Option<u32>,
    pub note: Option<String>,
}

impl CheckinRequest {
    /// Every rule at once, the day settled against the user's `today`: every field that
    /// breaks one is named.
    pub fn validate(self, today: NaiveDate) -> Result<NewCheckin, Vec<FieldError>> {
        let mut errors = self.refused;
        let day = field(&mut errors, "date", day(self.day, today));
        let minutes = field(
            &mut errors,
            "minutes",
            self.minutes.map(minutes).transpose(),
        );
        let note = field(
            &mut errors,
            "note",
            self.note
                .as_deref()
                .map(note)
                .transpose()
                .map(Option::flatten),
        );
        match (day, minutes, note) {
            (Some(day), Some(minutes), Some(note)) if errors.is_empty() => {
                Ok(NewCheckin { day, minutes, note })
            }
            _ => Err(errors),
        }
    }
}

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
    fn every_faulty_field_is_named_at_once() {
        let request = CheckinRequest {
            day: Some(date(1)),
            minutes: Some(0),
            note: Some("a\u{7}".into()),
            refused: vec![FieldError::new("streak", "is set by the service")],
        };
        let fields: Vec<String> = request
            .validate(date(10))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["streak", "date", "minutes", "note"]);
    }

    #[test]
    fn a_valid_request_is_settled_on_its_day() {
        let request = CheckinRequest {
            day: None,
            minutes: Some(30),
            note: Some("  chapter 3  ".into()),
            refused: Vec::new(),
        };
        assert_eq!(
            request.validate(date(10)),
            Ok(NewCheckin {
                day: date(10),
                minutes: Some(30),
                note: Some("chapter 3".into()),
            })
        );
    }

    #[test]
    fn minutes_are_between_one_and_a_day() {
        assert!(minutes(1).is_ok() && minutes(1440).is_ok());
        assert!(minutes(0).is_err() && minutes(1441).is_err());
    }
}
