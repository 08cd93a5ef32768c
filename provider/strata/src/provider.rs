//! The `provider "strata"` block: its schema, and configuring it into AWS clients.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use strata_framework::diag::Diagnostics;
use strata_framework::schema::{Attribute, Block, NestedBlock, Schema, Validator};
use strata_framework::{AttributePath, Resource, Type, Value};

use crate::aws::{AwsClients, AwsSettings, DEFAULT_MAX_RETRIES, Endpoints};
use crate::resources;
use crate::values::{opt_str, str_map};

/// What every resource gets once the provider is configured.
pub struct ProviderData {
    pub aws: AwsClients,
}

pub struct StrataProvider;

#[async_trait]
impl strata_framework::Provider for StrataProvider {
    type Data = ProviderData;

    fn schema(&self) -> Schema {
        let endpoint = |service: &str| {
            Attribute::optional(service, Type::String).describe(&format!(
                "URL of the {} API to use instead of AWS's, e.g. a local emulator such as `http://127.0.0.1:5000`. Applies to every region.",
                service.to_uppercase()
            ))
        };
        Schema {
            version: 0,
            block: Block {
                description: "The Strata provider builds a multi-region data platform on AWS: production VPCs, EKS clusters and node groups, cross-region peering and Kubernetes storage classes.\n\nCredentials come from the standard AWS chain: environment variables, the shared config and credentials files (`profile`), web identity tokens (EKS IRSA, GitHub OIDC) and the EC2/ECS instance metadata service.".into(),
                attributes: vec![
                    Attribute::optional("region", Type::String).describe(
                        "Default AWS region for resources that do not set their own `region`. Falls back to `AWS_REGION`/`AWS_DEFAULT_REGION` and the profile's region.",
                    ),
                    Attribute::optional("profile", Type::String)
                        .describe("Named profile from the shared AWS config and credentials files."),
                    Attribute::optional("max_retries", Type::Number)
                        .describe(&format!(
                            "How many times an AWS call is retried on throttling and transient errors, with exponential backoff and jitter. Defaults to {DEFAULT_MAX_RETRIES}."
                        ))
                        .validate(Validator::IntBetween(0, 100)),
                ],
                blocks: vec![
                    NestedBlock::single(
                        "endpoints",
                        Block {
                            description: "Custom service endpoints.".into(),
                            attributes: vec![endpoint("ec2"), endpoint("eks"), endpoint("iam"), endpoint("sts")],
                            ..Default::default()
                        },
                    ),
                    NestedBlock::single(
                        "default_tags",
                        Block {
                            description: "Tags added to every AWS object the provider creates. A resource's own `tags` win on conflicts.".into(),
                            attributes: vec![Attribute::optional("tags", Type::map(Type::String))
                                .describe("The tags.")],
                            ..Default::default()
                        },
                    ),
                ],
                deprecated: false,
            },
        }
    }

    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        if !config.is_wholly_known() {
            diags.error(
                "Provider configuration depends on values not known yet",
                "The provider block uses values that are only known after apply (for example another resource's attribute). Configure the provider from variables or literals instead.",
            );
            return None;
        }
        let endpoints = config.attr("endpoints");
        let max_retries = match config.attr("max_retries") {
            Value::Number(n) => n.as_i64().map(|n| n as u32).unwrap_or(DEFAULT_MAX_RETRIES),
            _ => DEFAULT_MAX_RETRIES,
        };
        let settings = AwsSettings {
            region: opt_str(config.attr("region")),
            profile: opt_str(config.attr("profile")),
            endpoints: Endpoints {
                ec2: opt_str(endpoints.attr("ec2")),
                eks: opt_str(endpoints.attr("eks")),
                iam: opt_str(endpoints.attr("iam")),
                sts: opt_str(endpoints.attr("sts")),
            },
            default_tags: str_map(config.attr("default_tags").attr("tags")).unwrap_or_default(),
            max_retries,
        };
        match AwsClients::new(settings).await {
            Ok(aws) => Some(ProviderData { aws }),
            Err(e) => {
                diags.attribute_error(
                    AttributePath::root("region"),
                    "Cannot configure AWS access",
                    e.to_string(),
                );
                None
            }
        }
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        resources::all()
    }
}

/// Default tags overlaid by a resource's own tags.
pub fn merged_tags(
    defaults: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut all = defaults.clone();
    all.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}
