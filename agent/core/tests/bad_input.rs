//! Bad input: every mistake is reported against its file, document and field, and a repo
//! with an error renders nothing.

use strata_agent_core::{RenderError, Repo, RepoFile};

fn file(path: &str, text: &str) -> RepoFile {
    RepoFile {
        path: path.to_owned(),
        contents: text.as_bytes().to_vec(),
    }
}

fn errors(files: &[RepoFile]) -> Vec<String> {
    Repo::load(files)
        .errors()
        .map(ToString::to_string)
        .collect()
}

#[track_caller]
fn assert_one_error(files: &[RepoFile], expected: &[&str]) {
    let errors = errors(files);
    assert!(
        errors
            .iter()
            .any(|e| expected.iter().all(|part| e.contains(part))),
        "expected an error with {expected:?}, got {errors:#?}"
    );
    let repo = Repo::load(files);
    assert!(
        matches!(repo.render(None, "r"), Err(RenderError::Invalid(_))),
        "a repo with errors rendered"
    );
}

const REDIS: &str = "apiVersion: strata.dev/v1alpha1\nkind: RedisCluster\nmetadata:\n  name: cache\n  namespace: data\n";

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let files = [file(
        "tiers/redis.yaml",
        "apiVersion: strata.dev/v1alpha1\nkind: RedisCluster\nmetadata: {name: cache\n",
    )];
    assert_one_error(&files, &["tiers/redis.yaml:", "3:"]);
}

#[test]
fn unknown_field_names_the_path() {
    let files = [file(
        "tiers/redis.yaml",
        &format!("{REDIS}spec:\n  bogus: 1\n"),
    )];
    assert_one_error(
        &files,
        &["tiers/redis.yaml#1 spec.bogus", "unknown field `bogus`"],
    );
}

#[test]
fn wrong_type_names_the_path() {
    let files = [file(
        "tiers/redis.yaml",
        &format!("{REDIS}spec:\n  masters: three\n"),
    )];
    assert_one_error(&files, &["tiers/redis.yaml#1 spec.masters", "invalid type"]);
}

#[test]
fn unknown_engine_lists_the_known_ones() {
    let files = [file(
        "tiers/vector.yaml",
        "apiVersion: strata.dev/v1alpha1\nkind: VectorStore\nmetadata:\n  name: v\n  namespace: data\nspec:\n  engine: milvus\n",
    )];
    assert_one_error(
        &files,
        &["tiers/vector.yaml#1 spec.engine", "milvus", "weaviate"],
    );
}

#[test]
fn one_master_is_impossible() {
    let files = [file(
        "tiers/redis.yaml",
        &format!(
            "---\n{REDIS}spec: {{}}\n---\n{}spec:\n  masters: 1\n",
            REDIS.replace("cache", "other")
        ),
    )];
    assert_one_error(&files, &["tiers/redis.yaml#2 spec.masters", "at least 3"]);
}

#[test]
fn quorum_larger_than_the_sentinels() {
    let files = [file(
        "tiers/redis.yaml",
        &format!(
            "{REDIS}spec:\n  topology: sentinel\n  sentinel:\n    replicas: 3\n    quorum: 4\n"
        ),
    )];
    assert_one_error(&files, &["tiers/redis.yaml#1 spec.sentinel.quorum", "4"]);
}

#[test]
fn duplicate_names_point_at_both_documents() {
    let files = [
        file("tiers/a.yaml", &format!("{REDIS}spec: {{}}\n")),
        file("tiers/b.yaml", &format!("{REDIS}spec: {{}}\n")),
    ];
    assert_one_error(
        &files,
        &[
            "tiers/b.yaml#1 metadata.name",
            "duplicate RedisCluster data/cache",
            "tiers/a.yaml#1",
        ],
    );
}

#[test]
fn same_name_on_different_clusters_is_allowed() {
    let clusters = "apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: west\n---\napiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: east\n";
    let west = REDIS.replace("namespace: data\n", "namespace: data\n  clusters: [west]\n");
    let east = REDIS.replace("namespace: data\n", "namespace: data\n  clusters: [east]\n");
    let files = [
        file("clusters.yaml", clusters),
        file(
            "tiers/redis.yaml",
            &format!("{west}spec: {{}}\n---\n{east}spec:\n  masters: 4\n"),
        ),
    ];
    assert_eq!(errors(&files), Vec::<String>::new());
    let repo = Repo::load(&files);
    let east_objects = repo.render(Some("east"), "r").unwrap();
    let set = east_objects
        .iter()
        .find(|o| o.kind() == "StatefulSet" && o.name() == "cache")
        .unwrap();
    assert_eq!(
        set.to_json()["spec"]["replicas"],
        8,
        "east gets its own document"
    );
}

#[test]
fn a_target_that_no_cluster_declares() {
    let files = [
        file(
            "clusters.yaml",
            "apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: west\n",
        ),
        file(
            "tiers/redis.yaml",
            &format!(
                "{}spec: {{}}\n",
                REDIS.replace("namespace: data\n", "namespace: data\n  clusters: [wset]\n")
            ),
        ),
    ];
    assert_one_error(
        &files,
        &["tiers/redis.yaml#1 metadata.clusters", "`wset`", "west"],
    );
}

#[test]
fn unknown_kind_and_version() {
    assert_one_error(
        &[file(
            "a.yaml",
            "apiVersion: strata.dev/v1alpha1\nkind: Kafka\nmetadata:\n  name: k\n",
        )],
        &["a.yaml#1 kind", "unknown kind `Kafka`", "StreamCluster"],
    );
    assert_one_error(
        &[file(
            "a.yaml",
            "apiVersion: strata.dev/v2\nkind: RedisCluster\nmetadata:\n  name: k\n",
        )],
        &["a.yaml#1 apiVersion", "strata.dev/v1alpha1"],
    );
    assert_one_error(
        &[file("a.yaml", "- just\n- a list\n")],
        &["a.yaml#1", "mapping"],
    );
    assert_one_error(
        &[file("a.yaml", "kind: ConfigMap\nmetadata:\n  name: x\n")],
        &["a.yaml#1 apiVersion", "missing"],
    );
}

#[test]
fn secrets_do_not_belong_in_the_repo() {
    let files = [file(
        "manifests/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: pw\n  namespace: data\nstringData:\n  password: hunter2\n",
    )];
    assert_one_error(
        &files,
        &["manifests/secret.yaml#1 kind", "Secrets must not be kept"],
    );
    let all = Repo::load(&files)
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<String>();
    assert!(
        !all.contains("hunter2"),
        "the secret value leaked into a diagnostic"
    );
}

#[test]
fn two_workloads_rendering_the_same_object_collide() {
    let vector = "apiVersion: strata.dev/v1alpha1\nkind: VectorStore\nmetadata:\n  name: cache\n  namespace: data\nspec:\n  engine: weaviate\n";
    let files = [file(
        "tiers/a.yaml",
        &format!("{REDIS}spec: {{}}\n---\n{vector}"),
    )];
    assert_eq!(errors(&files), Vec::<String>::new());
    match Repo::load(&files).render(None, "r") {
        Err(RenderError::Collisions(found)) => {
            let text = found
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n");
            assert!(
                text.contains("tiers/a.yaml#2") && text.contains("tiers/a.yaml#1"),
                "{text}"
            );
        }
        other => panic!("expected a collision, got {other:?}"),
    }
}

#[test]
fn a_storage_class_the_cluster_lacks_is_a_warning() {
    let files = [
        file(
            "clusters.yaml",
            "apiVersion: strata.dev/v1alpha1\nkind: Cluster\nmetadata:\n  name: west\nspec:\n  storageClasses: [redis-gp3]\n",
        ),
        file(
            "tiers/redis.yaml",
            &format!("{REDIS}spec:\n  storage:\n    storageClass: redis-gp2\n"),
        ),
    ];
    let repo = Repo::load(&files);
    assert_eq!(repo.errors().count(), 0);
    let warnings: Vec<String> = repo.warnings().map(ToString::to_string).collect();
    assert!(
        warnings.iter().any(
            |w| w.contains("tiers/redis.yaml#1 spec.storage.storageClass")
                && w.contains("redis-gp2")
                && w.contains("west")
        ),
        "{warnings:#?}"
    );
    assert!(
        repo.render(Some("west"), "r").is_ok(),
        "a warning does not stop rendering"
    );
}

#[test]
fn non_yaml_files_and_hidden_directories_are_ignored() {
    let files = [
        file("README.md", "# not yaml: ["),
        file(".github/workflows/ci.yaml", "on: [push"),
        file("tiers/redis.yaml", &format!("{REDIS}spec: {{}}\n")),
    ];
    assert_eq!(errors(&files), Vec::<String>::new());
}
