//! Documentation pages in the Terraform registry layout, generated from schemas.
//!
//! The markdown descriptions on attributes are the single source: the pages add the
//! type, whether the attribute is required, its default, its allowed values and
//! whether changing it replaces the resource.

use std::fmt::Write;

use crate::schema::{Attribute, Block, Nesting, PlanModifier, Presence, Schema};
use crate::value::Type;

/// What one page needs besides the schema.
pub struct Page<'a> {
    /// `strata_vpc`, or the provider name for the index page.
    pub name: &'a str,
    /// `Resource` or `Provider`.
    pub kind: &'a str,
    pub provider_binary: &'a str,
    pub schema: &'a Schema,
    /// HCL shown under "Example Usage".
    pub example: &'a str,
    /// Shell lines shown under "Import", if the resource can be imported.
    pub import: Option<&'a str>,
}

pub fn render(page: &Page) -> String {
    let mut out = String::new();
    let summary = page
        .schema
        .block
        .description
        .lines()
        .next()
        .unwrap_or("")
        .trim();
    let title = match page.kind {
        "Provider" => format!("{} Provider", page.name),
        kind => format!("{} {kind} - {}", page.name, page.provider_binary),
    };
    let _ = writeln!(
        out,
        "---\npage_title: \"{title}\"\nsubcategory: \"\"\ndescription: |-\n  {summary}\n---\n"
    );
    match page.kind {
        "Provider" => {
            let _ = writeln!(out, "# {} Provider\n", page.name);
        }
        kind => {
            let _ = writeln!(out, "# {} ({kind})\n", page.name);
        }
    }
    let _ = writeln!(out, "{}\n", page.schema.block.description.trim());
    let _ = writeln!(
        out,
        "## Example Usage\n\n```terraform\n{}\n```\n",
        page.example.trim()
    );
    out.push_str("<!-- generated from the provider's schema by `cargo run -p terraform-provider-strata --bin gen-docs`; do not edit -->\n");
    out.push_str("## Schema\n");
    let mut nested = Vec::new();
    write_block(&mut out, &page.schema.block, "", &mut nested);
    while !nested.is_empty() {
        let pending = std::mem::take(&mut nested);
        for (anchor, title, block) in pending {
            let _ = writeln!(
                out,
                "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{title}`"
            );
            write_block(&mut out, block, &format!("{title}."), &mut nested);
        }
    }
    if let Some(import) = page.import {
        let _ = writeln!(
            out,
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}\n```",
            import.trim()
        );
    }
    out
}

fn write_block<'a>(
    out: &mut String,
    block: &'a Block,
    prefix: &str,
    nested: &mut Vec<(String, String, &'a Block)>,
) {
    let sections = [
        ("Required", Presence::Required),
        ("Optional", Presence::Optional),
        ("Read-Only", Presence::Computed),
    ];
    for (heading, presence) in sections {
        let attrs: Vec<&Attribute> = block
            .attributes
            .iter()
            .filter(|a| section_of(a) == presence)
            .collect();
        let blocks: Vec<_> = block
            .blocks
            .iter()
            .filter(|b| {
                let required = b.min_items > 0;
                (presence == Presence::Required && required)
                    || (presence == Presence::Optional && !required)
            })
            .collect();
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n### {heading}\n");
        for a in attrs {
            let _ = writeln!(
                out,
                "- `{}` ({}) {}",
                a.name,
                type_name(&a.ty, a.sensitive, a.write_only),
                attribute_text(a)
            );
        }
        for b in blocks {
            let title = format!("{prefix}{}", b.name);
            let anchor = format!("nestedblock--{}", title.replace('.', "--"));
            let kind = match b.nesting {
                Nesting::Single => "Block",
                Nesting::List => "Block List",
                Nesting::Set => "Block Set",
            };
            let max = if b.max_items > 0 {
                format!(", Max: {}", b.max_items)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "- `{}` ({kind}{max}) {} (see [below for nested schema](#{anchor}))",
                b.name,
                b.block.description.trim()
            );
            nested.push((anchor, title, &b.block));
        }
    }
}

fn section_of(a: &Attribute) -> Presence {
    match a.presence {
        Presence::OptionalComputed => Presence::Optional,
        p => p,
    }
}

fn attribute_text(a: &Attribute) -> String {
    let mut text = a.description.trim().to_string();
    for v in &a.validators {
        text.push(' ');
        text.push_str(&v.describe());
    }
    if let Some(d) = &a.default {
        let _ = write!(text, " Defaults to `{}`.", d.to_json());
    }
    if a.has(PlanModifier::RequiresReplace) {
        text.push_str(" Changing this replaces the resource.");
    }
    text
}

fn type_name(t: &Type, sensitive: bool, write_only: bool) -> String {
    let base = match t {
        Type::String => "String".to_string(),
        Type::Number => "Number".to_string(),
        Type::Bool => "Boolean".to_string(),
        Type::Dynamic => "Dynamic".to_string(),
        Type::List(e) => format!("List of {}", type_name(e, false, false)),
        Type::Set(e) => format!("Set of {}", type_name(e, false, false)),
        Type::Map(e) => format!("Map of {}", type_name(e, false, false)),
        Type::Object(_) => "Object".to_string(),
        Type::Tuple(_) => "Tuple".to_string(),
    };
    let mut out = base;
    if sensitive {
        out.push_str(", Sensitive");
    }
    if write_only {
        out.push_str(", Write-only");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{NestedBlock, Validator};

    #[test]
    fn page_lists_attributes_by_section_with_their_behaviour() {
        let schema = Schema {
            version: 0,
            block: Block {
                description: "A network.\n\nMore text.".into(),
                attributes: vec![
                    Attribute::required("cidr_block", Type::String)
                        .describe("The VPC's range.")
                        .requires_replace(),
                    Attribute::optional("mode", Type::String)
                        .describe("NAT layout.")
                        .default("one_per_az")
                        .validate(Validator::OneOf(vec!["none", "one_per_az"])),
                    Attribute::computed("id", Type::String).describe("VPC ID."),
                ],
                blocks: vec![NestedBlock::single(
                    "timeouts",
                    Block {
                        description: "How long to wait.".into(),
                        attributes: vec![Attribute::optional("create", Type::String)],
                        ..Default::default()
                    },
                )],
                deprecated: false,
            },
        };
        let md = render(&Page {
            name: "strata_vpc",
            kind: "Resource",
            provider_binary: "terraform-provider-strata",
            schema: &schema,
            example: "resource \"strata_vpc\" \"x\" {}",
            import: Some("terraform import strata_vpc.x vpc-1"),
        });
        assert!(md.contains("### Required\n\n- `cidr_block` (String) The VPC's range. Changing this replaces the resource."));
        assert!(md.contains("- `mode` (String) NAT layout. One of `none`, `one_per_az`. Defaults to `\"one_per_az\"`."));
        assert!(md.contains("### Read-Only\n\n- `id` (String) VPC ID."));
        assert!(md.contains("### Nested Schema for `timeouts`"));
        assert!(md.contains("## Import"));
        assert!(
            md.starts_with("---\npage_title: \"strata_vpc Resource - terraform-provider-strata\"")
        );
    }
}
