//! Telling drift from change. Before applying, every object gets an annotation with a
//! digest of its desired content. When the dry-run shows a difference but the digest
//! annotation is not among the differing fields, the repo did not change the object:
//! someone changed the live object out of band — drift.

use strata_agent_core::Object;
use strata_agent_core::render::build::config_hash;
use strata_agent_core::render::labels::REVISION;

/// The annotation holding the digest of the object's desired content.
pub const DIGEST: &str = "strata.dev/applied-digest";

/// Adds the digest annotation to every object. The digest leaves out the revision
/// annotation, which changes with every commit.
pub fn stamp(objects: &mut [Object]) {
    for object in objects {
        let mut json = object.to_json();
        if let Some(annotations) = json
            .pointer_mut("/metadata/annotations")
            .and_then(|a| a.as_object_mut())
        {
            annotations.remove(REVISION);
            annotations.remove(DIGEST);
        }
        let digest = config_hash([json.to_string().as_str()]);
        object
            .metadata_mut()
            .annotations
            .get_or_insert_with(Default::default)
            .insert(DIGEST.to_owned(), digest);
    }
}

/// Whether an update's differing fields include the digest, i.e. the repo changed the
/// object (rather than someone changing the live object).
pub fn changed_by_repo(fields: &[String]) -> bool {
    fields.iter().any(|field| field.contains(DIGEST))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn config_map(value: &str, revision: &str) -> Object {
        Object::ConfigMap(ConfigMap {
            metadata: ObjectMeta {
                name: Some("c".into()),
                annotations: Some([(REVISION.to_owned(), revision.to_owned())].into()),
                ..Default::default()
            },
            data: Some([("k".to_owned(), value.to_owned())].into()),
            ..Default::default()
        })
    }

    fn digest(object: &Object) -> String {
        object.metadata().annotations.as_ref().unwrap()[DIGEST].clone()
    }

    #[test]
    fn the_digest_follows_content_not_revision() {
        let mut objects = [
            config_map("a", "r1"),
            config_map("a", "r2"),
            config_map("b", "r1"),
        ];
        stamp(&mut objects);
        assert_eq!(digest(&objects[0]), digest(&objects[1]));
        assert_ne!(digest(&objects[0]), digest(&objects[2]));
        let again = objects.clone();
        stamp(&mut objects);
        assert_eq!(
            digest(&objects[0]),
            digest(&again[0]),
            "stamping twice changes nothing"
        );
    }

    #[test]
    fn updates_that_include_the_digest_come_from_the_repo() {
        assert!(changed_by_repo(&[
            "metadata.annotations.strata.dev/applied-digest".into()
        ]));
        assert!(!changed_by_repo(&["spec.replicas".into()]));
    }
}
