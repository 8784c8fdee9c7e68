//! The social graph's rules: who may follow whom, when a follow is a request, the limits
//! that stop follow-spam, and the lists' cursor. Who sees a section for followers is
//! decided in `visibility`; this module decides what a write of the graph does.

use chrono::{DateTime, Datelike, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{UserId, visibility::Viewer};

/// The most users one user may follow.
pub const FOLLOWING_MAX: i64 = 5_000;
/// The most follow, unfollow, approval, removal, block and mute writes one user makes in a
/// day (UTC): enough for anyone, too few for a follow-spam robot.
pub const CONNECT_WRITES_PER_DAY: i64 = 1_000;

/// The most kudos given and taken back by one user in a day (UTC).
pub const KUDOS_WRITES_PER_DAY: i64 = 2_000;
/// The home feed's page when `?limit=` is absent.
pub const FEED_PAGE: u32 = 30;

/// Whether a follow begins at once or waits for the target's approval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FollowPolicy {
    #[default]
    Open,
    /// Every follow is a request the target approves or declines.
    Approval,
}

impl FollowPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approval => "approval",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "open" => Ok(Self::Open),
            "approval" => Ok(Self::Approval),
            _ => Err("must be open or approval".into()),
        }
    }

    /// A stored value; anything unexpected asks for approval, the safe side.
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(Self::Approval)
    }
}

/// Where a follow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    Following,
    Requested,
}

impl FollowState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Following => "following",
            Self::Requested => "requested",
        }
    }

    pub fn from_stored(raw: &str) -> Self {
        if raw == "following" {
            Self::Following
        } else {
            Self::Requested
        }
    }
}

/// What a follow request does, given where things stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowStep {
    /// Nothing changes: the caller already follows, or already asked.
    Unchanged(FollowState),
    /// A follow begins (a new one, or a request the policy no longer needs).
    Follow,
    /// A request is made.
    Request,
}

impl FollowStep {
    /// Where the follow stands after the step.
    pub fn state(self) -> FollowState {
        match self {
            Self::Unchanged(state) => state,
            Self::Follow => FollowState::Following,
            Self::Request => FollowState::Requested,
        }
    }
}

/// Why a follow is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowRefusal {
    Oneself,
    /// A block between the two, either way: answered as for an unknown user, so the
    /// blocked user never learns of it.
    Blocked,
    /// The caller already follows [`FOLLOWING_MAX`] users.
    TooMany,
}

/// What the facts of a follow request decide: `following` is how many users the caller
/// follows now, `current` where a follow of this target stands.
pub fn follow_step(
    follower: UserId,
    target: UserId,
    policy: FollowPolicy,
    current: Option<FollowState>,
    blocked_either_way: bool,
    following: i64,
) -> Result<FollowStep, FollowRefusal> {
    if follower == target {
        return Err(FollowRefusal::Oneself);
    }
    if blocked_either_way {
        return Err(FollowRefusal::Blocked);
    }
    match (current, policy) {
        (Some(FollowState::Following), _) => Ok(FollowStep::Unchanged(FollowState::Following)),
        (Some(FollowState::Requested), FollowPolicy::Approval) => {
            Ok(FollowStep::Unchanged(FollowState::Requested))
        }
        _ if following >= FOLLOWING_MAX => Err(FollowRefusal::TooMany),
        (Some(FollowState::Requested), FollowPolicy::Open) | (None, FollowPolicy::Open) => {
            Ok(FollowStep::Follow)
        }
        (None, FollowPolicy::Approval) => Ok(FollowStep::Request),
    }
}

/// A daily quota of writes: whether the write that brought the day's count to `writes` is
/// over `limit`, and if so how long until the next day (UTC) opens a new one.
pub fn over_quota(writes: i64, limit: i64, now: DateTime<Utc>) -> Option<u64> {
    (writes > limit).then(|| seconds_to_next_day(now))
}

/// Seconds from `now` to the next midnight, UTC, at least one.
pub fn seconds_to_next_day(now: DateTime<Utc>) -> u64 {
    let next = now
        .date_naive()
        .succ_opt()
        .unwrap_or(now.date_naive())
        .and_time(NaiveTime::MIN)
        .and_utc();
    u64::try_from((next - now).num_seconds())
        .unwrap_or(0)
        .max(1)
}

/// Why kudos are refused on an event the giver can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KudosRefusal {
    /// Nobody gives kudos to themselves.
    OwnEvent,
}

pub fn kudos_allowed(giver: UserId, owner: UserId) -> Result<(), KudosRefusal> {
    if giver == owner {
        Err(KudosRefusal::OwnEvent)
    } else {
        Ok(())
    }
}

/// What a reader is to the user behind an item of their home feed, read with the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedRelation {
    /// The item is the reader's own.
    pub own: bool,
    /// The reader follows its user (a follow begun, not a request).
    pub following: bool,
    /// Its user is active.
    pub active: bool,
    /// The reader muted its user. (A block between them is never read here: it ends the
    /// follows both ways and no follow begins across it, so `following` is false then.)
    pub shut_out: bool,
}

/// Who the reader is to an item's user in their home feed (the section rules then decide,
/// as `/activity` does), or `None` when the feed leaves that user out: the reader's own
/// items, and those of an active user they follow, have not muted, and share no block
/// with. Decided at every read, whatever the timeline holds.
pub fn feed_viewer(relation: FeedRelation) -> Option<Viewer> {
    if relation.own {
        Some(Viewer::Owner)
    } else if relation.following && relation.active && !relation.shut_out {
        Some(Viewer::Follower)
    } else {
        None
    }
}

/// How many of a user's newest events a follow brings into the new follower's timeline
/// (what they did before is read in the feed as far back as that; what they do next is
/// fanned out).
pub const TIMELINE_FILL: i64 = 200;

/// Where a page of a follow list continues: after the follow made at `at` by (or of) the
/// user `id`, newest first. In a link it reads `<microseconds>.<id>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowCursor {
    pub at: DateTime<Utc>,
    pub id: UserId,
}

impl FollowCursor {
    pub fn parse(raw: &str) -> Result<Self, String> {
        const WRONG: &str = "must be a cursor from a Link header";
        let (at, id) = raw.split_once('.').ok_or(WRONG)?;
        // Within the years both databases store (0001 to 9999), as every stored time is.
        let at = at
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_micros)
            .filter(|at| (1..=9999).contains(&at.year()))
            .ok_or(WRONG)?;
        let id = id
            .parse::<i64>()
            .ok()
            .and_then(|id| UserId::parse(id).ok())
            .ok_or(WRONG)?;
        Ok(Self { at, id })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.timestamp_micros(), self.id)
    }
}

/// A follow's time as stored: whole microseconds, which both databases keep exactly, so a
/// cursor made from it finds the row again.
pub fn follow_time(now: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn user(id: i64) -> UserId {
        UserId::parse(id).unwrap()
    }

    #[test]
    fn nobody_follows_themselves() {
        let step = follow_step(user(1), user(1), FollowPolicy::Open, None, false, 0);
        assert_eq!(step, Err(FollowRefusal::Oneself));
    }

    #[test]
    fn a_block_either_way_refuses_a_follow_as_for_an_unknown_user() {
        let step = follow_step(user(1), user(2), FollowPolicy::Open, None, true, 0);
        assert_eq!(step, Err(FollowRefusal::Blocked));
    }

    #[test]
    fn an_open_profile_is_followed_at_once_and_an_approval_one_is_asked() {
        let open = follow_step(user(1), user(2), FollowPolicy::Open, None, false, 0);
        assert_eq!(open, Ok(FollowStep::Follow));
        let approval = follow_step(user(1), user(2), FollowPolicy::Approval, None, false, 0);
        assert_eq!(approval, Ok(FollowStep::Request));
    }

    #[test]
    fn a_repeated_follow_or_request_changes_nothing() {
        let following = Some(FollowState::Following);
        for policy in [FollowPolicy::Open, FollowPolicy::Approval] {
            let step = follow_step(user(1), user(2), policy, following, false, FOLLOWING_MAX);
            assert_eq!(step, Ok(FollowStep::Unchanged(FollowState::Following)));
        }
        let asked = follow_step(
            user(1),
            user(2),
            FollowPolicy::Approval,
            Some(FollowState::Requested),
            false,
            0,
        );
        assert_eq!(asked, Ok(FollowStep::Unchanged(FollowState::Requested)));
    }

    #[test]
    fn a_request_to_a_profile_now_open_becomes_a_follow() {
        let step = follow_step(
            user(1),
            user(2),
            FollowPolicy::Open,
            Some(FollowState::Requested),
            false,
            0,
        );
        assert_eq!(step, Ok(FollowStep::Follow));
    }

    #[test]
    fn the_five_thousand_and_first_follow_is_refused() {
        let at_limit = follow_step(
            user(1),
            user(2),
            FollowPolicy::Open,
            None,
            false,
            FOLLOWING_MAX,
        );
        assert_eq!(at_limit, Err(FollowRefusal::TooMany));
        let below = follow_step(
            user(1),
            user(2),
            FollowPolicy::Approval,
            None,
            false,
            FOLLOWING_MAX - 1,
        );
        assert_eq!(below, Ok(FollowStep::Request));
    }

    #[test]
    fn the_quota_opens_again_at_the_next_midnight() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 23, 59, 0).unwrap();
        assert_eq!(over_quota(1_000, 1_000, now), None);
        assert_eq!(over_quota(1_001, 1_000, now), Some(60));
        let midnight = Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap();
        assert_eq!(seconds_to_next_day(midnight), 86_400);
    }

    #[test]
    fn nobody_gives_kudos_to_themselves() {
        assert_eq!(kudos_allowed(user(1), user(1)), Err(KudosRefusal::OwnEvent));
        assert_eq!(kudos_allowed(user(2), user(1)), Ok(()));
    }

    #[test]
    fn a_feed_shows_the_readers_own_items_and_those_of_active_users_they_follow_and_let_in() {
        let followed = FeedRelation {
            own: false,
            following: true,
            active: true,
            shut_out: false,
        };
        assert_eq!(feed_viewer(followed), Some(Viewer::Follower));
        assert_eq!(
            feed_viewer(FeedRelation {
                own: true,
                following: false,
                ..followed
            }),
            Some(Viewer::Owner)
        );
        for left_out in [
            FeedRelation {
                following: false,
                ..followed
            },
            FeedRelation {
                active: false,
                ..followed
            },
            FeedRelation {
                shut_out: true,
                ..followed
            },
        ] {
            assert_eq!(feed_viewer(left_out), None, "{left_out:?}");
        }
    }

    #[test]
    fn an_unknown_stored_policy_asks_for_approval() {
        assert_eq!(FollowPolicy::from_stored("closed"), FollowPolicy::Approval);
        assert_eq!(FollowPolicy::from_stored("open"), FollowPolicy::Open);
    }

    #[test]
    fn a_cursor_that_is_not_one_is_refused() {
        for raw in [
            "",
            "12",
            "x.1",
            "1.x",
            "1.0",
            "1.-3",
            "99999999999999999999.1",
            // Found by Schemathesis: a time PostgreSQL cannot store was a 500.
            "-6017264860994377103.489",
            "253402300800000000.1",
        ] {
            assert!(FollowCursor::parse(raw).is_err(), "{raw}");
        }
    }

    proptest! {
        #[test]
        fn a_cursor_reads_back_as_written(micros in -62_135_596_800_000_000i64..253_402_300_799_000_000, id in 1i64..i64::MAX) {
            let cursor = FollowCursor {
                at: DateTime::from_timestamp_micros(micros).unwrap(),
                id: user(id),
            };
            prop_assert_eq!(FollowCursor::parse(&cursor.encode()), Ok(cursor));
        }

        #[test]
        fn a_follow_time_keeps_whole_microseconds(nanos in 0i64..4_000_000_000_000_000_000) {
            let now = DateTime::from_timestamp_nanos(nanos);
            let stored = follow_time(now);
            prop_assert_eq!(stored.timestamp_micros(), now.timestamp_micros());
            prop_assert_eq!(follow_time(stored), stored);
        }
    }
}
