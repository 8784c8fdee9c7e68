//! The home feed's fan-out: moves each newly recorded event of a user with followers into
//! their followers' timelines (`feed_items`), off the write path. A write only notes its
//! event as pending (a trigger, see `…081_timelines`), so a check-in costs the same at any
//! follower count; a feed read takes the pending events too, so nothing waits for this
//! task to show. Several replicas share the queue (each batch is taken with `SKIP
//! LOCKED`); a failure is logged, backed off and retried, and never reaches the HTTP API.

use std::time::Duration;

use crate::state::AppState;

/// Events taken in one transaction.
const BATCH: i64 = 200;
/// How often an idle task looks for pending events.
const IDLE: Duration = Duration::from_millis(100);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// Fans out until the task is aborted.
pub async fn run(state: AppState, max_followers: i64) {
    let mut wait = FIRST_RETRY;
    let mut failing = false;
    loop {
        if !state.readiness.is_migrated() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        match state.store.fan_out(BATCH, max_followers).await {
            Ok(taken) => {
                if failing {
                    tracing::info!("feed fan-out: working again");
                    failing = false;
                }
                wait = FIRST_RETRY;
                if taken < BATCH as usize {
                    tokio::time::sleep(IDLE).await;
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %err, "feed fan-out failed; feeds read the pending events meanwhile, retrying");
                    failing = true;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(LONGEST_RETRY);
            }
        }
    }
}
