//! The reads behind a user's export (`crate::routes::export`), and the table of its hourly
//! limit.
//!
//! An export reads in one [`Snapshot`]: a read-only transaction that every file of the
//! archive is read from, so a write committed while the archive is written is wholly in it
//! or wholly out of it. On PostgreSQL that is `REPEATABLE READ READ ONLY`; on SQLite a read
//! transaction on a reader connection, whose snapshot of the WAL is taken by its first
//! statement and held until it ends. The long lists (goals, check-ins, events) are streams
//! of rows from the server, never collected: the archive is written as they arrive.
//!
//! `export_runs` (migrations `…071_export_runs`) keeps when each user last started an export,
//! one row per user, erased with the rest of the user's data.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::BoxStream;
use sqlx::FromRow;

use super::{
    AwardedBadgeRow, CheckinRow, CredentialAward, EventRow, GoalRow, PartnershipRow, UserRow,
    UserStatements,
    social::{PeopleList, PersonRow, first_cursor},
    sql::goal_columns,
};
use crate::domain::{GoalId, UserId};

/// Opens the read-only snapshot on PostgreSQL.
pub(super) const PG_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
/// On SQLite: a deferred transaction, whose first read takes the snapshot (WAL mode).
pub(super) const SQLITE_SNAPSHOT: &str = "BEGIN DEFERRED";

/// Every goal of a user, oldest first (`learning_goals_by_user`).
const GOALS: &str = concat!(
    "SELECT ",
    goal_columns!(),
    " FROM learning_goals WHERE user_id = $1 ORDER BY id"
);

/// Every check-in of a user, day by day (`goal_checkins_by_user`; only a day's few rows
/// are sorted by goal).
const CHECKINS: &str = "\
    SELECT goal_id, checkin_date, minutes, note, created_at FROM goal_checkins \
    WHERE user_id = $1 ORDER BY checkin_date, goal_id";

const BADGES: &str = "\
    SELECT b.code, b.name, b.description, b.icon_url, ub.awarded_at \
    FROM user_badges ub JOIN badges b ON b.code = ub.badge_code \
    WHERE ub.user_id = $1 ORDER BY ub.awarded_at, b.code";

const CREDENTIAL_AWARDS: &str = "\
    SELECT ub.user_id, b.code, b.name, b.description, b.criteria, b.icon_url, ub.awarded_at, \
      ub.status_index \
    FROM user_badges ub JOIN badges b ON b.code = ub.badge_code \
    WHERE ub.user_id = $1 ORDER BY ub.awarded_at, b.code";

/// Every event of a user's activity feed, oldest first, whatever the sections' visibility,
/// with its kudos as its owner reads them.
const ACTIVITY: &str = "\
    SELECT id, CAST(user_id AS BIGINT) AS user_id, kind, occurred_at, goal_id, badge_code, \
      summary, CAST(kudos_count AS BIGINT) AS kudos_count, \
      EXISTS (SELECT 1 FROM kudos k \
        WHERE k.event_id = activity_events.id AND k.giver_id = $1) AS kudos_by_me \
    FROM activity_events WHERE user_id = $1 ORDER BY id";

/// The kudos the user's events received, oldest first, with who gave them.
const KUDOS_RECEIVED: &str = "\
    SELECT k.event_id, CAST(u.id AS BIGINT) AS id, u.username, u.display_name, u.avatar_url, \
      k.given_at AS at \
    FROM kudos k JOIN users u ON u.id = k.giver_id \
    WHERE k.owner_id = $1 ORDER BY k.given_at, k.event_id, k.giver_id";

/// The kudos the user gave, oldest first, with whose events they went to.
const KUDOS_GIVEN: &str = "\
    SELECT k.event_id, CAST(u.id AS BIGINT) AS id, u.username, u.display_name, u.avatar_url, \
      k.given_at AS at \
    FROM kudos k JOIN users u ON u.id = k.owner_id \
    WHERE k.giver_id = $1 ORDER BY k.given_at, k.event_id, k.owner_id";

/// A kudos: the event, the other user (who gave it, or whose event it went to), when.
#[derive(Debug, Clone, FromRow)]
pub struct KudosRow {
    pub event_id: i64,
    pub id: UserId,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub at: DateTime<Utc>,
}

/// Which of a user's kudos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KudosList {
    Received,
    Given,
}

/// Starts an export unless one started after $3: the row is written (inserted, or moved to
/// $2) and returned only then. The conflict's update re-reads the row under its lock, so two
/// exports at once cannot both start.
pub(super) const CLAIM_EXPORT_RUN: &str = "\
    INSERT INTO export_runs (user_id, started_at) VALUES ($1, $2) \
    ON CONFLICT (user_id) DO UPDATE SET started_at = excluded.started_at \
    WHERE export_runs.started_at <= $3 \
    RETURNING started_at";

pub(super) const LAST_EXPORT_RUN: &str = "SELECT started_at FROM export_runs WHERE user_id = $1";

/// Opens an export's snapshot, as [`super::Reads`] answers single reads.
#[async_trait]
pub trait ExportReads: Send + Sync + 'static {
    async fn export_snapshot(&self) -> sqlx::Result<Box<dyn Snapshot>>;
}

/// A user's data as of one instant (see the module's documentation). Each stream borrows
/// the snapshot: one is read to its end before the next is opened. Dropping the snapshot
/// ends its transaction.
#[async_trait]
pub trait Snapshot: Send {
    /// An active user, as [`super::Reads::user`]. The first read: on SQLite it takes the
    /// snapshot.
    async fn user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>>;
    fn goals(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<GoalRow>>;
    fn checkins(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<CheckinRow>>;
    fn badges(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<AwardedBadgeRow>>;
    /// The user's awards as their credentials show them.
    fn credential_awards(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<CredentialAward>>;
    fn activity(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<EventRow>>;
    /// One of the user's lists of people (followers, following, requests, blocks, mutes),
    /// whole, newest first, as its API pages list it.
    fn people(&mut self, user: UserId, list: PeopleList) -> BoxStream<'_, sqlx::Result<PersonRow>>;
    /// The kudos the user received or gave, whole, oldest first.
    fn kudos(&mut self, user: UserId, list: KudosList) -> BoxStream<'_, sqlx::Result<KudosRow>>;
    /// The user's partnerships, every status, oldest first.
    async fn partnerships(&mut self, user: UserId) -> sqlx::Result<Vec<PartnershipRow>>;
    async fn goal_title(&mut self, goal: GoalId) -> sqlx::Result<Option<String>>;
    /// Two goals' check-ins from `from` on, as [`super::PartnerReads::recent_dates`].
    async fn recent_dates(
        &mut self,
        goals: [Option<GoalId>; 2],
        from: NaiveDate,
    ) -> sqlx::Result<Vec<(GoalId, NaiveDate)>>;
}

/// A snapshot on one pooled connection of either backend.
pub(super) struct PoolSnapshot<DB: sqlx::Database> {
    pub(super) tx: sqlx::Transaction<'static, DB>,
    pub(super) users: Arc<UserStatements>,
}

macro_rules! impl_snapshot {
    ($db:ty) => {
        #[async_trait]
        impl Snapshot for PoolSnapshot<$db> {
            async fn user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(self.users.active.clone()))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            fn goals(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<GoalRow>> {
                sqlx::query_as(GOALS).bind(user).fetch(&mut *self.tx)
            }

            fn checkins(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<CheckinRow>> {
                sqlx::query_as(CHECKINS).bind(user).fetch(&mut *self.tx)
            }

            fn badges(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<AwardedBadgeRow>> {
                sqlx::query_as(BADGES).bind(user).fetch(&mut *self.tx)
            }

            fn credential_awards(
                &mut self,
                user: UserId,
            ) -> BoxStream<'_, sqlx::Result<CredentialAward>> {
                sqlx::query_as(CREDENTIAL_AWARDS)
                    .bind(user)
                    .fetch(&mut *self.tx)
            }

            fn activity(&mut self, user: UserId) -> BoxStream<'_, sqlx::Result<EventRow>> {
                sqlx::query_as(ACTIVITY).bind(user).fetch(&mut *self.tx)
            }

            fn people(
                &mut self,
                user: UserId,
                list: PeopleList,
            ) -> BoxStream<'_, sqlx::Result<PersonRow>> {
                let (at, id) = first_cursor();
                sqlx::query_as(sqlx::AssertSqlSafe(self.users.people.of(list).to_owned()))
                    .bind(user)
                    .bind(at)
                    .bind(id)
                    .bind(i64::MAX)
                    .fetch(&mut *self.tx)
            }

            fn kudos(
                &mut self,
                user: UserId,
                list: KudosList,
            ) -> BoxStream<'_, sqlx::Result<KudosRow>> {
                let statement = match list {
                    KudosList::Received => KUDOS_RECEIVED,
                    KudosList::Given => KUDOS_GIVEN,
                };
                sqlx::query_as(statement).bind(user).fetch(&mut *self.tx)
            }

            async fn partnerships(&mut self, user: UserId) -> sqlx::Result<Vec<PartnershipRow>> {
                sqlx::query_as(super::partners::ALL_PARTNERSHIPS_OF)
                    .bind(user)
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn goal_title(&mut self, goal: GoalId) -> sqlx::Result<Option<String>> {
                sqlx::query_scalar(super::partners::GOAL_TITLE)
                    .bind(goal)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn recent_dates(
                &mut self,
                goals: [Option<GoalId>; 2],
                from: NaiveDate,
            ) -> sqlx::Result<Vec<(GoalId, NaiveDate)>> {
                sqlx::query_as(super::partners::RECENT_DATES)
                    .bind(goals[0].map_or(0, |g| g.get()))
                    .bind(goals[1].map_or(0, |g| g.get()))
                    .bind(from)
                    .fetch_all(&mut *self.tx)
                    .await
            }
        }
    };
}

impl_snapshot!(sqlx::Postgres);
impl_snapshot!(sqlx::Sqlite);

/// `impl ExportReads for $store`: snapshots on its pool field `$pool`, begun with `$begin`.
macro_rules! impl_export_reads {
    ($store:ty, $pool:ident, $begin:expr) => {
        #[async_trait::async_trait]
        impl $crate::db::export::ExportReads for $store {
            async fn export_snapshot(&self) -> sqlx::Result<Box<dyn $crate::db::export::Snapshot>> {
                let users = self.common.user_statements()?.clone();
                let tx = self.$pool.begin_with($begin).await?;
                Ok(Box::new($crate::db::export::PoolSnapshot { tx, users }))
            }
        }
    };
}
pub(crate) use impl_export_reads;
