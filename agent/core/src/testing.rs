//! Helpers for the crate's unit tests: one document in, diagnostics or objects out.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{ConfigMap, Container, PersistentVolumeClaim, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;

use crate::diag::Diagnostic;
use crate::load::RepoFile;
use crate::object::{CustomObject, Object};
use crate::repo::Repo;

/// The repo made of one file `tiers/test.yaml` with `yaml` in it.
pub fn repo(yaml: &str) -> Repo {
    Repo::load(&[RepoFile {
        path: "tiers/test.yaml".to_owned(),
        contents: yaml.as_bytes().to_vec(),
    }])
}

/// The diagnostics of `yaml`, rendered as the CLI prints them.
pub fn diagnostics(yaml: &str) -> Vec<String> {
    repo(yaml)
        .diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect()
}

/// Asserts `yaml` has an error containing every one of `parts` (e.g. the path and the message).
#[track_caller]
pub fn assert_error(yaml: &str, parts: &[&str]) {
    let repo = repo(yaml);
    let errors: Vec<String> = repo.errors().map(Diagnostic::to_string).collect();
    assert!(
        errors.iter().any(|e| parts.iter().all(|p| e.contains(p))),
        "no error containing {parts:?} in {errors:#?}"
    );
}

/// Renders `yaml` (which must be valid) for no particular cluster at revision `abc123`.
#[track_caller]
pub fn render(yaml: &str) -> Vec<Object> {
    let repo = repo(yaml);
    let errors: Vec<String> = repo.errors().map(Diagnostic::to_string).collect();
    assert!(errors.is_empty(), "unexpected errors: {errors:#?}");
    repo.render(None, "abc123").expect("renders")
}

macro_rules! finder {
    ($fn:ident, $variant:ident, $ty:ty) => {
        /// The object of this kind named `name`; panics listing what was rendered.
        #[track_caller]
        pub fn $fn<'a>(objects: &'a [Object], name: &str) -> &'a $ty {
            objects
                .iter()
                .find_map(|o| match o {
                    Object::$variant(x) if o.name() == name => Some(x),
                    _ => None,
                })
                .unwrap_or_else(|| {
                    panic!(
                        "no {} `{name}` in {:?}",
                        stringify!($variant),
                        keys(objects)
                    )
                })
        }
    };
}

finder!(stateful_set, StatefulSet, StatefulSet);
finder!(deployment, Deployment, Deployment);
finder!(service, Service, Service);
finder!(config_map, ConfigMap, ConfigMap);
finder!(pdb, PodDisruptionBudget, PodDisruptionBudget);
finder!(hpa, HorizontalPodAutoscaler, HorizontalPodAutoscaler);
finder!(network_policy, NetworkPolicy, NetworkPolicy);
finder!(cron_job, CronJob, CronJob);
finder!(pvc, PersistentVolumeClaim, PersistentVolumeClaim);

/// The custom object (ServiceMonitor, PrometheusRule, …) of `kind` named `name`.
#[track_caller]
pub fn custom<'a>(objects: &'a [Object], kind: &str, name: &str) -> &'a CustomObject {
    objects
        .iter()
        .find_map(|o| match o {
            Object::Custom(x) if x.kind == kind && o.name() == name => Some(x),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {kind} `{name}` in {:?}", keys(objects)))
}

/// `Kind namespace/name` of every object, for failure messages and exact-set assertions.
pub fn keys(objects: &[Object]) -> Vec<String> {
    objects.iter().map(|o| o.key().to_string()).collect()
}

/// The container named `name` of a StatefulSet.
#[track_caller]
pub fn container<'a>(set: &'a StatefulSet, name: &str) -> &'a Container {
    set.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .and_then(|p| p.containers.iter().find(|c| c.name == name))
        .unwrap_or_else(|| panic!("no container `{name}`"))
}
