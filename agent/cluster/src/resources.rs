//! The connection to one cluster, and how kinds map to API resources (discovery, cached).

use std::collections::HashMap;
use std::sync::Mutex;

use kube::api::{Api, DynamicObject};
use kube::core::gvk::GroupVersionKind;
use kube::discovery::{self, ApiResource, Scope};

use crate::Error;

/// What discovery says about one kind at one version.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// A cluster: the client plus what discovery taught us about its kinds.
pub struct Cluster {
    pub client: kube::Client,
    /// Kinds found by discovery, by (group, kind). Only positive answers are kept: a
    /// CRD installed after a miss must be found on the next pass.
    kinds: Mutex<HashMap<(String, String), Resolved>>,
}

impl Cluster {
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    /// The API resource of `kind` in `group`: at `version` when given (the version of the
    /// object's `apiVersion`), else at the group's preferred version. `Ok(None)` when the
    /// cluster does not serve the kind (a CRD not installed, or removed).
    pub async fn resolve(
        &self,
        group: &str,
        kind: &str,
        version: Option<&str>,
    ) -> Result<Option<Resolved>, Error> {
        let key = (group.to_owned(), kind.to_owned());
        if let Some(hit) = self.cached(&key)
            && version.is_none_or(|v| v == hit.resource.version)
        {
            return Ok(Some(hit));
        }
        let found = match version {
            Some(version) => {
                let gvk = GroupVersionKind::gvk(group, version, kind);
                discovery::pinned_kind(&self.client, &gvk)
                    .await
                    .map(|(resource, caps)| Some((resource, caps)))
            }
            None => match discovery::group(&self.client, group).await {
                Ok(api_group) => Ok(api_group.recommended_kind(kind)),
                Err(error) => Err(error),
            },
        };
        let found = match found {
            Ok(found) => found,
            Err(error) if is_missing(&error) => None,
            Err(error) => {
                return Err(Error::kube(
                    format!("discovering {}", gk(group, kind)),
                    error,
                ));
            }
        };
        let Some((resource, caps)) = found else {
            self.forget(group, kind);
            return Ok(None);
        };
        let resolved = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        self.kinds
            .lock()
            .expect("discovery cache lock")
            .insert(key, resolved.clone());
        Ok(Some(resolved))
    }

    /// Drops what discovery said about a kind, e.g. after a 404 that may mean its CRD
    /// was deleted.
    pub fn forget(&self, group: &str, kind: &str) {
        self.kinds
            .lock()
            .expect("discovery cache lock")
            .remove(&(group.to_owned(), kind.to_owned()));
    }

    /// A dynamic API for a resolved kind, in `namespace` when the kind is namespaced.
    pub fn api(&self, resolved: &Resolved, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(namespace) if resolved.namespaced => {
                Api::namespaced_with(self.client.clone(), namespace, &resolved.resource)
            }
            _ => Api::all_with(self.client.clone(), &resolved.resource),
        }
    }

    fn cached(&self, key: &(String, String)) -> Option<Resolved> {
        self.kinds
            .lock()
            .expect("discovery cache lock")
            .get(key)
            .cloned()
    }
}

/// Discovery's ways of saying "not served here".
fn is_missing(error: &kube::Error) -> bool {
    use kube::error::DiscoveryError as D;
    match error {
        kube::Error::Api(status) => status.code == 404,
        kube::Error::Discovery(
            D::MissingKind(_) | D::MissingApiGroup(_) | D::MissingResource(_),
        ) => true,
        _ => false,
    }
}

/// `Kind.group`, or `Kind` for the core group.
pub(crate) fn gk(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}.{group}")
    }
}

/// Whether a group is one the API server itself serves (not CRD-backed). An explicit
/// list: some `*.k8s.io` groups (Gateway API, volume snapshots) are CRDs.
pub(crate) fn is_builtin_group(group: &str) -> bool {
    matches!(
        group,
        "" | "apps"
            | "batch"
            | "policy"
            | "autoscaling"
            | "admissionregistration.k8s.io"
            | "apiextensions.k8s.io"
            | "apiregistration.k8s.io"
            | "certificates.k8s.io"
            | "coordination.k8s.io"
            | "discovery.k8s.io"
            | "events.k8s.io"
            | "flowcontrol.apiserver.k8s.io"
            | "networking.k8s.io"
            | "node.k8s.io"
            | "rbac.authorization.k8s.io"
            | "resource.k8s.io"
            | "scheduling.k8s.io"
            | "storage.k8s.io"
    )
}
