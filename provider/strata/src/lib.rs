//! `terraform-provider-strata`: the Strata provider's resources on AWS.
//!
//! Start at [`provider`] (the `provider "strata"` block and what configuring it
//! builds), then [`resources`] (one file per Terraform resource type: schema and the
//! mapping to an engine). The engines do the AWS work with plain Rust types:
//! [`vpc`] for `strata_vpc`, [`storage_class`] for `strata_storage_class`,
//! [`gitops_agent`] for `strata_gitops_agent` (both reaching their cluster through
//! [`kube_connection`]), over the
//! clients in [`aws`]. The Terraform protocol
//! itself lives in the `strata-framework` crate.

pub mod aws;
pub mod docs;
pub mod eks_cluster;
pub mod eks_node_group;
pub mod gitops_agent;
pub mod iam_role;
pub mod kube_connection;
pub mod peering;
pub mod provider;
pub mod resources;
pub mod storage_class;
pub mod values;
pub mod vpc;
pub mod wait;
