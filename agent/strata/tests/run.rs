//! `strata-agent run` as a real process against a Kubernetes API stand-in and a real git
//! remote on disk: what users see when they `git push`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kube_standin::Options;
use serde_json::Value;
use support::{Agent, World, api_path, github_signature, http, rendered};

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

fn fast(world: &World) -> Agent {
    Agent::start(world, &["--interval", "300ms", "--no-leader-election"])
}

/// resourceVersion of every object the render gives, by API path.
fn versions(world: &World, objects: &[Value]) -> BTreeMap<String, String> {
    objects
        .iter()
        .map(|o| {
            let path = api_path(o);
            let stored = world
                .object(&path)
                .unwrap_or_else(|| panic!("{path} is in the cluster"));
            (
                path,
                stored["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect()
}

/// tiers/redis.yaml with the Redis Cluster evicting only keys that expire.
fn volatile_eviction(world: &World) -> String {
    let redis = world.read("tiers/redis.yaml");
    let changed = redis.replacen("policy: allkeys-lru", "policy: volatile-lru", 1);
    assert_ne!(changed, redis, "the example sets a maxmemory policy");
    changed
}

/// The object without what changes with every commit (the revision annotation).
fn content(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(annotations) = object["metadata"]["annotations"].as_object_mut() {
        annotations.remove("strata.dev/revision");
    }
    object
}

#[test]
fn first_sync_applies_every_object_with_the_ownership_labels() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    let head = world.head();
    let status = agent.wait_applied(&head);
    let objects = rendered(&world);
    assert!(objects.len() > 50, "the example renders the whole platform");
    for object in &objects {
        let path = api_path(object);
        let stored = world
            .object(&path)
            .unwrap_or_else(|| panic!("{path} applied"));
        assert_eq!(
            stored["metadata"]["labels"][MANAGED_BY], "strata-agent",
            "{path}"
        );
        let managers: Vec<&str> = stored["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["manager"].as_str())
            .collect();
        assert!(
            managers.contains(&"strata-agent"),
            "{path} applied by strata-agent: {managers:?}"
        );
    }
    assert_eq!(status["inventory"], objects.len());
    assert!(status["lastError"].is_null(), "{status}");
    let steps: Vec<&str> = status["lastPass"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["fetch", "render", "apply", "prune", "health", "operate"]
    );
    let workloads = status["workloads"].as_array().unwrap();
    assert!(
        workloads.iter().any(|w| w["tier"] == "redis"),
        "workload health is listed: {status}"
    );
}

#[test]
fn a_commit_changing_a_setting_updates_exactly_the_affected_objects() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    agent.wait_applied(&world.head());
    let before_objects = rendered(&world);
    let before = versions(&world, &before_objects);

    let changed = volatile_eviction(&world);
    let head = world.push(
        "tiers/redis.yaml",
        Some(&changed),
        "redis: evict volatile keys only",
    );
    agent.wait_applied(&head);
    let after_objects = rendered(&world);
    let after = versions(&world, &after_objects);

    let old: BTreeMap<String, Value> = before_objects
        .iter()
        .map(|o| (api_path(o), content(o)))
        .collect();
    let expected: BTreeSet<&String> = after_objects
        .iter()
        .map(|o| (api_path(o), content(o)))
        .filter(|(path, o)| old.get(path) != Some(o))
        .map(|(path, _)| after.keys().find(|p| **p == path).unwrap())
        .collect();
    let updated: BTreeSet<&String> = after
        .keys()
        .filter(|p| before.get(*p) != after.get(*p))
        .collect();
    assert!(!expected.is_empty(), "the change renders differently");
    assert_eq!(
        updated, expected,
        "exactly the objects whose rendering changed were written"
    );
}

#[test]
fn removing_a_workload_prunes_its_objects_but_not_its_volumes() {
    let world = World::with_monitoring(Options {
        controllers: true,
        ..Options::default()
    });
    let agent = fast(&world);
    agent.wait_applied(&world.head());
    let streaming: Vec<Value> = rendered(&world)
        .into_iter()
        .filter(|o| o["metadata"]["labels"]["strata.dev/tier"] == "stream")
        .collect();
    assert!(!streaming.is_empty());
    let claims_before: Vec<Value> = world
        .list("/api/v1/persistentvolumeclaims")
        .into_iter()
        .filter(|c| c["metadata"]["name"].as_str().unwrap().contains("chronik"))
        .collect();
    assert!(
        !claims_before.is_empty(),
        "the StatefulSet controller made Chronik's volumes"
    );

    let head = world.push("tiers/streaming.yaml", None, "retire the streaming tier");
    let status = agent.wait_applied(&head);
    for object in &streaming {
        let path = api_path(object);
        let kind = object["kind"].as_str().unwrap();
        if kind == "Namespace" || kind == "PersistentVolumeClaim" {
            assert!(world.object(&path).is_some(), "{path} is never pruned");
        } else {
            assert!(world.object(&path).is_none(), "{path} was pruned");
        }
    }
    for claim in &claims_before {
        let name = claim["metadata"]["name"].as_str().unwrap();
        let ns = claim["metadata"]["namespace"].as_str().unwrap();
        let path = format!("/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}");
        assert!(world.object(&path).is_some(), "{path} kept with its data");
    }
    assert!(
        status["lastPass"]["objects"]["pruned"].as_u64().unwrap() > 0,
        "{status}"
    );
}

#[test]
fn a_force_push_to_an_older_commit_converges_to_it() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    let first = world.head();
    agent.wait_applied(&first);
    let first_objects = rendered(&world);

    let changed = volatile_eviction(&world);
    let second = world.push("tiers/redis.yaml", Some(&changed), "change eviction");
    let removed = world.push("tiers/streaming.yaml", None, "drop streaming");
    assert_ne!(second, removed);
    agent.wait_applied(&removed);

    world.force_push(&first);
    agent.wait_applied(&first);
    for object in &first_objects {
        let path = api_path(object);
        let stored = world
            .object(&path)
            .unwrap_or_else(|| panic!("{path} is back"));
        if object["kind"] == "ConfigMap" {
            assert_eq!(
                stored["data"], object["data"],
                "{path} is as at the old commit"
            );
        }
    }
}

#[test]
fn a_malformed_document_stops_the_revision_and_prunes_nothing() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    let good = world.head();
    agent.wait_applied(&good);
    let objects = rendered(&world);
    let before = versions(&world, &objects);
    let writes = world.api.writes();

    // One bad field, and a workload removed in the same commit: nothing may be pruned.
    let redis = world.read("tiers/redis.yaml");
    let broken = redis.replacen("masters: 3", "masters: 1", 1);
    assert_ne!(broken, redis, "the example has 3 masters");
    let bad = world.push_all(
        &[
            ("tiers/streaming.yaml", None),
            ("tiers/redis.yaml", Some(&broken)),
        ],
        "one master is enough? and no streaming",
    );
    let status = agent.wait_for("the error reported", Duration::from_secs(20), |s| {
        s["lastPass"]["revision"] == bad.as_str() && !s["lastError"].is_null()
    });
    assert_eq!(status["lastApplied"]["revision"], good.as_str(), "{status}");
    assert_eq!(status["lastError"]["step"], "render");
    assert_eq!(status["lastError"]["class"], "stalled");
    let details = status["lastError"]["details"].to_string();
    assert!(
        details.contains("tiers/redis.yaml#") && details.contains("spec.masters"),
        "{details}"
    );
    assert_eq!(
        versions(&world, &objects),
        before,
        "nothing was changed or pruned"
    );
    assert_eq!(world.api.writes(), writes, "no write at all");
}

#[test]
fn an_unreachable_repo_keeps_the_last_applied_revision_and_prunes_nothing() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    let head = world.head();
    agent.wait_applied(&head);
    let objects = rendered(&world);
    let before = versions(&world, &objects);

    let moved = world.dir.path().join("moved.git");
    std::fs::rename(&world.remote, &moved).unwrap();
    let status = agent.wait_for("the fetch error", Duration::from_secs(20), |s| {
        s["lastError"]["step"] == "fetch"
    });
    assert_eq!(status["lastApplied"]["revision"], head.as_str());
    assert!(
        status["lastError"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot fetch"),
        "{status}"
    );
    assert_eq!(versions(&world, &objects), before);

    std::fs::rename(&moved, &world.remote).unwrap();
    agent.wait_for("recovery", Duration::from_secs(20), |s| {
        s["lastError"].is_null()
    });
}

#[test]
fn a_field_changed_out_of_band_is_restored_and_counted_as_drift() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    agent.wait_applied(&world.head());
    let sts = rendered(&world)
        .into_iter()
        .find(|o| o["kind"] == "StatefulSet" && o["spec"]["replicas"].is_u64())
        .expect("a StatefulSet with replicas");
    let path = api_path(&sts);
    let replicas = sts["spec"]["replicas"].as_u64().unwrap();
    let (code, body) = world.kube(
        "PATCH",
        &format!("{path}?fieldManager=kubectl-edit"),
        Some(&format!(r#"{{"spec":{{"replicas":{}}}}}"#, replicas + 2)),
        "application/merge-patch+json",
    );
    assert_eq!(code, 200, "{body}");
    let status = agent.wait_for("drift restored", Duration::from_secs(20), |s| {
        s["drift"]["total"].as_u64().unwrap_or(0) > 0
    });
    assert_eq!(world.object(&path).unwrap()["spec"]["replicas"], replicas);
    let drifted = status["drift"]["objects"].to_string();
    assert!(drifted.contains("spec.replicas"), "{status}");
    let (_, metrics) = http(&agent.url, "GET", "/metrics", &[], None);
    let drift_line = metrics
        .lines()
        .find(|l| l.starts_with("strata_agent_drift_objects_total"))
        .unwrap_or_else(|| panic!("drift counter in\n{metrics}"));
    assert!(!drift_line.ends_with(" 0"), "{drift_line}");
}

#[test]
fn a_signed_push_webhook_syncs_at_once_and_bad_signatures_are_refused() {
    let world = World::with_monitoring(Options::default());
    let secret_file = world.dir.path().join("webhook-secret");
    std::fs::write(&secret_file, "s3cr3t-hook\n").unwrap();
    let agent = Agent::start(
        &world,
        &[
            "--interval",
            "1h",
            "--no-leader-election",
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );
    agent.wait_applied(&world.head());

    let changed = volatile_eviction(&world);
    let head = world.push("tiers/redis.yaml", Some(&changed), "change eviction");
    let payload = r#"{"ref":"refs/heads/main"}"#;

    for headers in [
        vec![("X-Hub-Signature-256", "sha256=00".to_owned())],
        vec![("X-Hub-Signature-256", github_signature("wrong", payload))],
        vec![("X-Gitlab-Token", "wrong".to_owned())],
        vec![],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (code, _) = http(&agent.url, "POST", "/hooks/git", &headers, Some(payload));
        assert_eq!(code, 401, "{headers:?}");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(
        agent.status()["lastPass"]["revision"],
        head.as_str(),
        "no sync without a valid signature"
    );

    let start = Instant::now();
    let signature = github_signature("s3cr3t-hook", payload);
    let (code, _) = http(
        &agent.url,
        "POST",
        "/hooks/git",
        &[
            ("X-Hub-Signature-256", &signature),
            ("X-GitHub-Event", "push"),
        ],
        Some(payload),
    );
    assert_eq!(code, 202);
    let status = agent.wait_applied(&head);
    let latency = start.elapsed();
    assert!(
        // With a one-hour interval only the webhook can have started this pass. How fast
        // it is, is the benchmark's business (tests/bench/agent-bench: well under 1 s);
        // here a loaded CI machine must not make the test flaky.
        latency < Duration::from_secs(10),
        "push to applied took {latency:?}"
    );
    assert_eq!(status["lastPass"]["trigger"], "webhook");
    assert!(
        !status.to_string().contains("s3cr3t-hook"),
        "the secret never reaches /status"
    );
    assert!(!agent.log().contains("s3cr3t-hook"), "nor the log");
}

#[test]
fn only_the_leader_applies_and_leadership_passes_on_when_it_dies() {
    let world = World::with_monitoring(Options::default());
    let args = |identity: &str| {
        vec![
            "--interval".to_owned(),
            "300ms".to_owned(),
            "--lease-duration".to_owned(),
            "2s".to_owned(),
            "--identity".to_owned(),
            identity.to_owned(),
        ]
    };
    let start = |identity: &str| {
        let extra = args(identity);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Agent::start(&world, &extra)
    };
    let one = start("replica-one");
    let two = start("replica-two");
    let head = world.head();
    let leader_of = |a: &Agent| a.status()["leader"]["isLeader"] == true;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(leader_of(&one) || leader_of(&two)) {
        assert!(Instant::now() < deadline, "nobody leads");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (leader, follower) = if leader_of(&one) {
        (one, two)
    } else {
        (two, one)
    };
    leader.wait_applied(&head);
    let follower_status = follower.status();
    assert_eq!(follower_status["leader"]["isLeader"], false);
    assert!(
        follower_status["lastPass"].is_null(),
        "the follower applies nothing"
    );
    assert_eq!(
        follower_status["leader"]["holder"],
        leader.status()["leader"]["identity"]
    );

    let mut leader = leader;
    leader.child.kill().unwrap();
    leader.child.wait().unwrap();
    let status = follower.wait_for("the follower to take over", Duration::from_secs(15), |s| {
        s["leader"]["isLeader"] == true && s["lastPass"]["revision"] == head.as_str()
    });
    assert!(status["lastError"].is_null(), "{status}");
}

#[test]
fn status_and_logs_hold_no_credentials() {
    let world = World::with_monitoring(Options::default());
    let token = world.dir.path().join("token");
    std::fs::write(&token, "ghp_file-token-value\n").unwrap();
    // Nothing listens on port 1: the fetch fails and its error is reported.
    let args: Vec<String> = [
        "run",
        "https://deploy:ghp_url-password@127.0.0.1:1/platform/config.git",
        "--ref",
        "main",
        "--cluster",
        support::CLUSTER,
        "--kubeconfig",
        support::path(&world.kubeconfig),
        "--namespace",
        support::AGENT_NAMESPACE,
        "--listen",
        "127.0.0.1:0",
        "--cache-dir",
        support::path(&world.dir.path().join("cache")),
        "--token-file",
        support::path(&token),
        "--interval",
        "300ms",
        "--no-leader-election",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let agent = Agent::spawn(&args);
    let status = agent.wait_for("the fetch error", Duration::from_secs(20), |s| {
        s["lastError"]["step"] == "fetch"
    });
    let text = status.to_string();
    for secret in ["ghp_url-password", "ghp_file-token-value"] {
        assert!(!text.contains(secret), "{secret} in /status: {text}");
        assert!(!agent.log().contains(secret), "{secret} in the log");
    }
    assert!(
        text.contains("127.0.0.1:1/platform/config.git"),
        "the repo is named: {text}"
    );
}

#[test]
fn metrics_parse_as_prometheus_text_and_probes_answer() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    agent.wait_applied(&world.head());
    let (code, metrics) = http(&agent.url, "GET", "/metrics", &[], None);
    assert_eq!(code, 200);
    for line in metrics
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
    for name in [
        "strata_agent_reconcile_duration_seconds_bucket",
        "strata_agent_objects_applied_total",
        "strata_agent_last_success_timestamp_seconds",
        "strata_agent_revision_info",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    assert_eq!(http(&agent.url, "GET", "/healthz", &[], None).0, 200);
    assert_eq!(http(&agent.url, "GET", "/readyz", &[], None).0, 200);
}

#[test]
fn kinds_whose_crd_is_missing_wait_and_apply_once_it_is_installed() {
    let world = World::new(Options::default());
    let agent = fast(&world);
    let head = world.head();
    let status = agent.wait_for("a pass", Duration::from_secs(20), |s| {
        s["lastPass"]["revision"] == head.as_str()
    });
    assert!(
        status["lastApplied"].is_null(),
        "not every object is applied: {status}"
    );
    let apply = &status["lastPass"]["steps"][2];
    assert_eq!(apply["outcome"], "waiting", "{status}");
    assert!(
        apply["message"]
            .as_str()
            .unwrap()
            .contains("ServiceMonitor.monitoring.coreos.com"),
        "{apply}"
    );
    world.install_monitoring_crds();
    agent.wait_applied(&head);
    let monitors = world.list("/apis/monitoring.coreos.com/v1/servicemonitors");
    assert!(
        !monitors.is_empty(),
        "ServiceMonitors applied once their CRD exists"
    );
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs");
    (
        output.status.code().expect("exited"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn diff_shows_what_a_pass_would_change_and_writes_nothing() {
    let world = World::with_monitoring(Options::default());
    let remote = world.remote_url();
    let cache = world.dir.path().join("diff-cache");
    let diff = || {
        cli(&[
            "diff",
            &remote,
            "--ref",
            "main",
            "--cluster",
            support::CLUSTER,
            "--kubeconfig",
            support::path(&world.kubeconfig),
            "--namespace",
            support::AGENT_NAMESPACE,
            "--cache-dir",
            support::path(&cache),
        ])
    };
    let writes = world.api.writes();
    let (code, stdout, stderr) = diff();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let created = stdout.lines().filter(|l| l.starts_with("+ ")).count();
    assert_eq!(created, rendered(&world).len(), "{stdout}");
    assert_eq!(world.api.writes(), writes, "diff writes nothing");

    let agent = fast(&world);
    agent.wait_applied(&world.head());
    drop(agent);
    let (code, stdout, stderr) = diff();
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");

    let sts = rendered(&world)
        .into_iter()
        .find(|o| o["kind"] == "StatefulSet" && o["spec"]["replicas"].is_u64())
        .unwrap();
    let path = api_path(&sts);
    let (status, body) = world.kube(
        "PATCH",
        &format!("{path}?fieldManager=kubectl-edit"),
        Some(r#"{"spec":{"replicas":9}}"#),
        "application/merge-patch+json",
    );
    assert_eq!(status, 200, "{body}");
    let writes = world.api.writes();
    let (code, stdout, _) = diff();
    assert_eq!(code, 1);
    let name = sts["metadata"]["name"].as_str().unwrap();
    assert!(
        stdout.lines().any(|l| l.starts_with("~ StatefulSet")
            && l.contains(name)
            && l.contains("spec.replicas")),
        "{stdout}"
    );
    assert_eq!(world.api.writes(), writes, "diff writes nothing");
}

#[test]
fn the_status_command_prints_where_the_agent_stands() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    let head = world.head();
    agent.wait_applied(&head);
    let (code, stdout, stderr) = cli(&["status", "--url", &agent.url]);
    // Workloads stay progressing without controllers: the pass is waiting, exit 1.
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&head[..12]),
        "the applied revision: {stdout}"
    );
    for workload in ["weaviate", "redis", "chronik"] {
        assert!(stdout.contains(workload), "{workload} listed:\n{stdout}");
    }
    let (code, json, _) = cli(&["status", "--url", &agent.url, "--json"]);
    assert_eq!(code, 1);
    let status: Value = serde_json::from_str(&json).expect("--json prints the status document");
    assert_eq!(status["lastApplied"]["revision"], head.as_str());
}

#[test]
fn with_simulated_controllers_every_workload_becomes_ready() {
    let world = World::with_monitoring(Options {
        controllers: true,
        ..Options::default()
    });
    let agent = fast(&world);
    let status = agent.wait_for("workloads ready", Duration::from_secs(20), |s| {
        s["workloads"].as_array().is_some_and(|w| {
            !w.is_empty() && w.iter().all(|w| w["conditions"][0]["status"] == "True")
        })
    });
    assert_eq!(status["lastApplied"]["revision"], world.head().as_str());
}

#[test]
fn passes_that_find_nothing_to_change_write_nothing() {
    let world = World::with_monitoring(Options::default());
    let agent = fast(&world);
    let status = agent.wait_applied(&world.head());
    let writes = world.api.writes();
    let started = status["lastPass"]["started"].clone();
    let mut seen = 0;
    let mut last = started;
    while seen < 3 {
        let status = agent.wait_for("another pass", Duration::from_secs(20), |s| {
            s["lastPass"]["started"] != last
        });
        last = status["lastPass"]["started"].clone();
        assert_eq!(status["lastPass"]["objects"]["applied"], 0, "{status}");
        seen += 1;
    }
    assert_eq!(
        world.api.writes(),
        writes,
        "no-change passes wrote to the cluster"
    );
}
