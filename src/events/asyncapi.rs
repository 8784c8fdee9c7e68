//! The AsyncAPI 3.0 document of every event this service publishes, served at
//! `/asyncapi.json`: one channel per type, each message a CloudEvent whose `data` has the
//! JSON Schema of its facts (from the same types that serialize them).

use serde_json::{Map, Value, json};
use utoipa::{ToSchema, openapi::RefOr, openapi::schema::Schema};

use super::{CLOUDEVENTS_JSON, Envelope};
use crate::{
    config::EventsConfig,
    domain::platform_event::{
        AtRiskFacts, BadgeFacts, CheckinFacts, DeletedGoalFacts, EVENT_TYPES, FollowFacts,
        GoalFacts, KudosFacts, MilestoneFacts, NudgeFacts, PartnerAtRiskFacts,
        PartnerMilestoneFacts, PartnerStreakFacts, PartnershipEndFacts, PartnershipFacts,
        PartnershipRequestFacts, ProfileFacts, StreakFacts,
    },
};

/// The schema of `T` and of every type it refers to, by name.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

fn data_schemas() -> Map<String, Value> {
    let mut schemas = Vec::new();
    collect::<ProfileFacts>(&mut schemas);
    collect::<GoalFacts>(&mut schemas);
    collect::<DeletedGoalFacts>(&mut schemas);
    collect::<CheckinFacts>(&mut schemas);
    collect::<BadgeFacts>(&mut schemas);
    collect::<StreakFacts>(&mut schemas);
    collect::<MilestoneFacts>(&mut schemas);
    collect::<FollowFacts>(&mut schemas);
    collect::<KudosFacts>(&mut schemas);
    collect::<PartnershipRequestFacts>(&mut schemas);
    collect::<PartnershipFacts>(&mut schemas);
    collect::<PartnershipEndFacts>(&mut schemas);
    collect::<PartnerStreakFacts>(&mut schemas);
    collect::<PartnerMilestoneFacts>(&mut schemas);
    collect::<NudgeFacts>(&mut schemas);
    collect::<AtRiskFacts>(&mut schemas);
    collect::<PartnerAtRiskFacts>(&mut schemas);
    schemas
        .into_iter()
        .map(|(name, schema)| {
            let schema = serde_json::to_value(schema).expect("schemas serialize");
            (name, schema)
        })
        .collect()
}

/// The document for the configured source and type prefix.
pub fn document(config: &EventsConfig) -> Value {
    let envelope = Envelope::new(config);
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    let mut schemas = data_schemas();
    for event in &EVENT_TYPES {
        let full = envelope.event_type(event.name);
        let payload = format!("{}.event", event.name);
        schemas.insert(
            payload.clone(),
            json!({
                "type": "object",
                "description": format!("A CloudEvents 1.0 event in structured mode: {}", event.summary),
                "required": ["specversion", "id", "source", "type", "subject", "time", "datacontenttype", "data"],
                "properties": {
                    "specversion": {"type": "string", "const": "1.0"},
                    "id": {"type": "string", "format": "uuid", "description": "Unique, and the same on every redelivery: the consumer's dedupe key."},
                    "source": {"type": "string", "const": config.events_source},
                    "type": {"type": "string", "const": full},
                    "subject": {"type": "string", "description": "The id of the user the event is about."},
                    "time": {"type": "string", "format": "date-time", "description": "When the change was made."},
                    "datacontenttype": {"type": "string", "const": "application/json"},
                    "data": {"$ref": format!("#/components/schemas/{}", event.data)},
                },
            }),
        );
        messages.insert(
            event.name.to_owned(),
            json!({
                "name": full,
                "title": event.name,
                "summary": event.summary,
                "contentType": CLOUDEVENTS_JSON,
                "payload": {"$ref": format!("#/components/schemas/{payload}")},
            }),
        );
        channels.insert(
            event.name.to_owned(),
            json!({
                "address": full,
                "description": format!(
                    "RabbitMQ: routing key `{full}` on the topic exchange `{exchange}`. \
                     NATS: subject `{subjects}.{full}` in the stream `{stream}`.",
                    exchange = config.events_exchange,
                    subjects = config.events_subject_prefix,
                    stream = config.events_stream,
                ),
                "messages": {
                    event.name: {"$ref": format!("#/components/messages/{}", event.name)},
                },
            }),
        );
        operations.insert(
            format!("publish.{}", event.name),
            json!({
                "action": "send",
                "summary": event.summary,
                "channel": {"$ref": format!("#/channels/{}", event.name)},
                "messages": [{"$ref": format!("#/channels/{}/messages/{}", event.name, event.name)}],
            }),
        );
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "user-service events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "What user-service tells the platform: one event per state change, \
                published from a transactional outbox at least once, in commit order per user. \
                Consumers dedupe by the CloudEvents `id`.",
        },
        "defaultContentType": CLOUDEVENTS_JSON,
        "servers": {
            "rabbitmq": {
                "host": "localhost:5672",
                "protocol": "amqp",
                "description": "EVENTS_URL=amqp://…: persistent messages on a durable topic exchange, \
                    message_id = the event id, published with confirms.",
            },
            "nats": {
                "host": "localhost:4222",
                "protocol": "nats",
                "description": "EVENTS_URL=nats://…: a JetStream stream, Nats-Msg-Id = the event id, \
                    each publish acknowledged by the stream.",
            },
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": schemas,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_in_the_document_resolves() {
        let config: EventsConfig = crate::config::from_env();
        let document = document(&config);
        fn refs(value: &Value, found: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        match (key.as_str(), value) {
                            ("$ref", Value::String(target)) => found.push(target.clone()),
                            _ => refs(value, found),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(found.len() > EVENT_TYPES.len() * 3);
        for target in found {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(
                document.pointer(pointer).is_some(),
                "{target} does not resolve"
            );
        }
    }
}
