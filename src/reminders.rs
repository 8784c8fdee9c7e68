//! The reminder scheduler: `streak.at_risk.v1` at `REMINDER_LOCAL_TIME` in each user's zone,
//! and `partner_streak.at_risk.v1` to a partner who has not checked in when the other has.
//!
//! Each user with goals has a schedule (`reminder_users`): the next local day to handle and
//! the instant of its reminder, kept current across daylight saving by computing it from
//! the local day each time (`domain::reminder`). A pass selects the schedules whose instant
//! came, through an index on it, in batches (`services::reminders`): its cost follows the
//! users due, not the goals held, and a pass with nothing due reads no goal. A reminder goes
//! out once per goal and local day, its key written with its outbox row; after downtime a
//! day still running in the user's zone is reminded of late, and one that ended is skipped.
//!
//! One replica runs a pass at a time: on PostgreSQL the one whose transaction holds the
//! lease row's lock ([`Store::reminder_turn`]), which a replica that dies drops with its
//! connection, so the next pass of another replica takes over; on SQLite the one process.
//! Passes never overlap within a process either. The clock is the service's, so a test sets
//! the time of day and runs a pass itself ([`Reminders::pass`]).
//!
//! A partner's reminder rides on the same schedule: when a user's day is due, their active
//! partnerships are read with it (`services::reminders`), so it goes out at the same local
//! time, late after downtime or skipped alike, and a pass with nothing due reads no
//! partnership either. Its key is (partnership, user, local day).

use std::{sync::Arc, time::Duration};

use tokio::sync::Mutex;

use crate::{
    clock::Clock,
    db::Store,
    domain::reminder::ReminderTime,
    error::AppError,
    services::reminders::{purge_sent, send_due},
    state::Readiness,
};

/// Schedules one batch (transaction) handles.
const BATCH: i64 = 200;
/// How many times as long as a full batch took a pass waits before the next.
const YIELD_PER_BATCH: u32 = 3;
/// How often the keys of reminders sent are purged, at most, and how many days they stay.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
const KEEP_DAYS: u64 = 3;
const PURGE_ROWS: i64 = 5_000;
const PURGE_STATEMENTS: usize = 20;

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    /// Whether this replica had the turn (false: another replica's pass was running).
    pub ran: bool,
    /// Schedules that were due.
    pub due: usize,
    /// Reminders written to the outbox.
    pub sent: usize,
    /// Partners' reminders written to the outbox.
    pub partners_sent: usize,
    /// Local days that ended before any pass came, skipped.
    pub skipped: usize,
}

/// The scheduler of one process: cheap to clone; its passes never overlap.
#[derive(Clone)]
pub struct Reminders {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    readiness: Arc<Readiness>,
    time: ReminderTime,
    one_at_a_time: Mutex<()>,
}

impl Reminders {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        readiness: Arc<Readiness>,
        time: ReminderTime,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                readiness,
                time,
                one_at_a_time: Mutex::new(()),
            }),
        }
    }

    /// One pass at the clock's now: every schedule due, batch after batch, while this
    /// replica has the turn. Returns once they are all handled (tests await it).
    pub async fn pass(&self) -> Result<Pass, AppError> {
        let inner = &*self.inner;
        let _alone = inner.one_at_a_time.lock().await;
        let Some(turn) = inner.store.reminder_turn().await? else {
            return Ok(Pass::default());
        };
        let passed = self.batches().await;
        // Ended before the next pass, which may take the turn on another connection.
        let ended = turn.end().await;
        let pass = passed?;
        ended?;
        Ok(pass)
    }

    /// Every schedule due, batch after batch, with the turn held.
    async fn batches(&self) -> Result<Pass, AppError> {
        let inner = &*self.inner;
        let mut pass = Pass {
            ran: true,
            ..Pass::default()
        };
        loop {
            let started = std::time::Instant::now();
            let batch = send_due(&*inner.store, &*inner.clock, inner.time, BATCH).await?;
            pass.due += batch.due;
            pass.sent += batch.sent;
            pass.partners_sent += batch.partners_sent;
            pass.skipped += batch.skipped;
            if i64::try_from(batch.due).unwrap_or(i64::MAX) < BATCH {
                return Ok(pass);
            }
            // A large pass (a zone's evening) yields three times as long as each batch
            // took, so that it (and the relay publishing what it wrote) takes at most a
            // quarter of a core from the API's requests: tens of thousands of reminders then
            // spread over seconds, not minutes.
            tokio::time::sleep(started.elapsed() * YIELD_PER_BATCH).await;
        }
    }

    /// Runs a pass every `every` until the task is aborted (the server stopping).
    pub async fn run(self, every: Duration) {
        let inner = &*self.inner;
        let mut wait = Duration::from_millis(250);
        while !inner.readiness.is_migrated() {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
        let mut healthy = true;
        let mut purged: Option<std::time::Instant> = None;
        loop {
            let started = std::time::Instant::now();
            match self.pass().await {
                Ok(pass) => {
                    if !healthy {
                        tracing::info!("reminders: passes work again");
                        healthy = true;
                    }
                    if pass.sent > 0 || pass.partners_sent > 0 || pass.skipped > 0 {
                        tracing::info!(
                            due = pass.due,
                            sent = pass.sent,
                            partners_sent = pass.partners_sent,
                            skipped_days = pass.skipped,
                            elapsed_ms = started.elapsed().as_millis(),
                            "reminders: pass done"
                        );
                    }
                }
                Err(error) if healthy => {
                    tracing::warn!(error = %format!("{error:#}"), "reminders: a pass failed; trying again at the next");
                    healthy = false;
                }
                Err(error) => {
                    tracing::debug!(error = %format!("{error:#}"), "reminders: a pass failed again")
                }
            }
            if purged.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                self.purge().await;
                purged = Some(std::time::Instant::now());
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Deletes the keys of reminders for days long over, a bounded number per statement.
    async fn purge(&self) {
        let inner = &*self.inner;
        let mut purged = 0;
        for _ in 0..PURGE_STATEMENTS {
            match purge_sent(&*inner.store, &*inner.clock, KEEP_DAYS, PURGE_ROWS).await {
                Ok(rows) => {
                    purged += rows;
                    if rows < PURGE_ROWS.unsigned_abs() {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "reminders: purging old keys failed");
                    break;
                }
            }
        }
        if purged > 0 {
            tracing::debug!(purged, "reminders: keys of reminders sent days ago deleted");
        }
    }
}
