//! The manifests that install the agent (`agent/deploy/strata-agent.yaml`): least
//! privilege that still covers every kind the tiers render, a hardened pod whose probes
//! and arguments match what the binary serves and accepts.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use strata_agent_core::{Repo, RepoFile};

fn manifests() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/strata-agent.yaml");
    let text = std::fs::read_to_string(path).expect("deploy manifests");
    text.split("\n---\n")
        .filter(|doc| {
            doc.lines()
                .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
        })
        .map(|doc| serde_saphyr::from_str::<Value>(doc).expect("valid YAML"))
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in the deploy manifests"))
}

/// (apiGroup, resource) → verbs granted by a role's rules.
fn grants(role: &Value) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                let verbs = rule["verbs"].as_array().unwrap();
                out.entry((
                    group.as_str().unwrap().into(),
                    resource.as_str().unwrap().into(),
                ))
                .or_default()
                .extend(verbs.iter().map(|v| v.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

fn example_files() -> Vec<RepoFile> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<RepoFile>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &path, out);
            } else if name.ends_with(".yaml") {
                out.push(RepoFile {
                    path,
                    contents: std::fs::read(entry.path()).unwrap(),
                });
            }
        }
    }
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config-repo");
    walk(&root, "", &mut files);
    files
}

fn resource(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{lower}s"),
    }
}

#[test]
fn the_cluster_role_covers_every_rendered_kind_and_never_deletes_volumes_or_namespaces() {
    let docs = manifests();
    let granted = grants(find(&docs, "ClusterRole", "strata-agent"));
    let repo = Repo::load(&example_files());
    let mut kinds = BTreeSet::new();
    for cluster in ["us-west-2", "us-east-1"] {
        for object in repo
            .render(Some(cluster), "r")
            .expect("the example renders")
        {
            let group = object.key().group;
            kinds.insert((group, object.kind().to_owned()));
        }
    }
    for (group, kind) in &kinds {
        let verbs = granted
            .get(&(group.clone(), resource(kind)))
            .unwrap_or_else(|| panic!("no rule for {kind} in group {group:?}"));
        for verb in ["get", "list", "create", "patch"] {
            assert!(verbs.contains(verb), "{kind}: {verb} missing");
        }
        let protected = matches!(kind.as_str(), "Namespace" | "PersistentVolumeClaim");
        assert_eq!(
            verbs.contains("delete"),
            !protected,
            "{kind}: delete granted iff prunable"
        );
    }
    for ((_, resource), verbs) in &granted {
        assert!(!verbs.contains("*"), "{resource}: no wildcards");
        if resource == "secrets" {
            assert_eq!(
                verbs.iter().collect::<Vec<_>>(),
                ["get"],
                "secrets are only read"
            );
        }
    }
    let state = grants(find(&docs, "Role", "strata-agent-state"));
    assert!(state[&("coordination.k8s.io".into(), "leases".into())].contains("update"));
    assert!(state[&(String::new(), "configmaps".into())].contains("patch"));
}

#[test]
fn the_pod_is_hardened_and_probes_what_the_agent_serves() {
    let docs = manifests();
    let deployment = find(&docs, "Deployment", "strata-agent");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(
        deployment["spec"]["replicas"].as_u64().unwrap() >= 2,
        "a standby replica"
    );

    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "run");
    let help = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for arg in args.iter().filter(|a| a.starts_with("--")) {
        let flag = arg.split('=').next().unwrap();
        assert!(help.contains(flag), "`strata-agent run` accepts {flag}");
    }
    // Credentials come from Secret volumes mounted where the arguments point.
    let mounts: BTreeMap<&str, &str> = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    for (flag, volume, secret) in [
        ("--token-file=", "git-credentials", "strata-agent-git"),
        (
            "--webhook-secret-file=",
            "webhook-secret",
            "strata-agent-webhook",
        ),
    ] {
        let file = args.iter().find_map(|a| a.strip_prefix(flag)).unwrap();
        assert!(
            file.starts_with(mounts[volume]),
            "{flag} under the {volume} mount"
        );
        let volume = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == volume)
            .unwrap();
        assert_eq!(volume["secret"]["secretName"], secret);
    }
    let cache = args
        .iter()
        .find_map(|a| a.strip_prefix("--cache-dir="))
        .unwrap();
    assert_eq!(
        mounts["cache"], cache,
        "the git cache is on a writable volume"
    );
    let service = find(&docs, "Service", "strata-agent");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
}
