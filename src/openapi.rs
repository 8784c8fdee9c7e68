//! The OpenAPI 3.1 document. Paths and their schemas are collected from the handlers'
//! `#[utoipa::path]` attributes as the router is built, so the document cannot drift from
//! the routes; [`finish`] then adds what the derive cannot say: every 4xx/5xx body is a
//! problem document, request bodies accept only their members, and text fields carry the
//! domain's patterns, so that what the document admits is what the service accepts.

use serde_json::{Value, json};
use utoipa::{
    Modify, OpenApi, ToSchema,
    openapi::{
        self,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    domain::{
        checkin, goal,
        profile::{self, AVATAR_URL_PATTERN},
        text::{Kind, pattern},
    },
    error::{FieldError, Problem},
    routes::IDEMPOTENCY_KEY_PATTERN,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "user-service",
        description = "Profiles, badges and the learning tracker of a learning platform. \
            Tokens are issued by the platform's auth-service; this service verifies them."
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
    tags(
        (name = "profiles", description = "Public profiles and the caller's own"),
        (name = "goals", description = "Learning goals"),
        (name = "badges", description = "Badges earned"),
        (name = "activity", description = "What a user did, newest first"),
        (name = "stats", description = "Activity in figures"),
        (name = "operations", description = "Probes for the platform running the service"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A JWT issued by the auth-service"))
                    .build(),
            ),
        );
    }
}

/// Text members and the rules their values follow (see `domain::text`).
const TEXT_RULES: &[(&str, &str, Kind, usize)] = &[
    (
        "UserUpdate",
        "display_name",
        Kind::Line,
        profile::DISPLAY_NAME_MAX,
    ),
    ("UserUpdate", "bio", Kind::Multiline, profile::BIO_MAX),
    (
        "LearningGoalCreate",
        "title",
        Kind::RequiredLine,
        goal::TITLE_MAX,
    ),
    (
        "LearningGoalCreate",
        "description",
        Kind::Multiline,
        goal::DESCRIPTION_MAX,
    ),
    (
        "LearningGoalUpdate",
        "title",
        Kind::RequiredLine,
        goal::TITLE_MAX,
    ),
    (
        "LearningGoalUpdate",
        "description",
        Kind::Multiline,
        goal::DESCRIPTION_MAX,
    ),
    ("CheckInCreate", "note", Kind::Multiline, checkin::NOTE_MAX),
];

/// The document as served.
pub fn finish(api: openapi::OpenApi) -> openapi::OpenApi {
    let mut doc = serde_json::to_value(&api).expect("the document serialises");
    add_problem_bodies(&mut doc);
    close_request_bodies(&mut doc);
    let schemas = &mut doc["components"]["schemas"];
    for (schema, member, kind, max) in TEXT_RULES {
        let property = &mut schemas[*schema]["properties"][*member];
        debug_assert!(
            property.is_object(),
            "{schema}.{member} is not in the document"
        );
        property["pattern"] = json!(pattern(*kind, *max));
    }
    let skills = &mut schemas["UserUpdate"]["properties"]["skills"]["items"];
    skills["pattern"] = json!(pattern(Kind::RequiredLine, profile::SKILL_MAX));
    schemas["UserUpdate"]["properties"]["avatar_url"]["pattern"] = json!(AVATAR_URL_PATTERN);
    for operation in operations(&mut doc) {
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut);
        for parameter in parameters.into_iter().flatten() {
            if parameter["name"] == "Idempotency-Key" {
                parameter["schema"]["pattern"] = json!(IDEMPOTENCY_KEY_PATTERN);
            }
        }
    }
    serde_json::from_value(doc).expect("the finished document is an OpenAPI document")
}

/// Every 4xx and 5xx answer is a problem document; the handlers only describe when each
/// happens.
fn add_problem_bodies(doc: &mut Value) {
    let problem =
        json!({ "schema": { "$ref": format!("#/components/schemas/{}", Problem::name()) } });
    for operation in operations(doc) {
        let Some(responses) = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (status, response) in responses.iter_mut() {
            if status.starts_with('4') || status.starts_with('5') {
                response["content"] = json!({ "application/problem+json": problem.clone() });
            }
        }
    }
}

/// A request body refuses members it does not define (a 422 naming them), and so does
/// every object schema it refers to.
fn close_request_bodies(doc: &mut Value) {
    let mut names: Vec<String> = operations(doc)
        .filter_map(|op| op.pointer("/requestBody/content/application~1json/schema/$ref"))
        .filter_map(Value::as_str)
        .map(schema_name)
        .collect();
    let mut closed = Vec::new();
    while let Some(name) = names.pop() {
        if closed.contains(&name) {
            continue;
        }
        let schema = &mut doc["components"]["schemas"][&name];
        if schema.get("properties").is_some() {
            schema["additionalProperties"] = json!(false);
        }
        let mut refs = Vec::new();
        collect_refs(schema, &mut refs);
        names.extend(refs);
        closed.push(name);
    }
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                into.push(schema_name(reference));
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

fn schema_name(reference: &str) -> String {
    reference.rsplit('/').next().unwrap_or_default().to_owned()
}

fn operations(doc: &mut Value) -> impl Iterator<Item = &mut Value> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.iter_mut())
        .filter(|(method, _)| {
            matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch")
        })
        .map(|(_, operation)| operation)
}
