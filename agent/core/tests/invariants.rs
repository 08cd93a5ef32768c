//! Properties every render must have, checked on the example config repo (for each of
//! its clusters) and on generated documents covering every engine, topology and switch.

mod common;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use strata_agent_core::render::labels;
use strata_agent_core::{Object, Repo, RepoFile, to_yaml};

/// Every rendering the invariants are checked on: (what, objects).
fn renderings() -> Vec<(String, Vec<Object>)> {
    let mut out = Vec::new();
    let example = Repo::load(&common::read_dir(&common::example_dir()));
    assert_no_errors(&example, "examples/config-repo");
    for cluster in example.clusters() {
        let name = &cluster.metadata.name;
        let objects = example
            .render(Some(name), "0123abcd")
            .expect("example renders");
        out.push((format!("example for {name}"), objects));
    }
    let generated = Repo::load(&common::one_file(&common::generated_documents()));
    assert_no_errors(&generated, "generated documents");
    out.push((
        "generated".to_owned(),
        generated
            .render(None, "0123abcd")
            .expect("generated renders"),
    ));
    out
}

fn assert_no_errors(repo: &Repo, what: &str) {
    let errors: Vec<String> = repo.errors().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{what} has errors: {errors:#?}");
}

fn labels_of(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

fn template_labels(template: &PodTemplateSpec) -> BTreeMap<String, String> {
    template
        .metadata
        .as_ref()
        .map(labels_of)
        .unwrap_or_default()
}

fn matches(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Namespace, pod labels and fixed replica count of a workload object.
type PodSet = (Option<String>, BTreeMap<String, String>, Option<i32>);

/// Every workload object's pods.
fn pod_sets(objects: &[Object]) -> Vec<PodSet> {
    objects
        .iter()
        .filter_map(|o| {
            let replicas = match o {
                Object::StatefulSet(s) => s.spec.as_ref().and_then(|s| s.replicas),
                Object::Deployment(d) => d.spec.as_ref().and_then(|s| s.replicas),
                _ => None,
            };
            let template = o.pod_template()?;
            Some((
                o.namespace().map(str::to_owned),
                template_labels(template),
                replicas,
            ))
        })
        .collect()
}

#[test]
fn every_object_carries_the_ownership_labels_and_revision() {
    for (what, objects) in renderings() {
        assert!(!objects.is_empty(), "{what}: nothing rendered");
        for object in &objects {
            let labels = labels_of(object.metadata());
            for key in [
                labels::MANAGED_BY,
                labels::PART_OF,
                labels::TIER,
                labels::WORKLOAD,
            ] {
                assert!(
                    labels.contains_key(key),
                    "{what}: {} lacks label {key}",
                    object.key()
                );
            }
            assert_eq!(
                labels[labels::MANAGED_BY],
                labels::AGENT,
                "{what}: {}",
                object.key()
            );
            let annotations = object.metadata().annotations.clone().unwrap_or_default();
            assert_eq!(
                annotations.get(labels::REVISION).map(String::as_str),
                Some("0123abcd"),
                "{what}: {} lacks the revision",
                object.key()
            );
            if let Some(template) = object.pod_template() {
                let pod = template_labels(template);
                assert_eq!(
                    pod.get(labels::MANAGED_BY).map(String::as_str),
                    Some(labels::AGENT),
                    "{what}: pods of {}",
                    object.key()
                );
                let pod_annotations = template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.annotations.clone())
                    .unwrap_or_default();
                assert!(
                    !pod_annotations.contains_key(labels::REVISION),
                    "{what}: pods of {} would restart on every commit",
                    object.key()
                );
            }
        }
    }
}

#[test]
fn disruption_budgets_leave_a_pod_to_evict() {
    for (what, objects) in renderings() {
        let sets = pod_sets(&objects);
        for object in &objects {
            let Object::PodDisruptionBudget(pdb) = object else {
                continue;
            };
            let spec = pdb.spec.as_ref().unwrap();
            let selector = spec
                .selector
                .as_ref()
                .and_then(|s| s.match_labels.clone())
                .unwrap_or_default();
            let targets: Vec<_> = sets
                .iter()
                .filter(|(ns, labels, _)| {
                    ns.as_deref() == object.namespace() && matches(&selector, labels)
                })
                .collect();
            assert_eq!(
                targets.len(),
                1,
                "{what}: {} selects {} workloads",
                object.key(),
                targets.len()
            );
            let min = match spec.min_available.as_ref().expect("minAvailable") {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => *n,
                other => panic!("{what}: {} minAvailable {other:?}", object.key()),
            };
            // With an autoscaler the replica count is not fixed; its minimum is what counts.
            let replicas = targets[0]
                .2
                .or_else(|| hpa_min(&objects, object.namespace(), object.name()));
            let replicas =
                replicas.unwrap_or_else(|| panic!("{what}: no replica count for {}", object.key()));
            assert!(
                min < replicas,
                "{what}: {} minAvailable {min} ≥ {replicas} replicas",
                object.key()
            );
            assert!(min >= 1, "{what}: {} protects nothing", object.key());
        }
    }
}

fn hpa_min(objects: &[Object], namespace: Option<&str>, name: &str) -> Option<i32> {
    objects.iter().find_map(|o| match o {
        Object::HorizontalPodAutoscaler(h) if o.namespace() == namespace && o.name() == name => {
            h.spec.as_ref().and_then(|s| s.min_replicas)
        }
        _ => None,
    })
}

#[test]
fn every_stateful_set_has_its_headless_service() {
    for (what, objects) in renderings() {
        for object in &objects {
            let Object::StatefulSet(set) = object else {
                continue;
            };
            let spec = set.spec.as_ref().unwrap();
            let service_name = spec
                .service_name
                .clone()
                .unwrap_or_else(|| panic!("{what}: {} has no serviceName", object.key()));
            let pods = template_labels(&spec.template);
            let headless = objects.iter().find_map(|o| match o {
                Object::Service(s)
                    if o.name() == service_name && o.namespace() == object.namespace() =>
                {
                    Some(s)
                }
                _ => None,
            });
            let headless = headless.unwrap_or_else(|| {
                panic!(
                    "{what}: {} names Service {service_name}, which is not rendered",
                    object.key()
                )
            });
            let service = headless.spec.as_ref().unwrap();
            assert_eq!(
                service.cluster_ip.as_deref(),
                Some("None"),
                "{what}: {service_name} is not headless"
            );
            assert!(
                matches(service.selector.as_ref().unwrap(), &pods),
                "{what}: {service_name} does not select the pods of {}",
                object.key()
            );
        }
    }
}

#[test]
fn every_pod_runs_as_non_root_with_resources() {
    for (what, objects) in renderings() {
        for object in &objects {
            let Some(template) = object.pod_template() else {
                continue;
            };
            let pod = template.spec.as_ref().unwrap();
            let pod_non_root = pod
                .security_context
                .as_ref()
                .and_then(|s| s.run_as_non_root)
                == Some(true);
            let pod_uid = pod.security_context.as_ref().and_then(|s| s.run_as_user);
            let containers = pod
                .containers
                .iter()
                .chain(pod.init_containers.iter().flatten());
            for container in containers {
                let sc = container.security_context.as_ref();
                let non_root = sc.and_then(|s| s.run_as_non_root).unwrap_or(pod_non_root);
                let uid = sc.and_then(|s| s.run_as_user).or(pod_uid);
                assert!(
                    non_root,
                    "{what}: {} container {} may run as root",
                    object.key(),
                    container.name
                );
                assert_ne!(
                    uid,
                    Some(0),
                    "{what}: {} container {} runs as UID 0",
                    object.key(),
                    container.name
                );
                assert_eq!(
                    sc.and_then(|s| s.allow_privilege_escalation),
                    Some(false),
                    "{what}: {} container {}",
                    object.key(),
                    container.name
                );
                let resources = container.resources.as_ref();
                let has = |f: fn(&k8s_openapi::api::core::v1::ResourceRequirements) -> bool| {
                    resources.is_some_and(f)
                };
                assert!(
                    has(|r| r
                        .requests
                        .as_ref()
                        .is_some_and(|m| m.contains_key("memory"))),
                    "{what}: {} container {} has no memory request",
                    object.key(),
                    container.name
                );
                assert!(
                    has(|r| r.limits.as_ref().is_some_and(|m| m.contains_key("memory"))),
                    "{what}: {} container {} has no memory limit",
                    object.key(),
                    container.name
                );
            }
        }
    }
}

#[test]
fn services_select_rendered_pods() {
    for (what, objects) in renderings() {
        let sets = pod_sets(&objects);
        for object in &objects {
            let Object::Service(service) = object else {
                continue;
            };
            let selector = service
                .spec
                .as_ref()
                .and_then(|s| s.selector.clone())
                .unwrap_or_default();
            // Services selecting a label the operate step sets (the Raft leader) select a
            // subset of a rendered workload's pods.
            let selector: BTreeMap<_, _> = selector
                .into_iter()
                .filter(|(k, _)| k != "strata.dev/raft-role")
                .collect();
            let found = sets.iter().any(|(ns, labels, _)| {
                ns.as_deref() == object.namespace() && matches(&selector, labels)
            });
            assert!(found, "{what}: {} selects no rendered pods", object.key());
        }
    }
}

#[test]
fn secrets_are_referenced_never_inlined() {
    for (what, objects) in renderings() {
        for object in &objects {
            assert_ne!(
                object.kind(),
                "Secret",
                "{what}: rendered a Secret {}",
                object.key()
            );
            let Some(template) = object.pod_template() else {
                continue;
            };
            let pod = template.spec.as_ref().unwrap();
            for container in pod
                .containers
                .iter()
                .chain(pod.init_containers.iter().flatten())
            {
                for env in container.env.iter().flatten() {
                    let secret_like = [
                        "PASSWORD",
                        "SECRET",
                        "TOKEN",
                        "API_KEY",
                        "APIKEY_ALLOWED_KEYS",
                    ]
                    .iter()
                    .any(|s| env.name.contains(s));
                    if secret_like {
                        assert!(
                            env.value.is_none(),
                            "{what}: {} container {} sets {} inline",
                            object.key(),
                            container.name,
                            env.name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn output_is_byte_identical_across_runs_and_file_orders() {
    let files = common::read_dir(&common::example_dir());
    let mut reversed: Vec<RepoFile> = files.clone();
    reversed.reverse();
    for cluster in ["us-west-2", "us-east-1"] {
        let first = to_yaml(&Repo::load(&files).render(Some(cluster), "r1").unwrap());
        let second = to_yaml(&Repo::load(&files).render(Some(cluster), "r1").unwrap());
        let shuffled = to_yaml(&Repo::load(&reversed).render(Some(cluster), "r1").unwrap());
        assert_eq!(first, second, "{cluster}: two renders differ");
        assert_eq!(first, shuffled, "{cluster}: file order changes the output");
    }
    let generated = common::one_file(&common::generated_documents());
    assert_eq!(
        to_yaml(&Repo::load(&generated).render(None, "r1").unwrap()),
        to_yaml(&Repo::load(&generated).render(None, "r1").unwrap()),
    );
}

#[test]
fn objects_come_in_apply_order() {
    for (what, objects) in renderings() {
        let ranks: Vec<u8> = objects.iter().map(Object::apply_rank).collect();
        assert!(
            ranks.windows(2).all(|w| w[0] <= w[1]),
            "{what}: not in apply order"
        );
        assert_eq!(objects[0].kind(), "Namespace", "{what}: namespaces first");
    }
}
