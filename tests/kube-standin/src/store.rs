//! The stored objects, the global resourceVersion counter and the served kinds.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};

use serde_json::Value;

use crate::defaults::Env;
use crate::kinds::{Registry, ResourceType};

/// Objects of one resource by (namespace, name); namespace is "" when cluster-scoped.
type Objects = BTreeMap<(String, String), Value>;

pub struct Store {
    /// The last resourceVersion handed out; one counter for all kinds, like etcd's revision.
    rv: u64,
    objects: HashMap<(String, String), Objects>,
    pub registry: Registry,
    pub next_ip: u32,
    pub next_node_port: u32,
    random: RandomState,
    uids: u64,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            rv: 1000,
            objects: HashMap::new(),
            registry: Registry::default(),
            next_ip: 10,
            next_node_port: 30000,
            random: RandomState::new(),
            uids: 0,
        }
    }
}

fn key_of(obj: &Value) -> (String, String) {
    let meta = &obj["metadata"];
    let s = |k: &str| meta[k].as_str().unwrap_or_default().to_owned();
    (s("namespace"), s("name"))
}

impl Store {
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    pub fn next_resource_version(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    /// A random 64-bit number (no RNG dependency: std's randomly seeded hasher).
    pub fn random(&mut self) -> u64 {
        self.uids += 1;
        self.random.hash_one(self.uids)
    }

    /// A version-4-shaped UUID.
    pub fn uid(&mut self) -> String {
        let (a, b) = (self.random(), self.random());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    pub fn get(&self, rt: &ResourceType, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&rt.storage_key())?
            .get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Objects of a resource, in one namespace or (`None`) all, ordered by namespace and name.
    pub fn list(&self, rt: &ResourceType, namespace: Option<&str>) -> Vec<&Value> {
        let Some(objects) = self.objects.get(&rt.storage_key()) else {
            return Vec::new();
        };
        objects
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn insert(&mut self, rt: &ResourceType, obj: Value) {
        self.objects
            .entry(rt.storage_key())
            .or_default()
            .insert(key_of(&obj), obj);
        if rt.is("apiextensions.k8s.io", "customresourcedefinitions") {
            self.refresh_crds();
        }
    }

    /// Removes an object, and what goes with it: a Namespace's contents, a CRD's objects.
    pub fn remove(&mut self, rt: &ResourceType, namespace: &str, name: &str) -> Option<Value> {
        let removed = self
            .objects
            .get_mut(&rt.storage_key())?
            .remove(&(namespace.to_owned(), name.to_owned()))?;
        if rt.is("", "namespaces") {
            let namespaced: Vec<(String, String)> = self
                .registry
                .all()
                .filter(|r| r.namespaced)
                .map(ResourceType::storage_key)
                .collect();
            for key in namespaced {
                if let Some(objects) = self.objects.get_mut(&key) {
                    objects.retain(|(ns, _), _| ns != name);
                }
            }
        }
        if rt.is("apiextensions.k8s.io", "customresourcedefinitions") {
            let spec = &removed["spec"];
            if let (Some(group), Some(plural)) =
                (spec["group"].as_str(), spec["names"]["plural"].as_str())
            {
                self.objects.remove(&(group.to_owned(), plural.to_owned()));
            }
            self.refresh_crds();
        }
        Some(removed)
    }

    fn refresh_crds(&mut self) {
        let crds = self.objects.get(&(
            "apiextensions.k8s.io".into(),
            "customresourcedefinitions".into(),
        ));
        self.registry
            .set_crds(crds.into_iter().flat_map(|m| m.values()));
    }

    pub fn namespace_exists(&self, name: &str) -> bool {
        self.objects
            .get(&(String::new(), "namespaces".to_owned()))
            .is_some_and(|m| m.contains_key(&(String::new(), name.to_owned())))
    }

    /// The allocators and the default StorageClass, for defaulting one write.
    pub fn env(&self) -> Env {
        let classes = self
            .objects
            .get(&("storage.k8s.io".to_owned(), "storageclasses".to_owned()));
        let default_storage_class = classes.into_iter().flat_map(|m| m.values()).find_map(|sc| {
            let annotations = &sc["metadata"]["annotations"];
            let default = annotations["storageclass.kubernetes.io/is-default-class"] == "true";
            default
                .then(|| sc["metadata"]["name"].as_str().map(str::to_owned))
                .flatten()
        });
        Env {
            next_ip: self.next_ip,
            next_node_port: self.next_node_port,
            default_storage_class,
        }
    }

    pub fn commit_env(&mut self, env: &Env) {
        self.next_ip = env.next_ip;
        self.next_node_port = env.next_node_port;
    }

    /// A StorageClass by name.
    pub fn storage_class(&self, name: &str) -> Option<&Value> {
        self.objects
            .get(&("storage.k8s.io".to_owned(), "storageclasses".to_owned()))?
            .get(&(String::new(), name.to_owned()))
    }
}
