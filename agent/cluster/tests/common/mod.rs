//! Shared by the integration tests: a stand-in API server, a cluster connected to it,
//! and the objects of the example config repo.

#![allow(dead_code)]

pub mod proxy;

use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use kube_standin::{Options, StandIn};
use serde_json::{Value, json};
use strata_agent_cluster::Cluster;
use strata_agent_cluster::apply::{self, ApplyOptions, ApplyReport, Change};
use strata_agent_core::object::{Object, ObjectKey};
use strata_agent_core::{Repo, RepoFile};

pub const CLUSTER: &str = "us-west-2";
pub const REVISION: &str = "rev1";

/// A stand-in and a cluster connected to it through a kubeconfig file, as the agent
/// connects.
pub struct Env {
    pub standin: StandIn,
    pub cluster: Cluster,
    _dir: tempfile::TempDir,
}

impl Env {
    pub async fn start() -> Env {
        Env::with(Options::default()).await
    }

    pub async fn with(options: Options) -> Env {
        let standin = StandIn::start(options).expect("the stand-in starts");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        standin.write_kubeconfig(&path).unwrap();
        let cluster = strata_agent_cluster::connect(Some(&path), None)
            .await
            .expect("connects to the stand-in");
        Env {
            standin,
            cluster,
            _dir: dir,
        }
    }

    /// A second, independent connection (another agent replica).
    pub async fn another_cluster(&self) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        self.standin.write_kubeconfig(&path).unwrap();
        strata_agent_cluster::connect(Some(&path), None)
            .await
            .unwrap()
    }

    /// A connection through a proxy at `url` in front of the stand-in.
    pub async fn cluster_via(&self, url: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kubeconfig");
        let kubeconfig = self.standin.kubeconfig().replace(&self.standin.url(), url);
        std::fs::write(&path, kubeconfig).unwrap();
        strata_agent_cluster::connect(Some(&path), None)
            .await
            .unwrap()
    }

    pub async fn apply(&self, objects: &[Object]) -> ApplyReport {
        apply::apply(&self.cluster, objects, &ApplyOptions::default())
            .await
            .expect("the cluster answers")
    }

    pub async fn apply_with(&self, objects: &[Object], options: ApplyOptions) -> ApplyReport {
        apply::apply(&self.cluster, objects, &options)
            .await
            .expect("the cluster answers")
    }

    /// The stored object of `key` (core kinds at v1, others at the version of `api_version`).
    pub fn stored(
        &self,
        api_version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.standin
            .get(&api_path(api_version, plural, namespace, name))
    }

    /// A dynamic API for a kind, by hand (tests know their kinds' plurals).
    pub fn dynamic(
        &self,
        api_version: &str,
        kind: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Api<DynamicObject> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let resource = ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
        };
        match namespace {
            Some(ns) => Api::namespaced_with(self.cluster.client.clone(), ns, &resource),
            None => Api::all_with(self.cluster.client.clone(), &resource),
        }
    }

    /// Server-side applies `body` as another field manager (another tool).
    pub async fn apply_as(
        &self,
        manager: &str,
        api: &Api<DynamicObject>,
        name: &str,
        body: Value,
        force: bool,
    ) {
        let mut params = PatchParams::apply(manager);
        params.force = force;
        api.patch(name, &params, &Patch::Apply(&body))
            .await
            .unwrap();
    }

    /// A merge patch as `kubectl edit` would send it (an Update by `manager`).
    pub async fn merge_as(&self, manager: &str, api: &Api<DynamicObject>, name: &str, body: Value) {
        let params = PatchParams {
            field_manager: Some(manager.to_owned()),
            ..Default::default()
        };
        api.patch(name, &params, &Patch::Merge(&body))
            .await
            .unwrap();
    }
}

pub fn api_path(api_version: &str, plural: &str, namespace: Option<&str>, name: &str) -> String {
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    match namespace {
        Some(ns) => format!("{base}/namespaces/{ns}/{plural}/{name}"),
        None => format!("{base}/{plural}/{name}"),
    }
}

/// `examples/config-repo` of this repository.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config-repo")
}

/// Every file under `dir`, with `/`-separated paths relative to it, in path order.
pub fn read_dir(dir: &Path) -> Vec<RepoFile> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<RepoFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
                out.push(RepoFile {
                    path: parts.join("/"),
                    contents: std::fs::read(&path).unwrap(),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The example repo's files.
pub fn example_files() -> Vec<RepoFile> {
    read_dir(&example_dir())
}

/// Replaces `from` (which must occur exactly once) with `to` in the file `path`.
pub fn edit(files: &mut [RepoFile], path: &str, from: &str, to: &str) {
    let file = files
        .iter_mut()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"));
    let text = String::from_utf8(file.contents.clone()).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "`{from}` must occur once in {path}"
    );
    file.contents = text.replace(from, to).into_bytes();
}

/// The objects of `files` for us-west-2 at `rev1`.
pub fn render(files: &[RepoFile]) -> Vec<Object> {
    Repo::load(files)
        .render(Some(CLUSTER), REVISION)
        .expect("the example renders")
}

/// The example repo rendered for us-west-2 at `rev1`.
pub fn example_objects() -> Vec<Object> {
    render(&example_files())
}

/// The objects of `objects` whose kind is served without a CRD.
pub fn builtin_only(objects: &[Object]) -> Vec<Object> {
    objects
        .iter()
        .filter(|o| !matches!(o, Object::Custom(c) if c.api_version.contains(".coreos.com")))
        .cloned()
        .collect()
}

pub fn find<'a>(objects: &'a [Object], kind: &str, name: &str) -> &'a Object {
    objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

pub fn outcome<'a>(
    report: &'a ApplyReport,
    key: &ObjectKey,
) -> &'a Result<Change, strata_agent_cluster::apply::Failure> {
    &report
        .objects
        .iter()
        .find(|o| &o.key == key)
        .unwrap_or_else(|| panic!("{key} not in the report"))
        .outcome
}

/// Installs a CRD serving `kind` (`plural`) in `group` at v1.
pub async fn install_crd(env: &Env, group: &str, kind: &str, plural: &str) {
    let api = env.dynamic(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        None,
    );
    let name = format!("{plural}.{group}");
    let body = json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": group,
            "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
            }]
        }
    });
    env.apply_as("test", &api, &name, body, true).await;
}

/// The Prometheus Operator's kinds the example uses.
pub async fn install_monitoring_crds(env: &Env) {
    install_crd(
        env,
        "monitoring.coreos.com",
        "ServiceMonitor",
        "servicemonitors",
    )
    .await;
    install_crd(
        env,
        "monitoring.coreos.com",
        "PrometheusRule",
        "prometheusrules",
    )
    .await;
    install_crd(env, "monitoring.coreos.com", "PodMonitor", "podmonitors").await;
}
