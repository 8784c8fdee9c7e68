//! Persistence behind one interface, two backends.
//!
//! [`Store`] answers reads and opens write transactions ([`Tx`]); `postgres` and `sqlite`
//! implement both with the same SQL text from `sql` wherever the dialects agree, and
//! per-backend constants where they do not. The backend is chosen from the URL scheme at
//! start. No business rule lives here: the multi-step writes are composed from `Tx`
//! primitives in `crate::services`, once for both backends.

mod postgres;
mod shared;
mod sql;
mod sqlite;
mod types;

use std::sync::Arc;

use anyhow::bail;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{FromRow, types::Json};

use crate::{
    config::Config,
    domain::{
        GoalId, GoalStatus, UserId,
        goal::{GoalFields, NewGoal},
        profile::{Profile, TimeZone},
    },
};
pub use types::UtcTimestamp;

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

/// A database: its lifecycle and write transactions, and through [`Reads`] its queries.
#[async_trait]
pub trait Store: Reads {
    /// Brings the schema up to date; safe to run on every start and from several replicas.
    async fn migrate(&self) -> anyhow::Result<()>;
    async fn ping(&self) -> sqlx::Result<()>;
    async fn close(&self);

    /// A write transaction. Dropping it without `commit` rolls it back.
    async fn begin(&self) -> sqlx::Result<Box<dyn Tx>>;
}

/// Queries outside any transaction.
#[async_trait]
pub trait Reads: Send + Sync + 'static {
    /// An active user (the auth-service's `is_active` is not false).
    async fn user(&self, id: UserId) -> sqlx::Result<Option<UserRow>>;
    async fn badges_of(&self, user: UserId) -> sqlx::Result<Vec<AwardedBadgeRow>>;
    async fn goals(&self, user: UserId, page: &GoalPage) -> sqlx::Result<Vec<GoalRow>>;
    async fn goal(&self, user: UserId, goal: GoalId) -> sqlx::Result<Option<GoalRow>>;
    /// How many goals the user has in each status that any goal has.
    async fn goal_counts(&self, user: UserId) -> sqlx::Result<Vec<(String, i64)>>;
    async fn badge_count(&self, user: UserId) -> sqlx::Result<i64>;
}

/// The writes, each inside the transaction that holds it. "lock" reads take the row lock
/// that makes a read-modify-write safe against a concurrent one.
#[async_trait]
pub trait Tx: Send {
    async fn lock_user(&mut self, id: UserId) -> sqlx::Result<Option<UserRow>>;
    async fn save_profile(
        &mut self,
        id: UserId,
        profile: &Profile,
        now: DateTime<Utc>,
    ) -> sqlx::Result<UserRow>;
    async fn insert_user(
        &mut self,
        id: UserId,
        username: &str,
        now: DateTime<Utc>,
    ) -> sqlx::Result<()>;

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
    /// Deletes a goal, returning its title; `None` when the user has no such goal.
    async fn delete_goal(&mut self, user: UserId, goal: GoalId) -> sqlx::Result<Option<String>>;

    async fn commit(self: Box<Self>) -> sqlx::Result<()>;
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
    pub created_at: Option<UtcTimestamp>,
}

impl UserRow {
    pub fn profile(&self) -> Profile {
        Profile {
            display_name: self.display_name.clone(),
            bio: self.bio.clone(),
            skills: self.skills.0.clone(),
            avatar_url: self.avatar_url.clone(),
            timezone: TimeZone::from_stored(&self.timezone),
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
}

impl GoalRow {
    pub fn fields(&self) -> GoalFields {
        GoalFields {
            title: self.title.clone(),
            description: self.description.clone(),
            status: self.status,
            completed_at: self.completed_at,
        }
    }
}

#[derive(Debug, Clone, FromRow)]
pub struct AwardedBadgeRow {
    pub code: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub awarded_at: DateTime<Utc>,
}

/// One page of a user's goals, newest first: those older than `before` (a goal id), at
/// most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoalPage {
    pub status: Option<GoalStatus>,
    pub before: Option<GoalId>,
    pub limit: u32,
}
