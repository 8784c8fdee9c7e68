//! What the platform's other services are told: one event per state change the activity
//! feed records, plus the streak facts a notification or leaderboard service would otherwise
//! recompute. Each carries ids and the facts a consumer acts on (a goal's title and status,
//! a badge's code and tier, a check-in's date and minutes, streak figures), never an email,
//! a token or a bio. The envelope (CloudEvents) and the delivery are `crate::events`'.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    GoalId, GoalStatus, UserId,
    streak::{Rule, StreakSummary, StreakUnit},
};

/// The streak lengths (in days) announced as milestones.
pub const MILESTONES: [u32; 4] = [7, 30, 100, 365];

/// The milestone a streak reached by growing from `before` to `after`, if any.
pub fn milestone_reached(before: u32, after: u32) -> Option<u32> {
    MILESTONES
        .into_iter()
        .rev()
        .find(|&milestone| before < milestone && milestone <= after)
}

/// How far a goal's current run has been announced: the run, known by its first day (see
/// [`StreakSummary::run_start_on`]), and the longest streak announced in it. Kept with the
/// goal, so that a day taken back and checked in again announces nothing a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnouncedRun {
    pub start: NaiveDate,
    pub streak: u32,
}

impl AnnouncedRun {
    /// The mark a goal holds: the stored one or, for a goal without (its streak last moved
    /// before marks were kept, or was counted again under a new rule), its summary's run as
    /// far as it went, which was announced or counted then.
    pub fn held(stored: Option<Self>, summary: &StreakSummary, rule: Rule) -> Option<Self> {
        stored.or_else(|| {
            let last = summary.last_checkin?;
            summary.run_start_on(rule, last).map(|start| Self {
                start,
                streak: summary.run,
            })
        })
    }
}

/// What a check-in did to a goal's streak, read on the owner's today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreakGrowth {
    pub unit: StreakUnit,
    /// The streak before the check-in.
    pub before: u32,
    /// The streak after it, and the longest ever.
    pub after: u32,
    pub longest: u32,
    /// The first day of the run the streak is in after it (`None` at 0).
    pub run_start: Option<NaiveDate>,
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

/// A goal's streak after a check-in lengthened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StreakFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    /// Consecutive days (a weekly goal: weeks), today's included.
    pub streak: u32,
    pub longest_streak: u32,
    /// `day` for a daily goal, `week` for a weekly one.
    pub unit: StreakUnit,
}

/// A goal's streak at risk on the user's local day: they have not checked in yet, and it is
/// the reminder time there (see `reminder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AtRiskFacts {
    pub user_id: UserId,
    pub goal_id: GoalId,
    /// The streak as it reads that day: days, or weeks for a weekly goal (whose first week
    /// may be at stake: 0).
    pub streak: u32,
    /// `day` for a daily goal, `week` for a weekly one.
    pub unit: StreakUnit,
    /// The user's calendar day the reminder is for, in their time zone.
    pub local_date: NaiveDate,
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

/// Kudos given to one of `user_id`'s events by `giver_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KudosFacts {
    /// The event's owner: the one a notification is for.
    pub user_id: UserId,
    pub giver_id: UserId,
    pub activity_id: i64,
    /// The event's type, as `/activity` gives it (`checkin_added`, `badge_awarded`, …).
    pub activity_type: String,
}

/// A follow of `user_id` by `follower_id` (begun, or asked for).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FollowFacts {
    /// The user followed: the one a notification is for.
    pub user_id: UserId,
    pub follower_id: UserId,
}

/// An invitation to partner on a goal, for the invited user (`user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartnershipRequestFacts {
    /// The invited user: the one a notification is for.
    pub user_id: UserId,
    pub from_user_id: UserId,
    pub partnership_id: i64,
    /// The inviter's goal.
    pub goal_id: GoalId,
    /// `day` for daily goals, `week` for weekly ones.
    pub unit: StreakUnit,
}

/// A partnership as one partner (`user_id`) sees it: published to each.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartnershipFacts {
    pub user_id: UserId,
    /// The other partner; `null` once they were erased.
    pub partner_id: Option<UserId>,
    pub partnership_id: i64,
    /// `user_id`'s goal in it, when there is one.
    pub goal_id: Option<GoalId>,
}

/// A partnership that ended, as one partner (`user_id`) is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartnershipEndFacts {
    pub user_id: UserId,
    /// The other partner; `null` when they were erased.
    pub partner_id: Option<UserId>,
    pub partnership_id: i64,
    /// `declined`, `withdrawn`, `ended`, `blocked`, `unfollowed`, `goal_deleted`,
    /// `goal_completed`, `erased` or `deactivated`.
    pub reason: String,
    /// The shared streak when it ended.
    pub shared_streak: u32,
}

/// A shared streak that grew, told to each partner (`user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartnerStreakFacts {
    pub user_id: UserId,
    pub partner_id: UserId,
    pub partnership_id: i64,
    /// Shared days (weekly goals: weeks) in a row.
    pub streak: u32,
    pub longest_streak: u32,
    pub unit: StreakUnit,
}

/// A shared streak that reached 7, 30, 100 or 365, told to each partner (`user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartnerMilestoneFacts {
    pub user_id: UserId,
    pub partner_id: UserId,
    pub partnership_id: i64,
    /// 7, 30, 100 or 365 (days, or weeks for weekly goals).
    pub milestone: u32,
    pub streak: u32,
    pub unit: StreakUnit,
}

/// A partner's nudge: `user_id` is the one nudged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NudgeFacts {
    pub user_id: UserId,
    pub from_user_id: UserId,
    pub partnership_id: i64,
}

/// A partner's shared streak at risk on their local day: at the reminder time in their time
/// zone, the other partner has checked in that day and they have not (see `reminder`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PartnerAtRiskFacts {
    /// The partner who has not checked in: the one a notification is for.
    pub user_id: UserId,
    /// The partner who has.
    pub partner_id: UserId,
    pub partnership_id: i64,
    /// `user_id`'s goal in the partnership.
    pub goal_id: GoalId,
    /// Shared days in a row, as the streak reads that day.
    pub shared_streak: u32,
    /// `day`: partners' reminders are for daily goals.
    pub unit: StreakUnit,
    /// The user's calendar day the reminder is for, in their time zone.
    pub local_date: NaiveDate,
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
    FollowCreated(FollowFacts),
    FollowRequested(FollowFacts),
    KudosGiven(KudosFacts),
    PartnershipRequested(PartnershipRequestFacts),
    PartnershipStarted(PartnershipFacts),
    PartnershipEnded(PartnershipEndFacts),
    PartnerStreakExtended(PartnerStreakFacts),
    PartnerStreakMilestone(PartnerMilestoneFacts),
    PartnerNudged(NudgeFacts),
    StreakAtRisk(AtRiskFacts),
    PartnerStreakAtRisk(PartnerAtRiskFacts),
}

/// Every event type: its name (the CloudEvents `type` after the configured prefix), what it
/// announces, and the schema of its `data`, for the AsyncAPI document.
pub struct EventType {
    pub name: &'static str,
    pub summary: &'static str,
    pub data: &'static str,
}

pub const EVENT_TYPES: [EventType; 22] = [
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
        summary: "A check-in lengthened a goal's streak past any length announced in its run (in days, or weeks for a weekly goal).",
        data: "StreakFacts",
    },
    EventType {
        name: "streak.milestone.v1",
        summary: "A goal's daily streak reached 7, 30, 100 or 365 days, announced once per run.",
        data: "MilestoneFacts",
    },
    EventType {
        name: "follow.created.v1",
        summary: "A user began following another (at once, or when their request was approved).",
        data: "FollowFacts",
    },
    EventType {
        name: "follow.requested.v1",
        summary: "A user asked to follow another, whose follows need approval.",
        data: "FollowFacts",
    },
    EventType {
        name: "kudos.given.v1",
        summary: "A user gave kudos to another's activity event (taking them back publishes nothing).",
        data: "KudosFacts",
    },
    EventType {
        name: "partnership.requested.v1",
        summary: "A user invited another, who follows them back, to partner on a goal.",
        data: "PartnershipRequestFacts",
    },
    EventType {
        name: "partnership.started.v1",
        summary: "An invitation to partner was accepted: one event to each partner.",
        data: "PartnershipFacts",
    },
    EventType {
        name: "partnership.ended.v1",
        summary: "An invitation or a partnership ended (declined, withdrawn, ended by hand, by a block, an unfollow, a goal deleted or completed, an erasure or a deactivation): one event to each partner who remains.",
        data: "PartnershipEndFacts",
    },
    EventType {
        name: "partner_streak.extended.v1",
        summary: "A check-in made a shared day (or week) and lengthened the partners' shared streak: one event to each partner.",
        data: "PartnerStreakFacts",
    },
    EventType {
        name: "partner_streak.milestone.v1",
        summary: "A shared streak reached 7, 30, 100 or 365 days (or weeks): one event to each partner.",
        data: "PartnerMilestoneFacts",
    },
    EventType {
        name: "partner.nudged.v1",
        summary: "A partner nudged the other to check in today (at most once a day each).",
        data: "NudgeFacts",
    },
    EventType {
        name: "streak.at_risk.v1",
        summary: "A goal's streak is at risk today: at the reminder time in the user's time zone, a daily goal with a live streak has no check-in yet, or a weekly goal's target can be met only with a check-in today or tomorrow. Once per goal and local day.",
        data: "AtRiskFacts",
    },
    EventType {
        name: "partner_streak.at_risk.v1",
        summary: "A shared streak is at risk today: at the reminder time in the user's time zone, their partner on a daily goal has checked in that day and they have not, and the shared streak is alive. Once per partnership, user and local day.",
        data: "PartnerAtRiskFacts",
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
            Self::FollowCreated(_) => 11,
            Self::FollowRequested(_) => 12,
            Self::KudosGiven(_) => 13,
            Self::PartnershipRequested(_) => 14,
            Self::PartnershipStarted(_) => 15,
            Self::PartnershipEnded(_) => 16,
            Self::PartnerStreakExtended(_) => 17,
            Self::PartnerStreakMilestone(_) => 18,
            Self::PartnerNudged(_) => 19,
            Self::StreakAtRisk(_) => 20,
            Self::PartnerStreakAtRisk(_) => 21,
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
            Self::FollowCreated(facts) | Self::FollowRequested(facts) => facts.user_id,
            Self::KudosGiven(facts) => facts.user_id,
            Self::PartnershipRequested(facts) => facts.user_id,
            Self::PartnershipStarted(facts) => facts.user_id,
            Self::PartnershipEnded(facts) => facts.user_id,
            Self::PartnerStreakExtended(facts) => facts.user_id,
            Self::PartnerStreakMilestone(facts) => facts.user_id,
            Self::PartnerNudged(facts) => facts.user_id,
            Self::StreakAtRisk(facts) => facts.user_id,
            Self::PartnerStreakAtRisk(facts) => facts.user_id,
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
            Self::FollowCreated(facts) | Self::FollowRequested(facts) => {
                serde_json::to_string(facts)
            }
            Self::KudosGiven(facts) => serde_json::to_string(facts),
            Self::PartnershipRequested(facts) => serde_json::to_string(facts),
            Self::PartnershipStarted(facts) => serde_json::to_string(facts),
            Self::PartnershipEnded(facts) => serde_json::to_string(facts),
            Self::PartnerStreakExtended(facts) => serde_json::to_string(facts),
            Self::PartnerStreakMilestone(facts) => serde_json::to_string(facts),
            Self::PartnerNudged(facts) => serde_json::to_string(facts),
            Self::StreakAtRisk(facts) => serde_json::to_string(facts),
            Self::PartnerStreakAtRisk(facts) => serde_json::to_string(facts),
        };
        value.expect("plain structs serialize")
    }

    pub fn checkin_added(
        user: UserId,
        goal: GoalId,
        date: NaiveDate,
        minutes: Option<u32>,
    ) -> Self {
        Self::CheckinAdded(CheckinFacts {
            user_id: user,
            goal_id: goal,
            date,
            minutes,
        })
    }

    pub fn checkin_removed(user: UserId, goal: GoalId, date: NaiveDate) -> Self {
        Self::CheckinRemoved(CheckinFacts {
            user_id: user,
            goal_id: goal,
            date,
            minutes: None,
        })
    }

    /// The events a check-in that grew a goal's streak announces, and the goal's mark after
    /// them. A run announces each length once: the streak is extended (and a milestone of a
    /// daily streak reached) only past both the streak before the check-in and the longest
    /// already announced in the same run. So a day taken back and checked in again, which
    /// reaches a length the run had reached, announces nothing; nor does a check-in that did
    /// not lengthen the streak (a day before the last one, a weekly goal's week not met yet).
    pub fn streak_grew(
        user: UserId,
        goal: GoalId,
        growth: StreakGrowth,
        held: Option<AnnouncedRun>,
    ) -> (Vec<Self>, Option<AnnouncedRun>) {
        let Some(start) = growth.run_start else {
            return (Vec::new(), held);
        };
        let reached = match held {
            Some(mark) if mark.start == start => growth.before.max(mark.streak),
            _ => growth.before,
        };
        if growth.after <= reached {
            return (Vec::new(), held);
        }
        let mut events = vec![Self::StreakExtended(StreakFacts {
            user_id: user,
            goal_id: goal,
            streak: growth.after,
            longest_streak: growth.longest,
            unit: growth.unit,
        })];
        if growth.unit == StreakUnit::Day
            && let Some(milestone) = milestone_reached(reached, growth.after)
        {
            events.push(Self::StreakMilestone(MilestoneFacts {
                user_id: user,
                goal_id: goal,
                milestone,
                streak: growth.after,
            }));
        }
        let mark = AnnouncedRun {
            start,
            streak: growth.after,
        };
        (events, Some(mark))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (UserId, GoalId) {
        (UserId::parse(7).unwrap(), GoalId::parse(3).unwrap())
    }

    #[test]
    fn each_type_has_a_name_of_its_own_in_lower_case_and_versioned() {
        let names: std::collections::HashSet<_> = EVENT_TYPES.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), EVENT_TYPES.len());
        for name in names {
            assert!(name.ends_with(".v1"), "{name}");
            assert!(
                name.split('.').all(|part| !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')),
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

    fn date(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
    }

    /// A streak from `before` to `after` (longest `after`) in a run starting on 1 March.
    fn growth(unit: StreakUnit, before: u32, after: u32) -> StreakGrowth {
        StreakGrowth {
            unit,
            before,
            after,
            longest: after,
            run_start: (after > 0).then(|| date(1)),
        }
    }

    fn grew(growth: StreakGrowth, held: Option<AnnouncedRun>) -> Vec<PlatformEvent> {
        let (user, goal) = ids();
        PlatformEvent::streak_grew(user, goal, growth, held).0
    }

    #[test]
    fn a_streak_that_did_not_grow_announces_nothing() {
        let from_three_to = |after| {
            let longest = 5;
            grew(
                StreakGrowth {
                    longest,
                    ..growth(StreakUnit::Day, 3, after)
                },
                None,
            )
        };
        assert!(from_three_to(3).is_empty());
        assert!(from_three_to(1).is_empty());
    }

    #[test]
    fn a_streak_reaching_seven_days_is_extended_and_a_milestone() {
        let events = grew(growth(StreakUnit::Day, 6, 7), None);
        let names: Vec<_> = events.iter().map(PlatformEvent::type_name).collect();
        assert_eq!(names, ["streak.extended.v1", "streak.milestone.v1"]);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&events[1].data()).unwrap(),
            serde_json::json!({"user_id": 7, "goal_id": 3, "milestone": 7, "streak": 7})
        );
    }

    #[test]
    fn a_length_the_run_already_announced_is_announced_no_more() {
        let (user, goal) = ids();
        let (events, mark) =
            PlatformEvent::streak_grew(user, goal, growth(StreakUnit::Day, 6, 7), None);
        assert_eq!(events.len(), 2);
        let mark = mark.unwrap();
        assert_eq!(
            mark,
            AnnouncedRun {
                start: date(1),
                streak: 7
            }
        );
        // The seventh day taken back and checked in again: the same run, the same length.
        let (again, kept) =
            PlatformEvent::streak_grew(user, goal, growth(StreakUnit::Day, 6, 7), Some(mark));
        assert!(again.is_empty());
        assert_eq!(kept, Some(mark));
        // The eighth day is news, and no milestone.
        let events = grew(growth(StreakUnit::Day, 7, 8), Some(mark));
        let names: Vec<_> = events.iter().map(PlatformEvent::type_name).collect();
        assert_eq!(names, ["streak.extended.v1"]);
        // Another run (another first day) reaching 7 is announced as its own.
        let other = StreakGrowth {
            run_start: Some(date(20)),
            ..growth(StreakUnit::Day, 6, 7)
        };
        assert_eq!(grew(other, Some(mark)).len(), 2);
        // A weekly run, too, announces a week met again only once.
        let week = AnnouncedRun {
            start: date(1),
            streak: 3,
        };
        assert!(grew(growth(StreakUnit::Week, 2, 3), Some(week)).is_empty());
    }

    #[test]
    fn a_goal_without_a_mark_holds_its_summarys_run() {
        let summary = StreakSummary::from_history(Rule::Daily, (1..=6).map(date));
        assert_eq!(
            AnnouncedRun::held(None, &summary, Rule::Daily),
            Some(AnnouncedRun {
                start: date(1),
                streak: 6
            })
        );
        let stored = AnnouncedRun {
            start: date(1),
            streak: 7,
        };
        assert_eq!(
            AnnouncedRun::held(Some(stored), &summary, Rule::Daily),
            Some(stored)
        );
        assert_eq!(
            AnnouncedRun::held(None, &StreakSummary::default(), Rule::Daily),
            None
        );
    }

    #[test]
    fn a_weekly_streak_is_extended_in_weeks_and_has_no_day_milestones() {
        let events = grew(growth(StreakUnit::Week, 6, 7), None);
        assert_eq!(events.len(), 1);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&events[0].data()).unwrap()["unit"],
            "week"
        );
    }

    #[test]
    fn data_names_the_user_it_is_about() {
        let (user, goal) = ids();
        let event = PlatformEvent::checkin_added(
            user,
            goal,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            Some(25),
        );
        assert_eq!(event.user(), user);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&event.data()).unwrap(),
            serde_json::json!({"user_id": 7, "goal_id": 3, "date": "2026-12-01", "minutes": 25})
        );
    }
}
