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

/// A reminder's key ($1 goal, $2 local day): no row when it was sent before.
pub const CLAIM_REMINDER: &str = "\
    INSERT INTO reminders_sent (goal_id, local_date) VALUES ($1, $2) \
    ON CONFLICT (goal_id, local_date) DO NOTHING";

/// The schedule moves on ($2 day, $3 instant), unless it changed since it was read as
/// ($4 day, $5 instant): a new time zone or an opt-out while the pass ran wins.
pub const RESCHEDULE: &str = "\
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
    /// Records the reminder of `goal` for `day`: false when it was sent before.
    async fn claim_reminder(&mut self, goal: GoalId, day: NaiveDate) -> sqlx::Result<bool>;
    /// Moves a schedule read as `(was_day, was_at)` on to `(day, at)`: whether it was
    /// still as read.
    async fn reschedule(
        &mut self,
        user: UserId,
        was: (Option<NaiveDate>, i64),
        day: NaiveDate,
        at: i64,
    ) -> sqlx::Result<bool>;
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

/// `impl ReminderTx for $tx`, whose field `tx` is the open transaction and `users` its
/// statements on `users`; `$goals` reads the goals of the users bound by `$bind_users`.
macro_rules! impl_reminder_tx {
    ($tx:ty, goals: $goals:expr, bind_users: $bind_users:expr) => {
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

            async fn claim_reminder(
                &mut self,
                goal: $crate::domain::GoalId,
                day: chrono::NaiveDate,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::reminders::CLAIM_REMINDER)
                    .bind(goal)
                    .bind(day)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn reschedule(
                &mut self,
                user: $crate::domain::UserId,
                was: (Option<chrono::NaiveDate>, i64),
                day: chrono::NaiveDate,
                at: i64,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::reminders::RESCHEDULE)
                    .bind(user)
                    .bind(day)
                    .bind(at)
                    .bind(was.0)
                    .bind(was.1)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
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
