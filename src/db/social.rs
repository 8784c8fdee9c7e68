//! The social graph's reads and writes (follows, requests, blocks, mutes), the same SQL on
//! both backends. Each write is a fixed number of statements, whatever the counts: counts
//! move by upsert in the follow's own transaction (`follow_counts`), and the lists are
//! keyset-paged on the indexes of `…051_connect`, so a deep page reads what the first does.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use crate::domain::{
    UserId,
    social::{FeedRelation, FollowCursor, FollowState},
    visibility::{self, Access},
};

/// One user in a list: who, and when the listed relation began.
#[derive(Debug, Clone, FromRow)]
pub struct PersonRow {
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub at: DateTime<Utc>,
}

/// An activity event as kudos need it: whose, what kind, and which section governs it.
#[derive(Debug, Clone, FromRow)]
pub struct EventRef {
    pub id: i64,
    pub kind: String,
    pub section: String,
}

/// A candidate for a reader's home feed: the event, its user as an item shows them, their
/// sections' visibility and what the reader is to them, from which the route decides (at
/// every read) whether the item shows.
#[derive(Debug, Clone, FromRow)]
pub struct FeedRow {
    #[sqlx(flatten)]
    pub event: super::EventRow,
    /// The section the event belongs to (`EventKind::section_name`).
    pub section: String,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub goals_visibility: String,
    pub badges_visibility: String,
    pub activity_visibility: String,
    /// The reader follows the event's user.
    pub following: bool,
    /// The event's user is active.
    pub active: bool,
    /// The reader muted the event's user (blocks: see `FeedRelation::shut_out`).
    pub shut_out: bool,
    /// The reader is an active user (the same on every row).
    pub reader_active: bool,
}

impl FeedRow {
    /// The user's privacy as far as the feed reads it; the sections it does not read stay
    /// private.
    pub fn privacy(&self) -> crate::domain::visibility::Privacy {
        use crate::domain::visibility::{Privacy, Visibility};
        Privacy {
            goals: Visibility::from_stored(&self.goals_visibility),
            badges: Visibility::from_stored(&self.badges_visibility),
            activity: Visibility::from_stored(&self.activity_visibility),
            stats: Visibility::Private,
            connections: Visibility::Private,
        }
    }

    pub fn relation(&self, reader: UserId) -> FeedRelation {
        FeedRelation {
            own: self.event.user_id == reader,
            following: self.following,
            active: self.active,
            shut_out: self.shut_out,
        }
    }
}

/// One batch of a home feed's candidates, newest first: events older than `before`, at
/// most [`FEED_BATCHES`]`[batch]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedPage {
    pub before: Option<i64>,
    batch: usize,
}

impl FeedPage {
    /// The first batch for a page of `wanted` items: the smallest that holds them.
    pub fn first(before: Option<i64>, wanted: u32) -> Self {
        let batch = FEED_BATCHES
            .iter()
            .position(|size| *size >= wanted)
            .unwrap_or(FEED_BATCHES.len() - 1);
        Self { before, batch }
    }

    pub fn size(&self) -> u32 {
        FEED_BATCHES[self.batch]
    }

    /// The batch after this one, below `last`: larger, up to the largest.
    pub fn next(self, last: i64) -> Self {
        Self {
            before: Some(last),
            batch: (self.batch + 1).min(FEED_BATCHES.len() - 1),
        }
    }

    pub(crate) fn index(&self) -> usize {
        self.batch
    }
}

/// The fan-out that fills the home feed's timelines off the write path (see
/// `…081_timelines` and src/fanout.rs); each backend takes its batch its own way.
#[async_trait]
pub trait Timelines: Send + Sync + 'static {
    /// Moves up to `batch` pending events into the timelines of their users' followers, in
    /// one transaction (the events of users with more than `max_followers` followers into
    /// none: their users become famous, and feeds read them where they are): how many
    /// events were taken.
    async fn fan_out(&self, batch: i64, max_followers: i64) -> sqlx::Result<usize>;
}

/// The sizes a batch of feed candidates comes in. Each has a statement of its own with its
/// limit written out: with a parameter there, PostgreSQL's generic plan guesses a tenth of
/// the rows and loses to planning the statement again at every execution, which costs more
/// than running it.
pub const FEED_BATCHES: [u32; 5] = [32, 64, 128, 256, 512];

/// How many of the fan-out's queue, newest first, a feed's read looks through for the
/// events of users the reader follows. The queue is empty but for the fan-out's lag (a
/// batch of events every 100 ms); a backlog beyond it (a burst the fan-out has not caught up
/// with) leaves a page's newest items out until they reach the timelines, rather than make
/// every read's cost grow with the backlog.
const PENDING_WINDOW: u32 = 256;

/// `PeopleStatements::feed` for batches of `batch`. The pending events drive their join
/// (`CROSS JOIN`: SQLite otherwise reads every event from the newest to find them).
fn feed_statement(active: &str, dialect: super::Dialect, batch: u32) -> String {
    use super::Dialect;
    let famous = match dialect {
        // Each famous user followed: their newest events through a lateral range.
        Dialect::Postgres => format!(
            "SELECT a.id FROM feed_famous x CROSS JOIN LATERAL (SELECT 1 FROM follows f \
               WHERE f.follower_id = $1 AND f.followee_id = x.user_id \
               AND f.state = 'following' OFFSET 0) fx \
             CROSS JOIN LATERAL (SELECT id FROM activity_events \
               WHERE user_id = x.user_id AND id < $2 ORDER BY id DESC LIMIT {batch}) a"
        ),
        // SQLite has no lateral join: the famous users' events, merged by id.
        Dialect::Sqlite => format!(
            "SELECT id FROM (SELECT a.id FROM activity_events a WHERE a.user_id IN \
               (SELECT x.user_id FROM feed_famous x JOIN follows f \
                ON f.follower_id = $1 AND f.followee_id = x.user_id AND f.state = 'following') \
             AND a.id < $2 ORDER BY a.id DESC LIMIT {batch})"
        ),
    };
    // Whether the reader follows the item's user, one probe of `follows_following` per
    // item. Left to itself, each planner reads all the reader's follows through the covering
    // `follows_by_follower` (PostgreSQL's generic plan expects one follow per follower): on
    // PostgreSQL a lateral subquery that cannot be pulled up (`OFFSET 0`) keeps it a probe.
    // The reader's own items skip every probe (the follow, the mute, their own kudos, which
    // an owner never gives): a feed of one's own costs what `/activity` does. An event
    // without kudos skips the kudos probe (its count is kept with the kudos), and a reader
    // who muted nobody (one probe for the page) the mute probes. No probe of
    // the blocks: a block ends the follows both ways in its transaction and no follow
    // begins across one, so an item of a blocked user never has the follow it needs.
    // The pending events of users the reader follows: the newest of the queue only, each
    // with a probe of the follow (a lateral one on PostgreSQL, whose generic plan would
    // otherwise read every follow of the reader and the queue once for each).
    let pending_followed = match dialect {
        Dialect::Postgres => {
            "CROSS JOIN LATERAL (SELECT 1 FROM follows f WHERE f.follower_id = $1 \
             AND f.followee_id = a.user_id AND f.state = 'following' OFFSET 0) fx \
             WHERE a.id = w.event_id"
        }
        Dialect::Sqlite => {
            "WHERE a.id = w.event_id AND EXISTS (SELECT 1 FROM follows f \
             WHERE f.follower_id = $1 AND f.followee_id = a.user_id AND f.state = 'following')"
        }
    };
    let (following, follow) = match dialect {
        Dialect::Postgres => (
            "(fw.yes IS NOT NULL)",
            "LEFT JOIN LATERAL (SELECT 1 AS yes FROM follows f WHERE e.user_id <> $1 \
             AND f.follower_id = $1 AND f.followee_id = e.user_id AND f.state = 'following' \
             OFFSET 0) fw ON TRUE",
        ),
        Dialect::Sqlite => (
            "CASE WHEN e.user_id = $1 THEN FALSE ELSE EXISTS (SELECT 1 FROM follows f \
             WHERE f.follower_id = $1 AND f.followee_id = e.user_id \
             AND f.state = 'following') END",
            "",
        ),
    };
    // The reader's own events come whole from their index range, as `/activity` reads
    // them; the others' (which may come from more than one source) by id.
    let columns =
        "id, user_id, kind, occurred_at, goal_id, badge_code, summary, kudos_count, section";
    format!(
        "WITH others (event_id) AS (\
         SELECT event_id FROM (SELECT event_id FROM feed_items \
           WHERE reader_id = $1 AND event_id < $2 ORDER BY event_id DESC LIMIT {batch}) t \
         UNION SELECT event_id FROM (SELECT w.event_id FROM (SELECT event_id FROM feed_pending \
           WHERE event_id < $2 ORDER BY event_id DESC LIMIT {PENDING_WINDOW}) w \
           CROSS JOIN activity_events a {pending_followed} \
           ORDER BY w.event_id DESC LIMIT {batch}) q \
         UNION {famous}), \
         page AS (SELECT {columns} FROM (SELECT {columns} FROM activity_events \
           WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT {batch}) o \
         UNION ALL SELECT e.id, e.user_id, e.kind, e.occurred_at, e.goal_id, e.badge_code, \
           e.summary, e.kudos_count, e.section \
           FROM (SELECT event_id FROM others ORDER BY event_id DESC LIMIT {batch}) x \
           JOIN activity_events e ON e.id = x.event_id) \
         SELECT e.id, CAST(e.user_id AS BIGINT) AS user_id, e.kind, e.occurred_at, \
         e.goal_id, e.badge_code, e.summary, CAST(e.kudos_count AS BIGINT) AS kudos_count, \
         CASE WHEN e.user_id = $1 OR e.kudos_count = 0 THEN FALSE ELSE EXISTS (SELECT 1 \
           FROM kudos k WHERE k.event_id = e.id AND k.giver_id = $1) END AS kudos_by_me, \
         e.section, u.username, u.display_name, u.avatar_url, u.goals_visibility, \
         u.badges_visibility, u.activity_visibility, \
         {following} AS following, {active} AS active, \
         CASE WHEN e.user_id = $1 OR NOT EXISTS (SELECT 1 FROM mutes m0 WHERE m0.muter_id = $1) \
           THEN FALSE ELSE EXISTS (SELECT 1 FROM mutes m \
           WHERE m.muter_id = $1 AND m.muted_id = e.user_id) END AS shut_out, \
         EXISTS (SELECT 1 FROM users u WHERE u.id = $1 AND {active}) AS reader_active \
         FROM (SELECT {columns} FROM page ORDER BY id DESC LIMIT {batch}) e \
         JOIN users u ON u.id = e.user_id \
         {follow} ORDER BY e.id DESC"
    )
}

/// Which list of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleList {
    /// Who follows them.
    Followers,
    /// Whom they follow.
    Following,
    /// Who asked to follow them.
    Requests,
    /// Whom they blocked.
    Blocks,
    /// Whom they muted.
    Mutes,
}

/// One page of a list, newest first: after `after` when given, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeoplePage {
    pub after: Option<FollowCursor>,
    pub limit: u32,
}

/// The lists' statements, built with the users table's condition for an active user (the
/// table's shape decides it), so that a deactivated user leaves every list and comes back
/// when reactivated. $1 the user, $2 and $3 the cursor (time, id), $4 the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleStatements {
    pub followers: String,
    pub following: String,
    pub requests: String,
    pub blocks: String,
    pub mutes: String,
    /// $1 the followee: their followers grow by the active users asking, before every
    /// request is approved (the counts count follows between active users).
    pub add_active_askers: String,
    /// Erasure, first ($1 the user): the counts on the other side of the user's follows,
    /// unless the user is deactivated (their follows left the counts then).
    pub erase_counts: [String; 2],
    /// $1 the reader, $2 below which event: the candidates of a home feed's page, newest
    /// first, one statement per size of [`FEED_BATCHES`]. Each source is one index range of
    /// at most a batch (the famous users' one per famous user followed), whatever the
    /// length of anyone's history; the item's user and what the reader is to them come
    /// with it (a probe each), and whether the reader is an active user.
    pub feed: Vec<String>,
    /// $1 the event, then the cursor and the limit as for the lists: who gave it kudos.
    pub kudos: String,
}

impl PeopleStatements {
    pub fn new(active: &str, dialect: super::Dialect) -> Self {
        let list = |table: &str, owner: &str, other: &str, at: &str, condition: &str| {
            format!(
                "SELECT CAST(u.id AS BIGINT) AS id, u.username, u.display_name, u.avatar_url, \
                 r.{at} AS at FROM {table} r JOIN users u ON u.id = r.{other} \
                 WHERE r.{owner} = $1{condition} AND (r.{at}, r.{other}) < ($2, $3) \
                 AND {active} ORDER BY r.{at} DESC, r.{other} DESC LIMIT $4"
            )
        };
        Self {
            followers: list(
                "follows",
                "followee_id",
                "follower_id",
                "followed_at",
                " AND r.state = 'following'",
            ),
            following: list(
                "follows",
                "follower_id",
                "followee_id",
                "followed_at",
                " AND r.state = 'following'",
            ),
            requests: list(
                "follows",
                "followee_id",
                "follower_id",
                "followed_at",
                " AND r.state = 'requested'",
            ),
            blocks: list("blocks", "blocker_id", "blocked_id", "created_at", ""),
            mutes: list("mutes", "muter_id", "muted_id", "created_at", ""),
            add_active_askers: format!(
                "UPDATE follow_counts SET followers = followers + \
                 (SELECT COUNT(*) FROM follows r JOIN users u ON u.id = r.follower_id \
                  WHERE r.followee_id = $1 AND r.state = 'requested' AND {active}) \
                 WHERE user_id = $1"
            ),
            feed: FEED_BATCHES
                .iter()
                .map(|batch| feed_statement(active, dialect, *batch))
                .collect(),
            kudos: list("kudos", "event_id", "giver_id", "given_at", ""),
            erase_counts: [
                ("followers", "followee_id", "follower_id"),
                ("following", "follower_id", "followee_id"),
            ]
            .map(|(count, other, user)| {
                format!(
                    "UPDATE follow_counts SET {count} = {count} - 1 WHERE user_id IN \
                     (SELECT {other} FROM follows WHERE {user} = $1 AND state = 'following') \
                     AND EXISTS (SELECT 1 FROM users u WHERE u.id = $1 AND {active})"
                )
            }),
        }
    }

    pub fn of(&self, list: PeopleList) -> &str {
        match list {
            PeopleList::Followers => &self.followers,
            PeopleList::Following => &self.following,
            PeopleList::Requests => &self.requests,
            PeopleList::Blocks => &self.blocks,
            PeopleList::Mutes => &self.mutes,
        }
    }
}

/// Where a first page starts: after every time either database stores.
pub fn first_cursor() -> (DateTime<Utc>, i64) {
    let end = super::LATEST_DAY
        .and_hms_opt(23, 59, 59)
        .expect("a valid time")
        .and_utc();
    (end, i64::MAX)
}

pub const FOLLOWS: &str = "\
    SELECT EXISTS (SELECT 1 FROM follows \
      WHERE follower_id = $1 AND followee_id = $2 AND state = 'following')";

pub const FOLLOW_STATE: &str =
    "SELECT state FROM follows WHERE follower_id = $1 AND followee_id = $2";

pub const BLOCKED_EITHER_WAY: &str = "\
    SELECT EXISTS (SELECT 1 FROM blocks \
      WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1))";

pub const FOLLOWING_COUNT: &str =
    "SELECT COALESCE((SELECT following FROM follow_counts WHERE user_id = $1), 0)";

/// Counts one write of a kind for a user's day: the day's writes after it.
pub const COUNT_WRITE: &str = "\
    INSERT INTO daily_writes (user_id, kind, day, writes) VALUES ($1, $2, $3, 1) \
    ON CONFLICT (user_id, kind, day) DO UPDATE SET writes = daily_writes.writes + 1 \
    RETURNING writes";

/// Forgets the days before $1.
pub const PURGE_DAILY_WRITES: &str = "DELETE FROM daily_writes WHERE day < $1";

pub const INSERT_FOLLOW: &str = "\
    INSERT INTO follows (follower_id, followee_id, state, followed_at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (follower_id, followee_id) DO NOTHING";

/// A request approved: $3 the time the follow begins.
pub const APPROVE_FOLLOW: &str = "\
    UPDATE follows SET state = 'following', followed_at = $3 \
    WHERE follower_id = $1 AND followee_id = $2 AND state = 'requested'";

pub const DELETE_FOLLOW: &str =
    "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING state";

/// Moves the follower's `following` and the followee's `followers` by $3, making their rows
/// when missing: the followee's new count comes back.
pub const MOVE_COUNTS: &str = "\
    INSERT INTO follow_counts (user_id, followers, following) VALUES ($1, 0, $3), ($2, $3, 0) \
    ON CONFLICT (user_id) DO UPDATE SET followers = follow_counts.followers + excluded.followers, \
      following = follow_counts.following + excluded.following \
    RETURNING CAST(user_id AS BIGINT), followers";

/// Every pending request of $1 approved at $2, in five statements whatever their number:
/// the askers' counts (the followee is active), the followee's by the active askers
/// (`PeopleStatements::add_active_askers`), the requests, the new followers' timelines
/// (`FILL_TIMELINES_OF_APPROVED`), then the followee's count read.
pub const APPROVE_ALL_COUNTS: &str = "\
    UPDATE follow_counts SET following = following + 1 WHERE user_id IN \
      (SELECT follower_id FROM follows WHERE followee_id = $1 AND state = 'requested')";
pub const APPROVE_ALL: &str = "\
    UPDATE follows SET state = 'following', followed_at = $2 \
    WHERE followee_id = $1 AND state = 'requested' RETURNING CAST(follower_id AS BIGINT)";
pub const FOLLOWERS_OF: &str = "SELECT followers FROM follow_counts WHERE user_id = $1";

/// A follow of $2 by $1 begun: $2's newest events (`TIMELINE_FILL`, $3) into $1's timeline.
pub const FILL_TIMELINE: &str = "\
    INSERT INTO feed_items (reader_id, event_id) SELECT $1, id FROM (SELECT id FROM activity_events \
      WHERE user_id = $2 ORDER BY id DESC LIMIT $3) AS a WHERE TRUE \
    ON CONFLICT (reader_id, event_id) DO NOTHING";
/// Every request of $1 approved at $2: $1's newest events ($3) into each new follower's
/// timeline, in one statement.
pub const FILL_TIMELINES_OF_APPROVED: &str = "\
    INSERT INTO feed_items (reader_id, event_id) SELECT f.follower_id, a.id FROM follows f \
      CROSS JOIN (SELECT id FROM activity_events WHERE user_id = $1 ORDER BY id DESC LIMIT $3) AS a \
      WHERE f.followee_id = $1 AND f.state = 'following' AND f.followed_at = $2 \
    ON CONFLICT (reader_id, event_id) DO NOTHING";

/// An event of $1's by its id ($2).
pub const EVENT_REF: &str =
    "SELECT id, kind, section FROM activity_events WHERE user_id = $1 AND id = $2";

pub const INSERT_KUDOS: &str = "\
    INSERT INTO kudos (event_id, giver_id, owner_id, given_at) VALUES ($1, $2, $3, $4) \
    ON CONFLICT (event_id, giver_id) DO NOTHING";
pub const DELETE_KUDOS: &str = "DELETE FROM kudos WHERE event_id = $1 AND giver_id = $2";
/// The event's count by $2.
pub const MOVE_EVENT_KUDOS: &str =
    "UPDATE activity_events SET kudos_count = kudos_count + $2 WHERE id = $1";
/// The giver's ($1) given and the owner's ($2) received by $3, their rows made when missing.
pub const MOVE_KUDOS_COUNTS: &str = "\
    INSERT INTO kudos_counts (user_id, given, received) VALUES ($1, $3, 0), ($2, 0, $3) \
    ON CONFLICT (user_id) DO UPDATE SET given = kudos_counts.given + excluded.given, \
      received = kudos_counts.received + excluded.received \
    RETURNING CAST(user_id AS BIGINT), given, received";

/// A block between $1 and $2 takes back the kudos between them, either way: the events'
/// counts, the two users' counts, then the kudos; three statements, whatever their number.
pub const UNKUDOS_BETWEEN: &[&str] = &[
    "UPDATE activity_events SET kudos_count = kudos_count - 1 WHERE id IN \
       (SELECT event_id FROM kudos \
        WHERE (giver_id = $1 AND owner_id = $2) OR (giver_id = $2 AND owner_id = $1))",
    "UPDATE kudos_counts SET \
       given = given - (SELECT COUNT(*) FROM kudos k \
         WHERE k.giver_id = kudos_counts.user_id AND k.owner_id IN ($1, $2)), \
       received = received - (SELECT COUNT(*) FROM kudos k \
         WHERE k.owner_id = kudos_counts.user_id AND k.giver_id IN ($1, $2)) \
     WHERE user_id IN ($1, $2)",
    "DELETE FROM kudos WHERE (giver_id = $1 AND owner_id = $2) OR (giver_id = $2 AND owner_id = $1)",
];

pub const INSERT_BLOCK: &str = "\
    INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
    ON CONFLICT (blocker_id, blocked_id) DO NOTHING";
pub const DELETE_BLOCK: &str = "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2";
pub const INSERT_MUTE: &str = "\
    INSERT INTO mutes (muter_id, muted_id, created_at) VALUES ($1, $2, $3) \
    ON CONFLICT (muter_id, muted_id) DO NOTHING";
pub const DELETE_MUTE: &str = "DELETE FROM mutes WHERE muter_id = $1 AND muted_id = $2";

/// Erasure, after `PeopleStatements::erase_counts`: every row of the graph that names the
/// user ($1), either side.
pub const ERASE_CONNECTIONS: &[&str] = &[
    // The kudos they gave and received, the counts they moved first.
    "UPDATE activity_events SET kudos_count = kudos_count - 1 WHERE id IN \
       (SELECT event_id FROM kudos WHERE giver_id = $1)",
    "UPDATE kudos_counts SET received = received - (SELECT COUNT(*) FROM kudos k \
       WHERE k.giver_id = $1 AND k.owner_id = kudos_counts.user_id) \
     WHERE user_id IN (SELECT owner_id FROM kudos WHERE giver_id = $1)",
    "UPDATE kudos_counts SET given = given - (SELECT COUNT(*) FROM kudos k \
       WHERE k.owner_id = $1 AND k.giver_id = kudos_counts.user_id) \
     WHERE user_id IN (SELECT giver_id FROM kudos WHERE owner_id = $1)",
    "DELETE FROM kudos WHERE giver_id = $1",
    "DELETE FROM kudos WHERE owner_id = $1",
    "DELETE FROM kudos_counts WHERE user_id = $1",
    "DELETE FROM event_outbox WHERE event_type = 'kudos.given.v1' \
       AND data LIKE '%\"giver_id\":' || CAST($1 AS TEXT) || ',%'",
    "DELETE FROM follows WHERE follower_id = $1",
    "DELETE FROM follows WHERE followee_id = $1",
    "DELETE FROM follow_counts WHERE user_id = $1",
    "DELETE FROM blocks WHERE blocker_id = $1",
    "DELETE FROM blocks WHERE blocked_id = $1",
    "DELETE FROM mutes WHERE muter_id = $1",
    "DELETE FROM mutes WHERE muted_id = $1",
    "DELETE FROM daily_writes WHERE user_id = $1",
    "DELETE FROM feed_items WHERE reader_id = $1",
    "DELETE FROM feed_famous WHERE user_id = $1",
    // The follows they made, announced to others and not yet published, name them.
    "DELETE FROM event_outbox WHERE event_type IN ('follow.created.v1', 'follow.requested.v1') \
       AND data LIKE '%\"follower_id\":' || CAST($1 AS TEXT) || '}'",
];

/// Queries outside any transaction, as [`super::Reads`].
#[async_trait]
pub trait SocialReads: Send + Sync + 'static {
    /// Whether `follower` follows `followee` (a follow begun, not a request).
    async fn follows(&self, follower: UserId, followee: UserId) -> sqlx::Result<bool>;
    /// A page of the followers or followed of the user `access` names.
    async fn connections(
        &self,
        access: &Access<visibility::Connections>,
        list: PeopleList,
        page: &PeoplePage,
    ) -> sqlx::Result<Vec<PersonRow>>;
    /// An event of `owner`'s, by id.
    async fn event_ref(&self, owner: UserId, event: i64) -> sqlx::Result<Option<EventRef>>;
    /// Whether either user blocked the other.
    async fn blocked_either_way(&self, a: UserId, b: UserId) -> sqlx::Result<bool>;
    /// Who gave kudos to an event, newest first (the route checks the caller may see it).
    async fn kudos_givers(&self, event: i64, page: &PeoplePage) -> sqlx::Result<Vec<PersonRow>>;
    /// The candidates of a home feed's page (`PeopleStatements::feed`): the reader's
    /// timeline, their own events, the events of users they follow still waiting for the
    /// fan-out, and the events of the famous users they follow; privacy is left to the caller.
    async fn feed(&self, reader: UserId, page: &FeedPage) -> sqlx::Result<Vec<FeedRow>>;
    /// A page of one of the owner's own lists (requests, blocks, mutes): for the owner only,
    /// which the route checks.
    async fn own_list(
        &self,
        owner: UserId,
        list: PeopleList,
        page: &PeoplePage,
    ) -> sqlx::Result<Vec<PersonRow>>;
}

/// The graph's writes, inside the transaction of [`super::Tx`].
#[async_trait]
pub trait SocialTx: Send {
    /// Holds a second user for the rest of the transaction, as `Store::begin_for` holds the
    /// first for a write: a write that names two users is ordered with an erasure of either.
    async fn hold_also(&mut self, user: UserId) -> sqlx::Result<()>;
    async fn follow_state(
        &mut self,
        follower: UserId,
        followee: UserId,
    ) -> sqlx::Result<Option<FollowState>>;
    async fn blocked_either_way(&mut self, a: UserId, b: UserId) -> sqlx::Result<bool>;
    async fn following_count(&mut self, user: UserId) -> sqlx::Result<i64>;
    /// Counts a write of `kind` on `day`: the day's writes of that kind, this one included.
    async fn count_write(&mut self, user: UserId, kind: &str, day: NaiveDate) -> sqlx::Result<i64>;
    /// Forgets the daily counts of days before `before`: how many.
    async fn purge_daily_writes(&mut self, before: NaiveDate) -> sqlx::Result<u64>;
    /// Inserts a follow or a request unless the two have one: whether it was inserted.
    async fn insert_follow(
        &mut self,
        follower: UserId,
        followee: UserId,
        state: FollowState,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    /// Turns a request into a follow begun `at`: whether there was one.
    async fn approve_follow(
        &mut self,
        follower: UserId,
        followee: UserId,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    /// Deletes a follow or request: what it was.
    async fn delete_follow(
        &mut self,
        follower: UserId,
        followee: UserId,
    ) -> sqlx::Result<Option<FollowState>>;
    /// Moves both sides' counts by `delta`: the followee's followers after it.
    async fn move_counts(
        &mut self,
        follower: UserId,
        followee: UserId,
        delta: i64,
    ) -> sqlx::Result<i64>;
    /// A follow of `followee` by `follower` begun: `followee`'s newest events into the
    /// follower's timeline, so that the feed shows what they did before.
    async fn fill_timeline(&mut self, follower: UserId, followee: UserId) -> sqlx::Result<()>;
    /// Approves every pending request of `followee`: the askers, and the followers after.
    async fn approve_all(
        &mut self,
        followee: UserId,
        at: DateTime<Utc>,
    ) -> sqlx::Result<(Vec<UserId>, i64)>;
    /// Whether the block is new.
    async fn insert_block(
        &mut self,
        blocker: UserId,
        blocked: UserId,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    async fn delete_block(&mut self, blocker: UserId, blocked: UserId) -> sqlx::Result<bool>;
    async fn insert_mute(
        &mut self,
        muter: UserId,
        muted: UserId,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    async fn delete_mute(&mut self, muter: UserId, muted: UserId) -> sqlx::Result<bool>;
    /// Whether `follower` follows `followee` (a follow begun).
    async fn follows(&mut self, follower: UserId, followee: UserId) -> sqlx::Result<bool>;
    async fn event_ref(&mut self, owner: UserId, event: i64) -> sqlx::Result<Option<EventRef>>;
    /// Whether the kudos are new.
    async fn insert_kudos(
        &mut self,
        event: i64,
        giver: UserId,
        owner: UserId,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    /// Whether there were kudos to take back.
    async fn delete_kudos(&mut self, event: i64, giver: UserId) -> sqlx::Result<bool>;
    /// Moves the event's count and the two users' by `delta`: the giver's given and the
    /// owner's received after it.
    async fn move_kudos_counts(
        &mut self,
        event: i64,
        giver: UserId,
        owner: UserId,
        delta: i64,
    ) -> sqlx::Result<(i64, i64)>;
    /// Takes back the kudos between two users, either way, with their counts.
    async fn unkudos_between(&mut self, a: UserId, b: UserId) -> sqlx::Result<()>;
}

/// `impl SocialReads for $store`, reading from its pool field `$pool`.
macro_rules! impl_social_reads {
    ($store:ty, $pool:ident) => {
        #[async_trait::async_trait]
        impl $crate::db::social::SocialReads for $store {
            async fn follows(
                &self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                sqlx::query_scalar($crate::db::social::FOLLOWS)
                    .bind(follower)
                    .bind(followee)
                    .fetch_one(&self.$pool)
                    .await
            }

            async fn connections(
                &self,
                access: &$crate::domain::visibility::Access<
                    $crate::domain::visibility::Connections,
                >,
                list: $crate::db::social::PeopleList,
                page: &$crate::db::social::PeoplePage,
            ) -> sqlx::Result<Vec<$crate::db::social::PersonRow>> {
                self.own_list(access.user(), list, page).await
            }

            async fn event_ref(
                &self,
                owner: $crate::domain::UserId,
                event: i64,
            ) -> sqlx::Result<Option<$crate::db::social::EventRef>> {
                sqlx::query_as($crate::db::social::EVENT_REF)
                    .bind(owner)
                    .bind(event)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn blocked_either_way(
                &self,
                a: $crate::domain::UserId,
                b: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                sqlx::query_scalar($crate::db::social::BLOCKED_EITHER_WAY)
                    .bind(a)
                    .bind(b)
                    .fetch_one(&self.$pool)
                    .await
            }

            async fn kudos_givers(
                &self,
                event: i64,
                page: &$crate::db::social::PeoplePage,
            ) -> sqlx::Result<Vec<$crate::db::social::PersonRow>> {
                let statements = self.common.user_statements()?;
                let (at, id) = page
                    .after
                    .map_or_else($crate::db::social::first_cursor, |c| (c.at, c.id.get()));
                sqlx::query_as(sqlx::AssertSqlSafe(statements.people.kudos.clone()))
                    .bind(event)
                    .bind(at)
                    .bind(id)
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn feed(
                &self,
                reader: $crate::domain::UserId,
                page: &$crate::db::social::FeedPage,
            ) -> sqlx::Result<Vec<$crate::db::social::FeedRow>> {
                let statements = self.common.user_statements()?;
                let statement = statements.people.feed[page.index()].clone();
                sqlx::query_as(sqlx::AssertSqlSafe(statement))
                    .bind(reader)
                    .bind(page.before.unwrap_or(i64::MAX))
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn own_list(
                &self,
                owner: $crate::domain::UserId,
                list: $crate::db::social::PeopleList,
                page: &$crate::db::social::PeoplePage,
            ) -> sqlx::Result<Vec<$crate::db::social::PersonRow>> {
                let statements = self.common.user_statements()?;
                let (at, id) = page
                    .after
                    .map_or_else($crate::db::social::first_cursor, |c| (c.at, c.id.get()));
                sqlx::query_as(sqlx::AssertSqlSafe(statements.people.of(list).to_owned()))
                    .bind(owner)
                    .bind(at)
                    .bind(id)
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.$pool)
                    .await
            }
        }
    };
}
pub(crate) use impl_social_reads;

/// `impl SocialTx for $tx`, whose field `tx` is the open transaction; `$hold` holds a
/// second user (`None` where the backend's writer already orders every write).
macro_rules! impl_social_tx {
    ($tx:ty, hold: $hold:expr) => {
        impl $tx {
            /// Runs a write that names two users, and a time when given: whether it changed
            /// a row.
            async fn changed(
                &mut self,
                statement: &'static str,
                a: $crate::domain::UserId,
                b: $crate::domain::UserId,
                at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> sqlx::Result<bool> {
                let mut query = sqlx::query(statement).bind(a).bind(b);
                if let Some(at) = at {
                    query = query.bind(at);
                }
                Ok(query.execute(&mut *self.tx).await?.rows_affected() > 0)
            }
        }

        #[async_trait::async_trait]
        impl $crate::db::social::SocialTx for $tx {
            async fn hold_also(&mut self, user: $crate::domain::UserId) -> sqlx::Result<()> {
                let hold: Option<&'static str> = $hold;
                if let Some(statement) = hold {
                    sqlx::query(statement)
                        .bind(user)
                        .execute(&mut *self.tx)
                        .await?;
                }
                Ok(())
            }

            async fn follow_state(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
            ) -> sqlx::Result<Option<$crate::domain::social::FollowState>> {
                let state: Option<String> = sqlx::query_scalar($crate::db::social::FOLLOW_STATE)
                    .bind(follower)
                    .bind(followee)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok(state.map(|s| $crate::domain::social::FollowState::from_stored(&s)))
            }

            async fn blocked_either_way(
                &mut self,
                a: $crate::domain::UserId,
                b: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                sqlx::query_scalar($crate::db::social::BLOCKED_EITHER_WAY)
                    .bind(a)
                    .bind(b)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn following_count(&mut self, user: $crate::domain::UserId) -> sqlx::Result<i64> {
                sqlx::query_scalar($crate::db::social::FOLLOWING_COUNT)
                    .bind(user)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn count_write(
                &mut self,
                user: $crate::domain::UserId,
                kind: &str,
                day: chrono::NaiveDate,
            ) -> sqlx::Result<i64> {
                let writes: i32 = sqlx::query_scalar($crate::db::social::COUNT_WRITE)
                    .bind(user)
                    .bind(kind)
                    .bind(day)
                    .fetch_one(&mut *self.tx)
                    .await?;
                Ok(i64::from(writes))
            }

            async fn purge_daily_writes(&mut self, before: chrono::NaiveDate) -> sqlx::Result<u64> {
                Ok(sqlx::query($crate::db::social::PURGE_DAILY_WRITES)
                    .bind(before)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected())
            }

            async fn insert_follow(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
                state: $crate::domain::social::FollowState,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::social::INSERT_FOLLOW)
                    .bind(follower)
                    .bind(followee)
                    .bind(state.as_str())
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn approve_follow(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                self.changed(
                    $crate::db::social::APPROVE_FOLLOW,
                    follower,
                    followee,
                    Some(at),
                )
                .await
            }

            async fn delete_follow(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
            ) -> sqlx::Result<Option<$crate::domain::social::FollowState>> {
                let state: Option<String> = sqlx::query_scalar($crate::db::social::DELETE_FOLLOW)
                    .bind(follower)
                    .bind(followee)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok(state.map(|s| $crate::domain::social::FollowState::from_stored(&s)))
            }

            async fn move_counts(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
                delta: i64,
            ) -> sqlx::Result<i64> {
                let rows: Vec<(i64, i64)> = sqlx::query_as($crate::db::social::MOVE_COUNTS)
                    .bind(follower)
                    .bind(followee)
                    .bind(delta)
                    .fetch_all(&mut *self.tx)
                    .await?;
                Ok(rows
                    .into_iter()
                    .find(|(user, _)| *user == followee.get())
                    .map_or(0, |(_, followers)| followers))
            }

            async fn fill_timeline(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
            ) -> sqlx::Result<()> {
                sqlx::query($crate::db::social::FILL_TIMELINE)
                    .bind(follower)
                    .bind(followee)
                    .bind($crate::domain::social::TIMELINE_FILL)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn approve_all(
                &mut self,
                followee: $crate::domain::UserId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<(Vec<$crate::domain::UserId>, i64)> {
                sqlx::query($crate::db::social::APPROVE_ALL_COUNTS)
                    .bind(followee)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query(sqlx::AssertSqlSafe(
                    self.users.people.add_active_askers.clone(),
                ))
                .bind(followee)
                .execute(&mut *self.tx)
                .await?;
                let askers: Vec<$crate::domain::UserId> =
                    sqlx::query_scalar($crate::db::social::APPROVE_ALL)
                        .bind(followee)
                        .bind(at)
                        .fetch_all(&mut *self.tx)
                        .await?;
                sqlx::query($crate::db::social::FILL_TIMELINES_OF_APPROVED)
                    .bind(followee)
                    .bind(at)
                    .bind($crate::domain::social::TIMELINE_FILL)
                    .execute(&mut *self.tx)
                    .await?;
                let followers: Option<i64> = sqlx::query_scalar($crate::db::social::FOLLOWERS_OF)
                    .bind(followee)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                Ok((askers, followers.unwrap_or(0)))
            }

            async fn insert_block(
                &mut self,
                blocker: $crate::domain::UserId,
                blocked: $crate::domain::UserId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                self.changed($crate::db::social::INSERT_BLOCK, blocker, blocked, Some(at))
                    .await
            }

            async fn delete_block(
                &mut self,
                blocker: $crate::domain::UserId,
                blocked: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                self.changed($crate::db::social::DELETE_BLOCK, blocker, blocked, None)
                    .await
            }

            async fn insert_mute(
                &mut self,
                muter: $crate::domain::UserId,
                muted: $crate::domain::UserId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                self.changed($crate::db::social::INSERT_MUTE, muter, muted, Some(at))
                    .await
            }

            async fn delete_mute(
                &mut self,
                muter: $crate::domain::UserId,
                muted: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                self.changed($crate::db::social::DELETE_MUTE, muter, muted, None)
                    .await
            }

            async fn follows(
                &mut self,
                follower: $crate::domain::UserId,
                followee: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                sqlx::query_scalar($crate::db::social::FOLLOWS)
                    .bind(follower)
                    .bind(followee)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn event_ref(
                &mut self,
                owner: $crate::domain::UserId,
                event: i64,
            ) -> sqlx::Result<Option<$crate::db::social::EventRef>> {
                sqlx::query_as($crate::db::social::EVENT_REF)
                    .bind(owner)
                    .bind(event)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn insert_kudos(
                &mut self,
                event: i64,
                giver: $crate::domain::UserId,
                owner: $crate::domain::UserId,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::social::INSERT_KUDOS)
                    .bind(event)
                    .bind(giver)
                    .bind(owner)
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn delete_kudos(
                &mut self,
                event: i64,
                giver: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::social::DELETE_KUDOS)
                    .bind(event)
                    .bind(giver)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn move_kudos_counts(
                &mut self,
                event: i64,
                giver: $crate::domain::UserId,
                owner: $crate::domain::UserId,
                delta: i64,
            ) -> sqlx::Result<(i64, i64)> {
                sqlx::query($crate::db::social::MOVE_EVENT_KUDOS)
                    .bind(event)
                    .bind(delta)
                    .execute(&mut *self.tx)
                    .await?;
                let rows: Vec<(i64, i64, i64)> =
                    sqlx::query_as($crate::db::social::MOVE_KUDOS_COUNTS)
                        .bind(giver)
                        .bind(owner)
                        .bind(delta)
                        .fetch_all(&mut *self.tx)
                        .await?;
                let of = |user: $crate::domain::UserId| {
                    rows.iter().find(|row| row.0 == user.get()).copied()
                };
                Ok((
                    of(giver).map_or(0, |row| row.1),
                    of(owner).map_or(0, |row| row.2),
                ))
            }

            async fn unkudos_between(
                &mut self,
                a: $crate::domain::UserId,
                b: $crate::domain::UserId,
            ) -> sqlx::Result<()> {
                for statement in $crate::db::social::UNKUDOS_BETWEEN {
                    sqlx::query(*statement)
                        .bind(a)
                        .bind(b)
                        .execute(&mut *self.tx)
                        .await?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use impl_social_tx;
