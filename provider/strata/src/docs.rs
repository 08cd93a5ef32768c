//! The provider's documentation pages (registry layout under `provider/docs/`),
//! generated from the schemas plus the examples under `examples/`.
//!
//! `cargo run -p terraform-provider-strata --bin gen-docs` writes them; the test
//! `docs_are_current` fails when the checked-in pages are stale.

use std::path::{Path, PathBuf};

use strata_framework::Provider;
use strata_framework::docs::{Page, render};

use crate::provider::StrataProvider;

/// Where the pages live, relative to the workspace root.
pub const DOCS_DIR: &str = "provider/docs";

/// Every page as (path relative to the workspace root, markdown).
pub fn pages(workspace: &Path) -> std::io::Result<Vec<(PathBuf, String)>> {
    let read = |rel: &str| std::fs::read_to_string(workspace.join(rel));
    let provider = StrataProvider;
    let schema = provider.schema();
    let mut out = vec![(
        PathBuf::from(DOCS_DIR).join("index.md"),
        render(&Page {
            name: "strata",
            kind: "Provider",
            provider_binary: "terraform-provider-strata",
            schema: &schema,
            example: &read("examples/provider/provider.tf")?,
            import: None,
        }),
    )];
    for resource in provider.resources() {
        let name = resource.type_name();
        let short = name.trim_start_matches("strata_");
        let schema = resource.schema();
        let dir = format!("examples/resources/{name}");
        let import = read(&format!("{dir}/import.sh")).ok();
        out.push((
            PathBuf::from(DOCS_DIR)
                .join("resources")
                .join(format!("{short}.md")),
            render(&Page {
                name,
                kind: "Resource",
                provider_binary: "terraform-provider-strata",
                schema: &schema,
                example: &read(&format!("{dir}/resource.tf"))?,
                import: import.as_deref(),
            }),
        ));
    }
    Ok(out)
}

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
