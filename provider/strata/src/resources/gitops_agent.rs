//! `strata_gitops_agent`: the Terraform face of [`crate::gitops_agent`] — schema, the
//! shared `cluster` block ([`super::kube_cluster`]), plan rules, and the mapping between
//! Terraform values and the engine's types.

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::SecretString;
use strata_framework::diag::Diagnostics;
use strata_framework::resource::{
    ApplyRequest, ApplyResponse, ImportResponse, PlanRequest, PlanResponse, ReadRequest,
    ReadResponse,
};
use strata_framework::schema::{Attribute, Block, Schema, parse_duration};
use strata_framework::{AttributePath, Context, Resource, Type, Value};

use crate::gitops_agent::{self, AgentSpec, GitopsAgentError, Objects, Observed};
use crate::provider::ProviderData;
use crate::resources::kube_cluster::{
    self, CLUSTER, EKS_CLUSTER_NAME, check_connection, cluster_block, connection_from,
};
use crate::values::{opt_str, str_map, string_map};

pub struct GitopsAgentResource;

const DESCRIPTION: &str = "Installs [`strata-agent`](https://github.com/strata/strata/tree/main/agent) — the GitOps agent that keeps a cluster converged to a config repo — into a Kubernetes cluster: a bootstrap, in the spirit of Flux's.

What is installed is exactly the agent's deploy file, `agent/deploy/strata-agent.yaml`, embedded in the provider (so the RBAC rules are the agent's own least-privilege rules, unchanged), with the parameters set: the Namespace (unless it exists already), the ServiceAccount, the ClusterRole and ClusterRoleBinding `strata-agent` (cluster-wide, so one agent per cluster), the Role and RoleBinding `strata-agent-state` for the agent's inventory and leader Lease, the Secrets `strata-agent-git` (git credentials: key `token` or `ssh-key`) and `strata-agent-webhook` (key `secret`) the Deployment mounts, the Deployment `strata-agent` running `strata-agent run REPOSITORY --ref … --path … --cluster … --interval …`, and the Service `strata-agent` (status API and push webhook on port 8080).

The resource connects to its cluster by itself, like `strata_storage_class`: the `cluster` block names an EKS cluster (endpoint and CA from `DescribeCluster`, a short-lived EKS token minted from the provider's AWS credentials) or gives an `endpoint`, `cluster_ca_certificate` and `token` — so it works in the same apply that creates the cluster.

What changes do:

| change | effect |
|---|---|
| `namespace` | replaces the installation (uninstall, install in the new namespace) |
| `cluster.eks_cluster_name`, `cluster.region`, `cluster.endpoint` | replace it (another cluster) |
| `image`, `replicas`, `repository`, `ref`, `path`, `cluster_name`, `interval`, `labels` | updated in place; a changed pod template rolls the Deployment |
| `git_token`, `git_ssh_key`, `webhook_secret` | the Secrets are updated in place, and a checksum of their contents on the pod template (annotation `strata.dev/secrets-checksum`) rolls the Deployment so the agents read the new values |

Writes are server-side applies with the field manager `terraform-provider-strata` (forcing ownership of the fields the resource sets), object by object. Create refuses a namespace that already holds an agent Deployment (import it instead). Drift: the Deployment's image, replicas and arguments, the labels and the Secrets (through their checksum) are read back, so changes made outside Terraform show up in the next plan and are reverted by the apply; installed objects deleted outside Terraform show up as a change of `objects` and are re-created by the next apply.

Destroy deletes exactly the objects listed in `objects` — the Namespace only when this resource created it (`namespace_created`); a namespace that existed before, and anything else in it, is left alone. Nothing the agent itself applied from the config repo is touched, nor the agent's own inventory ConfigMap and Lease (they go with the Namespace only when the resource created it).

The credentials (`git_token`, `git_ssh_key`, `webhook_secret`) are write-only arguments (Terraform 1.11 or later): they go to the cluster's Secrets and are never stored in a plan or the state — `terraform show -json` and the state file do not hold them. The state keeps only `credentials_checksum`, a SHA-256 of the Secrets, so a changed credential (in the configuration, or in the cluster by hand) still plans an update. Use long random values: a checksum of a short, guessable secret can be brute-forced.";

const NAMESPACE: &str = "namespace";
const IMAGE: &str = "image";
const REPLICAS: &str = "replicas";
const REPOSITORY: &str = "repository";
const REF: &str = "ref";
const PATH: &str = "path";
const CLUSTER_NAME: &str = "cluster_name";
const INTERVAL: &str = "interval";
const GIT_TOKEN: &str = "git_token";
const GIT_SSH_KEY: &str = "git_ssh_key";
const WEBHOOK_SECRET: &str = "webhook_secret";
const LABELS: &str = "labels";
const OBJECTS: &str = "objects";
const STATUS_URL: &str = "status_url";
const NAMESPACE_CREATED: &str = "namespace_created";
const CREDENTIALS_CHECKSUM: &str = "credentials_checksum";

/// The label the deploy file's selectors use; the `labels` argument may not set it.
const NAME_LABEL: &str = "app.kubernetes.io/name";

#[async_trait]
impl Resource<ProviderData> for GitopsAgentResource {
    fn type_name(&self) -> &'static str {
        "strata_gitops_agent"
    }

    fn schema(&self) -> Schema {
        Schema {
            version: 0,
            block: Block {
                description: DESCRIPTION.into(),
                attributes: vec![
                    Attribute::computed("id", Type::String)
                        .describe("The agent's namespace.")
                        .use_state_for_unknown(),
                    Attribute::optional(NAMESPACE, Type::String)
                        .describe("Namespace of the agent and its own state (inventory ConfigMap, leader Lease). Created unless it exists; an existing one is used and left in place on destroy.")
                        .default("strata-system")
                        .requires_replace(),
                    Attribute::optional(IMAGE, Type::String)
                        .describe("Container image of the agent.")
                        .default("strata-agent:0.1.0"),
                    Attribute::optional(REPLICAS, Type::Number)
                        .describe("Number of agent pods. One leads through a Lease and applies; all serve the status API.")
                        .default(2),
                    Attribute::required(REPOSITORY, Type::String)
                        .describe("The config repo the agent keeps the cluster converged to: a git URL (`https://…`, `ssh://…`, `git@host:path`, `file://…`)."),
                    Attribute::optional(REF, Type::String)
                        .describe("Branch, tag or commit id of the config repo to follow (`--ref`).")
                        .default("main"),
                    Attribute::optional(PATH, Type::String)
                        .describe("Directory of the config repo to read (`--path`); left out, the whole repo."),
                    Attribute::optional(CLUSTER_NAME, Type::String)
                        .describe("Name of the `Cluster` document of the config repo the agent renders for (`--cluster`); required by the agent when the repo declares more than one cluster."),
                    Attribute::optional(INTERVAL, Type::String)
                        .describe("Time between the agent's passes when nothing triggers one sooner (`--interval`), e.g. `30s`, `5m`.")
                        .default("30s"),
                    Attribute::optional(GIT_TOKEN, Type::String)
                        .sensitive()
                        .write_only()
                        .describe("Token for an https repository, sent as the password (Secret `strata-agent-git`, key `token`, passed as `--token-file`). Conflicts with `git_ssh_key`."),
                    Attribute::optional(GIT_SSH_KEY, Type::String)
                        .sensitive()
                        .write_only()
                        .describe("Private key (PEM/OpenSSH, without passphrase) for an ssh repository (Secret `strata-agent-git`, key `ssh-key`, passed as `--ssh-key-file`). Conflicts with `git_token`. The agent has no known-hosts option, so there is none here."),
                    Attribute::optional(WEBHOOK_SECRET, Type::String)
                        .sensitive()
                        .write_only()
                        .describe("Secret of the push webhook (`POST /hooks/git` on the Service): GitHub's HMAC secret or GitLab's token (Secret `strata-agent-webhook`, key `secret`, passed as `--webhook-secret-file`). Left out, the webhook is disabled and the agent polls every `interval`."),
                    Attribute::optional(LABELS, Type::map(Type::String))
                        .describe("Labels added to every installed object, next to the deploy file's `app.kubernetes.io/name: strata-agent` (which they may not set)."),
                    Attribute::computed(OBJECTS, Type::list(Type::String))
                        .describe("The installed objects as `Kind namespace/name` (`Kind name` for cluster-scoped ones), in the order they are applied: exactly what destroy deletes."),
                    Attribute::computed(STATUS_URL, Type::String)
                        .describe("In-cluster URL of the agent's status API and webhook (the Service), e.g. `http://strata-agent.strata-system.svc:8080`: `/status`, `/healthz`, `/readyz`, `/metrics`, `/hooks/git`."),
                    Attribute::computed(CREDENTIALS_CHECKSUM, Type::String)
                        .describe("SHA-256 (hex) of the Secrets `strata-agent-git` and `strata-agent-webhook` (names and contents), also the pod template's annotation `strata.dev/secrets-checksum`: the only trace of the write-only credentials in the state. A credential changed in the configuration, or in the cluster by hand, changes it and plans an update."),
                    Attribute::computed(NAMESPACE_CREATED, Type::Bool)
                        .describe("Whether this resource created the namespace (and so deletes it on destroy)."),
                ],
                blocks: vec![cluster_block()],
                deprecated: false,
            },
        }
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        check_connection(config.attr(CLUSTER), diags);
        if !config.attr(GIT_TOKEN).is_null() && !config.attr(GIT_SSH_KEY).is_null() {
            diags.attribute_error(
                AttributePath::root(GIT_SSH_KEY),
                "Conflicting git credentials",
                "git_ssh_key cannot be combined with git_token: give a token for an https repository or an ssh key for an ssh one.",
            );
        }
        if let Some(ns) = config.attr(NAMESPACE).as_str()
            && let Some(problem) = dns_label_problem(ns)
        {
            diags.attribute_error(
                AttributePath::root(NAMESPACE),
                "Invalid namespace",
                format!("namespace is {ns:?}; {problem}."),
            );
        }
        if let Some(interval) = config.attr(INTERVAL).as_str()
            && parse_duration(interval).is_none_or(|d| d.is_zero())
        {
            diags.attribute_error(
                AttributePath::root(INTERVAL),
                "Invalid interval",
                format!("interval is {interval:?}; expected a positive duration such as \"30s\", \"5m\" or \"1h30m\"."),
            );
        }
        if let Value::Number(n) = config.attr(REPLICAS)
            && !n
                .as_i64()
                .is_some_and(|r| (0..=i64::from(i32::MAX)).contains(&r))
        {
            diags.attribute_error(
                AttributePath::root(REPLICAS),
                "Invalid replicas",
                "replicas must be a whole number, 0 or more.",
            );
        }
        if let Some(repo) = config.attr(REPOSITORY).as_str()
            && repo.trim().is_empty()
        {
            diags.attribute_error(
                AttributePath::root(REPOSITORY),
                "Invalid repository",
                "repository must be a git URL such as \"https://git.example.com/platform/config.git\".",
            );
        }
        if let Some(labels) = config.attr(LABELS).entries()
            && labels.contains_key(NAME_LABEL)
        {
            diags.attribute_error(
                AttributePath::root(LABELS).key(NAME_LABEL),
                "Reserved label",
                format!("labels may not set {NAME_LABEL}: the deploy file's selectors use it (it is always \"strata-agent\")."),
            );
        }
    }

    async fn modify_plan(
        &self,
        ctx: &Context<ProviderData>,
        req: &PlanRequest,
        resp: &mut PlanResponse,
    ) {
        let planned = &mut resp.planned_state;
        if planned.is_null() {
            return;
        }
        let prior = &req.prior_state;
        planned.set("id", planned.attr(NAMESPACE).clone());
        let skeleton = planned.attr(NAMESPACE).as_str().map(skeleton);
        planned.set(
            STATUS_URL,
            skeleton
                .as_ref()
                .map_or_else(Value::unknown, |o| Value::String(o.status_url())),
        );
        let checksum = match (&skeleton, credentials(&req.config)) {
            (Some(o), Some((git_token, git_ssh_key, webhook_secret))) => {
                let mut spec =
                    skeleton_spec(o.namespace.metadata.name.as_deref().unwrap_or_default());
                (spec.git_token, spec.git_ssh_key, spec.webhook_secret) =
                    (git_token, git_ssh_key, webhook_secret);
                Value::String(gitops_agent::objects(&spec).credentials_checksum())
            }
            _ => Value::unknown(),
        };
        planned.set(CREDENTIALS_CHECKSUM, checksum);
        if prior.is_null() {
            // Whether the namespace is created is only known at apply.
            planned.set(OBJECTS, Value::unknown());
            planned.set(NAMESPACE_CREATED, Value::unknown());
            return;
        }
        let created = prior.attr(NAMESPACE_CREATED).as_bool().unwrap_or(false);
        planned.set(NAMESPACE_CREATED, Value::Bool(created));
        planned.set(
            OBJECTS,
            skeleton.map_or_else(Value::unknown, |o| installed(&o, created)),
        );
        let planned = &resp.planned_state;
        kube_cluster::replace_on_other_cluster(ctx, prior, planned, &mut resp.requires_replace);
    }

    async fn create(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let planned = &req.planned_state;
        let (Some(connection), Some(spec)) = (
            connection_from(planned.attr(CLUSTER), &mut resp.diags),
            spec_from(planned, &req.config, &mut resp.diags),
        ) else {
            resp.new_state = Value::Null;
            return;
        };
        match interruptible(ctx, gitops_agent::create(&ctx.data.aws, &connection, &spec)).await {
            Ok(created) => write_applied(&mut resp.new_state, &spec, created),
            Err(e) => {
                // Objects applied before the failure are recorded, so destroy (or the
                // next apply) finds them; the namespace is not claimed.
                resp.new_state = match e {
                    InterruptedOr::Agent(GitopsAgentError::AlreadyExists(_))
                    | InterruptedOr::Agent(GitopsAgentError::Connection(_)) => Value::Null,
                    _ => {
                        let mut state = planned.clone();
                        write_applied(&mut state, &spec, false);
                        state
                    }
                };
                report(&e, "Failed to install the agent", &mut resp.diags);
            }
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, req: &ReadRequest, resp: &mut ReadResponse) {
        let current = &req.current_state;
        let Some(namespace) = opt_str(current.attr(NAMESPACE)) else {
            resp.new_state = Value::Null;
            return;
        };
        let Some(connection) = connection_from(current.attr(CLUSTER), &mut resp.diags) else {
            return;
        };
        let created = current.attr(NAMESPACE_CREATED).as_bool().unwrap_or(false);
        match interruptible(
            ctx,
            gitops_agent::read(&ctx.data.aws, &connection, &namespace, created),
        )
        .await
        {
            Ok(Some(observed)) => write_observed(&mut resp.new_state, &namespace, &observed),
            Ok(None) => resp.new_state = Value::Null,
            Err(e) => report(&e, "Failed to read the agent installation", &mut resp.diags),
        }
    }

    async fn update(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let planned = &req.planned_state;
        let (Some(connection), Some(spec)) = (
            connection_from(planned.attr(CLUSTER), &mut resp.diags),
            spec_from(planned, &req.config, &mut resp.diags),
        ) else {
            resp.new_state = req.prior_state.clone();
            return;
        };
        let created = req
            .prior_state
            .attr(NAMESPACE_CREATED)
            .as_bool()
            .unwrap_or(false);
        match interruptible(
            ctx,
            gitops_agent::update(&ctx.data.aws, &connection, &spec, created),
        )
        .await
        {
            Ok(()) => write_applied(&mut resp.new_state, &spec, created),
            Err(e) => {
                // Some objects may be updated already; the next plan reads them back.
                resp.new_state = req.prior_state.clone();
                report(
                    &e,
                    "Failed to update the agent installation",
                    &mut resp.diags,
                );
            }
        }
    }

    async fn delete(
        &self,
        ctx: &Context<ProviderData>,
        req: &ApplyRequest,
        resp: &mut ApplyResponse,
    ) {
        let prior = &req.prior_state;
        let (Some(connection), Some(namespace)) = (
            connection_from(prior.attr(CLUSTER), &mut resp.diags),
            opt_str(prior.attr(NAMESPACE)),
        ) else {
            return;
        };
        let created = prior.attr(NAMESPACE_CREATED).as_bool().unwrap_or(false);
        if let Err(e) = interruptible(
            ctx,
            gitops_agent::delete(&ctx.data.aws, &connection, &namespace, created),
        )
        .await
        {
            report(&e, "Failed to uninstall the agent", &mut resp.diags);
        }
    }

    async fn import(&self, _ctx: &Context<ProviderData>, id: &str, resp: &mut ImportResponse) {
        let Some((cluster, namespace)) = id
            .split_once('/')
            .filter(|(c, n)| !c.is_empty() && !n.is_empty() && !n.contains('/'))
        else {
            resp.diags.error(
                "Invalid import ID",
                format!("expected CLUSTER/NAMESPACE (an EKS cluster in the provider's region and the agent's namespace), got {id:?}"),
            );
            return;
        };
        if let Some(problem) = dns_label_problem(namespace) {
            resp.diags.error(
                "Invalid import ID",
                format!("namespace {namespace:?}: {problem}"),
            );
            return;
        }
        let ty = self.schema().value_type();
        match Value::from_json(
            &serde_json::json!({
                "id": namespace,
                NAMESPACE: namespace,
                NAMESPACE_CREATED: false,
                CLUSTER: { EKS_CLUSTER_NAME: cluster },
            }),
            &ty,
        ) {
            Ok(state) => resp.state = state,
            Err(e) => resp.diags.error("Invalid import ID", e.to_string()),
        }
    }
}

/// Why `name` cannot be a namespace (a DNS-1123 label), if it cannot.
fn dns_label_problem(name: &str) -> Option<&'static str> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if name.is_empty() || name.len() > 63 {
        Some("a namespace name has 1 to 63 characters")
    } else if !ok_chars || name.starts_with('-') || name.ends_with('-') {
        Some(
            "a namespace name consists of lower case letters, digits and '-', and starts and ends with a letter or digit",
        )
    } else {
        None
    }
}

fn skeleton(namespace: &str) -> Objects {
    gitops_agent::objects(&skeleton_spec(namespace))
}

/// The write-only credentials of a configuration; `None` while any is unknown.
#[allow(clippy::type_complexity)]
fn credentials(
    config: &Value,
) -> Option<(
    Option<SecretString>,
    Option<SecretString>,
    Option<SecretString>,
)> {
    let get = |name: &str| match config.attr(name) {
        Value::Null => Some(None),
        Value::String(s) => Some(Some(SecretString::from(s.clone()))),
        _ => None,
    };
    Some((get(GIT_TOKEN)?, get(GIT_SSH_KEY)?, get(WEBHOOK_SECRET)?))
}

/// A spec with only the namespace set (names of the objects; no credentials).
fn skeleton_spec(namespace: &str) -> AgentSpec {
    AgentSpec {
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
    }
}

fn installed(o: &Objects, namespace_created: bool) -> Value {
    Value::List(
        o.installed(namespace_created)
            .into_iter()
            .map(Value::String)
            .collect(),
    )
}

/// The engine's spec from a planned state, and the (write-only) credentials from the
/// configuration.
fn spec_from(v: &Value, config: &Value, diags: &mut Diagnostics) -> Option<AgentSpec> {
    let secret = |name: &str| opt_str(config.attr(name)).map(SecretString::from);
    let spec = (|| {
        Some(AgentSpec {
            namespace: opt_str(v.attr(NAMESPACE))?,
            image: opt_str(v.attr(IMAGE))?,
            replicas: match v.attr(REPLICAS) {
                Value::Number(n) => i32::try_from(n.as_i64()?).ok()?,
                _ => return None,
            },
            repository: opt_str(v.attr(REPOSITORY))?,
            git_ref: opt_str(v.attr(REF))?,
            path: opt_str(v.attr(PATH)),
            cluster_name: opt_str(v.attr(CLUSTER_NAME)),
            interval: opt_str(v.attr(INTERVAL))?,
            git_token: secret(GIT_TOKEN),
            git_ssh_key: secret(GIT_SSH_KEY),
            webhook_secret: secret(WEBHOOK_SECRET),
            labels: match v.attr(LABELS) {
                Value::Null => BTreeMap::new(),
                labels => str_map(labels)?,
            },
        })
    })();
    if spec.is_none() {
        diags.error(
            "Incomplete agent plan",
            "The planned agent installation still has unknown values; this is a bug in the provider, please report it.",
        );
    }
    spec
}

/// The computed attributes after a successful create or update.
fn write_applied(new: &mut Value, spec: &AgentSpec, namespace_created: bool) {
    let o = gitops_agent::objects(spec);
    new.set("id", Value::String(spec.namespace.clone()));
    new.set(OBJECTS, installed(&o, namespace_created));
    new.set(STATUS_URL, Value::String(o.status_url()));
    new.set(NAMESPACE_CREATED, Value::Bool(namespace_created));
    new.set(
        CREDENTIALS_CHECKSUM,
        Value::String(o.credentials_checksum()),
    );
}

/// Writes what the cluster holds into the state: the objects present, the Deployment's
/// parameters, the labels and the Secrets' checksum. What cannot be read (a deleted
/// Deployment or Secret) keeps its recorded value; `objects` shows it is missing.
fn write_observed(new: &mut Value, namespace: &str, o: &Observed) {
    new.set("id", Value::String(namespace.to_owned()));
    new.set(
        OBJECTS,
        Value::List(o.present.iter().cloned().map(Value::String).collect()),
    );
    new.set(STATUS_URL, Value::String(skeleton(namespace).status_url()));
    if new.attr(NAMESPACE_CREATED).is_null() {
        new.set(NAMESPACE_CREATED, Value::Bool(false));
    }
    if let Some(d) = &o.deployment {
        if let Some(image) = &d.image {
            new.set(IMAGE, Value::String(image.clone()));
        }
        new.set(REPLICAS, Value::from(i64::from(d.replicas)));
        if let Some(repo) = &d.repository {
            new.set(REPOSITORY, Value::String(repo.clone()));
        }
        // The agent's own default when the flag is absent.
        new.set(
            REF,
            Value::String(d.git_ref.clone().unwrap_or_else(|| "main".into())),
        );
        new.set(PATH, Value::opt_string(d.path.clone()));
        new.set(CLUSTER_NAME, Value::opt_string(d.cluster_name.clone()));
        new.set(
            INTERVAL,
            Value::String(d.interval.clone().unwrap_or_else(|| "30s".into())),
        );
        let labels = if d.labels.is_empty() && new.attr(LABELS).is_null() {
            Value::Null
        } else {
            string_map(&d.labels)
        };
        new.set(LABELS, labels);
    }
    if let Some(sum) = &o.credentials_checksum {
        new.set(CREDENTIALS_CHECKSUM, Value::String(sum.clone()));
    }
}

enum InterruptedOr {
    Agent(GitopsAgentError),
    Interrupted,
}

impl std::fmt::Display for InterruptedOr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterruptedOr::Agent(e) => e.fmt(f),
            InterruptedOr::Interrupted => {
                f.write_str("interrupted: Terraform asked the provider to stop")
            }
        }
    }
}

fn report(e: &InterruptedOr, summary: &str, diags: &mut Diagnostics) {
    let attribute = match e {
        InterruptedOr::Agent(e) => e.attribute(),
        InterruptedOr::Interrupted => None,
    };
    kube_cluster::report_at(attribute, summary, e.to_string(), diags);
}

/// Runs `work` until it ends or Terraform asks the provider to stop.
async fn interruptible<T>(
    ctx: &Context<ProviderData>,
    work: impl std::future::Future<Output = Result<T, GitopsAgentError>>,
) -> Result<T, InterruptedOr> {
    kube_cluster::until_stopped(
        ctx,
        async { work.await.map_err(InterruptedOr::Agent) },
        || InterruptedOr::Interrupted,
    )
    .await
}
