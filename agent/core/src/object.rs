//! The Kubernetes objects the agent renders: typed k8s-openapi objects for the kinds the
//! tiers use, and `CustomObject` for CRD-backed kinds (ServiceMonitor, PrometheusRule)
//! and for plain manifests from the repo.

use std::cmp::Ordering;
use std::fmt;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{
    ConfigMap, Namespace, PersistentVolumeClaim, PodTemplateSpec, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{Metadata, Resource};
use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An object of a kind k8s-openapi does not know: `apiVersion`, `kind`, `metadata`, and
/// every other top-level field as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomObject {
    pub api_version: String,
    pub kind: String,
    pub metadata: ObjectMeta,
    /// `spec`, `data`, `rules`, …: everything but the three fields above.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl CustomObject {
    pub fn new(api_version: &str, kind: &str, metadata: ObjectMeta) -> Self {
        Self {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
            metadata,
            fields: serde_json::Map::new(),
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }

    /// Adds a top-level field (builder style).
    pub fn with(mut self, field: &str, value: serde_json::Value) -> Self {
        self.fields.insert(field.to_owned(), value);
        self
    }
}

impl Serialize for CustomObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3 + self.fields.len()))?;
        map.serialize_entry("apiVersion", &self.api_version)?;
        map.serialize_entry("kind", &self.kind)?;
        map.serialize_entry("metadata", &self.metadata)?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for CustomObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let mut text = |name: &str| match fields.remove(name) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
            Some(_) => Err(D::Error::custom(format!(
                "{name}: must be a non-empty string"
            ))),
            None => Err(D::Error::custom(format!("{name}: missing"))),
        };
        let api_version = text("apiVersion")?;
        let kind = text("kind")?;
        let metadata = match fields.remove("metadata") {
            Some(value) => serde_json::from_value(value)
                .map_err(|e| D::Error::custom(format!("metadata: {e}")))?,
            None => return Err(D::Error::custom("metadata: missing")),
        };
        Ok(Self {
            api_version,
            kind,
            metadata,
            fields,
        })
    }
}

/// A rendered object.
// Boxing the large variants would buy little: a render holds tens of objects, not millions.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    PersistentVolumeClaim(PersistentVolumeClaim),
    Service(Service),
    StatefulSet(StatefulSet),
    Deployment(Deployment),
    CronJob(CronJob),
    PodDisruptionBudget(PodDisruptionBudget),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    NetworkPolicy(NetworkPolicy),
    Custom(CustomObject),
}

/// Expands `$body` once per variant with `$o` bound to the typed object.
macro_rules! each {
    ($self:expr, $o:ident => $body:expr) => {
        match $self {
            Object::Namespace($o) => $body,
            Object::ServiceAccount($o) => $body,
            Object::ConfigMap($o) => $body,
            Object::PersistentVolumeClaim($o) => $body,
            Object::Service($o) => $body,
            Object::StatefulSet($o) => $body,
            Object::Deployment($o) => $body,
            Object::CronJob($o) => $body,
            Object::PodDisruptionBudget($o) => $body,
            Object::HorizontalPodAutoscaler($o) => $body,
            Object::NetworkPolicy($o) => $body,
            Object::Custom($o) => $body,
        }
    };
}

/// Identity of an object in a cluster: group, kind, namespace, name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group; empty for the core group.
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{kind} {ns}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

fn typed<T: Resource>() -> (&'static str, &'static str) {
    (T::API_VERSION, T::KIND)
}

impl Object {
    pub fn api_version(&self) -> &str {
        match self {
            Object::Custom(o) => &o.api_version,
            other => other.type_meta().0,
        }
    }

    pub fn kind(&self) -> &str {
        match self {
            Object::Custom(o) => &o.kind,
            other => other.type_meta().1,
        }
    }

    fn type_meta(&self) -> (&'static str, &'static str) {
        match self {
            Object::Namespace(_) => typed::<Namespace>(),
            Object::ServiceAccount(_) => typed::<ServiceAccount>(),
            Object::ConfigMap(_) => typed::<ConfigMap>(),
            Object::PersistentVolumeClaim(_) => typed::<PersistentVolumeClaim>(),
            Object::Service(_) => typed::<Service>(),
            Object::StatefulSet(_) => typed::<StatefulSet>(),
            Object::Deployment(_) => typed::<Deployment>(),
            Object::CronJob(_) => typed::<CronJob>(),
            Object::PodDisruptionBudget(_) => typed::<PodDisruptionBudget>(),
            Object::HorizontalPodAutoscaler(_) => typed::<HorizontalPodAutoscaler>(),
            Object::NetworkPolicy(_) => typed::<NetworkPolicy>(),
            Object::Custom(_) => ("", ""),
        }
    }

    pub fn metadata(&self) -> &ObjectMeta {
        each!(self, o => o.metadata())
    }

    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        each!(self, o => o.metadata_mut())
    }

    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    pub fn key(&self) -> ObjectKey {
        let group = match self.api_version().rsplit_once('/') {
            Some((group, _)) => group.to_owned(),
            None => String::new(),
        };
        ObjectKey {
            group,
            kind: self.kind().to_owned(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }

    /// The pod template, for the kinds that have one.
    pub fn pod_template_mut(&mut self) -> Option<&mut PodTemplateSpec> {
        match self {
            Object::StatefulSet(o) => o.spec.as_mut().map(|s| &mut s.template),
            Object::Deployment(o) => o.spec.as_mut().map(|s| &mut s.template),
            Object::CronJob(o) => o
                .spec
                .as_mut()
                .and_then(|s| s.job_template.spec.as_mut())
                .map(|s| &mut s.template),
            _ => None,
        }
    }

    /// The pod template, for the kinds that have one.
    pub fn pod_template(&self) -> Option<&PodTemplateSpec> {
        match self {
            Object::StatefulSet(o) => o.spec.as_ref().map(|s| &s.template),
            Object::Deployment(o) => o.spec.as_ref().map(|s| &s.template),
            Object::CronJob(o) => o
                .spec
                .as_ref()
                .and_then(|s| s.job_template.spec.as_ref())
                .map(|s| &s.template),
            _ => None,
        }
    }

    /// Position in apply order: what others depend on comes first (namespaces, then
    /// CRDs, identities, configuration, volumes, services, workloads, then the objects
    /// that act on workloads; CRD-backed kinds last, as their CRDs may be missing).
    pub fn apply_rank(&self) -> u8 {
        match self.kind() {
            "Namespace" => 0,
            "CustomResourceDefinition" => 1,
            "ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => 2,
            "ConfigMap" | "Secret" | "StorageClass" | "PriorityClass" | "ResourceQuota"
            | "LimitRange" => 3,
            "PersistentVolumeClaim" => 4,
            "Service" => 5,
            "StatefulSet" | "Deployment" | "DaemonSet" => 6,
            "CronJob" | "Job" => 7,
            "PodDisruptionBudget" | "HorizontalPodAutoscaler" | "NetworkPolicy" => 8,
            _ if self.api_version().contains('/')
                && !self.api_version().contains(".k8s.io/")
                && !matches!(
                    self.api_version().split('/').next(),
                    Some("apps" | "batch" | "policy" | "autoscaling")
                ) =>
            {
                9
            }
            _ => 8,
        }
    }

    /// Apply order, then namespace, kind and name: a total, deterministic order.
    pub fn cmp_apply_order(&self, other: &Object) -> Ordering {
        (
            self.apply_rank(),
            self.namespace(),
            self.kind(),
            self.name(),
        )
            .cmp(&(
                other.apply_rank(),
                other.namespace(),
                other.kind(),
                other.name(),
            ))
    }

    /// The object as JSON, as it would be sent to the API server.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("Kubernetes objects serialize to JSON")
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        each!(self, o => o.serialize(serializer))
    }
}

macro_rules! from_typed {
    ($($kind:ident),*) => {
        $(impl From<$kind> for Object {
            fn from(o: $kind) -> Self {
                Object::$kind(o)
            }
        })*
    };
}

from_typed!(
    Namespace,
    ServiceAccount,
    ConfigMap,
    PersistentVolumeClaim,
    Service,
    StatefulSet,
    Deployment,
    CronJob,
    PodDisruptionBudget,
    HorizontalPodAutoscaler,
    NetworkPolicy
);

impl From<CustomObject> for Object {
    fn from(o: CustomObject) -> Self {
        Object::Custom(o)
    }
}

/// Objects as multi-document YAML that `kubectl apply -f -` accepts.
pub fn to_yaml(objects: &[Object]) -> String {
    let mut out = Vec::new();
    write_yaml(objects, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("YAML is UTF-8")
}

/// Writes [`to_yaml`]'s output object by object, so printing thousands of objects never
/// holds the whole text in memory.
pub fn write_yaml(objects: &[Object], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for object in objects {
        let text = serde_saphyr::to_string(object).expect("Kubernetes objects serialize to YAML");
        out.write_all(b"---\n")?;
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}
