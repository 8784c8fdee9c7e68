//! Reminders' statements (`…095_reminders`, `…101_partner_reminders`): each user's schedule
//! in `reminder_users`, the key of each reminder sent in `reminders_sent` (a partner's in
//! `partner_reminders_sent`), and on PostgreSQL the scheduler's lease. The same SQL on both
//! backends but for the lists of ids a batch reads goals, partnerships and check-ins of (an
//! array on PostgreSQL, a JSON array on SQLite) and the lease (a row lock; SQLite runs one
//! process). Instants are seconds since the epoch, compared as integers on both.

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::{FromRow, types::Json};

use super::{StreakRow, partners::PartnershipRow};
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

/// An active partnership of a due user, with both partners' time zones (`None`: gone).
#[derive(Debug, Clone, FromRow)]
pub struct ReminderPartnershipRow {
    #[sqlx(flatten)]
    pub partnership: PartnershipRow,
    pub inviter_timezone: Option<String>,
    pub invitee_timezone: Option<String>,
}

/// The active partnerships whose inviter or invited user is among $1 (the conditions
/// `$inviter` and `$invitee`), through each side's index on (user, status), with both
/// partners' time zones; `$lock` locks them, so that a partner's erasure, which ends them
/// first, either comes after the batch (and deletes the events it wrote naming them) or
/// before it (and the batch sees them ended).
macro_rules! reminder_partnerships {
    ($inviter:expr, $invitee:expr, $lock:expr) => {
        concat!(
            "SELECT s.*, ua.timezone AS inviter_timezone, ub.timezone AS invitee_timezone \
             FROM (",
            super::partners::select!(),
            "WHERE (status = 'active' AND ",
            $inviter,
            ") OR (status = 'active' AND ",
            $invitee,
            ")",
            $lock,
            ") AS s \
             LEFT JOIN users ua ON ua.id = s.inviter_id \
             LEFT JOIN users ub ON ub.id = s.invitee_id ORDER BY s.id"
        )
    };
}

/// The active partnerships of the users in $1 (an array), locked for share.
pub const PG_REMINDER_PARTNERSHIPS: &str =
    reminder_partnerships!("inviter_id = ANY($1)", "invitee_id = ANY($1)", " FOR SHARE");
/// The same, $1 a JSON array of ids (SQLite's one writer orders the writes already).
pub const SQLITE_REMINDER_PARTNERSHIPS: &str = reminder_partnerships!(
    "inviter_id IN (SELECT value FROM json_each($1))",
    "invitee_id IN (SELECT value FROM json_each($1))",
    ""
);

macro_rules! reminder_checkin_columns {
    () => {
        "SELECT CAST(goal_id AS BIGINT) AS goal_id, checkin_date FROM goal_checkins \
         WHERE checkin_date >= $2 AND goal_id "
    };
}

/// The check-ins of the goals in $1 (an array) from a day ($2) on.
pub const PG_REMINDER_CHECKINS: &str = concat!(reminder_checkin_columns!(), "= ANY($1)");
/// The same, $1 a JSON array of ids.
pub const SQLITE_REMINDER_CHECKINS: &str = concat!(
    reminder_checkin_columns!(),
    "IN (SELECT value FROM json_each($1))"
);

/// A reminder's key ($1 goal, $2 local day): no row when it was sent before (SQLite).
const CLAIM_REMINDER: &str = "\
    INSERT INTO reminders_sent (goal_id, local_date) VALUES ($1, $2) \
    ON CONFLICT (goal_id, local_date) DO NOTHING";

/// A partner's reminder's key ($1 partnership, $2 user, $3 local day): no row when it was
/// sent before (SQLite).
const CLAIM_PARTNER_REMINDER: &str = "\
    INSERT INTO partner_reminders_sent (partnership_id, user_id, local_date) VALUES ($1, $2, $3) \
    ON CONFLICT (partnership_id, user_id, local_date) DO NOTHING";

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

/// Forgets up to $2 partners' reminders sent for days before $1.
pub const PURGE_PARTNER_SENT: &str = "\
    DELETE FROM partner_reminders_sent WHERE (partnership_id, user_id, local_date) IN ( \
      SELECT partnership_id, user_id, local_date FROM partner_reminders_sent \
      WHERE local_date < $1 LIMIT $2)";

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
    /// The active partnerships of `users`, with both partners' time zones.
    async fn reminder_partnerships(
        &mut self,
        users: &[UserId],
    ) -> sqlx::Result<Vec<ReminderPartnershipRow>>;
    /// The check-ins of `goals` from `from` on.
    async fn reminder_checkins(
        &mut self,
        goals: &[GoalId],
        from: NaiveDate,
    ) -> sqlx::Result<Vec<(GoalId, NaiveDate)>>;
    /// Holds these users as their own writes do (see `Store::begin_for`), in the order
    /// of their ids; nothing where the backend's one writer orders every write.
    async fn hold_users(&mut self, users: &[UserId]) -> sqlx::Result<()>;
    /// Records the reminders of these goals for these days: the goals whose reminder had
    /// not been sent before.
    async fn claim_reminders(&mut self, claims: &[(GoalId, NaiveDate)]) -> sqlx::Result<Vec<i64>>;
    /// Records the partners' reminders (partnership, user, day): the (partnership, user)
    /// whose reminder had not been sent before.
    async fn claim_partner_reminders(
        &mut self,
        claims: &[PartnerClaim],
    ) -> sqlx::Result<Vec<(i64, i64)>>;
    /// Moves each schedule on, unless it changed since it was read.
    async fn reschedule(&mut self, moves: &[Move]) -> sqlx::Result<()>;
    /// A user who set a goal is scheduled at the next pass, unless already scheduled (or
    /// opted out).
    async fn schedule_user(&mut self, user: UserId, now: i64) -> sqlx::Result<()>;
    /// A new time zone: the user's schedule, if any and on, made anew at the next pass.
    async fn reschedule_user(&mut self, user: UserId, now: i64) -> sqlx::Result<()>;
    /// The profile's `reminders`: the schedule made anew at the next pass when on.
    async fn set_user_reminders(&mut self, user: UserId, on: bool, now: i64) -> sqlx::Result<()>;
    /// Forgets up to `limit` reminders sent, and up to `limit` partners' reminders sent,
    /// for days before `before`: how many in all.
    async fn purge_reminders_sent(&mut self, before: NaiveDate, limit: i64) -> sqlx::Result<u64>;
}

/// A partner's reminder's key: the partnership, the user it goes to, their local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerClaim {
    pub partnership: i64,
    pub user: UserId,
    pub day: NaiveDate,
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
const PG_CLAIM_PARTNER_REMINDERS: &str = "\
    INSERT INTO partner_reminders_sent (partnership_id, user_id, local_date) \
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::date[]) \
    ON CONFLICT (partnership_id, user_id, local_date) DO NOTHING \
    RETURNING partnership_id, user_id";
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
        .bind(array_ids(users.iter().map(|u| u.get())))
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

pub(super) async fn pg_claim_partners(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    claims: &[PartnerClaim],
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(PG_CLAIM_PARTNER_REMINDERS)
        .bind(claims.iter().map(|c| c.partnership).collect::<Vec<_>>())
        .bind(claims.iter().map(|c| c.user.get()).collect::<Vec<_>>())
        .bind(claims.iter().map(|c| c.day).collect::<Vec<_>>())
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

pub(super) async fn sqlite_claim_partners(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    claims: &[PartnerClaim],
) -> sqlx::Result<Vec<(i64, i64)>> {
    let mut claimed = Vec::with_capacity(claims.len());
    for claim in claims {
        let inserted = sqlx::query(CLAIM_PARTNER_REMINDER)
            .bind(claim.partnership)
            .bind(claim.user)
            .bind(claim.day)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        if inserted > 0 {
            claimed.push((claim.partnership, claim.user.get()));
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
/// statements on `users`; `$goals`, `$partnerships` and `$checkins` read the goals and
/// partnerships of the users, and the check-ins of the goals, whose ids `$bind_ids` binds.
macro_rules! impl_reminder_tx {
    (
        $tx:ty,
        goals: $goals:expr,
        partnerships: $partnerships:expr,
        checkins: $checkins:expr,
        bind_ids: $bind_ids:expr,
        hold_users: $hold_users:path,
        claim: $claim:path,
        claim_partners: $claim_partners:path,
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
                    .bind($bind_ids(users.iter().map(|u| u.get())))
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn reminder_partnerships(
                &mut self,
                users: &[$crate::domain::UserId],
            ) -> sqlx::Result<Vec<$crate::db::reminders::ReminderPartnershipRow>> {
                sqlx::query_as($partnerships)
                    .bind($bind_ids(users.iter().map(|u| u.get())))
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn reminder_checkins(
                &mut self,
                goals: &[$crate::domain::GoalId],
                from: chrono::NaiveDate,
            ) -> sqlx::Result<Vec<($crate::domain::GoalId, chrono::NaiveDate)>> {
                sqlx::query_as($checkins)
                    .bind($bind_ids(goals.iter().map(|g| g.get())))
                    .bind(from)
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

            async fn claim_partner_reminders(
                &mut self,
                claims: &[$crate::db::reminders::PartnerClaim],
            ) -> sqlx::Result<Vec<(i64, i64)>> {
                $claim_partners(&mut self.tx, claims).await
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
                let mut purged = 0;
                for statement in [
                    $crate::db::reminders::PURGE_SENT,
                    $crate::db::reminders::PURGE_PARTNER_SENT,
                ] {
                    purged += sqlx::query(statement)
                        .bind(before)
                        .bind(limit)
                        .execute(&mut *self.tx)
                        .await?
                        .rows_affected();
                }
                Ok(purged)
            }
        }
    };
}
pub(crate) use impl_reminder_tx;

/// The ids as SQLite's `json_each` reads them.
pub fn json_ids(ids: impl Iterator<Item = i64>) -> Json<Vec<i64>> {
    Json(ids.collect())
}

/// The ids as a PostgreSQL array.
pub fn array_ids(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    ids.collect()
}
