//! The Terraform half of the `cluster` block shared by the resources that work inside a
//! Kubernetes cluster (`strata_storage_class`, `strata_gitops_agent`): its schema,
//! validation, the replacement rule, and the [`Connection`] it describes (the engine
//! half is [`crate::kube_connection`]).

use secrecy::SecretString;
use strata_framework::diag::Diagnostics;
use strata_framework::plan::semantically_equal;
use strata_framework::schema::{Attribute, Block, NestedBlock};
use strata_framework::{AttributePath, Context, Type, Value};

use crate::kube_connection::{self, Connection};
use crate::provider::ProviderData;
use crate::values::opt_str;

pub(crate) const CLUSTER: &str = "cluster";
pub(crate) const EKS_CLUSTER_NAME: &str = "eks_cluster_name";
pub(crate) const REGION: &str = "region";
pub(crate) const ENDPOINT: &str = "endpoint";
pub(crate) const CA: &str = "cluster_ca_certificate";
pub(crate) const TOKEN: &str = "token";
pub(crate) const EXPLICIT: [&str; 3] = [ENDPOINT, CA, TOKEN];

pub(crate) fn cluster_block() -> NestedBlock {
    NestedBlock {
        min_items: 1,
        max_items: 1,
        ..NestedBlock::single(
            CLUSTER,
            Block {
                description: "How to reach the cluster: either `eks_cluster_name` (and optionally `region`), or `endpoint`, `cluster_ca_certificate` and `token` together.".into(),
                attributes: vec![
                    Attribute::optional(EKS_CLUSTER_NAME, Type::String).describe(
                        "Name of an EKS cluster, e.g. `strata_eks_cluster.west.name`. The provider reads its endpoint and CA with `DescribeCluster` and authenticates with a fresh EKS token (a presigned STS `GetCallerIdentity` request, valid 60 seconds) signed with the provider's AWS credentials, for every operation — tokens never go stale, also not on `destroy`. The credentials' IAM identity needs access to the cluster (an EKS access entry, or the `aws-auth` ConfigMap). Changing it replaces the resource (it is another cluster).",
                    ),
                    Attribute::optional(REGION, Type::String).describe(
                        "The EKS cluster's region. Defaults to the provider's `region`. Only with `eks_cluster_name`. Changing it replaces the resource (it is another cluster).",
                    ),
                    Attribute::optional(ENDPOINT, Type::String).describe(
                        "URL of the Kubernetes API server, `https://…`. Requires `cluster_ca_certificate` and `token`. Changing it replaces the resource (it is another cluster).",
                    ),
                    Attribute::optional(CA, Type::String).describe(
                        "PEM certificate(s) of the CA that signed the API server's certificate; the only roots trusted for `endpoint`.",
                    ),
                    Attribute::optional(TOKEN, Type::String).sensitive().describe(
                        "Bearer token for the API server. Stored in the state (as a sensitive value) because `destroy` needs it: a short-lived token may have expired by then — prefer `eks_cluster_name` for EKS clusters.",
                    ),
                ],
                ..Default::default()
            },
        )
    }
}

/// Exactly one way to reach the cluster, each attribute error on its own path.
pub(crate) fn check_connection(cluster: &Value, diags: &mut Diagnostics) {
    let path = |name: &str| AttributePath::root(CLUSTER).attr(name);
    if cluster.is_null() {
        diags.attribute_error(
            AttributePath::root(CLUSTER),
            "Missing cluster connection",
            "Add a cluster block with eks_cluster_name, or with endpoint, cluster_ca_certificate and token.",
        );
        return;
    }
    if cluster.is_unknown() {
        return;
    }
    // An unknown value counts as given: it will be known at apply.
    let given = |name: &str| !cluster.attr(name).is_null();
    let eks = given(EKS_CLUSTER_NAME);
    let explicit: Vec<&str> = EXPLICIT.into_iter().filter(|n| given(n)).collect();
    if eks {
        for name in &explicit {
            diags.attribute_error(
                path(name),
                "Conflicting cluster connection",
                format!("cluster.{name} cannot be combined with cluster.eks_cluster_name: connect either to an EKS cluster by name, or with endpoint, cluster_ca_certificate and token."),
            );
        }
    } else if explicit.is_empty() {
        diags.attribute_error(
            AttributePath::root(CLUSTER),
            "Missing cluster connection",
            "The cluster block must set eks_cluster_name, or endpoint, cluster_ca_certificate and token.",
        );
    } else {
        for name in EXPLICIT.into_iter().filter(|n| !given(n)) {
            diags.attribute_error(
                path(name),
                "Incomplete cluster connection",
                format!("cluster.{name} is required with cluster.{}: an explicit connection needs endpoint, cluster_ca_certificate and token.", explicit[0]),
            );
        }
    }
    if !eks && given(REGION) {
        diags.attribute_error(
            path(REGION),
            "Region without an EKS cluster",
            "cluster.region applies to cluster.eks_cluster_name only; an explicit endpoint needs no region.",
        );
    }
    if let Some(endpoint) = cluster.attr(ENDPOINT).as_str()
        && let Some(reason) = kube_connection::endpoint_problem(endpoint)
    {
        diags.attribute_error(
            path(ENDPOINT),
            "Invalid cluster endpoint",
            format!("cluster.endpoint is {endpoint:?}: {reason}."),
        );
    }
    if let Some(ca) = cluster.attr(CA).as_str()
        && let Err(e) = kube_connection::parse_ca(ca)
    {
        diags.attribute_error(
            path(CA),
            "Invalid cluster CA certificate",
            format!("cluster.cluster_ca_certificate: {e}."),
        );
    }
}

/// The connection a (planned or prior) state's `cluster` block describes.
pub(crate) fn connection_from(cluster: &Value, diags: &mut Diagnostics) -> Option<Connection> {
    if let Some(name) = opt_str(cluster.attr(EKS_CLUSTER_NAME)) {
        return Some(Connection::Eks {
            cluster: name,
            region: opt_str(cluster.attr(REGION)),
        });
    }
    let explicit = (
        opt_str(cluster.attr(ENDPOINT)),
        opt_str(cluster.attr(CA)),
        opt_str(cluster.attr(TOKEN)),
    );
    if let (Some(endpoint), Some(ca_pem), Some(token)) = explicit {
        return Some(Connection::Explicit {
            endpoint,
            ca_pem,
            token: SecretString::from(token),
        });
    }
    diags.attribute_error(
        AttributePath::root(CLUSTER),
        "Incomplete cluster connection",
        "The cluster block names neither an EKS cluster nor an endpoint with its CA certificate and token (or they are not known yet).",
    );
    None
}

/// Pushes the `cluster` attributes whose change means another cluster (name, endpoint,
/// region — a left-out region is the provider's) onto `requires_replace`.
pub(crate) fn replace_on_other_cluster(
    ctx: &Context<ProviderData>,
    prior: &Value,
    planned: &Value,
    requires_replace: &mut Vec<AttributePath>,
) {
    let (was, now) = (prior.attr(CLUSTER), planned.attr(CLUSTER));
    let cluster_path = |name: &str| AttributePath::root(CLUSTER).attr(name);
    for name in [EKS_CLUSTER_NAME, ENDPOINT] {
        if !semantically_equal(was.attr(name), now.attr(name)) {
            requires_replace.push(cluster_path(name));
        }
    }
    if !now.attr(EKS_CLUSTER_NAME).is_null() {
        let aws = &ctx.data.aws;
        let region = |v: &Value| match v {
            Value::Null => Some(aws.default_region().to_owned()),
            other => other.as_str().map(str::to_owned),
        };
        let (old, new) = (region(was.attr(REGION)), region(now.attr(REGION)));
        if new.is_none() || old != new {
            requires_replace.push(cluster_path(REGION));
        }
    }
}

/// Reports an error of a Kubernetes-backed resource: at the attribute it names, else on
/// the resource as a whole.
pub fn report_at(
    attribute: Option<&[&str]>,
    summary: &str,
    message: String,
    diags: &mut Diagnostics,
) {
    match attribute {
        Some([first, rest @ ..]) => {
            let path = rest
                .iter()
                .fold(AttributePath::root(first), |path, step| path.attr(step));
            diags.attribute_error(path, summary, message);
        }
        _ => diags.error(summary, message),
    }
}

/// Runs `work` until it ends or Terraform asks the provider to stop (`interrupted`).
pub async fn until_stopped<T, E>(
    ctx: &Context<ProviderData>,
    work: impl std::future::Future<Output = Result<T, E>>,
    interrupted: impl FnOnce() -> E,
) -> Result<T, E> {
    tokio::select! {
        result = work => result,
        () = ctx.stop.stopped() => Err(interrupted()),
    }
}
