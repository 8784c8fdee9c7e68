//! Accountability partnerships' reads and writes, the same SQL on both backends but for the
//! row lock PostgreSQL takes on a partnership a write is about to change (SQLite's single
//! writer orders them already). Each write is a fixed number of statements: a check-in
//! reads its goal's active partnerships (at most five) and, for each, the two goals'
//! check-ins of the last few days, never their history.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;

use crate::domain::{
    GoalId, UserId,
    goal::Cadence,
    partnership::{EndReason, PartnershipStatus, SharedRule},
    streak::StreakSummary,
    week::WeekStart,
};

/// A partnership as stored.
#[derive(Debug, Clone, FromRow)]
pub struct PartnershipRow {
    pub id: i64,
    pub inviter_id: Option<UserId>,
    pub invitee_id: Option<UserId>,
    pub inviter_goal_id: Option<GoalId>,
    pub invitee_goal_id: Option<GoalId>,
    pub status: String,
    pub cadence: String,
    pub week_start: String,
    pub inviter_target: i32,
    pub invitee_target: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub started_on: Option<NaiveDate>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub summary: Option<String>,
    pub final_streak: i32,
}

impl PartnershipRow {
    pub fn status(&self) -> PartnershipStatus {
        PartnershipStatus::from_stored(&self.status)
    }

    pub fn end_reason(&self) -> Option<EndReason> {
        self.end_reason.as_deref().map(EndReason::from_stored)
    }

    pub fn cadence(&self) -> Cadence {
        Cadence::parse(&self.cadence).unwrap_or_default()
    }

    /// How its shared streak counts.
    pub fn rule(&self) -> SharedRule {
        match self.cadence() {
            Cadence::Daily => SharedRule::Daily,
            Cadence::Weekly => {
                let target = |t: i32| u32::try_from(t).unwrap_or(1).clamp(1, 7);
                SharedRule::Weekly {
                    week_start: WeekStart::from_stored(&self.week_start),
                    targets: [target(self.inviter_target), target(self.invitee_target)],
                }
            }
        }
    }

    /// The stored shared streak summary (empty before the first shared unit).
    pub fn summary(&self) -> StreakSummary {
        self.summary
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    /// Which side `user` is: 0 the inviter, 1 the invited user; `None` for neither.
    pub fn side_of(&self, user: UserId) -> Option<usize> {
        if self.inviter_id == Some(user) {
            Some(0)
        } else if self.invitee_id == Some(user) {
            Some(1)
        } else {
            None
        }
    }

    pub fn user(&self, side: usize) -> Option<UserId> {
        [self.inviter_id, self.invitee_id][side]
    }

    pub fn goal(&self, side: usize) -> Option<GoalId> {
        [self.inviter_goal_id, self.invitee_goal_id][side]
    }
}

/// A page of a user's partnerships of one status, newest first: ids below `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnershipPage {
    pub status: PartnershipStatus,
    pub before: Option<i64>,
    pub limit: u32,
}

macro_rules! select {
    () => {
        "SELECT id, CAST(inviter_id AS BIGINT) AS inviter_id, \
         CAST(invitee_id AS BIGINT) AS invitee_id, \
         CAST(inviter_goal_id AS BIGINT) AS inviter_goal_id, \
         CAST(invitee_goal_id AS BIGINT) AS invitee_goal_id, status, cadence, week_start, \
         inviter_target, invitee_target, created_at, started_at, started_on, ended_at, \
         end_reason, summary, final_streak FROM partnerships "
    };
}
pub(crate) use select;

pub const PARTNERSHIP: &str = concat!(select!(), "WHERE id = $1");

/// $1 the user, $2 the status, $3 the cursor (an id), $4 the limit: each side's index
/// range, newest first, then the newest of both.
pub const PARTNERSHIPS_OF: &str = concat!(
    select!(),
    "WHERE id IN (SELECT id FROM (SELECT id FROM partnerships \
       WHERE inviter_id = $1 AND status = $2 AND id < $3 ORDER BY id DESC LIMIT $4) AS a \
     UNION ALL SELECT id FROM (SELECT id FROM partnerships \
       WHERE invitee_id = $1 AND status = $2 AND id < $3 ORDER BY id DESC LIMIT $4) AS b) \
     ORDER BY id DESC LIMIT $4"
);

/// Every partnership of a user, for the export.
pub const ALL_PARTNERSHIPS_OF: &str = concat!(
    select!(),
    "WHERE inviter_id = $1 OR invitee_id = $1 ORDER BY id"
);

/// The check-ins of two goals ($1, $2) from a day ($3) on.
pub const RECENT_DATES: &str = "\
    SELECT CAST(goal_id AS BIGINT) AS goal_id, checkin_date FROM goal_checkins \
    WHERE goal_id IN ($1, $2) AND checkin_date >= $3";

pub const GOAL_TITLE: &str = "SELECT title FROM learning_goals WHERE id = $1";

pub const INSERT_PARTNERSHIP: &str = "\
    INSERT INTO partnerships (inviter_id, invitee_id, inviter_goal_id, cadence, week_start, \
      created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

/// Open (pending or active) partnerships on a goal ($1), either side.
pub const OPEN_ON_GOAL: &str = "\
    SELECT (SELECT COUNT(*) FROM partnerships \
            WHERE inviter_goal_id = $1 AND status IN ('pending', 'active')) \
         + (SELECT COUNT(*) FROM partnerships \
            WHERE invitee_goal_id = $1 AND status IN ('pending', 'active'))";

/// An open partnership on the inviter's goal ($1) with the same invited user ($2).
pub const OPEN_WITH: &str = "\
    SELECT EXISTS (SELECT 1 FROM partnerships WHERE inviter_goal_id = $1 AND invitee_id = $2 \
      AND status IN ('pending', 'active'))";

pub const ACTIVATE: &str = "\
    UPDATE partnerships SET status = 'active', invitee_goal_id = $2, week_start = $3, \
      inviter_target = $4, invitee_target = $5, started_on = $6, summary = $7, started_at = $8 \
    WHERE id = $1 AND status = 'pending'";

pub const END: &str = "\
    UPDATE partnerships SET status = 'ended', end_reason = $2, final_streak = $3, ended_at = $4 \
    WHERE id = $1 AND status IN ('pending', 'active')";

pub const SAVE_SUMMARY: &str = "UPDATE partnerships SET summary = $2 WHERE id = $1";

pub const INSERT_NUDGE: &str = "\
    INSERT INTO partnership_nudges (partnership_id, from_user_id, day, nudged_at) \
    VALUES ($1, $2, $3, $4) ON CONFLICT (partnership_id, from_user_id, day) DO NOTHING";

/// Which open partnerships a write locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenOf {
    /// The active ones on a goal (a check-in).
    ActiveOnGoal(GoalId),
    /// The pending and active ones on a goal (its deletion or completion).
    Goal(GoalId),
    /// Those between two users (a block, an unfollow).
    Between(UserId, UserId),
    /// Those of a user (an erasure, a deactivation).
    User(UserId),
}

/// The statements that list open partnerships, each with the backend's row lock appended.
pub fn open_of(of: OpenOf) -> (String, [i64; 2]) {
    let open = "status IN ('pending', 'active')";
    match of {
        OpenOf::ActiveOnGoal(goal) => (
            "WHERE (inviter_goal_id = $1 OR invitee_goal_id = $1) AND status = 'active' \
             AND $2 = $2 ORDER BY id"
                .to_owned(),
            [goal.get(), 0],
        ),
        OpenOf::Goal(goal) => (
            format!(
                "WHERE (inviter_goal_id = $1 OR invitee_goal_id = $1) AND {open} \
                 AND $2 = $2 ORDER BY id"
            ),
            [goal.get(), 0],
        ),
        OpenOf::Between(a, b) => (
            format!(
                "WHERE ((inviter_id = $1 AND invitee_id = $2) \
                 OR (inviter_id = $2 AND invitee_id = $1)) AND {open} ORDER BY id"
            ),
            [a.get(), b.get()],
        ),
        OpenOf::User(user) => (
            format!(
                "WHERE (inviter_id = $1 OR invitee_id = $1) AND {open} AND $2 = $2 ORDER BY id"
            ),
            [user.get(), 0],
        ),
    }
}

/// Erasure of a user ($1), after their open partnerships were ended: their nudges, the
/// partnerships nobody else remains in, their side of the others (the remaining partner
/// keeps the history, with "a former partner"), and the partnership events naming them
/// that wait in the outbox.
pub const ERASE_PARTNERSHIPS: &[&str] = &[
    "DELETE FROM partnership_nudges WHERE from_user_id = $1",
    "DELETE FROM partnerships WHERE (inviter_id = $1 AND (invitee_id IS NULL OR invitee_id = $1)) \
       OR (invitee_id = $1 AND inviter_id IS NULL)",
    "UPDATE partnerships SET inviter_id = NULL, inviter_goal_id = NULL WHERE inviter_id = $1",
    "UPDATE partnerships SET invitee_id = NULL, invitee_goal_id = NULL WHERE invitee_id = $1",
    "DELETE FROM event_outbox WHERE event_type LIKE '%partner%' \
       AND (data LIKE '%\"partner_id\":' || CAST($1 AS TEXT) || ',%' \
         OR data LIKE '%\"from_user_id\":' || CAST($1 AS TEXT) || ',%')",
];

/// Reads outside any transaction.
#[async_trait]
pub trait PartnerReads: Send + Sync + 'static {
    async fn partnership(&self, id: i64) -> sqlx::Result<Option<PartnershipRow>>;
    async fn partnerships_of(
        &self,
        user: UserId,
        page: &PartnershipPage,
    ) -> sqlx::Result<Vec<PartnershipRow>>;
    /// A page's worth of partners, a statement whatever the page's length: the active
    /// users among `users`.
    async fn users_among(&self, users: &[UserId]) -> sqlx::Result<Vec<super::UserRow>>;
    /// The titles of `goals`, and their check-ins from `from` on (none without it).
    async fn goals_among(
        &self,
        goals: &[GoalId],
        from: Option<NaiveDate>,
    ) -> sqlx::Result<GoalsAmong>;
}

/// What [`PartnerReads::goals_among`] read: (goal, title) and (goal, date).
#[derive(Debug, Default)]
pub struct GoalsAmong {
    pub titles: Vec<(GoalId, String)>,
    pub dates: Vec<(GoalId, NaiveDate)>,
}

/// The writes, inside the transaction of [`super::Tx`].
#[async_trait]
pub trait PartnerTx: Send {
    async fn insert_partnership(
        &mut self,
        inviter: UserId,
        invitee: UserId,
        goal: GoalId,
        cadence: Cadence,
        week_start: WeekStart,
        at: DateTime<Utc>,
    ) -> sqlx::Result<i64>;
    /// The partnership, locked for the rest of the transaction.
    async fn lock_partnership(&mut self, id: i64) -> sqlx::Result<Option<PartnershipRow>>;
    /// The open partnerships `of` names, locked, oldest first.
    async fn lock_open_partnerships(&mut self, of: OpenOf) -> sqlx::Result<Vec<PartnershipRow>>;
    async fn open_on_goal(&mut self, goal: GoalId) -> sqlx::Result<i64>;
    async fn open_with(&mut self, goal: GoalId, invitee: UserId) -> sqlx::Result<bool>;
    #[allow(clippy::too_many_arguments)]
    async fn activate_partnership(
        &mut self,
        id: i64,
        goal: GoalId,
        rule: SharedRule,
        started_on: NaiveDate,
        summary: &StreakSummary,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    async fn end_partnership(
        &mut self,
        id: i64,
        reason: EndReason,
        final_streak: u32,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
    async fn save_shared_summary(&mut self, id: i64, summary: &StreakSummary) -> sqlx::Result<()>;
    async fn partner_dates(
        &mut self,
        goals: [Option<GoalId>; 2],
        from: NaiveDate,
    ) -> sqlx::Result<Vec<(GoalId, NaiveDate)>>;
    /// Whether the nudge is new (one per partner, partnership and day).
    async fn insert_nudge(
        &mut self,
        id: i64,
        from: UserId,
        day: NaiveDate,
        at: DateTime<Utc>,
    ) -> sqlx::Result<bool>;
}

/// `impl PartnerReads for $store`, reading from its pool field `$pool`.
macro_rules! impl_partner_reads {
    ($store:ty, $pool:ident) => {
        #[async_trait::async_trait]
        impl $crate::db::partners::PartnerReads for $store {
            async fn partnership(
                &self,
                id: i64,
            ) -> sqlx::Result<Option<$crate::db::partners::PartnershipRow>> {
                sqlx::query_as($crate::db::partners::PARTNERSHIP)
                    .bind(id)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn partnerships_of(
                &self,
                user: $crate::domain::UserId,
                page: &$crate::db::partners::PartnershipPage,
            ) -> sqlx::Result<Vec<$crate::db::partners::PartnershipRow>> {
                sqlx::query_as($crate::db::partners::PARTNERSHIPS_OF)
                    .bind(user)
                    .bind(page.status.as_str())
                    .bind(page.before.unwrap_or(i64::MAX))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn users_among(
                &self,
                users: &[$crate::domain::UserId],
            ) -> sqlx::Result<Vec<$crate::db::UserRow>> {
                let among = &self.common.user_statements()?.among;
                let ids: Vec<i64> = users.iter().map(|u| u.get()).collect();
                sqlx::query_as(sqlx::AssertSqlSafe(among.users.clone()))
                    .bind(serde_json::Value::from(ids).to_string())
                    .fetch_all(&self.$pool)
                    .await
            }

            async fn goals_among(
                &self,
                goals: &[$crate::domain::GoalId],
                from: Option<chrono::NaiveDate>,
            ) -> sqlx::Result<$crate::db::partners::GoalsAmong> {
                let among = &self.common.user_statements()?.among;
                let ids: Vec<i64> = goals.iter().map(|g| g.get()).collect();
                let ids = serde_json::Value::from(ids).to_string();
                let titles = sqlx::query_as(sqlx::AssertSqlSafe(among.goal_titles.clone()))
                    .bind(ids.clone())
                    .fetch_all(&self.$pool)
                    .await?;
                let dates = match from {
                    Some(from) => {
                        sqlx::query_as(sqlx::AssertSqlSafe(among.recent_dates.clone()))
                            .bind(ids)
                            .bind(from)
                            .fetch_all(&self.$pool)
                            .await?
                    }
                    None => Vec::new(),
                };
                Ok($crate::db::partners::GoalsAmong { titles, dates })
            }
        }
    };
}
pub(crate) use impl_partner_reads;

/// `impl PartnerTx for $tx`, whose field `tx` is the open transaction; `$lock` is appended
/// to the statements that lock partnerships (`" FOR UPDATE"`, or nothing).
macro_rules! impl_partner_tx {
    ($tx:ty, lock: $lock:expr) => {
        #[async_trait::async_trait]
        impl $crate::db::partners::PartnerTx for $tx {
            async fn insert_partnership(
                &mut self,
                inviter: $crate::domain::UserId,
                invitee: $crate::domain::UserId,
                goal: $crate::domain::GoalId,
                cadence: $crate::domain::goal::Cadence,
                week_start: $crate::domain::week::WeekStart,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<i64> {
                sqlx::query_scalar($crate::db::partners::INSERT_PARTNERSHIP)
                    .bind(inviter)
                    .bind(invitee)
                    .bind(goal)
                    .bind(cadence.as_str())
                    .bind(week_start.as_str())
                    .bind(at)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn lock_partnership(
                &mut self,
                id: i64,
            ) -> sqlx::Result<Option<$crate::db::partners::PartnershipRow>> {
                let lock: &str = $lock;
                let statement = format!("{}{lock}", $crate::db::partners::PARTNERSHIP);
                sqlx::query_as(sqlx::AssertSqlSafe(statement))
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await
            }

            async fn lock_open_partnerships(
                &mut self,
                of: $crate::db::partners::OpenOf,
            ) -> sqlx::Result<Vec<$crate::db::partners::PartnershipRow>> {
                let lock: &str = $lock;
                let (condition, binds) = $crate::db::partners::open_of(of);
                let statement = format!("{}{condition}{lock}", $crate::db::partners::select!());
                sqlx::query_as(sqlx::AssertSqlSafe(statement))
                    .bind(binds[0])
                    .bind(binds[1])
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn open_on_goal(&mut self, goal: $crate::domain::GoalId) -> sqlx::Result<i64> {
                sqlx::query_scalar($crate::db::partners::OPEN_ON_GOAL)
                    .bind(goal)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn open_with(
                &mut self,
                goal: $crate::domain::GoalId,
                invitee: $crate::domain::UserId,
            ) -> sqlx::Result<bool> {
                sqlx::query_scalar($crate::db::partners::OPEN_WITH)
                    .bind(goal)
                    .bind(invitee)
                    .fetch_one(&mut *self.tx)
                    .await
            }

            async fn activate_partnership(
                &mut self,
                id: i64,
                goal: $crate::domain::GoalId,
                rule: $crate::domain::partnership::SharedRule,
                started_on: chrono::NaiveDate,
                summary: &$crate::domain::streak::StreakSummary,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                let (week_start, targets) = match rule {
                    $crate::domain::partnership::SharedRule::Daily => {
                        ($crate::domain::week::WeekStart::Monday, [1, 1])
                    }
                    $crate::domain::partnership::SharedRule::Weekly {
                        week_start,
                        targets,
                    } => (week_start, targets),
                };
                let summary = serde_json::to_string(summary).expect("a summary serializes");
                Ok(sqlx::query($crate::db::partners::ACTIVATE)
                    .bind(id)
                    .bind(goal)
                    .bind(week_start.as_str())
                    .bind(i64::from(targets[0]))
                    .bind(i64::from(targets[1]))
                    .bind(started_on)
                    .bind(summary)
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn end_partnership(
                &mut self,
                id: i64,
                reason: $crate::domain::partnership::EndReason,
                final_streak: u32,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::partners::END)
                    .bind(id)
                    .bind(reason.as_str())
                    .bind(i64::from(final_streak))
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }

            async fn save_shared_summary(
                &mut self,
                id: i64,
                summary: &$crate::domain::streak::StreakSummary,
            ) -> sqlx::Result<()> {
                let summary = serde_json::to_string(summary).expect("a summary serializes");
                sqlx::query($crate::db::partners::SAVE_SUMMARY)
                    .bind(id)
                    .bind(summary)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn partner_dates(
                &mut self,
                goals: [Option<$crate::domain::GoalId>; 2],
                from: chrono::NaiveDate,
            ) -> sqlx::Result<Vec<($crate::domain::GoalId, chrono::NaiveDate)>> {
                sqlx::query_as($crate::db::partners::RECENT_DATES)
                    .bind(goals[0].map_or(0, |g| g.get()))
                    .bind(goals[1].map_or(0, |g| g.get()))
                    .bind(from)
                    .fetch_all(&mut *self.tx)
                    .await
            }

            async fn insert_nudge(
                &mut self,
                id: i64,
                from: $crate::domain::UserId,
                day: chrono::NaiveDate,
                at: chrono::DateTime<chrono::Utc>,
            ) -> sqlx::Result<bool> {
                Ok(sqlx::query($crate::db::partners::INSERT_NUDGE)
                    .bind(id)
                    .bind(from)
                    .bind(day)
                    .bind(at)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected()
                    > 0)
            }
        }
    };
}
pub(crate) use impl_partner_tx;
