//! The stream tier: seed 004 from a minimal document, every setting reaching its field,
//! and the validation rules with their exact paths.

use serde_json::{Value, json};

use super::{Endpoint, otlp_port, parse_endpoint};
use crate::diag::Diagnostic;
use crate::object::Object;
use crate::testing::*;

const HEADER: &str = "apiVersion: strata.dev/v1alpha1
kind: StreamCluster
metadata:
  name: production
  namespace: chronik-prod
spec:
  engine: chronik
";

const S3: &str = "  objectStorage:
    s3:
      bucket: chronik-prod-data
      region: us-east-1
";

/// The seed's workload with `extra` spec lines (the seed's bucket unless they set one).
fn doc(extra: &str) -> String {
    let s3 = if extra.contains("objectStorage:") {
        ""
    } else {
        S3
    };
    format!("{HEADER}{s3}{extra}")
}

/// The object of `kind` named `name`, as JSON.
#[track_caller]
fn object(objects: &[Object], kind: &str, name: &str) -> Value {
    objects
        .iter()
        .find(|o| o.kind() == kind && o.name() == name)
        .unwrap_or_else(|| panic!("no {kind} `{name}` in {:#?}", keys(objects)))
        .to_json()
}

fn has(objects: &[Object], kind: &str, name: &str) -> bool {
    objects.iter().any(|o| o.kind() == kind && o.name() == name)
}

/// A file of a ConfigMap, parsed (which also proves it is YAML).
#[track_caller]
fn config_file(objects: &[Object], name: &str, key: &str) -> Value {
    let text = config_map(objects, name)
        .data
        .as_ref()
        .and_then(|data| data.get(key))
        .unwrap_or_else(|| panic!("no {key} in {name}"));
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("{key} is not YAML: {e}\n{text}"))
}

#[track_caller]
fn production(objects: &[Object]) -> Value {
    config_file(objects, "production-config", "production.yaml")
}

#[track_caller]
fn topics(objects: &[Object]) -> Value {
    config_file(objects, "production-topics", "topics.yaml")
}

#[track_caller]
fn controllers(objects: &[Object]) -> Value {
    let set = stateful_set(objects, "production-controller");
    // The typed finder agrees with the JSON view.
    assert_eq!(container(set, "controller").name, "controller");
    serde_json::to_value(set).unwrap()
}

#[track_caller]
fn ingest(objects: &[Object]) -> Value {
    serde_json::to_value(deployment(objects, "production-ingest")).unwrap()
}

/// `minAvailable` of the PodDisruptionBudget `name`.
#[track_caller]
fn min_available(objects: &[Object], name: &str) -> Value {
    serde_json::to_value(pdb(objects, name)).unwrap()["spec"]["minAvailable"].clone()
}

/// The only container of a StatefulSet's or Deployment's pods.
fn first_container(set: &Value) -> &Value {
    &set["spec"]["template"]["spec"]["containers"][0]
}

fn pod(set: &Value) -> &Value {
    &set["spec"]["template"]["spec"]
}

/// The container's environment variable `name`, as JSON (`value` or `valueFrom`).
fn env<'a>(set: &'a Value, name: &str) -> Option<&'a Value> {
    first_container(set)["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
}

fn volume<'a>(set: &'a Value, name: &str) -> Option<&'a Value> {
    pod(set)["volumes"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

fn mount<'a>(set: &'a Value, name: &str) -> Option<&'a Value> {
    first_container(set)["volumeMounts"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

#[track_caller]
fn policy(objects: &[Object]) -> Value {
    serde_json::to_value(network_policy(objects, "production")).unwrap()
}

/// The peers of the ingress rule on `port`, or `None` when no rule opens it.
fn ingress_on(policy: &Value, port: i64) -> Option<Vec<Value>> {
    policy["spec"]["ingress"]
        .as_array()?
        .iter()
        .find(|rule| {
            rule["ports"]
                .as_array()
                .is_some_and(|ports| ports.iter().any(|p| p["port"] == port))
        })
        .map(|rule| rule["from"].as_array().cloned().unwrap_or_default())
}

/// `(port, protocol)` of the egress rules open to every destination.
fn egress_anywhere(policy: &Value) -> Vec<(i64, String)> {
    policy["spec"]["egress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rule| rule.get("to").is_none())
        .flat_map(|rule| rule["ports"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            (
                p["port"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn errors(yaml: &str) -> Vec<String> {
    repo(yaml).errors().map(Diagnostic::to_string).collect()
}

fn warnings(yaml: &str) -> Vec<String> {
    repo(yaml).warnings().map(Diagnostic::to_string).collect()
}

#[test]
fn a_minimal_document_reproduces_seed_004() {
    let yaml = doc("");
    assert_eq!(
        diagnostics(&yaml),
        Vec::<String>::new(),
        "the seed is clean"
    );
    let objects = render(&yaml);
    let mut rendered = keys(&objects);
    rendered.sort();
    let mut expected = vec![
        "Namespace chronik-prod",
        "ConfigMap chronik-prod/production-config",
        "ConfigMap chronik-prod/production-topics",
        "Service chronik-prod/production",
        "Service chronik-prod/production-controller-headless",
        "StatefulSet.apps chronik-prod/production-controller",
        "Deployment.apps chronik-prod/production-ingest",
        "PodDisruptionBudget.policy chronik-prod/production-controller",
        "PodDisruptionBudget.policy chronik-prod/production-ingest",
        "NetworkPolicy.networking.k8s.io chronik-prod/production",
        "ServiceMonitor.monitoring.coreos.com chronik-prod/production",
        "PrometheusRule.monitoring.coreos.com chronik-prod/production",
    ];
    expected.sort();
    assert_eq!(rendered, expected);

    // 3 controllers: a StatefulSet, started in order, sled metadata on 10Gi volumes.
    let set = controllers(&objects);
    assert_eq!(set["spec"]["replicas"], 3);
    assert_eq!(set["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(set["spec"]["serviceName"], "production-controller-headless");
    let claim = &set["spec"]["volumeClaimTemplates"][0];
    assert_eq!(claim["metadata"]["name"], "metadata");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert!(claim["spec"].get("storageClassName").is_none());
    assert_eq!(
        mount(&set, "metadata").unwrap()["mountPath"],
        "/var/lib/chronik/metadata"
    );
    assert_eq!(first_container(&set)["image"], "chronik/controller:v1.2.0");
    assert_eq!(
        first_container(&set)["resources"],
        json!({"requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"cpu": "8", "memory": "16Gi"}})
    );
    assert_eq!(min_available(&objects, "production-controller"), 2);

    // 10 ingest nodes: a Deployment rolled 10% at a time, with a 100Gi cache.
    let deployment = ingest(&objects);
    assert_eq!(deployment["spec"]["replicas"], 10);
    assert_eq!(
        deployment["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%", "maxUnavailable": "10%"}})
    );
    assert_eq!(
        first_container(&deployment)["image"],
        "chronik/ingest:v1.2.0"
    );
    assert_eq!(
        first_container(&deployment)["resources"],
        json!({"requests": {"cpu": "8", "memory": "16Gi"}, "limits": {"cpu": "16", "memory": "32Gi"}})
    );
    assert_eq!(
        volume(&deployment, "cache").unwrap()["emptyDir"]["sizeLimit"],
        "100Gi"
    );
    assert_eq!(min_available(&objects, "production-ingest"), 9);
    assert!(!has(
        &objects,
        "HorizontalPodAutoscaler",
        "production-ingest"
    ));

    // Kafka on 9092 in front of the ingest nodes; Raft and the controller API headless.
    let service = object(&objects, "Service", "production");
    assert_eq!(service["spec"]["ports"][0]["port"], 9092);
    assert_eq!(
        service["spec"]["selector"]["app.kubernetes.io/component"],
        "ingest"
    );
    let headless = object(&objects, "Service", "production-controller-headless");
    assert_eq!(headless["spec"]["clusterIP"], "None");
    let ports: Vec<_> = headless["spec"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [9093, 9094, 9095]);

    // production.yaml: the seed's tuning, replication 3 / min ISR 2, S3, TLS, SCRAM.
    let config = production(&objects);
    assert_eq!(
        config["server"],
        json!({
            "num_network_threads": 16,
            "num_io_threads": 32,
            "socket_send_buffer_bytes": 1048576,
            "socket_receive_buffer_bytes": 1048576,
            "max_connections": 10000,
            "kafka_port": 9092,
            "security_protocol": "SASL_SSL",
        })
    );
    assert_eq!(
        config["replication"],
        json!({"factor": 3, "min_insync_replicas": 2, "ack_timeout_ms": 30000})
    );
    assert_eq!(
        config["performance"],
        json!({"batch_size": 16384, "linger_ms": 5, "buffer_memory": 67108864, "prefetch_count": 10})
    );
    assert_eq!(config["storage"]["segment_size"], 1073741824u64);
    assert_eq!(config["storage"]["compression_type"], "zstd");
    assert_eq!(config["storage"]["compression_level"], 3);
    assert_eq!(config["storage"]["metadata"]["type"], "sled");
    assert_eq!(
        config["storage"]["backend"]["s3"],
        json!({"bucket": "chronik-prod-data", "region": "us-east-1"})
    );
    assert_eq!(
        config["controller"]["quorum"],
        json!([
            "production-controller-0.production-controller-headless.chronik-prod.svc.cluster.local:9094",
            "production-controller-1.production-controller-headless.chronik-prod.svc.cluster.local:9094",
            "production-controller-2.production-controller-headless.chronik-prod.svc.cluster.local:9094",
        ])
    );
    assert_eq!(
        config["security"]["tls"],
        json!({"enabled": true, "cert_file": "/etc/chronik/tls/tls.crt", "key_file": "/etc/chronik/tls/tls.key"})
    );
    assert_eq!(
        config["security"]["sasl"]["mechanisms"],
        json!(["SCRAM-SHA-256", "SCRAM-SHA-512"])
    );
    assert_eq!(config["telemetry"]["tracing"]["enabled"], false);

    // TLS and SASL Secrets mounted read-only; no S3 credentials (pod identity).
    for set in [&set, &deployment] {
        assert_eq!(
            volume(set, "tls").unwrap()["secret"]["secretName"],
            "production-tls"
        );
        assert_eq!(mount(set, "tls").unwrap()["readOnly"], true);
        assert!(env(set, "AWS_ACCESS_KEY_ID").is_none());
        assert!(env(set, "OTEL_EXPORTER_OTLP_ENDPOINT").is_none());
    }
    assert_eq!(
        volume(&deployment, "sasl").unwrap()["secret"]["secretName"],
        "production-sasl-users"
    );
    assert_eq!(mount(&deployment, "sasl").unwrap()["readOnly"], true);

    // Non-root, read-only root filesystem with an emptyDir for /tmp, probes.
    for set in [&set, &deployment] {
        assert_eq!(pod(set)["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod(set)["securityContext"]["runAsUser"], 1000);
        assert_eq!(
            first_container(set)["securityContext"]["readOnlyRootFilesystem"],
            true
        );
        assert_eq!(
            first_container(set)["securityContext"]["allowPrivilegeEscalation"],
            false
        );
        assert_eq!(mount(set, "tmp").unwrap()["mountPath"], "/tmp");
        assert!(first_container(set)["readinessProbe"]["tcpSocket"].is_object());
        assert!(first_container(set)["livenessProbe"]["initialDelaySeconds"].as_i64() > Some(0));
        assert_eq!(
            pod(set)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                [0]["topologyKey"],
            "kubernetes.io/hostname"
        );
        assert_eq!(
            pod(set)["topologySpreadConstraints"][0]["whenUnsatisfiable"],
            "ScheduleAnyway"
        );
    }
    assert_eq!(
        first_container(&deployment)["readinessProbe"]["tcpSocket"]["port"],
        "kafka"
    );
    assert_eq!(
        first_container(&set)["readinessProbe"]["tcpSocket"]["port"],
        "controller"
    );

    // NetworkPolicy: 9092 from chronik-clients, the pods among themselves, metrics from
    // monitoring; egress to the pods, 443 (S3) and 53 over UDP and TCP (DNS).
    let policy = policy(&objects);
    assert_eq!(
        ingress_on(&policy, 9092).unwrap(),
        [
            json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "chronik-clients"}}})
        ]
    );
    assert_eq!(
        ingress_on(&policy, 9095).unwrap(),
        [
            json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}})
        ]
    );
    let own = json!({"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "production", "app.kubernetes.io/name": "chronik"}}});
    let ingress = policy["spec"]["ingress"].as_array().unwrap();
    assert!(
        ingress.contains(&json!({"from": [own.clone()]})),
        "{ingress:#?}"
    );
    assert_eq!(policy["spec"]["egress"][0], json!({"to": [own]}));
    assert_eq!(
        egress_anywhere(&policy),
        [
            (443, "TCP".to_owned()),
            (53, "UDP".to_owned()),
            (53, "TCP".to_owned())
        ]
    );
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));

    // The seed's four alerts, scoped to this workload.
    let rule = serde_json::to_value(custom(&objects, "PrometheusRule", "production")).unwrap();
    let rules = rule["spec"]["groups"][0]["rules"].as_array().unwrap();
    let alerts: Vec<(&str, &str)> = rules
        .iter()
        .map(|r| (r["alert"].as_str().unwrap(), r["for"].as_str().unwrap()))
        .collect();
    assert_eq!(
        alerts,
        [
            ("ChronikNodeDown", "5m"),
            ("HighProduceLatency", "10m"),
            ("HighConsumerLag", "15m"),
            ("DiskSpaceLow", "5m"),
        ]
    );
    for rule in rules {
        let expr = rule["expr"].as_str().unwrap();
        assert!(expr.contains(r#"namespace="chronik-prod""#), "{expr}");
    }
    assert!(
        rules[1]["expr"]
            .as_str()
            .unwrap()
            .contains(r#"quantile="0.99""#)
    );
    assert!(rules[1]["expr"].as_str().unwrap().ends_with("> 0.1"));
    assert!(rules[2]["expr"].as_str().unwrap().ends_with("> 100000"));
    assert!(
        rules[3]["expr"]
            .as_str()
            .unwrap()
            .contains("metadata-production-controller-[0-9]+")
    );
    assert!(rules[3]["expr"].as_str().unwrap().ends_with("< 0.1"));
    let monitor = serde_json::to_value(custom(&objects, "ServiceMonitor", "production")).unwrap();
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "30s");
    // It finds both Services.
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    for name in ["production", "production-controller-headless"] {
        let labels = &object(&objects, "Service", name)["metadata"]["labels"];
        assert!(selector.iter().all(|(k, v)| &labels[k] == v), "{name}");
    }

    // No topics yet, but the list exists for the operate step.
    assert_eq!(topics(&objects), json!({"topics": []}));
}

/// One setting of the document and what it must change.
type Case = (&'static str, &'static str, fn(&[Object]));

#[test]
fn every_setting_reaches_its_field() {
    let cases: Vec<Case> = vec![
        ("version", "  version: v1.3.0\n", |o| {
            assert_eq!(
                first_container(&controllers(o))["image"],
                "chronik/controller:v1.3.0"
            );
            assert_eq!(
                first_container(&ingest(o))["image"],
                "chronik/ingest:v1.3.0"
            );
        }),
        (
            "replicas",
            "  controllers:\n    replicas: 5\n  ingest:\n    replicas: 4\n",
            |o| {
                assert_eq!(controllers(o)["spec"]["replicas"], 5);
                assert_eq!(
                    production(o)["controller"]["quorum"]
                        .as_array()
                        .unwrap()
                        .len(),
                    5
                );
                assert_eq!(
                    production(o)["controller"]["endpoints"][4],
                    "production-controller-4.production-controller-headless.chronik-prod.svc.cluster.local:9093"
                );
                assert_eq!(min_available(o, "production-controller"), 3);
                assert_eq!(ingest(o)["spec"]["replicas"], 4);
                assert_eq!(min_available(o, "production-ingest"), 3);
            },
        ),
        (
            "resources",
            "  controllers:\n    resources:\n      requests:\n        cpu: 2\n  ingest:\n    resources:\n      limits:\n        memory: 64Gi\n",
            |o| {
                assert_eq!(
                    first_container(&controllers(o))["resources"],
                    json!({"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"cpu": "8", "memory": "16Gi"}})
                );
                assert_eq!(
                    first_container(&ingest(o))["resources"],
                    json!({"requests": {"cpu": "8", "memory": "16Gi"}, "limits": {"cpu": "16", "memory": "64Gi"}})
                );
            },
        ),
        (
            "metadata storage",
            "  controllers:\n    metadataStorage:\n      size: 20Gi\n      storageClass: chronik-ssd\n",
            |o| {
                let claim = &controllers(o)["spec"]["volumeClaimTemplates"][0]["spec"];
                assert_eq!(claim["resources"]["requests"]["storage"], "20Gi");
                assert_eq!(claim["storageClassName"], "chronik-ssd");
            },
        ),
        ("cache size", "  ingest:\n    cacheSize: 50Gi\n", |o| {
            assert_eq!(
                volume(&ingest(o), "cache").unwrap()["emptyDir"]["sizeLimit"],
                "50Gi"
            );
            // 90% of 50Gi.
            assert_eq!(
                production(o)["storage"]["cache"]["max_bytes"],
                48318382080u64
            );
        }),
        (
            "s3 endpoint and credentials",
            "  objectStorage:\n    s3:\n      bucket: logs.example\n      region: eu-west-1\n      endpoint: https://minio.storage.svc:9000\n      credentialsSecret: chronik-s3\n",
            |o| {
                assert_eq!(
                    production(o)["storage"]["backend"]["s3"],
                    json!({"bucket": "logs.example", "region": "eu-west-1", "endpoint": "https://minio.storage.svc:9000"})
                );
                let deployment = ingest(o);
                for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
                    let var = env(&deployment, key).unwrap();
                    assert!(var.get("value").is_none(), "{key} inlined");
                    assert_eq!(
                        var["valueFrom"]["secretKeyRef"],
                        json!({"name": "chronik-s3", "key": key, "optional": false})
                    );
                }
                assert_eq!(
                    env(&deployment, "AWS_REGION").unwrap()["value"],
                    "eu-west-1"
                );
                // Egress to the endpoint's port instead of 443.
                let egress = egress_anywhere(&policy(o));
                assert!(egress.contains(&(9000, "TCP".to_owned())), "{egress:?}");
                assert!(!egress.contains(&(443, "TCP".to_owned())), "{egress:?}");
            },
        ),
        (
            "replication",
            "  replication:\n    factor: 5\n    minInsyncReplicas: 3\n    ackTimeoutMs: 10000\n",
            |o| {
                assert_eq!(
                    production(o)["replication"],
                    json!({"factor": 5, "min_insync_replicas": 3, "ack_timeout_ms": 10000})
                );
            },
        ),
        (
            "tls off",
            "  security:\n    tls:\n      enabled: false\n",
            |o| {
                for set in [controllers(o), ingest(o)] {
                    assert!(volume(&set, "tls").is_none());
                    assert!(mount(&set, "tls").is_none());
                }
                let config = production(o);
                assert_eq!(config["security"]["tls"], json!({"enabled": false}));
                assert_eq!(config["server"]["security_protocol"], "SASL_PLAINTEXT");
            },
        ),
        (
            "sasl off",
            "  security:\n    sasl:\n      enabled: false\n",
            |o| {
                assert!(volume(&ingest(o), "sasl").is_none());
                let config = production(o);
                assert_eq!(config["security"]["sasl"], json!({"enabled": false}));
                assert_eq!(config["server"]["security_protocol"], "SSL");
            },
        ),
        (
            "own secrets and one mechanism",
            "  security:\n    tls:\n      certSecret: kafka-cert\n    sasl:\n      mechanisms: [SCRAM-SHA-512]\n      usersSecret: kafka-users\n",
            |o| {
                assert_eq!(
                    volume(&controllers(o), "tls").unwrap()["secret"]["secretName"],
                    "kafka-cert"
                );
                assert_eq!(
                    volume(&ingest(o), "tls").unwrap()["secret"]["secretName"],
                    "kafka-cert"
                );
                assert_eq!(
                    volume(&ingest(o), "sasl").unwrap()["secret"]["secretName"],
                    "kafka-users"
                );
                assert_eq!(
                    production(o)["security"]["sasl"]["mechanisms"],
                    json!(["SCRAM-SHA-512"])
                );
            },
        ),
        (
            "client namespaces and sources",
            "  network:\n    clientNamespaces: [apps, analytics]\n    allowedSources:\n      - cidr: 10.1.0.0/16\n",
            |o| {
                let peer = |ns: &str| json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}});
                assert_eq!(
                    ingress_on(&policy(o), 9092).unwrap(),
                    [
                        peer("apps"),
                        peer("analytics"),
                        json!({"ipBlock": {"cidr": "10.1.0.0/16"}})
                    ]
                );
            },
        ),
        (
            "no clients",
            "  network:\n    clientNamespaces: []\n",
            |o| {
                // An empty `from` would admit everyone: there is no Kafka rule at all.
                assert_eq!(ingress_on(&policy(o), 9092), None);
            },
        ),
        (
            "topics",
            "  topics:\n    - name: orders\n      partitions: 12\n      config:\n        retention.ms: \"604800000\"\n    - name: audit.log\n      replicationFactor: 5\n",
            |o| {
                assert_eq!(
                    topics(o),
                    json!({"topics": [
                        {"name": "orders", "partitions": 12, "replication_factor": 3, "config": {"retention.ms": "604800000"}},
                        {"name": "audit.log", "partitions": 6, "replication_factor": 5, "config": {}},
                    ]})
                );
            },
        ),
        (
            "server settings",
            "  server:\n    networkThreads: 8\n    ioThreads: 12\n    maxConnections: 500\n    segmentSizeBytes: 536870912\n    compression: lz4\n",
            |o| {
                let config = production(o);
                assert_eq!(config["server"]["num_network_threads"], 8);
                assert_eq!(config["server"]["num_io_threads"], 12);
                assert_eq!(config["server"]["max_connections"], 500);
                assert_eq!(config["storage"]["segment_size"], 536870912);
                assert_eq!(config["storage"]["compression_type"], "lz4");
            },
        ),
        (
            "no compression",
            "  server:\n    compression: none\n",
            |o| {
                let config = production(o);
                assert_eq!(config["storage"]["compression_type"], "none");
                assert!(config["storage"].get("compression_level").is_none());
            },
        ),
        (
            "ingest autoscaling",
            "  ingest:\n    replicas: 10\n    autoscaling:\n      minReplicas: 6\n      maxReplicas: 30\n      targetCpuUtilization: 70\n",
            |o| {
                let hpa = serde_json::to_value(hpa(o, "production-ingest")).unwrap();
                assert_eq!(hpa["spec"]["minReplicas"], 6);
                assert_eq!(hpa["spec"]["maxReplicas"], 30);
                assert_eq!(
                    hpa["spec"]["scaleTargetRef"],
                    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "production-ingest"})
                );
                assert!(
                    ingest(o)["spec"].get("replicas").is_none(),
                    "the autoscaler owns replicas"
                );
                // The budget lets a node go at the autoscaler's minimum.
                assert_eq!(min_available(o, "production-ingest"), 5);
            },
        ),
        (
            "ingest autoscaling disabled",
            "  ingest:\n    autoscaling:\n      enabled: false\n      maxReplicas: 30\n",
            |o| {
                assert!(!has(o, "HorizontalPodAutoscaler", "production-ingest"));
                assert_eq!(ingest(o)["spec"]["replicas"], 10);
            },
        ),
        (
            "monitoring off",
            "  monitoring:\n    enabled: false\n",
            |o| {
                assert!(!has(o, "ServiceMonitor", "production"));
                assert!(!has(o, "PrometheusRule", "production"));
                assert_eq!(ingress_on(&policy(o), 9095), None);
            },
        ),
        (
            "alerts off, own labels and interval",
            "  monitoring:\n    alerts: false\n    interval: 15s\n    namespace: observability\n    labels:\n      release: prometheus\n",
            |o| {
                assert!(!has(o, "PrometheusRule", "production"));
                let monitor = object(o, "ServiceMonitor", "production");
                assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
                assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "15s");
                assert_eq!(
                    ingress_on(&policy(o), 9095).unwrap(),
                    [
                        json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}})
                    ]
                );
            },
        ),
        (
            "otlp endpoint",
            "  otlpEndpoint: jaeger-collector.monitoring:4317\n",
            |o| {
                for (set, service) in [
                    (controllers(o), "production-controller"),
                    (ingest(o), "production-ingest"),
                ] {
                    assert_eq!(
                        env(&set, "OTEL_EXPORTER_OTLP_ENDPOINT").unwrap()["value"],
                        "http://jaeger-collector.monitoring:4317"
                    );
                    assert_eq!(env(&set, "OTEL_SERVICE_NAME").unwrap()["value"], service);
                }
                assert_eq!(
                    production(o)["telemetry"]["tracing"],
                    json!({"enabled": true, "otlp_endpoint": "http://jaeger-collector.monitoring:4317"})
                );
                assert!(egress_anywhere(&policy(o)).contains(&(4317, "TCP".to_owned())));
            },
        ),
        (
            "placement",
            "  placement:\n    nodes: preferred\n    zones: none\n    nodeSelector:\n      workload: streaming\n    tolerations:\n      - key: dedicated\n        value: chronik\n        effect: NoSchedule\n",
            |o| {
                for set in [controllers(o), ingest(o)] {
                    let pod = pod(&set);
                    let anti = &pod["affinity"]["podAntiAffinity"];
                    assert!(
                        anti.get("requiredDuringSchedulingIgnoredDuringExecution")
                            .is_none()
                    );
                    assert_eq!(
                        anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
                            ["topologyKey"],
                        "kubernetes.io/hostname"
                    );
                    assert!(pod.get("topologySpreadConstraints").is_none());
                    assert_eq!(pod["nodeSelector"], json!({"workload": "streaming"}));
                    assert_eq!(
                        pod["tolerations"],
                        json!([{"key": "dedicated", "value": "chronik", "effect": "NoSchedule"}])
                    );
                }
            },
        ),
        (
            "disruption budgets",
            "  controllers:\n    replicas: 5\n    disruption:\n      minAvailable: 4\n  ingest:\n    disruption:\n      minAvailable: 5\n",
            |o| {
                assert_eq!(min_available(o, "production-controller"), 4);
                assert_eq!(min_available(o, "production-ingest"), 5);
            },
        ),
        (
            "single pods get no budget",
            "  controllers:\n    replicas: 1\n  ingest:\n    replicas: 1\n  replication:\n    factor: 1\n    minInsyncReplicas: 1\n",
            |o| {
                assert!(!has(o, "PodDisruptionBudget", "production-controller"));
                assert!(!has(o, "PodDisruptionBudget", "production-ingest"));
            },
        ),
    ];
    for (what, extra, check) in cases {
        let yaml = doc(extra);
        let errors = errors(&yaml);
        assert!(errors.is_empty(), "{what}: {errors:#?}");
        check(&render(&yaml));
    }
}

#[test]
fn pods_roll_when_their_configuration_changes_and_only_then() {
    let hash = |extra: &str| {
        let objects = render(&doc(extra));
        let set = controllers(&objects);
        let deployment = ingest(&objects);
        let hash =
            set["spec"]["template"]["metadata"]["annotations"]["strata.dev/config-hash"].clone();
        assert_eq!(
            hash,
            deployment["spec"]["template"]["metadata"]["annotations"]["strata.dev/config-hash"]
        );
        hash.as_str().unwrap().to_owned()
    };
    let base = hash("");
    assert_eq!(base.len(), 16);
    assert_eq!(hash(""), base);
    assert_eq!(hash("  ingest:\n    replicas: 12\n"), base);
    assert_eq!(hash("  topics:\n    - name: orders\n"), base);
    assert_ne!(hash("  server:\n    maxConnections: 500\n"), base);
    assert_ne!(hash("  controllers:\n    replicas: 5\n"), base);
}

#[test]
fn endpoints_are_read_for_their_ports() {
    assert_eq!(
        parse_endpoint("https://s3.amazonaws.com"),
        Some(Endpoint {
            scheme: Some("https"),
            host: "s3.amazonaws.com",
            port: None
        })
    );
    assert_eq!(
        parse_endpoint("http://minio:9000/bucket"),
        Some(Endpoint {
            scheme: Some("http"),
            host: "minio",
            port: Some(9000)
        })
    );
    assert_eq!(
        parse_endpoint("https://[::1]").map(|e| e.host),
        Some("[::1]")
    );
    assert_eq!(
        parse_endpoint("https://[::1]:8443").and_then(|e| e.port),
        Some(8443)
    );
    for bad in [
        "",
        "https://",
        "a b:1",
        "host:port",
        "host:0",
        "host:70000",
        "https://user@host",
    ] {
        assert_eq!(parse_endpoint(bad), None, "{bad}");
    }
    assert_eq!(otlp_port("jaeger-collector.monitoring:4317"), Some(4317));
    assert_eq!(otlp_port("otel-collector"), Some(4317));
    assert_eq!(otlp_port("https://otel.example.com"), Some(443));
    assert_eq!(otlp_port("http://otel:4318/v1/traces"), Some(4318));

    // An http endpoint without a port: egress on 80.
    let objects = render(&doc(
        "  objectStorage:\n    s3:\n      bucket: logs\n      region: local\n      endpoint: http://minio.storage\n",
    ));
    assert!(egress_anywhere(&policy(&objects)).contains(&(80, "TCP".to_owned())));
}

/// `(spec lines, path, part of the message)`: the document has an error at exactly
/// `tiers/test.yaml#1 <path>` whose message contains the part.
const ERRORS: &[(&str, &str, &str)] = &[
    (
        "  controllers:\n    replicas: 0\n",
        "spec.controllers.replicas",
        "at least 1",
    ),
    (
        "  ingest:\n    replicas: 0\n",
        "spec.ingest.replicas",
        "at least 1",
    ),
    (
        "  ingest:\n    replicas: 2\n",
        "spec.replication.factor",
        "3 is more than the 2 ingest replicas",
    ),
    (
        "  ingest:\n    autoscaling:\n      minReplicas: 2\n      maxReplicas: 20\n      targetCpuUtilization: 70\n",
        "spec.replication.factor",
        "autoscaler's minimum of 2 ingest replicas",
    ),
    (
        "  replication:\n    factor: 0\n    minInsyncReplicas: 0\n",
        "spec.replication.factor",
        "at least 1",
    ),
    (
        "  replication:\n    minInsyncReplicas: 0\n",
        "spec.replication.minInsyncReplicas",
        "at least 1",
    ),
    (
        "  replication:\n    minInsyncReplicas: 4\n",
        "spec.replication.minInsyncReplicas",
        "4 is more than the replication factor 3",
    ),
    (
        "  replication:\n    ackTimeoutMs: 0\n",
        "spec.replication.ackTimeoutMs",
        "at least 1",
    ),
    (
        "  topics:\n    - name: bad name\n",
        "spec.topics[0].name",
        "`bad name` is not a topic name",
    ),
    (
        "  topics:\n    - name: ok\n    - name: ..\n",
        "spec.topics[1].name",
        "`..` is not a topic name",
    ),
    (
        "  topics:\n    - name: orders\n    - name: orders\n",
        "spec.topics[1].name",
        "duplicate topic `orders`: also at spec.topics[0]",
    ),
    (
        "  topics:\n    - name: audit.log\n    - name: other\n    - name: audit_log\n",
        "spec.topics[2].name",
        "collides with `audit.log` at spec.topics[0]",
    ),
    (
        "  topics:\n    - name: orders\n      partitions: 0\n",
        "spec.topics[0].partitions",
        "at least 1",
    ),
    (
        "  topics:\n    - name: orders\n      replicationFactor: 11\n",
        "spec.topics[0].replicationFactor",
        "11 is more than the 10 ingest replicas",
    ),
    (
        "  topics:\n    - name: orders\n      replicationFactor: 1\n",
        "spec.topics[0].replicationFactor",
        "fewer than min.insync.replicas 2",
    ),
    (
        "  topics:\n    - name: orders\n      config:\n        min.insync.replicas: \"4\"\n",
        "spec.topics[0].replicationFactor",
        "fewer than min.insync.replicas 4 (spec.topics[0].config.min.insync.replicas)",
    ),
    (
        "  topics:\n    - name: orders\n      config:\n        min.insync.replicas: many\n",
        "spec.topics[0].config.min.insync.replicas",
        "not a whole number",
    ),
    (
        "  topics:\n    - name: orders\n      config:\n        Retention: \"1\"\n",
        "spec.topics[0].config",
        "`Retention` is not a topic setting",
    ),
    (
        "  objectStorage:\n    s3:\n      bucket: Chronik_Data\n      region: us-east-1\n",
        "spec.objectStorage.s3.bucket",
        "`Chronik_Data` is not a bucket name",
    ),
    (
        "  objectStorage:\n    s3:\n      bucket: ab\n      region: us-east-1\n",
        "spec.objectStorage.s3.bucket",
        "3 to 63",
    ),
    (
        "  objectStorage:\n    s3:\n      bucket: chronik\n      region: \"\"\n",
        "spec.objectStorage.s3.region",
        "not a region",
    ),
    (
        "  objectStorage:\n    s3:\n      bucket: chronik\n      region: us-east-1\n      endpoint: s3.amazonaws.com\n",
        "spec.objectStorage.s3.endpoint",
        "not an https:// or http:// URL",
    ),
    (
        "  objectStorage:\n    s3:\n      bucket: chronik\n      region: us-east-1\n      credentialsSecret: S3_Keys\n",
        "spec.objectStorage.s3.credentialsSecret",
        "not a Secret name",
    ),
    (
        "  security:\n    sasl:\n      mechanisms: []\n",
        "spec.security.sasl.mechanisms",
        "no mechanism",
    ),
    (
        "  security:\n    tls:\n      certSecret: My-Cert\n",
        "spec.security.tls.certSecret",
        "not a Secret name",
    ),
    (
        "  server:\n    compression: brotli\n",
        "spec.server.compression",
        "`brotli` is not one of none, gzip, snappy, lz4, zstd",
    ),
    (
        "  server:\n    ioThreads: 0\n",
        "spec.server.ioThreads",
        "at least 1",
    ),
    (
        "  server:\n    segmentSizeBytes: 0\n",
        "spec.server.segmentSizeBytes",
        "at least 1",
    ),
    (
        "  controllers:\n    resources:\n      requests:\n        cpu: 10\n",
        "spec.controllers.resources.requests.cpu",
        "more than the limit 8",
    ),
    (
        "  ingest:\n    resources:\n      requests:\n        memory: 64Gi\n",
        "spec.ingest.resources.requests.memory",
        "more than the limit 32Gi",
    ),
    (
        "  controllers:\n    metadataStorage:\n      size: 0\n",
        "spec.controllers.metadataStorage.size",
        "larger than 0",
    ),
    (
        "  ingest:\n    cacheSize: 0Gi\n",
        "spec.ingest.cacheSize",
        "larger than 0",
    ),
    (
        "  controllers:\n    disruption:\n      minAvailable: 3\n",
        "spec.controllers.disruption.minAvailable",
        "less than the 3 replicas",
    ),
    (
        "  ingest:\n    disruption:\n      minAvailable: 10\n",
        "spec.ingest.disruption.minAvailable",
        "less than the 10 replicas",
    ),
    (
        "  ingest:\n    autoscaling:\n      maxReplicas: 20\n",
        "spec.ingest.autoscaling",
        "targetCpuUtilization",
    ),
    (
        "  ingest:\n    autoscaling:\n      maxReplicas: 5\n      targetCpuUtilization: 70\n",
        "spec.ingest.autoscaling.maxReplicas",
        "less than the minimum 10",
    ),
    (
        "  network:\n    allowedSources:\n      - namespace: apps\n        cidr: 10.0.0.0/8\n",
        "spec.network.allowedSources[0]",
        "exactly one",
    ),
    (
        "  network:\n    clientNamespaces: [ok, Bad_NS]\n",
        "spec.network.clientNamespaces[1]",
        "`Bad_NS`",
    ),
    (
        "  monitoring:\n    interval: soon\n",
        "spec.monitoring.interval",
        "`soon` is not a duration",
    ),
    (
        "  otlpEndpoint: not a url\n",
        "spec.otlpEndpoint",
        "not a collector address",
    ),
    (
        "  otlpEndpoint: grpc://collector:4317\n",
        "spec.otlpEndpoint",
        "not a collector address",
    ),
    ("  version: \"v1 2\"\n", "spec.version", "not an image tag"),
];

#[test]
fn errors_name_their_field() {
    for (extra, path, message) in ERRORS {
        assert_error(
            &doc(extra),
            &[&format!("tiers/test.yaml#1 {path}: "), message],
        );
    }
    // The brief's example, verbatim.
    assert_error(
        &doc("  ingest:\n    replicas: 2\n"),
        &["tiers/test.yaml#1 spec.replication.factor: 3 is more than the 2 ingest replicas"],
    );
}

#[test]
fn risky_settings_warn() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "  controllers:\n    replicas: 1\n",
            "spec.controllers.replicas",
            "tolerate no failure",
        ),
        (
            "  controllers:\n    replicas: 2\n",
            "spec.controllers.replicas",
            "tolerate no failure",
        ),
        (
            "  controllers:\n    replicas: 4\n",
            "spec.controllers.replicas",
            "even number",
        ),
        (
            "  replication:\n    minInsyncReplicas: 3\n",
            "spec.replication.minInsyncReplicas",
            "equals the replication factor 3",
        ),
        (
            "  objectStorage:\n    s3:\n      bucket: chronik\n      region: us-east-1\n      endpoint: http://minio.storage:9000\n",
            "spec.objectStorage.s3.endpoint",
            "unencrypted",
        ),
    ];
    for (extra, path, message) in cases {
        let yaml = doc(extra);
        assert_eq!(errors(&yaml), Vec::<String>::new(), "{extra}");
        let warnings = warnings(&yaml);
        let prefix = format!("tiers/test.yaml#1 {path}: ");
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&prefix) && w.contains(message)),
            "no warning {prefix}…{message} in {warnings:#?}"
        );
    }
    // Odd controller counts from 3 up are quiet.
    assert_eq!(
        warnings(&doc("  controllers:\n    replicas: 5\n")),
        Vec::<String>::new()
    );
}

#[test]
fn a_disabled_autoscaler_is_not_checked() {
    let yaml = doc("  ingest:\n    autoscaling:\n      enabled: false\n      maxReplicas: 1\n");
    assert_eq!(errors(&yaml), Vec::<String>::new());
}
