//! Reminders' statements (`…095_reminders`): each user's schedule in `reminder_users`, the
//! key of each reminder sent in `reminders_sent`, and on PostgreSQL the scheduler's lease.
//! The same SQL on both backends but for the list of users a batch reads goals of (an array
//! on PostgreSQL, a JSON array on SQLite) and the lease (a row lock; SQLite runs one
//! process). Instants are seconds since the epoch, compared as integers on both.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::{FromRow, types::Json};

use super::StreakRow;
use crate::domain::{GoalId, UserId, goal::Cadence};

/// A user's schedule whose instant came, with what deciding needs of the user.
#[derive(Debug, Clone, FromRow)]
pub struct DueRow {
    pub user_id: UserId,
    pub next_date: Option<NaiveDate>,
    pub next_at: i64,
    pub timezone: String,
    pub week_start: String,
    /// A deactivated user's schedule moves on without sending anything.
    pub active: bool,
}

/// A goal a reminder may be about: in progress, with reminders on.
#[derive(Debug, Clone, FromRow)]
pub struct ReminderGoalRow {
    pub id: GoalId,
    pub user_id: UserId,
    #[sqlx(try_from = "String")]
    pub cadence: Cadence,
    pub days_per_week: Option<i32>,
    #[sqlx(flatten)]
    pub streak: StreakRow,
}

/// The schedules due at $1, earliest first, at most $2; built with the users table's
/// condition for an active user (see `users_table`).
pub fn due_statement(active: &str) -> String {
    format!(
        "SELECT CAST(r.user_id AS BIGINT) AS user_id, r.next_date, r.next_at, u.timezone, \
         u.week_start, {active} AS active \
         FROM reminder_users r JOIN users u ON u.id = r.user_id \
         WHERE r.next_at IS NOT NULL AND r.next_at <= $1 ORDER BY r.next_at LIMIT $2"
    )
}

macro_rules! reminder_goal_columns {
    () => {
        "SELECT id, user_id, cadence, days_per_week, last_checkin_date, streak_run, \
         longest_streak, freezes_held, frozen_dates, streak_week_days FROM learning_goals \
         WHERE status = 'in-progress' AND reminders AND user_id "
    };
}

/// The goals of the users in $1 (an array) a reminder may be about.
pub const PG_REMINDER_GOALS: &str = concat!(reminder_goal_columns!(), "= ANY($1)");
/// The same, $1 a JSON array of ids.
pub const SQLITE_REMINDER_GOALS: &str = concat!(
    reminder_goal_columns!(),
    "IN (SELECT value FROM json_each($1))"
);

/// A reminder's key ($1 goal, $2 local day): no row when it was sent before (SQLite).
const CLAIM_REMINDER: &str = "\
    INSERT INTO reminders_sent (goal_id, local_date) VALUES ($1, $2) \
    ON CONFLICT (goal_id, local_date) DO NOTHING";

/// The schedule moves on ($2 day, $3 instant) (SQLite), unless it changed since it was read as
/// ($4 day, $5 instant): a new time zone or an opt-out while the pass ran wins.
const RESCHEDULE: &str = "\
    UPDATE reminder_users SET next_date = $2, next_at = $3 \
    WHERE user_id = $1 AND next_date IS NOT DISTINCT FROM $4 AND next_at = $5";

/// A user with goals is scheduled (at the next pass, from $2), unless a row says otherwise.
pub const SCHEDULE_USER: &str = "\
    INSERT INTO reminder_users (user_id, enabled, next_date, next_at) VALUES ($1, TRUE, NULL, $2) \
    ON CONFLICT (user_id) DO NOTHING";

/// The profile's `reminders` ($2) set, the schedule made anew at the next pass (from $3)
/// when on: also after a change of time zone.
pub const SET_USER_REMINDERS: &str = "\
    INSERT INTO reminder_users (user_id, enabled, next_date, next_at) \
    VALUES ($1, $2, NULL, CASE WHEN $2 THEN $3 ELSE NULL END) \
    ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, next_date = NULL, \
      next_at = excluded.next_at";

/// A user's schedule made anew at the next pass (from $2), when they have one and it is on:
/// after a change of time zone.
pub const RESCHEDULE_USER: &str = "\
    UPDATE reminder_users SET next_date = NULL, next_at = $2 WHERE user_id = $1 AND enabled";

/// Forgets up to $2 reminders sent for days before $1.
pub const PURGE_SENT: &str = "\
    DELETE FROM reminders_sent WHERE (goal_id, local_date) IN ( \
      SELECT goal_id, local_date FROM reminders_sent WHERE local_date < $1 LIMIT $2)";

/// PostgreSQL: the scheduler's turn, a lock on the lease row held by its transaction for
/// the pass; none while another replica's pass holds it.
pub const PG_TAKE_LEASE: &str =
    "SELECT name FROM reminder_lease WHERE name = 'reminders' FOR UPDATE SKIP LOCKED";

/// The writes and reads of a reminder pass, and the schedule's upkeep by other writes.
#[async_trait]
pub trait ReminderTx: Send {
    /// The schedules due at `now` (seconds), earliest first, at most `limit`.
    async fn due_reminders(&mut self, now: i64, limit: i64) -> sqlx::Result<Vec<DueRow>>;
    /// The goals of `users` a reminder may be about (in progress, reminders on).
    async fn reminder_goals(&mut self, users: &[UserId]) -> sqlx::Result<Vec<ReminderGoalRow>>;
    /// Holds these users as their own writes do (see `Store::begin_for`), in the order
    /// of their ids; nothing where the backend's one writer orders every write.
    async fn hold_users(&mut self, users: &[UserId]) -> sqlx::Result<()>;
    /// Records the reminders of these goals for these days: the goals whose reminder had
    /// not been sent before.
    async fn claim_reminders(&mut self, claims: &[(GoalId, NaiveDate)]) -> sqlx::Result<Vec<i64>>;
    /// Moves each schedule on, unless it changed since it was read.
    async fn reschedule(&mut self, moves: &[Move]) -> sqlx::Result<()>;
    /// A user who set a goal is scheduled at the next pass, unless already scheduled (or
    /// opted out).
    async fn schedule_user(&mut self, user: UserId, now: i64) -> sqlx::Result<()>;
    /// A new time zone: the user's schedule, if any and on, made anew at the next pass.
    async fn reschedule_user(&mut self, user: UserId, now: i64) -> sqlx::Result<()>;
    /// The profile's `reminders`: the schedule made anew at the next pass when on.
    async fn set_user_reminders(&mut self, user: UserId, on: bool, now: i64) -> sqlx::Result<()>;
    /// Forgets up to `limit` reminders sent for days before `before`: how many.
    async fn purge_reminders_sent(&mut self, before: NaiveDate, limit: i64) -> sqlx::Result<u64>;
}

/// A schedule moved on: read as `(was_day, was_at)`, now `(day, at)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub user: UserId,
    pub was_day: Option<NaiveDate>,
    pub was_at: i64,
    pub day: NaiveDate,
    pub at: i64,
}

/// PostgreSQL, one statement each whatever the batch's size: the users' holds (the sorted
/// subquery feeds the aggregate in the order of the ids), the keys, the schedules moved on.
const PG_HOLD_USERS: &str = "\
    SELECT COUNT(pg_advisory_xact_lock_shared(7322149, hashint8(u))) \
    FROM (SELECT u FROM unnest($1::bigint[]) AS t (u) ORDER BY u) AS s";
const PG_CLAIM_REMINDERS: &str = "\
    INSERT INTO reminders_sent (goal_id, local_date) \
    SELECT * FROM unnest($1::bigint[], $2::date[]) \
    ON CONFLICT (goal_id, local_date) DO NOTHING RETURNING goal_id";
const PG_RESCHEDULE: &str = "\
    UPDATE reminder_users r SET next_date = m.day, next_at = m.at \
    FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::date[], $5::bigint[]) \
      AS m (user_id, was_day, was_at, day, at) \
    WHERE r.user_id = m.user_id AND r.next_date IS NOT DISTINCT FROM m.was_day \
      AND r.next_at = m.was_at";

pub(super) async fn pg_hold_users(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    users: &[UserId],
) -> sqlx::Result<()> {
    sqlx::query(PG_HOLD_USERS)
        .bind(array_ids(users))
        .execute(&mut **tx)
        .await
        .map(drop)
}

pub(super) async fn pg_claim(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    claims: &[(GoalId, NaiveDate)],
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(PG_CLAIM_REMINDERS)
        .bind(claims.iter().map(|c| c.0.get()).collect::<Vec<_>>())
        .bind(claims.iter().map(|c| c.1).collect::<Vec<_>>())
        .fetch_all(&mut **tx)
        .await
}

pub(super) async fn pg_reschedule(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    moves: &[Move],
) -> sqlx::Result<()> {
    sqlx::query(PG_RESCHEDULE)
        .bind(moves.iter().map(|m| m.user.get()).collect::<Vec<_>>())
        .bind(moves.iter().map(|m| m.was_day).collect::<Vec<_>>())
        .bind(moves.iter().map(|m| m.was_at).collect::<Vec<_>>())
        .bind(moves.iter().map(|m| m.day).collect::<Vec<_>>())
        .bind(moves.iter().map(|m| m.at).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// SQLite's one writer orders every write: nothing to hold.
pub(super) async fn sqlite_hold_users(
    _tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    _users: &[UserId],
) -> sqlx::Result<()> {
    Ok(())
}

/// SQLite runs in the process: a statement per key costs no round trip.
pub(super) async fn sqlite_claim(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    claims: &[(GoalId, NaiveDate)],
) -> sqlx::Result<Vec<i64>> {
    let mut claimed = Vec::with_capacity(claims.len());
    for &(goal, day) in claims {
        let inserted = sqlx::query(CLAIM_REMINDER)
            .bind(goal)
            .bind(day)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if inserted > 0 {
            claimed.push(goal.get());
        }
    }
    Ok(claimed)
}

pub(super) async fn sqlite_reschedule(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    moves: &[Move],
) -> sqlx::Result<()> {
    for m in moves {
        sqlx::query(RESCHEDULE)
            .bind(m.user)
            .bind(m.day)
            .bind(m.at)
            .bind(m.was_day)
            .bind(m.was_at)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `impl ReminderTx for $tx`, whose field `tx` is the open transaction and `users` its
/// statements on `users`; `$goals` reads the goals of the users bound by `$bind_users`.
macro_rules! impl_reminder_tx {
    (
        $tx:ty,
        goals: $goals:expr,
        bind_users: $bind_users:expr,
        hold_users: $hold_users:path,
        claim: $claim:path,
        reschedule: $reschedule:path
    ) => {
        #[async_trait::async_trait]
        impl $crate::db::reminders::ReminderTx for $tx {
            async fn due_reminders(
                &mut self,
                now: i64,
                limit: i64,
            ) -> sqlx::Result<Vec<$crate::db::reminders::DueRow>> {
                sqlx::query_as(sqlx::AssertSqlSafe(self.users.reminders_due.clone()))
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn reminder_goals(
                &mut self,
                users: &[$crate::domain::UserId],
            ) -> sqlx::Result<Vec<$crate::db::reminders::ReminderGoalRow>> {
                sqlx::query_as($goals)
                    .bind($bind_users(users))
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn hold_users(&mut self, users: &[$crate::domain::UserId]) -> sqlx::Result<()> {
                $hold_users(&mut self.tx, users).await
            }

            async fn claim_reminders(
                &mut self,
                claims: &[($crate::domain::GoalId, chrono::NaiveDate)],
            ) -> sqlx::Result<Vec<i64>> {
                $claim(&mut self.tx, claims).await
            }

            async fn reschedule(
                &mut self,
                moves: &[$crate::db::reminders::Move],
            ) -> sqlx::Result<()> {
                $reschedule(&mut self.tx, moves).await
            }

            async fn schedule_user(
                &mut self,
                user: $crate::domain::UserId,
                now: i64,
            ) -> sqlx::Result<()> {
                sqlx::query($crate::db::reminders::SCHEDULE_USER)
                    .bind(user)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn reschedule_user(
                &mut self,
                user: $crate::domain::UserId,
                now: i64,
            ) -> sqlx::Result<()> {
                sqlx::query($crate::db::reminders::RESCHEDULE_USER)
                    .bind(user)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn set_user_reminders(
                &mut self,
                user: $crate::domain::UserId,
                on: bool,
                now: i64,
            ) -> sqlx::Result<()> {
                sqlx::query($crate::db::reminders::SET_USER_REMINDERS)
                    .bind(user)
                    .bind(on)
                    .bind(now)
                    .execute(&mut *self.tx)
                    .await
                    .map(drop)
            }

            async fn purge_reminders_sent(
                &mut self,
                before: chrono::NaiveDate,
                limit: i64,
            ) -> sqlx::Result<u64> {
                Ok(sqlx::query($crate::db::reminders::PURGE_SENT)
                    .bind(before)
                    .bind(limit)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected())
            }
        }
    };
}
pub(crate) use impl_reminder_tx;

/// The ids as SQLite's `json_each` reads them.
pub fn json_ids(users: &[UserId]) -> Json<Vec<i64>> {
    Json(users.iter().map(|u| u.get()).collect())
}

/// The ids as a PostgreSQL array.
pub fn array_ids(users: &[UserId]) -> Vec<i64> {
    users.iter().map(|u| u.get()).collect()
}
