//! SQLite, the embedded default: WAL so readers never wait for the writer, a pool of
//! readers, and a single writer connection whose transactions start `IMMEDIATE`, so writes
//! queue in the pool instead of failing with "database is locked".

use std::{str::FromStr, time::Duration};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{
    Connection, Sqlite, SqlitePool, Transaction,
    migrate::Migrator,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
    types::Json,
};

use super::{
    ActivityPage, AwardedBadgeRow, CatalogRow, CheckinPage, CheckinRow, EventRow, GoalPage,
    GoalRow, IdempotencyRow, NewBadge, NewCheckin, StatsRow, Store, StoredResponse, StreakRow, Tx,
    UserRow,
    shared::{impl_reads, impl_tx},
    sql::{self, select_active_user, select_goal},
};
use crate::{
    config::Config,
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        goal::{GoalFields, NewGoal},
        profile::Profile,
        streak::StreakSummary,
        visibility::{self, Access, Privacy},
    },
};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite has no row locks: the writer's `BEGIN IMMEDIATE` already serialises writes.
const USER_FOR_UPDATE: &str = select_active_user!();
const GOAL_FOR_UPDATE: &str = select_goal!();

/// The auth-service's minimal `users` table, for standalone use.
const CREATE_USERS: &str = "\
    CREATE TABLE IF NOT EXISTS users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        email TEXT,
        hashed_password TEXT,
        is_active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )";

/// The profile columns this service owns on `users`. SQLite has no
/// `ADD COLUMN IF NOT EXISTS`, so the missing ones are added here, before the migrations.
const PROFILE_COLUMNS: &[(&str, &str)] = &[
    ("display_name", "TEXT"),
    ("bio", "TEXT"),
    ("skills", "TEXT NOT NULL DEFAULT '[]'"),
    ("avatar_url", "TEXT"),
    ("timezone", "TEXT NOT NULL DEFAULT 'UTC'"),
    ("profile_updated_at", "TEXT"),
    ("goals_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("badges_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("activity_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("stats_visibility", "TEXT NOT NULL DEFAULT 'public'"),
];

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, config: &Config) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let parent = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = parent.filter(|_| !in_memory) {
            tokio::fs::create_dir_all(dir)
                .await
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(config.db_acquire_timeout())
            .connect_lazy_with(options.clone());
        // An in-memory database exists once per connection: share the one.
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(config.db_max_connections)
                .acquire_timeout(config.db_acquire_timeout())
                .connect_lazy_with(options)
        };
        Ok(Self { reader, writer })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(CREATE_USERS).execute(&mut *tx).await?;
        let existing: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('users')")
                .fetch_all(&mut *tx)
                .await?;
        for (column, definition) in PROFILE_COLUMNS {
            if !existing.iter().any(|c| c.eq_ignore_ascii_case(column)) {
                let ddl = format!("ALTER TABLE users ADD COLUMN {column} {definition}");
                sqlx::query(sqlx::AssertSqlSafe(ddl))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    async fn ping(&self) -> sqlx::Result<()> {
        self.reader.acquire().await?.ping().await
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn begin(&self) -> sqlx::Result<Box<dyn Tx>> {
        Ok(Box::new(SqliteTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
        }))
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
}

impl_reads!(SqliteStore, reader);
impl_tx!(SqliteTx, user_for_update: USER_FOR_UPDATE, goal_for_update: GOAL_FOR_UPDATE);
