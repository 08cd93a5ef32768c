//! The vector tier: the seeds' deployments from minimal documents, every setting in its
//! field, and every rule's exact location.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::CONFIG_HASH;
use crate::object::Object;
use crate::render::labels;
use crate::testing::{
    assert_error, config_map, container, custom, diagnostics, hpa, keys, network_policy, pdb,
    render, repo, service, stateful_set,
};

/// A VectorStore `ai/vec` with `engine` and the extra, already indented, spec lines.
fn doc(engine: &str, extra: &str) -> String {
    format!(
        "apiVersion: strata.dev/v1alpha1\nkind: VectorStore\nmetadata:\n  name: vec\n  namespace: ai\nspec:\n  engine: {engine}\n{extra}"
    )
}

fn weaviate(extra: &str) -> String {
    doc("weaviate", extra)
}

fn grape(extra: &str) -> String {
    doc("grape", extra)
}

fn pod(set: &StatefulSet) -> &PodSpec {
    set.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

#[track_caller]
fn env<'a>(c: &'a Container, name: &str) -> &'a EnvVar {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no env {name}"))
}

fn config(objects: &[Object]) -> &BTreeMap<String, String> {
    config_map(objects, "vec-config").data.as_ref().unwrap()
}

fn server_yaml(objects: &[Object]) -> Value {
    serde_saphyr::from_str(&config(objects)["server.yaml"]).expect("server.yaml is YAML")
}

fn json(object: &impl serde::Serialize) -> Value {
    serde_json::to_value(object).unwrap()
}

fn has(objects: &[Object], key: &str) -> bool {
    keys(objects).iter().any(|k| k == key)
}

#[track_caller]
fn probe(p: &Option<Probe>) -> (String, i32, i32, i32, i32) {
    let p = p.as_ref().expect("probe");
    let get = p.http_get.as_ref().expect("http probe");
    assert_eq!(get.port, IntOrString::String("http".to_owned()));
    (
        get.path.clone().unwrap(),
        p.initial_delay_seconds.unwrap(),
        p.period_seconds.unwrap(),
        p.timeout_seconds.unwrap(),
        p.failure_threshold.unwrap(),
    )
}

fn ports(c: &Container) -> Vec<(String, i32, String)> {
    c.ports
        .iter()
        .flatten()
        .map(|p| {
            (
                p.name.clone().unwrap(),
                p.container_port,
                p.protocol.clone().unwrap(),
            )
        })
        .collect()
}

fn alert_names(objects: &[Object]) -> Vec<String> {
    let rule = custom(objects, "PrometheusRule", "vec");
    rule.fields["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn minimal_weaviate_reproduces_seed_000() {
    let objects = render(&weaviate(""));
    assert_eq!(
        keys(&objects),
        [
            "Namespace ai",
            "ConfigMap ai/vec-config",
            "Service ai/vec",
            "Service ai/vec-headless",
            "StatefulSet.apps ai/vec",
            "HorizontalPodAutoscaler.autoscaling ai/vec",
            "NetworkPolicy.networking.k8s.io ai/vec",
            "PodDisruptionBudget.policy ai/vec",
            "PrometheusRule.monitoring.coreos.com ai/vec",
            "ServiceMonitor.monitoring.coreos.com ai/vec",
        ]
    );
    let set = stateful_set(&objects, "vec");
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, None, "the autoscaler owns the replica count");
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    assert_eq!(spec.service_name.as_deref(), Some("vec-headless"));
    let selector = labels::selector("weaviate", "vec", "database");
    assert_eq!(spec.selector.match_labels.as_ref(), Some(&selector));
    let template_labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .as_ref()
        .unwrap();
    assert!(
        selector
            .iter()
            .all(|(k, v)| template_labels.get(k) == Some(v))
    );
    assert_eq!(template_labels[labels::MANAGED_BY], labels::AGENT);

    let c = container(set, "weaviate");
    assert_eq!(c.image.as_deref(), Some("semitechnologies/weaviate:1.23.0"));
    assert_eq!(
        ports(c),
        [
            ("http".to_owned(), 8080, "TCP".to_owned()),
            ("grpc".to_owned(), 50051, "TCP".to_owned()),
            ("gossip".to_owned(), 7100, "TCP".to_owned()),
            ("gossip-udp".to_owned(), 7100, "UDP".to_owned()),
            ("data".to_owned(), 7101, "TCP".to_owned()),
            ("metrics".to_owned(), 2112, "TCP".to_owned()),
        ]
    );
    assert_eq!(
        probe(&c.liveness_probe),
        ("/v1/.well-known/live".to_owned(), 120, 10, 5, 3)
    );
    assert_eq!(
        probe(&c.readiness_probe),
        ("/v1/.well-known/ready".to_owned(), 30, 10, 5, 3)
    );
    assert_eq!(
        json(&c.resources),
        json!({ "requests": { "cpu": "2", "memory": "8Gi" }, "limits": { "cpu": "4", "memory": "16Gi" } })
    );

    // Storage: 500Gi per pod on the default class, mounted at the data path.
    let claim = &spec.volume_claim_templates.as_ref().unwrap()[0];
    assert_eq!(
        json(claim)["spec"],
        json!({ "accessModes": ["ReadWriteOnce"], "resources": { "requests": { "storage": "500Gi" } } })
    );
    let mounts: Vec<(&str, &str)> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(mounts, [("data", "/var/lib/weaviate"), ("tmp", "/tmp")]);

    // Placement and security.
    let p = pod(set);
    let anti = json(&p.affinity)["podAntiAffinity"].clone();
    assert_eq!(
        anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"],
        "kubernetes.io/hostname"
    );
    assert_eq!(
        anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"],
        "topology.kubernetes.io/zone"
    );
    assert_eq!(
        p.topology_spread_constraints.as_ref().unwrap()[0].when_unsatisfiable,
        "ScheduleAnyway"
    );
    let security = p.security_context.as_ref().unwrap();
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(1000));
    let container_security = c.security_context.as_ref().unwrap();
    assert_eq!(container_security.read_only_root_filesystem, Some(true));
    assert_eq!(container_security.allow_privilege_escalation, Some(false));
    assert_eq!(p.automount_service_account_token, Some(false));

    // Environment: secrets by reference only, the rest from the ConfigMap.
    for (name, key) in [
        ("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "api-keys"),
        ("AUTHENTICATION_APIKEY_USERS", "users"),
    ] {
        let var = env(c, name);
        assert_eq!(var.value, None, "{name} must not be inlined");
        let secret = var
            .value_from
            .as_ref()
            .unwrap()
            .secret_key_ref
            .as_ref()
            .unwrap();
        assert_eq!(
            (secret.name.as_str(), secret.key.as_str()),
            ("vec-api-keys", key)
        );
    }
    let hostname = env(c, "CLUSTER_HOSTNAME").value_from.as_ref().unwrap();
    assert_eq!(
        hostname.field_ref.as_ref().unwrap().field_path,
        "metadata.name"
    );
    assert_eq!(
        c.env_from.as_ref().unwrap()[0]
            .config_map_ref
            .as_ref()
            .unwrap()
            .name,
        "vec-config"
    );
    let config = config(&objects);
    for (key, value) in [
        ("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "false"),
        ("AUTHENTICATION_APIKEY_ENABLED", "true"),
        ("PERSISTENCE_DATA_PATH", "/var/lib/weaviate"),
        ("PERSISTENCE_LSM_ACCESS_STRATEGY", "mmap"),
        ("PERSISTENCE_MEMTABLES_FLUSH_IDLE_AFTER_SECONDS", "60"),
        ("CLUSTER_GOSSIP_BIND_PORT", "7100"),
        ("CLUSTER_DATA_BIND_PORT", "7101"),
        (
            "CLUSTER_JOIN",
            "vec-0.vec-headless.ai.svc.cluster.local:7100,vec-1.vec-headless.ai.svc.cluster.local:7100,vec-2.vec-headless.ai.svc.cluster.local:7100",
        ),
        ("QUERY_MAXIMUM_RESULTS", "10000"),
        ("DEFAULT_VECTORIZER_MODULE", "none"),
        ("PROMETHEUS_MONITORING_ENABLED", "true"),
    ] {
        assert_eq!(config.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert!(
        !config
            .keys()
            .any(|k| k.starts_with("AUTHENTICATION_APIKEY_ALLOWED")),
        "no secret in the ConfigMap"
    );

    // Autoscaler 3–9 at CPU 70 / memory 80; budget 2 of 3.
    let scaler = json(hpa(&objects, "vec"))["spec"].clone();
    assert_eq!(scaler["minReplicas"], 3);
    assert_eq!(scaler["maxReplicas"], 9);
    assert_eq!(scaler["scaleTargetRef"]["kind"], "StatefulSet");
    assert_eq!(scaler["metrics"][0]["resource"]["name"], "cpu");
    assert_eq!(
        scaler["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    assert_eq!(scaler["metrics"][1]["resource"]["name"], "memory");
    assert_eq!(
        scaler["metrics"][1]["resource"]["target"]["averageUtilization"],
        80
    );
    assert_eq!(json(pdb(&objects, "vec"))["spec"]["minAvailable"], 2);

    // Services: clients on REST and gRPC, every port on the headless one.
    let client = service(&objects, "vec").spec.as_ref().unwrap();
    assert_eq!(client.type_.as_deref(), Some("ClusterIP"));
    let client_ports: Vec<i32> = client.ports.iter().flatten().map(|p| p.port).collect();
    assert_eq!(client_ports, [8080, 50051]);
    let headless = service(&objects, "vec-headless");
    assert_eq!(
        headless.spec.as_ref().unwrap().cluster_ip.as_deref(),
        Some("None")
    );
    let headless_ports: Vec<i32> = headless
        .spec
        .as_ref()
        .unwrap()
        .ports
        .iter()
        .flatten()
        .map(|p| p.port)
        .collect();
    assert_eq!(headless_ports, [8080, 50051, 7100, 7101, 2112]);

    // Monitoring scoped to the workload.
    let monitor = custom(&objects, "ServiceMonitor", "vec");
    assert_eq!(monitor.fields["spec"]["jobLabel"], labels::INSTANCE);
    assert_eq!(monitor.fields["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(
        alert_names(&objects),
        [
            "WeaviateInstanceDown",
            "WeaviateClusterUnhealthy",
            "WeaviateHighLatency",
            "WeaviateHighErrorRate"
        ]
    );
    let rules =
        custom(&objects, "PrometheusRule", "vec").fields["spec"]["groups"][0]["rules"].clone();
    for rule in rules.as_array().unwrap() {
        assert!(
            rule["expr"]
                .as_str()
                .unwrap()
                .contains(r#"job="vec", namespace="ai""#),
            "{rule}"
        );
    }
    assert_eq!(rules[0]["for"], "1m");
    assert_eq!(rules[0]["labels"]["severity"], "critical");
    assert!(rules[1]["expr"].as_str().unwrap().ends_with("< 2"));
    assert_eq!(rules[1]["for"], "2m");
    assert!(rules[2]["expr"].as_str().unwrap().ends_with("> 100"));
    assert_eq!(rules[2]["for"], "5m");
    assert!(rules[3]["expr"].as_str().unwrap().ends_with("> 0.05"));
    assert_eq!(rules[3]["for"], "3m");

    // No warnings for the seed's shape.
    assert_eq!(diagnostics(&weaviate("")), Vec::<String>::new());
}

#[test]
fn weaviate_network_policy_opens_each_port_to_its_peers() {
    let objects = render(&weaviate(""));
    let policy = json(network_policy(&objects, "vec"))["spec"].clone();
    assert_eq!(
        policy["policyTypes"],
        json!(["Ingress"]),
        "egress stays open"
    );
    let selector = json(&labels::selector("weaviate", "vec", "database"));
    assert_eq!(policy["podSelector"]["matchLabels"], selector);
    let rules = policy["ingress"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    // Clients: the workload's namespace by default, on REST and gRPC.
    assert_eq!(
        rules[0]["from"],
        json!([{ "podSelector": { "matchLabels": {} } }])
    );
    assert_eq!(
        rules[0]["ports"],
        json!([{ "port": 8080, "protocol": "TCP" }, { "port": 50051, "protocol": "TCP" }])
    );
    // The workload's own pods: client and cluster ports, gossip also over UDP.
    assert_eq!(
        rules[1]["from"],
        json!([{ "podSelector": { "matchLabels": selector } }])
    );
    assert_eq!(
        rules[1]["ports"],
        json!([
            { "port": 8080, "protocol": "TCP" },
            { "port": 50051, "protocol": "TCP" },
            { "port": 7100, "protocol": "TCP" },
            { "port": 7101, "protocol": "TCP" },
            { "port": 7100, "protocol": "UDP" },
        ])
    );
    // Prometheus: metrics only.
    assert_eq!(
        rules[2]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    assert_eq!(
        rules[2]["ports"],
        json!([{ "port": 2112, "protocol": "TCP" }])
    );
}

#[test]
fn minimal_grape_reproduces_seed_003() {
    let objects = render(&grape(""));
    assert_eq!(
        keys(&objects),
        [
            "Namespace ai",
            "ConfigMap ai/vec-config",
            "Service ai/vec",
            "Service ai/vec-headless",
            "Service ai/vec-leader",
            "StatefulSet.apps ai/vec",
            "NetworkPolicy.networking.k8s.io ai/vec",
            "PodDisruptionBudget.policy ai/vec",
            "PrometheusRule.monitoring.coreos.com ai/vec",
            "ServiceMonitor.monitoring.coreos.com ai/vec",
        ]
    );
    let set = stateful_set(&objects, "vec");
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("OrderedReady"));
    let c = container(set, "grape");
    assert_eq!(c.image.as_deref(), Some("grape-vector-db/grape:0.5.0"));
    assert_eq!(
        ports(c),
        [
            ("http".to_owned(), 8080, "TCP".to_owned()),
            ("raft".to_owned(), 9000, "TCP".to_owned()),
            ("metrics".to_owned(), 9091, "TCP".to_owned()),
        ]
    );
    assert_eq!(
        probe(&c.readiness_probe),
        ("/health".to_owned(), 30, 10, 5, 3)
    );
    let liveness = probe(&c.liveness_probe);
    assert_eq!(liveness.0, "/health");
    assert!(liveness.1 > 30, "liveness waits longer than readiness");
    assert_eq!(
        json(&c.resources),
        json!({ "requests": { "cpu": "4", "memory": "8Gi" }, "limits": { "cpu": "8", "memory": "16Gi" } })
    );
    let claim = &spec.volume_claim_templates.as_ref().unwrap()[0];
    assert_eq!(
        json(claim)["spec"]["resources"]["requests"]["storage"],
        "100Gi"
    );
    let node_id = env(c, "GRAPE_NODE_ID").value_from.as_ref().unwrap();
    assert_eq!(
        node_id.field_ref.as_ref().unwrap().field_path,
        "metadata.name"
    );
    let mounts: Vec<(&str, &str, Option<bool>)> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        [
            ("data", "/var/lib/grape-vector-db", None),
            ("config", "/etc/grape-vector-db", Some(true)),
            ("tmp", "/tmp", None),
        ]
    );
    // server.yaml and the API keys file (from the Secret, never inlined) side by side.
    let volume = json(&pod(set).volumes.as_ref().unwrap()[0]);
    assert_eq!(
        volume["projected"]["sources"],
        json!([
            { "configMap": { "name": "vec-config", "items": [{ "key": "server.yaml", "path": "server.yaml" }], "optional": false } },
            { "secret": { "name": "vec-api-keys", "items": [{ "key": "api-keys", "path": "api_keys.yaml" }], "optional": false } },
        ])
    );

    let server = server_yaml(&objects);
    assert_eq!(server["database"]["shard_count"], 16);
    assert_eq!(server["database"]["replication_factor"], 3);
    assert_eq!(server["database"]["vector_dimension"], 1536);
    assert_eq!(server["database"]["cache_size_mb"], 2048);
    assert_eq!(server["index"]["hnsw_m"], 32);
    assert_eq!(server["index"]["hnsw_ef_construction"], 400);
    assert_eq!(server["index"]["hnsw_ef_search"], 128);
    assert_eq!(server["index"]["enable_binary_quantization"], true);
    assert_eq!(server["performance"]["num_threads"], 8);
    assert_eq!(server["cluster"]["election_timeout_ms"], 5000);
    assert_eq!(server["cluster"]["heartbeat_interval_ms"], 1000);
    assert_eq!(server["cluster"]["enable_tls"], false);
    assert_eq!(server["node"]["listen_address"], "0.0.0.0:8080");
    assert_eq!(server["node"]["raft_address"], "0.0.0.0:9000");
    assert_eq!(server["node"]["data_dir"], "/var/lib/grape-vector-db");
    assert_eq!(
        server["cluster"]["peers"],
        json!([
            { "id": "vec-0", "address": "vec-0.vec-headless.ai.svc.cluster.local:9000" },
            { "id": "vec-1", "address": "vec-1.vec-headless.ai.svc.cluster.local:9000" },
            { "id": "vec-2", "address": "vec-2.vec-headless.ai.svc.cluster.local:9000" },
        ])
    );
    assert_eq!(server["monitoring"]["metrics_port"], 9091);
    assert_eq!(server["monitoring"]["enable_metrics"], true);
    assert_eq!(server["security"]["enable_auth"], true);
    assert_eq!(
        server["security"]["api_keys_file"],
        "/etc/grape-vector-db/api_keys.yaml"
    );
    assert_eq!(server["security"]["enable_tls"], false);

    // Reads to every pod, writes to the leader; PDB a majority; no autoscaler.
    let read = service(&objects, "vec").spec.as_ref().unwrap();
    let read_ports: Vec<i32> = read.ports.iter().flatten().map(|p| p.port).collect();
    assert_eq!(read_ports, [8080]);
    let leader = service(&objects, "vec-leader").spec.as_ref().unwrap();
    let mut leader_selector = labels::selector("grape", "vec", "database");
    leader_selector.insert("strata.dev/raft-role".to_owned(), "leader".to_owned());
    assert_eq!(leader.selector.as_ref(), Some(&leader_selector));
    assert_eq!(json(pdb(&objects, "vec"))["spec"]["minAvailable"], 2);
    assert!(!has(&objects, "HorizontalPodAutoscaler.autoscaling ai/vec"));

    let policy = json(network_policy(&objects, "vec"))["spec"].clone();
    assert_eq!(
        policy["ingress"][0]["ports"],
        json!([{ "port": 8080, "protocol": "TCP" }])
    );
    assert_eq!(
        policy["ingress"][1]["ports"],
        json!([{ "port": 8080, "protocol": "TCP" }, { "port": 9000, "protocol": "TCP" }])
    );
    assert_eq!(
        policy["ingress"][2]["ports"],
        json!([{ "port": 9091, "protocol": "TCP" }])
    );

    assert_eq!(
        alert_names(&objects),
        [
            "GrapeNodeDown",
            "GrapeLeaderElection",
            "GrapeHighSearchLatency",
            "GrapeDiskSpaceWarning",
            "GrapeMemoryUsage"
        ]
    );
    let rules =
        custom(&objects, "PrometheusRule", "vec").fields["spec"]["groups"][0]["rules"].clone();
    let fors: Vec<&str> = rules
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["for"].as_str().unwrap())
        .collect();
    assert_eq!(fors, ["30s", "0s", "2m", "5m", "5m"]);
    for rule in rules.as_array().unwrap() {
        assert!(
            rule["expr"]
                .as_str()
                .unwrap()
                .contains(r#"job="vec", namespace="ai""#),
            "{rule}"
        );
    }
    assert_eq!(diagnostics(&grape("")), Vec::<String>::new());
}

/// One document and what must be true of its objects.
struct Case {
    name: &'static str,
    yaml: String,
    check: fn(&[Object]),
}

fn run(cases: Vec<Case>) {
    for case in cases {
        // Printed before the check, so a failure names its case.
        eprintln!("case: {}", case.name);
        (case.check)(&render(&case.yaml));
    }
}

#[test]
fn every_weaviate_setting_reaches_its_field() {
    run(vec![
        Case {
            name: "replicas without autoscaling",
            yaml: weaviate(
                "  replicas: 5\n  autoscaling:\n    enabled: false\n    maxReplicas: 9\n",
            ),
            check: |o| {
                assert_eq!(
                    stateful_set(o, "vec").spec.as_ref().unwrap().replicas,
                    Some(5)
                );
                assert!(!has(o, "HorizontalPodAutoscaler.autoscaling ai/vec"));
                assert_eq!(config(o)["CLUSTER_JOIN"].split(',').count(), 5);
                assert!(
                    config(o)["CLUSTER_JOIN"]
                        .ends_with("vec-4.vec-headless.ai.svc.cluster.local:7100")
                );
                assert_eq!(json(pdb(o, "vec"))["spec"]["minAvailable"], 3);
            },
        },
        Case {
            name: "replicas above the default autoscaler maximum",
            yaml: weaviate("  replicas: 12\n"),
            check: |o| {
                let scaler = json(hpa(o, "vec"))["spec"].clone();
                assert_eq!(
                    (scaler["minReplicas"].clone(), scaler["maxReplicas"].clone()),
                    (json!(12), json!(12))
                );
            },
        },
        Case {
            name: "a single replica has no budget",
            yaml: weaviate(
                "  replicas: 1\n  autoscaling:\n    enabled: false\n    maxReplicas: 1\n",
            ),
            check: |o| {
                assert!(
                    !has(o, "PodDisruptionBudget.policy ai/vec"),
                    "{:?}",
                    keys(o)
                )
            },
        },
        Case {
            name: "resources merge with the defaults",
            yaml: weaviate(
                "  resources:\n    requests:\n      cpu: 1\n    limits:\n      memory: 32Gi\n",
            ),
            check: |o| {
                assert_eq!(
                    json(&container(stateful_set(o, "vec"), "weaviate").resources),
                    json!({ "requests": { "cpu": "1", "memory": "8Gi" }, "limits": { "cpu": "4", "memory": "32Gi" } })
                );
            },
        },
        Case {
            name: "storage size and class",
            yaml: weaviate("  storage:\n    size: 1Ti\n    storageClass: gp3-encrypted\n"),
            check: |o| {
                let set = stateful_set(o, "vec");
                let claim = json(
                    &set.spec
                        .as_ref()
                        .unwrap()
                        .volume_claim_templates
                        .as_ref()
                        .unwrap()[0],
                );
                assert_eq!(claim["metadata"]["name"], "data");
                assert_eq!(claim["spec"]["storageClassName"], "gp3-encrypted");
                assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "1Ti");
            },
        },
        Case {
            name: "auth secret names and keys",
            yaml: weaviate(
                "  auth:\n    apiKeys:\n      name: weaviate-auth\n      key: keys\n    users:\n      name: weaviate-users\n      key: names\n",
            ),
            check: |o| {
                let c = container(stateful_set(o, "vec"), "weaviate");
                for (var, name, key) in [
                    (
                        "AUTHENTICATION_APIKEY_ALLOWED_KEYS",
                        "weaviate-auth",
                        "keys",
                    ),
                    ("AUTHENTICATION_APIKEY_USERS", "weaviate-users", "names"),
                ] {
                    let secret = json(env(c, var));
                    assert_eq!(secret["valueFrom"]["secretKeyRef"]["name"], name);
                    assert_eq!(secret["valueFrom"]["secretKeyRef"]["key"], key);
                    assert_eq!(secret.get("value"), None);
                }
            },
        },
        Case {
            name: "users default to the api keys' Secret",
            yaml: weaviate("  auth:\n    apiKeys:\n      name: weaviate-auth\n      key: keys\n"),
            check: |o| {
                let c = container(stateful_set(o, "vec"), "weaviate");
                let users = json(env(c, "AUTHENTICATION_APIKEY_USERS"));
                assert_eq!(
                    users["valueFrom"]["secretKeyRef"],
                    json!({ "name": "weaviate-auth", "key": "users", "optional": false })
                );
            },
        },
        Case {
            name: "autoscaling bounds and targets",
            yaml: weaviate(
                "  autoscaling:\n    minReplicas: 4\n    maxReplicas: 12\n    targetCpuUtilization: 60\n",
            ),
            check: |o| {
                let scaler = json(hpa(o, "vec"))["spec"].clone();
                assert_eq!(scaler["minReplicas"], 4);
                assert_eq!(scaler["maxReplicas"], 12);
                assert_eq!(scaler["metrics"].as_array().unwrap().len(), 1);
                assert_eq!(
                    scaler["metrics"][0]["resource"]["target"]["averageUtilization"],
                    60
                );
                assert_eq!(stateful_set(o, "vec").spec.as_ref().unwrap().replicas, None);
            },
        },
        Case {
            name: "autoscaling off",
            yaml: weaviate("  autoscaling:\n    enabled: false\n    maxReplicas: 9\n"),
            check: |o| {
                assert!(!has(o, "HorizontalPodAutoscaler.autoscaling ai/vec"));
                assert_eq!(
                    stateful_set(o, "vec").spec.as_ref().unwrap().replicas,
                    Some(3)
                );
            },
        },
        Case {
            name: "two replicas leave one pod to evict",
            yaml: weaviate("  replicas: 2\n"),
            check: |o| assert_eq!(json(pdb(o, "vec"))["spec"]["minAvailable"], 1),
        },
        Case {
            name: "the budget follows the autoscaler's minimum",
            yaml: weaviate(
                "  autoscaling:\n    minReplicas: 2\n    maxReplicas: 6\n    targetCpuUtilization: 70\n",
            ),
            check: |o| {
                assert_eq!(json(hpa(o, "vec"))["spec"]["minReplicas"], 2);
                assert_eq!(json(pdb(o, "vec"))["spec"]["minAvailable"], 1);
                let rules =
                    custom(o, "PrometheusRule", "vec").fields["spec"]["groups"][0]["rules"].clone();
                assert!(rules[1]["expr"].as_str().unwrap().ends_with("< 1"));
            },
        },
        Case {
            name: "disruption budget",
            yaml: weaviate("  disruption:\n    minAvailable: 1\n"),
            check: |o| assert_eq!(json(pdb(o, "vec"))["spec"]["minAvailable"], 1),
        },
        Case {
            name: "placement",
            yaml: weaviate(
                "  placement:\n    nodes: preferred\n    zones: none\n    nodeSelector:\n      strata.dev/pool: vector\n    tolerations:\n      - key: dedicated\n        value: vector\n        effect: NoSchedule\n",
            ),
            check: |o| {
                let p = pod(stateful_set(o, "vec"));
                let anti = json(&p.affinity)["podAntiAffinity"].clone();
                assert_eq!(
                    anti.get("requiredDuringSchedulingIgnoredDuringExecution"),
                    None
                );
                let preferred = anti["preferredDuringSchedulingIgnoredDuringExecution"]
                    .as_array()
                    .unwrap();
                assert_eq!(preferred.len(), 1);
                assert_eq!(
                    preferred[0]["podAffinityTerm"]["topologyKey"],
                    "kubernetes.io/hostname"
                );
                assert_eq!(p.topology_spread_constraints, None);
                assert_eq!(
                    json(&p.node_selector),
                    json!({ "strata.dev/pool": "vector" })
                );
                assert_eq!(
                    json(&p.tolerations),
                    json!([{ "key": "dedicated", "value": "vector", "effect": "NoSchedule" }])
                );
            },
        },
        Case {
            name: "no spreading at all",
            yaml: weaviate("  placement:\n    nodes: none\n    zones: none\n"),
            check: |o| assert_eq!(pod(stateful_set(o, "vec")).affinity, None),
        },
        Case {
            name: "network sources",
            yaml: weaviate(
                "  network:\n    allowedSources:\n      - namespace: apps\n      - cidr: 10.1.0.0/16\n      - podSelector:\n          app: api\n      - namespaceSelector:\n          team: search\n",
            ),
            check: |o| {
                let policy = json(network_policy(o, "vec"))["spec"].clone();
                assert_eq!(
                    policy["ingress"][0]["from"],
                    json!([
                        { "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "apps" } } },
                        { "ipBlock": { "cidr": "10.1.0.0/16" } },
                        { "podSelector": { "matchLabels": { "app": "api" } } },
                        { "namespaceSelector": { "matchLabels": { "team": "search" } } },
                    ])
                );
                assert_eq!(policy["ingress"][0]["ports"].as_array().unwrap().len(), 2);
            },
        },
        Case {
            name: "service type and annotations",
            yaml: weaviate(
                "  service:\n    type: LoadBalancer\n    annotations:\n      service.beta.kubernetes.io/aws-load-balancer-scheme: internal\n",
            ),
            check: |o| {
                let client = service(o, "vec");
                assert_eq!(
                    client.spec.as_ref().unwrap().type_.as_deref(),
                    Some("LoadBalancer")
                );
                assert_eq!(
                    client.metadata.annotations.as_ref().unwrap()["service.beta.kubernetes.io/aws-load-balancer-scheme"],
                    "internal"
                );
                let headless = service(o, "vec-headless").spec.as_ref().unwrap();
                assert_eq!(headless.type_, None);
            },
        },
        Case {
            name: "monitoring off",
            yaml: weaviate("  monitoring:\n    enabled: false\n"),
            check: |o| {
                assert!(
                    !keys(o).iter().any(|k| k.contains("monitoring.coreos.com")),
                    "{:?}",
                    keys(o)
                );
                assert_eq!(config(o)["PROMETHEUS_MONITORING_ENABLED"], "false");
                let c = container(stateful_set(o, "vec"), "weaviate");
                assert!(!ports(c).iter().any(|p| p.0 == "metrics"));
                let policy = json(network_policy(o, "vec"))["spec"].clone();
                assert_eq!(policy["ingress"].as_array().unwrap().len(), 2);
            },
        },
        Case {
            name: "alerts off",
            yaml: weaviate("  monitoring:\n    alerts: false\n"),
            check: |o| {
                assert!(has(o, "ServiceMonitor.monitoring.coreos.com ai/vec"));
                assert!(!has(o, "PrometheusRule.monitoring.coreos.com ai/vec"));
            },
        },
        Case {
            name: "monitoring interval, labels and namespace",
            yaml: weaviate(
                "  monitoring:\n    interval: 15s\n    namespace: observability\n    labels:\n      release: prometheus\n",
            ),
            check: |o| {
                let monitor = custom(o, "ServiceMonitor", "vec");
                assert_eq!(monitor.fields["spec"]["endpoints"][0]["interval"], "15s");
                assert_eq!(
                    monitor.metadata.labels.as_ref().unwrap()["release"],
                    "prometheus"
                );
                let rule = custom(o, "PrometheusRule", "vec");
                assert_eq!(
                    rule.metadata.labels.as_ref().unwrap()["release"],
                    "prometheus"
                );
                let policy = json(network_policy(o, "vec"))["spec"].clone();
                assert_eq!(
                    policy["ingress"][2]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                    "observability"
                );
            },
        },
        Case {
            name: "weaviate settings",
            yaml: weaviate(
                "  weaviate:\n    queryMaximumResults: 500\n    lsmAccessStrategy: pread\n    flushIdleAfterSeconds: 30\n    defaultVectorizerModule: text2vec-openai\n    env:\n      ENABLE_MODULES: text2vec-openai\n    secretEnv:\n      OPENAI_APIKEY:\n        name: openai\n        key: token\n",
            ),
            check: |o| {
                let config = config(o);
                assert_eq!(config["QUERY_MAXIMUM_RESULTS"], "500");
                assert_eq!(config["PERSISTENCE_LSM_ACCESS_STRATEGY"], "pread");
                assert_eq!(
                    config["PERSISTENCE_MEMTABLES_FLUSH_IDLE_AFTER_SECONDS"],
                    "30"
                );
                assert_eq!(config["DEFAULT_VECTORIZER_MODULE"], "text2vec-openai");
                assert_eq!(config["ENABLE_MODULES"], "text2vec-openai");
                assert!(!config.contains_key("OPENAI_APIKEY"));
                let c = container(stateful_set(o, "vec"), "weaviate");
                assert_eq!(
                    json(env(c, "OPENAI_APIKEY"))["valueFrom"]["secretKeyRef"],
                    json!({ "name": "openai", "key": "token", "optional": false })
                );
            },
        },
        Case {
            name: "image",
            yaml: weaviate("  image: registry.internal/weaviate:1.23.7\n"),
            check: |o| {
                let c = container(stateful_set(o, "vec"), "weaviate");
                assert_eq!(
                    c.image.as_deref(),
                    Some("registry.internal/weaviate:1.23.7")
                );
            },
        },
    ]);
}

#[test]
fn every_grape_setting_reaches_its_field() {
    run(vec![
        Case {
            name: "grape settings",
            yaml: grape(
                "  grape:\n    vectorDimension: 768\n    shards: 32\n    replicationFactor: 2\n    hnsw:\n      m: 64\n      efConstruction: 800\n      efSearch: 256\n    binaryQuantization: false\n    cacheSizeMb: 4096\n    electionTimeoutMs: 3000\n    heartbeatIntervalMs: 500\n",
            ),
            check: |o| {
                let server = server_yaml(o);
                assert_eq!(server["database"]["vector_dimension"], 768);
                assert_eq!(server["database"]["shard_count"], 32);
                assert_eq!(server["database"]["replication_factor"], 2);
                assert_eq!(server["database"]["cache_size_mb"], 4096);
                assert_eq!(server["index"]["hnsw_m"], 64);
                assert_eq!(server["index"]["hnsw_ef_construction"], 800);
                assert_eq!(server["index"]["hnsw_ef_search"], 256);
                assert_eq!(server["index"]["enable_binary_quantization"], false);
                assert_eq!(server["cluster"]["election_timeout_ms"], 3000);
                assert_eq!(server["cluster"]["heartbeat_interval_ms"], 500);
            },
        },
        Case {
            name: "tls",
            yaml: grape("  grape:\n    tlsSecret: vec-tls\n"),
            check: |o| {
                let server = server_yaml(o);
                assert_eq!(server["security"]["enable_tls"], true);
                assert_eq!(
                    server["security"]["cert_file"],
                    "/etc/grape-vector-db/tls/tls.crt"
                );
                assert_eq!(
                    server["security"]["key_file"],
                    "/etc/grape-vector-db/tls/tls.key"
                );
                assert_eq!(server["cluster"]["enable_tls"], true);
                assert_eq!(
                    server["cluster"]["tls_config"]["ca_file"],
                    "/etc/grape-vector-db/tls/ca.crt"
                );
                assert_eq!(server["cluster"]["tls_config"]["verify_peer"], true);
                let set = stateful_set(o, "vec");
                let volume = json(&pod(set).volumes.as_ref().unwrap()[0]);
                assert_eq!(
                    volume["projected"]["sources"][2]["secret"]["name"],
                    "vec-tls"
                );
                let c = container(set, "grape");
                for p in [&c.readiness_probe, &c.liveness_probe] {
                    assert_eq!(
                        p.as_ref()
                            .unwrap()
                            .http_get
                            .as_ref()
                            .unwrap()
                            .scheme
                            .as_deref(),
                        Some("HTTPS")
                    );
                }
            },
        },
        Case {
            name: "five replicas",
            yaml: grape("  replicas: 5\n"),
            check: |o| {
                let server = server_yaml(o);
                assert_eq!(server["cluster"]["peers"].as_array().unwrap().len(), 5);
                assert_eq!(server["cluster"]["peers"][4]["id"], "vec-4");
                assert_eq!(server["database"]["replication_factor"], 3);
                assert_eq!(json(pdb(o, "vec"))["spec"]["minAvailable"], 3);
                assert_eq!(
                    stateful_set(o, "vec").spec.as_ref().unwrap().replicas,
                    Some(5)
                );
            },
        },
        Case {
            name: "one replica: replication capped, no budget",
            yaml: grape("  replicas: 1\n"),
            check: |o| {
                assert_eq!(server_yaml(o)["database"]["replication_factor"], 1);
                assert!(!has(o, "PodDisruptionBudget.policy ai/vec"));
            },
        },
        Case {
            name: "api keys secret",
            yaml: grape(
                "  auth:\n    apiKeys:\n      name: grape-keys\n      key: api_keys.yaml\n",
            ),
            check: |o| {
                let volume = json(&pod(stateful_set(o, "vec")).volumes.as_ref().unwrap()[0]);
                assert_eq!(
                    volume["projected"]["sources"][1]["secret"],
                    json!({ "name": "grape-keys", "items": [{ "key": "api_keys.yaml", "path": "api_keys.yaml" }], "optional": false })
                );
            },
        },
        Case {
            name: "threads follow the CPU limit",
            yaml: grape("  resources:\n    limits:\n      cpu: 15500m\n"),
            check: |o| assert_eq!(server_yaml(o)["performance"]["num_threads"], 16),
        },
        Case {
            name: "explicit autoscaling",
            yaml: grape("  autoscaling:\n    maxReplicas: 5\n    targetCpuUtilization: 80\n"),
            check: |o| {
                assert_eq!(json(hpa(o, "vec"))["spec"]["maxReplicas"], 5);
                assert_eq!(stateful_set(o, "vec").spec.as_ref().unwrap().replicas, None);
            },
        },
        Case {
            name: "the leader Service is exposed like the client Service",
            yaml: grape("  service:\n    type: LoadBalancer\n"),
            check: |o| {
                for name in ["vec", "vec-leader"] {
                    assert_eq!(
                        service(o, name).spec.as_ref().unwrap().type_.as_deref(),
                        Some("LoadBalancer")
                    );
                }
            },
        },
        Case {
            name: "monitoring off",
            yaml: grape("  monitoring:\n    enabled: false\n"),
            check: |o| {
                assert!(!keys(o).iter().any(|k| k.contains("monitoring.coreos.com")));
                assert_eq!(server_yaml(o)["monitoring"]["enable_metrics"], false);
                let c = container(stateful_set(o, "vec"), "grape");
                assert!(!ports(c).iter().any(|p| p.0 == "metrics"));
            },
        },
        Case {
            name: "storage",
            yaml: grape("  storage:\n    size: 250Gi\n    storageClass: io2\n"),
            check: |o| {
                let set = stateful_set(o, "vec");
                let claim = json(
                    &set.spec
                        .as_ref()
                        .unwrap()
                        .volume_claim_templates
                        .as_ref()
                        .unwrap()[0],
                );
                assert_eq!(claim["spec"]["storageClassName"], "io2");
                assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "250Gi");
            },
        },
    ]);
}

#[test]
fn configuration_changes_roll_the_pods_and_revisions_do_not() {
    let hash = |objects: &[Object]| {
        stateful_set(objects, "vec")
            .spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()[CONFIG_HASH]
            .clone()
    };
    for engine in ["weaviate", "grape"] {
        let base = repo(&doc(engine, ""));
        let a = base.render(None, "abc123").unwrap();
        let b = base.render(None, "def456").unwrap();
        assert_eq!(
            stateful_set(&a, "vec").spec,
            stateful_set(&b, "vec").spec,
            "{engine}"
        );
        let changed = render(&doc(engine, "  replicas: 5\n"));
        assert_ne!(hash(&a), hash(&changed), "{engine}");
    }
}

#[test]
fn rules_point_at_the_field() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            grape("  weaviate: {}\n"),
            "spec.weaviate",
            "only allowed with `engine: weaviate`",
        ),
        (
            weaviate("  grape: {}\n"),
            "spec.grape",
            "only allowed with `engine: grape`",
        ),
        (
            weaviate("  replicas: 0\n  autoscaling:\n    enabled: false\n    maxReplicas: 1\n"),
            "spec.replicas",
            "at least 1",
        ),
        (
            grape("  grape:\n    replicationFactor: 4\n"),
            "spec.grape.replicationFactor",
            "more than the 3 replicas",
        ),
        (
            grape("  grape:\n    replicationFactor: 0\n"),
            "spec.grape.replicationFactor",
            "at least 1",
        ),
        (
            grape("  grape:\n    shards: 0\n"),
            "spec.grape.shards",
            "at least 1",
        ),
        (
            grape("  grape:\n    vectorDimension: 0\n"),
            "spec.grape.vectorDimension",
            "at least 1",
        ),
        (
            grape("  grape:\n    hnsw:\n      m: 0\n"),
            "spec.grape.hnsw.m",
            "at least 1",
        ),
        (
            grape("  grape:\n    hnsw:\n      efConstruction: 0\n"),
            "spec.grape.hnsw.efConstruction",
            "at least 1",
        ),
        (
            grape("  grape:\n    hnsw:\n      efSearch: 0\n"),
            "spec.grape.hnsw.efSearch",
            "at least 1",
        ),
        (
            grape("  grape:\n    electionTimeoutMs: 1000\n"),
            "spec.grape.electionTimeoutMs",
            "longer than heartbeatIntervalMs",
        ),
        (
            grape("  grape:\n    tlsSecret: Not_A_Name\n"),
            "spec.grape.tlsSecret",
            "not a Secret name",
        ),
        (
            grape("  auth:\n    users:\n      name: u\n      key: users\n"),
            "spec.auth.users",
            "Weaviate setting",
        ),
        (
            weaviate("  weaviate:\n    lsmAccessStrategy: direct\n"),
            "spec.weaviate.lsmAccessStrategy",
            "mmap, pread",
        ),
        (
            weaviate("  weaviate:\n    queryMaximumResults: 0\n"),
            "spec.weaviate.queryMaximumResults",
            "at least 1",
        ),
        (
            weaviate("  weaviate:\n    env:\n      CLUSTER_JOIN: elsewhere:7100\n"),
            "spec.weaviate.env.CLUSTER_JOIN",
            "set by the agent",
        ),
        (
            weaviate(
                "  weaviate:\n    env:\n      AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED: 'true'\n",
            ),
            "spec.weaviate.env.AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED",
            "set by the agent",
        ),
        (
            weaviate("  weaviate:\n    env:\n      1BAD: x\n"),
            "spec.weaviate.env.1BAD",
            "not an environment variable name",
        ),
        (
            weaviate(
                "  weaviate:\n    secretEnv:\n      AUTHENTICATION_APIKEY_ALLOWED_KEYS:\n        name: s\n        key: k\n",
            ),
            "spec.weaviate.secretEnv.AUTHENTICATION_APIKEY_ALLOWED_KEYS",
            "set by the agent",
        ),
        (
            weaviate(
                "  weaviate:\n    env:\n      OPENAI_APIKEY: x\n    secretEnv:\n      OPENAI_APIKEY:\n        name: s\n        key: k\n",
            ),
            "spec.weaviate.secretEnv.OPENAI_APIKEY",
            "set it in one place",
        ),
        (
            weaviate(
                "  weaviate:\n    secretEnv:\n      OPENAI_APIKEY:\n        name: s\n        key: 'a/b'\n",
            ),
            "spec.weaviate.secretEnv.OPENAI_APIKEY.key",
            "not a Secret key",
        ),
        (
            weaviate("  auth:\n    apiKeys:\n      name: Bad_Name\n      key: k\n"),
            "spec.auth.apiKeys.name",
            "not a Secret name",
        ),
        (weaviate("  image: ''\n"), "spec.image", "must not be empty"),
        // The shared checks, at this kind's paths.
        (
            weaviate("  resources:\n    requests:\n      cpu: 6\n"),
            "spec.resources.requests.cpu",
            "more than the limit 4",
        ),
        (
            weaviate("  storage:\n    size: 0Gi\n"),
            "spec.storage.size",
            "larger than 0",
        ),
        (
            weaviate("  disruption:\n    minAvailable: 3\n"),
            "spec.disruption.minAvailable",
            "less than the 3 replicas",
        ),
        (
            weaviate(
                "  disruption:\n    minAvailable: 2\n  autoscaling:\n    minReplicas: 2\n    maxReplicas: 6\n    targetCpuUtilization: 70\n",
            ),
            "spec.disruption.minAvailable",
            "less than autoscaling.minReplicas (2)",
        ),
        (
            weaviate(
                "  autoscaling:\n    minReplicas: 5\n    maxReplicas: 4\n    targetCpuUtilization: 70\n",
            ),
            "spec.autoscaling.maxReplicas",
            "less than the minimum 5",
        ),
        (
            weaviate("  autoscaling:\n    maxReplicas: 9\n"),
            "spec.autoscaling",
            "targetCpuUtilization or targetMemoryUtilization",
        ),
        (
            weaviate("  autoscaling:\n    maxReplicas: 9\n    targetMemoryUtilization: 150\n"),
            "spec.autoscaling.targetMemoryUtilization",
            "between 1 and 100",
        ),
        (
            weaviate(
                "  network:\n    allowedSources:\n      - namespace: apps\n        cidr: 10.0.0.0/8\n",
            ),
            "spec.network.allowedSources[0]",
            "exactly one",
        ),
        (
            weaviate("  network:\n    allowedSources:\n      - cidr: 10.0.0.0\n"),
            "spec.network.allowedSources[0].cidr",
            "not a CIDR block",
        ),
        (
            weaviate("  monitoring:\n    interval: soon\n"),
            "spec.monitoring.interval",
            "not a duration",
        ),
        (
            weaviate("  monitoring:\n    namespace: Monitoring\n"),
            "spec.monitoring.namespace",
            "lowercase",
        ),
    ];
    for (yaml, path, message) in cases {
        assert_error(&yaml, &[&format!("tiers/test.yaml#1 {path}: "), message]);
    }
}

#[test]
fn warnings_point_at_the_field() {
    let cases: Vec<(String, &str, &str)> = vec![
        (
            weaviate("  replicas: 1\n"),
            "spec.replicas",
            "no PodDisruptionBudget",
        ),
        (
            grape("  replicas: 4\n"),
            "spec.replicas",
            "use an odd count",
        ),
        (
            grape("  disruption:\n    minAvailable: 1\n"),
            "spec.disruption.minAvailable",
            "Raft majority",
        ),
        (
            grape("  autoscaling:\n    maxReplicas: 5\n    targetCpuUtilization: 80\n"),
            "spec.autoscaling",
            "Raft membership",
        ),
        (
            grape("  grape:\n    cacheSizeMb: 20000\n"),
            "spec.grape.cacheSizeMb",
            "memory limit 16Gi",
        ),
        (
            weaviate("  weaviate:\n    env:\n      OPENAI_APIKEY: sk-123\n"),
            "spec.weaviate.env.OPENAI_APIKEY",
            "secretEnv",
        ),
    ];
    for (yaml, path, message) in cases {
        let repo = repo(&yaml);
        assert!(!repo.has_errors(), "{:?}", repo.diagnostics);
        let warnings: Vec<String> = repo.warnings().map(ToString::to_string).collect();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&format!("tiers/test.yaml#1 {path}: "))
                    && w.contains(message)),
            "no warning at {path} containing `{message}` in {warnings:#?}"
        );
    }
}
