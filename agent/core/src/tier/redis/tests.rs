//! The redis tier, document in, objects or diagnostics out: the seeds' deployments from
//! minimal documents, every setting reaching its field, the password in no object, and
//! each rule reporting at its exact path.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use crate::diag::Diagnostic;
use crate::object::Object;
use crate::testing::*;

/// A `RedisCluster` named `cache` in namespace `data` with `spec` (block YAML, or empty).
fn doc(spec: &str) -> String {
    let body = if spec.trim().is_empty() {
        " {}".to_owned()
    } else {
        spec.lines()
            .map(|line| format!("\n  {line}"))
            .collect::<String>()
    };
    format!(
        "apiVersion: strata.dev/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: cache\n  namespace: data\nspec:{body}\n"
    )
}

fn pod_spec(set: &StatefulSet) -> &PodSpec {
    set.spec.as_ref().unwrap().template.spec.as_ref().unwrap()
}

fn job_pod(job: &CronJob) -> &PodSpec {
    job.spec
        .as_ref()
        .unwrap()
        .job_template
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
}

fn file<'a>(objects: &'a [Object], config_map: &str, key: &str) -> &'a str {
    config_map_data(objects, config_map)
        .get(key)
        .unwrap_or_else(|| panic!("no `{key}` in ConfigMap {config_map}"))
}

fn config_map_data<'a>(
    objects: &'a [Object],
    name: &str,
) -> &'a std::collections::BTreeMap<String, String> {
    config_map(objects, name).data.as_ref().unwrap()
}

fn env<'a>(container: &'a Container, name: &str) -> &'a EnvVar {
    container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no env {name} in {}", container.name))
}

fn secret_ref(var: &EnvVar) -> (String, String) {
    assert!(var.value.is_none(), "{} has a literal value", var.name);
    let secret = var
        .value_from
        .as_ref()
        .and_then(|v| v.secret_key_ref.as_ref())
        .unwrap_or_else(|| panic!("{} is not from a Secret", var.name));
    (secret.name.clone(), secret.key.clone())
}

fn ports(container: &Container) -> Vec<(String, i32)> {
    container
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap_or_default(), p.container_port))
        .collect()
}

fn service_ports(objects: &[Object], name: &str) -> Vec<(String, i32)> {
    service(objects, name)
        .spec
        .as_ref()
        .unwrap()
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap_or_default(), p.port))
        .collect()
}

fn min_available(objects: &[Object], name: &str) -> IntOrString {
    pdb(objects, name)
        .spec
        .as_ref()
        .unwrap()
        .min_available
        .clone()
        .unwrap()
}

fn quantity(
    list: &Option<
        std::collections::BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
    >,
    key: &str,
) -> String {
    list.as_ref().unwrap()[key].0.clone()
}

fn alert_names(objects: &[Object]) -> Vec<String> {
    let rule = custom(objects, "PrometheusRule", "cache");
    rule.fields["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap().to_owned())
        .collect()
}

fn warnings(yaml: &str) -> Vec<String> {
    repo(yaml).warnings().map(Diagnostic::to_string).collect()
}

#[test]
fn the_minimal_document_is_seed_002() {
    let objects = render(&doc(""));
    assert_eq!(
        keys(&objects),
        [
            "Namespace data",
            "ConfigMap data/cache-config",
            "PersistentVolumeClaim data/cache-backup",
            "Service data/cache",
            "Service data/cache-headless",
            "StatefulSet.apps data/cache",
            "CronJob.batch data/cache-backup-daily",
            "CronJob.batch data/cache-backup-hourly",
            "NetworkPolicy.networking.k8s.io data/cache",
            "PodDisruptionBudget.policy data/cache",
            "PrometheusRule.monitoring.coreos.com data/cache",
            "ServiceMonitor.monitoring.coreos.com data/cache",
        ]
    );

    // 6 pods (3 masters × 1 replica), all spread, 4 kept through disruptions.
    let set = stateful_set(&objects, "cache");
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(6));
    assert_eq!(spec.service_name.as_deref(), Some("cache-headless"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    assert_eq!(min_available(&objects, "cache"), IntOrString::Int(4));
    let pod = pod_spec(set);
    let anti = pod
        .affinity
        .as_ref()
        .unwrap()
        .pod_anti_affinity
        .as_ref()
        .unwrap();
    let required = anti
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap();
    assert_eq!(required[0].topology_key, "kubernetes.io/hostname");
    let preferred = anti
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .unwrap();
    assert_eq!(
        preferred[0].pod_affinity_term.topology_key,
        "topology.kubernetes.io/zone"
    );

    // Ports: clients and the cluster bus; the exporter on 9121.
    let redis = container(set, "redis");
    assert_eq!(
        ports(redis),
        [("redis".into(), 6379), ("bus".into(), 16379)]
    );
    assert_eq!(
        ports(container(set, "exporter")),
        [("metrics".into(), 9121)]
    );
    assert_eq!(
        service_ports(&objects, "cache-headless"),
        [("redis".into(), 6379), ("bus".into(), 16379)]
    );
    assert_eq!(
        service_ports(&objects, "cache"),
        [("redis".into(), 6379), ("metrics".into(), 9121)]
    );
    let exporter = container(set, "exporter");
    assert!(
        exporter
            .image
            .as_deref()
            .unwrap()
            .starts_with("oliver006/redis_exporter:")
    );
    assert_eq!(
        quantity(&exporter.resources.as_ref().unwrap().requests, "memory"),
        "128Mi"
    );

    // UID 999, read-only root filesystem, /tmp writable, config read-only.
    let security = pod.security_context.as_ref().unwrap();
    assert_eq!(
        (
            security.run_as_user,
            security.run_as_group,
            security.fs_group
        ),
        (Some(999), Some(999), Some(999))
    );
    for c in &pod.containers {
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.run_as_user, Some(999), "{}", c.name);
        assert_eq!(sc.read_only_root_filesystem, Some(true), "{}", c.name);
        assert_eq!(sc.allow_privilege_escalation, Some(false), "{}", c.name);
    }
    let mounts = redis.volume_mounts.as_ref().unwrap();
    let mount = |path: &str| mounts.iter().find(|m| m.mount_path == path).unwrap();
    assert_eq!(mount("/etc/redis").read_only, Some(true));
    assert_eq!(mount("/tmp").name, "tmp");
    assert_eq!(mount("/data").name, "data");

    // Resources 2/8Gi – 4/16Gi, 100Gi per pod.
    let resources = redis.resources.as_ref().unwrap();
    assert_eq!(quantity(&resources.requests, "cpu"), "2");
    assert_eq!(quantity(&resources.requests, "memory"), "8Gi");
    assert_eq!(quantity(&resources.limits, "cpu"), "4");
    assert_eq!(quantity(&resources.limits, "memory"), "16Gi");
    let claim = &spec.volume_claim_templates.as_ref().unwrap()[0];
    assert_eq!(claim.metadata.name.as_deref(), Some("data"));
    assert_eq!(
        quantity(
            &claim
                .spec
                .as_ref()
                .unwrap()
                .resources
                .as_ref()
                .unwrap()
                .requests,
            "storage"
        ),
        "100Gi"
    );

    // redis.conf: the seed's settings.
    let conf = file(&objects, "cache-config", "redis.conf");
    for line in [
        "port 6379",
        "dir /data",
        "protected-mode yes",
        "appendonly yes",
        "appendfsync everysec",
        "save 900 1",
        "save 300 10",
        "save 60 10000",
        "maxmemory 6gb",
        "maxmemory-policy allkeys-lru",
        "lazyfree-lazy-eviction yes",
        "io-threads 4",
        "io-threads-do-reads yes",
        "cluster-enabled yes",
        "cluster-config-file /data/nodes.conf",
        "cluster-node-timeout 15000",
    ] {
        assert!(conf.lines().any(|l| l == line), "no `{line}` in:\n{conf}");
    }

    // Backups: hourly keeping 3, daily at 02:00 UTC keeping 7, on a 50Gi volume.
    for (name, schedule, keep) in [
        ("cache-backup-hourly", "0 * * * *", "3"),
        ("cache-backup-daily", "0 2 * * *", "7"),
    ] {
        let job = cron_job(&objects, name);
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.schedule, schedule);
        assert_eq!(spec.time_zone.as_deref(), Some("Etc/UTC"));
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        assert!(spec.successful_jobs_history_limit.is_some());
        assert!(spec.failed_jobs_history_limit.is_some());
        let pod = job_pod(job);
        assert!(pod.init_containers.is_none(), "no S3 upload by default");
        let snapshot = &pod.containers[0];
        let command = snapshot.command.as_ref().unwrap();
        assert_eq!(command[0], "/etc/redis/backup.sh");
        assert_eq!(command[2], keep);
    }
    assert_eq!(
        quantity(
            &pvc(&objects, "cache-backup")
                .spec
                .as_ref()
                .unwrap()
                .resources
                .as_ref()
                .unwrap()
                .requests,
            "storage"
        ),
        "50Gi"
    );
    let backup = file(&objects, "cache-config", "backup.sh");
    assert!(backup.contains("--rdb"), "{backup}");
    assert!(backup.contains("-lt 6 ]"), "asks all 6 pods: {backup}");
    assert!(backup.contains("-lt 3 ]"), "expects 3 primaries: {backup}");

    // No Sentinels unless asked for.
    assert!(!keys(&objects).iter().any(|k| k.contains("sentinel")));
    assert!(repo(&doc("")).diagnostics.is_empty());
}

#[test]
fn topology_sentinel_is_seed_001() {
    let objects = render(&doc("topology: sentinel"));
    assert_eq!(
        keys(&objects),
        [
            "Namespace data",
            "ConfigMap data/cache-config",
            "ConfigMap data/cache-sentinel-config",
            "PersistentVolumeClaim data/cache-backup",
            "Service data/cache",
            "Service data/cache-headless",
            "Service data/cache-sentinel",
            "Service data/cache-sentinel-headless",
            "StatefulSet.apps data/cache",
            "StatefulSet.apps data/cache-sentinel",
            "CronJob.batch data/cache-backup-daily",
            "CronJob.batch data/cache-backup-hourly",
            "NetworkPolicy.networking.k8s.io data/cache",
            "PodDisruptionBudget.policy data/cache",
            "PodDisruptionBudget.policy data/cache-sentinel",
            "PrometheusRule.monitoring.coreos.com data/cache",
            "ServiceMonitor.monitoring.coreos.com data/cache",
        ]
    );
    // A primary and 2 replicas; 3 Sentinels with quorum 2.
    let servers = stateful_set(&objects, "cache");
    assert_eq!(servers.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(ports(container(servers, "redis")), [("redis".into(), 6379)]);
    let sentinels = stateful_set(&objects, "cache-sentinel");
    assert_eq!(sentinels.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(
        sentinels.spec.as_ref().unwrap().service_name.as_deref(),
        Some("cache-sentinel-headless")
    );
    assert_eq!(min_available(&objects, "cache"), IntOrString::Int(2));
    assert_eq!(
        min_available(&objects, "cache-sentinel"),
        IntOrString::Int(2)
    );
    assert_eq!(
        service_ports(&objects, "cache-sentinel"),
        [("sentinel".into(), 26379), ("metrics".into(), 9355)]
    );
    assert_eq!(
        ports(container(sentinels, "exporter")),
        [("metrics".into(), 9355)]
    );

    let conf = file(&objects, "cache-sentinel-config", "sentinel.conf");
    let lines: Vec<&str> = conf.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "port 26379",
            "dir /data",
            "sentinel resolve-hostnames yes",
            "sentinel announce-hostnames yes",
            "sentinel monitor cache cache-0.cache-headless.data.svc.cluster.local 6379 2",
            "sentinel down-after-milliseconds cache 5000",
            "sentinel failover-timeout cache 10000",
            "sentinel parallel-syncs cache 1",
        ]
    );
    // Sentinel rewrites its file: it runs from a copy the init container writes.
    let pod = pod_spec(sentinels);
    let init = &pod.init_containers.as_ref().unwrap()[0];
    assert_eq!(
        init.command.as_deref(),
        Some(&["/etc/redis-sentinel/init.sh".to_owned()][..])
    );
    assert_eq!(
        container(sentinels, "sentinel").command.as_deref().unwrap(),
        ["redis-server", "/data/sentinel.conf", "--sentinel"]
    );
    let init_script = file(&objects, "cache-sentinel-config", "init.sh");
    assert!(init_script.contains("sentinel auth-pass"), "{init_script}");
    assert!(init_script.contains("$REDIS_PASSWORD"), "{init_script}");

    // A restarted server asks the Sentinels for the primary, else starts from pod 0.
    let start = file(&objects, "cache-config", "start.sh");
    assert!(
        start.contains("SENTINEL get-master-addr-by-name cache"),
        "{start}"
    );
    assert!(start.contains("-h cache-sentinel -p 26379"), "{start}");
    assert!(
        start.contains("primary=\"cache-0.cache-headless.data.svc.cluster.local\""),
        "{start}"
    );
    assert!(start.contains("--replicaof \"$primary\""), "{start}");
    let conf = file(&objects, "cache-config", "redis.conf");
    assert!(!conf.contains("cluster-enabled"), "{conf}");
    let config = pod_spec(servers)
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "config")
        .unwrap()
        .config_map
        .as_ref()
        .unwrap();
    let start_item = config
        .items
        .iter()
        .flatten()
        .find(|i| i.key == "start.sh")
        .unwrap();
    assert_eq!(start_item.mode, Some(0o555));

    // Alerts for a replicated primary, not a cluster.
    let alerts = alert_names(&objects);
    assert!(!alerts.contains(&"RedisClusterStateNotOk".to_owned()));
    for alert in [
        "RedisNoPrimary",
        "RedisSeveralPrimaries",
        "RedisSentinelQuorumLost",
        "RedisSentinelPrimaryDown",
        "RedisReplicationBroken",
    ] {
        assert!(alerts.contains(&alert.to_owned()), "{alert} in {alerts:?}");
    }
    assert!(repo(&doc("topology: sentinel")).diagnostics.is_empty());
}

#[test]
fn a_cluster_with_sentinels_renders_them_and_warns_what_they_do_not_do() {
    let yaml = doc("sentinel: {}");
    let objects = render(&yaml);
    let sentinels = stateful_set(&objects, "cache-sentinel");
    assert_eq!(sentinels.spec.as_ref().unwrap().replicas, Some(3));
    let conf = file(&objects, "cache-sentinel-config", "sentinel.conf");
    for shard in 0..3 {
        assert!(
            conf.contains(&format!(
                "sentinel monitor cache-shard-{shard} cache-{shard}.cache-headless.data.svc.cluster.local 6379 2"
            )),
            "{conf}"
        );
        assert!(
            conf.contains(&format!(
                "sentinel down-after-milliseconds cache-shard-{shard} 30000"
            )),
            "{conf}"
        );
        assert!(
            conf.contains(&format!(
                "sentinel failover-timeout cache-shard-{shard} 180000"
            )),
            "{conf}"
        );
    }
    // The servers do not depend on them.
    let start = file(&objects, "cache-config", "start.sh");
    assert!(!start.contains("SENTINEL"), "{start}");

    let warnings = warnings(&yaml);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    let warning = &warnings[0];
    assert!(
        warning.starts_with("tiers/test.yaml#1 spec.sentinel: "),
        "{warning}"
    );
    for part in [
        "only watch and alert",
        "fails over by itself",
        "do not fail over shards",
        "keep watching the old master's address",
    ] {
        assert!(warning.contains(part), "`{part}` not in {warning}");
    }
    // Watching only: their alerts do not claim a lost quorum breaks failover.
    let alerts = alert_names(&objects);
    assert!(alerts.contains(&"RedisSentinelDown".to_owned()));
    assert!(!alerts.contains(&"RedisSentinelQuorumLost".to_owned()));
}

#[test]
fn every_setting_reaches_its_field() {
    let yaml = doc(r#"image: registry.local/redis:7.2.5
masters: 4
replicasPerMaster: 2
memory: {maxmemory: 5gb, policy: volatile-lfu}
persistence:
  aof: false
  appendfsync: always
  save: [{seconds: 120, changes: 5}]
auth: {name: shared-redis, key: secret}
ioThreads: 2
clusterNodeTimeoutMs: 5000
resources:
  requests: {cpu: 3, memory: 10Gi}
  limits: {cpu: 6, memory: 20Gi}
storage: {size: 200Gi, storageClass: fast}
exporter:
  image: registry.local/exporter:1
  resources: {limits: {memory: 512Mi}}
backup:
  hourly: {schedule: "15 * * * *", keep: 5}
  daily: {schedule: "30 3 * * *", keep: 14}
  storage: {size: 80Gi, storageClass: cheap}
  s3: {bucket: redis-backups, prefix: /prod/cache/, region: eu-west-1, credentialsSecret: s3-keys}
disruption: {minAvailable: 9}
placement:
  nodes: preferred
  zones: none
  nodeSelector: {pool: redis}
  tolerations: [{key: dedicated, value: redis, effect: NoSchedule}]
network:
  allowedSources: [{namespace: apps}, {cidr: 10.1.0.0/16}]
service: {type: LoadBalancer, annotations: {lb: internal}}
monitoring: {interval: 15s, labels: {release: prometheus}, namespace: observability}
"#);
    let objects = render(&yaml);
    let set = stateful_set(&objects, "cache");
    let spec = set.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(12));
    let redis = container(set, "redis");
    assert_eq!(redis.image.as_deref(), Some("registry.local/redis:7.2.5"));
    let resources = redis.resources.as_ref().unwrap();
    assert_eq!(quantity(&resources.requests, "cpu"), "3");
    assert_eq!(quantity(&resources.limits, "memory"), "20Gi");
    let claim = spec.volume_claim_templates.as_ref().unwrap()[0]
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(claim.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(
        quantity(&claim.resources.as_ref().unwrap().requests, "storage"),
        "200Gi"
    );
    assert_eq!(
        secret_ref(env(redis, "REDIS_PASSWORD")),
        ("shared-redis".into(), "secret".into())
    );
    let exporter = container(set, "exporter");
    assert_eq!(exporter.image.as_deref(), Some("registry.local/exporter:1"));
    let exporter_resources = exporter.resources.as_ref().unwrap();
    assert_eq!(quantity(&exporter_resources.limits, "memory"), "512Mi");
    assert_eq!(quantity(&exporter_resources.requests, "memory"), "128Mi");

    let conf = file(&objects, "cache-config", "redis.conf");
    for line in [
        "maxmemory 5gb",
        "maxmemory-policy volatile-lfu",
        "appendonly no",
        "appendfsync always",
        "save 120 5",
        "io-threads 2",
        "cluster-node-timeout 5000",
    ] {
        assert!(conf.lines().any(|l| l == line), "no `{line}` in:\n{conf}");
    }
    assert!(!conf.contains("save 900"), "{conf}");
    assert_eq!(min_available(&objects, "cache"), IntOrString::Int(9));

    let pod = pod_spec(set);
    assert_eq!(pod.node_selector.as_ref().unwrap()["pool"], "redis");
    assert_eq!(
        pod.tolerations.as_ref().unwrap()[0].key.as_deref(),
        Some("dedicated")
    );
    let anti = pod
        .affinity
        .as_ref()
        .unwrap()
        .pod_anti_affinity
        .as_ref()
        .unwrap();
    assert!(
        anti.required_during_scheduling_ignored_during_execution
            .is_none()
    );
    assert_eq!(
        anti.preferred_during_scheduling_ignored_during_execution
            .as_ref()
            .unwrap()
            .len(),
        1
    );
    assert!(pod.topology_spread_constraints.is_none());

    let client = service(&objects, "cache");
    assert_eq!(
        client.spec.as_ref().unwrap().type_.as_deref(),
        Some("LoadBalancer")
    );
    assert_eq!(
        client.metadata.annotations.as_ref().unwrap()["lb"],
        "internal"
    );

    // Backups.
    for (name, schedule, keep) in [
        ("cache-backup-hourly", "15 * * * *", "5"),
        ("cache-backup-daily", "30 3 * * *", "14"),
    ] {
        let job = cron_job(&objects, name);
        assert_eq!(job.spec.as_ref().unwrap().schedule, schedule);
        let pod = job_pod(job);
        let snapshot = pod
            .init_containers
            .iter()
            .flatten()
            .chain(&pod.containers)
            .find(|c| c.name == "snapshot")
            .unwrap();
        assert_eq!(snapshot.command.as_ref().unwrap()[2], keep);
        assert_eq!(
            snapshot.image.as_deref(),
            Some("registry.local/redis:7.2.5")
        );
        assert_eq!(pod.node_selector.as_ref().unwrap()["pool"], "redis");
    }
    let backup_claim = pvc(&objects, "cache-backup").spec.as_ref().unwrap();
    assert_eq!(backup_claim.storage_class_name.as_deref(), Some("cheap"));
    assert_eq!(
        quantity(
            &backup_claim.resources.as_ref().unwrap().requests,
            "storage"
        ),
        "80Gi"
    );
    // The daily job copies to S3 with the keys from the Secret.
    let daily = job_pod(cron_job(&objects, "cache-backup-daily"));
    assert_eq!(daily.init_containers.as_ref().unwrap()[0].name, "snapshot");
    let upload = &daily.containers[0];
    assert_eq!(upload.name, "upload");
    let command = upload.command.as_ref().unwrap();
    assert!(
        command.contains(&"s3://redis-backups/prod/cache/daily/".to_owned()),
        "{command:?}"
    );
    assert!(command.contains(&"eu-west-1".to_owned()), "{command:?}");
    assert_eq!(
        secret_ref(env(upload, "AWS_SECRET_ACCESS_KEY")),
        ("s3-keys".into(), "AWS_SECRET_ACCESS_KEY".into())
    );
    assert!(daily.service_account_name.is_none());
    assert!(
        !keys(&objects)
            .iter()
            .any(|k| k.starts_with("ServiceAccount"))
    );
    let hourly = job_pod(cron_job(&objects, "cache-backup-hourly"));
    assert!(hourly.containers.iter().all(|c| c.name != "upload"));

    // Network: the listed sources on 6379, metrics from observability.
    let policy = network_policy(&objects, "cache").to_owned();
    let policy = serde_json::to_value(&policy).unwrap();
    let ingress = policy["spec"]["ingress"].as_array().unwrap();
    assert_eq!(
        ingress[0]["from"],
        json!([
            { "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "apps" } } },
            { "ipBlock": { "cidr": "10.1.0.0/16" } },
        ])
    );
    assert_eq!(
        ingress[0]["ports"],
        json!([{ "port": 6379, "protocol": "TCP" }])
    );
    assert_eq!(
        ingress[2]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "observability"
    );

    // Monitoring.
    let monitor = custom(&objects, "ServiceMonitor", "cache");
    assert_eq!(monitor.fields["spec"]["endpoints"][0]["interval"], "15s");
    assert_eq!(
        monitor.metadata.labels.as_ref().unwrap()["release"],
        "prometheus"
    );
    let rule = custom(&objects, "PrometheusRule", "cache");
    assert_eq!(
        rule.metadata.labels.as_ref().unwrap()["release"],
        "prometheus"
    );
    let down = rule.fields["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alert"] == "RedisDown")
        .unwrap();
    assert!(
        down["expr"].as_str().unwrap().ends_with("< 12"),
        "{}",
        down["expr"]
    );
}

#[test]
fn sentinel_settings_reach_their_fields() {
    let yaml = doc(r#"topology: sentinel
replicas: 4
sentinel:
  replicas: 5
  quorum: 3
  downAfterMs: 2000
  failoverTimeoutMs: 60000
  parallelSyncs: 2
  resources: {requests: {cpu: 50m}}
  storage: {size: 1Gi, storageClass: small}
"#);
    let objects = render(&yaml);
    assert_eq!(
        stateful_set(&objects, "cache")
            .spec
            .as_ref()
            .unwrap()
            .replicas,
        Some(5)
    );
    let sentinels = stateful_set(&objects, "cache-sentinel");
    let spec = sentinels.spec.as_ref().unwrap();
    assert_eq!(spec.replicas, Some(5));
    let claim = spec.volume_claim_templates.as_ref().unwrap()[0]
        .spec
        .as_ref()
        .unwrap();
    assert_eq!(claim.storage_class_name.as_deref(), Some("small"));
    assert_eq!(
        quantity(&claim.resources.as_ref().unwrap().requests, "storage"),
        "1Gi"
    );
    let resources = container(sentinels, "sentinel").resources.as_ref().unwrap();
    assert_eq!(quantity(&resources.requests, "cpu"), "50m");
    assert_eq!(quantity(&resources.limits, "memory"), "512Mi");
    let conf = file(&objects, "cache-sentinel-config", "sentinel.conf");
    for line in [
        "sentinel monitor cache cache-0.cache-headless.data.svc.cluster.local 6379 3",
        "sentinel down-after-milliseconds cache 2000",
        "sentinel failover-timeout cache 60000",
        "sentinel parallel-syncs cache 2",
    ] {
        assert!(conf.lines().any(|l| l == line), "no `{line}` in:\n{conf}");
    }
    assert_eq!(min_available(&objects, "cache"), IntOrString::Int(3));
    assert_eq!(
        min_available(&objects, "cache-sentinel"),
        IntOrString::Int(3)
    );
    assert!(warnings(&yaml).is_empty(), "{:#?}", warnings(&yaml));
}

#[test]
fn no_object_contains_the_password() {
    let yaml = doc(r#"topology: sentinel
auth: {name: redis-auth, key: password}
backup:
  s3: {bucket: redis-backups, region: us-east-1}
"#);
    let objects = render(&yaml);
    let text = crate::to_yaml(&objects);
    // The configuration files never set it.
    for object in &objects {
        if let Object::ConfigMap(map) = object {
            for (key, value) in map.data.iter().flatten() {
                for line in value.lines().map(str::trim_start) {
                    for directive in ["requirepass ", "masterauth ", "sentinel auth-pass "] {
                        assert!(!line.starts_with(directive), "{key} sets `{line}`");
                    }
                }
            }
        }
    }
    // The only place the password is handed over: environment from the Secret, and
    // arguments Kubernetes fills in from that environment.
    let mut seen = 0;
    for object in &objects {
        let Some(pod) = object.pod_template().and_then(|t| t.spec.as_ref()) else {
            continue;
        };
        for c in pod.init_containers.iter().flatten().chain(&pod.containers) {
            for var in c.env.iter().flatten() {
                if var.name.contains("PASSWORD") || var.name.contains("AUTH") {
                    assert_eq!(
                        secret_ref(var),
                        ("redis-auth".to_owned(), "password".to_owned()),
                        "{} of {}",
                        var.name,
                        c.name
                    );
                    seen += 1;
                }
            }
            let args = c.args.iter().flatten().chain(c.command.iter().flatten());
            let args: Vec<&String> = args.collect();
            for (i, arg) in args.iter().enumerate() {
                if *arg == "--requirepass" || *arg == "--masterauth" {
                    assert_eq!(args[i + 1], "$(REDIS_PASSWORD)");
                }
            }
        }
    }
    // Servers 2, their exporter 1, Sentinel set-up 2, Sentinels 1, their exporter 1,
    // the two backup jobs 1 each.
    assert_eq!(seen, 9);
    assert!(!text.contains("-a "), "redis-cli must not get -a");
    assert!(!text.contains("stringData"));
    assert!(!objects.iter().any(|o| o.kind() == "Secret"));
}

#[test]
fn s3_by_pod_identity_uses_its_own_service_account() {
    let objects = render(&doc(r#"backup:
  s3: {bucket: redis-backups, region: us-east-1, roleArn: "arn:aws:iam::123456789012:role/redis-backup"}
"#));
    let account = objects
        .iter()
        .find_map(|o| match o {
            Object::ServiceAccount(a) if o.name() == "cache-backup" => Some(a),
            _ => None,
        })
        .expect("ServiceAccount cache-backup");
    assert_eq!(
        account.metadata.annotations.as_ref().unwrap()["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/redis-backup"
    );
    let daily = job_pod(cron_job(&objects, "cache-backup-daily"));
    assert_eq!(daily.service_account_name.as_deref(), Some("cache-backup"));
    let upload = &daily.containers[0];
    assert!(
        upload
            .command
            .as_ref()
            .unwrap()
            .contains(&"s3://redis-backups/data/cache/daily/".to_owned())
    );
    assert!(
        upload
            .env
            .iter()
            .flatten()
            .all(|e| !e.name.starts_with("AWS_ACCESS"))
    );
    let hourly = job_pod(cron_job(&objects, "cache-backup-hourly"));
    assert!(hourly.service_account_name.is_none());
}

#[test]
fn switches_turn_their_objects_off() {
    let objects = render(&doc(r#"backup: {enabled: false}
exporter: {enabled: false}
monitoring: {enabled: false}
"#));
    assert_eq!(
        keys(&objects),
        [
            "Namespace data",
            "ConfigMap data/cache-config",
            "Service data/cache",
            "Service data/cache-headless",
            "StatefulSet.apps data/cache",
            "NetworkPolicy.networking.k8s.io data/cache",
            "PodDisruptionBudget.policy data/cache",
        ]
    );
    let set = stateful_set(&objects, "cache");
    assert_eq!(pod_spec(set).containers.len(), 1);
    assert_eq!(service_ports(&objects, "cache"), [("redis".into(), 6379)]);
    assert!(!config_map_data(&objects, "cache-config").contains_key("backup.sh"));

    // Monitoring without alerts: the ServiceMonitor only.
    let objects = render(&doc("monitoring: {alerts: false}"));
    custom(&objects, "ServiceMonitor", "cache");
    assert!(!keys(&objects).iter().any(|k| k.contains("PrometheusRule")));

    // Sentinels switched off.
    let objects = render(&doc("topology: sentinel\nsentinel: {enabled: false}"));
    assert!(!keys(&objects).iter().any(|k| k.contains("sentinel")));
    let start = file(&objects, "cache-config", "start.sh");
    assert!(!start.contains("SENTINEL"), "{start}");
}

#[test]
fn the_default_budget_leaves_a_server_to_drain() {
    for (spec, pods, min) in [
        ("", 6, 4),
        ("masters: 4\nreplicasPerMaster: 2", 12, 7),
        ("topology: sentinel", 3, 2),
        ("topology: sentinel\nreplicas: 1", 2, 1),
        ("topology: sentinel\nreplicas: 0", 1, 0),
    ] {
        let objects = render(&doc(spec));
        let set = stateful_set(&objects, "cache");
        assert_eq!(set.spec.as_ref().unwrap().replicas, Some(pods), "{spec}");
        assert_eq!(
            min_available(&objects, "cache"),
            IntOrString::Int(min),
            "{spec}"
        );
    }
}

#[test]
fn the_network_policy_keeps_the_bus_to_the_workload() {
    let objects = render(&doc("sentinel: {}"));
    let policy = serde_json::to_value(network_policy(&objects, "cache")).unwrap();
    let own = json!({
        "app.kubernetes.io/managed-by": "strata-agent",
        "strata.dev/tier": "redis",
        "strata.dev/workload": "cache",
    });
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], own);
    let ingress = policy["spec"]["ingress"].as_array().unwrap();
    let ports = |rule: &Value| -> Vec<i64> {
        rule["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_i64().unwrap())
            .collect()
    };
    // Clients: the same namespace by default, on Redis and Sentinel.
    assert_eq!(
        ingress[0]["from"],
        json!([{ "namespaceSelector": { "matchLabels": { "kubernetes.io/metadata.name": "data" } } }])
    );
    assert_eq!(ports(&ingress[0]), [6379, 26379]);
    // The bus only among the workload's own pods (backup jobs included).
    assert_eq!(
        ingress[1]["from"],
        json!([{ "podSelector": { "matchLabels": own } }])
    );
    assert_eq!(ports(&ingress[1]), [6379, 26379, 16379]);
    assert!(!ports(&ingress[0]).contains(&16379));
    // Metrics from the monitoring namespace.
    assert_eq!(
        ingress[2]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    assert_eq!(ports(&ingress[2]), [9121, 9355]);
    // Every pod of the workload matches it.
    for object in &objects {
        if let Some(template) = object.pod_template() {
            let labels = template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
            for (k, v) in own.as_object().unwrap() {
                assert_eq!(
                    labels.get(k).map(String::as_str),
                    v.as_str(),
                    "{}",
                    object.name()
                );
            }
        }
    }
}

#[test]
fn the_servers_restart_for_their_config_not_for_the_backups() {
    let hash = |yaml: &str| {
        let objects = render(yaml);
        let set = stateful_set(&objects, "cache");
        set.spec
            .as_ref()
            .unwrap()
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .as_ref()
            .unwrap()[crate::tier::redis::CONFIG_HASH]
            .clone()
    };
    let base = hash(&doc(""));
    assert_eq!(
        base,
        hash(&doc(
            r#"backup: {hourly: {schedule: "5 * * * *", keep: 2}}"#
        ))
    );
    assert_ne!(base, hash(&doc("memory: {maxmemory: 5gb}")));
}

#[test]
fn rules_report_errors_at_their_paths() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "masters: 2",
            "spec.masters",
            "must be at least 3 for a cluster",
        ),
        (
            "replicas: 2",
            "spec.replicas",
            "only for topology: sentinel",
        ),
        (
            "topology: sentinel\nmasters: 3",
            "spec.masters",
            "only for topology: cluster",
        ),
        (
            "topology: sentinel\nreplicasPerMaster: 1",
            "spec.replicasPerMaster",
            "only for topology: cluster",
        ),
        (
            "topology: sentinel\nsentinel: {quorum: 4}",
            "spec.sentinel.quorum",
            "quorum 4 is larger than the 3 Sentinels",
        ),
        (
            "topology: sentinel\nsentinel: {quorum: 0}",
            "spec.sentinel.quorum",
            "at least 1",
        ),
        (
            "topology: sentinel\nsentinel: {replicas: 0, quorum: 0}",
            "spec.sentinel.replicas",
            "at least 1",
        ),
        (
            "topology: sentinel\nsentinel: {parallelSyncs: 0}",
            "spec.sentinel.parallelSyncs",
            "at least 1",
        ),
        (
            "memory: {maxmemory: 6 GiB}",
            "spec.memory.maxmemory",
            "not a Redis memory size",
        ),
        (
            "memory: {maxmemory: '0'}",
            "spec.memory.maxmemory",
            "larger than 0",
        ),
        (
            "memory: {maxmemory: 16gb}",
            "spec.memory.maxmemory",
            "not less than the memory limit 16Gi",
        ),
        (
            "memory: {maxmemory: 3gb}\nresources: {limits: {memory: 2Gi}, requests: {memory: 1Gi}}",
            "spec.memory.maxmemory",
            "not less than the memory limit 2Gi",
        ),
        ("ioThreads: 0", "spec.ioThreads", "between 1 and 128"),
        ("ioThreads: 129", "spec.ioThreads", "between 1 and 128"),
        (
            "clusterNodeTimeoutMs: 0",
            "spec.clusterNodeTimeoutMs",
            "larger than 0",
        ),
        (
            "persistence: {save: [{seconds: 0, changes: 1}]}",
            "spec.persistence.save[0].seconds",
            "larger than 0",
        ),
        (
            "persistence: {save: [{seconds: 60, changes: 1}, {seconds: 10, changes: 0}]}",
            "spec.persistence.save[1].changes",
            "larger than 0",
        ),
        (
            "backup: {hourly: {schedule: '0 * * *', keep: 3}}",
            "spec.backup.hourly.schedule",
            "five-field cron expression",
        ),
        (
            "backup: {daily: {schedule: 'every day', keep: 3}}",
            "spec.backup.daily.schedule",
            "five-field cron expression",
        ),
        (
            "backup: {daily: {schedule: '0 2 * * *', keep: 0}}",
            "spec.backup.daily.keep",
            "at least 1",
        ),
        (
            "backup: {s3: {bucket: My_Bucket, region: us-east-1}}",
            "spec.backup.s3.bucket",
            "not an S3 bucket name",
        ),
        (
            "backup: {s3: {bucket: 192.168.1.1, region: us-east-1}}",
            "spec.backup.s3.bucket",
            "not an S3 bucket name",
        ),
        (
            "backup: {s3: {bucket: ok-bucket, region: US East}}",
            "spec.backup.s3.region",
            "not an AWS region",
        ),
        (
            "backup: {s3: {bucket: ok-bucket, region: us-east-1, credentialsSecret: Keys}}",
            "spec.backup.s3.credentialsSecret",
            "not a Secret name",
        ),
        (
            "backup: {s3: {bucket: ok-bucket, region: us-east-1, roleArn: redis}}",
            "spec.backup.s3.roleArn",
            "not an IAM role ARN",
        ),
        (
            "auth: {name: Redis, key: password}",
            "spec.auth.name",
            "not a Secret name",
        ),
        (
            "auth: {name: redis, key: 'pass word'}",
            "spec.auth.key",
            "not a Secret key",
        ),
        (
            "resources: {requests: {cpu: 8}}",
            "spec.resources.requests.cpu",
            "more than the limit 4",
        ),
        (
            "exporter: {resources: {requests: {memory: 1Gi}}}",
            "spec.exporter.resources.requests.memory",
            "more than the limit 256Mi",
        ),
        ("storage: {size: 0Gi}", "spec.storage.size", "larger than 0"),
        (
            "disruption: {minAvailable: 6}",
            "spec.disruption.minAvailable",
            "less than the 6 replicas",
        ),
        (
            "network: {allowedSources: [{namespace: apps, cidr: 10.0.0.0/8}]}",
            "spec.network.allowedSources[0]",
            "exactly one",
        ),
        (
            "monitoring: {interval: soon}",
            "spec.monitoring.interval",
            "not a duration",
        ),
        ("masters: many", "spec.masters", "invalid type"),
    ];
    for (spec, path, message) in cases {
        assert_error(
            &doc(spec),
            &[&format!("tiers/test.yaml#1 {path}: "), message],
        );
    }
}

#[test]
fn rules_warn_at_their_paths() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "replicasPerMaster: 0",
            "spec.replicasPerMaster",
            "no failover",
        ),
        (
            "topology: sentinel\nreplicas: 0",
            "spec.replicas",
            "nothing to promote",
        ),
        (
            "topology: sentinel\nsentinel: {enabled: false}",
            "spec.sentinel.enabled",
            "nothing promotes a replica",
        ),
        (
            "topology: sentinel\nsentinel: {replicas: 2, quorum: 2}",
            "spec.sentinel.replicas",
            "run at least 3",
        ),
        (
            "topology: sentinel\nsentinel: {replicas: 5, quorum: 2}",
            "spec.sentinel.quorum",
            "quorum 2 is not a majority of the 5 Sentinels",
        ),
        (
            "topology: sentinel\nsentinel: {quorum: 3}",
            "spec.sentinel.quorum",
            "needs every Sentinel",
        ),
        (
            "memory: {maxmemory: 7gb}",
            "spec.memory.maxmemory",
            "more than 75% of the memory request 8Gi",
        ),
        (
            "persistence: {aof: false, save: []}",
            "spec.persistence",
            "comes back empty",
        ),
        (
            "exporter: {enabled: false}",
            "spec.exporter.enabled",
            "nothing to scrape",
        ),
        (
            "service: {type: LoadBalancer}",
            "spec.service.type",
            "MOVED",
        ),
        (
            "topology: sentinel\nservice: {type: NodePort}",
            "spec.service.type",
            "cannot find the primary",
        ),
        ("sentinel: {}", "spec.sentinel", "only watch and alert"),
    ];
    for (spec, path, message) in cases {
        let yaml = doc(spec);
        let repo = repo(&yaml);
        assert!(!repo.has_errors(), "{spec}: {:#?}", repo.diagnostics);
        let found: Vec<String> = repo.warnings().map(Diagnostic::to_string).collect();
        let prefix = format!("tiers/test.yaml#1 {path}: ");
        assert!(
            found
                .iter()
                .any(|w| w.starts_with(&prefix) && w.contains(message)),
            "no warning `{prefix}…{message}…` in {found:#?}"
        );
    }
}

#[test]
fn long_names_leave_room_for_the_backup_jobs() {
    let name = "a".repeat(39);
    let yaml = doc("").replace("name: cache", &format!("name: {name}"));
    assert_error(&yaml, &["metadata.name", "at most 38 characters"]);
    let yaml = doc("backup: {enabled: false}").replace("name: cache", &format!("name: {name}"));
    assert!(!repo(&yaml).has_errors(), "{:#?}", diagnostics(&yaml));
}

#[test]
fn cron_macros_and_ranges_are_schedules() {
    let yaml = doc(r#"backup:
  hourly: {schedule: "@hourly", keep: 1}
  daily: {schedule: "0 1-3/2 * * MON-FRI", keep: 1}
"#);
    assert!(!repo(&yaml).has_errors(), "{:#?}", diagnostics(&yaml));
}

#[test]
fn the_scripts_parse_as_shell() {
    for spec in ["sentinel: {}", "topology: sentinel"] {
        let objects = render(&doc(spec));
        for object in &objects {
            let Object::ConfigMap(map) = object else {
                continue;
            };
            for (key, script) in map.data.iter().flatten() {
                if !key.ends_with(".sh") {
                    continue;
                }
                assert!(script.starts_with("#!/bin/sh\n"), "{key}");
                let out = std::process::Command::new("sh")
                    .args(["-n", "-c", script])
                    .output()
                    .expect("runs sh");
                assert!(
                    out.status.success(),
                    "{key} of `{spec}`: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}
