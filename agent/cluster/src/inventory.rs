//! The inventory: which objects the agent applied, at which revision. Kept in a ConfigMap
//! in the agent's namespace so a restarted (or newly elected) agent prunes correctly.
//!
//! The ConfigMap's data:
//!
//! * `revision`: the revision last applied in full (absent before the first one);
//! * `objects`: one object per line, `group/Kind/namespace/name`, with `_` for the core
//!   group and for the namespace of a cluster-scoped object, lines sorted, e.g.
//!
//!   ```text
//!   _/ConfigMap/data/redis-config
//!   _/Namespace/_/data
//!   apps/StatefulSet/data/redis
//!   monitoring.coreos.com/ServiceMonitor/data/redis
//!   ```
//!
//! No part can hold a `/` (Kubernetes names and groups cannot) nor be `_` (not a valid
//! group, namespace or name), so the format is unambiguous.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, Patch, PatchParams};
use strata_agent_core::object::ObjectKey;
use strata_agent_core::render::labels;

use crate::{Error, FIELD_MANAGER};

const REVISION: &str = "revision";
const OBJECTS: &str = "objects";
/// Stands for the core group and for "no namespace".
const NONE: &str = "_";

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inventory {
    /// The revision last applied in full.
    pub revision: Option<String>,
    /// Every object the agent applied and has not yet pruned (failed deletes stay).
    pub objects: BTreeSet<ObjectKey>,
}

/// Where the inventory lives.
#[derive(Clone, Debug)]
pub struct InventoryRef {
    pub namespace: String,
    pub name: String,
}

impl InventoryRef {
    /// Reads the inventory; an absent ConfigMap is an empty inventory.
    pub async fn load(&self, cluster: &crate::Cluster) -> Result<Inventory, Error> {
        let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &self.namespace);
        let Some(map) = api
            .get_opt(&self.name)
            .await
            .map_err(|e| Error::kube(format!("reading inventory {}", self.path()), e))?
        else {
            return Ok(Inventory::default());
        };
        let data = map.data.unwrap_or_default();
        let objects = decode(data.get(OBJECTS).map_or("", String::as_str)).map_err(|message| {
            Error::Inventory {
                name: self.path(),
                message,
            }
        })?;
        Ok(Inventory {
            revision: data.get(REVISION).filter(|r| !r.is_empty()).cloned(),
            objects,
        })
    }

    /// Writes the inventory (server-side apply of the ConfigMap).
    pub async fn save(&self, cluster: &crate::Cluster, inventory: &Inventory) -> Result<(), Error> {
        let mut data = BTreeMap::from([(OBJECTS.to_owned(), encode(&inventory.objects))]);
        if let Some(revision) = &inventory.revision {
            data.insert(REVISION.to_owned(), revision.clone());
        }
        let map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(BTreeMap::from([
                    (labels::MANAGED_BY.to_owned(), labels::AGENT.to_owned()),
                    (labels::PART_OF.to_owned(), labels::PLATFORM.to_owned()),
                ])),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        // SSA needs apiVersion and kind in the body, which k8s-openapi's serializer adds.
        let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &self.namespace);
        api.patch(
            &self.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&map),
        )
        .await
        .map_err(|e| Error::kube(format!("writing inventory {}", self.path()), e))?;
        Ok(())
    }

    fn path(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The `objects` text of a set of keys.
pub fn encode(objects: &BTreeSet<ObjectKey>) -> String {
    let mut lines: Vec<String> = objects.iter().map(line).collect();
    lines.sort();
    let mut text = lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

fn line(key: &ObjectKey) -> String {
    let or_none = |s: &str| {
        if s.is_empty() {
            NONE.to_owned()
        } else {
            s.to_owned()
        }
    };
    format!(
        "{}/{}/{}/{}",
        or_none(&key.group),
        key.kind,
        or_none(key.namespace.as_deref().unwrap_or_default()),
        key.name
    )
}

/// Parses the `objects` text; the error names the first malformed line.
pub fn decode(text: &str) -> Result<BTreeSet<ObjectKey>, String> {
    let mut objects = BTreeSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('/').collect();
        let [group, kind, namespace, name] = parts[..] else {
            return Err(malformed(number, line));
        };
        if kind.is_empty()
            || kind == NONE
            || name.is_empty()
            || name == NONE
            || group.is_empty()
            || namespace.is_empty()
        {
            return Err(malformed(number, line));
        }
        let some = |s: &str| (s != NONE).then(|| s.to_owned());
        objects.insert(ObjectKey {
            group: some(group).unwrap_or_default(),
            kind: kind.to_owned(),
            namespace: some(namespace),
            name: name.to_owned(),
        });
    }
    Ok(objects)
}

fn malformed(number: usize, line: &str) -> String {
    format!(
        "objects line {}: `{line}` is not group/Kind/namespace/name (`_` for the core group or no namespace)",
        number + 1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectKey {
        ObjectKey {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.map(Into::into),
            name: name.into(),
        }
    }

    #[test]
    fn round_trip_in_sorted_lines() {
        let objects = BTreeSet::from([
            key("apps", "StatefulSet", Some("data"), "redis"),
            key("", "Namespace", None, "data"),
            key("", "ConfigMap", Some("data"), "redis-config"),
            key(
                "monitoring.coreos.com",
                "ServiceMonitor",
                Some("data"),
                "redis",
            ),
            key("rbac.authorization.k8s.io", "ClusterRole", None, "reader"),
        ]);
        let text = encode(&objects);
        assert_eq!(
            text,
            "_/ConfigMap/data/redis-config\n\
             _/Namespace/_/data\n\
             apps/StatefulSet/data/redis\n\
             monitoring.coreos.com/ServiceMonitor/data/redis\n\
             rbac.authorization.k8s.io/ClusterRole/_/reader\n"
        );
        assert_eq!(decode(&text).unwrap(), objects);
    }

    #[test]
    fn empty_round_trip() {
        assert_eq!(encode(&BTreeSet::new()), "");
        assert_eq!(decode("").unwrap(), BTreeSet::new());
        assert_eq!(decode("\n  \n").unwrap(), BTreeSet::new());
    }

    #[test]
    fn malformed_line_is_named() {
        let error = decode("_/ConfigMap/data/a\napps/StatefulSet/redis\n").unwrap_err();
        assert!(
            error.starts_with("objects line 2: `apps/StatefulSet/redis`"),
            "{error}"
        );
        assert!(decode("_/ConfigMap/data/a/b").is_err());
        assert!(decode("_/_/data/a").is_err());
        assert!(decode("_/ConfigMap/data/").is_err());
    }
}
