//! NATS JetStream: a stream created when missing (at the first connection, and again after
//! any failed publish, so a stream deleted while the service runs comes back as RabbitMQ's
//! exchange does), `Nats-Msg-Id` for the server's dedupe, and every publish acknowledged by
//! the stream.

use std::time::Duration;

use async_nats::jetstream::{self, message::PublishMessage, stream};
use async_trait::async_trait;

use super::{CLOUDEVENTS_JSON, Outgoing, Publisher};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Nats {
    url: String,
    stream: String,
    subject_prefix: String,
    /// The client reconnects by itself once connected; only a first connection that failed
    /// is retried here.
    jetstream: Option<jetstream::Context>,
    /// Whether the stream is known to exist: not before it was created, nor after a publish
    /// failed (the stream may have been deleted: "no stream found for given subject").
    stream_exists: bool,
}

impl Nats {
    pub fn new(url: &str, stream: &str, subject_prefix: &str) -> Self {
        Self {
            url: url.to_owned(),
            stream: stream.to_owned(),
            subject_prefix: subject_prefix.to_owned(),
            jetstream: None,
            stream_exists: false,
        }
    }

    /// The context, connected, with the stream created if it is not known to exist.
    async fn context(&mut self) -> anyhow::Result<jetstream::Context> {
        let context = match &self.jetstream {
            Some(context) => context.clone(),
            None => {
                let client = async_nats::ConnectOptions::new()
                    .name("user-service events")
                    .connection_timeout(CONNECT_TIMEOUT)
                    .connect(self.url.as_str())
                    .await?;
                let context = jetstream::new(client);
                self.jetstream = Some(context.clone());
                context
            }
        };
        if !self.stream_exists {
            context
                .get_or_create_stream(stream::Config {
                    name: self.stream.clone(),
                    subjects: vec![format!("{}.>", self.subject_prefix)],
                    ..stream::Config::default()
                })
                .await?;
            tracing::info!(stream = %self.stream, "events: NATS JetStream stream ready");
            self.stream_exists = true;
        }
        Ok(context)
    }

    async fn send(&mut self, batch: &[Outgoing]) -> anyhow::Result<()> {
        let prefix = self.subject_prefix.clone();
        let context = self.context().await?;
        let mut acks = Vec::with_capacity(batch.len());
        for event in batch {
            let message = PublishMessage::build()
                .payload(event.body.clone().into())
                .header("Content-Type", CLOUDEVENTS_JSON)
                .message_id(&event.id);
            acks.push(
                context
                    .send_publish(format!("{prefix}.{}", event.event_type), message)
                    .await?,
            );
        }
        for ack in acks {
            ack.await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Publisher for Nats {
    async fn publish(&mut self, batch: &[Outgoing]) -> anyhow::Result<()> {
        let sent = self.send(batch).await;
        if sent.is_err() {
            self.stream_exists = false;
        }
        sent
    }
}
