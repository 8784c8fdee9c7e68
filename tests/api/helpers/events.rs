//! The platform's side of events: a consumer on the machine's RabbitMQ or NATS JetStream,
//! each test on an exchange or stream of its own (deleted when the kit is dropped), reading
//! what a consumer of this service would receive.

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use lapin::{
    Connection, ConnectionProperties, ExchangeKind,
    options::{
        BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, ExchangeDeleteOptions,
        QueueBindOptions, QueueDeclareOptions,
    },
    types::FieldTable,
};
use serde_json::Value;
use user_service::config::EventsConfig;

use super::{
    TestApp, after_the_test, eventually,
    rabbitmq::{AMQP_URL, Proxy},
};

/// Waits until every event in `app`'s outbox is marked published.
pub async fn all_marked_published(app: &TestApp) {
    eventually("every event marked published", || async {
        let unpublished = app
            .db
            .scalar("SELECT COUNT(*) FROM event_outbox WHERE published_at IS NULL")
            .await;
        (unpublished == 0).then_some(())
    })
    .await;
}

pub const NATS_URL: &str = "nats://127.0.0.1:4222";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    RabbitMq,
    Nats,
}

/// An event as a consumer received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// The structured-mode CloudEvent.
    pub event: Value,
    /// The broker's message id: AMQP `message_id`, or NATS `Nats-Msg-Id`.
    pub message_id: String,
    /// The AMQP routing key, or the NATS subject.
    pub route: String,
    pub content_type: String,
    /// AMQP only: whether the message was sent persistent.
    pub persistent: Option<bool>,
}

impl Received {
    pub fn id(&self) -> &str {
        self.event["id"].as_str().expect("an id")
    }

    /// The type without the default prefix: `goal.completed.v1`.
    pub fn kind(&self) -> &str {
        let full = self.event["type"].as_str().expect("a type");
        full.strip_prefix("org.learning.user.").unwrap_or(full)
    }

    pub fn data(&self) -> &Value {
        &self.event["data"]
    }
}

enum Inbox {
    RabbitMq {
        consumer: lapin::Consumer,
        channel: lapin::Channel,
        _connection: Connection,
    },
    Nats {
        context: jetstream::Context,
        messages: Option<consumer::pull::Stream>,
    },
}

/// A consumer of one test's events.
pub struct Subscriber {
    pub bus: Bus,
    /// The exchange (RabbitMQ) or stream (NATS) of this test.
    pub name: String,
    /// NATS: the subject prefix of this test.
    pub subjects: String,
    inbox: Inbox,
}

fn required(what: &str, err: impl std::fmt::Display) -> Option<Subscriber> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {what} is not reachable: {err}")
    }
    eprintln!("SKIPPED: {what} not reachable ({err})");
    None
}

impl Subscriber {
    /// A consumer on a fresh exchange or stream. On RabbitMQ the exchange and a queue bound
    /// to every routing key exist before the service publishes; on NATS the service creates
    /// the stream and the consumer reads it from its first message.
    pub async fn start(bus: Bus) -> Option<Self> {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        match bus {
            Bus::RabbitMq => {
                let connection =
                    match Connection::connect(AMQP_URL, ConnectionProperties::default()).await {
                        Ok(connection) => connection,
                        Err(err) => return required("RabbitMQ", err),
                    };
                let channel = connection.create_channel().await.expect("a channel");
                let name = format!("test-events-{tag}");
                let durable = ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                };
                channel
                    .exchange_declare(
                        name.as_str().into(),
                        ExchangeKind::Topic,
                        durable,
                        FieldTable::default(),
                    )
                    .await
                    .expect("exchange declared");
                let queue = channel
                    .queue_declare(
                        "".into(),
                        QueueDeclareOptions {
                            exclusive: true,
                            auto_delete: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await
                    .expect("queue declared");
                channel
                    .queue_bind(
                        queue.name().clone(),
                        name.as_str().into(),
                        "#".into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .expect("queue bound");
                let consumer = channel
                    .basic_consume(
                        queue.name().clone(),
                        "".into(),
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await
                    .expect("consuming");
                Some(Self {
                    bus,
                    name,
                    subjects: String::new(),
                    inbox: Inbox::RabbitMq {
                        consumer,
                        channel,
                        _connection: connection,
                    },
                })
            }
            Bus::Nats => {
                let client = match async_nats::connect(NATS_URL).await {
                    Ok(client) => client,
                    Err(err) => return required("NATS", err),
                };
                Some(Self {
                    bus,
                    name: format!("TEST_EVENTS_{tag}"),
                    subjects: format!("test-events-{tag}"),
                    inbox: Inbox::Nats {
                        context: jetstream::new(client),
                        messages: None,
                    },
                })
            }
        }
    }

    /// The settings that point a service at this test's exchange or stream.
    pub fn configure(&self, config: &mut EventsConfig) {
        match self.bus {
            Bus::RabbitMq => {
                config.events_url = Some(AMQP_URL.into());
                config.events_exchange = self.name.clone();
            }
            Bus::Nats => {
                config.events_url = Some(NATS_URL.into());
                config.events_stream = self.name.clone();
                config.events_subject_prefix = self.subjects.clone();
            }
        }
        config.events_poll_ms = 20;
    }

    /// The same settings, with the broker reached through `proxy` (RabbitMQ).
    pub fn configure_through(&self, proxy: &Proxy, config: &mut EventsConfig) {
        self.configure(config);
        config.events_url = Some(proxy.url());
    }

    /// The same settings as environment variables, for the binary.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut config = <user_service::cli::Cli as clap::Parser>::try_parse_from(["user-service"])
            .expect("default settings")
            .config
            .events;
        self.configure(&mut config);
        vec![
            ("EVENTS_URL", config.events_url.expect("set above")),
            ("EVENTS_EXCHANGE", config.events_exchange),
            ("EVENTS_STREAM", config.events_stream),
            ("EVENTS_SUBJECT_PREFIX", config.events_subject_prefix),
            ("EVENTS_POLL_MS", config.events_poll_ms.to_string()),
        ]
    }

    /// The next event, or `None` when none comes within `patience`.
    pub async fn next_within(&mut self, patience: Duration) -> Option<Received> {
        let deadline = Instant::now() + patience;
        match &mut self.inbox {
            Inbox::RabbitMq { consumer, .. } => {
                let delivery = tokio::time::timeout(patience, consumer.next())
                    .await
                    .ok()??
                    .expect("a delivery");
                delivery
                    .ack(BasicAckOptions::default())
                    .await
                    .expect("acked");
                let properties = &delivery.properties;
                Some(Received {
                    event: serde_json::from_slice(&delivery.data).expect("a JSON event"),
                    message_id: properties
                        .message_id()
                        .as_ref()
                        .map(|id| id.to_string())
                        .unwrap_or_default(),
                    route: delivery.routing_key.to_string(),
                    content_type: properties
                        .content_type()
                        .as_ref()
                        .map(|t| t.to_string())
                        .unwrap_or_default(),
                    persistent: Some(*properties.delivery_mode() == Some(2)),
                })
            }
            Inbox::Nats { context, messages } => {
                if messages.is_none() {
                    // The stream is the service's to create: wait for it.
                    let stream = loop {
                        if let Ok(stream) = context.get_stream(&self.name).await {
                            break stream;
                        }
                        if Instant::now() >= deadline {
                            return None;
                        }
                        tokio::task::yield_now().await;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    };
                    let pull = stream
                        .create_consumer(consumer::pull::Config {
                            deliver_policy: consumer::DeliverPolicy::All,
                            ack_policy: consumer::AckPolicy::None,
                            ..consumer::pull::Config::default()
                        })
                        .await
                        .expect("a consumer");
                    *messages = Some(pull.messages().await.expect("messages"));
                }
                let left = deadline.saturating_duration_since(Instant::now());
                let stream = messages.as_mut().expect("set above");
                let message = tokio::time::timeout(left, stream.next())
                    .await
                    .ok()??
                    .expect("a message");
                let headers = message.headers.clone().unwrap_or_default();
                let header = |name: async_nats::header::HeaderName| {
                    headers
                        .get(name)
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default()
                };
                Some(Received {
                    event: serde_json::from_slice(&message.payload).expect("a JSON event"),
                    message_id: header(async_nats::header::NATS_MESSAGE_ID),
                    route: message.subject.to_string(),
                    content_type: header("Content-Type".parse().expect("a header name")),
                    persistent: None,
                })
            }
        }
    }

    /// Exactly `count` events, within 30 s.
    pub async fn take(&mut self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut received = Vec::with_capacity(count);
        while received.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_within(left).await {
                Some(event) => received.push(event),
                None => panic!(
                    "{} of {count} events within 30 s: {:#?}",
                    received.len(),
                    received
                        .iter()
                        .map(|r| r.kind().to_owned())
                        .collect::<Vec<_>>()
                ),
            }
        }
        received
    }

    /// NATS: deletes the test's stream, as a clumsy operator would while the service runs;
    /// the next read waits for the stream to exist again and reads it from its start.
    pub async fn delete_stream(&mut self) {
        let Inbox::Nats { context, messages } = &mut self.inbox else {
            panic!("only a NATS stream can be deleted");
        };
        *messages = None;
        context
            .delete_stream(&self.name)
            .await
            .expect("the stream deleted");
    }

    /// Asserts that nothing more arrives within `patience`.
    pub async fn assert_no_more(&mut self, patience: Duration) {
        if let Some(extra) = self.next_within(patience).await {
            panic!("an event more than expected: {:#?}", extra.event);
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let name = self.name.clone();
        match &self.inbox {
            Inbox::RabbitMq { channel, .. } => {
                let channel = channel.clone();
                after_the_test(async move {
                    let _ = channel
                        .exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default())
                        .await;
                });
            }
            Inbox::Nats { context, .. } => {
                let context = context.clone();
                after_the_test(async move {
                    let _ = context.delete_stream(&name).await;
                });
            }
        }
    }
}
