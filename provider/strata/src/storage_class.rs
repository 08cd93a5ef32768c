//! The engine behind `strata_storage_class`: a Kubernetes StorageClass on a cluster the
//! resource connects to by itself.
//!
//! Where to start:
//! * [`rules`] — pure: EBS parameters ⇄ typed arguments, each volume type's plan-time
//!   limits, the IOPS-per-GiB note, import IDs and names.
//! * [`Connection`] — how to reach the cluster, shared with `strata_gitops_agent`: see
//!   [`crate::kube_connection`] (re-exported here).
//! * [`create`], [`read`], [`update`], [`delete`] drive the StorageClass API.
//!
//! How writes are made, and why not server-side apply: create is a `POST`, so a class
//! of the same name that someone else made is refused ("import it") instead of being
//! silently adopted; update is a read-modify-write `PUT` guarded by the object's
//! `resourceVersion`, which makes the labels exactly the configured set — labels added
//! out of band (by any field manager) are removed, which an apply by our field manager
//! could not do for fields it does not own. Both carry the field manager
//! `terraform-provider-strata`. Only labels, the default-class annotation and
//! `allowVolumeExpansion` ever change in place: every other field is immutable in the
//! Kubernetes API and changes by replacement.

use std::collections::BTreeMap;

use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, PostParams};

use crate::aws::AwsClients;
use crate::kube_connection;
pub use crate::kube_connection::{
    ClusterAccess, Connection, ConnectionError, access, client, eks_bearer_token, eks_token,
    endpoint_problem, parse_ca,
};

pub mod rules;

#[cfg(test)]
mod tests;

/// A StorageClass: what is wanted, and what is read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageClassSpec {
    pub name: String,
    pub provisioner: String,
    pub parameters: BTreeMap<String, String>,
    pub reclaim_policy: String,
    pub volume_binding_mode: String,
    pub allow_volume_expansion: bool,
    /// The annotation `storageclass.kubernetes.io/is-default-class` is `"true"`.
    pub default_class: bool,
    pub labels: BTreeMap<String, String>,
}

/// Errors of the storage class engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageClassError {
    /// The cluster could not be reached.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// A class of that name exists already and is not in the Terraform state.
    #[error(
        "storage class `{0}` already exists in the cluster; import it (`terraform import ADDRESS CLUSTER/{0}`) or choose another name"
    )]
    AlreadyExists(String),
    /// The class to update is gone.
    #[error(
        "storage class `{0}` no longer exists in the cluster; run `terraform apply` again to re-create it"
    )]
    Gone(String),
    /// The Kubernetes API refused a request or could not be reached.
    #[error("failed to {action} storage class `{name}`: {message}")]
    Api {
        action: &'static str,
        name: String,
        message: String,
        #[source]
        source: Box<kube::Error>,
    },
    /// Terraform asked the provider to stop.
    #[error("interrupted: Terraform asked the provider to stop")]
    Interrupted,
}

impl StorageClassError {
    /// The attribute (path below the resource) a diagnostic about this error points at.
    pub fn attribute(&self) -> Option<&'static [&'static str]> {
        match self {
            StorageClassError::Connection(e) => e.attribute(),
            StorageClassError::AlreadyExists(_) => Some(&["name"]),
            _ => None,
        }
    }
}

async fn api(aws: &AwsClients, connection: &Connection) -> Result<Option<Api<StorageClass>>> {
    Ok(kube_connection::connect(aws, connection)
        .await?
        .map(Api::all))
}

type Result<T, E = StorageClassError> = std::result::Result<T, E>;

fn api_error(action: &'static str, name: &str, source: kube::Error) -> StorageClassError {
    let message = match &source {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    };
    StorageClassError::Api {
        action,
        name: name.to_owned(),
        message,
        source: Box::new(source),
    }
}

fn post_params() -> PostParams {
    PostParams {
        dry_run: false,
        field_manager: Some(rules::FIELD_MANAGER.to_owned()),
    }
}

/// The Kubernetes object for `spec`.
pub fn to_object(spec: &StorageClassSpec) -> StorageClass {
    StorageClass {
        metadata: ObjectMeta {
            name: Some(spec.name.clone()),
            labels: (!spec.labels.is_empty()).then(|| spec.labels.clone()),
            annotations: Some(BTreeMap::from([(
                rules::DEFAULT_CLASS_ANNOTATION.to_owned(),
                spec.default_class.to_string(),
            )])),
            ..Default::default()
        },
        provisioner: spec.provisioner.clone(),
        parameters: (!spec.parameters.is_empty()).then(|| spec.parameters.clone()),
        reclaim_policy: Some(spec.reclaim_policy.clone()),
        volume_binding_mode: Some(spec.volume_binding_mode.clone()),
        allow_volume_expansion: Some(spec.allow_volume_expansion),
        ..Default::default()
    }
}

/// What a StorageClass object says, in the spec's terms (API defaults applied as the
/// API server applies them).
pub fn from_object(sc: &StorageClass) -> StorageClassSpec {
    let annotations = sc.metadata.annotations.clone().unwrap_or_default();
    StorageClassSpec {
        name: sc.metadata.name.clone().unwrap_or_default(),
        provisioner: sc.provisioner.clone(),
        parameters: sc.parameters.clone().unwrap_or_default(),
        reclaim_policy: sc.reclaim_policy.clone().unwrap_or_else(|| "Delete".into()),
        volume_binding_mode: sc
            .volume_binding_mode
            .clone()
            .unwrap_or_else(|| "Immediate".into()),
        allow_volume_expansion: sc.allow_volume_expansion.unwrap_or(false),
        default_class: annotations
            .get(rules::DEFAULT_CLASS_ANNOTATION)
            .is_some_and(|v| v == "true"),
        labels: sc.metadata.labels.clone().unwrap_or_default(),
    }
}

/// Creates the class. Refuses to take over one that exists already.
pub async fn create(
    aws: &AwsClients,
    connection: &Connection,
    spec: &StorageClassSpec,
) -> Result<StorageClassSpec> {
    let api = Api::all(kube_connection::connect_existing(aws, connection).await?);
    match api.create(&post_params(), &to_object(spec)).await {
        Ok(created) => Ok(from_object(&created)),
        Err(kube::Error::Api(status)) if status.is_already_exists() => {
            Err(StorageClassError::AlreadyExists(spec.name.clone()))
        }
        Err(e) => Err(api_error("create", &spec.name, e)),
    }
}

/// The class as it is, or `None` when it (or its EKS cluster) is gone.
pub async fn read(
    aws: &AwsClients,
    connection: &Connection,
    name: &str,
) -> Result<Option<StorageClassSpec>> {
    let Some(api) = api(aws, connection).await? else {
        return Ok(None);
    };
    match api.get_opt(name).await {
        Ok(found) => Ok(found.as_ref().map(from_object)),
        Err(e) => Err(api_error("read", name, e)),
    }
}

/// Brings the mutable fields (labels, default-class annotation, volume expansion) to
/// `spec`: a read-modify-write guarded by `resourceVersion`, retried once on a conflict.
/// Other annotations are left as they are.
pub async fn update(
    aws: &AwsClients,
    connection: &Connection,
    spec: &StorageClassSpec,
) -> Result<StorageClassSpec> {
    let Some(api) = api(aws, connection).await? else {
        return Err(StorageClassError::Gone(spec.name.clone()));
    };
    let mut attempts = 0;
    loop {
        attempts += 1;
        let Some(mut live) = api
            .get_opt(&spec.name)
            .await
            .map_err(|e| api_error("read", &spec.name, e))?
        else {
            return Err(StorageClassError::Gone(spec.name.clone()));
        };
        live.metadata.labels = (!spec.labels.is_empty()).then(|| spec.labels.clone());
        live.metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(
                rules::DEFAULT_CLASS_ANNOTATION.to_owned(),
                spec.default_class.to_string(),
            );
        live.allow_volume_expansion = Some(spec.allow_volume_expansion);
        live.metadata.managed_fields = None;
        match api.replace(&spec.name, &post_params(), &live).await {
            Ok(updated) => return Ok(from_object(&updated)),
            Err(kube::Error::Api(status)) if status.is_conflict() && attempts < 2 => continue,
            Err(e) => return Err(api_error("update", &spec.name, e)),
        }
    }
}

/// Deletes the class; one already gone (or whose EKS cluster is gone) is fine.
pub async fn delete(aws: &AwsClients, connection: &Connection, name: &str) -> Result<()> {
    let Some(api) = api(aws, connection).await? else {
        return Ok(());
    };
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(e) => Err(api_error("delete", name, e)),
    }
}
