//! The export's hourly limit: starting an export records it in `export_runs`, in a write
//! transaction that holds the user (so it is ordered with their erasure, and finds no user
//! after it).

use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    clock::Clock,
    db::{Hold, Store},
    domain::UserId,
    error::AppResult,
    services::{active_user, retry},
};

/// One export per user in this long.
pub const EXPORT_INTERVAL: TimeDelta = TimeDelta::hours(1);

/// Whether an export may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Recorded: it may.
    Started,
    /// The last one started less than an hour ago: the whole seconds left (at least 1).
    TooSoon { retry_after_secs: u64 },
}

/// Records that `user` starts an export now, unless their last one started less than
/// [`EXPORT_INTERVAL`] ago. 404 for a user who does not exist or is deactivated.
pub async fn start(store: &dyn Store, clock: &dyn Clock, user: UserId) -> AppResult<Start> {
    retry(|| start_once(store, clock.now(), user)).await
}

async fn start_once(store: &dyn Store, now: DateTime<Utc>, user: UserId) -> AppResult<Start> {
    let mut tx = store.begin_for(user, Hold::Write).await?;
    active_user(&mut *tx, user).await?;
    let last = tx
        .claim_export_run(user, now, now - EXPORT_INTERVAL)
        .await?;
    tx.commit().await?;
    Ok(match last {
        None => Start::Started,
        Some(last) => Start::TooSoon {
            retry_after_secs: seconds_left(last + EXPORT_INTERVAL - now),
        },
    })
}

/// Whole seconds, rounded up, and at least one.
fn seconds_left(left: TimeDelta) -> u64 {
    let millis = u64::try_from(left.num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seconds_left_are_rounded_up_and_never_zero() {
        assert_eq!(seconds_left(TimeDelta::milliseconds(1)), 1);
        assert_eq!(seconds_left(TimeDelta::milliseconds(1500)), 2);
        assert_eq!(seconds_left(TimeDelta::seconds(3600)), 3600);
        assert_eq!(seconds_left(TimeDelta::seconds(-5)), 1);
    }
}
