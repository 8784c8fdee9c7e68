//! Persistence behind one interface, two backends.
//!
//! [`Store`] answers reads ([`Reads`]) and opens write transactions ([`Tx`]); `postgres` and
//! `sqlite` implement them with the same SQL text from `sql` wherever the dialects agree,
//! and per-backend constants where they do not. The backend is chosen from the URL scheme
//! at start. No business rule lives here: the multi-step writes are composed from `Tx`
//! primitives in `crate::services`, once for both backends, and reads of a private section
//! need the [`Access`] that only the privacy rule grants.

mod backup;
pub mod credentials;
mod denylist;
pub mod export;
mod own_schema;
pub mod partners;
mod postgres;
pub mod reminders;
mod shared;
pub mod social;
mod sql;
mod sqlite;
mod types;
mod users_table;

use std::sync::{Arc, OnceLock};

use anyhow::bail;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{FromRow, pool::PoolOptions, types::Json};

use crate::{
    config::Config,
    domain::{
        GoalId, GoalStatus, UserId,
        account::Ending,
        activity::NewEvent,
        badges::Tier,
        checkin::NewCheckin,
        goal::{Cadence, GoalFields, NewGoal, Schedule},
        platform_event::{AnnouncedRun, PlatformEvent},
        profile::{Profile, TimeZone},
        social::FollowPolicy,
        streak::StreakSummary,
        version::Version,
        visibility::{self, Access, Privacy, Viewer, Visibility},
        week::WeekStart,
    },
    metrics::Pools,
};
pub use backup::backup;
pub use credentials::{CredentialAward, CredentialReads, StatusListRows};
pub use denylist::DenylistTable;
pub use export::{ExportReads, Snapshot};
pub use own_schema::{OWN_FUNCTIONS, OWN_TABLES};
pub use partners::{GoalsAmong, OpenOf, PartnerReads, PartnerTx, PartnershipPage, PartnershipRow};
pub use reminders::{DueRow, ReminderGoalRow, ReminderTx};
pub use social::{
    EventRef, FeedPage, FeedRow, PeopleList, PeoplePage, PersonRow, SocialReads, SocialTx,
    Timelines,
};
pub use types::UtcTimestamp;
pub use users_table::{Column, Dialect, ShapeError, UserStatements, UsersTable};

/// What both stores hold beside their pools.
struct Common {
    /// The statements on `users`, built from the table's shape by `Store::migrate`, which
    /// every command runs first.
    users: OnceLock<Arc<UserStatements>>,
    /// Whether writes put platform events in the outbox (`EVENTS_URL` is set).
    outbox: bool,
}

impl Common {
    fn new(config: &Config) -> Self {
        Self {
            users: OnceLock::new(),
            outbox: config.events.events_url.is_some(),
        }
    }

    fn inspected(&self, users: &UsersTable) {
        let _ = self.users.set(Arc::new(users.statements()));
    }

    fn user_statements(&self) -> sqlx::Result<&Arc<UserStatements>> {
        self.users.get().ok_or_else(|| {
            sqlx::Error::Protocol("the users table has not been inspected: migrate first".into())
        })
    }
}

/// A pool as both backends open it: lazily (`connect_lazy_with`), so the service starts
/// while the database is down, with at most `max` connections, and a request waits at most
/// `DB_ACQUIRE_TIMEOUT_SECS` for one. Each backend adds what is its own.
fn pool_options<DB: sqlx::Database>(config: &Config, max: u32) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(max)
        .acquire_timeout(config.db_acquire_timeout())
}

/// With `USERS_TABLE_OWNER=auth-service`, `users` is not there yet: this service waits for
/// the auth-service to create it rather than create it itself.
#[derive(Debug, thiserror::Error)]
#[error(
    "the auth-service's users table is not there yet \
     (USERS_TABLE_OWNER=auth-service: this service never creates it)"
)]
pub struct WaitingForUsers;

/// Opens the database named by the configuration: PostgreSQL for `postgres://` URLs, SQLite
/// for `sqlite:` ones. Connections are opened lazily, so the service starts while the
/// database is still down.
pub async fn connect(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let url = config.database_url();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(&url, config)?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(&url, config).await?))
    } else {
        bail!("DATABASE_URL must start with sqlite:// or postgres://")
    }
}

/// A database: its lifecycle and write transactions, through [`Reads`] its queries, and
/// through [`Pools`] how full its connection pools are (for the metrics).
#[async_trait]
pub trait Store:
    Reads + CredentialReads + SocialReads + Timelines + ExportReads + PartnerReads + Pools
{
    /// Brings the schema up to date; safe to run on every start and from several replicas.
    /// Reads the shape of `users` first (creating the table when this service owns it and
    /// there is none; failing with [`WaitingForUsers`] while the auth-service's is not there)
    /// and refuses one this service cannot work with, naming what is missing.
    async fn migrate(&self) -> anyhow::Result<()>;
    async fn ping(&self) -> sqlx::Result<()>;
    async fn close(&self);

    /// A write transaction of no one user's data (a purge, the badge catalog). Dropping it
    /// without `commit` rolls it back.
    async fn begin(&self) -> sqlx::Result<Box<dyn Tx>>;
    /// A write transaction of one user's data, ordered with an erasure of that user: it
    /// holds the user before anything else, shared among the user's writes (which still run
    /// side by side) and exclusively for an erasure. A write then commits before an erasure,
    /// and is erased with the rest, or starts after it and finds no user. On PostgreSQL an
    /// erasure also waits for a relay's batch in flight and keeps the relay off until it
    /// commits, so that no event of the user goes out after it.
    async fn begin_for(&self, user: UserId, hold: Hold) -> sqlx::Result<Box<dyn Tx>>;

    /// The outbox relay's turn: `None` while another relay (a replica) has it. Rows read in
    /// a turn are published by this relay alone until it marks them or drops the turn.
    async fn outbox_turn(&self) -> sqlx::Result<Option<Box<dyn OutboxTurn>>>;

    /// The reminder scheduler's turn: `None` while another replica's pass has it. Held for
    /// a pass and ended by [`ReminderTurn::end`]; losing its connection, with the replica,
    /// ends it too.
    async fn reminder_turn(&self) -> sqlx::Result<Option<Box<dyn ReminderTurn>>>;
}

/// A reminder pass's turn among replicas (see [`Store::reminder_turn`]).
#[async_trait]
pub trait ReminderTurn: Send {
    /// Ends the turn now. A turn merely dropped ends only when its connection is next used,
    /// back in the pool: until then the next pass, on another connection, finds it taken.
    async fn end(self: Box<Self>) -> sqlx::Result<()>;
}

#[async_trait]
impl ReminderTurn for () {
    async fn end(self: Box<Self>) -> sqlx::Result<()> {
        Ok(())
    }
}

/// How a transaction holds its user (see [`Store::begin_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// A write of the user's data, beside the user's other writes.
    Write,
    /// A change of the account (an auth-service message), alone.
    Account,
    /// Their erasure, alone, and after the relay's batch in flight.
    Erase,
}

/// One pass of the outbox relay.
#[async_trait]
pub trait OutboxTurn: Send {
    /// The oldest unpublished events, in the order they committed, at most `limit`.
    async fn pending(&mut self, limit: i64) -> sqlx::Result<Vec<OutboxRow>>;
    /// Records these events as published (the broker confirmed them) and ends the turn.
    async fn published(self: Box<Self>, seqs: &[i64], now: DateTime<Utc>) -> sqlx::Result<()>;
}

/// An event waiting in the outbox.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: String,
    pub user_id: i64,
    pub event_type: String,
    /// The event's `data`, JSON text.
    pub data: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, FromRow)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// The figures of one backend's pool (a macro, as the backends share no pool type).
macro_rules! pool_figures {
    ($name:expr, $pool:expr) => {
        $crate::metrics::PoolFigures {
            name: $name,
            size: $pool.size(),
            idle: u32::try_from($pool.num_idle()).unwrap_or(u32::MAX),
            max: $pool.options().get_max_connections(),
        }
    };
}
pub(crate) use pool_figures;

/// Queries outside any transaction.
#[async_trait]
pub trait Reads: Send + Sync + 'static {
    /// An active user (the auth-service's `is_active` is not false).
    async fn user(&self, id: UserId) -> sqlx::Result<Option<UserRow>>;
    async fn goals(
        &self,
        access: &Access<visibility::Goals>,
        page: &GoalPage,
    ) -> sqlx::Result<Vec<GoalRow>>;
    async fn goal(
        &self,
        access: &Access<visibility::Goals>,
        goal: GoalId,
    ) -> sqlx::Result<Option<GoalRow>>;
    /// One page of a goal's check-ins, if the goal is the user's whom `access` names.
    async fn checkins(
        &self,
        access: &Access<visibility::Goals>,
        goal: GoalId,
        page: &CheckinPage,
    ) -> sqlx::Result<Vec<CheckinRow>>;
    async fn badges_of(
        &self,
        access: &Access<visibility::Badges>,
    ) -> sqlx::Result<Vec<AwardedBadgeRow>>;
    async fn activity(
        &self,
        access: &Access<visibility::Activity>,
        page: &ActivityPage,
    ) -> sqlx::Result<Vec<EventRow>>;
    /// Figures for a user's stats, each from a section the viewer may see: the goal and
    /// check-in figures only with leave to read the goals, the badge count only with leave
    /// to read the badges, and the latest activity only with leave to read the feed (and
    /// then of the events it shows them). `recent_since` is the first of the 30 days counted
    /// as recent; the streak summaries are of goals checked in on or after `alive_since`,
    /// the only ones whose streak can still be alive.
    async fn stats(
        &self,
        access: &Access<visibility::Stats>,
        sections: &StatsSections,
        recent_since: NaiveDate,
        alive_since: NaiveDate,
    ) -> sqlx::Result<StatsFigures>;
    /// The user's check-ins from `from` to `to` (inclusive), of one goal when given, day by
    /// day: only the days with some, oldest first. One range read of
    /// `goal_checkins_by_user`, whatever the length of the history.
    async fn heatmap(
        &self,
        access: &Access<visibility::Goals>,
        goal: Option<GoalId>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> sqlx::Result<Vec<HeatmapRow>>;
    /// The streak summaries of the goals checked in on or after `alive_since` (the only
    /// ones whose streak can still be alive), and the longest streak any goal ever had.
    async fn streaks(
        &self,
        access: &Access<visibility::Goals>,
        alive_since: NaiveDate,
    ) -> sqlx::Result<StreakFigures>;
    /// Every badge definition with how many users hold it.
    async fn badge_catalog(&self) -> sqlx::Result<Vec<CatalogRow>>;
    /// Events not yet published: how many, and when the oldest happened.
    async fn outbox_backlog(&self) -> sqlx::Result<OutboxBacklog>;
    /// A revoked token's entry in the deny-list: `None` when it is not listed, else its
    /// expiry (`None` inside: listed for good).
    async fn denylist_entry(
        &self,
        table: &DenylistTable,
        jti: &str,
    ) -> sqlx::Result<Option<Option<UtcTimestamp>>>;
    /// Reads nothing from the deny-list table but fails as a lookup would: when it does
    /// not exist, or lacks `jti` or `expires_at`.
    async fn probe_denylist(&self, table: &DenylistTable) -> sqlx::Result<()>;
    /// What this service's own deny-list holds against a token: its `jti`'s entry (when it
    /// has one) and its user's.
    async fn revocations(&self, jti: Option<&str>, user: UserId) -> sqlx::Result<RevocationRow>;
    /// Whether this service's own deny-list holds anything at all.
    async fn anything_revoked(&self) -> sqlx::Result<bool>;
}

/// The writes, each inside the transaction that holds it. "lock" reads take the row lock
/// that makes a read-modify-write safe against a concurrent one.
#[async_trait]
pub trait Tx: SocialTx + PartnerTx + ReminderTx + Send {
    async fn user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>>;
    async fn lock_user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>>;
    async fn save_profile(
        &mut self,
        id: UserId,
        profile: &Profile,
        privacy: &Privacy,
        now: DateTime<Utc>,
    ) -> sqlx::Result<UserRow>;
    /// Whether this service created `users` (standalone) rather than the auth-service.
    fn owns_users(&self) -> bool;
    /// Whether a row exists for the id, active or not.
    async fn user_exists(&mut self, id: UserId) -> sqlx::Result<bool>;
    /// Inserts a user unless the id has a row: whether it was inserted. The email is
    /// dropped when the table has no such column.
    async fn insert_user(
        &mut self,
        id: UserId,
        username: &str,
        email: Option<&str>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    /// Changes the auth-service's columns of a row this service owns: the username when
    /// given, the email when `Some` (`Some(None)` clears it). Whether the row exists.
    async fn update_account(
        &mut self,
        id: UserId,
        username: Option<&str>,
        email: Option<Option<&str>>,
    ) -> sqlx::Result<bool>;
    /// Marks a row this service owns inactive: whether the row exists (false too when the
    /// table has no `is_active`).
    async fn deactivate_user(&mut self, id: UserId) -> sqlx::Result<bool>;
    /// Deletes the user's rows from every table of this service: how many.
    async fn erase_user_data(&mut self, id: UserId) -> sqlx::Result<u64>;
    /// The profile columns back to their defaults: whether the row exists.
    async fn reset_profile(&mut self, id: UserId, now: DateTime<Utc>) -> sqlx::Result<bool>;
    /// Deletes the users row (standalone only): whether it existed.
    async fn delete_user(&mut self, id: UserId) -> sqlx::Result<bool>;
    /// Claims an auth-service message by its key: false when it was applied before.
    async fn claim_inbox_message(&mut self, key: &str, now: DateTime<Utc>) -> sqlx::Result<bool>;
    /// Forgets claimed messages received before `before`: how many.
    async fn purge_inbox(&mut self, before: DateTime<Utc>) -> sqlx::Result<u64>;
    /// How the account ended, if it did. Read under the account's hold
    /// ([`Hold::Account`] or [`Hold::Erase`]), so that two messages about one account (on two
    /// replicas) apply one after the other, each seeing what the other wrote.
    async fn account_ending(&mut self, id: UserId) -> sqlx::Result<Option<Ending>>;
    /// Remembers how the account ended (under the same hold); an erasure is final.
    async fn record_account_ending(
        &mut self,
        id: UserId,
        ending: Ending,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;
    /// Lists a revoked token's `jti` until `expires_at`.
    async fn revoke_token(&mut self, jti: &str, expires_at: DateTime<Utc>) -> sqlx::Result<()>;
    /// Refuses the user's tokens issued before `before`.
    async fn revoke_user_tokens(&mut self, user: UserId, before: DateTime<Utc>)
    -> sqlx::Result<()>;
    /// Forgets revoked tokens that expired before `before`: how many.
    async fn purge_revoked_tokens(&mut self, before: DateTime<Utc>) -> sqlx::Result<u64>;
    /// Deletes up to `limit` events published before `before`: how many.
    async fn purge_outbox(&mut self, before: DateTime<Utc>, limit: i64) -> sqlx::Result<u64>;

    async fn lock_goal(&mut self, user: UserId, goal: GoalId) -> sqlx::Result<Option<GoalRow>>;
    async fn insert_goal(
        &mut self,
        user: UserId,
        goal: &NewGoal,
        now: DateTime<Utc>,
    ) -> sqlx::Result<GoalRow>;
    async fn save_goal(
        &mut self,
        user: UserId,
        goal: GoalId,
        fields: &GoalFields,
        now: DateTime<Utc>,
    ) -> sqlx::Result<GoalRow>;
    /// The user's weekly goals, locked for the rest of the transaction (a change of their
    /// weeks counts their streaks again).
    async fn weekly_goals(&mut self, user: UserId) -> sqlx::Result<Vec<GoalRow>>;
    /// Deletes a goal, returning its title; `None` when the user has no such goal.
    async fn delete_goal(&mut self, user: UserId, goal: GoalId) -> sqlx::Result<Option<String>>;
    /// Goals the user has, in `status` when given.
    async fn count_goals(&mut self, user: UserId, status: Option<GoalStatus>) -> sqlx::Result<i64>;

    /// Inserts a check-in unless the goal has one that day: `None` then, and nothing written.
    async fn insert_checkin(
        &mut self,
        user: UserId,
        goal: GoalId,
        checkin: &NewCheckin,
        now: DateTime<Utc>,
    ) -> sqlx::Result<Option<CheckinRow>>;
    async fn checkin(&mut self, goal: GoalId, day: NaiveDate) -> sqlx::Result<Option<CheckinRow>>;
    async fn delete_checkin(&mut self, goal: GoalId, day: NaiveDate) -> sqlx::Result<bool>;
    async fn checkin_dates(&mut self, goal: GoalId) -> sqlx::Result<Vec<NaiveDate>>;
    /// Stores the goal's streak summary and how far its run was announced (`None` for a
    /// streak counted again under a new rule), and moves its check-in count by
    /// `checkins_added`.
    async fn save_streak(
        &mut self,
        goal: GoalId,
        summary: &StreakSummary,
        announced: Option<AnnouncedRun>,
        checkins_added: i64,
    ) -> sqlx::Result<()>;

    /// Appends an event to the user's activity feed.
    /// Puts an event for the platform in the outbox with this transaction, when events are
    /// on: the rows are written by `commit`, last, so that a user's events are numbered in
    /// the order their transactions commit (see the backends' `flush_outbox`).
    fn announce(&mut self, event: &PlatformEvent, now: DateTime<Utc>);
    async fn insert_event(
        &mut self,
        user: UserId,
        event: &NewEvent,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;

    async fn badge(&mut self, code: &str) -> sqlx::Result<Option<CatalogRow>>;
    async fn add_badge(&mut self, badge: &NewBadge) -> sqlx::Result<()>;
    async fn held_badges(&mut self, user: UserId) -> sqlx::Result<Vec<String>>;
    async fn user_badge(
        &mut self,
        user: UserId,
        code: &str,
    ) -> sqlx::Result<Option<AwardedBadgeRow>>;
    /// Awards a badge unless it is held (or not in the catalog): whether it was awarded.
    async fn award(&mut self, user: UserId, code: &str, now: DateTime<Utc>) -> sqlx::Result<bool>;
    /// Whether the user held the badge.
    async fn revoke(&mut self, user: UserId, code: &str) -> sqlx::Result<bool>;

    /// Claims an idempotency key for this request (see `sql::CLAIM_IDEMPOTENCY_KEY`):
    /// whether it is this request's to answer.
    async fn claim_idempotency_key(
        &mut self,
        user: UserId,
        key: &str,
        request_hash: &str,
        now: DateTime<Utc>,
        expired_before: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    async fn idempotency_record(
        &mut self,
        user: UserId,
        key: &str,
    ) -> sqlx::Result<Option<IdempotencyRow>>;
    /// Keeps what the request that claimed a key created (`kept`, as `idempotency` writes
    /// it), and the goal.
    async fn save_idempotent_result(
        &mut self,
        user: UserId,
        key: &str,
        kept: &str,
        goal: GoalId,
    ) -> sqlx::Result<()>;
    /// Deletes keys created before `before`: how many.
    async fn purge_idempotency_keys(&mut self, before: DateTime<Utc>) -> sqlx::Result<u64>;

    /// Records that the user starts an export at `now`, unless their last one started after
    /// `since`: `None` when recorded, else when that last one started.
    async fn claim_export_run(
        &mut self,
        user: UserId,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> sqlx::Result<Option<DateTime<Utc>>>;

    async fn commit(self: Box<Self>) -> sqlx::Result<()>;
}

/// An event put in the outbox, to be written as the transaction commits.
#[derive(Debug, Clone)]
pub struct Announced {
    pub event_id: String,
    pub user_id: UserId,
    pub event_type: &'static str,
    pub data: String,
    pub occurred_at: DateTime<Utc>,
}

/// A token's entries in this service's own deny-list.
#[derive(Debug, Clone, Copy, FromRow)]
pub struct RevocationRow {
    /// The expiry its `jti` is listed with.
    pub token_expires_at: Option<DateTime<Utc>>,
    /// Its user's tokens issued before this are refused.
    pub tokens_before: Option<DateTime<Utc>>,
}

/// A row of `users`: the auth-service's columns this service reads, and its own.
#[derive(Debug, Clone, FromRow)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub skills: Json<Vec<String>>,
    pub avatar_url: Option<String>,
    pub timezone: String,
    pub week_start: String,
    /// Moved by every write of the profile.
    pub profile_revision: i64,
    pub created_at: Option<UtcTimestamp>,
    pub goals_visibility: String,
    pub badges_visibility: String,
    pub activity_visibility: String,
    pub stats_visibility: String,
    pub connections_visibility: String,
    pub follow_policy: String,
    /// The user's reminders are on (`reminder_users`; on without a row).
    pub reminders: bool,
    /// Kept by every follow that moves them (`follow_counts`).
    pub followers_count: i64,
    pub following_count: i64,
}

impl UserRow {
    pub fn profile(&self) -> Profile {
        Profile {
            display_name: self.display_name.clone(),
            bio: self.bio.clone(),
            skills: self.skills.0.clone(),
            avatar_url: self.avatar_url.clone(),
            timezone: self.time_zone(),
            week_start: self.week_start(),
            follow_policy: self.follow_policy(),
            reminders: self.reminders,
        }
    }

    pub fn follow_policy(&self) -> FollowPolicy {
        FollowPolicy::from_stored(&self.follow_policy)
    }

    pub fn week_start(&self) -> WeekStart {
        WeekStart::from_stored(&self.week_start)
    }

    pub fn time_zone(&self) -> TimeZone {
        TimeZone::from_stored(&self.timezone)
    }

    /// The version of this profile as `viewer` sees it: its revision, and the
    /// auth-service's columns it shows, which that service may change without one.
    pub fn version(&self, viewer: Viewer) -> Version {
        let viewer = match viewer {
            Viewer::Owner => "owner",
            Viewer::Follower => "follower",
            Viewer::Other => "other",
        };
        Version::of(&[
            &"profile",
            &self.id,
            &self.profile_revision,
            &self.username,
            &format!("{:?}", self.email),
            &format!("{:?}", self.created_at.map(|t| t.0)),
            &self.followers_count,
            &self.following_count,
            &viewer,
        ])
    }

    pub fn privacy(&self) -> Privacy {
        Privacy {
            goals: Visibility::from_stored(&self.goals_visibility),
            badges: Visibility::from_stored(&self.badges_visibility),
            activity: Visibility::from_stored(&self.activity_visibility),
            stats: Visibility::from_stored(&self.stats_visibility),
            connections: Visibility::from_stored(&self.connections_visibility),
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct GoalRow {
    pub id: GoalId,
    pub user_id: UserId,
    pub title: String,
    pub description: Option<String>,
    #[sqlx(try_from = "String")]
    pub status: GoalStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    #[sqlx(flatten)]
    pub streak: StreakRow,
    /// How far the current run was announced: its first day and the longest announced.
    pub streak_announced_run: Option<NaiveDate>,
    pub streak_announced: i32,
    #[sqlx(try_from = "String")]
    pub cadence: Cadence,
    pub days_per_week: Option<i32>,
    /// Moved by every write of the goal (its fields or its streak).
    pub revision: i64,
    /// Whether `streak.at_risk.v1` (and `partner_streak.at_risk.v1`) reminders go out for it.
    pub reminders: bool,
}

impl GoalRow {
    /// The goal as created, to be kept for a replay of its creation.
    pub fn as_created(&self) -> crate::domain::goal::CreatedGoal {
        crate::domain::goal::CreatedGoal {
            id: self.id.get(),
            user_id: self.user_id.get(),
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
            cadence: self.cadence,
            days_per_week: self.schedule().days_per_week(),
            reminders: self.reminders,
        }
    }

    pub fn schedule(&self) -> Schedule {
        Schedule::from_stored(self.cadence, self.days_per_week)
    }

    /// The stored mark of the run's announcements, if any.
    pub fn announced(&self) -> Option<AnnouncedRun> {
        self.streak_announced_run.map(|start| AnnouncedRun {
            start,
            streak: u32::try_from(self.streak_announced).unwrap_or(0),
        })
    }

    /// The version of this goal as shown on `today`, the owner's day: its streak is of that
    /// day.
    pub fn version(&self, today: NaiveDate) -> Version {
        Version::of(&[&"goal", &self.id, &self.revision, &today])
    }

    pub fn fields(&self) -> GoalFields {
        GoalFields {
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status,
            completed_at: self.completed_at,
            schedule: self.schedule(),
            reminders: self.reminders,
        }
    }
}

/// A goal's stored streak summary.
#[derive(Debug, Clone, FromRow)]
pub struct StreakRow {
    pub last_checkin_date: Option<NaiveDate>,
    pub streak_run: i32,
    pub longest_streak: i32,
    pub freezes_held: i32,
    pub frozen_dates: Json<Vec<NaiveDate>>,
    pub streak_week_days: i32,
}

impl StreakRow {
    pub fn summary(&self) -> StreakSummary {
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        StreakSummary {
            last_checkin: self.last_checkin_date,
            run: count(self.streak_run),
            longest: count(self.longest_streak),
            freezes: count(self.freezes_held),
            frozen_dates: self.frozen_dates.0.clone(),
            week_days: count(self.streak_week_days),
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct CheckinRow {
    pub goal_id: GoalId,
    pub checkin_date: NaiveDate,
    pub minutes: Option<i32>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct AwardedBadgeRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub awarded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, FromRow)]
pub struct CatalogRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub tier: String,
    pub criteria: String,
    pub holders: i64,
}

/// A catalog entry an operator adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBadge {
    pub code: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub tier: Tier,
    pub criteria: String,
}

#[derive(Debug, Clone, FromRow)]
pub struct EventRow {
    pub id: i64,
    /// Whose event it is.
    pub user_id: UserId,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub goal_id: Option<i64>,
    pub badge_code: Option<String>,
    pub summary: String,
    /// Kept in the kudos' own transaction.
    pub kudos_count: i64,
    /// Whether the reader gave them; `None` for a reader without a token.
    pub kudos_by_me: Option<bool>,
}

/// The sections a stats figure may come from, as the viewer may read them.
#[derive(Debug, Clone, Copy)]
pub struct StatsSections {
    pub goals: Option<Access<visibility::Goals>>,
    pub badges: Option<Access<visibility::Badges>>,
    pub activity: Option<Access<visibility::Activity>>,
}

/// A row of `STATS`: the user's totals, and one status's goal figures (none when the user
/// has no goal, or its goals are not to be read). A total from a section not to be read is
/// null.
#[derive(Debug, Clone, FromRow)]
pub struct StatsRow {
    pub active_days: Option<i64>,
    pub badges_count: Option<i64>,
    pub last_active_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
    pub goals: Option<i64>,
    pub checkins: Option<i64>,
    pub longest_streak: Option<i64>,
}

/// A user's goals in one status: how many, their check-ins, their best streak.
#[derive(Debug, Clone)]
pub struct StatusFigures {
    pub status: String,
    pub goals: i64,
    pub checkins: i64,
    pub longest_streak: i64,
}

/// A user's stats as read. The goal figures (`active_days`, `by_status`,
/// `recent_streaks`) are `None` without leave to read the goals, `badges_count` without
/// leave to read the badges; `last_active_at` is of the events the viewer may see.
#[derive(Debug, Clone)]
pub struct StatsFigures {
    pub active_days: Option<i64>,
    pub badges_count: Option<i64>,
    pub last_active_at: Option<DateTime<Utc>>,
    /// Goals per status: only the statuses some goal has.
    pub by_status: Option<Vec<StatusFigures>>,
    /// The streak summaries that may be alive.
    pub recent_streaks: Option<Vec<StreakRow>>,
}

impl StatsFigures {
    fn from_rows(rows: Vec<StatsRow>, recent_streaks: Option<Vec<StreakRow>>) -> Self {
        let first = rows.first();
        let goals_visible = recent_streaks.is_some();
        Self {
            active_days: first.and_then(|r| r.active_days),
            badges_count: first.and_then(|r| r.badges_count),
            last_active_at: first.and_then(|r| r.last_active_at),
            by_status: goals_visible.then(|| {
                rows.iter()
                    .filter_map(|r| {
                        Some(StatusFigures {
                            status: r.status.clone()?,
                            goals: r.goals.unwrap_or(0),
                            checkins: r.checkins.unwrap_or(0),
                            longest_streak: r.longest_streak.unwrap_or(0),
                        })
                    })
                    .collect()
            }),
            recent_streaks,
        }
    }
}

/// One day of a user's check-ins: how many goals were checked in, and their minutes.
#[derive(Debug, Clone, FromRow)]
pub struct HeatmapRow {
    pub checkin_date: NaiveDate,
    pub checkins: i64,
    pub minutes: i64,
}

/// A user's streaks as stored on their goals.
#[derive(Debug, Clone)]
pub struct StreakFigures {
    /// The summaries of the goals whose streak may be alive.
    pub recent: Vec<StreakRow>,
    /// The best streak any goal ever had.
    pub longest: i64,
}

/// A stored idempotency key: the request it was first used with and, once that committed,
/// what it created.
#[derive(Debug, Clone, FromRow)]
pub struct IdempotencyRow {
    pub request_hash: String,
    pub body: Option<String>,
    pub goal_deleted: bool,
}

/// One page of a user's goals, newest first: those older than `before` (a goal id), at
/// most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoalPage {
    pub status: Option<GoalStatus>,
    pub before: Option<GoalId>,
    pub limit: u32,
}

/// Days both backends can store, bounding open-ended date ranges.
pub const EARLIEST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
pub const LATEST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();

/// One page of a goal's check-ins, newest first, between two days (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckinPage {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub limit: u32,
}

/// One page of a user's activity, newest first: events older than `before` (an event id).
/// Goal and badge events are left out when those sections are hidden from the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityPage {
    pub before: Option<i64>,
    pub limit: u32,
    pub goals_visible: bool,
    pub badges_visible: bool,
    /// The reader, when the request has a token: whether they gave each event kudos.
    pub reader: Option<UserId>,
}
