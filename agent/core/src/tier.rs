//! The three data tiers: each validates its own document kind and renders it.

pub mod redis;
pub mod stream;
pub mod vector;

use crate::spec::Body;

/// Every StorageClass a document names, with the field that names it.
pub fn storage_classes(body: &Body) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |path: &str, class: &Option<String>| {
        if let Some(class) = class {
            out.push((path.to_owned(), class.clone()));
        }
    };
    match body {
        Body::VectorStore(w) => add("spec.storage.storageClass", &w.spec.storage.storage_class),
        Body::RedisCluster(w) => {
            add("spec.storage.storageClass", &w.spec.storage.storage_class);
            if let Some(sentinel) = &w.spec.sentinel {
                add(
                    "spec.sentinel.storage.storageClass",
                    &sentinel.storage.storage_class,
                );
            }
            add(
                "spec.backup.storage.storageClass",
                &w.spec.backup.storage.storage_class,
            );
        }
        Body::StreamCluster(w) => add(
            "spec.controllers.metadataStorage.storageClass",
            &w.spec.controllers.metadata_storage.storage_class,
        ),
        Body::Cluster(_) | Body::Manifest(_) => {}
    }
    out
}
