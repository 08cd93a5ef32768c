//! `agent/README.md`'s field reference is generated from the published JSON Schema, so
//! it names every field with its real default. This test fails when it is stale;
//! `UPDATE_DOCS=1 cargo test -p strata-agent --test docs` rewrites it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Map, Value};

const BEGIN: &str = "<!-- fields:begin (generated from agent/schema/all.json by agent/strata/tests/docs.rs; do not edit) -->";
const END: &str = "<!-- fields:end -->";
const KINDS: [&str; 4] = ["VectorStore", "RedisCluster", "StreamCluster", "Cluster"];

#[test]
fn readme_field_reference_is_current() {
    let readme_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = fs::read_to_string(&readme_path).expect("agent/README.md exists");
    let output = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .arg("schema")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    let schema: Value = serde_json::from_slice(&output.stdout).expect("all.json is JSON");
    let generated = reference(&schema);

    let (Some(begin), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("agent/README.md lacks the markers {BEGIN} … {END}");
    };
    let current = &readme[begin + BEGIN.len()..end];
    if current == generated {
        return;
    }
    if std::env::var_os("UPDATE_DOCS").is_some() {
        let updated = format!("{}{BEGIN}{generated}{}", &readme[..begin], &readme[end..]);
        fs::write(&readme_path, updated).unwrap();
        return;
    }
    panic!(
        "agent/README.md's field reference is stale: run `UPDATE_DOCS=1 cargo test -p strata-agent --test docs` and commit the result"
    );
}

/// The markdown between the markers: a table per kind, then one per shared block.
fn reference(schema: &Value) -> String {
    let definitions = schema["definitions"].as_object().expect("definitions");
    let docs = Docs {
        definitions,
        shared: shared(definitions),
    };
    let mut out = String::from("\n");
    for kind in KINDS {
        let _ = writeln!(out, "\n#### `{kind}`\n");
        docs.table(kind, &mut out);
    }
    let _ = writeln!(
        out,
        "\n#### Shared blocks\n\nTypes used in several places above (each field's path is relative to where the block is used).\n"
    );
    for block in &docs.shared {
        let _ = writeln!(out, "\n##### `{block}`\n");
        if let Some(description) = definitions[block.as_str()]["description"].as_str() {
            let _ = writeln!(out, "{}\n", one_line(description));
        }
        docs.table(block, &mut out);
    }
    out.push('\n');
    out
}

struct Docs<'a> {
    definitions: &'a Map<String, Value>,
    /// Object types referenced from more than one field: documented once, linked.
    shared: BTreeSet<String>,
}

/// The definition a field's schema names (through `$ref`, `allOf`, `anyOf` or list
/// items), and whether the field is a list of it.
fn target(field: &Value) -> (Option<String>, bool) {
    if let Some(Value::String(r)) = field.get("$ref") {
        return (r.rsplit('/').next().map(str::to_owned), false);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = field.get(key)
            && let Some(r) = options.iter().find_map(|o| o.get("$ref")?.as_str())
        {
            return (r.rsplit('/').next().map(str::to_owned), false);
        }
    }
    if let Some(items) = field.get("items") {
        return (target(items).0, true);
    }
    (None, false)
}

fn shared(definitions: &Map<String, Value>) -> BTreeSet<String> {
    let mut uses: BTreeMap<String, usize> = BTreeMap::new();
    for definition in definitions.values() {
        for field in properties(definition).values() {
            if let (Some(name), _) = target(field)
                && definitions[&name].get("properties").is_some()
            {
                *uses.entry(name).or_default() += 1;
            }
        }
    }
    uses.into_iter()
        .filter(|(name, n)| *n > 1 && !KINDS.contains(&name.as_str()))
        .map(|(name, _)| name)
        .collect()
}

fn properties(definition: &Value) -> Map<String, Value> {
    definition
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// Splits `… Default: 3. …` into (description without it, `3`).
fn split_default(description: &str) -> (String, Option<String>) {
    let text = one_line(description);
    let Some(at) = text.find("Default: ") else {
        return (text, None);
    };
    let rest = &text[at + "Default: ".len()..];
    // The sentence ends at ". " before a capital letter or backtick, or at the end.
    let bytes = rest.as_bytes();
    let mut end = rest.len();
    for i in 0..bytes.len() {
        if bytes[i] == b'.'
            && (i + 1 == bytes.len()
                || (bytes[i + 1] == b' '
                    && bytes
                        .get(i + 2)
                        .is_some_and(|b| b.is_ascii_uppercase() || *b == b'`')))
        {
            end = i;
            break;
        }
    }
    let default = rest[..end].trim_end_matches('.').to_owned();
    let after = rest[end..].trim_start_matches('.').trim();
    let before = text[..at].trim();
    let description = [before, after]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (description, Some(default))
}

impl Docs<'_> {
    fn table(&self, name: &str, out: &mut String) {
        out.push_str("| field | type | default | description |\n|---|---|---|---|\n");
        self.rows(name, "", out);
    }

    fn rows(&self, name: &str, prefix: &str, out: &mut String) {
        let definition = &self.definitions[name];
        let required: BTreeSet<&str> = definition
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (field, schema) in properties(definition) {
            if field == "apiVersion" || field == "kind" {
                continue;
            }
            let path = format!("{prefix}{field}");
            let (target, list) = target(&schema);
            let description = schema
                .get("description")
                .or_else(|| {
                    target
                        .as_ref()
                        .and_then(|t| self.definitions[t].get("description"))
                })
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (description, stated) = split_default(description);
            let default = if required.contains(field.as_str()) {
                "**required**".to_owned()
            } else if let Some(stated) = stated {
                stated
            } else {
                match schema.get("default") {
                    Some(v @ (Value::Bool(_) | Value::Number(_) | Value::String(_))) => {
                        format!("`{v}`").replace('"', "")
                    }
                    Some(Value::Array(items))
                        if !items.is_empty() && items.iter().all(|i| !i.is_object()) =>
                    {
                        format!("`{}`", Value::Array(items.clone())).replace('"', "")
                    }
                    _ => String::new(),
                }
            };
            let _ = writeln!(
                out,
                "| `{path}` | {} | {default} | {description} |",
                self.type_of(&schema, target.as_deref(), list)
            );
            if let Some(target) = target
                && self.definitions[&target].get("properties").is_some()
                && !self.shared.contains(&target)
            {
                let nested = if list {
                    format!("{path}[].")
                } else {
                    format!("{path}.")
                };
                self.rows(&target, &nested, out);
            }
        }
    }

    fn type_of(&self, schema: &Value, target: Option<&str>, list: bool) -> String {
        let of = match target {
            Some("Quantity") => "quantity".to_owned(),
            Some(name) => {
                let definition = &self.definitions[name];
                let mut values: Vec<String> = Vec::new();
                if let Some(Value::Array(e)) = definition.get("enum") {
                    values.extend(e.iter().map(|v| v.to_string()));
                }
                if let Some(Value::Array(options)) = definition.get("oneOf") {
                    for option in options {
                        if let Some(c) = option.get("const") {
                            values.push(c.to_string());
                        }
                        if let Some(Value::Array(e)) = option.get("enum") {
                            values.extend(e.iter().map(|v| v.to_string()));
                        }
                    }
                }
                if !values.is_empty() {
                    values
                        .iter()
                        .map(|v| format!("`{}`", v.trim_matches('"')))
                        .collect::<Vec<_>>()
                        .join(" \\| ")
                } else if self.shared.contains(name) {
                    format!("[{name}](#{})", name.to_ascii_lowercase())
                } else if definition.get("properties").is_some() {
                    "object".to_owned()
                } else {
                    simple(definition)
                }
            }
            None if list => schema
                .get("items")
                .map(simple)
                .unwrap_or_else(|| "any".to_owned()),
            None => match schema.get("additionalProperties").map(self::target) {
                Some((Some(value), _)) => {
                    format!("map of {}", self.type_of(&Value::Null, Some(&value), false))
                }
                _ => simple(schema),
            },
        };
        if list { format!("list of {of}") } else { of }
    }
}

/// `string`, `integer`, `boolean`, `map of string`, `list of string`.
fn simple(schema: &Value) -> String {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(t)) => t
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    match types.as_slice() {
        ["object"] => match schema.get("additionalProperties") {
            Some(v) if v.is_object() => format!("map of {}", simple(v)),
            _ => "object".to_owned(),
        },
        ["array"] => format!(
            "list of {}",
            schema
                .get("items")
                .map(simple)
                .unwrap_or_else(|| "any".to_owned())
        ),
        [] => "any".to_owned(),
        types => types.join(" or "),
    }
}
