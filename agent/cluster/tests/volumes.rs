//! StatefulSet volumes: in-place expansion of the claims, and refusals with advice.

mod common;

use std::time::Duration;

use common::{Env, builtin_only, edit, example_files, find, outcome, render};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, PostParams};
use kube_standin::Options;
use serde_json::Value;
use strata_agent_cluster::apply::{Change, Failure};

/// Grape's storage in `tiers/vector.yaml`, unique in the file.
const GRAPE_STORAGE: &str = "size: 100Gi\n    storageClass: weaviate-gp3";

async fn storage_class(env: &Env, name: &str, expandable: bool) {
    let api: Api<StorageClass> = Api::all(env.cluster.client.clone());
    let class = StorageClass {
        metadata: kube::api::ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        provisioner: "ebs.csi.aws.com".to_owned(),
        allow_volume_expansion: Some(expandable),
        ..Default::default()
    };
    api.create(&PostParams::default(), &class).await.unwrap();
}

fn claim(env: &Env, name: &str) -> Option<Value> {
    env.stored("v1", "persistentvolumeclaims", Some("data"), name)
}

fn size(claim: &Value) -> &str {
    claim["spec"]["resources"]["requests"]["storage"]
        .as_str()
        .unwrap()
}

/// The stand-in's StatefulSet controller creates the claims of grape's 3 pods.
async fn wait_for_claims(env: &Env) -> Vec<Value> {
    for _ in 0..100 {
        let claims: Vec<_> = (0..3)
            .filter_map(|i| claim(env, &format!("data-grape-{i}")))
            .collect();
        if claims.len() == 3 {
            return claims;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stand-in's controller did not create grape's claims");
}

fn uid(value: &Value) -> String {
    value["metadata"]["uid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn storage_increase_expands_claims_and_recreates_the_statefulset() {
    let env = Env::with(Options {
        controllers: true,
        ..Default::default()
    })
    .await;
    storage_class(&env, "weaviate-gp3", true).await;
    let objects = builtin_only(&render(&example_files()));
    env.apply(&objects).await;
    let claims = wait_for_claims(&env).await;
    let sts_before = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();

    let mut files = example_files();
    edit(
        &mut files,
        "tiers/vector.yaml",
        GRAPE_STORAGE,
        &GRAPE_STORAGE.replace("100Gi", "200Gi"),
    );
    let grown = builtin_only(&render(&files));
    let key = find(&grown, "StatefulSet", "grape").key();
    let report = env.apply(&grown).await;
    assert_eq!(
        outcome(&report, &key),
        &Ok(Change::Expanded {
            from: "100Gi".into(),
            to: "200Gi".into()
        })
    );

    for (i, before) in claims.iter().enumerate() {
        let after = claim(&env, &format!("data-grape-{i}")).expect("claims are never deleted");
        assert_eq!(uid(&after), uid(before), "data-grape-{i} is the same claim");
        assert_eq!(size(&after), "200Gi", "data-grape-{i}");
    }
    let sts = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_ne!(uid(&sts), uid(&sts_before), "re-created");
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "200Gi"
    );
    // The other StatefulSets' claims were not touched.
    let weaviate = claim(&env, "data-weaviate-0").expect("weaviate's claim");
    assert_eq!(size(&weaviate), "500Gi");

    let report = env.apply(&grown).await;
    assert_eq!(outcome(&report, &key), &Ok(Change::Unchanged));
}

#[tokio::test]
async fn storage_class_change_is_refused_with_advice() {
    let env = Env::with(Options {
        controllers: true,
        ..Default::default()
    })
    .await;
    storage_class(&env, "weaviate-gp3", true).await;
    let objects = builtin_only(&render(&example_files()));
    env.apply(&objects).await;
    let claims = wait_for_claims(&env).await;
    let sts_before = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();

    let mut files = example_files();
    edit(
        &mut files,
        "tiers/vector.yaml",
        GRAPE_STORAGE,
        &GRAPE_STORAGE.replace("weaviate-gp3", "fast-gp3"),
    );
    let changed = builtin_only(&render(&files));
    let key = find(&changed, "StatefulSet", "grape").key();
    let writes = env.standin.writes();
    let report = env.apply(&changed).await;
    match outcome(&report, &key) {
        Err(Failure::Immutable { field, advice }) => {
            assert_eq!(field, "spec.volumeClaimTemplates[0].spec.storageClassName");
            assert!(
                advice.contains("StatefulSet data/grape cannot change storageClassName"),
                "{advice}"
            );
            assert!(advice.contains("weaviate-gp3 → fast-gp3"), "{advice}");
            assert!(advice.contains("will not delete volumes"), "{advice}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.standin.writes(), writes, "nothing written");
    let sts = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(uid(&sts), uid(&sts_before));
    for (i, before) in claims.iter().enumerate() {
        let after = claim(&env, &format!("data-grape-{i}")).unwrap();
        assert_eq!(uid(&after), uid(before));
    }
}

#[tokio::test]
async fn expansion_needs_an_expandable_storage_class() {
    let env = Env::with(Options {
        controllers: true,
        ..Default::default()
    })
    .await;
    storage_class(&env, "weaviate-gp3", false).await;
    let objects = builtin_only(&render(&example_files()));
    env.apply(&objects).await;
    wait_for_claims(&env).await;
    let sts_before = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();

    let mut files = example_files();
    edit(
        &mut files,
        "tiers/vector.yaml",
        GRAPE_STORAGE,
        &GRAPE_STORAGE.replace("100Gi", "200Gi"),
    );
    let grown = builtin_only(&render(&files));
    let key = find(&grown, "StatefulSet", "grape").key();
    let report = env.apply(&grown).await;
    match outcome(&report, &key) {
        Err(Failure::Immutable { field, advice }) => {
            assert_eq!(
                field,
                "spec.volumeClaimTemplates[0].spec.resources.requests.storage"
            );
            assert!(
                advice.contains("allowVolumeExpansion: true on StorageClass weaviate-gp3"),
                "{advice}"
            );
        }
        other => panic!("{other:?}"),
    }
    for i in 0..3 {
        assert_eq!(
            size(&claim(&env, &format!("data-grape-{i}")).unwrap()),
            "100Gi"
        );
    }
    let sts = env
        .stored("apps/v1", "statefulsets", Some("data"), "grape")
        .unwrap();
    assert_eq!(uid(&sts), uid(&sts_before), "not re-created");
}

#[tokio::test]
async fn shrinking_is_refused() {
    let env = Env::start().await;
    let objects = builtin_only(&render(&example_files()));
    env.apply(&objects).await;

    let mut files = example_files();
    edit(
        &mut files,
        "tiers/vector.yaml",
        GRAPE_STORAGE,
        &GRAPE_STORAGE.replace("100Gi", "50Gi"),
    );
    let shrunk = builtin_only(&render(&files));
    let key = find(&shrunk, "StatefulSet", "grape").key();
    let report = env.apply(&shrunk).await;
    assert!(
        matches!(outcome(&report, &key), Err(Failure::Immutable { advice, .. }) if advice.contains("shrink")),
        "{:?}",
        outcome(&report, &key)
    );
}
