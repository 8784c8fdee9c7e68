//! The reads behind badge credentials (`crate::credentials`): an award with its status
//! index, and the revocation status lists.
//!
//! Status indexes live in `credential_status` (migrations `…061_credential_status`), one row
//! per award ever made: its index and whether it is revoked, and nothing that names the
//! user. The database keeps it by itself: an award takes the next index (PostgreSQL: a
//! sequence default; SQLite: a trigger), and a trigger on `user_badges` marks the index
//! revoked whenever the award row goes, however it goes: a revocation, an erasure, the
//! auth-service deleting its user row (the cascade), a catalog entry removed. So the bit
//! survives the erasure of the user, while nothing links it to them any more.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::domain::{
    UserId,
    visibility::{self, Access},
};

/// An award as its credential shows it: the catalog entry, when, and its status index.
#[derive(Debug, Clone, FromRow)]
pub struct CredentialAward {
    pub user_id: UserId,
    pub code: String,
    pub name: String,
    pub description: String,
    pub criteria: String,
    pub icon_url: Option<String>,
    pub awarded_at: DateTime<Utc>,
    pub status_index: i64,
}

/// One award of a user, by badge code ($1 the user, $2 the code).
pub const CREDENTIAL_AWARD: &str = "\
    SELECT ub.user_id, b.code, b.name, b.description, b.criteria, b.icon_url, ub.awarded_at, \
      ub.status_index \
    FROM user_badges ub JOIN badges b ON b.code = ub.badge_code \
    WHERE ub.user_id = $1 AND ub.badge_code = $2";

/// The revoked status indexes from $1 to before $2, from the partial index of revoked ones.
pub const REVOKED_STATUSES: &str = "\
    SELECT status_index FROM credential_status \
    WHERE revoked AND status_index >= $1 AND status_index < $2 ORDER BY status_index";

pub const LAST_STATUS_INDEX: &str = "SELECT max(status_index) FROM credential_status";

/// A status list as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRows {
    /// The highest status index given out so far, if any.
    pub last_index: Option<i64>,
    /// The revoked indexes of the range asked for, in order.
    pub revoked: Vec<i64>,
}

/// Queries outside any transaction, as [`super::Reads`].
#[async_trait]
pub trait CredentialReads: Send + Sync + 'static {
    /// The award of `code` to the user `access` names, if they hold it.
    async fn credential_award(
        &self,
        access: &Access<visibility::Badges>,
        code: &str,
    ) -> sqlx::Result<Option<CredentialAward>>;

    /// The revoked status indexes in `first..end`, with the highest index given out.
    async fn status_list(&self, first: i64, end: i64) -> sqlx::Result<StatusListRows>;
}

/// `impl CredentialReads for $store`, reading from its pool field `$pool`.
macro_rules! impl_credential_reads {
    ($store:ty, $pool:ident) => {
        #[async_trait::async_trait]
        impl $crate::db::credentials::CredentialReads for $store {
            async fn credential_award(
                &self,
                access: &$crate::domain::visibility::Access<$crate::domain::visibility::Badges>,
                code: &str,
            ) -> sqlx::Result<Option<$crate::db::credentials::CredentialAward>> {
                sqlx::query_as($crate::db::credentials::CREDENTIAL_AWARD)
                    .bind(access.user())
                    .bind(code)
                    .fetch_optional(&self.$pool)
                    .await
            }

            async fn status_list(
                &self,
                first: i64,
                end: i64,
            ) -> sqlx::Result<$crate::db::credentials::StatusListRows> {
                // One connection for both statements: one checkout, one release.
                let mut conn = self.$pool.acquire().await?;
                let last_index = sqlx::query_scalar($crate::db::credentials::LAST_STATUS_INDEX)
                    .fetch_one(&mut *conn)
                    .await?;
                let revoked = sqlx::query_scalar($crate::db::credentials::REVOKED_STATUSES)
                    .bind(first)
                    .bind(end)
                    .fetch_all(&mut *conn)
                    .await?;
                Ok($crate::db::credentials::StatusListRows {
                    last_index,
                    revoked,
                })
            }
        }
    };
}
pub(crate) use impl_credential_reads;
