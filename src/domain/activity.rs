//! The activity feed: every state change appends one event, written in the transaction of
//! the change. An event keeps the words it was written with, so a deleted goal's events
//! still read with the title it had.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    GoalId,
    visibility::{Privacy, Section, Viewer},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    ProfileUpdated,
    GoalCreated,
    GoalUpdated,
    GoalCompleted,
    GoalDeleted,
    CheckinAdded,
    CheckinRemoved,
    BadgeAwarded,
    BadgeRevoked,
}

impl EventKind {
    pub const ALL: [Self; 9] = [
        Self::ProfileUpdated,
        Self::GoalCreated,
        Self::GoalUpdated,
        Self::GoalCompleted,
        Self::GoalDeleted,
        Self::CheckinAdded,
        Self::CheckinRemoved,
        Self::BadgeAwarded,
        Self::BadgeRevoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProfileUpdated => "profile_updated",
            Self::GoalCreated => "goal_created",
            Self::GoalUpdated => "goal_updated",
            Self::GoalCompleted => "goal_completed",
            Self::GoalDeleted => "goal_deleted",
            Self::CheckinAdded => "checkin_added",
            Self::CheckinRemoved => "checkin_removed",
            Self::BadgeAwarded => "badge_awarded",
            Self::BadgeRevoked => "badge_revoked",
        }
    }

    /// How the section is stored beside the event, for the feed's filter.
    pub fn section_name(self) -> &'static str {
        match self.section() {
            Some(Section::Goals) => "goals",
            Some(Section::Badges) => "badges",
            // Profile events; no event belongs to the activity or stats sections.
            None | Some(Section::Activity | Section::Stats | Section::Connections) => "profile",
        }
    }

    /// The profile section whose visibility also governs this event: a private goals
    /// section must not leak through the feed.
    pub fn section(self) -> Option<Section> {
        match self {
            Self::ProfileUpdated => None,
            Self::GoalCreated
            | Self::GoalUpdated
            | Self::GoalCompleted
            | Self::GoalDeleted
            | Self::CheckinAdded
            | Self::CheckinRemoved => Some(Section::Goals),
            Self::BadgeAwarded | Self::BadgeRevoked => Some(Section::Badges),
        }
    }
}

/// Whether `viewer` sees an event stored with `section_name` (as [`EventKind::section_name`]
/// stores it) on a profile with `privacy`: its owner's activity must be visible to them, and
/// so must the section the event belongs to. What `/activity` shows, the feed shows, and
/// kudos may be given to.
pub fn event_visible(privacy: &Privacy, viewer: Viewer, section_name: &str) -> bool {
    let section = match section_name {
        "goals" => Some(Section::Goals),
        "badges" => Some(Section::Badges),
        _ => None,
    };
    privacy.allows(Section::Activity, viewer)
        && section.is_none_or(|section| privacy.allows(section, viewer))
}

/// An event about to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub kind: EventKind,
    pub goal_id: Option<GoalId>,
    pub badge_code: Option<String>,
    pub summary: String,
}

impl NewEvent {
    fn about_goal(kind: EventKind, goal: GoalId, summary: String) -> Self {
        Self {
            kind,
            goal_id: Some(goal),
            badge_code: None,
            summary,
        }
    }

    fn about_badge(kind: EventKind, code: &str, summary: String) -> Self {
        Self {
            kind,
            goal_id: None,
            badge_code: Some(code.to_owned()),
            summary,
        }
    }

    pub fn profile_updated() -> Self {
        Self {
            kind: EventKind::ProfileUpdated,
            goal_id: None,
            badge_code: None,
            summary: "Updated their profile".into(),
        }
    }

    pub fn goal_created(goal: GoalId, title: &str) -> Self {
        Self::about_goal(EventKind::GoalCreated, goal, format!("Set a goal: {title}"))
    }

    pub fn goal_updated(goal: GoalId, title: &str) -> Self {
        Self::about_goal(
            EventKind::GoalUpdated,
            goal,
            format!("Updated a goal: {title}"),
        )
    }

    pub fn goal_completed(goal: GoalId, title: &str) -> Self {
        Self::about_goal(
            EventKind::GoalCompleted,
            goal,
            format!("Completed a goal: {title}"),
        )
    }

    pub fn goal_deleted(goal: GoalId, title: &str) -> Self {
        Self::about_goal(
            EventKind::GoalDeleted,
            goal,
            format!("Deleted a goal: {title}"),
        )
    }

    pub fn checkin_added(goal: GoalId, title: &str, day: NaiveDate) -> Self {
        Self::about_goal(
            EventKind::CheckinAdded,
            goal,
            format!("Checked in on {title} for {day}"),
        )
    }

    pub fn checkin_removed(goal: GoalId, title: &str, day: NaiveDate) -> Self {
        Self::about_goal(
            EventKind::CheckinRemoved,
            goal,
            format!("Removed the check-in on {title} for {day}"),
        )
    }

    pub fn badge_awarded(code: &str, name: &str) -> Self {
        Self::about_badge(
            EventKind::BadgeAwarded,
            code,
            format!("Earned the badge {name}"),
        )
    }

    pub fn badge_revoked(code: &str, name: &str) -> Self {
        Self::about_badge(
            EventKind::BadgeRevoked,
            code,
            format!("Lost the badge {name}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::visibility::Visibility;
    use super::*;

    #[test]
    fn an_event_is_visible_with_its_owners_activity_and_its_section() {
        let privacy = Privacy {
            goals: Visibility::Followers,
            badges: Visibility::Private,
            ..Default::default()
        };
        assert!(event_visible(&privacy, Viewer::Follower, "goals"));
        assert!(!event_visible(&privacy, Viewer::Other, "goals"));
        assert!(!event_visible(&privacy, Viewer::Follower, "badges"));
        assert!(event_visible(&privacy, Viewer::Owner, "badges"));
        assert!(event_visible(&privacy, Viewer::Other, "profile"));
        let hidden = Privacy {
            activity: Visibility::Followers,
            ..Default::default()
        };
        assert!(!event_visible(&hidden, Viewer::Other, "profile"));
        assert!(event_visible(&hidden, Viewer::Follower, "profile"));
    }

    #[test]
    fn each_kind_is_stored_by_a_name_of_its_own_as_serialized() {
        let names: std::collections::HashSet<_> =
            EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EventKind::ALL.len());
        for kind in EventKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn goal_and_badge_events_follow_their_sections() {
        assert_eq!(EventKind::CheckinAdded.section(), Some(Section::Goals));
        assert_eq!(EventKind::BadgeRevoked.section(), Some(Section::Badges));
        assert_eq!(EventKind::ProfileUpdated.section(), None);
    }
}
