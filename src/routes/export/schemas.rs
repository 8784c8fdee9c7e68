//! A JSON Schema (draft 2020-12) for every JSON file of the archive, made from the OpenAPI
//! document's components, so that the archive's files are described as the API's answers
//! are, by the same types: the file's root (the component, or an array of it) and, under
//! `$defs`, the components it refers to, directly or not.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;

use super::archive::{ExportFile, FILES, own_components};

const COMPONENTS: &str = "#/components/schemas/";
const DEFS: &str = "#/$defs/";

/// Each file's schema, by the name it is published under (`goals.json`, …).
pub fn documents(doc: &OpenApi) -> BTreeMap<String, Value> {
    let components = doc
        .components
        .as_ref()
        .map(|c| serde_json::to_value(&c.schemas).expect("the components are JSON"))
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let mut components = components;
    for (name, schema) in own_components() {
        components.insert(
            name,
            serde_json::to_value(schema).expect("a schema is JSON"),
        );
    }
    FILES
        .iter()
        .map(|file| (file.schema_name(), document(file, &components)))
        .collect()
}

fn document(file: &ExportFile, components: &Map<String, Value>) -> Value {
    let item = json!({ "$ref": format!("{DEFS}{}", file.component) });
    let mut defs = Map::new();
    let mut pending = vec![file.component.to_owned()];
    while let Some(name) = pending.pop() {
        if defs.contains_key(&name) {
            continue;
        }
        let schema = components
            .get(&name)
            .unwrap_or_else(|| panic!("the OpenAPI document has no component {name}"));
        let mut schema = schema.clone();
        rewrite_refs(&mut schema, &mut pending);
        defs.insert(name, schema);
    }
    let mut root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": file.schema_name(),
        "description": file.about,
    });
    let body = if file.is_list() {
        json!({ "type": "array", "items": item })
    } else {
        item
    };
    let root_map = root.as_object_mut().expect("an object");
    for (key, value) in body.as_object().expect("an object") {
        root_map.insert(key.clone(), value.clone());
    }
    root_map.insert("$defs".into(), Value::Object(defs));
    root
}

/// Points the component references in `value` at `$defs`, and notes the components named.
fn rewrite_refs(value: &mut Value, named: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = member
                    && let Some(name) = target.strip_prefix(COMPONENTS)
                {
                    named.push(name.to_owned());
                    *target = format!("{DEFS}{name}");
                } else {
                    rewrite_refs(member, named);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite_refs(item, named)),
        _ => {}
    }
}
