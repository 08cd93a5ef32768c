//! The `strata-agent` binary, run as users run it: on `examples/config-repo`, on small
//! repos in temporary directories, and on git repositories made with the `git` CLI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
const WORKLOAD: &str = "strata.dev/workload";
const REVISION: &str = "strata.dev/revision";

/// What a run of the binary left behind.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn strata(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the binary runs");
    Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

impl Run {
    #[track_caller]
    fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts stderr has a line containing every one of `parts`.
    #[track_caller]
    fn expect_stderr_line(self, parts: &[&str]) -> Run {
        assert!(
            self.stderr
                .lines()
                .any(|line| parts.iter().all(|p| line.contains(p))),
            "no stderr line containing {parts:?} in\n{}",
            self.stderr
        );
        self
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn example() -> String {
    workspace_root()
        .join("examples/config-repo")
        .to_str()
        .expect("UTF-8 path")
        .to_owned()
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("UTF-8 path")
}

/// A config repo of `files` (repo-relative path, contents) in a temporary directory.
fn repo(files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new().expect("temporary directory");
    for (name, contents) in files {
        let file = dir.path().join(name);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, contents).unwrap();
    }
    dir
}

/// The objects of a multi-document YAML stream.
#[track_caller]
fn objects(yaml: &str) -> Vec<Value> {
    let documents: Vec<Value> = serde_saphyr::from_multiple(yaml)
        .unwrap_or_else(|e| panic!("render output is not YAML: {e}\n{yaml}"));
    documents.into_iter().filter(|d| !d.is_null()).collect()
}

fn render_example(cluster: &str) -> Vec<Value> {
    let run = strata(&["render", &example(), "--cluster", cluster]).expect_code(0);
    objects(&run.stdout)
}

fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object["metadata"]["labels"][key].as_str()
}

fn of_workload<'a>(objects: &'a [Value], workload: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| label(o, WORKLOAD) == Some(workload) && o["kind"] != "Namespace")
        .collect()
}

fn describe(object: &Value) -> String {
    format!(
        "{} {}/{}",
        object["kind"].as_str().unwrap_or("?"),
        object["metadata"]["namespace"].as_str().unwrap_or("_"),
        object["metadata"]["name"].as_str().unwrap_or("?"),
    )
}

const CLUSTERS: &str = "\
apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata:
  name: east
---
apiVersion: strata.dev/v1alpha1
kind: Cluster
metadata:
  name: west
";

const WEAVIATE: &str = "\
apiVersion: strata.dev/v1alpha1
kind: VectorStore
metadata:
  name: weaviate
  namespace: data
spec:
  engine: weaviate
";

// ---- the example config repo ----

#[test]
fn validate_accepts_the_example_and_names_both_clusters() {
    let run = strata(&["validate", &example()]).expect_code(0);
    assert!(!run.stderr.contains("error"), "{}", run.stderr);
    let summary = run.stdout.trim();
    assert_eq!(summary.lines().count(), 1, "a one-line summary: {summary}");
    for part in [
        "ok:",
        "us-west-2",
        "us-east-1",
        "2 VectorStore",
        "2 StreamCluster",
    ] {
        assert!(summary.contains(part), "`{part}` not in `{summary}`");
    }
}

#[test]
fn render_gives_yaml_of_managed_objects_for_each_cluster() {
    for cluster in ["us-west-2", "us-east-1"] {
        let objects = render_example(cluster);
        assert!(
            objects.len() > 10,
            "{cluster}: only {} objects",
            objects.len()
        );
        for object in &objects {
            assert_eq!(
                label(object, MANAGED_BY),
                Some("strata-agent"),
                "{cluster}: {} is not marked as the agent's",
                describe(object)
            );
            assert!(object["apiVersion"].is_string() && object["kind"].is_string());
            assert!(
                object["metadata"]["annotations"][REVISION].is_string(),
                "{cluster}: {} has no revision",
                describe(object)
            );
        }
        // Every workload of the example renders something on the clusters it targets.
        for workload in ["weaviate", "sessions", "chronik"] {
            assert!(
                !of_workload(&objects, workload).is_empty(),
                "{cluster}: nothing rendered for {workload}"
            );
        }
    }
}

#[test]
fn targeting_puts_grape_on_us_west_2_only() {
    let west = render_example("us-west-2");
    let east = render_example("us-east-1");
    assert!(
        of_workload(&west, "grape")
            .iter()
            .any(|o| o["kind"] == "StatefulSet"),
        "no grape StatefulSet on us-west-2"
    );
    assert!(
        of_workload(&east, "grape").is_empty(),
        "grape leaked to us-east-1: {:?}",
        of_workload(&east, "grape")
            .iter()
            .map(|o| describe(o))
            .collect::<Vec<_>>()
    );
    // The Redis Cluster and its quota (a manifest targeted with the annotation) follow.
    assert!(!of_workload(&west, "redis").is_empty());
    assert!(of_workload(&east, "redis").is_empty());
    let quota = |objects: &[Value]| objects.iter().any(|o| o["kind"] == "ResourceQuota");
    assert!(quota(&west) && !quota(&east));
}

#[test]
fn each_cluster_gets_its_own_chronik_bucket() {
    let text = |objects: &[Value]| {
        of_workload(objects, "chronik")
            .iter()
            .map(|o| o.to_string())
            .collect::<String>()
    };
    // Every bucket named in the objects (env, config file, …): the name and whatever
    // name characters follow it.
    let buckets = |text: &str| {
        let mut found: Vec<String> = text
            .match_indices("chronik-prod-data")
            .map(|(at, _)| {
                text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect()
            })
            .collect();
        found.sort();
        found.dedup();
        found
    };
    let west = buckets(&text(&render_example("us-west-2")));
    let east = buckets(&text(&render_example("us-east-1")));
    assert_eq!(west, ["chronik-prod-data-us-west-2"]);
    assert_eq!(east, ["chronik-prod-data"]);
}

#[test]
fn render_without_cluster_on_two_clusters_asks_to_choose() {
    let run = strata(&["render", &example()]).expect_code(2);
    assert!(run.stdout.is_empty());
    run.expect_stderr_line(&["us-east-1, us-west-2", "choose", "--cluster"]);
}

#[test]
fn unknown_cluster_is_refused_naming_the_declared_ones() {
    for command in ["render", "validate"] {
        strata(&[command, &example(), "--cluster", "eu-west-1"])
            .expect_code(2)
            .expect_stderr_line(&["eu-west-1", "us-east-1, us-west-2"]);
    }
}

#[test]
fn render_to_a_directory_writes_apply_order_and_prunes_only_its_own_files() {
    let out = TempDir::new().unwrap();
    let dir = out.path().join("rendered");
    fs::create_dir_all(&dir).unwrap();
    let foreign = [
        ("README.md", "not ours\n"),
        ("notes.yaml", "kind: Note\n"),
        ("99-mine-_-x.yaml", "# written by hand\nkind: Note\n"),
    ];
    for (name, text) in foreign {
        fs::write(dir.join(name), text).unwrap();
    }

    strata(&[
        "render",
        &example(),
        "--cluster",
        "us-west-2",
        "-o",
        path(&dir),
    ])
    .expect_code(0);
    let west = render_example("us-west-2");
    let names = |dir: &Path| {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| !foreign.iter().any(|(f, _)| f == n))
            .collect();
        names.sort();
        names
    };
    let written = names(&dir);
    assert_eq!(
        written.len(),
        west.len(),
        "one file per object: {written:?}"
    );
    assert!(written[0].starts_with("00-namespace-_-"), "{written:?}");
    assert!(
        written
            .iter()
            .any(|n| n == "06-statefulset-data-weaviate.yaml"),
        "{written:?}"
    );
    // Lexical order is apply order: the rank prefixes never go down, and each file's
    // object has the rank-defining position of the stdout stream.
    let ranks: Vec<u32> = written.iter().map(|n| n[..2].parse().unwrap()).collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{written:?}");
    let mut from_files = Vec::new();
    for name in &written {
        let text = fs::read_to_string(dir.join(name)).unwrap();
        let objects = objects(&text);
        assert_eq!(objects.len(), 1, "{name}");
        let object = &objects[0];
        let kind = object["kind"].as_str().unwrap().to_ascii_lowercase();
        assert!(name[3..].starts_with(&format!("{kind}-")), "{name}");
        from_files.push(describe(object));
    }
    let mut expected: Vec<String> = west.iter().map(describe).collect();
    expected.sort();
    from_files.sort();
    assert_eq!(from_files, expected);

    // Rendering another cluster into the same directory removes what it no longer
    // renders (grape, the quota) and nothing else.
    let run = strata(&[
        "render",
        &example(),
        "--cluster",
        "us-east-1",
        "-o",
        path(&dir),
    ])
    .expect_code(0);
    assert!(run.stdout.contains("removed"), "{}", run.stdout);
    let east = render_example("us-east-1");
    let written = names(&dir);
    assert_eq!(written.len(), east.len(), "{written:?}");
    assert!(!written.iter().any(|n| n.contains("grape")), "{written:?}");
    assert!(
        !written.iter().any(|n| n.contains("resourcequota")),
        "{written:?}"
    );
    for (name, text) in foreign {
        assert_eq!(fs::read_to_string(dir.join(name)).unwrap(), text, "{name}");
    }
}

// ---- bad input: exit 1, and the message names file, document and field ----

#[track_caller]
fn rejected(files: &[(&str, &str)], parts: &[&str]) {
    let dir = repo(files);
    let run = strata(&["validate", path(dir.path())]).expect_code(1);
    assert!(run.stdout.starts_with("invalid"), "{}", run.stdout);
    run.expect_stderr_line(&[&["error: "], parts].concat());
    // render refuses the same repo, and prints no objects.
    let run = strata(&["render", path(dir.path()), "--cluster", "west"]).expect_code(1);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    run.expect_stderr_line(&[&["error: "], parts].concat())
        .expect_stderr_line(&["nothing was rendered"]);
}

#[test]
fn malformed_yaml_is_reported_at_its_line_and_column() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            (
                "tiers/bad.yaml",
                "apiVersion: v1\nkind: [ConfigMap\nmetadata: {}\n",
            ),
        ],
        &["tiers/bad.yaml:"],
    );
    let dir = repo(&[("tiers/bad.yaml", "a: 1\n  b: 2\n")]);
    let run = strata(&["validate", path(dir.path())]).expect_code(1);
    let line = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: tiers/bad.yaml:"))
        .unwrap_or_else(|| panic!("{}", run.stderr));
    let place: Vec<&str> = line["error: tiers/bad.yaml:".len()..]
        .splitn(3, ':')
        .collect();
    assert!(
        place.len() == 3 && place[0].parse::<u32>().is_ok() && place[1].parse::<u32>().is_ok(),
        "not file:line:col: {line}"
    );
}

#[test]
fn unknown_field_is_named() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            ("tiers/vector.yaml", &format!("{WEAVIATE}  bogus: 1\n")),
        ],
        &["tiers/vector.yaml#1 spec.bogus", "unknown field"],
    );
}

#[test]
fn wrong_type_is_named() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            (
                "tiers/vector.yaml",
                &format!("---\n{WEAVIATE}  replicas: \"3\"\n"),
            ),
        ],
        &["tiers/vector.yaml#1 spec.replicas", "string"],
    );
}

#[test]
fn unknown_engine_is_named() {
    rejected(
        // Clusters in the same file: `#3` is the file's third document.
        &[(
            "tiers/vector.yaml",
            &format!(
                "{CLUSTERS}---\n{}",
                WEAVIATE.replace("engine: weaviate", "engine: milvus")
            ),
        )],
        &["tiers/vector.yaml#3 spec.engine", "milvus"],
    );
}

const REDIS: &str = "\
apiVersion: strata.dev/v1alpha1
kind: RedisCluster
metadata:
  name: redis
  namespace: cache
spec:
";

#[test]
fn a_cluster_of_one_master_is_refused() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            (
                "tiers/redis.yaml",
                &format!("{REDIS}  topology: cluster\n  masters: 1\n"),
            ),
        ],
        &["tiers/redis.yaml#1 spec.masters"],
    );
}

#[test]
fn a_quorum_larger_than_the_sentinels_is_refused() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            (
                "tiers/redis.yaml",
                &format!(
                    "{REDIS}  topology: sentinel\n  sentinel:\n    replicas: 3\n    quorum: 4\n"
                ),
            ),
        ],
        &["tiers/redis.yaml#1 spec.sentinel.quorum"],
    );
}

#[test]
fn duplicate_names_are_reported_with_both_places() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            ("tiers/a.yaml", WEAVIATE),
            ("tiers/b.yaml", WEAVIATE),
        ],
        &[
            "tiers/b.yaml#1 metadata.name",
            "duplicate",
            "tiers/a.yaml#1",
        ],
    );
}

#[test]
fn secrets_are_refused() {
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            (
                "manifests/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: redis-auth\n  namespace: cache\nstringData:\n  password: hunter2\n",
            ),
        ],
        &["manifests/secret.yaml#1 kind", "Secret"],
    );
    // The refused Secret's value is not echoed anywhere.
    let dir = repo(&[(
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2\n",
    )]);
    let run = strata(&["validate", path(dir.path())]).expect_code(1);
    assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"));
}

#[test]
fn targeting_an_undeclared_cluster_is_refused() {
    let targeted = WEAVIATE.replace(
        "  namespace: data\n",
        "  namespace: data\n  clusters: [north]\n",
    );
    rejected(
        &[
            ("clusters.yaml", CLUSTERS),
            ("tiers/vector.yaml", &targeted),
        ],
        &[
            "tiers/vector.yaml#1 metadata.clusters",
            "north",
            "east, west",
        ],
    );
    let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: data\n  annotations:\n    strata.dev/clusters: west, north\n";
    rejected(
        &[("clusters.yaml", CLUSTERS), ("manifests/c.yaml", manifest)],
        &["manifests/c.yaml#1 metadata.annotations", "north"],
    );
}

#[test]
fn objects_two_documents_both_render_are_refused() {
    // A plain manifest taking the name of an object a workload renders.
    let clash = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: weaviate\n  namespace: data\nspec: {}\n";
    let dir = repo(&[
        ("clusters.yaml", CLUSTERS),
        ("tiers/vector.yaml", WEAVIATE),
        ("manifests/clash.yaml", clash),
    ]);
    strata(&["validate", path(dir.path())])
        .expect_code(1)
        .expect_stderr_line(&["error: ", "StatefulSet", "data/weaviate", "east, west"]);
    strata(&["render", path(dir.path()), "--cluster", "east"])
        .expect_code(1)
        .expect_stderr_line(&["error: ", "StatefulSet", "data/weaviate"]);
}

#[test]
fn warnings_do_not_fail() {
    let dir = repo(&[
        (
            "clusters.yaml",
            &CLUSTERS.replace(
                "  name: west\n",
                "  name: west\nspec:\n  storageClasses: [gp3]\n",
            ),
        ),
        (
            "tiers/vector.yaml",
            &format!("{WEAVIATE}  storage:\n    storageClass: fast\n"),
        ),
    ]);
    let run = strata(&["validate", path(dir.path())])
        .expect_code(0)
        .expect_stderr_line(&[
            "warning: tiers/vector.yaml#1 spec.storage.storageClass",
            "fast",
        ]);
    assert!(
        run.stdout.starts_with("ok:") && run.stdout.contains("1 warning"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_repo_without_clusters_renders_once() {
    let dir = repo(&[("vector.yaml", WEAVIATE)]);
    let run = strata(&["validate", path(dir.path())]).expect_code(0);
    assert!(
        run.stdout.contains("no clusters declared"),
        "{}",
        run.stdout
    );
    let run = strata(&["render", path(dir.path())]).expect_code(0);
    assert!(!of_workload(&objects(&run.stdout), "weaviate").is_empty());
}

#[test]
fn a_missing_or_unreadable_source_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nowhere");
    strata(&["validate", path(&missing)])
        .expect_code(2)
        .expect_stderr_line(&["error: ", "nowhere"]);
    let file = dir.path().join("file.yaml");
    fs::write(&file, WEAVIATE).unwrap();
    strata(&["render", path(&file)])
        .expect_code(2)
        .expect_stderr_line(&["not a directory"]);
    strata(&["validate", path(dir.path()), "--path", "../x"]).expect_code(2);
    strata(&["validate", path(dir.path()), "--path", "missing"]).expect_code(2);
    strata(&["validate"]).expect_code(2);
}

#[test]
fn path_reads_one_directory_and_keeps_repo_paths() {
    let dir = repo(&[
        ("broken.yaml", "a: [\n"),
        ("platform/vector.yaml", &format!("{WEAVIATE}  bogus: 1\n")),
        (".github/workflow.yaml", "not: [valid\n"),
        ("platform/README.md", "# not read\n"),
    ]);
    strata(&["validate", path(dir.path()), "--path", "platform"])
        .expect_code(1)
        .expect_stderr_line(&["error: platform/vector.yaml#1 spec.bogus"]);
}

// ---- schemas ----

#[test]
fn published_schemas_are_current() {
    let published = workspace_root().join("agent/schema");
    let out = TempDir::new().unwrap();
    strata(&["schema", "-o", path(out.path())]).expect_code(0);
    let regenerate =
        "run `cargo run -p strata-agent -- schema -o agent/schema` and commit the result";
    let mut names = Vec::new();
    for entry in fs::read_dir(out.path()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let expected = fs::read_to_string(out.path().join(&name)).unwrap();
        let actual = fs::read_to_string(published.join(&name)).unwrap_or_default();
        assert!(
            actual == expected,
            "agent/schema/{name} is stale: {regenerate}"
        );
        names.push(name);
    }
    for entry in fs::read_dir(&published).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            names.contains(&name) || !name.ends_with(".json"),
            "agent/schema/{name} is no longer generated: delete it"
        );
    }
    for kind in [
        "vectorstore",
        "rediscluster",
        "streamcluster",
        "cluster",
        "all",
    ] {
        assert!(
            names.contains(&format!("{kind}.json")),
            "{kind}.json in {names:?}"
        );
    }
    strata(&["schema", "-o", path(&published), "--check"]).expect_code(0);
}

#[test]
fn schema_prints_the_combined_schema() {
    let run = strata(&["schema"]).expect_code(0);
    let all: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let definitions = all["definitions"].as_object().unwrap();
    for kind in ["VectorStore", "RedisCluster", "StreamCluster", "Cluster"] {
        assert!(definitions.contains_key(kind), "{kind}");
    }
    // Every $ref resolves inside the document.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&all, &mut found);
    for r in found {
        let name = r
            .strip_prefix("#/definitions/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(definitions.contains_key(name), "dangling {r}");
    }
}

#[test]
fn example_files_point_editors_at_the_published_schemas() {
    let root = workspace_root();
    for (file, schema) in [
        ("clusters.yaml", "cluster"),
        ("tiers/vector.yaml", "vectorstore"),
        ("tiers/redis.yaml", "rediscluster"),
        ("tiers/streaming.yaml", "streamcluster"),
    ] {
        let path = root.join("examples/config-repo").join(file);
        let text = fs::read_to_string(&path).unwrap();
        let first = text.lines().next().unwrap();
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{file} starts with `{first}`"));
        assert!(
            target.ends_with(&format!("/agent/schema/{schema}.json")),
            "{file}: {target}"
        );
        let resolved = path.parent().unwrap().join(target);
        assert!(
            resolved.is_file(),
            "{file}: {} does not exist",
            resolved.display()
        );
    }
}

// ---- git ----

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A work tree with `files` committed on `main`, pushed to a bare repository.
/// Returns (root, work tree, bare repository, commit id).
fn git_repo(files: &[(&str, &str)]) -> (TempDir, PathBuf, PathBuf, String) {
    let root = TempDir::new().unwrap();
    let work = root.path().join("work");
    let bare = root.path().join("config.git");
    fs::create_dir_all(&work).unwrap();
    git(
        root.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            path(&bare),
        ],
    );
    git(&work, &["init", "--quiet", "--initial-branch=main"]);
    for (name, contents) in files {
        let file = work.join(name);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(file, contents).unwrap();
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "--quiet", "-m", "config"]);
    git(&work, &["push", "--quiet", path(&bare), "main"]);
    let commit = git(&work, &["rev-parse", "HEAD"]);
    (root, work, bare, commit)
}

fn revisions(yaml: &str) -> Vec<String> {
    objects(yaml)
        .iter()
        .map(|o| {
            o["metadata"]["annotations"][REVISION]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn a_git_url_records_the_commit_as_the_revision() {
    let (root, _work, bare, commit) = git_repo(&[
        ("clusters.yaml", CLUSTERS),
        ("platform/vector.yaml", WEAVIATE),
    ]);
    let cache = root.path().join("cache");
    let url = format!("file://{}", path(&bare));
    let run = strata(&[
        "render",
        &url,
        "--ref",
        "main",
        "--cluster",
        "west",
        "--cache-dir",
        path(&cache),
    ])
    .expect_code(0);
    let revisions = revisions(&run.stdout);
    assert!(!revisions.is_empty());
    assert!(
        revisions.iter().all(|r| *r == commit),
        "{revisions:?} != {commit}"
    );
    assert!(cache.is_dir(), "the cache is where --cache-dir says");

    // --path, and diagnostics naming repo paths, through git too.
    strata(&[
        "validate",
        &url,
        "--path",
        "platform",
        "--cache-dir",
        path(&cache),
    ])
    .expect_code(0);
    // A pinned commit, and a missing branch (exit 2, the URL in the message).
    strata(&[
        "validate",
        &url,
        "--ref",
        &commit,
        "--cache-dir",
        path(&cache),
    ])
    .expect_code(0);
    strata(&[
        "validate",
        &url,
        "--ref",
        "nope",
        "--cache-dir",
        path(&cache),
    ])
    .expect_code(2)
    .expect_stderr_line(&["error: ", "nope"]);
}

#[test]
fn a_directory_with_ref_is_read_through_git() {
    let (root, work, _bare, commit) =
        git_repo(&[("clusters.yaml", CLUSTERS), ("vector.yaml", WEAVIATE)]);
    // A local change is not what --ref reads.
    fs::write(work.join("vector.yaml"), "broken: [\n").unwrap();
    let cache = root.path().join("cache");
    let run = strata(&[
        "render",
        path(&work),
        "--ref",
        "main",
        "--cluster",
        "east",
        "--cache-dir",
        path(&cache),
    ])
    .expect_code(0);
    assert!(revisions(&run.stdout).iter().all(|r| *r == commit));
}

#[test]
fn a_directory_is_at_head_when_clean_and_worktree_otherwise() {
    let (_root, work, _bare, commit) =
        git_repo(&[("clusters.yaml", CLUSTERS), ("vector.yaml", WEAVIATE)]);
    let render = || {
        strata(&["render", path(&work), "--cluster", "east"])
            .expect_code(0)
            .stdout
    };
    assert!(revisions(&render()).iter().all(|r| *r == commit));
    // Files the loader does not read may change freely.
    fs::write(work.join("NOTES.md"), "notes\n").unwrap();
    assert!(revisions(&render()).iter().all(|r| *r == commit));
    fs::write(
        work.join("vector.yaml"),
        format!("{WEAVIATE}  replicas: 5\n"),
    )
    .unwrap();
    assert!(revisions(&render()).iter().all(|r| r == "worktree"));
    // And a plain directory is `worktree`.
    let plain = repo(&[("vector.yaml", WEAVIATE)]);
    let run = strata(&["render", path(plain.path())]).expect_code(0);
    assert!(revisions(&run.stdout).iter().all(|r| r == "worktree"));
}

#[test]
fn an_empty_repo_is_warned_about() {
    let dir = repo(&[("README.md", "# nothing here\n")]);
    let run = strata(&["validate", path(dir.path())])
        .expect_code(0)
        .expect_stderr_line(&["warning: ", "no documents"]);
    assert!(run.stdout.contains("1 warning"), "{}", run.stdout);
}
