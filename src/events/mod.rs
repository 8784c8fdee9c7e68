//! The platform's events, published from a transactional outbox (`EVENTS_URL`).
//!
//! A write that changes state puts its events in `event_outbox` inside its own transaction
//! ([`crate::db::Tx::announce`]), so no change commits without its events and no event exists
//! without its change. The relay here reads the oldest unpublished rows in batches, wraps
//! each in a CloudEvents 1.0 envelope, publishes the batch to the broker ([`Publisher`]:
//! RabbitMQ or NATS JetStream, chosen by the URL's scheme) and marks the rows published only
//! once the broker confirmed every one. Delivery is therefore at least once: a relay killed
//! between the publish and the mark publishes the same events, with the same ids, again.
//!
//! Order: rows are numbered in commit order per user (see `Tx::hold_user_events`) and a
//! batch goes out in that order. On PostgreSQL one relay publishes at a time, under an
//! advisory lock held for the batch; a replica that dies mid-batch releases it with its
//! connection and another replica takes the same rows.
//!
//! The broker is optional: out of reach at start or later, the API goes on, events wait in
//! the outbox, and the relay retries with capped backoff, logging each change of state once.

pub mod asyncapi;
mod nats;
mod rabbitmq;

use std::time::{Duration, Instant};

use anyhow::bail;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::{
    config::EventsConfig,
    db::{OutboxRow, Store},
    state::AppState,
};

/// The media type of a structured-mode CloudEvent in JSON.
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";
/// Longest a broker may take to confirm a batch before the relay gives up on the connection.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);
/// How often the backlog is reported while there is one.
const REPORT_EVERY: Duration = Duration::from_secs(30);
/// How often published rows past their retention are deleted, at most.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
/// Rows one cleanup statement deletes; a pass runs at most [`CLEANUP_STATEMENTS`] of them,
/// so a cleanup never holds the database for long.
const CLEANUP_ROWS: i64 = 5_000;
const CLEANUP_STATEMENTS: usize = 20;

/// An event ready for the broker.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The CloudEvents `id`: the consumer's dedupe key, the same on every retry.
    pub id: String,
    /// The full CloudEvents `type`: the routing key (RabbitMQ) or subject suffix (NATS).
    pub event_type: String,
    /// The structured-mode CloudEvent, JSON.
    pub body: Vec<u8>,
}

/// A broker that takes batches of events.
#[async_trait]
pub trait Publisher: Send {
    /// Publishes the batch in order; `Ok` only once the broker confirmed every event. An
    /// error leaves the publisher to reconnect on the next call.
    async fn publish(&mut self, batch: &[Outgoing]) -> anyhow::Result<()>;
}

/// The publisher `EVENTS_URL` names; `None` when it is unset.
pub fn publisher(config: &EventsConfig) -> anyhow::Result<Option<Box<dyn Publisher>>> {
    let Some(url) = &config.events_url else {
        return Ok(None);
    };
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    Ok(Some(match scheme {
        "amqp" | "amqps" => Box::new(rabbitmq::RabbitMq::new(url, &config.events_exchange)),
        "nats" | "tls" => Box::new(nats::Nats::new(
            url,
            &config.events_stream,
            &config.events_subject_prefix,
        )),
        _ => bail!("EVENTS_URL must start with amqp://, amqps://, nats:// or tls://"),
    }))
}

/// The envelope's settings.
#[derive(Debug, Clone)]
pub struct Envelope {
    source: String,
    type_prefix: String,
}

#[derive(Serialize)]
struct CloudEvent<'a> {
    specversion: &'static str,
    id: &'a str,
    source: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    subject: String,
    time: DateTime<Utc>,
    datacontenttype: &'static str,
    data: &'a RawValue,
}

impl Envelope {
    pub fn new(config: &EventsConfig) -> Self {
        Self {
            source: config.events_source.clone(),
            type_prefix: config.events_type_prefix.clone(),
        }
    }

    /// The full type of an event named `name` (`goal.completed.v1`).
    pub fn event_type(&self, name: &str) -> String {
        if self.type_prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.type_prefix)
        }
    }

    /// The CloudEvent for an outbox row.
    pub fn wrap(&self, row: &OutboxRow) -> anyhow::Result<Outgoing> {
        let event_type = self.event_type(&row.event_type);
        let data: &RawValue = serde_json::from_str(&row.data)?;
        let body = serde_json::to_vec(&CloudEvent {
            specversion: "1.0",
            id: &row.event_id,
            source: &self.source,
            event_type: &event_type,
            subject: row.user_id.to_string(),
            time: row.occurred_at,
            datacontenttype: "application/json",
            data,
        })?;
        Ok(Outgoing {
            id: row.event_id.clone(),
            event_type,
            body,
        })
    }
}

/// The relay's settings.
#[derive(Debug, Clone)]
pub struct Relay {
    pub envelope: Envelope,
    pub batch: i64,
    pub poll: Duration,
    pub retention: Duration,
}

impl Relay {
    pub fn new(config: &EventsConfig) -> Self {
        Self {
            envelope: Envelope::new(config),
            batch: i64::from(config.events_batch_size),
            poll: Duration::from_millis(config.events_poll_ms.max(1)),
            retention: Duration::from_secs(config.events_retention_hours.saturating_mul(3600)),
        }
    }

    /// Publishes until the task is aborted.
    pub async fn run(self, mut publisher: Box<dyn Publisher>, state: AppState) {
        let mut wait = FIRST_RETRY;
        while !state.readiness.is_migrated() {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(LONGEST_RETRY);
        }
        let store = &*state.store;
        let mut wait = FIRST_RETRY;
        let mut healthy = None;
        let (mut cleaned, mut reported) = (None::<Instant>, Instant::now());
        loop {
            match self.pass(store, &mut *publisher).await {
                Ok(published) => {
                    if healthy != Some(true) {
                        tracing::info!("events: publishing");
                        healthy = Some(true);
                    }
                    wait = FIRST_RETRY;
                    if published == self.batch {
                        continue;
                    }
                    if cleaned.is_none_or(|at| at.elapsed() >= CLEANUP_EVERY.min(self.retention)) {
                        self.clean(store).await;
                        cleaned = Some(Instant::now());
                    }
                    tokio::time::sleep(self.poll).await;
                }
                Err(error) => {
                    if healthy != Some(false) {
                        tracing::warn!(
                            error = %format!("{error:#}"),
                            "events: cannot publish; events wait in the outbox, retrying"
                        );
                        healthy = Some(false);
                    } else {
                        tracing::debug!(error = %format!("{error:#}"), "events: still cannot publish");
                    }
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(LONGEST_RETRY);
                }
            }
            if reported.elapsed() >= REPORT_EVERY {
                report(store).await;
                reported = Instant::now();
            }
        }
    }

    /// One batch: how many events were published.
    async fn pass(&self, store: &dyn Store, publisher: &mut dyn Publisher) -> anyhow::Result<i64> {
        let Some(mut turn) = store.outbox_turn().await? else {
            return Ok(0);
        };
        let rows = turn.pending(self.batch).await?;
        if rows.is_empty() {
            drop(turn);
            // Nothing to send: only (re)connect, so that the log tells whether the broker
            // is reachable before the first event.
            publisher.publish(&[]).await?;
            return Ok(0);
        }
        let batch = rows
            .iter()
            .map(|row| self.envelope.wrap(row))
            .collect::<anyhow::Result<Vec<_>>>()?;
        match tokio::time::timeout(CONFIRM_TIMEOUT, publisher.publish(&batch)).await {
            Ok(published) => published?,
            Err(_) => bail!("the broker did not confirm within {CONFIRM_TIMEOUT:?}"),
        }
        let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
        turn.published(&seqs, Utc::now()).await?;
        Ok(i64::try_from(rows.len()).unwrap_or(i64::MAX))
    }

    /// Deletes published rows past their retention, a bounded number per pass.
    async fn clean(&self, store: &dyn Store) {
        let before = Utc::now() - self.retention;
        let mut deleted = 0;
        for _ in 0..CLEANUP_STATEMENTS {
            match store.purge_outbox(before, CLEANUP_ROWS).await {
                Ok(rows) => {
                    deleted += rows;
                    if rows < CLEANUP_ROWS.unsigned_abs() {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "events: deleting published events failed");
                    break;
                }
            }
        }
        if deleted > 0 {
            tracing::debug!(
                deleted,
                "events: published events past their retention deleted"
            );
        }
    }
}

/// Logs the backlog, when there is one: how many events wait and for how long the oldest.
async fn report(store: &dyn Store) {
    match store.outbox_backlog().await {
        Ok(backlog) if backlog.pending > 0 => {
            let lag = backlog
                .oldest
                .map_or(0, |oldest| (Utc::now() - oldest).num_seconds().max(0));
            tracing::info!(
                pending = backlog.pending,
                lag_secs = lag,
                "events: waiting to be published"
            );
        }
        Ok(_) => {}
        Err(error) => tracing::debug!(error = %error, "events: reading the backlog failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(url: &str) -> EventsConfig {
        EventsConfig {
            events_url: Some(url.into()),
            events_source: "/user-service".into(),
            events_type_prefix: "org.learning.user".into(),
            events_exchange: "user-service.events".into(),
            events_stream: "USER_SERVICE_EVENTS".into(),
            events_subject_prefix: "user-service.events".into(),
            events_retention_hours: 24,
            events_batch_size: 100,
            events_poll_ms: 100,
        }
    }

    #[test]
    fn the_broker_is_chosen_by_the_url_scheme_and_an_unknown_one_is_refused() {
        assert!(publisher(&config("amqp://guest:guest@localhost:5672/%2f")).is_ok());
        assert!(publisher(&config("nats://localhost:4222")).is_ok());
        let refused = publisher(&config("kafka://localhost:9092")).err().unwrap();
        assert!(refused.to_string().contains("EVENTS_URL"), "{refused}");
        let unset = EventsConfig {
            events_url: None,
            ..config("")
        };
        assert!(publisher(&unset).unwrap().is_none());
    }

    #[test]
    fn a_row_is_wrapped_in_a_structured_cloudevent_with_the_user_as_subject() {
        let row = OutboxRow {
            seq: 1,
            event_id: "0b6d1c64-6f0e-4a4f-9a51-8f0b7f3c2a10".into(),
            user_id: 42,
            event_type: "goal.completed.v1".into(),
            data: r#"{"user_id":42,"goal_id":7,"title":"Rust","status":"completed"}"#.into(),
            occurred_at: DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
                .unwrap()
                .to_utc(),
        };
        let outgoing = Envelope::new(&config("nats://x")).wrap(&row).unwrap();
        assert_eq!(outgoing.event_type, "org.learning.user.goal.completed.v1");
        assert_eq!(outgoing.id, row.event_id);
        let event: serde_json::Value = serde_json::from_slice(&outgoing.body).unwrap();
        assert_eq!(
            event,
            serde_json::json!({
                "specversion": "1.0",
                "id": row.event_id,
                "source": "/user-service",
                "type": "org.learning.user.goal.completed.v1",
                "subject": "42",
                "time": "2026-12-01T10:00:00Z",
                "datacontenttype": "application/json",
                "data": {"user_id": 42, "goal_id": 7, "title": "Rust", "status": "completed"},
            })
        );
    }
}
