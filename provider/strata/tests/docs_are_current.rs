//! The checked-in docs must match what the schemas generate, or users read stale docs.

#[test]
fn docs_are_current() {
    let root = terraform_provider_strata::docs::workspace_root();
    let pages =
        terraform_provider_strata::docs::pages(&root).expect("examples exist for every page");
    for (rel, expected) in pages {
        let actual = std::fs::read_to_string(root.join(&rel)).unwrap_or_default();
        assert!(
            actual == expected,
            "{} is stale: run `cargo run -p terraform-provider-strata --bin gen-docs` and commit the result",
            rel.display()
        );
    }
}
