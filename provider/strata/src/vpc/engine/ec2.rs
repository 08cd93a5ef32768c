//! Small adapters between the EC2 SDK and the engine: error mapping, tags, filters.

use crate::aws::{SdkFailure, sdk_failure};
use std::collections::BTreeMap;
use std::fmt::Debug;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use crate::vpc::VpcError;

/// Maps an SDK error of `operation` on `object` into [`VpcError::Aws`], keeping the AWS
/// error code (which the engine's retry and tolerance rules look at) and message.
pub(super) fn aws_error<E, R>(
    operation: &'static str,
    object: impl Into<String>,
) -> impl FnOnce(SdkError<E, R>) -> VpcError
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
        VpcError::Aws {
            operation,
            object,
            code,
            message,
            source,
        }
    }
}

/// A field every successful response has, or [`VpcError::UnexpectedResponse`].
pub(super) fn required<T>(
    value: Option<T>,
    operation: &'static str,
    object: &str,
    field: &'static str,
) -> Result<T, VpcError> {
    value.ok_or_else(|| VpcError::UnexpectedResponse {
        operation,
        object: object.to_owned(),
        detail: format!("no {field}"),
    })
}

pub(super) fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags applied atomically with creation, so no object ever exists untagged (and
/// read can recognise it even if the create call's response is lost).
pub(super) fn tag_spec(
    resource: ResourceType,
    tags: &BTreeMap<String, String>,
) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
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
