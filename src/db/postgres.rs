//! PostgreSQL: one bounded pool; row locks make read-modify-writes safe. The locks are
//! `FOR NO KEY UPDATE`: they serialise writers of a row without blocking the key-share locks
//! that inserting a child row (an event, a check-in) takes on its parent, which would
//! otherwise deadlock two transactions of one user.

use std::{str::FromStr, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{
    Connection, PgPool, Postgres, Transaction, migrate::Migrator, postgres::PgConnectOptions,
    types::Json,
};

use super::{
    ActivityPage, Announced, AwardedBadgeRow, CatalogRow, CheckinPage, CheckinRow, Common, Dialect,
    EventRow, GoalPage, GoalRow, Hold, IdempotencyRow, NewBadge, OutboxRow, OutboxTurn,
    ReminderTurn, StatsFigures, Store, Tx, UserRow, UserStatements, UsersTable, WaitingForUsers,
    own_schema::{self, OwnSchema},
    pool_figures, pool_options,
    shared::{impl_reads, impl_tx},
    sql::{self, select_goal, weekly_goals},
};
use crate::{
    config::{Config, UsersTableOwner},
    domain::{
        GoalId, GoalStatus, UserId,
        activity::NewEvent,
        checkin::NewCheckin,
        goal::{GoalFields, NewGoal},
        platform_event::{AnnouncedRun, PlatformEvent},
        profile::Profile,
        streak::StreakSummary,
        visibility::{self, Access, Privacy},
    },
    metrics::{PoolFigures, Pools},
};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

const GOAL_FOR_UPDATE: &str = concat!(select_goal!(), " FOR NO KEY UPDATE");

/// Held while one replica checks for and creates `users`, so two starting at once do not
/// both try.
const USERS_TABLE_LOCK: &str = "SELECT pg_advisory_xact_lock(7322148270917)";

/// Held by the one relay that publishes at a time, for one batch: several replicas then
/// publish each event once, in order.
const RELAY_LOCK: &str = "SELECT pg_try_advisory_xact_lock(7322148270918)";
/// The relay's lock, waited for by an erasure: a batch in flight is published and marked
/// before the erasure deletes the user's events, and no relay reads them until it commits.
const WAIT_FOR_RELAY: &str = "SELECT pg_advisory_xact_lock(7322148270918)";

/// A user's lock, the first statement of every write transaction of their data: shared by
/// the user's writes, exclusive for their erasure (see `Store::begin_for`). A statement of
/// its own, so that the next statement's snapshot sees an erasure it waited for. Its key
/// space (the two-key form's first key) is not the outbox's: a write takes this lock first
/// and the outbox's last, at commit, and an erasure never takes the outbox's, so no two
/// transactions wait for these locks in opposite orders.
const HOLD_USER_TO_WRITE: &str =
    "SELECT pg_advisory_xact_lock_shared(7322149, hashint8($1::bigint))";
const HOLD_USER_ALONE: &str = "SELECT pg_advisory_xact_lock(7322149, hashint8($1::bigint))";

/// A transaction's events, written as it commits, under a lock on their user that the commit
/// releases: one user's events are then numbered in the order their transactions commit,
/// while the rest of those transactions run side by side. The join takes the lock before
/// the sort lets any row, and so any number, through. Last in its transaction, the lock waits
/// for no other lock, so it cannot deadlock. (The two-key form of advisory locks has a key
/// space of its own.)
const FLUSH_OUTBOX: &str = "\
    INSERT INTO event_outbox (event_id, user_id, event_type, data, occurred_at) \
    SELECT e.event_id, $2, e.event_type, e.data, e.occurred_at \
    FROM (SELECT pg_advisory_xact_lock(7322148, hashint8($2::bigint))) AS held, \
      unnest($1::text[], $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY \
        AS e(event_id, event_type, data, occurred_at, position) \
    ORDER BY e.position";

/// Writes a transaction's events, each user's in the order they were announced. A write
/// is mostly one user's; one that names two (kudos, which may earn both a badge) takes
/// their locks in the order of their ids, as every such write does, so that two of them
/// never wait for each other.
async fn flush_outbox(
    tx: &mut Transaction<'static, Postgres>,
    events: &[Announced],
) -> sqlx::Result<()> {
    let mut users: Vec<UserId> = events.iter().map(|event| event.user_id).collect();
    users.sort_unstable();
    users.dedup();
    for user in users {
        let of_user: Vec<&Announced> = events.iter().filter(|e| e.user_id == user).collect();
        let column = |f: fn(&Announced) -> String| of_user.iter().map(|e| f(e)).collect::<Vec<_>>();
        sqlx::query(FLUSH_OUTBOX)
            .bind(column(|e| e.event_id.clone()))
            .bind(user)
            .bind(column(|e| e.event_type.to_owned()))
            .bind(column(|e| e.data.clone()))
            .bind(of_user.iter().map(|e| e.occurred_at).collect::<Vec<_>>())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The columns of the `users` that unqualified statements name (the first in the search
/// path), as `information_schema` describes them.
const USERS_COLUMNS: &str = "\
    SELECT CAST(c.column_name AS TEXT), CAST(c.data_type AS TEXT) \
    FROM information_schema.columns c \
    JOIN pg_class r ON r.oid = to_regclass('users') \
    JOIN pg_namespace n ON n.oid = r.relnamespace \
    WHERE c.table_schema = n.nspname AND c.table_name = 'users' \
    ORDER BY c.ordinal_position";

/// An idle connection older than this is pinged before use; fresher ones are trusted,
/// which saves a round trip per request.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

/// How the service names itself to the server (`pg_stat_activity`).
const APPLICATION_NAME: &str = "user-service";

pub struct PgStore {
    pool: PgPool,
    common: Common,
    /// With `USERS_TABLE_OWNER=auth-service`, the schema of this service's own tables (see
    /// `own_schema`); `None` when this service owns `users` and keeps everything beside it.
    own_schema: Option<OwnSchema>,
    /// `DATABASE_SCHEMA`, checked when this service owns `users`: its tables must not have
    /// been moved there.
    moved_schema: String,
}

impl PgStore {
    pub fn connect(url: &str, config: &Config) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name(APPLICATION_NAME);
        let own_schema = match config.users_table_owner {
            UsersTableOwner::AuthService => {
                Some(OwnSchema::parse(&config.database_schema).map_err(anyhow::Error::msg)?)
            }
            UsersTableOwner::Service => None,
        };
        let mut pool = pool_options::<Postgres>(config, config.db_max_connections);
        if let Some(schema) = &own_schema {
            let first_on_path = schema.name().to_owned();
            pool = pool.after_connect(move |conn, _| {
                let schema = first_on_path.clone();
                Box::pin(async move {
                    sqlx::query(own_schema::PREPEND_TO_SEARCH_PATH)
                        .bind(schema)
                        .execute(conn)
                        .await
                        .map(drop)
                })
            });
        }
        let pool = pool
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
        Ok(Self {
            pool,
            common: Common::new(config),
            own_schema,
            moved_schema: config.database_schema.clone(),
        })
    }

    /// Before the migrations touch it: an auth-service's `users` is read and checked, and
    /// when there is none this service records that the table it is about to create (in
    /// the first migration) is its own. `None` then: the shape is read after migrating.
    async fn claim_users(&self) -> anyhow::Result<Option<UsersTable>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(USERS_TABLE_LOCK).execute(&mut *tx).await?;
        if own_schema::holds_moved_tables(&mut tx, &self.moved_schema).await? {
            anyhow::bail!(
                "this service's tables are in DATABASE_SCHEMA {}, where \
                 USERS_TABLE_OWNER=auth-service moved them: set it again",
                self.moved_schema
            );
        }
        sqlx::query(sql::CREATE_META).execute(&mut *tx).await?;
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('users') IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
        let users = if exists {
            Some(users_shape(&mut tx, true).await?)
        } else {
            sqlx::query(sql::RECORD_USERS_OWNED)
                .execute(&mut *tx)
                .await?;
            None
        };
        tx.commit().await?;
        Ok(users)
    }

    /// With the auth-service owning `users`: waits for its table (creating nothing until
    /// it is there), then puts this service's tables in their schema (see `own_schema`).
    async fn join_auth_service(&self, schema: &OwnSchema) -> anyhow::Result<UsersTable> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(USERS_TABLE_LOCK).execute(&mut *tx).await?;
        let Some(users_schema) = own_schema::users_schema(&mut tx).await? else {
            return Err(WaitingForUsers.into());
        };
        own_schema::prepare(&mut tx, schema, &users_schema, &MIGRATOR).await?;
        let users = users_shape(&mut tx, false).await?;
        tx.commit().await?;
        Ok(users)
    }
}

/// The shape of `users`, and whether this service owns it (which it may, when `may_own`,
/// have recorded).
async fn users_shape(
    tx: &mut Transaction<'static, Postgres>,
    may_own: bool,
) -> anyhow::Result<UsersTable> {
    let columns: Vec<(String, String)> = sqlx::query_as(USERS_COLUMNS).fetch_all(&mut **tx).await?;
    let owned = may_own
        && sqlx::query_scalar::<_, String>(sql::USERS_OWNED)
            .fetch_optional(&mut **tx)
            .await?
            .is_some();
    Ok(UsersTable::from_described(
        Dialect::Postgres,
        &columns,
        owned,
    )?)
}

#[async_trait]
impl Store for PgStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        let found = match &self.own_schema {
            Some(schema) => Some(self.join_auth_service(schema).await?),
            None => self.claim_users().await?,
        };
        MIGRATOR.run(&self.pool).await?;
        let users = match found {
            Some(users) => users,
            None => users_shape(&mut self.pool.begin().await?, true).await?,
        };
        self.common.inspected(&users);
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
        let users = self.common.user_statements()?.clone();
        Ok(Box::new(PgTx {
            tx: self.pool.begin().await?,
            users,
            outbox: self.common.outbox,
            announced: Vec::new(),
        }))
    }

    async fn begin_for(&self, user: UserId, hold: Hold) -> sqlx::Result<Box<dyn Tx>> {
        let users = self.common.user_statements()?.clone();
        let mut tx = self.pool.begin().await?;
        match hold {
            Hold::Write => {
                sqlx::query(HOLD_USER_TO_WRITE)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
            }
            Hold::Account => {
                sqlx::query(HOLD_USER_ALONE)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
            }
            Hold::Erase => {
                // The user first: waiting for the user's writes never holds the relay up.
                sqlx::query(HOLD_USER_ALONE)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(WAIT_FOR_RELAY).execute(&mut *tx).await?;
            }
        }
        Ok(Box::new(PgTx {
            tx,
            users,
            outbox: self.common.outbox,
            announced: Vec::new(),
        }))
    }

    async fn outbox_turn(&self) -> sqlx::Result<Option<Box<dyn OutboxTurn>>> {
        let mut tx = self.pool.begin().await?;
        let ours: bool = sqlx::query_scalar(RELAY_LOCK).fetch_one(&mut *tx).await?;
        Ok(ours.then(|| Box::new(PgTurn { tx }) as Box<dyn OutboxTurn>))
    }

    async fn reminder_turn(&self) -> sqlx::Result<Option<Box<dyn ReminderTurn>>> {
        let mut tx = self.pool.begin().await?;
        let lease: Option<String> = sqlx::query_scalar(super::reminders::PG_TAKE_LEASE)
            .fetch_optional(&mut *tx)
            .await?;
        Ok(lease.map(|_| Box::new(PgLease { tx }) as Box<dyn ReminderTurn>))
    }
}

impl Pools for PgStore {
    fn pools(&self) -> Vec<PoolFigures> {
        vec![pool_figures!("main", self.pool)]
    }
}

struct PgTx {
    tx: Transaction<'static, Postgres>,
    users: Arc<UserStatements>,
    outbox: bool,
    announced: Vec<Announced>,
}

/// The reminder scheduler's lease: the transaction holding the lease row's lock.
struct PgLease {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl ReminderTurn for PgLease {
    async fn end(self: Box<Self>) -> sqlx::Result<()> {
        self.tx.rollback().await
    }
}

/// A relay's turn: the transaction that holds the relay lock until the rows it read are
/// marked. A relay that dies mid-batch loses its connection, and so the lock, and the
/// next relay reads the same rows again.
struct PgTurn {
    tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl OutboxTurn for PgTurn {
    async fn pending(&mut self, limit: i64) -> sqlx::Result<Vec<OutboxRow>> {
        sqlx::query_as(sql::OUTBOX_PENDING)
            .bind(limit)
            .fetch_all(&mut *self.tx)
            .await
    }

    async fn published(mut self: Box<Self>, seqs: &[i64], now: DateTime<Utc>) -> sqlx::Result<()> {
        // By the numbers read, never by range: a row numbered lower may commit later.
        sqlx::query("UPDATE event_outbox SET published_at = $1 WHERE seq = ANY($2)")
            .bind(now)
            .bind(seqs)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await
    }
}

impl_reads!(PgStore, pool);
super::credentials::impl_credential_reads!(PgStore, pool);
super::export::impl_export_reads!(PgStore, pool, super::export::PG_SNAPSHOT);
super::social::impl_social_reads!(PgStore, pool);
super::partners::impl_partner_reads!(PgStore, pool);

/// The fan-out's batch: the oldest pending events, taken (one replica's at a time, the
/// others skip them).
const TAKE_PENDING: &str = "\
    DELETE FROM feed_pending WHERE event_id IN (SELECT event_id FROM feed_pending \
      ORDER BY event_id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING event_id";
/// The users of the batch's events ($1) with more than $2 followers become famous.
const MARK_FAMOUS: &str = "\
    INSERT INTO feed_famous (user_id) SELECT DISTINCT a.user_id FROM activity_events a \
      JOIN follow_counts c ON c.user_id = a.user_id WHERE a.id = ANY($1) AND c.followers > $2 \
    ON CONFLICT DO NOTHING";
/// The batch's events ($1) of users who are not famous, into their followers' timelines.
const FAN_OUT: &str = "\
    INSERT INTO feed_items (reader_id, event_id) SELECT f.follower_id, a.id \
      FROM activity_events a JOIN follows f ON f.followee_id = a.user_id AND f.state = 'following' \
      WHERE a.id = ANY($1) AND NOT EXISTS (SELECT 1 FROM feed_famous x WHERE x.user_id = a.user_id) \
    ON CONFLICT DO NOTHING";

#[async_trait]
impl super::Timelines for PgStore {
    async fn fan_out(&self, batch: i64, max_followers: i64) -> sqlx::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let events: Vec<i64> = sqlx::query_scalar(TAKE_PENDING)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
        if events.is_empty() {
            return Ok(0);
        }
        sqlx::query(MARK_FAMOUS)
            .bind(&events)
            .bind(max_followers)
            .execute(&mut *tx)
            .await?;
        sqlx::query(FAN_OUT).bind(&events).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(events.len())
    }
}
super::social::impl_social_tx!(PgTx, hold: Some(HOLD_USER_TO_WRITE));
super::partners::impl_partner_tx!(PgTx, lock: " FOR UPDATE");
super::reminders::impl_reminder_tx!(
    PgTx,
    goals: super::reminders::PG_REMINDER_GOALS,
    partnerships: super::reminders::PG_REMINDER_PARTNERSHIPS,
    checkins: super::reminders::PG_REMINDER_CHECKINS,
    bind_ids: super::reminders::array_ids,
    hold_users: super::reminders::pg_hold_users,
    claim: super::reminders::pg_claim,
    claim_partners: super::reminders::pg_claim_partners,
    reschedule: super::reminders::pg_reschedule
);
impl_tx!(
    PgTx,
    goal_for_update: GOAL_FOR_UPDATE,
    weekly_goals_for_update: concat!(weekly_goals!(), " FOR NO KEY UPDATE"),
    flush_outbox: flush_outbox
);
