//! PostgreSQL with `USERS_TABLE_OWNER=auth-service`: this service's own tables live in a
//! schema of their own (`DATABASE_SCHEMA`), so that the auth-service's migration tool, which
//! compares its models with its schema, never sees them and never proposes to drop them.
//! `users` stays where the auth-service has it; this service only adds its columns there.
//!
//! Every connection puts the own schema first on its search path, before whatever the
//! connection had (`public`, or the `search_path` of `DATABASE_URL`): unqualified names then
//! find this service's tables there and `users` in the auth-service's schema, and what the
//! migrations create lands in the own schema. The one exception is the first migration,
//! whose `CREATE TABLE IF NOT EXISTS users` looks in the first schema only: it runs with the
//! auth-service's schema first (where `users` is, so it adds columns and creates no table),
//! and what it creates is then moved. Tables of an installation from before (or of one that
//! ran with `USERS_TABLE_OWNER=service`) are moved the same way, by `ALTER TABLE … SET
//! SCHEMA`, which keeps their rows, indexes, sequences and foreign keys.

use anyhow::bail;
use sqlx::{PgConnection, migrate::Migrator};

/// Every table this service creates (its migrations' and its own notes'), and the
/// migrations' bookkeeping: what is moved into the own schema when found beside `users`.
/// A migration that creates a table adds it here (a test compares this list with what the
/// migrations make).
pub const OWN_TABLES: &[&str] = &[
    "_sqlx_migrations",
    "user_service_meta",
    "badges",
    "user_badges",
    "learning_goals",
    "goal_checkins",
    "activity_events",
    "idempotency_keys",
    "auth_event_inbox",
    "event_outbox",
    "ended_accounts",
    "revoked_tokens",
    "revoked_user_tokens",
    "credential_status",
    "follows",
    "follow_counts",
    "blocks",
    "mutes",
    "daily_writes",
    "kudos",
    "kudos_counts",
    "export_runs",
    "feed_items",
    "feed_pending",
    "feed_famous",
    "partnerships",
    "partnership_nudges",
    "reminder_users",
    "reminders_sent",
    "reminder_lease",
    "partner_reminders_sent",
];

/// Every function this service creates (the triggers' of `user_badges`, `users` and
/// `activity_events`): moved with the tables, and told where they now find them.
pub const OWN_FUNCTIONS: &[&str] = &[
    "credential_status_awarded",
    "credential_status_revoked",
    "follow_counts_activity",
    "feed_pending_event",
    "partnerships_deactivation",
];

/// The own schema's name: lowercase letters, digits and underscores, not starting with a
/// digit, at most 63 characters. It goes into SQL text unquoted, where PostgreSQL would fold
/// any other letter's case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnSchema(String);

impl OwnSchema {
    pub fn parse(name: &str) -> Result<Self, String> {
        let plain = (1..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if plain {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "DATABASE_SCHEMA {name:?} is not a plain lowercase SQL identifier \
                 (lowercase letters, digits and underscores, not starting with a digit)"
            ))
        }
    }

    pub fn name(&self) -> &str {
        &self.0
    }
}

/// Run by each new connection: the own schema first, then the search path it had.
pub const PREPEND_TO_SEARCH_PATH: &str = "SELECT set_config('search_path', quote_ident($1) || ', ' || current_setting('search_path'), false)";

/// The schema of the `users` that unqualified names find, if any.
const USERS_SCHEMA: &str = "\
    SELECT CAST(n.nspname AS TEXT) FROM pg_class c \
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass('users')";

/// $1 schema, $2 table: whether it is there.
const TABLE_IN: &str = "\
    SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)";

/// Brings the own schema into place, in the caller's transaction (which holds the lock that
/// serialises replicas starting at once): creates it, runs the first migration beside
/// `users` when this service has never migrated there, and moves this service's tables in.
/// `users_schema` is the auth-service's. Idempotent.
pub async fn prepare(
    tx: &mut PgConnection,
    schema: &OwnSchema,
    users_schema: &str,
    migrator: &Migrator,
) -> anyhow::Result<()> {
    let own = schema.name();
    if users_schema == own {
        bail!(
            "DATABASE_SCHEMA {own} holds the users table: it must be a schema of this \
             service's own, beside the auth-service's"
        );
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {own}"
    )))
    .execute(&mut *tx)
    .await?;
    if !exists(tx, own, "_sqlx_migrations").await? {
        let first = migrator
            .iter()
            .next()
            .map(|m| m.version)
            .unwrap_or_default();
        let path: String = sqlx::query_scalar("SELECT current_setting('search_path')")
            .fetch_one(&mut *tx)
            .await?;
        set_local_search_path(tx, users_schema).await?;
        // `run_to` on a connection, by the entry sqlx keeps for callers whose futures must be
        // `Send` (`run_to`'s `Acquire` bound is not general enough for them).
        migrator.run_direct(Some(first), &mut *tx, false).await?;
        sqlx::query("SELECT set_config('search_path', $1, true)")
            .bind(path)
            .execute(&mut *tx)
            .await?;
    }
    for table in OWN_TABLES {
        if !exists(tx, users_schema, table).await? {
            continue;
        }
        if exists(tx, own, table).await? {
            bail!(
                "table {table} is both in {users_schema} and in DATABASE_SCHEMA {own}: \
                 this service cannot tell which is its own"
            );
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER TABLE {} SET SCHEMA {own}",
            qualified(users_schema, table)
        )))
        .execute(&mut *tx)
        .await?;
        tracing::info!(table, schema = own, "moved into this service's schema");
    }
    for function in OWN_FUNCTIONS {
        if !function_exists(tx, users_schema, function).await? {
            continue;
        }
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER FUNCTION {}() SET SCHEMA {own}",
            qualified(users_schema, function)
        )))
        .execute(&mut *tx)
        .await?;
        // A trigger fires in the auth-service's sessions too, whose path lacks this schema.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER FUNCTION {}() SET search_path = {own}, {}",
            qualified(own, function),
            qualified_name(users_schema)
        )))
        .execute(&mut *tx)
        .await?;
        tracing::info!(function, schema = own, "moved into this service's schema");
    }
    Ok(())
}

async fn function_exists(tx: &mut PgConnection, schema: &str, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = $1 AND p.proname = $2)",
    )
    .bind(schema)
    .bind(name)
    .fetch_one(&mut *tx)
    .await
}

/// The auth-service's schema: where the `users` unqualified names find is, or `None` while
/// there is none.
pub async fn users_schema(tx: &mut PgConnection) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(USERS_SCHEMA)
        .fetch_optional(&mut *tx)
        .await
}

/// Whether this service's migrations table is in `schema`, other than the current one:
/// its tables were moved there, so serving the current schema would start afresh beside
/// them.
pub async fn holds_moved_tables(tx: &mut PgConnection, schema: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT $1 <> current_schema() AND EXISTS \
         (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = '_sqlx_migrations')",
    )
    .bind(schema)
    .fetch_one(&mut *tx)
    .await
}

async fn exists(tx: &mut PgConnection, schema: &str, table: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(TABLE_IN)
        .bind(schema)
        .bind(table)
        .fetch_one(&mut *tx)
        .await
}

async fn set_local_search_path(tx: &mut PgConnection, schema: &str) -> sqlx::Result<()> {
    sqlx::query("SELECT set_config('search_path', quote_ident($1), true)")
        .bind(schema)
        .execute(&mut *tx)
        .await
        .map(drop)
}

/// `schema.table`, each quoted as PostgreSQL needs (the auth-service's schema is any name).
fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", qualified_name(schema), qualified_name(table))
}

fn qualified_name(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_name_is_a_plain_lowercase_identifier() {
        for good in ["user_service", "s2", "_x"] {
            assert!(OwnSchema::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "2s",
            "User_Service",
            "a.b",
            "a;b",
            "\"q\"",
            &"s".repeat(64),
        ] {
            assert!(OwnSchema::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_qualified_name_quotes_each_part() {
        assert_eq!(qualified("public", "badges"), "\"public\".\"badges\"");
        assert_eq!(qualified("a\"b", "t"), "\"a\"\"b\".\"t\"");
    }
}
