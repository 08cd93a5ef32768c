//! Writes the provider's documentation pages from its schemas: `cargo run -p terraform-provider-strata --bin gen-docs`.

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let root = terraform_provider_strata::docs::workspace_root();
    for (rel, markdown) in
        terraform_provider_strata::docs::pages(&root).context("reading the examples")?
    {
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().expect("pages live in a directory"))?;
        std::fs::write(&path, markdown).with_context(|| format!("writing {}", rel.display()))?;
        println!("wrote {}", rel.display());
    }
    Ok(())
}
