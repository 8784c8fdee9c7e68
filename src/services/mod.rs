//! The writes the API offers, each one transaction composed from the database's primitives
//! and the domain's rules: the state change, its activity event and the badges it earns
//! commit together or not at all. Routes validate input and shape output; everything
//! between happens here, once for both backends. A write of a user's data holds that user
//! (`Store::begin_for`), so that it is ordered with an erasure of the user, and a
//! transaction the database rolls back for contention is run again whole ([`retry`]).

pub mod badges;
pub mod checkins;
pub mod export;
pub mod goals;
pub mod partners;
pub mod profile;
pub mod reminders;
pub mod social;
pub mod users;

use std::time::Duration;

use crate::{
    db::{Tx, UserRow},
    domain::UserId,
    error::{AppError, AppResult},
};

/// Attempts at a write before a contention is answered 503.
const ATTEMPTS: u32 = 4;
/// The longest wait before the second attempt; it doubles before each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// Runs a write's transaction again, whole, while the database rolls it back for contention
/// (a deadlock, a serialization failure, a lock not available): at most [`ATTEMPTS`] times,
/// each after a random wait below a ceiling that doubles, so that the transactions that met
/// do not meet again in step. The last contention is the caller's, a 503.
pub(crate) async fn retry<T, F: Future<Output = AppResult<T>>>(
    mut attempt: impl FnMut() -> F,
) -> AppResult<T> {
    let mut ceiling = FIRST_BACKOFF;
    for _ in 1..ATTEMPTS {
        match attempt().await {
            Err(AppError::DatabaseContention(cause)) => {
                tracing::debug!(error = %cause, "write rolled back for contention; trying again");
                tokio::time::sleep(ceiling.mul_f64(rand::random::<f64>())).await;
                ceiling *= 2;
            }
            done => return done,
        }
    }
    attempt().await
}

/// The user a write is for: 404 for one who is deactivated, answered exactly as for one
/// who does not exist, so a write reveals neither.
pub(crate) async fn active_user(tx: &mut dyn Tx, user: UserId) -> AppResult<UserRow> {
    tx.user(user)
        .await?
        .ok_or_else(|| AppError::not_found("the user"))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_contention_is_tried_again_a_bounded_number_of_times() {
        let tries = AtomicU32::new(0);
        let answer: AppResult<()> = retry(|| async {
            tries.fetch_add(1, Ordering::Relaxed);
            Err(AppError::DatabaseContention("deadlock detected".into()))
        })
        .await;
        assert!(matches!(answer, Err(AppError::DatabaseContention(_))));
        assert_eq!(tries.load(Ordering::Relaxed), ATTEMPTS);
    }

    #[tokio::test]
    async fn a_write_that_succeeds_on_a_later_attempt_is_answered_with_it() {
        let tries = AtomicU32::new(0);
        let answer = retry(|| async {
            match tries.fetch_add(1, Ordering::Relaxed) {
                0 => Err(AppError::DatabaseContention("serialization failure".into())),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(answer.unwrap(), 1);
    }

    #[tokio::test]
    async fn other_failures_are_not_tried_again() {
        let tries = AtomicU32::new(0);
        let answer: AppResult<()> = retry(|| async {
            tries.fetch_add(1, Ordering::Relaxed);
            Err(AppError::DatabaseUnavailable("connection refused".into()))
        })
        .await;
        assert!(matches!(answer, Err(AppError::DatabaseUnavailable(_))));
        assert_eq!(tries.load(Ordering::Relaxed), 1);
    }
}
