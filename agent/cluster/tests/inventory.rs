//! The inventory ConfigMap: absent, round trip, malformed.

mod common;

use common::{Env, example_objects};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde_json::json;
use strata_agent_cluster::Error;
use strata_agent_cluster::inventory::{Inventory, InventoryRef};
use strata_agent_core::render::labels;

async fn agent_namespace(env: &Env) -> InventoryRef {
    let api: Api<Namespace> = Api::all(env.cluster.client.clone());
    let namespace = Namespace {
        metadata: kube::api::ObjectMeta {
            name: Some("strata-system".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    InventoryRef {
        namespace: "strata-system".into(),
        name: "strata-agent-inventory".into(),
    }
}

#[tokio::test]
async fn absent_inventory_is_empty() {
    let env = Env::start().await;
    let inventory = agent_namespace(&env).await;
    assert_eq!(
        inventory.load(&env.cluster).await.unwrap(),
        Inventory::default()
    );
}

#[tokio::test]
async fn inventory_round_trip() {
    let env = Env::start().await;
    let reference = agent_namespace(&env).await;
    let inventory = Inventory {
        revision: Some("0123abcd".into()),
        objects: example_objects().iter().map(|o| o.key()).collect(),
    };
    reference.save(&env.cluster, &inventory).await.unwrap();
    assert_eq!(reference.load(&env.cluster).await.unwrap(), inventory);

    let stored = env
        .stored(
            "v1",
            "configmaps",
            Some("strata-system"),
            "strata-agent-inventory",
        )
        .unwrap();
    assert_eq!(
        stored["metadata"]["labels"][labels::MANAGED_BY],
        labels::AGENT
    );
    assert_eq!(stored["data"]["revision"], "0123abcd");
    let lines: Vec<&str> = stored["data"]["objects"]
        .as_str()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(lines.len(), inventory.objects.len());
    assert!(lines.is_sorted());
    assert!(lines.contains(&"_/Namespace/_/data"), "{lines:?}");
    assert!(
        lines.contains(&"apps/StatefulSet/data/weaviate"),
        "{lines:?}"
    );

    // Saving again replaces the set (a pruned object leaves the inventory).
    let mut smaller = inventory.clone();
    let first = smaller.objects.iter().next().unwrap().clone();
    smaller.objects.remove(&first);
    smaller.revision = Some("4567ef".into());
    let writes = env.standin.writes();
    reference.save(&env.cluster, &smaller).await.unwrap();
    assert_eq!(env.standin.writes(), writes + 1);
    assert_eq!(reference.load(&env.cluster).await.unwrap(), smaller);
}

#[tokio::test]
async fn malformed_inventory_names_the_line() {
    let env = Env::start().await;
    let reference = agent_namespace(&env).await;
    let api = env.dynamic("v1", "ConfigMap", "configmaps", Some("strata-system"));
    let body = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "strata-agent-inventory", "namespace": "strata-system"},
        "data": {"revision": "abc", "objects": "_/ConfigMap/data/a\nnot-a-key\n"}
    });
    env.apply_as("someone", &api, "strata-agent-inventory", body, true)
        .await;
    match reference.load(&env.cluster).await {
        Err(Error::Inventory { name, message }) => {
            assert_eq!(name, "strata-system/strata-agent-inventory");
            assert!(message.contains("line 2"), "{message}");
            assert!(message.contains("not-a-key"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
