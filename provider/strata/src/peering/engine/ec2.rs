//! Small adapters between the EC2 SDK and the peering engine: error mapping, tags,
//! filters.

use crate::aws::{SdkFailure, sdk_failure};
use std::collections::BTreeMap;
use std::fmt::Debug;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use ipnet::Ipv4Net;

use crate::peering::PeeringError;

/// Maps an SDK error of `operation` on `object` into [`PeeringError::Aws`], keeping the
/// AWS error code (which the retry and tolerance rules look at) and message.
pub(super) fn aws_error<E, R>(
    operation: &'static str,
    object: impl Into<String>,
) -> impl FnOnce(SdkError<E, R>) -> PeeringError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let object = object.into();
    move |err| {
        let SdkFailure {
            code,
            message,
            source,
        } = sdk_failure(err);
        PeeringError::Aws {
            operation,
            object,
            code,
            message,
            source,
        }
    }
}

/// A field every successful response has, or [`PeeringError::UnexpectedResponse`].
pub(super) fn required<T>(
    value: Option<T>,
    operation: &'static str,
    object: &str,
    field: &'static str,
) -> Result<T, PeeringError> {
    value.ok_or_else(|| PeeringError::UnexpectedResponse {
        operation,
        object: object.to_owned(),
        detail: format!("no {field}"),
    })
}

/// A CIDR block from a response.
pub(super) fn parse_cidr(
    text: &str,
    operation: &'static str,
    object: &str,
) -> Result<Ipv4Net, PeeringError> {
    text.parse().map_err(|_| PeeringError::UnexpectedResponse {
        operation,
        object: object.to_owned(),
        detail: format!("{text:?} is not an IPv4 CIDR block"),
    })
}

pub(super) fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags applied atomically with the request, so the connection never exists untagged.
pub(super) fn tag_spec(tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(ResourceType::VpcPeeringConnection)
        .set_tags(Some(to_tags(tags)))
        .build()
}

pub(super) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_owned(),
                t.value().unwrap_or_default().to_owned(),
            ))
        })
        .collect()
}

pub(super) fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| (*v).to_owned()).collect()))
        .build()
}
