//! Reading the config repo: files → YAML documents → typed documents, with every problem
//! reported against its file, document and field.

use serde::de::DeserializeOwned;

use crate::diag::{Diagnostic, Location, Severity};
use crate::spec::{API_GROUP, API_VERSION, Body, Document, Kind, Origin};

/// A file of the config repo: its repo-relative `/`-separated path and its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFile {
    pub path: String,
    pub contents: Vec<u8>,
}

/// Whether the loader reads this path: `.yaml`/`.yml` files outside hidden directories.
pub fn is_config_path(path: &str) -> bool {
    let hidden = path.split('/').any(|part| part.starts_with('.'));
    !hidden && (path.ends_with(".yaml") || path.ends_with(".yml"))
}

/// Parses every config file; documents that fail are left out and reported.
pub fn parse_files(files: &[RepoFile]) -> (Vec<Document>, Vec<Diagnostic>) {
    let mut documents = Vec::new();
    let mut diagnostics = Vec::new();
    let mut files: Vec<&RepoFile> = files.iter().filter(|f| is_config_path(&f.path)).collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for file in files {
        parse_file(file, &mut documents, &mut diagnostics);
    }
    (documents, diagnostics)
}

fn file_error(file: &str, line: Option<(usize, usize)>, message: String) -> Diagnostic {
    Diagnostic {
        location: Location::File {
            file: file.to_owned(),
            line,
        },
        severity: Severity::Error,
        message,
    }
}

fn parse_file(file: &RepoFile, documents: &mut Vec<Document>, diagnostics: &mut Vec<Diagnostic>) {
    let Ok(text) = std::str::from_utf8(&file.contents) else {
        diagnostics.push(file_error(&file.path, None, "not UTF-8 text".to_owned()));
        return;
    };
    let values: Vec<serde_json::Value> = match serde_saphyr::from_multiple(text) {
        Ok(values) => values,
        Err(e) => {
            let line = e
                .location()
                .map(|l| (l.line() as usize, l.column() as usize));
            diagnostics.push(file_error(&file.path, line, yaml_message(&e)));
            return;
        }
    };
    // Empty documents (a leading `---`, a file of comments) are not counted, so `#n`
    // is the n-th document with content, as `kubectl` counts.
    let values = values.into_iter().filter(|v| !v.is_null());
    for (i, value) in values.enumerate() {
        let origin = Origin {
            file: file.path.clone(),
            index: i + 1,
        };
        match parse_document(value) {
            Ok(body) => documents.push(Document { origin, body }),
            Err((path, message)) => diagnostics.push(Diagnostic {
                location: Location::Field { origin, path },
                severity: Severity::Error,
                message,
            }),
        }
    }
}

/// The first line of the YAML library's message, without its own location prefix.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") => rest.to_owned(),
        _ => first.to_owned(),
    }
}

type Failure = (String, String);

fn parse_document(value: serde_json::Value) -> Result<Body, Failure> {
    let serde_json::Value::Object(map) = &value else {
        return Err((
            String::new(),
            "a document must be a mapping with apiVersion and kind".to_owned(),
        ));
    };
    let field = |name: &str| -> Result<String, Failure> {
        match map.get(name) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err((name.to_owned(), "must be a non-empty string".to_owned())),
            None => Err((name.to_owned(), "missing".to_owned())),
        }
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    let group = api_version.split_once('/').map(|(g, _)| g);
    if group != Some(API_GROUP) {
        return typed(value).map(Body::Manifest);
    }
    if api_version != API_VERSION {
        return Err((
            "apiVersion".to_owned(),
            format!("`{api_version}` is not supported; use `{API_VERSION}`"),
        ));
    }
    match Kind::from_name(&kind) {
        Some(Kind::VectorStore) => typed(value).map(Body::VectorStore),
        Some(Kind::RedisCluster) => typed(value).map(Body::RedisCluster),
        Some(Kind::StreamCluster) => typed(value).map(Body::StreamCluster),
        Some(Kind::Cluster) => typed(value).map(Body::Cluster),
        None => Err((
            "kind".to_owned(),
            format!(
                "unknown kind `{kind}` in {API_VERSION}; expected one of {}",
                Kind::ALL.map(Kind::as_str).join(", ")
            ),
        )),
    }
}

/// Deserializes with the path of the failing field.
fn typed<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Failure> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        (path, e.into_inner().to_string())
    })
}
