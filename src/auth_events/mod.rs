//! The auth-service's user lifecycle events and token revocations, consumed from RabbitMQ
//! (`AMQP_URL`).
//!
//! The auth-service publishes to a durable queue on the default exchange (`user_events`),
//! which this service declares exactly as the auth-service does, so either may start first;
//! dead-lettering is the broker's policy, never a queue argument, which would make the
//! auth-service's own declaration fail. Each message is applied in one transaction
//! ([`crate::services::users::apply`]) and acknowledged only after it commits; while the
//! database is down, or the transaction keeps meeting others (a deadlock, a lock not
//! available), the message waits, unacknowledged, and is tried again with backoff until it
//! applies. A message that cannot be read is rejected without requeue (dead-lettered when a
//! policy gives the queue a dead-letter exchange), logged with its delivery tag and the
//! reason, and the consumer goes on.
//!
//! The broker is optional: unreachable at start or lost later, the consumer reconnects with
//! capped backoff and logs each change of state once, and the HTTP API never waits for it.

pub mod message;

use std::time::Duration;

use futures_util::StreamExt;
use lapin::{
    Channel, Connection, ConnectionProperties,
    message::Delivery,
    options::{
        BasicAckOptions, BasicConsumeOptions, BasicQosOptions, BasicRejectOptions,
        QueueDeclareOptions,
    },
    types::FieldTable,
};

use crate::{error::AppError, metrics, services, state::AppState};

/// Messages the broker sends ahead of the acknowledgements: enough to keep the consumer
/// busy, few enough that a second replica gets its share.
const PREFETCH: u16 = 16;
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// Where the auth-service's events come from.
#[derive(Debug, Clone)]
pub struct Source {
    pub url: String,
    pub queue: String,
}

/// A doubling wait between attempts, from [`FIRST_RETRY`] up to [`LONGEST_RETRY`].
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(FIRST_RETRY)
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.0).await;
        self.0 = (self.0 * 2).min(LONGEST_RETRY);
    }
}

/// Consumes until the task is aborted, reconnecting whenever the broker is out of reach.
pub async fn consume(source: Source, state: AppState) {
    // The schema must be in place before a message is applied.
    let mut backoff = Backoff::new();
    while !state.readiness.is_migrated() {
        backoff.wait().await;
    }
    let mut backoff = Backoff::new();
    let mut connected = None;
    metrics::auth_events_connected(&source.queue, false);
    loop {
        let error = match session(&source, &state, &mut connected).await {
            Ok(()) => anyhow::anyhow!("the broker cancelled the consumer"),
            Err(error) => error,
        };
        let was_connected = connected == Some(true);
        if connected == Some(false) {
            tracing::debug!(error = %format!("{error:#}"), "auth-service events: still out of reach");
        } else {
            tracing::warn!(
                queue = %source.queue,
                error = %format!("{error:#}"),
                "auth-service events: the broker is out of reach; reconnecting"
            );
        }
        connected = Some(false);
        metrics::auth_events_connected(&source.queue, false);
        if was_connected {
            backoff = Backoff::new();
        }
        backoff.wait().await;
    }
}

/// One connection: consumes until the connection or the consumer ends.
async fn session(
    source: &Source,
    state: &AppState,
    connected: &mut Option<bool>,
) -> anyhow::Result<()> {
    let connection = Connection::connect(
        &source.url,
        ConnectionProperties::default().with_connection_name("user-service".into()),
    )
    .await?;
    let channel = declared_queue(&connection, &source.queue).await?;
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let mut deliveries = channel
        .basic_consume(
            source.queue.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(queue = %source.queue, "auth-service events: consuming");
    *connected = Some(true);
    metrics::auth_events_connected(&source.queue, true);
    while let Some(delivery) = deliveries.next().await {
        handle(delivery?, &source.queue, state).await?;
    }
    Ok(())
}

/// A channel on which the queue exists, declared as the auth-service declares it (durable,
/// no arguments): that creates it on a first start, and changes nothing when the
/// auth-service got there first. A queue declared with other arguments (a dead-letter
/// exchange set as a queue argument rather than by a policy) refuses that declaration, as
/// it refuses the auth-service's own; it is then consumed as it is, with a warning. Asking
/// first whether the queue exists would make every first start fail that question, which
/// the broker answers by closing the channel, an error in the AMQP client's log.
async fn declared_queue(connection: &Connection, queue: &str) -> anyhow::Result<Channel> {
    let channel = connection.create_channel().await?;
    let declared = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await;
    let Err(error) = declared else {
        return Ok(channel);
    };
    tracing::warn!(
        queue,
        error = %error,
        "auth-service events: the queue refuses the auth-service's own declaration (durable, \
         no arguments), so its signups cannot be published; consuming it as it is. Set a \
         dead-letter exchange with a policy, not a queue argument"
    );
    // A refused declaration closes its channel.
    let channel = connection.create_channel().await?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await?;
    Ok(channel)
}

/// Applies one message and acknowledges it after the commit, or rejects it without requeue
/// when it can never apply. An error here is the broker's (a lost connection): the message
/// is then redelivered, and its key makes the second application a no-op.
async fn handle(delivery: Delivery, queue: &str, state: &AppState) -> anyhow::Result<()> {
    let tag = delivery.delivery_tag;
    let change = match message::parse(&delivery.data) {
        Ok(change) => change,
        Err(refusal) => {
            tracing::warn!(delivery_tag = tag, reason = %refusal, "auth-service event rejected");
            metrics::auth_event(queue, "unreadable", "rejected");
            delivery
                .reject(BasicRejectOptions { requeue: false })
                .await?;
            return Ok(());
        }
    };
    let message_id = delivery
        .properties
        .message_id()
        .as_ref()
        .map(|id| id.as_str());
    let key = message::key(message_id, &delivery.data);
    let mut backoff = Backoff::new();
    let mut waiting = false;
    loop {
        match services::users::apply(&*state.store, &*state.clock, &key, &change).await {
            Ok(outcome) => {
                tracing::info!(
                    delivery_tag = tag,
                    event_type = change.event_type(),
                    user_id = change.user().map(tracing::field::display),
                    outcome = outcome.as_str(),
                    "auth-service event"
                );
                delivery.ack(BasicAckOptions::default()).await?;
                metrics::auth_event(queue, change.event_type(), outcome.as_str());
                return Ok(());
            }
            // The database out of reach, or still contended after the service's own
            // attempts: the message is not the fault, so it waits, unacknowledged.
            Err(AppError::DatabaseUnavailable(_) | AppError::DatabaseContention(_)) => {
                if !waiting {
                    tracing::warn!(
                        delivery_tag = tag,
                        "auth-service event waits for the database; not acknowledged"
                    );
                    waiting = true;
                }
                backoff.wait().await;
            }
            Err(error) => {
                tracing::error!(
                    delivery_tag = tag,
                    event_type = change.event_type(),
                    user_id = change.user().map(tracing::field::display),
                    error = %error.log_text(),
                    "auth-service event cannot be applied; rejected"
                );
                delivery
                    .reject(BasicRejectOptions { requeue: false })
                    .await?;
                metrics::auth_event(queue, change.event_type(), "rejected");
                return Ok(());
            }
        }
    }
}
