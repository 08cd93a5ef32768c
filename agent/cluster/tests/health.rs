//! Workload health from the live rollout status.

mod common;

use std::time::Duration;

use common::{Env, builtin_only, example_objects};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube_standin::Options;
use serde_json::{Value, json};
use strata_agent_cluster::health::{State, WorkloadHealth, health};
use strata_agent_core::render::labels;

/// Writes `status` through the status subresource, as the controller would.
async fn set_status<K>(api: &Api<K>, name: &str, status: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .unwrap();
}

async fn statefulset_rolled_out(env: &Env, namespace: &str, name: &str, ready: Option<i64>) {
    let api: Api<StatefulSet> = Api::namespaced(env.cluster.client.clone(), namespace);
    let live = env
        .stored("apps/v1", "statefulsets", Some(namespace), name)
        .unwrap();
    let replicas = live["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = json!({
        "observedGeneration": live["metadata"]["generation"],
        "replicas": replicas,
        "readyReplicas": ready.unwrap_or(replicas),
        "updatedReplicas": replicas,
        "currentRevision": format!("{name}-1"),
        "updateRevision": format!("{name}-1"),
    });
    set_status(&api, name, status).await;
}

fn summary(report: &[WorkloadHealth]) -> Vec<(String, State, String)> {
    report
        .iter()
        .map(|w| {
            (
                format!("{}/{}", w.namespace, w.workload),
                w.state,
                w.reason.clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn health_follows_rollout_status() {
    let env = Env::start().await;
    let objects = builtin_only(&example_objects());
    env.apply(&objects).await;

    // Nothing has observed the new specs yet.
    let report = health(&env.cluster, &objects).await.unwrap();
    assert_eq!(report.len(), 5, "{report:?}");
    for workload in &report {
        assert_eq!(workload.state, State::Progressing, "{workload:?}");
        assert_eq!(workload.reason, "ObservedGenerationStale", "{workload:?}");
    }

    statefulset_rolled_out(&env, "cache", "sessions", None).await;
    statefulset_rolled_out(&env, "cache", "sessions-sentinel", Some(2)).await;
    statefulset_rolled_out(&env, "data", "weaviate", None).await;
    statefulset_rolled_out(&env, "redis-system", "redis", None).await;
    statefulset_rolled_out(&env, "streaming", "chronik-controller", None).await;
    let deployments: Api<Deployment> = Api::namespaced(env.cluster.client.clone(), "streaming");
    let live = env
        .stored(
            "apps/v1",
            "deployments",
            Some("streaming"),
            "chronik-ingest",
        )
        .unwrap();
    let status = json!({
        "observedGeneration": live["metadata"]["generation"],
        "replicas": 10, "updatedReplicas": 4, "availableReplicas": 4,
        "conditions": [{
            "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"chronik-ingest-7d9\" has timed out progressing."
        }]
    });
    set_status(&deployments, "chronik-ingest", status).await;
    // Grape's StatefulSet was deleted behind the agent's back.
    let statefulsets: Api<StatefulSet> = Api::namespaced(env.cluster.client.clone(), "data");
    statefulsets
        .delete("grape", &DeleteParams::default())
        .await
        .unwrap();

    let report = health(&env.cluster, &objects).await.unwrap();
    assert_eq!(
        summary(&report),
        [
            (
                "cache/sessions".into(),
                State::Progressing,
                "ReplicasNotReady".into()
            ),
            ("data/grape".into(), State::Failed, "Missing".into()),
            (
                "data/weaviate".into(),
                State::Ready,
                "RolloutComplete".into()
            ),
            (
                "redis-system/redis".into(),
                State::Ready,
                "RolloutComplete".into()
            ),
            (
                "streaming/chronik".into(),
                State::Failed,
                "ProgressDeadlineExceeded".into()
            ),
        ]
    );
    let sessions = &report[0];
    assert_eq!(
        sessions.message,
        "StatefulSet cache/sessions-sentinel: 2 of 3 replicas ready"
    );
    assert_eq!(sessions.tier, "redis");
    assert_eq!(report[4].tier, "stream");
    assert!(
        report[4]
            .message
            .starts_with("Deployment streaming/chronik-ingest: "),
        "{}",
        report[4].message
    );

    // A pod of the unfinished rollout crash-loops: that will not fix itself.
    crash_looping_pod(&env, "cache", "sessions").await;
    let report = health(&env.cluster, &objects).await.unwrap();
    let sessions = &report[0];
    assert_eq!(
        (sessions.state, sessions.reason.as_str()),
        (State::Failed, "CrashLoopBackOff")
    );
    assert!(
        sessions
            .message
            .contains("pod sessions-sentinel-2 container sentinel: CrashLoopBackOff"),
        "{}",
        sessions.message
    );
}

async fn crash_looping_pod(env: &Env, namespace: &str, workload: &str) {
    let pods: Api<Pod> = Api::namespaced(env.cluster.client.clone(), namespace);
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "sessions-sentinel-2", "labels": {labels::WORKLOAD: workload, labels::MANAGED_BY: labels::AGENT}},
        "spec": {"containers": [{"name": "sentinel", "image": "redis:7.2-alpine"}]}
    }))
    .unwrap();
    pods.create(&PostParams::default(), &pod).await.unwrap();
    let status = json!({
        "phase": "Running",
        "containerStatuses": [{
            "name": "sentinel", "image": "redis:7.2-alpine", "imageID": "", "ready": false, "restartCount": 5,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s restarting failed container"}}
        }]
    });
    set_status(&pods, "sessions-sentinel-2", status).await;
}

#[tokio::test]
async fn simulated_controllers_complete_rollouts() {
    let env = Env::with(Options {
        controllers: true,
        ..Default::default()
    })
    .await;
    let objects = builtin_only(&example_objects());
    env.apply(&objects).await;
    let mut report = Vec::new();
    for _ in 0..100 {
        report = health(&env.cluster, &objects).await.unwrap();
        if report.iter().all(|w| w.state == State::Ready) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not all Ready: {report:#?}");
}
