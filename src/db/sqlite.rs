//! SQLite, the embedded default: WAL so readers never wait for the writer, a pool of
//! readers, and a single writer connection whose transactions start `IMMEDIATE`, so writes
//! queue in the pool instead of failing with "database is locked".

use std::{future::Future, pin::Pin, str::FromStr, sync::Arc, time::Duration};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{
    Sqlite, SqliteConnection, SqlitePool, Transaction,
    migrate::Migrator,
    pool::PoolConnectionMetadata,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    types::Json,
};

use super::{
    ActivityPage, Announced, AwardedBadgeRow, CatalogRow, CheckinPage, CheckinRow, Common, Dialect,
    EventRow, GoalPage, GoalRow, Hold, IdempotencyRow, NewBadge, OutboxRow, OutboxTurn,
    ReminderTurn, StatsFigures, Store, Tx, UserRow, UserStatements, UsersTable, WaitingForUsers,
    pool_figures, pool_options,
    shared::{impl_reads, impl_tx},
    sql::{self, select_goal, weekly_goals},
};
use crate::{
    clock::{Clock, SystemClock},
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

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// SQLite has no row locks: the writer's `BEGIN IMMEDIATE` already serialises writes.
const GOAL_FOR_UPDATE: &str = select_goal!();

/// The auth-service's minimal `users` table, for standalone use: created, and recorded as
/// this service's, only when there is none. The id is the account: a username may repeat.
const CREATE_USERS: &str = "\
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL,
        email TEXT,
        hashed_password TEXT,
        is_active BOOLEAN NOT NULL DEFAULT TRUE,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    )";

/// A deactivated user leaves every count and comes back when reactivated, whoever flips
/// `is_active` (see the PostgreSQL migration `…052_follow_counts_activity`). Created here,
/// after the migrations, and only where `users` has the column.
const FOLLOW_COUNTS_ACTIVITY: &str = "\
    CREATE TRIGGER IF NOT EXISTS users_follow_counts AFTER UPDATE OF is_active ON users
    WHEN COALESCE(OLD.is_active, 1) IS NOT COALESCE(NEW.is_active, 1)
    BEGIN
        UPDATE follow_counts
        SET followers = followers + (CASE WHEN COALESCE(NEW.is_active, 1) THEN 1 ELSE -1 END)
        WHERE user_id IN (SELECT followee_id FROM follows
                          WHERE follower_id = NEW.id AND state = 'following');
        UPDATE follow_counts
        SET following = following + (CASE WHEN COALESCE(NEW.is_active, 1) THEN 1 ELSE -1 END)
        WHERE user_id IN (SELECT follower_id FROM follows
                          WHERE followee_id = NEW.id AND state = 'following');
    END";

/// A deactivated user's open partnerships end, whoever flips `is_active` (see the
/// PostgreSQL migration `…092_partnerships_deactivation`). Created here, after the
/// migrations, and only where `users` has the column.
const PARTNERSHIPS_DEACTIVATION: &str = "\
    CREATE TRIGGER IF NOT EXISTS users_end_partnerships AFTER UPDATE OF is_active ON users
    WHEN COALESCE(OLD.is_active, 1) AND NOT COALESCE(NEW.is_active, 1)
    BEGIN
        UPDATE partnerships SET status = 'ended', end_reason = 'deactivated',
            ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
        WHERE status IN ('pending', 'active')
          AND (inviter_id = NEW.id OR invitee_id = NEW.id);
    END";

/// The profile columns this service owns on `users`. SQLite has no
/// `ADD COLUMN IF NOT EXISTS`, so the missing ones are added here, before the migrations.
const PROFILE_COLUMNS: &[(&str, &str)] = &[
    ("display_name", "TEXT"),
    ("bio", "TEXT"),
    ("skills", "TEXT NOT NULL DEFAULT '[]'"),
    ("avatar_url", "TEXT"),
    ("timezone", "TEXT NOT NULL DEFAULT 'UTC'"),
    ("week_start", "TEXT NOT NULL DEFAULT 'monday'"),
    ("profile_updated_at", "TEXT"),
    ("goals_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("badges_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("activity_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("stats_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("connections_visibility", "TEXT NOT NULL DEFAULT 'public'"),
    ("follow_policy", "TEXT NOT NULL DEFAULT 'open'"),
    // Stamped by the service (SQLite cannot default an added column to "now").
    ("first_seen_at", "TEXT"),
    // Moved by every write of the profile: what its entity tag is derived from.
    ("profile_revision", "INTEGER NOT NULL DEFAULT 0"),
];

/// The unique indexes on `users.username`, and whether each is a column constraint (`u`,
/// which only a rebuild of the table drops) or a `CREATE UNIQUE INDEX` (`c`).
const USERNAME_UNIQUE_INDEXES: &str = "\
    SELECT l.name, l.origin FROM pragma_index_list('users') l \
    WHERE l.\"unique\" AND l.origin <> 'pk' \
      AND EXISTS (SELECT 1 FROM pragma_index_info(l.name) i WHERE i.name = 'username')";

/// How earlier versions declared `users.username` in the table they created (see
/// [`username_not_unique`]).
const USERNAME_UNIQUE: &str = "username TEXT NOT NULL UNIQUE";

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Each reader's page cache (negative: KiB), half SQLite's default: the readers share the
/// operating system's cache of the file, and each private cache adds to resident memory.
const READER_CACHE_KIB: &str = "-1024";

/// Reads the database file's header. `Connection::ping` only asks the connection's worker
/// thread whether it is alive, which it is even when the file is no longer a database.
const READS_THE_FILE: &str = "PRAGMA schema_version";

/// Keeps a connection in the pool only while it can still read the file. A connection that
/// once found the file unreadable (overwritten, a failed disk) keeps failing with "file is not
/// a database" even after the file is good again, while a new connection reads it fine: so
/// such a connection is closed when released, and the pool opens a new one when needed.
fn still_reads_the_file(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = sqlx::Result<bool>> + Send + '_>> {
    Box::pin(async move { Ok(sqlx::query(READS_THE_FILE).execute(conn).await.is_ok()) })
}

/// Reader connections: SQLite reads run on the CPU, one worker thread per connection, so
/// readers beyond twice the cores add memory (each keeps its own page and statement
/// caches) and no throughput.
fn readers(max_connections: u32) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cap = u32::try_from(cores.saturating_mul(2)).unwrap_or(u32::MAX);
    max_connections.clamp(1, cap.max(1))
}

/// Whether the URL names a database that lives in memory, not in a file.
pub(super) fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    common: Common,
    /// `USERS_TABLE_OWNER=auth-service`: never create `users`, wait for it.
    auth_service_owns_users: bool,
}

impl SqliteStore {
    pub async fn connect(url: &str, config: &Config) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let in_memory = is_in_memory(url);
        let parent = options
            .get_filename()
            .parent()
            .filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = parent.filter(|_| !in_memory) {
            tokio::fs::create_dir_all(dir)
                .await
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        let pool = |max| pool_options::<Sqlite>(config, max).after_release(still_reads_the_file);
        let writer = pool(1).connect_lazy_with(options.clone());
        // An in-memory database exists once per connection: share the one.
        let reader = if in_memory {
            writer.clone()
        } else {
            pool(readers(config.db_max_connections))
                .connect_lazy_with(options.pragma("cache_size", READER_CACHE_KIB))
        };
        Ok(Self {
            reader,
            writer,
            common: Common::new(config),
            auth_service_owns_users: config.users_table_owner == UsersTableOwner::AuthService,
        })
    }

    /// The `users` this service created keeps no uniqueness on `username`: the id is the
    /// account, and the auth-service may give two accounts one name. Earlier versions
    /// declared the column `UNIQUE`, which SQLite drops only by rebuilding the table, with
    /// foreign keys off so that dropping the old table does not cascade to the rows that
    /// refer to it; the connection that turned them off is closed, never reused. Nothing is
    /// done when there is no such index, so this runs at every start.
    async fn username_not_unique(&self) -> anyhow::Result<()> {
        let mut conn = self.writer.acquire().await?;
        conn.close_on_drop();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
        let unique: Vec<(String, String)> = sqlx::query_as(USERNAME_UNIQUE_INDEXES)
            .fetch_all(&mut *tx)
            .await?;
        if unique.is_empty() {
            return Ok(());
        }
        for (index, _) in unique.iter().filter(|(_, origin)| origin == "c") {
            let drop = format!("DROP INDEX \"{}\"", index.replace('"', "\"\""));
            sqlx::query(sqlx::AssertSqlSafe(drop))
                .execute(&mut *tx)
                .await?;
        }
        if unique.iter().any(|(_, origin)| origin == "u") {
            let declared: String = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'",
            )
            .fetch_one(&mut *tx)
            .await?;
            // The columns and constraints, from the parenthesis on: SQLite may have written
            // the table's name quoted.
            let rebuilt = declared
                .find('(')
                .map(|start| &declared[start..])
                .filter(|definition| definition.contains(USERNAME_UNIQUE))
                .map(|definition| {
                    format!(
                        "CREATE TABLE users_rebuilt {}",
                        definition.replacen(USERNAME_UNIQUE, "username TEXT NOT NULL", 1)
                    )
                })
                .with_context(|| {
                    format!(
                        "users.username is unique, but not as declared by this service: {declared}"
                    )
                })?;
            let indexes: Vec<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = 'users' AND sql IS NOT NULL",
            )
            .fetch_all(&mut *tx)
            .await?;
            let statements = [
                rebuilt,
                "INSERT INTO users_rebuilt SELECT * FROM users".into(),
                "DROP TABLE users".into(),
                "ALTER TABLE users_rebuilt RENAME TO users".into(),
            ];
            for statement in statements.into_iter().chain(indexes) {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&mut *tx)
                    .await?;
            }
            let dangling: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
                .fetch_all(&mut *tx)
                .await?;
            anyhow::ensure!(
                dangling.is_empty(),
                "rebuilding users left rows without their user in {dangling:?}"
            );
        }
        tx.commit().await?;
        tracing::info!("users.username is no longer unique: the id is the account");
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users')",
        )
        .fetch_one(&mut *tx)
        .await?;
        if !exists && self.auth_service_owns_users {
            return Err(WaitingForUsers.into());
        }
        sqlx::query(sql::CREATE_META).execute(&mut *tx).await?;
        if !exists {
            sqlx::query(CREATE_USERS).execute(&mut *tx).await?;
            sqlx::query(sql::RECORD_USERS_OWNED)
                .execute(&mut *tx)
                .await?;
        }
        let columns: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info('users')")
                .fetch_all(&mut *tx)
                .await?;
        let owned: Option<String> = sqlx::query_scalar(sql::USERS_OWNED)
            .fetch_optional(&mut *tx)
            .await?;
        let owned = owned.is_some() && !self.auth_service_owns_users;
        let users = UsersTable::from_described(Dialect::Sqlite, &columns, owned)?;
        for (column, definition) in PROFILE_COLUMNS {
            if !columns
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case(column))
            {
                let ddl = format!("ALTER TABLE users ADD COLUMN {column} {definition}");
                sqlx::query(sqlx::AssertSqlSafe(ddl))
                    .execute(&mut *tx)
                    .await?;
            }
        }
        sqlx::query(sql::STAMP_FIRST_SEEN)
            .bind(SystemClock.now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if users.owned {
            self.username_not_unique().await?;
        }
        MIGRATOR.run(&self.writer).await?;
        if users.is_active {
            sqlx::query(FOLLOW_COUNTS_ACTIVITY)
                .execute(&self.writer)
                .await?;
            sqlx::query(PARTNERSHIPS_DEACTIVATION)
                .execute(&self.writer)
                .await?;
        }
        self.common.inspected(&users);
        Ok(())
    }

    /// Reads the file, so that readiness fails while it is not a database (a `ping` of the
    /// connection would answer regardless).
    async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query(READS_THE_FILE)
            .execute(&self.reader)
            .await
            .map(drop)
    }

    async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
        // Logged here, once every connection is closed, so that a clean shutdown can be told
        // from a process that merely exited (the shutdown tests read it).
        tracing::info!("database pool closed");
    }

    async fn begin(&self) -> sqlx::Result<Box<dyn Tx>> {
        let users = self.common.user_statements()?.clone();
        Ok(Box::new(SqliteTx {
            tx: self.writer.begin_with("BEGIN IMMEDIATE").await?,
            users,
            outbox: self.common.outbox,
            announced: Vec::new(),
        }))
    }

    /// The one writer's `BEGIN IMMEDIATE` already orders every write with an erasure.
    async fn begin_for(&self, _user: UserId, _hold: Hold) -> sqlx::Result<Box<dyn Tx>> {
        self.begin().await
    }

    /// Always this relay's: one process serves a SQLite database.
    async fn outbox_turn(&self) -> sqlx::Result<Option<Box<dyn OutboxTurn>>> {
        Ok(Some(Box::new(SqliteTurn {
            reader: self.reader.clone(),
            writer: self.writer.clone(),
        })))
    }

    /// One process serves an SQLite file: its scheduler's turn is always there.
    async fn reminder_turn(&self) -> sqlx::Result<Option<Box<dyn ReminderTurn>>> {
        Ok(Some(Box::new(())))
    }
}

impl Pools for SqliteStore {
    fn pools(&self) -> Vec<PoolFigures> {
        vec![
            pool_figures!("reader", self.reader),
            pool_figures!("writer", self.writer),
        ]
    }
}

struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    users: Arc<UserStatements>,
    outbox: bool,
    announced: Vec<Announced>,
}

/// Writes a transaction's events, in the order they were announced. The writer's `BEGIN
/// IMMEDIATE` already makes transactions commit one at a time, in the order their rows are
/// numbered.
async fn flush_outbox(
    tx: &mut Transaction<'static, Sqlite>,
    events: &[Announced],
) -> sqlx::Result<()> {
    for event in events {
        sqlx::query(sql::INSERT_OUTBOX)
            .bind(&event.event_id)
            .bind(event.user_id)
            .bind(event.event_type)
            .bind(&event.data)
            .bind(event.occurred_at)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// A relay's turn: it reads from a reader, so the API's writes never wait for a publish, and
/// marks on the writer.
struct SqliteTurn {
    reader: SqlitePool,
    writer: SqlitePool,
}

#[async_trait]
impl OutboxTurn for SqliteTurn {
    async fn pending(&mut self, limit: i64) -> sqlx::Result<Vec<OutboxRow>> {
        sqlx::query_as(sql::OUTBOX_PENDING)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
    }

    async fn published(self: Box<Self>, seqs: &[i64], now: DateTime<Utc>) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE event_outbox SET published_at = $1 \
             WHERE seq IN (SELECT value FROM json_each($2))",
        )
        .bind(now)
        .bind(Json(seqs))
        .execute(&self.writer)
        .await
        .map(drop)
    }
}

impl_reads!(SqliteStore, reader);
super::credentials::impl_credential_reads!(SqliteStore, reader);
super::export::impl_export_reads!(SqliteStore, reader, super::export::SQLITE_SNAPSHOT);
super::social::impl_social_reads!(SqliteStore, reader);
super::partners::impl_partner_reads!(SqliteStore, reader);

/// The fan-out's batch, as on PostgreSQL (see there), the events as JSON `[id, …]`: the
/// oldest pending events; the users with more than $2 followers become famous; the other
/// users' events go into their followers' timelines; the batch leaves the queue.
const TAKE_PENDING: &str = "SELECT event_id FROM feed_pending ORDER BY event_id LIMIT $1";
const MARK_FAMOUS: &str = "\
    INSERT INTO feed_famous (user_id) SELECT DISTINCT a.user_id FROM activity_events a \
      JOIN follow_counts c ON c.user_id = a.user_id \
      WHERE a.id IN (SELECT value FROM json_each($1)) AND c.followers > $2 \
    ON CONFLICT DO NOTHING";
const FAN_OUT: &str = "\
    INSERT INTO feed_items (reader_id, event_id) SELECT f.follower_id, a.id \
      FROM activity_events a JOIN follows f ON f.followee_id = a.user_id AND f.state = 'following' \
      WHERE a.id IN (SELECT value FROM json_each($1)) \
        AND NOT EXISTS (SELECT 1 FROM feed_famous x WHERE x.user_id = a.user_id) \
    ON CONFLICT DO NOTHING";
const DROP_PENDING: &str =
    "DELETE FROM feed_pending WHERE event_id IN (SELECT value FROM json_each($1))";

#[async_trait]
impl super::Timelines for SqliteStore {
    async fn fan_out(&self, batch: i64, max_followers: i64) -> sqlx::Result<usize> {
        // A reader looks first, so that an idle task never takes the one writer.
        let waiting: Option<i64> = sqlx::query_scalar(TAKE_PENDING)
            .bind(1_i64)
            .fetch_optional(&self.reader)
            .await?;
        if waiting.is_none() {
            return Ok(0);
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let events: Vec<i64> = sqlx::query_scalar(TAKE_PENDING)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let ids = Json(&events);
        sqlx::query(MARK_FAMOUS)
            .bind(ids)
            .bind(max_followers)
            .execute(&mut *tx)
            .await?;
        for statement in [FAN_OUT, DROP_PENDING] {
            sqlx::query(statement).bind(ids).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(events.len())
    }
}
super::social::impl_social_tx!(SqliteTx, hold: None);
super::partners::impl_partner_tx!(SqliteTx, lock: "");
super::reminders::impl_reminder_tx!(
    SqliteTx,
    goals: super::reminders::SQLITE_REMINDER_GOALS,
    partnerships: super::reminders::SQLITE_REMINDER_PARTNERSHIPS,
    checkins: super::reminders::SQLITE_REMINDER_CHECKINS,
    bind_ids: super::reminders::json_ids,
    hold_users: super::reminders::sqlite_hold_users,
    claim: super::reminders::sqlite_claim,
    claim_partners: super::reminders::sqlite_claim_partners,
    reschedule: super::reminders::sqlite_reschedule
);
impl_tx!(
    SqliteTx,
    goal_for_update: GOAL_FOR_UPDATE,
    weekly_goals_for_update: weekly_goals!(),
    flush_outbox: flush_outbox
);
