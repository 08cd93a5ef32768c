//! Rendering: validated documents → the Kubernetes objects for one cluster. A pure
//! function: the same documents, cluster and revision always give the same objects, in
//! the same (apply) order.

pub mod build;
pub mod labels;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::diag::{Checks, Diagnostic};
use crate::object::{Object, ObjectKey};
use crate::spec::common::WorkloadMeta;
use crate::spec::{Body, Document, Origin, Tier};
use crate::tier;

/// What to render for.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The cluster (a `Cluster` document's name); `None` for a repo that declares none.
    pub cluster: Option<&'a str>,
    /// The commit being rendered, recorded on every object.
    pub revision: &'a str,
}

/// What the tiers need to know besides their own document.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub cluster: Option<&'a str>,
}

/// Renders the documents that target `target.cluster`. Errors when two documents would
/// produce the same object.
pub fn render(documents: &[Document], target: Target<'_>) -> Result<Vec<Object>, Vec<Diagnostic>> {
    let context = Context {
        cluster: target.cluster,
    };
    let mut owners: BTreeMap<ObjectKey, &Origin> = BTreeMap::new();
    let mut namespaces: BTreeSet<String> = BTreeSet::new();
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for document in documents.iter().filter(|d| d.body.targets(target.cluster)) {
        let rendered = match &document.body {
            Body::VectorStore(w) => {
                stamp_workload(tier::vector::render(w, &context), Tier::Vector, &w.metadata)
            }
            Body::RedisCluster(w) => {
                stamp_workload(tier::redis::render(w, &context), Tier::Redis, &w.metadata)
            }
            Body::StreamCluster(w) => {
                stamp_workload(tier::stream::render(w, &context), Tier::Stream, &w.metadata)
            }
            Body::Cluster(_) => continue,
            Body::Manifest(m) => vec![stamp(
                Object::Custom(m.clone()),
                Tier::Manifest,
                &manifest_workload(&document.origin),
                None,
            )],
        };
        if let Some(namespace) = workload_namespace(&document.body) {
            namespaces.insert(namespace.to_owned());
        }
        for object in rendered {
            let key = object.key();
            if let Some(owner) = owners.get(&key) {
                Checks::new(&document.origin, &mut errors).error(
                    "metadata.name",
                    format!("renders {key}, which {owner} also renders; rename one of them"),
                );
                continue;
            }
            owners.insert(key, &document.origin);
            objects.push(object);
        }
    }
    // Namespaces the repo declares itself are left as the repo has them.
    for namespace in namespaces {
        let key = ObjectKey {
            group: String::new(),
            kind: "Namespace".to_owned(),
            namespace: None,
            name: namespace.clone(),
        };
        if !owners.contains_key(&key) {
            let object = Object::Namespace(Namespace {
                metadata: ObjectMeta {
                    name: Some(namespace.clone()),
                    ..Default::default()
                },
                ..Default::default()
            });
            objects.push(stamp(object, Tier::Platform, &namespace, None));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for object in &mut objects {
        object
            .metadata_mut()
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(labels::REVISION.to_owned(), target.revision.to_owned());
    }
    objects.sort_by(Object::cmp_apply_order);
    Ok(objects)
}

fn workload_namespace(body: &Body) -> Option<&str> {
    match body {
        Body::VectorStore(w) => Some(&w.metadata.namespace),
        Body::RedisCluster(w) => Some(&w.metadata.namespace),
        Body::StreamCluster(w) => Some(&w.metadata.namespace),
        Body::Cluster(_) | Body::Manifest(_) => None,
    }
}

/// A plain manifest's workload label: its file's name without directory and extension.
fn manifest_workload(origin: &Origin) -> String {
    let stem = origin.file.rsplit('/').next().unwrap_or(&origin.file);
    let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
    let value: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let value = value
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    if value.is_empty() {
        "manifest".to_owned()
    } else {
        value
    }
}

fn stamp_workload(objects: Vec<Object>, tier: Tier, meta: &WorkloadMeta) -> Vec<Object> {
    objects
        .into_iter()
        .map(|o| stamp(o, tier, &meta.name, Some(meta)))
        .collect()
}

/// Adds the ownership labels (which win over anything else) and the workload's extra
/// labels and annotations to the object and its pod template.
fn stamp(mut object: Object, tier: Tier, workload: &str, meta: Option<&WorkloadMeta>) -> Object {
    let ownership = labels::ownership(tier, workload);
    let extra_labels = meta.map(|m| &m.labels);
    let extra_annotations = meta.map(|m| &m.annotations);
    let apply = |metadata: &mut ObjectMeta| {
        let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
        if let Some(extra) = extra_labels {
            for (k, v) in extra {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        labels.extend(ownership.clone());
        if let Some(extra) = extra_annotations.filter(|a| !a.is_empty()) {
            let annotations = metadata.annotations.get_or_insert_with(BTreeMap::new);
            for (k, v) in extra {
                annotations.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    };
    apply(object.metadata_mut());
    if let Some(template) = object.pod_template_mut() {
        apply(template.metadata.get_or_insert_with(Default::default));
    }
    object
}
