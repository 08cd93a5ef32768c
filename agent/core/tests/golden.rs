//! The rendered output of the example config repo, one snapshot per cluster, reviewed in
//! diffs. After an intended change: `cargo insta review` (or `INSTA_UPDATE=always cargo
//! test -p strata-agent-core --test golden`) and commit the updated snapshots.

mod common;

use strata_agent_core::{Repo, to_yaml};

fn rendered(cluster: &str) -> String {
    let repo = Repo::load(&common::read_dir(&common::example_dir()));
    let errors: Vec<String> = repo.errors().map(ToString::to_string).collect();
    assert!(
        errors.is_empty(),
        "examples/config-repo has errors: {errors:#?}"
    );
    to_yaml(
        &repo
            .render(Some(cluster), "example-revision")
            .expect("renders"),
    )
}

#[test]
fn example_repo_us_west_2() {
    insta::assert_snapshot!("us-west-2", rendered("us-west-2"));
}

#[test]
fn example_repo_us_east_1() {
    insta::assert_snapshot!("us-east-1", rendered("us-east-1"));
}

#[test]
fn example_repo_warnings() {
    let repo = Repo::load(&common::read_dir(&common::example_dir()));
    let warnings: Vec<String> = repo.warnings().map(ToString::to_string).collect();
    insta::assert_snapshot!("warnings", warnings.join("\n"));
}
