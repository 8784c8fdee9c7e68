//! Learning goals: their fields, their statuses, and how an update moves `completed_at`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Patch, text};

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

/// A new goal, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGoal {
    pub title: GoalTitle,
    pub description: Option<GoalDescription>,
    pub status: GoalStatus,
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
}

/// The fields of a goal that its owner edits, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoalFields {
    pub title: String,
    pub description: Option<String>,
    pub status: GoalStatus,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A validated partial update of a goal. A title can be replaced but not cleared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoalChanges {
    pub title: Option<GoalTitle>,
    pub description: Patch<GoalDescription>,
    pub status: Option<GoalStatus>,
}

impl GoalChanges {
    /// The goal after this update. Becoming completed stamps `completed_at` with `now`;
    /// leaving completed clears it; staying completed keeps the first stamp.
    pub fn apply(self, current: &GoalFields, now: DateTime<Utc>) -> GoalFields {
        let status = self.status.unwrap_or(current.status);
        let completed_at = match (current.status, status) {
            (GoalStatus::Completed, GoalStatus::Completed) => current.completed_at,
            (_, GoalStatus::Completed) => Some(now),
            _ => None,
        };
        GoalFields {
            title: self
                .title
                .map_or_else(|| current.title.clone(), GoalTitle::into_inner),
            description: self
                .description
                .apply(current.description.clone().map(GoalDescription))
                .map(GoalDescription::into_inner),
            status,
            completed_at,
        }
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
        let after = to(GoalStatus::Completed).apply(&goal(GoalStatus::InProgress, None), at(9));
        assert_eq!(after.completed_at, Some(at(9)));
    }

    #[test]
    fn staying_completed_keeps_the_first_stamp() {
        let done = goal(GoalStatus::Completed, Some(at(8)));
        assert_eq!(
            to(GoalStatus::Completed).apply(&done, at(9)).completed_at,
            Some(at(8))
        );
        assert_eq!(
            GoalChanges::default().apply(&done, at(9)).completed_at,
            Some(at(8))
        );
    }

    #[test]
    fn leaving_completed_clears_completed_at() {
        let done = goal(GoalStatus::Completed, Some(at(8)));
        assert_eq!(
            to(GoalStatus::Paused).apply(&done, at(9)).completed_at,
            None
        );
    }

    #[test]
    fn description_can_be_cleared_and_title_kept() {
        let changes = GoalChanges {
            description: Patch::Clear,
            ..Default::default()
        };
        let after = changes.apply(&goal(GoalStatus::InProgress, None), at(9));
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
