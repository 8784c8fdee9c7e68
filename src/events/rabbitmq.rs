//! RabbitMQ: a durable topic exchange, persistent messages, publisher confirms.

use async_trait::async_trait;
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind,
    options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions},
    types::FieldTable,
};

use super::{CLOUDEVENTS_JSON, Outgoing, Publisher};

/// AMQP's delivery mode for messages the broker writes to disk.
const PERSISTENT: u8 = 2;

pub struct RabbitMq {
    url: String,
    exchange: String,
    open: Option<(Connection, Channel)>,
}

impl RabbitMq {
    pub fn new(url: &str, exchange: &str) -> Self {
        Self {
            url: url.to_owned(),
            exchange: exchange.to_owned(),
            open: None,
        }
    }

    /// A channel in confirm mode on which the exchange exists, opened anew after a loss.
    async fn channel(&mut self) -> anyhow::Result<&Channel> {
        let usable = self.open.as_ref().is_some_and(|(connection, channel)| {
            connection.status().connected() && channel.status().connected()
        });
        if !usable {
            self.open = None;
            let connection = Connection::connect(
                &self.url,
                ConnectionProperties::default().with_connection_name("user-service events".into()),
            )
            .await?;
            let channel = connection.create_channel().await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await?;
            channel
                .exchange_declare(
                    self.exchange.as_str().into(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            tracing::info!(exchange = %self.exchange, "events: connected to RabbitMQ");
            self.open = Some((connection, channel));
        }
        Ok(&self.open.as_ref().expect("opened above").1)
    }

    async fn send(&mut self, batch: &[Outgoing]) -> anyhow::Result<()> {
        let exchange = self.exchange.clone();
        let channel = self.channel().await?;
        let mut confirms = Vec::with_capacity(batch.len());
        for event in batch {
            let properties = BasicProperties::default()
                .with_message_id(event.id.as_str().into())
                .with_content_type(CLOUDEVENTS_JSON.into())
                .with_delivery_mode(PERSISTENT);
            confirms.push(
                channel
                    .basic_publish(
                        exchange.as_str().into(),
                        event.event_type.as_str().into(),
                        BasicPublishOptions::default(),
                        &event.body,
                        properties,
                    )
                    .await?,
            );
        }
        for confirm in confirms {
            if !confirm.await?.is_ack() {
                anyhow::bail!("RabbitMQ refused an event (nack)");
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Publisher for RabbitMq {
    async fn publish(&mut self, batch: &[Outgoing]) -> anyhow::Result<()> {
        let sent = self.send(batch).await;
        if sent.is_err() {
            self.open = None;
        }
        sent
    }
}
