//! Server-side apply against the stand-in: create, no-op, update, drift, conflicts, CRDs.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{
    Env, builtin_only, edit, example_files, example_objects, find, install_monitoring_crds,
    outcome, render,
};
use serde_json::json;
use strata_agent_cluster::apply::{ApplyOptions, Change, FORCE_ANNOTATION, Failure};
use strata_agent_core::object::{Object, ObjectKey};
use strata_agent_core::render::labels;

fn is_crd_backed(key: &ObjectKey) -> bool {
    key.group.ends_with("coreos.com")
}

/// The stored form of a rendered object, found through the agent's own discovery.
async fn stored(env: &Env, object: &Object) -> Option<serde_json::Value> {
    let key = object.key();
    let version = object.api_version().rsplit('/').next().unwrap().to_owned();
    let resolved = env
        .cluster
        .resolve(&key.group, &key.kind, Some(&version))
        .await
        .unwrap()
        .expect("kind served");
    let path = common::api_path(
        object.api_version(),
        &resolved.resource.plural,
        key.namespace.as_deref(),
        &key.name,
    );
    env.standin.get(&path)
}

#[tokio::test]
async fn first_apply_creates_every_object_with_ownership_labels() {
    let env = Env::start().await;
    let objects = example_objects();
    let report = env.apply(&objects).await;

    assert_eq!(report.objects.len(), objects.len());
    for (result, object) in report.objects.iter().zip(&objects) {
        assert_eq!(result.key, object.key(), "report in apply order");
        let expected = if is_crd_backed(&result.key) {
            Change::SkippedMissingKind
        } else {
            Change::Created
        };
        assert_eq!(result.outcome, Ok(expected), "{}", result.key);
    }
    for object in builtin_only(&objects) {
        let live = stored(&env, &object)
            .await
            .unwrap_or_else(|| panic!("{} stored", object.key()));
        let meta = &live["metadata"];
        assert_eq!(
            meta["labels"][labels::MANAGED_BY],
            labels::AGENT,
            "{}",
            object.key()
        );
        assert_eq!(
            meta["labels"][labels::PART_OF],
            labels::PLATFORM,
            "{}",
            object.key()
        );
        assert!(
            meta["labels"][labels::WORKLOAD].is_string(),
            "{}",
            object.key()
        );
        assert_eq!(
            meta["annotations"][labels::REVISION],
            common::REVISION,
            "{}",
            object.key()
        );
        let managers: Vec<_> = meta["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["manager"].as_str().unwrap_or_default())
            .collect();
        assert!(
            managers.contains(&"strata-agent"),
            "{}: {managers:?}",
            object.key()
        );
    }
}

#[tokio::test]
async fn second_apply_changes_nothing_and_writes_nothing() {
    let env = Env::start().await;
    install_monitoring_crds(&env).await;
    let objects = example_objects();
    env.apply(&objects).await;

    let writes = env.standin.writes();
    let started = Instant::now();
    let report = env.apply(&objects).await;
    let took = started.elapsed();

    for result in &report.objects {
        assert_eq!(result.outcome, Ok(Change::Unchanged), "{}", result.key);
    }
    assert_eq!(
        env.standin.writes(),
        writes,
        "a no-change pass writes nothing"
    );
    assert_eq!(report.changed().count(), 0);
    // Well under 100 ms on a release build against a local API; a debug build gets slack.
    assert!(
        took < Duration::from_secs(2),
        "a no-change pass of {} objects took {took:?}",
        objects.len()
    );
    eprintln!("no-change pass of {} objects: {took:?}", objects.len());
}

#[tokio::test]
async fn changed_setting_updates_only_the_objects_it_changes() {
    let env = Env::start().await;
    let before = builtin_only(&example_objects());
    env.apply(&before).await;

    let mut files = example_files();
    edit(
        &mut files,
        "tiers/vector.yaml",
        "image: semitechnologies/weaviate:1.23.0",
        "image: semitechnologies/weaviate:1.24.0",
    );
    let after = builtin_only(&render(&files));
    let changed: BTreeSet<ObjectKey> = after
        .iter()
        .filter(|o| {
            before
                .iter()
                .find(|b| b.key() == o.key())
                .map(Object::to_json)
                != Some(o.to_json())
        })
        .map(Object::key)
        .collect();
    assert!(!changed.is_empty());

    let report = env.apply(&after).await;
    for result in &report.objects {
        match &result.outcome {
            Ok(Change::Updated { fields }) => {
                assert!(
                    changed.contains(&result.key),
                    "{} updated: {fields:?}",
                    result.key
                );
                assert!(!fields.is_empty());
            }
            other => {
                assert!(!changed.contains(&result.key), "{}: {other:?}", result.key);
                assert_eq!(other, &Ok(Change::Unchanged), "{}", result.key);
            }
        }
    }
    let sts = find(&after, "StatefulSet", "weaviate").key();
    let Ok(Change::Updated { fields }) = outcome(&report, &sts) else {
        panic!("weaviate StatefulSet not updated");
    };
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("spec.template.spec.containers[") && f.ends_with("].image")),
        "{fields:?}"
    );
    let live = env
        .stored("apps/v1", "statefulsets", Some("data"), "weaviate")
        .unwrap();
    let images: Vec<_> = live["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["image"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        images.contains(&"semitechnologies/weaviate:1.24.0".to_owned()),
        "{images:?}"
    );
}

#[tokio::test]
async fn out_of_band_edits_are_taken_back_and_reported() {
    let env = Env::start().await;
    let objects = builtin_only(&example_objects());
    env.apply(&objects).await;
    let grape = find(&objects, "StatefulSet", "grape");
    let tier = grape.metadata().labels.as_ref().unwrap()[labels::TIER].clone();

    let api = env.dynamic("apps/v1", "StatefulSet", "statefulsets", Some("data"));
    env.merge_as(
        "kubectl-edit",
        &api,
        "grape",
        json!({"spec": {"replicas": 5}, "metadata": {"labels": {labels::TIER: "edited"}}}),
    )
    .await;
    let live = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 5);

    let report = env.apply(&objects).await;
    let Ok(Change::Updated { fields }) = outcome(&report, &grape.key()) else {
        panic!("{:?}", outcome(&report, &grape.key()));
    };
    assert!(fields.contains(&"spec.replicas".to_owned()), "{fields:?}");
    assert!(
        fields.contains(&format!("metadata.labels.{}", labels::TIER)),
        "{fields:?}"
    );
    let live = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 3);
    assert_eq!(live["metadata"]["labels"][labels::TIER], tier.as_str());
    for result in report.objects.iter().filter(|r| r.key != grape.key()) {
        assert_eq!(result.outcome, Ok(Change::Unchanged), "{}", result.key);
    }
    // Taken back for good: the next pass has nothing to do.
    let report = env.apply(&objects).await;
    assert_eq!(outcome(&report, &grape.key()), &Ok(Change::Unchanged));
}

#[tokio::test]
async fn another_applier_is_a_conflict_until_forced() {
    let env = Env::start().await;
    let mut objects = builtin_only(&example_objects());
    env.apply(&objects).await;
    let key = find(&objects, "StatefulSet", "grape").key();

    let api = env.dynamic("apps/v1", "StatefulSet", "statefulsets", Some("data"));
    let body = json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "grape", "namespace": "data"},
        "spec": {"replicas": 4}
    });
    env.apply_as("helm", &api, "grape", body, true).await;

    let writes = env.standin.writes();
    let report = env.apply(&objects).await;
    match outcome(&report, &key) {
        Err(Failure::Conflict {
            managers,
            fields,
            message,
        }) => {
            assert_eq!(managers, &["helm"]);
            assert_eq!(fields, &["spec.replicas"]);
            assert!(message.contains("helm"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.standin.writes(), writes, "nothing forced");
    let live = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 4, "the other tool's value stays");
    // The other objects were applied all the same.
    assert_eq!(report.failures().count(), 1);

    // The workload opts in to taking the field.
    let Object::StatefulSet(sts) = objects.iter_mut().find(|o| o.key() == key).unwrap() else {
        unreachable!()
    };
    sts.metadata
        .annotations
        .get_or_insert_default()
        .insert(FORCE_ANNOTATION.to_owned(), "true".to_owned());
    let report = env.apply(&objects).await;
    let Ok(Change::Updated { fields }) = outcome(&report, &key) else {
        panic!("{:?}", outcome(&report, &key));
    };
    assert!(fields.contains(&"spec.replicas".to_owned()), "{fields:?}");
    let live = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 3);
}

#[tokio::test]
async fn force_option_takes_fields_of_other_appliers() {
    let env = Env::start().await;
    let objects = builtin_only(&example_objects());
    env.apply(&objects).await;
    let key = find(&objects, "ConfigMap", "grape-config").key();
    let api = env.dynamic("v1", "ConfigMap", "configmaps", Some("data"));
    let live = env
        .stored("v1", "configmaps", Some("data"), "grape-config")
        .unwrap();
    let (field, value) = live["data"].as_object().unwrap().iter().next().unwrap();
    let body = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "grape-config", "namespace": "data"},
        "data": {field.as_str(): "theirs"}
    });
    env.apply_as("argocd", &api, "grape-config", body, true)
        .await;

    let report = env
        .apply_with(
            &objects,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await;
    assert!(
        matches!(outcome(&report, &key), Err(Failure::Conflict { .. })),
        "{:?}",
        outcome(&report, &key)
    );

    let report = env
        .apply_with(
            &objects,
            ApplyOptions {
                dry_run: false,
                force: true,
            },
        )
        .await;
    assert_eq!(
        outcome(&report, &key),
        &Ok(Change::Updated {
            fields: vec![format!("data.{field}")]
        })
    );
    let live = env
        .stored("v1", "configmaps", Some("data"), "grape-config")
        .unwrap();
    assert_eq!(&live["data"][field.as_str()], value);
}

#[tokio::test]
async fn crd_backed_kinds_wait_for_their_crd() {
    let env = Env::start().await;
    let objects = example_objects();
    let report = env.apply(&objects).await;
    let custom: Vec<_> = report
        .objects
        .iter()
        .filter(|r| is_crd_backed(&r.key))
        .collect();
    assert!(!custom.is_empty());
    for result in &custom {
        assert_eq!(
            result.outcome,
            Ok(Change::SkippedMissingKind),
            "{}",
            result.key
        );
    }
    assert!(
        env.stored(
            "monitoring.coreos.com/v1",
            "servicemonitors",
            Some("data"),
            "weaviate"
        )
        .is_none()
    );

    install_monitoring_crds(&env).await;
    let report = env.apply(&objects).await;
    for result in &report.objects {
        let expected = if is_crd_backed(&result.key) {
            Change::Created
        } else {
            Change::Unchanged
        };
        assert_eq!(result.outcome, Ok(expected), "{}", result.key);
    }
    let monitor = env
        .stored(
            "monitoring.coreos.com/v1",
            "servicemonitors",
            Some("data"),
            "weaviate",
        )
        .expect("ServiceMonitor applied once its CRD exists");
    assert_eq!(
        monitor["metadata"]["labels"][labels::MANAGED_BY],
        labels::AGENT
    );
}

#[tokio::test]
async fn dry_run_reports_what_would_change_and_writes_nothing() {
    let env = Env::start().await;
    let objects = builtin_only(&example_objects());

    let writes = env.standin.writes();
    let report = env
        .apply_with(
            &objects,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await;
    for result in &report.objects {
        assert_eq!(result.outcome, Ok(Change::Created), "{}", result.key);
    }
    assert_eq!(env.standin.writes(), writes);
    assert!(env.stored("v1", "namespaces", None, "data").is_none());

    env.apply(&objects).await;
    let mut files = example_files();
    edit(&mut files, "tiers/redis.yaml", "masters: 3", "masters: 4");
    let changed = builtin_only(&render(&files));
    let writes = env.standin.writes();
    let report = env
        .apply_with(
            &changed,
            ApplyOptions {
                dry_run: true,
                force: false,
            },
        )
        .await;
    let key = find(&changed, "StatefulSet", "redis").key();
    let Ok(Change::Updated { fields }) = outcome(&report, &key) else {
        panic!("{:?}", outcome(&report, &key));
    };
    assert!(fields.contains(&"spec.replicas".to_owned()), "{fields:?}");
    assert_eq!(env.standin.writes(), writes);
    let live = env
        .stored("apps/v1", "statefulsets", Some("redis-system"), "redis")
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 6);
}

#[tokio::test]
async fn an_invalid_object_fails_alone() {
    let env = Env::start().await;
    let mut objects = builtin_only(&example_objects());
    let Object::Service(service) = objects
        .iter_mut()
        .find(|o| o.kind() == "Service" && o.name() == "weaviate")
        .unwrap()
    else {
        unreachable!()
    };
    service.spec.as_mut().unwrap().ports.as_mut().unwrap()[0].port = 0;
    let report = env.apply(&objects).await;
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let (key, failure) = failures[0];
    assert_eq!(key.name, "weaviate");
    let Failure::Invalid { message } = failure else {
        panic!("{failure:?}");
    };
    assert!(message.contains("port"), "{message}");
    assert_eq!(report.changed().count(), objects.len() - 1);
}

#[tokio::test]
async fn an_unreachable_cluster_is_an_error() {
    let env = Env::start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    env.standin.write_kubeconfig(&path).unwrap();
    drop(env);
    let cluster = strata_agent_cluster::connect(Some(&path), None)
        .await
        .unwrap();
    let objects = builtin_only(&example_objects());
    let error = strata_agent_cluster::apply::apply(&cluster, &objects, &ApplyOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.class(),
        strata_agent_cluster::ErrorClass::Transient,
        "{error}"
    );
}

#[tokio::test]
async fn immutable_field_change_is_refused_with_advice() {
    let env = Env::start().await;
    let mut objects = builtin_only(&example_objects());
    env.apply(&objects).await;
    let Object::StatefulSet(sts) = objects
        .iter_mut()
        .find(|o| o.kind() == "StatefulSet" && o.name() == "grape")
        .unwrap()
    else {
        unreachable!()
    };
    sts.spec.as_mut().unwrap().service_name = Some("elsewhere".into());
    let key = find(&objects, "StatefulSet", "grape").key();
    let report = env.apply(&objects).await;
    match outcome(&report, &key) {
        Err(Failure::Immutable { field, advice }) => {
            assert!(field.starts_with("spec"), "{field}");
            assert!(advice.contains("StatefulSet data/grape"), "{advice}");
            assert!(advice.contains("--cascade=orphan"), "{advice}");
        }
        other => panic!("{other:?}"),
    }
    let live = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(live["spec"]["serviceName"], "grape-headless");
}
