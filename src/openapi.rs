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
        FieldError,
        badges::CODE_PATTERN,
        checkin, goal,
        profile::{self, AVATAR_URL_PATTERN},
        text::{Kind, pattern, visible_pattern},
    },
    error::Problem,
    idempotency,
    middleware::TAGGED_TYPES,
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
        (name = "connect", description = "Follows, follow requests, blocks and mutes"),
        (name = "partners", description = "Accountability partners: shared streaks and nudges"),
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

/// Operations whose handlers never read a token: one that is sent is ignored, not refused.
const TOKEN_FREE: &[(&str, &str)] = &[
    ("/users/badges", "get"),
    ("/users/badges/{file}", "get"),
    ("/badges/{file}", "get"),
    ("/users/{user_id}/card.svg", "get"),
    ("/users/credentials/status/{list}", "get"),
];

/// Paths outside the API's middleware (no rate limit, no load shedding): the probes, and
/// the metrics when they are served on the main listener.
const PROBES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Days both backends store, 0001-01-01 to 9999-12-31 (`routes::day`), as a pattern beside
/// the `date` format (which also admits the year 0000).
pub const DATE_PATTERN: &str =
    "^(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])-[0-9]{2}-[0-9]{2}$";

/// The document as served.
pub fn finish(api: openapi::OpenApi) -> openapi::OpenApi {
    let mut doc = serde_json::to_value(&api).expect("the document serialises");
    add_middleware_responses(&mut doc);
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
        with_visible_pattern(property, *kind);
    }
    let skills = &mut schemas["UserUpdate"]["properties"]["skills"]["items"];
    skills["pattern"] = json!(pattern(Kind::RequiredLine, profile::SKILL_MAX));
    with_visible_pattern(skills, Kind::RequiredLine);
    schemas["UserUpdate"]["properties"]["avatar_url"]["pattern"] = json!(AVATAR_URL_PATTERN);
    let code = &mut schemas["BadgeAward"]["properties"]["code"];
    code["pattern"] = json!(CODE_PATTERN);
    code["minLength"] = json!(1);
    code["maxLength"] = json!(64);
    for schema in schemas
        .as_object_mut()
        .into_iter()
        .flat_map(|s| s.values_mut())
    {
        for property in schema
            .get_mut("properties")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|p| p.values_mut())
        {
            constrain_dates(property);
        }
    }
    for operation in operations(&mut doc) {
        let parameters = operation
            .get_mut("parameters")
            .and_then(Value::as_array_mut);
        for parameter in parameters.into_iter().flatten() {
            if parameter["name"] == "Idempotency-Key" {
                parameter["schema"]["pattern"] = json!(idempotency::KEY_PATTERN);
            }
            if parameter["name"] == "code" && parameter["in"] == "path" {
                parameter["schema"]["pattern"] = json!(CODE_PATTERN);
            }
            constrain_dates(&mut parameter["schema"]);
        }
    }
    serde_json::from_value(doc).expect("the finished document is an OpenAPI document")
}

/// Text must also match [`visible_pattern`]: a second pattern, as one regular expression
/// cannot say both without a lookahead, which not every reader of the document has.
fn with_visible_pattern(property: &mut Value, kind: Kind) {
    let visible = json!({ "type": property["type"].clone(), "pattern": visible_pattern(kind) });
    *property = json!({ "allOf": [property.take(), visible] });
}

/// A `date` string (or one of the types it may be) takes [`DATE_PATTERN`].
fn constrain_dates(schema: &mut Value) {
    if schema.get("format") == Some(&json!("date")) {
        schema["pattern"] = json!(DATE_PATTERN);
    }
}

/// What the middleware may answer on any operation of the API, added in one place rather
/// than by every handler: 401 wherever a token is read (a public read refuses a bad token
/// too), 304 on every GET (each carries an `ETag`), 429 when the rate limit is on, 503 when
/// the service is at capacity, starting, too slow or without its database, and 500.
fn add_middleware_responses(doc: &mut Value) {
    let header =
        |description: &str| json!({ "description": description, "schema": { "type": "integer" } });
    let too_many = json!({
        "description": "Over the client's rate limit (`RATE_LIMIT_PER_MINUTE`); retry after `Retry-After` seconds",
        "headers": {
            "Retry-After": header("Seconds until a request is admitted again"),
            "RateLimit-Limit": header("Requests a minute this client may make"),
            "RateLimit-Remaining": header("Requests left in the bucket: 0"),
            "RateLimit-Reset": header("Seconds until the bucket is full again"),
        },
    });
    let unavailable = json!({
        "description": "At capacity, starting, over the request timeout, or the database is out of reach; retry after `Retry-After` seconds",
        "headers": { "Retry-After": header("Seconds to wait before retrying") },
    });
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if PROBES.contains(&path.as_str()) {
            continue;
        }
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, operation) in item.iter_mut() {
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if !TOKEN_FREE.contains(&(path.as_str(), method.as_str())) {
                responses.entry("401").or_insert_with(
                    || json!({ "description": "A bearer token was sent and is not valid" }),
                );
            }
            // A GET the conditional-GET middleware tags: not a download such as the export.
            let tagged = responses
                .get("200")
                .and_then(|ok| ok.get("content"))
                .and_then(Value::as_object)
                .is_none_or(|content| {
                    content
                        .keys()
                        .any(|t| TAGGED_TYPES.iter().any(|tag| t.starts_with(tag)))
                });
            if method == "get" && tagged {
                responses.entry("304").or_insert_with(
                    || json!({ "description": "Not modified since the `If-None-Match` entity tag" }),
                );
                if let Some(ok) = responses.get_mut("200").and_then(Value::as_object_mut) {
                    let headers = ok.entry("headers").or_insert_with(|| json!({}));
                    if headers.get("ETag").is_none() {
                        headers["ETag"] = json!({
                            "description": "The representation's entity tag",
                            "schema": { "type": "string" },
                        });
                    }
                }
            }
            match responses.get_mut("429") {
                // The operation's own 429 (a daily quota) is also the rate limit's.
                Some(own) => {
                    let description = own["description"].as_str().unwrap_or_default();
                    own["description"] = json!(format!(
                        "{description}; or over the client's rate limit (`RATE_LIMIT_PER_MINUTE`)"
                    ));
                    own["headers"] = too_many["headers"].clone();
                }
                None => {
                    responses.insert("429".into(), too_many.clone());
                }
            }
            responses
                .entry("503")
                .or_insert_with(|| unavailable.clone());
            responses.entry("500").or_insert_with(
                || json!({ "description": "An unexpected error; its cause is logged, never sent" }),
            );
        }
    }
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
