//! What the platform's other services are told: one event per state change the activity
//! feed records, plus the streak facts a notification or leaderboard service would otherwise
//! recompute. Each carries ids and the facts a consumer acts on (a goal's title and status,
//! a badge's code and tier, a check-in's date and minutes, streak figures), never an email,
//! a token or a bio. The envelope (CloudEvents) and the delivery are `crate::events`'.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::{GoalId, GoalStatus, UserId};

/// The streak lengths (in days) announced as milestones.
pub const MILESTONES: [u32; 4] = [7, 30, 100, 365];

/// The milestone a streak reached by growing from `before` to `after`, if any.
pub fn milestone_reached(before: u32, after: u32) -> Option<u32> {
    MILESTONES
        .into_iter()
        .rev()
        .find(|&milestone| before < milestone && milestone <= after)
}

/// A goal as events describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GoalFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    pub title: String,
    pub status: GoalStatus,
}

/// A goal that was deleted, with the title it had.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeletedGoalFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    pub title: String,
}

/// A check-in: the day it is for, in the user's calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CheckinFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    pub date: NaiveDate,
    /// Minutes studied, when the check-in said (absent for a removal).
    pub minutes: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct BadgeFacts {
    pub user_id: UserId,
    pub badge_code: String,
    pub name: String,
    /// `bronze`, `silver` or `gold`.
    pub tier: String,
}

/// A goal's daily streak after a check-in lengthened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StreakFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    /// Consecutive days, today's included.
    pub streak: u32,
    pub longest_streak: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MilestoneFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    /// 7, 30, 100 or 365 days.
    pub milestone: u32,
    pub streak: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProfileFacts {
    pub user_id: UserId,
}

/// One event for the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformEvent {
    ProfileUpdated(ProfileFacts),
    GoalCreated(GoalFacts),
    GoalUpdated(GoalFacts),
    GoalCompleted(GoalFacts),
    GoalDeleted(DeletedGoalFacts),
    CheckinAdded(CheckinFacts),
    CheckinRemoved(CheckinFacts),
    BadgeAwarded(BadgeFacts),
    BadgeRevoked(BadgeFacts),
    StreakExtended(StreakFacts),
    StreakMilestone(MilestoneFacts),
}

/// Every event type: its name (the CloudEvents `type` after the configured prefix), what it
/// announces, and the schema of its `data`, for the AsyncAPI document.
pub struct EventType {
    pub name: &'static str,
    pub summary: &'static str,
    pub data: &'static str,
}

pub const EVENT_TYPES: [EventType; 11] = [
    EventType {
        name: "profile.updated.v1",
        summary: "A user changed their profile or its visibility.",
        data: "ProfileFacts",
    },
    EventType {
        name: "goal.created.v1",
        summary: "A user set a learning goal.",
        data: "GoalFacts",
    },
    EventType {
        name: "goal.updated.v1",
        summary: "A goal changed, other than by being completed.",
        data: "GoalFacts",
    },
    EventType {
        name: "goal.completed.v1",
        summary: "A goal reached the status completed.",
        data: "GoalFacts",
    },
    EventType {
        name: "goal.deleted.v1",
        summary: "A goal was deleted, with its check-ins.",
        data: "DeletedGoalFacts",
    },
    EventType {
        name: "checkin.added.v1",
        summary: "A user checked in on a goal for a day.",
        data: "CheckinFacts",
    },
    EventType {
        name: "checkin.removed.v1",
        summary: "A check-in was taken back.",
        data: "CheckinFacts",
    },
    EventType {
        name: "badge.awarded.v1",
        summary: "A user earned a badge (by a rule, or awarded by a trusted service).",
        data: "BadgeFacts",
    },
    EventType {
        name: "badge.revoked.v1",
        summary: "A trusted service took a badge back.",
        data: "BadgeFacts",
    },
    EventType {
        name: "streak.extended.v1",
        summary: "A check-in lengthened a goal's daily streak.",
        data: "StreakFacts",
    },
    EventType {
        name: "streak.milestone.v1",
        summary: "A goal's daily streak reached 7, 30, 100 or 365 days.",
        data: "MilestoneFacts",
    },
];

impl PlatformEvent {
    /// The index of this event's type in [`EVENT_TYPES`].
    fn type_index(&self) -> usize {
        match self {
            Self::ProfileUpdated(_) => 0,
            Self::GoalCreated(_) => 1,
            Self::GoalUpdated(_) => 2,
            Self::GoalCompleted(_) => 3,
            Self::GoalDeleted(_) => 4,
            Self::CheckinAdded(_) => 5,
            Self::CheckinRemoved(_) => 6,
            Self::BadgeAwarded(_) => 7,
            Self::BadgeRevoked(_) => 8,
            Self::StreakExtended(_) => 9,
            Self::StreakMilestone(_) => 10,
        }
    }

    /// The type's name, without the configured prefix: `goal.completed.v1`.
    pub fn type_name(&self) -> &'static str {
        EVENT_TYPES[self.type_index()].name
    }

    /// The user the event is about: the CloudEvents `subject`.
    pub fn user(&self) -> UserId {
        match self {
            Self::ProfileUpdated(facts) => facts.user_id,
            Self::GoalCreated(facts) | Self::GoalUpdated(facts) | Self::GoalCompleted(facts) => {
                facts.user_id
            }
            Self::GoalDeleted(facts) => facts.user_id,
            Self::CheckinAdded(facts) | Self::CheckinRemoved(facts) => facts.user_id,
            Self::BadgeAwarded(facts) | Self::BadgeRevoked(facts) => facts.user_id,
            Self::StreakExtended(facts) => facts.user_id,
            Self::StreakMilestone(facts) => facts.user_id,
        }
    }

    /// The event's `data`, as JSON text.
    pub fn data(&self) -> String {
        let value = match self {
            Self::ProfileUpdated(facts) => serde_json::to_string(facts),
            Self::GoalCreated(facts) | Self::GoalUpdated(facts) | Self::GoalCompleted(facts) => {
                serde_json::to_string(facts)
            }
            Self::GoalDeleted(facts) => serde_json::to_string(facts),
            Self::CheckinAdded(facts) | Self::CheckinRemoved(facts) => serde_json::to_string(facts),
            Self::BadgeAwarded(facts) | Self::BadgeRevoked(facts) => serde_json::to_string(facts),
            Self::StreakExtended(facts) => serde_json::to_string(facts),
            Self::StreakMilestone(facts) => serde_json::to_string(facts),
        };
        value.expect("plain structs serialize")
    }

    /// The events a check-in that took a goal's streak from `before` to `after` days
    /// announces: none when it did not lengthen it (a day before the last check-in, say).
    pub fn streak_grew(
        user: UserId,
        goal: GoalId,
        before: u32,
        after: u32,
        longest: u32,
    ) -> Vec<Self> {
        if after <= before {
            return Vec::new();
        }
        let mut events = vec![Self::StreakExtended(StreakFacts {
            user_id: user,
            goal_id: goal,
            streak: after,
            longest_streak: longest,
        })];
        if let Some(milestone) = milestone_reached(before, after) {
            events.push(Self::StreakMilestone(MilestoneFacts {
                user_id: user,
                goal_id: goal,
                milestone,
                streak: after,
            }));
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (UserId, GoalId) {
        (UserId::parse(7).unwrap(), GoalId::parse(3).unwrap())
    }

    #[test]
    fn each_type_has_a_name_of_its_own_in_past_tense_and_versioned() {
        let names: std::collections::HashSet<_> = EVENT_TYPES.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), EVENT_TYPES.len());
        for name in names {
            assert!(name.ends_with(".v1"), "{name}");
            assert!(
                name.split('.').all(|part| !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())),
                "{name}"
            );
        }
    }

    #[test]
    fn a_milestone_is_reached_when_the_streak_crosses_it_and_only_then() {
        assert_eq!(milestone_reached(6, 7), Some(7));
        assert_eq!(milestone_reached(7, 8), None);
        assert_eq!(milestone_reached(0, 6), None);
        assert_eq!(milestone_reached(29, 30), Some(30));
        assert_eq!(milestone_reached(99, 100), Some(100));
        assert_eq!(milestone_reached(364, 365), Some(365));
        // A backfilled day can join two runs and jump past several: the highest is announced.
        assert_eq!(milestone_reached(5, 31), Some(30));
    }

    #[test]
    fn a_streak_that_did_not_grow_announces_nothing() {
        let (user, goal) = ids();
        assert!(PlatformEvent::streak_grew(user, goal, 3, 3, 5).is_empty());
        assert!(PlatformEvent::streak_grew(user, goal, 3, 1, 5).is_empty());
    }

    #[test]
    fn a_streak_reaching_seven_days_is_extended_and_a_milestone() {
        let (user, goal) = ids();
        let events = PlatformEvent::streak_grew(user, goal, 6, 7, 7);
        let names: Vec<_> = events.iter().map(PlatformEvent::type_name).collect();
        assert_eq!(names, ["streak.extended.v1", "streak.milestone.v1"]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&events[1].data()).unwrap(),
            serde_json::json!({"user_id": 7, "goal_id": 3, "milestone": 7, "streak": 7})
        );
    }

    #[test]
    fn data_names_the_user_it_is_about() {
        let (user, goal) = ids();
        let event = PlatformEvent::CheckinAdded(CheckinFacts {
            user_id: user,
            goal_id: goal,
            date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            minutes: Some(25),
        });
        assert_eq!(event.user(), user);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&event.data()).unwrap(),
            serde_json::json!({"user_id": 7, "goal_id": 3, "date": "2026-12-01", "minutes": 25})
        );
    }
}
