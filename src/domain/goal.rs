//! Learning goals: their fields, their statuses, and how an update moves `completed_at`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{FieldError, Patch, streak::Rule, text, week::WeekStart};

pub const TITLE_MAX: usize = 200;
pub const DESCRIPTION_MAX: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalTitle(String);

impl GoalTitle {
    pub fn parse(raw: &str) -> Result<Self, String> {
        text::required(raw, TITLE_MAX).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalDescription(String);

impl GoalDescription {
    /// Blank text means "no description". Line breaks are kept.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        Ok(text::clean(raw, DESCRIPTION_MAX, true)?.map(Self))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum GoalStatus {
    InProgress,
    Paused,
    Completed,
    Abandoned,
}

impl GoalStatus {
    pub const ALL: [Self; 4] = [
        Self::InProgress,
        Self::Paused,
        Self::Completed,
        Self::Abandoned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in-progress",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| "must be one of in-progress, paused, completed, abandoned".to_owned())
    }
}

impl TryFrom<String> for GoalStatus {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

/// How often a goal is meant to be worked on: every day, or on some days of each week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Cadence {
    #[default]
    Daily,
    Weekly,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "daily" => Ok(Self::Daily),
            "weekly" => Ok(Self::Weekly),
            _ => Err("must be daily or weekly".into()),
        }
    }
}

impl TryFrom<String> for Cadence {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

pub const DAYS_PER_WEEK_MAX: i64 = 7;

/// A goal's cadence with its weekly target. Only [`Schedule::parse`] builds one from input,
/// so a weekly goal always has a target of 1–7 days and a daily one has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Schedule {
    cadence: Cadence,
    days_per_week: Option<u32>,
}

impl Schedule {
    pub const DAILY: Self = Self {
        cadence: Cadence::Daily,
        days_per_week: None,
    };

    /// A weekly goal needs `days_per_week` (1–7); a daily one takes none. Errors name the
    /// field they are about.
    pub fn parse(cadence: Cadence, days_per_week: Option<i64>) -> Result<Self, FieldError> {
        let days = match (cadence, days_per_week) {
            (Cadence::Daily, None) => None,
            (Cadence::Daily, Some(_)) => {
                return Err(FieldError::new(
                    "days_per_week",
                    "is only for a weekly goal (cadence weekly)",
                ));
            }
            (Cadence::Weekly, None) => {
                return Err(FieldError::new(
                    "days_per_week",
                    "is required for a weekly goal",
                ));
            }
            (Cadence::Weekly, Some(days)) if (1..=DAYS_PER_WEEK_MAX).contains(&days) => {
                u32::try_from(days).ok()
            }
            (Cadence::Weekly, Some(_)) => {
                return Err(FieldError::new(
                    "days_per_week",
                    format!("must be between 1 and {DAYS_PER_WEEK_MAX}"),
                ));
            }
        };
        Ok(Self {
            cadence,
            days_per_week: days,
        })
    }

    /// As stored: a weekly goal whose target another program wrote out of range reads as
    /// needing every day, the strictest reading, rather than failing the read.
    pub fn from_stored(cadence: Cadence, days_per_week: Option<i32>) -> Self {
        match cadence {
            Cadence::Daily => Self::DAILY,
            Cadence::Weekly => Self {
                cadence,
                days_per_week: Some(
                    days_per_week
                        .and_then(|d| u32::try_from(d).ok())
                        .filter(|d| (1..=7).contains(d))
                        .unwrap_or(7),
                ),
            },
        }
    }

    pub fn cadence(self) -> Cadence {
        self.cadence
    }

    pub fn days_per_week(self) -> Option<u32> {
        self.days_per_week
    }

    /// How the goal's streak counts, in the owner's weeks.
    pub fn rule(self, week_start: WeekStart) -> Rule {
        match self.days_per_week {
            Some(target) if self.cadence == Cadence::Weekly => Rule::Weekly { target, week_start },
            _ => Rule::Daily,
        }
    }
}

/// A new goal, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGoal {
    pub title: GoalTitle,
    pub description: Option<GoalDescription>,
    pub status: GoalStatus,
    pub schedule: Schedule,
    /// Whether reminders go out for it (default on).
    pub reminders: bool,
}

impl NewGoal {
    /// A goal created as completed was completed when it was created.
    pub fn completed_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (self.status == GoalStatus::Completed).then_some(now)
    }
}

/// A goal as it was created: what a replay of its creation answers with. (A new goal has
/// no check-ins: its streak is zero.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedGoal {
    pub id: i64,
    pub user_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub status: GoalStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// Absent from goals kept before weekly goals existed: those were daily.
    #[serde(default)]
    pub cadence: Cadence,
    #[serde(default)]
    pub days_per_week: Option<u32>,
    /// Absent from goals kept before reminders existed: those had them on.
    #[serde(default = "reminders_on")]
    pub reminders: bool,
}

fn reminders_on() -> bool {
    true
}

/// The fields of a goal that its owner edits, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalFields {
    pub title: String,
    pub description: Option<String>,
    pub status: GoalStatus,
    pub completed_at: Option<DateTime<Utc>>,
    pub schedule: Schedule,
    pub reminders: bool,
}

/// A validated partial update of a goal. A title can be replaced but not cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoalChanges {
    pub title: Option<GoalTitle>,
    pub description: Patch<GoalDescription>,
    pub status: Option<GoalStatus>,
    pub cadence: Option<Cadence>,
    pub days_per_week: Patch<i64>,
    pub reminders: Option<bool>,
}

impl GoalChanges {
    /// The goal after this update. Becoming completed stamps `completed_at` with `now`;
    /// leaving completed clears it; staying completed keeps the first stamp. A goal that
    /// becomes daily drops its weekly target; one that becomes weekly needs one, given or
    /// kept from before.
    pub fn apply(self, current: &GoalFields, now: DateTime<Utc>) -> Result<GoalFields, FieldError> {
        let status = self.status.unwrap_or(current.status);
        let completed_at = match (current.status, status) {
            (GoalStatus::Completed, GoalStatus::Completed) => current.completed_at,
            (_, GoalStatus::Completed) => Some(now),
            _ => None,
        };
        let cadence = self.cadence.unwrap_or(current.schedule.cadence());
        let days_per_week = match self.days_per_week {
            Patch::Set(days) => Some(days),
            Patch::Clear => None,
            Patch::Unchanged if cadence == Cadence::Weekly => {
                current.schedule.days_per_week().map(i64::from)
            }
            Patch::Unchanged => None,
        };
        let schedule = Schedule::parse(cadence, days_per_week)?;
        Ok(GoalFields {
            schedule,
            title: self
                .title
                .map_or_else(|| current.title.clone(), GoalTitle::into_inner),
            description: self
                .description
                .apply(current.description.clone().map(GoalDescription))
                .map(GoalDescription::into_inner),
            status,
            completed_at,
            reminders: self.reminders.unwrap_or(current.reminders),
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, hour, 0, 0).unwrap()
    }

    fn goal(status: GoalStatus, completed_at: Option<DateTime<Utc>>) -> GoalFields {
        GoalFields {
            title: "Learn Rust".into(),
            description: Some("Daily".into()),
            status,
            completed_at,
            schedule: Schedule::DAILY,
            reminders: true,
        }
    }

    fn to(status: GoalStatus) -> GoalChanges {
        GoalChanges {
            status: Some(status),
            ..Default::default()
        }
    }

    #[test]
    fn becoming_completed_stamps_completed_at() {
        let after = to(GoalStatus::Completed)
            .apply(&goal(GoalStatus::InProgress, None), at(9))
            .unwrap();
        assert_eq!(after.completed_at, Some(at(9)));
    }

    #[test]
    fn staying_completed_keeps_the_first_stamp() {
        let done = goal(GoalStatus::Completed, Some(at(8)));
        assert_eq!(
            to(GoalStatus::Completed)
                .apply(&done, at(9))
                .unwrap()
                .completed_at,
            Some(at(8))
        );
        assert_eq!(
            GoalChanges::default()
                .apply(&done, at(9))
                .unwrap()
                .completed_at,
            Some(at(8))
        );
    }

    #[test]
    fn leaving_completed_clears_completed_at() {
        let done = goal(GoalStatus::Completed, Some(at(8)));
        assert_eq!(
            to(GoalStatus::Paused)
                .apply(&done, at(9))
                .unwrap()
                .completed_at,
            None
        );
    }

    #[test]
    fn description_can_be_cleared_and_title_kept() {
        let changes = GoalChanges {
            description: Patch::Clear,
            ..Default::default()
        };
        let after = changes
            .apply(&goal(GoalStatus::InProgress, None), at(9))
            .unwrap();
        assert_eq!(after.title, "Learn Rust");
        assert_eq!(after.description, None);
    }

    #[test]
    fn statuses_parse_from_their_kebab_case_names_only() {
        for status in GoalStatus::ALL {
            assert_eq!(GoalStatus::parse(status.as_str()), Ok(status));
        }
        assert!(GoalStatus::parse("done").is_err());
        assert!(GoalStatus::parse("In-Progress").is_err());
    }

    #[test]
    fn a_created_goal_reads_back_from_what_earlier_versions_kept() {
        // Earlier versions kept the whole answer, streak figures included.
        let kept = r#"{"id":49,"user_id":1,"title":"Learn Go","description":null,
            "status":"in-progress","streak_count":0,"longest_streak":0,"freezes_available":0,
            "last_checkin_date":null,"created_at":"2026-03-10T12:00:00Z",
            "updated_at":"2026-03-10T12:00:00Z","completed_at":null}"#;
        let created: CreatedGoal = serde_json::from_str(kept).unwrap();
        assert_eq!((created.id, created.status), (49, GoalStatus::InProgress));
        let again: CreatedGoal =
            serde_json::from_str(&serde_json::to_string(&created).unwrap()).unwrap();
        assert_eq!(again, created);
    }

    #[test]
    fn titles_are_required_and_bounded() {
        assert!(GoalTitle::parse(&"t".repeat(TITLE_MAX)).is_ok());
        assert!(GoalTitle::parse(&"t".repeat(TITLE_MAX + 1)).is_err());
        assert!(GoalTitle::parse("  ").is_err());
    }
}

#[cfg(test)]
mod schedule_tests {
    use super::*;

    #[test]
    fn a_weekly_goal_needs_one_to_seven_days_and_a_daily_one_none() {
        assert!(Schedule::parse(Cadence::Weekly, Some(3)).is_ok());
        assert_eq!(Schedule::parse(Cadence::Daily, None), Ok(Schedule::DAILY));
        for (cadence, days) in [
            (Cadence::Weekly, None),
            (Cadence::Weekly, Some(0)),
            (Cadence::Weekly, Some(8)),
            (Cadence::Daily, Some(3)),
        ] {
            let error = Schedule::parse(cadence, days).unwrap_err();
            assert_eq!(error.field, "days_per_week", "{cadence:?} {days:?}");
        }
    }

    #[test]
    fn a_goal_becoming_weekly_keeps_or_takes_a_target_and_becoming_daily_drops_it() {
        let now = DateTime::<Utc>::MIN_UTC;
        let daily = GoalFields {
            title: "Read".into(),
            description: None,
            status: GoalStatus::InProgress,
            completed_at: None,
            schedule: Schedule::DAILY,
            reminders: true,
        };
        let to_weekly = |days| GoalChanges {
            cadence: Some(Cadence::Weekly),
            days_per_week: days,
            ..GoalChanges::default()
        };
        assert_eq!(
            to_weekly(Patch::Unchanged)
                .apply(&daily, now)
                .unwrap_err()
                .field,
            "days_per_week"
        );
        let weekly = to_weekly(Patch::Set(3)).apply(&daily, now).unwrap();
        assert_eq!(weekly.schedule.days_per_week(), Some(3));
        let renamed = GoalChanges {
            title: Some(GoalTitle::parse("Read more").unwrap()),
            ..GoalChanges::default()
        };
        assert_eq!(
            renamed.apply(&weekly, now).unwrap().schedule,
            weekly.schedule
        );
        let back = GoalChanges {
            cadence: Some(Cadence::Daily),
            ..GoalChanges::default()
        };
        assert_eq!(back.apply(&weekly, now).unwrap().schedule, Schedule::DAILY);
        let days_on_daily = GoalChanges {
            days_per_week: Patch::Set(2),
            ..GoalChanges::default()
        };
        assert!(days_on_daily.apply(&daily, now).is_err());
    }

    #[test]
    fn a_stored_weekly_goal_reads_with_a_target_in_range() {
        let schedule = Schedule::from_stored(Cadence::Weekly, Some(12));
        assert_eq!(schedule.days_per_week(), Some(7));
        assert_eq!(
            Schedule::from_stored(Cadence::Weekly, Some(2)).rule(WeekStart::Sunday),
            Rule::Weekly {
                target: 2,
                week_start: WeekStart::Sunday
            }
        );
        assert_eq!(
            Schedule::from_stored(Cadence::Daily, Some(2)),
            Schedule::DAILY
        );
    }
}
