//! The JSON Schema of the config repo's documents, for editors (yaml-language-server).

use schemars::generate::SchemaSettings;
use serde_json::{Value, json};

use crate::spec::{Cluster, Kind, RedisCluster, StreamCluster, VectorStore};

/// One schema per kind, keyed by kind name.
pub fn schemas() -> Vec<(Kind, Value)> {
    let generator = || SchemaSettings::draft07().into_generator();
    vec![
        (
            Kind::VectorStore,
            generator().into_root_schema_for::<VectorStore>().to_value(),
        ),
        (
            Kind::RedisCluster,
            generator()
                .into_root_schema_for::<RedisCluster>()
                .to_value(),
        ),
        (
            Kind::StreamCluster,
            generator()
                .into_root_schema_for::<StreamCluster>()
                .to_value(),
        ),
        (
            Kind::Cluster,
            generator().into_root_schema_for::<Cluster>().to_value(),
        ),
    ]
    .into_iter()
    .map(|(kind, mut schema)| {
        pin_type(&mut schema, kind);
        (kind, schema)
    })
    .collect()
}

/// Fixes `apiVersion` and `kind` to their only values so editors complete them.
fn pin_type(schema: &mut Value, kind: Kind) {
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            "apiVersion".to_owned(),
            json!({ "const": crate::spec::API_VERSION }),
        );
        properties.insert("kind".to_owned(), json!({ "const": kind.as_str() }));
    }
}

/// Pretty JSON with a trailing newline, for the published files.
pub fn to_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema serializes");
    text.push('\n');
    text
}
