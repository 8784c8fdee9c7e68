//! PostgreSQL: one bounded pool; row locks make read-modify-writes safe. The locks are
//! `FOR NO KEY UPDATE`: they serialise writers of a row without blocking the key-share locks
//! that inserting a child row (an event, a check-in) takes on its parent, which would
//! otherwise deadlock two transactions of one user.

use std::{str::FromStr, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{
    Connection, PgPool, Postgres, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    types::Json,
};

use super::{
    ActivityPage, AwardedBadgeRow, CatalogRow, CheckinPage, CheckinRow, EventRow, GoalPage,
    GoalRow, IdempotencyRow, NewBadge, NewCheckin, StatsFigures, Store, StoredResponse, Tx,
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

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

const USER_FOR_UPDATE: &str = concat!(select_active_user!(), " FOR NO KEY UPDATE");
const GOAL_FOR_UPDATE: &str = concat!(select_goal!(), " FOR NO KEY UPDATE");

/// An idle connection older than this is pinged before use; fresher ones are trusted,
/// which saves a round trip per request.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub fn connect(url: &str, config: &Config) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("user-service");
        let pool = PgPoolOptions::new()
            .max_connections(config.db_max_connections)
            .acquire_timeout(config.db_acquire_timeout())
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IF_IDLE_FOR {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(options);
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> sqlx::Result<()> {
        self.pool.acquire().await?.ping().await
    }

    async fn close(&self) {
        self.pool.close().await;
        // Logged here, once every connection is closed, so that a clean shutdown can be told
        // from a process that merely exited (the shutdown tests read it).
        tracing::info!("database pool closed");
    }

    async fn begin(&self) -> sqlx::Result<Box<dyn Tx>> {
        Ok(Box::new(PgTx {
            tx: self.pool.begin().await?,
        }))
    }
}

struct PgTx {
    tx: Transaction<'static, Postgres>,
}

impl_reads!(PgStore, pool);
impl_tx!(PgTx, user_for_update: USER_FOR_UPDATE, goal_for_update: GOAL_FOR_UPDATE);
