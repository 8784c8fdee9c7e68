//! The AsyncAPI document served at `/asyncapi.json`: reviewed as a snapshot, checked for
//! every event type the issue names, and validated by the published AsyncAPI parser
//! (`.ci/asyncapi`, npm's `@asyncapi/parser`, installed by `.ci/run`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

use crate::helpers::{Backend, TestApp, ci_node_tool, json_body};

/// Every event type, without the configured prefix.
const EVENT_TYPES: [&str; 22] = [
    "profile.updated.v1",
    "goal.created.v1",
    "goal.updated.v1",
    "goal.completed.v1",
    "goal.deleted.v1",
    "checkin.added.v1",
    "checkin.removed.v1",
    "badge.awarded.v1",
    "badge.revoked.v1",
    "streak.extended.v1",
    "streak.milestone.v1",
    "follow.created.v1",
    "follow.requested.v1",
    "kudos.given.v1",
    "partnership.requested.v1",
    "partnership.started.v1",
    "partnership.ended.v1",
    "partner_streak.extended.v1",
    "partner_streak.milestone.v1",
    "partner.nudged.v1",
    "streak.at_risk.v1",
    "partner_streak.at_risk.v1",
];

async fn served_document() -> Value {
    let app = TestApp::spawn(Backend::Sqlite).await;
    json_body(app.get("/asyncapi.json").await, 200).await
}

/// Follows local `$ref`s (`#/components/...`, also one to another) to what they name.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(target) = value["$ref"].as_str() {
        let pointer = target.strip_prefix('#').expect("a local reference");
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{target} does not resolve"));
    }
    value
}

/// The whole document, reviewed as a snapshot: a change to an event shows up in review.
#[tokio::test]
async fn the_asyncapi_document_matches_its_snapshot() {
    insta::assert_json_snapshot!("asyncapi", served_document().await);
}

#[tokio::test]
async fn the_asyncapi_document_describes_each_of_its_event_types_with_a_schema_for_its_data() {
    let doc = served_document().await;
    assert_eq!(doc["asyncapi"], "3.0.0");
    let operations = doc["operations"].as_object().unwrap();
    assert_eq!(operations.len(), EVENT_TYPES.len(), "{operations:#?}");
    for name in EVENT_TYPES {
        let full = format!("org.learning.user.{name}");
        let operation = &operations[&format!("publish.{name}")];
        assert_eq!(operation["action"], "send", "{name}");
        let channel = resolve(&doc, &operation["channel"]);
        assert_eq!(channel["address"], full.as_str());
        let message = resolve(&doc, &operation["messages"][0]);
        assert_eq!(message["name"], full.as_str());
        let event = resolve(&doc, &message["payload"]);
        assert_eq!(event["properties"]["type"]["const"], full.as_str());
        for attribute in ["id", "source", "subject", "time", "datacontenttype", "data"] {
            assert!(
                event["required"]
                    .as_array()
                    .unwrap()
                    .contains(&attribute.into()),
                "{name}: {attribute} is not required"
            );
        }
        let data = resolve(&doc, &event["properties"]["data"]);
        assert_eq!(data["type"], "object", "{name}: {data}");
        let properties = data["properties"].as_object().unwrap();
        assert!(properties.contains_key("user_id"), "{name}: {data}");
        for secret in ["email", "token", "bio"] {
            assert!(!properties.contains_key(secret), "{name} carries {secret}");
        }
    }
}

/// The validator of `.ci/asyncapi`, or `None` (loudly) when its packages are not installed;
/// with `CI=true` that fails the test instead, as `.ci/run` installs them.
fn validator() -> Option<PathBuf> {
    ci_node_tool("asyncapi", "@asyncapi/parser", "the AsyncAPI parser")
        .map(|dir| dir.join("validate.mjs"))
}

/// Runs the published parser on `doc`, written to a file of its own.
fn validate(validator: &Path, doc: &Value) -> Output {
    let dir = tempfile::tempdir().expect("temporary folder");
    let file = dir.path().join("asyncapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    Command::new("node")
        .arg(validator)
        .arg(&file)
        .output()
        .expect("node runs")
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn the_asyncapi_document_is_valid_asyncapi_3_according_to_the_published_parser() {
    let Some(validator) = validator() else {
        return;
    };
    let output = validate(&validator, &served_document().await);
    let printed = printed(&output);
    assert!(output.status.success(), "{printed}");
    assert!(printed.contains("valid AsyncAPI 3.0.0"), "{printed}");
}

/// The validation bites: the served document, broken in two ways the parser must catch (a
/// required field missing, a data schema that is not JSON Schema), is refused with both.
#[tokio::test]
async fn the_published_parser_refuses_a_broken_asyncapi_document() {
    let Some(validator) = validator() else {
        return;
    };
    let mut doc = served_document().await;
    doc["info"].as_object_mut().unwrap().remove("version");
    doc["components"]["schemas"]["GoalFacts"]["type"] = "a goal".into();
    let output = validate(&validator, &doc);
    let printed = printed(&output);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(printed.contains("\"version\""), "{printed}");
    assert!(
        printed.contains("components.schemas.GoalFacts"),
        "{printed}"
    );
}
