//! `strata-agent schema`: the JSON Schemas of the document kinds, for editors
//! (yaml-language-server). Published in `agent/schema/`.

use std::fs;
use std::io::{self, Write as _};
use std::path::PathBuf;

use anyhow::Context as _;
use serde_json::{Map, Value, json};
use strata_agent_core::schema::{schemas, to_text};
use strata_agent_core::spec::{API_VERSION, Kind};

use crate::report::Status;

/// Write the JSON Schemas.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write `<kind>.json` for every kind and `all.json` (every kind, chosen by `kind`)
    /// into DIR, created when missing [default: print all.json]
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 when the files in DIR differ from what would be written
    #[arg(long, requires = "output")]
    pub check: bool,
}

pub fn run(args: &Args) -> anyhow::Result<Status> {
    let files = files()?;
    let Some(dir) = &args.output else {
        let all = files
            .iter()
            .find(|(name, _)| name == ALL)
            .map(|(_, text)| text.as_str())
            .unwrap_or_default();
        let mut stdout = io::stdout().lock();
        return match stdout.write_all(all.as_bytes()) {
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
                Err(error).context("cannot write to stdout")
            }
            _ => Ok(Status::Ok),
        };
    };
    if args.check {
        let stale: Vec<&str> = files
            .iter()
            .filter(|(name, text)| {
                fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str())
            })
            .map(|(name, _)| name.as_str())
            .collect();
        if stale.is_empty() {
            println!("{}: {} schemas are current", dir.display(), files.len());
            return Ok(Status::Ok);
        }
        for name in stale {
            eprintln!(
                "error: {} is stale: run `strata-agent schema -o {}`",
                dir.join(name).display(),
                dir.display()
            );
        }
        return Ok(Status::Invalid);
    }
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (name, text) in &files {
        let path = dir.join(name);
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("wrote {} schemas to {}", files.len(), dir.display());
    Ok(Status::Ok)
}

/// The combined schema's file name.
pub const ALL: &str = "all.json";

/// `(file name, text)` of every published schema: `vectorstore.json`, …, `all.json`.
pub fn files() -> anyhow::Result<Vec<(String, String)>> {
    let schemas = schemas();
    let mut files: Vec<(String, String)> = schemas
        .iter()
        .map(|(kind, schema)| {
            (
                format!("{}.json", kind.as_str().to_ascii_lowercase()),
                to_text(schema),
            )
        })
        .collect();
    files.push((ALL.to_owned(), to_text(&combined(&schemas)?)));
    Ok(files)
}

/// One schema for every kind: a Strata document is checked against its kind's schema
/// (chosen with `if`/`then` on `apiVersion` and `kind`, which gives editors precise
/// messages, unlike `oneOf`); anything else (a plain manifest) is left alone.
fn combined(schemas: &[(Kind, Value)]) -> anyhow::Result<Value> {
    let mut definitions = Map::new();
    let mut branches = Vec::new();
    for (kind, schema) in schemas {
        let mut schema = schema.clone();
        let object = schema
            .as_object_mut()
            .context("a kind's schema is a JSON object")?;
        object.remove("$schema");
        if let Some(Value::Object(defs)) = object.remove("definitions") {
            for (name, definition) in defs {
                match definitions.get(&name) {
                    Some(existing) if existing != &definition => anyhow::bail!(
                        "two different schema definitions are named `{name}`; all.json cannot hold both"
                    ),
                    _ => {
                        definitions.insert(name, definition);
                    }
                }
            }
        }
        let name = kind.as_str();
        anyhow::ensure!(
            !definitions.contains_key(name),
            "a schema definition is named like the kind `{name}`"
        );
        definitions.insert(name.to_owned(), schema);
        branches.push(json!({
            "if": {
                "properties": {
                    "apiVersion": { "const": API_VERSION },
                    "kind": { "const": name }
                },
                "required": ["apiVersion", "kind"]
            },
            "then": { "$ref": format!("#/definitions/{name}") }
        }));
    }
    let kinds: Vec<&str> = schemas.iter().map(|(kind, _)| kind.as_str()).collect();
    branches.push(json!({
        "if": {
            "properties": { "apiVersion": { "const": API_VERSION } },
            "required": ["apiVersion"]
        },
        "then": {
            "properties": { "kind": { "enum": kinds } }
        }
    }));
    Ok(json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Strata config repo document",
        "description": format!(
            "A document of a Strata config repo: a {API_VERSION} {} (checked against its kind's schema), or a plain Kubernetes manifest (not checked here).",
            kinds.join(", ")
        ),
        "type": "object",
        "required": ["apiVersion", "kind"],
        "allOf": branches,
        "definitions": definitions,
    }))
}
