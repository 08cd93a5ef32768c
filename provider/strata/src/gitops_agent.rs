//! The engine behind `strata_gitops_agent`: installs `strata-agent` into a cluster from
//! its deploy file, `agent/deploy/strata-agent.yaml`, which is embedded ([`DEPLOY_YAML`])
//! and is the single source of truth for what the agent needs — this module only sets
//! parameters on it (namespace, image, replicas, the Deployment's arguments, labels) and
//! adds the two Secrets the deploy file's Deployment mounts (`strata-agent-git`,
//! `strata-agent-webhook`). The RBAC rules are the deploy file's, unchanged.
//!
//! Where to start:
//! * [`AgentSpec`] — what is wanted; [`objects`] — the Kubernetes objects for it (pure).
//! * [`create`], [`read`], [`update`], [`delete`] drive the API.
//!
//! How writes are made: server-side apply with the field manager
//! `terraform-provider-strata` and `force`, object by object in dependency order
//! (Namespace, ServiceAccount, RBAC, Secrets, Deployment, Service). Apply makes create
//! and update one idempotent operation (an object deleted out of band is simply applied
//! again), rolls back out-of-band changes to the fields the resource sets, and drops
//! fields it stops setting (a Secret key, a `--path` argument). Create first refuses an
//! existing agent Deployment in the namespace (import it instead), so it never silently
//! takes over someone else's installation. Destroy deletes exactly the objects in
//! [`Objects::installed`] — the Namespace only when the resource created it — and never
//! what the agent itself applied (its inventory ConfigMap and Lease included).

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ByteString, ClusterResourceScope, NamespaceResourceScope};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::AwsClients;
use crate::kube_connection::{self, Connection, ConnectionError};

#[cfg(test)]
mod tests;

/// The agent's deploy file, embedded: the objects it installs.
pub const DEPLOY_YAML: &str = include_str!("../../../agent/deploy/strata-agent.yaml");

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "terraform-provider-strata";

/// The pod-template annotation holding a SHA-256 of the Secrets' contents, so a change of
/// only a credential still rolls the Deployment.
pub const CHECKSUM_ANNOTATION: &str = "strata.dev/secrets-checksum";

/// The container of the deploy file's Deployment that runs the agent.
const CONTAINER: &str = "agent";

/// The Secret keys the agent reads (files under the Secrets' mount paths).
pub const TOKEN_KEY: &str = "token";
pub const SSH_KEY_KEY: &str = "ssh-key";
pub const WEBHOOK_KEY: &str = "secret";

/// The deploy file's volumes the two Secrets are mounted through.
const GIT_VOLUME: &str = "git-credentials";
const WEBHOOK_VOLUME: &str = "webhook-secret";

/// The arguments this module sets; every other argument of the deploy file (`--listen`,
/// `--cache-dir`) is kept as written.
const SET_FLAGS: [&str; 7] = [
    "--ref",
    "--path",
    "--cluster",
    "--interval",
    "--token-file",
    "--ssh-key-file",
    "--webhook-secret-file",
];

/// What is wanted.
#[derive(Clone)]
pub struct AgentSpec {
    pub namespace: String,
    pub image: String,
    pub replicas: i32,
    pub repository: String,
    pub git_ref: String,
    pub path: Option<String>,
    pub cluster_name: Option<String>,
    pub interval: String,
    pub git_token: Option<SecretString>,
    pub git_ssh_key: Option<SecretString>,
    pub webhook_secret: Option<SecretString>,
    pub labels: BTreeMap<String, String>,
}

impl Debug for AgentSpec {
    // Credentials never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSpec")
            .field("namespace", &self.namespace)
            .field("image", &self.image)
            .field("replicas", &self.replicas)
            .field("repository", &self.repository)
            .field("git_ref", &self.git_ref)
            .field("path", &self.path)
            .field("cluster_name", &self.cluster_name)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// The objects of the deploy file, parsed.
#[derive(Debug, Clone)]
pub struct Objects {
    pub namespace: Namespace,
    pub service_account: ServiceAccount,
    pub cluster_role: ClusterRole,
    pub cluster_role_binding: ClusterRoleBinding,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub git_secret: Secret,
    pub webhook_secret: Secret,
    pub deployment: Deployment,
    pub service: Service,
}

fn name_of(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

impl Objects {
    /// The deploy file as written (the Secrets, which it only names, empty).
    pub fn deploy_file() -> Objects {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(DEPLOY_YAML).expect("the embedded deploy file is YAML");
        let mut by_kind: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let kind = doc["kind"]
                .as_str()
                .expect("every object has a kind")
                .to_owned();
            assert!(
                by_kind.insert(kind.clone(), doc).is_none(),
                "the deploy file has one {kind}"
            );
        }
        fn take<K: DeserializeOwned>(
            by_kind: &mut BTreeMap<String, serde_json::Value>,
            kind: &str,
        ) -> K {
            let doc = by_kind
                .remove(kind)
                .unwrap_or_else(|| panic!("the deploy file has a {kind}"));
            serde_json::from_value(doc).unwrap_or_else(|e| panic!("the deploy file's {kind}: {e}"))
        }
        let deployment: Deployment = take(&mut by_kind, "Deployment");
        let secret = |volume: &str| {
            let name = deployment_volume_secret(&deployment, volume);
            Secret {
                metadata: ObjectMeta {
                    name: Some(name),
                    namespace: deployment.metadata.namespace.clone(),
                    labels: deployment.metadata.labels.clone(),
                    ..Default::default()
                },
                type_: Some("Opaque".into()),
                ..Default::default()
            }
        };
        let (git_secret, webhook_secret) = (secret(GIT_VOLUME), secret(WEBHOOK_VOLUME));
        let objects = Objects {
            namespace: take(&mut by_kind, "Namespace"),
            service_account: take(&mut by_kind, "ServiceAccount"),
            cluster_role: take(&mut by_kind, "ClusterRole"),
            cluster_role_binding: take(&mut by_kind, "ClusterRoleBinding"),
            role: take(&mut by_kind, "Role"),
            role_binding: take(&mut by_kind, "RoleBinding"),
            git_secret,
            webhook_secret,
            deployment,
            service: take(&mut by_kind, "Service"),
        };
        assert!(
            by_kind.is_empty(),
            "unexpected kinds in the deploy file: {:?}",
            by_kind.keys()
        );
        objects
    }

    /// `Kind namespace/name` (or `Kind name` when cluster-scoped) of every object the
    /// resource installs, in the order they are applied; the Namespace first when the
    /// resource creates it.
    pub fn installed(&self, with_namespace: bool) -> Vec<String> {
        let ns = self
            .deployment
            .metadata
            .namespace
            .clone()
            .unwrap_or_default();
        let scoped = |kind: &str, meta: &ObjectMeta| format!("{kind} {ns}/{}", name_of(meta));
        let cluster = |kind: &str, meta: &ObjectMeta| format!("{kind} {}", name_of(meta));
        let mut out = Vec::new();
        if with_namespace {
            out.push(cluster("Namespace", &self.namespace.metadata));
        }
        out.extend([
            scoped("ServiceAccount", &self.service_account.metadata),
            cluster("ClusterRole", &self.cluster_role.metadata),
            cluster("ClusterRoleBinding", &self.cluster_role_binding.metadata),
            scoped("Role", &self.role.metadata),
            scoped("RoleBinding", &self.role_binding.metadata),
            scoped("Secret", &self.git_secret.metadata),
            scoped("Secret", &self.webhook_secret.metadata),
            scoped("Deployment", &self.deployment.metadata),
            scoped("Service", &self.service.metadata),
        ]);
        out
    }

    /// SHA-256 (hex) of the two Secrets' names and contents: the pod template's
    /// [`CHECKSUM_ANNOTATION`], and the only trace of the credentials in the state.
    pub fn credentials_checksum(&self) -> String {
        checksum(&[&self.git_secret, &self.webhook_secret])
    }

    /// The in-cluster URL of the agent's status API (the Service's `http` port).
    pub fn status_url(&self) -> String {
        let port = self
            .service
            .spec
            .as_ref()
            .and_then(|s| s.ports.as_ref())
            .and_then(|p| p.first())
            .map_or(8080, |p| p.port);
        format!(
            "http://{}.{}.svc:{port}",
            name_of(&self.service.metadata),
            self.service
                .metadata
                .namespace
                .as_deref()
                .unwrap_or_default()
        )
    }
}

fn deployment_volume_secret(deployment: &Deployment, volume: &str) -> String {
    pod_spec(deployment)
        .volumes
        .iter()
        .flatten()
        .find(|v| v.name == volume)
        .and_then(|v| v.secret.as_ref())
        .and_then(|s| s.secret_name.clone())
        .unwrap_or_else(|| panic!("the deploy file mounts a Secret as volume `{volume}`"))
}

fn volume_mount_path(deployment: &Deployment, volume: &str) -> String {
    agent_container(deployment)
        .and_then(|c| c.volume_mounts.as_ref())
        .and_then(|m| m.iter().find(|m| m.name == volume))
        .map(|m| m.mount_path.clone())
        .unwrap_or_else(|| panic!("the deploy file mounts volume `{volume}` into the agent"))
}

fn pod_spec(d: &Deployment) -> &k8s_openapi::api::core::v1::PodSpec {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("the Deployment has a pod template")
}

fn agent_container(d: &Deployment) -> Option<&k8s_openapi::api::core::v1::Container> {
    d.spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == CONTAINER)
}

fn agent_container_mut(d: &mut Deployment) -> &mut k8s_openapi::api::core::v1::Container {
    d.spec
        .as_mut()
        .and_then(|s| s.template.spec.as_mut())
        .and_then(|p| p.containers.iter_mut().find(|c| c.name == CONTAINER))
        .expect("the deploy file runs the agent in a container named `agent`")
}

/// The flag of a `--flag=value` or `--flag` argument.
fn flag_of(arg: &str) -> &str {
    arg.split_once('=').map_or(arg, |(flag, _)| flag)
}

/// The agent's command line for `spec`: `run <repo>`, the flags this resource sets, then
/// the deploy file's other arguments unchanged.
pub fn agent_args(base: &Deployment, spec: &AgentSpec) -> Vec<String> {
    let base_args = agent_container(base)
        .and_then(|c| c.args.clone())
        .unwrap_or_default();
    let git_dir = volume_mount_path(base, GIT_VOLUME);
    let webhook_dir = volume_mount_path(base, WEBHOOK_VOLUME);
    let mut args = vec![
        "run".to_owned(),
        spec.repository.clone(),
        format!("--ref={}", spec.git_ref),
    ];
    if let Some(path) = &spec.path {
        args.push(format!("--path={path}"));
    }
    if let Some(cluster) = &spec.cluster_name {
        args.push(format!("--cluster={cluster}"));
    }
    args.push(format!("--interval={}", spec.interval));
    // `run` and the source are the first two; keep everything else we do not set.
    args.extend(
        base_args
            .iter()
            .skip(2)
            .filter(|a| !SET_FLAGS.contains(&flag_of(a)))
            .cloned(),
    );
    if spec.git_token.is_some() {
        args.push(format!("--token-file={git_dir}/{TOKEN_KEY}"));
    }
    if spec.git_ssh_key.is_some() {
        args.push(format!("--ssh-key-file={git_dir}/{SSH_KEY_KEY}"));
    }
    if spec.webhook_secret.is_some() {
        args.push(format!("--webhook-secret-file={webhook_dir}/{WEBHOOK_KEY}"));
    }
    args
}

fn secret_data(entries: &[(&str, &Option<SecretString>)]) -> Option<BTreeMap<String, ByteString>> {
    let data: BTreeMap<String, ByteString> = entries
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref().map(|v| {
                (
                    (*k).to_owned(),
                    ByteString(v.expose_secret().as_bytes().to_vec()),
                )
            })
        })
        .collect();
    (!data.is_empty()).then_some(data)
}

/// SHA-256 (hex) of both Secrets' contents, keys included.
fn checksum(secrets: &[&Secret]) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for secret in secrets {
        ctx.update(name_of(&secret.metadata).as_bytes());
        ctx.update(&[0]);
        for (k, v) in secret.data.iter().flatten() {
            ctx.update(k.as_bytes());
            ctx.update(&[0]);
            ctx.update(&(v.0.len() as u64).to_be_bytes());
            ctx.update(&v.0);
        }
        ctx.update(&[1]);
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The objects that install the agent as `spec` says: the deploy file with the
/// parameters set. Nothing else of the deploy file changes (the RBAC rules included).
pub fn objects(spec: &AgentSpec) -> Objects {
    let mut o = Objects::deploy_file();
    let ns = spec.namespace.clone();
    let with_labels = |meta: &mut ObjectMeta, namespaced: bool| {
        if namespaced {
            meta.namespace = Some(ns.clone());
        }
        let labels = meta.labels.get_or_insert_with(BTreeMap::new);
        for (k, v) in &spec.labels {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    };
    o.namespace.metadata.name = Some(ns.clone());
    with_labels(&mut o.namespace.metadata, false);
    with_labels(&mut o.service_account.metadata, true);
    with_labels(&mut o.cluster_role.metadata, false);
    with_labels(&mut o.cluster_role_binding.metadata, false);
    with_labels(&mut o.role.metadata, true);
    with_labels(&mut o.role_binding.metadata, true);
    with_labels(&mut o.git_secret.metadata, true);
    with_labels(&mut o.webhook_secret.metadata, true);
    with_labels(&mut o.deployment.metadata, true);
    with_labels(&mut o.service.metadata, true);
    for subject in o
        .cluster_role_binding
        .subjects
        .iter_mut()
        .chain(o.role_binding.subjects.iter_mut())
        .flatten()
    {
        if subject.kind == "ServiceAccount" {
            subject.namespace = Some(ns.clone());
        }
    }
    o.git_secret.data = secret_data(&[
        (TOKEN_KEY, &spec.git_token),
        (SSH_KEY_KEY, &spec.git_ssh_key),
    ]);
    o.webhook_secret.data = secret_data(&[(WEBHOOK_KEY, &spec.webhook_secret)]);
    let args = agent_args(&o.deployment, spec);
    let sum = o.credentials_checksum();
    let deployment_spec = o
        .deployment
        .spec
        .as_mut()
        .expect("the Deployment has a spec");
    deployment_spec.replicas = Some(spec.replicas);
    deployment_spec
        .template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(CHECKSUM_ANNOTATION.to_owned(), sum);
    let container = agent_container_mut(&mut o.deployment);
    container.image = Some(spec.image.clone());
    container.args = Some(args);
    o
}

/// What the agent's Deployment says, in the spec's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentView {
    pub image: Option<String>,
    pub replicas: i32,
    pub repository: Option<String>,
    pub git_ref: Option<String>,
    pub path: Option<String>,
    pub cluster_name: Option<String>,
    pub interval: Option<String>,
    /// Labels beyond the deploy file's own.
    pub labels: BTreeMap<String, String>,
}

/// Reads the agent's arguments back: `run <source>` then flags, as `--flag=value` or
/// `--flag value`.
pub fn parse_args(args: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut iter = args.iter().peekable();
    let mut positional = 0;
    while let Some(arg) = iter.next() {
        if let Some(flag) = arg.strip_prefix("--") {
            match flag.split_once('=') {
                Some((k, v)) => {
                    out.insert(k.to_owned(), v.to_owned());
                }
                None => {
                    let value = match iter.peek() {
                        Some(next) if !next.starts_with("--") => {
                            iter.next().cloned().unwrap_or_default()
                        }
                        _ => String::new(),
                    };
                    out.insert(flag.to_owned(), value);
                }
            }
        } else {
            out.insert(format!("#{positional}"), arg.clone());
            positional += 1;
        }
    }
    out
}

pub fn view(deployment: &Deployment) -> DeploymentView {
    let container = agent_container(deployment);
    let args = parse_args(&container.and_then(|c| c.args.clone()).unwrap_or_default());
    let base = Objects::deploy_file();
    let base_labels = base.deployment.metadata.labels.unwrap_or_default();
    DeploymentView {
        image: container.and_then(|c| c.image.clone()),
        replicas: deployment
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1),
        repository: args.get("#1").cloned(),
        git_ref: args.get("ref").cloned(),
        path: args.get("path").cloned(),
        cluster_name: args.get("cluster").cloned(),
        interval: args.get("interval").cloned(),
        labels: deployment
            .metadata
            .labels
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| !base_labels.contains_key(k))
            .collect(),
    }
}

/// What is in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// [`Objects::installed`] entries that exist.
    pub present: Vec<String>,
    /// The Deployment, when it exists.
    pub deployment: Option<DeploymentView>,
    /// [`Objects::credentials_checksum`] of the live Secrets, when both exist.
    pub credentials_checksum: Option<String>,
}

/// Errors of the agent engine.
#[derive(Debug, thiserror::Error)]
pub enum GitopsAgentError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// An agent Deployment exists already in the namespace.
    #[error(
        "{0} already exists in the cluster; import it (`terraform import ADDRESS CLUSTER/NAMESPACE`) or choose another namespace"
    )]
    AlreadyExists(String),
    /// The Kubernetes API refused a request or could not be reached.
    #[error("failed to {action} {object}: {message}")]
    Api {
        action: &'static str,
        object: String,
        message: String,
        #[source]
        source: Box<kube::Error>,
    },
}

impl GitopsAgentError {
    pub fn attribute(&self) -> Option<&'static [&'static str]> {
        match self {
            GitopsAgentError::Connection(e) => e.attribute(),
            GitopsAgentError::AlreadyExists(_) => Some(&["namespace"]),
            GitopsAgentError::Api { .. } => None,
        }
    }
}

type Result<T, E = GitopsAgentError> = std::result::Result<T, E>;

fn api_error(action: &'static str, object: String, source: kube::Error) -> GitopsAgentError {
    let message = match &source {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.code),
        other => other.to_string(),
    };
    GitopsAgentError::Api {
        action,
        object,
        message,
        source: Box::new(source),
    }
}

fn describe<K: kube::Resource<DynamicType = ()>>(obj: &K) -> String {
    let meta = obj.meta();
    match &meta.namespace {
        Some(ns) => format!("{} {ns}/{}", K::kind(&()), name_of(meta)),
        None => format!("{} {}", K::kind(&()), name_of(meta)),
    }
}

trait Scoped: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + Debug {
    fn api(client: &kube::Client, ns: &str) -> Api<Self>;
}

macro_rules! namespaced {
    ($($k:ty),*) => {$(
        impl Scoped for $k {
            fn api(client: &kube::Client, ns: &str) -> Api<Self> {
                Api::namespaced(client.clone(), ns)
            }
        }
        const _: fn() = || { fn scope<K: kube::Resource<Scope = NamespaceResourceScope>>() {} scope::<$k>(); };
    )*};
}
macro_rules! cluster_scoped {
    ($($k:ty),*) => {$(
        impl Scoped for $k {
            fn api(client: &kube::Client, _ns: &str) -> Api<Self> {
                Api::all(client.clone())
            }
        }
        const _: fn() = || { fn scope<K: kube::Resource<Scope = ClusterResourceScope>>() {} scope::<$k>(); };
    )*};
}
namespaced!(
    ServiceAccount,
    Role,
    RoleBinding,
    Secret,
    Deployment,
    Service
);
cluster_scoped!(Namespace, ClusterRole, ClusterRoleBinding);

async fn apply<K: Scoped>(client: &kube::Client, ns: &str, obj: &K) -> Result<()> {
    let name = name_of(obj.meta()).to_owned();
    let params = PatchParams::apply(FIELD_MANAGER).force();
    K::api(client, ns)
        .patch(&name, &params, &Patch::Apply(obj))
        .await
        .map(drop)
        .map_err(|e| api_error("apply", describe(obj), e))
}

async fn get<K: Scoped>(client: &kube::Client, ns: &str, obj: &K) -> Result<Option<K>> {
    K::api(client, ns)
        .get_opt(name_of(obj.meta()))
        .await
        .map_err(|e| api_error("read", describe(obj), e))
}

async fn remove<K: Scoped>(client: &kube::Client, ns: &str, obj: &K) -> Result<()> {
    match K::api(client, ns)
        .delete(name_of(obj.meta()), &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(e) => Err(api_error("delete", describe(obj), e)),
    }
}

async fn apply_all(client: &kube::Client, o: &Objects, with_namespace: bool) -> Result<()> {
    let ns = o.namespace.metadata.name.clone().unwrap_or_default();
    if with_namespace {
        apply(client, &ns, &o.namespace).await?;
    }
    apply(client, &ns, &o.service_account).await?;
    apply(client, &ns, &o.cluster_role).await?;
    apply(client, &ns, &o.cluster_role_binding).await?;
    apply(client, &ns, &o.role).await?;
    apply(client, &ns, &o.role_binding).await?;
    apply(client, &ns, &o.git_secret).await?;
    apply(client, &ns, &o.webhook_secret).await?;
    apply(client, &ns, &o.deployment).await?;
    apply(client, &ns, &o.service).await
}

/// Installs the agent. Returns whether the Namespace was created (it did not exist).
/// Refuses to take over an agent Deployment that exists already.
pub async fn create(aws: &AwsClients, connection: &Connection, spec: &AgentSpec) -> Result<bool> {
    let client = kube_connection::connect_existing(aws, connection).await?;
    let o = objects(spec);
    let ns = &spec.namespace;
    if get(&client, ns, &o.deployment).await?.is_some() {
        return Err(GitopsAgentError::AlreadyExists(describe(&o.deployment)));
    }
    let create_namespace = get(&client, ns, &o.namespace).await?.is_none();
    apply_all(&client, &o, create_namespace).await?;
    Ok(create_namespace)
}

/// Brings every object to `spec` (re-creating any deleted out of band; the Namespace
/// only when the resource created it).
pub async fn update(
    aws: &AwsClients,
    connection: &Connection,
    spec: &AgentSpec,
    namespace_created: bool,
) -> Result<()> {
    let client = kube_connection::connect_existing(aws, connection).await?;
    apply_all(&client, &objects(spec), namespace_created).await
}

/// The installed objects' identities in `namespace` (names and kinds only matter).
fn skeleton(namespace: &str) -> Objects {
    objects(&AgentSpec {
        namespace: namespace.to_owned(),
        image: String::new(),
        replicas: 0,
        repository: String::new(),
        git_ref: String::new(),
        path: None,
        cluster_name: None,
        interval: String::new(),
        git_token: None,
        git_ssh_key: None,
        webhook_secret: None,
        labels: BTreeMap::new(),
    })
}

/// What of the installation exists, or `None` when nothing does (or the EKS cluster is
/// gone).
pub async fn read(
    aws: &AwsClients,
    connection: &Connection,
    namespace: &str,
    namespace_created: bool,
) -> Result<Option<Observed>> {
    let Some(client) = kube_connection::connect(aws, connection).await? else {
        return Ok(None);
    };
    let o = skeleton(namespace);
    let names = o.installed(true);
    let ns = namespace;
    let namespace_exists = get(&client, ns, &o.namespace).await?.is_some();
    let deployment = get(&client, ns, &o.deployment).await?;
    let git_secret = get(&client, ns, &o.git_secret).await?;
    let webhook_secret = get(&client, ns, &o.webhook_secret).await?;
    let exists = [
        namespace_exists,
        get(&client, ns, &o.service_account).await?.is_some(),
        get(&client, ns, &o.cluster_role).await?.is_some(),
        get(&client, ns, &o.cluster_role_binding).await?.is_some(),
        get(&client, ns, &o.role).await?.is_some(),
        get(&client, ns, &o.role_binding).await?.is_some(),
        git_secret.is_some(),
        webhook_secret.is_some(),
        deployment.is_some(),
        get(&client, ns, &o.service).await?.is_some(),
    ];
    let mut present: Vec<String> = names
        .into_iter()
        .zip(exists)
        .filter_map(|(name, exists)| exists.then_some(name))
        .collect();
    if !namespace_created {
        present.retain(|n| !n.starts_with("Namespace "));
    }
    // Nothing left but (at most) the Namespace: not an installation any more.
    if present.iter().all(|n| n.starts_with("Namespace ")) {
        return Ok(None);
    }
    Ok(Some(Observed {
        present,
        deployment: deployment.as_ref().map(view),
        credentials_checksum: match (&git_secret, &webhook_secret) {
            (Some(git), Some(webhook)) => Some(checksum(&[git, webhook])),
            _ => None,
        },
    }))
}

/// Deletes what the resource installed, in reverse order; ones already gone are fine.
pub async fn delete(
    aws: &AwsClients,
    connection: &Connection,
    namespace: &str,
    namespace_created: bool,
) -> Result<()> {
    let Some(client) = kube_connection::connect(aws, connection).await? else {
        return Ok(());
    };
    let o = skeleton(namespace);
    let ns = namespace;
    remove(&client, ns, &o.service).await?;
    remove(&client, ns, &o.deployment).await?;
    remove(&client, ns, &o.webhook_secret).await?;
    remove(&client, ns, &o.git_secret).await?;
    remove(&client, ns, &o.role_binding).await?;
    remove(&client, ns, &o.role).await?;
    remove(&client, ns, &o.cluster_role_binding).await?;
    remove(&client, ns, &o.cluster_role).await?;
    remove(&client, ns, &o.service_account).await?;
    if namespace_created {
        remove(&client, ns, &o.namespace).await?;
    }
    Ok(())
}
