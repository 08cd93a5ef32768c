//! Shared by the integration tests: the example config repo and generated documents.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use strata_agent_core::RepoFile;

/// `examples/config-repo` of this repository.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config-repo")
}

/// Every file under `dir`, with `/`-separated paths relative to it, in path order.
pub fn read_dir(dir: &Path) -> Vec<RepoFile> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<RepoFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap();
                let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
                out.push(RepoFile {
                    path: parts.join("/"),
                    contents: std::fs::read(&path).unwrap(),
                });
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// One file `tiers/generated.yaml` holding `docs` as a multi-document stream.
pub fn one_file(docs: &[String]) -> Vec<RepoFile> {
    vec![RepoFile {
        path: "tiers/generated.yaml".to_owned(),
        contents: docs.join("---\n").into_bytes(),
    }]
}

/// Workload documents covering the settings that change the shape of the output:
/// every engine and topology, replica counts, autoscaling, sentinels, backups,
/// monitoring and placement switched on and off.
pub fn generated_documents() -> Vec<String> {
    let mut docs = Vec::new();
    for (i, replicas) in [1u32, 2, 3, 5].into_iter().enumerate() {
        for engine in ["weaviate", "grape"] {
            for autoscaling in [true, false] {
                let monitoring = i % 2 == 0;
                let nodes = ["required", "preferred", "none"][i % 3];
                let autoscaling_doc = if autoscaling {
                    format!(
                        "  autoscaling:\n    maxReplicas: {}\n    targetCpuUtilization: 60\n",
                        replicas + 4
                    )
                } else {
                    "  autoscaling:\n    enabled: false\n    maxReplicas: 9\n".to_owned()
                };
                docs.push(format!(
                    "apiVersion: strata.dev/v1alpha1\nkind: VectorStore\nmetadata:\n  name: {engine}-{replicas}-{autoscaling}\n  namespace: vec{i}\nspec:\n  engine: {engine}\n  replicas: {replicas}\n{autoscaling_doc}  monitoring:\n    enabled: {monitoring}\n  placement:\n    nodes: {nodes}\n{grape}",
                    grape = if engine == "grape" {
                        format!("  grape:\n    replicationFactor: {}\n", replicas.min(3))
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    for masters in [3u32, 4, 6] {
        for replicas_per_master in [1u32, 2] {
            for sentinel in [false, true] {
                docs.push(format!(
                    "apiVersion: strata.dev/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: rc-{masters}-{replicas_per_master}-{sentinel}\n  namespace: redis\nspec:\n  masters: {masters}\n  replicasPerMaster: {replicas_per_master}\n  sentinel:\n    enabled: {sentinel}\n  backup:\n    enabled: {backup}\n  exporter:\n    enabled: {sentinel}\n",
                    backup = masters != 4,
                ));
            }
        }
    }
    for replicas in [1u32, 2, 4] {
        for sentinels in [3u32, 5] {
            docs.push(format!(
                "apiVersion: strata.dev/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: rs-{replicas}-{sentinels}\n  namespace: cache\nspec:\n  topology: sentinel\n  replicas: {replicas}\n  sentinel:\n    replicas: {sentinels}\n    quorum: {quorum}\n  monitoring:\n    enabled: {monitoring}\n",
                quorum = sentinels / 2 + 1,
                monitoring = replicas != 2,
            ));
        }
    }
    for (controllers, ingest) in [(3u32, 3u32), (5, 10), (3, 20)] {
        for tls in [true, false] {
            docs.push(format!(
                "apiVersion: strata.dev/v1alpha1\nkind: StreamCluster\nmetadata:\n  name: cs-{controllers}-{ingest}-{tls}\n  namespace: streaming\nspec:\n  engine: chronik\n  controllers:\n    replicas: {controllers}\n  ingest:\n    replicas: {ingest}\n{autoscaling}  objectStorage:\n    s3:\n      bucket: bucket-{controllers}-{ingest}\n      region: us-west-2\n  security:\n    tls:\n      enabled: {tls}\n    sasl:\n      enabled: {tls}\n  topics:\n    - name: events\n      partitions: 12\n",
                autoscaling = if ingest == 20 {
                    "    autoscaling:\n      maxReplicas: 40\n      targetCpuUtilization: 70\n"
                } else {
                    ""
                },
            ));
        }
    }
    docs
}
