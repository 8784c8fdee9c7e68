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
//! One replica runs a batch at a time: on PostgreSQL the one whose transaction holds the
//! lease row's lock ([`Store::reminder_turn`]) for that batch, which a replica that dies
//! drops with its connection, so the next pass of another replica takes over; on SQLite the
//! one process.
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

/// Schedules one batch (transaction) handles: a few, so that a zone's evening is many
/// short bursts beside the API's requests, not a few long ones.
const BATCH: i64 = 20;
/// How many times as long as a full batch took a pass waits before the next, at least.
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
    /// Reminders a second, at most (`REMINDER_RATE`).
    rate: u32,
    one_at_a_time: Mutex<()>,
}

impl Reminders {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        readiness: Arc<Readiness>,
        time: ReminderTime,
        rate: u32,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                clock,
                readiness,
                time,
                rate: rate.max(1),
                one_at_a_time: Mutex::new(()),
            }),
        }
    }

    /// One pass at the clock's now: every schedule due, batch after batch, each while this
    /// replica has the turn. Returns once they are all handled (tests await it). The turn is
    /// taken for each batch, not for the pass: a transaction held open for a paced pass of
    /// a minute would hold a transaction id that long, and keep every table's dead rows
    /// (the outbox's, which the relay reads through, first) from being pruned meanwhile.
    pub async fn pass(&self) -> Result<Pass, AppError> {
        let inner = &*self.inner;
        let _alone = inner.one_at_a_time.lock().await;
        let mut pass = Pass::default();
        loop {
            let Some(turn) = inner.store.reminder_turn().await? else {
                return Ok(pass);
            };
            pass.ran = true;
            let started = std::time::Instant::now();
            let sent = send_due(&*inner.store, &*inner.clock, inner.time, BATCH).await;
            // Ended before the next batch, which may take the turn on another connection.
            let ended = turn.end().await;
            let batch = sent?;
            ended?;
            pass.due += batch.due;
            pass.sent += batch.sent;
            pass.partners_sent += batch.partners_sent;
            pass.skipped += batch.skipped;
            if i64::try_from(batch.due).unwrap_or(i64::MAX) < BATCH {
                return Ok(pass);
            }
            // A large pass (a zone's evening) is paced: at most `rate` reminders a second,
            // and never more than a quarter of a core (it waits at least three times as
            // long as each batch took), so that it, and the relay publishing what it wrote,
            // leave the API's requests their latency: tens of thousands of reminders go
            // out over minutes, late by that much at most.
            let took = started.elapsed();
            let written = u32::try_from(batch.sent + batch.partners_sent).unwrap_or(u32::MAX);
            let paced = Duration::from_secs(1) * written / inner.rate;
            tokio::time::sleep(paced.saturating_sub(took).max(took * YIELD_PER_BATCH)).await;
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
