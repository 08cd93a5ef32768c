//! The EKS side of the cluster: create, read, update and delete, with their waits.

use crate::aws::{SdkFailure, sdk_failure};
use std::collections::{BTreeSet, HashMap};
use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_eks::Client;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types::{
    Cluster, ClusterStatus, EncryptionConfig, KubernetesNetworkConfigRequest, LogSetup, LogType,
    Logging, Provider, Update, UpdateStatus, VpcConfigRequest,
};
use tracing::info;

use super::spec::{LOG_TYPES, UpdateStep, is_aws_tag, role_name_for, tag_changes, update_steps};
use super::wait::{Deadline, Poll, poll_until, retry};
use super::{
    CLUSTER_ROLE_POLICIES, ClusterSpec, ClusterState, EKS_SERVICE_PRINCIPAL, EksClusterError,
    ObservedCluster, Timeouts,
};
use crate::iam_role::{self, IamRoleError};
use tokio::time::Instant;

/// How long `InvalidParameterException`s about the role are blamed on IAM propagation
/// (the AWS provider uses the same two minutes).
const ROLE_PROPAGATION_WINDOW: Duration = Duration::from_secs(120);
/// How long a cluster just created may be invisible to DescribeCluster.
const CONSISTENCY_WINDOW: Duration = Duration::from_secs(60);

type Result<T> = std::result::Result<T, EksClusterError>;

fn aws_error<E, R>(
    operation: &'static str,
    object: impl Into<String>,
) -> impl FnOnce(SdkError<E, R>) -> EksClusterError
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
        EksClusterError::Aws {
            operation,
            object,
            code,
            message,
            source,
        }
    }
}

fn object(name: &str) -> String {
    format!("eks cluster {name}")
}

/// Creates the cluster of `spec` (and its role when `spec.role_arn` is `None`) and waits
/// until it is `ACTIVE`, all within `t.create`.
///
/// `state` records the role the moment it exists and the cluster the moment EKS
/// accepts it; on error the caller saves it so nothing is orphaned. A cluster that goes
/// `FAILED` is [`EksClusterError::ClusterFailed`] with EKS's health issues.
pub async fn create(
    eks: &Client,
    iam: &aws_sdk_iam::Client,
    spec: &ClusterSpec,
    region: &str,
    state: &mut ClusterState,
    t: &Timeouts,
) -> Result<ObservedCluster> {
    let deadline = Deadline::after(t.create);
    let role_arn = match &spec.role_arn {
        Some(arn) => arn.clone(),
        None => {
            let role = role_name_for(&spec.name);
            let partition = iam_role::partition_of(region);
            let policies: Vec<String> = CLUSTER_ROLE_POLICIES
                .iter()
                .map(|p| iam_role::managed_policy_arn(partition, p))
                .collect();
            let policies: Vec<&str> = policies.iter().map(String::as_str).collect();
            // Role names are global, cluster names regional: the owner tag keeps a
            // same-named cluster in another region from adopting (and later deleting)
            // this one's role.
            let mut tags = spec.tags.clone();
            tags.insert(iam_role::OWNER.into(), role_owner(region, &spec.name));
            info!(role, "creating the cluster's iam role");
            let made =
                iam_role::ensure_service_role(iam, &role, EKS_SERVICE_PRINCIPAL, &policies, &tags)
                    .await;
            // Recorded even when a later step of ensure_service_role failed: the role may
            // exist, and deleting one that does not is harmless. A role that is not ours
            // is never recorded, so it can never be deleted by us.
            if !made.as_ref().is_err_and(IamRoleError::is_not_ours) {
                state.created_role_name = Some(role);
            }
            made?
        }
    };
    state.role_arn = Some(role_arn.clone());

    info!(name = spec.name, version = ?spec.kubernetes_version, "creating eks cluster");
    retry(
        deadline.within(ROLE_PROPAGATION_WINDOW),
        |e: &EksClusterError| match e {
            EksClusterError::Aws { code, message, .. } => {
                iam_role::is_role_propagation_error(code.as_deref(), message)
            }
            _ => false,
        },
        || create_request(eks, spec, &role_arn),
    )
    .await?;
    state.cluster_requested = true;

    let observed = wait_active(eks, &spec.name, deadline, Some(state)).await?;
    info!(name = spec.name, arn = ?observed.arn, "eks cluster active");
    Ok(observed)
}

/// The [`iam_role::OWNER`] tag of the role made for cluster `name` in `region`.
fn role_owner(region: &str, name: &str) -> String {
    format!("eks-cluster/{region}/{name}")
}

async fn create_request(eks: &Client, spec: &ClusterSpec, role_arn: &str) -> Result<()> {
    let mut vpc = VpcConfigRequest::builder()
        .set_subnet_ids(Some(spec.subnet_ids.iter().cloned().collect()))
        .endpoint_public_access(spec.endpoint_public_access)
        .endpoint_private_access(spec.endpoint_private_access);
    if !spec.security_group_ids.is_empty() {
        vpc = vpc.set_security_group_ids(Some(spec.security_group_ids.iter().cloned().collect()));
    }
    if let Some(cidrs) = &spec.public_access_cidrs {
        vpc = vpc.set_public_access_cidrs(Some(cidrs.iter().cloned().collect()));
    }
    let mut req = eks
        .create_cluster()
        .name(&spec.name)
        .role_arn(role_arn)
        .resources_vpc_config(vpc.build())
        .logging(logging(&spec.enabled_log_types))
        .set_version(spec.kubernetes_version.clone());
    if let Some(cidr) = &spec.service_ipv4_cidr {
        req = req.kubernetes_network_config(
            KubernetesNetworkConfigRequest::builder()
                .service_ipv4_cidr(cidr)
                .build(),
        );
    }
    if let Some(key) = &spec.encryption_kms_key_arn {
        req = req.encryption_config(
            // `resources` is deprecated (EKS now encrypts all API data with the key), but
            // the API still documents `secrets` as the value to send; older regions and
            // API versions require it.
            #[allow(deprecated)]
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(Provider::builder().key_arn(key).build())
                .build(),
        );
    }
    if !spec.tags.is_empty() {
        let tags: HashMap<String, String> = spec
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        req = req.set_tags(Some(tags));
    }
    req.send()
        .await
        .map_err(aws_error("create", object(&spec.name)))?;
    Ok(())
}

/// `enabled` on, every other known type explicitly off: the result does not depend on
/// what was on before (or was switched on out of band).
fn logging(enabled: &BTreeSet<String>) -> Logging {
    let on: Vec<LogType> = enabled.iter().map(|t| LogType::from(t.as_str())).collect();
    let off: Vec<LogType> = LOG_TYPES
        .iter()
        .filter(|t| !enabled.contains(**t))
        .map(|t| LogType::from(*t))
        .collect();
    let mut setups = Vec::new();
    for (types, on) in [(on, true), (off, false)] {
        if !types.is_empty() {
            setups.push(
                LogSetup::builder()
                    .set_types(Some(types))
                    .enabled(on)
                    .build(),
            );
        }
    }
    Logging::builder().set_cluster_logging(Some(setups)).build()
}

/// Describes the cluster `name`: `None` when it does not exist.
pub async fn read(eks: &Client, name: &str) -> Result<Option<ObservedCluster>> {
    match describe(eks, name).await {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn describe(eks: &Client, name: &str) -> Result<ObservedCluster> {
    let out = eks
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(aws_error("describe", object(name)))?;
    let cluster = out
        .cluster()
        .ok_or_else(|| EksClusterError::UnexpectedResponse {
            operation: "describe",
            object: object(name),
            detail: "no cluster".into(),
        })?;
    Ok(observe(name, cluster))
}

fn observe(name: &str, c: &Cluster) -> ObservedCluster {
    let set = |items: &[String]| items.iter().cloned().collect::<BTreeSet<_>>();
    let vpc = c.resources_vpc_config();
    let enabled_log_types = c
        .logging()
        .map(|l| {
            l.cluster_logging()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(|t| t.as_str().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let encryption_kms_key_arn = c
        .encryption_config()
        .iter()
        // EKS allows one encryption config per cluster.
        .find_map(|e| e.provider()?.key_arn())
        .map(str::to_owned);
    let health_issues = c
        .health()
        .map(|h| {
            h.issues()
                .iter()
                .map(|i| {
                    let code = i.code().map(|c| c.as_str()).unwrap_or("Unknown");
                    let mut line = format!("{code}: {}", i.message().unwrap_or("(no message)"));
                    if !i.resource_ids().is_empty() {
                        line.push_str(&format!(" ({})", i.resource_ids().join(", ")));
                    }
                    line
                })
                .collect()
        })
        .unwrap_or_default();
    ObservedCluster {
        name: c.name().unwrap_or(name).to_owned(),
        arn: c.arn().map(str::to_owned),
        kubernetes_version: c.version().map(str::to_owned),
        role_arn: c.role_arn().map(str::to_owned),
        subnet_ids: vpc.map(|v| set(v.subnet_ids())).unwrap_or_default(),
        security_group_ids: vpc.map(|v| set(v.security_group_ids())).unwrap_or_default(),
        endpoint_public_access: vpc.is_some_and(|v| v.endpoint_public_access()),
        endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
        public_access_cidrs: vpc
            .map(|v| set(v.public_access_cidrs()))
            .unwrap_or_default(),
        service_ipv4_cidr: c
            .kubernetes_network_config()
            .and_then(|k| k.service_ipv4_cidr())
            .map(str::to_owned),
        enabled_log_types,
        encryption_kms_key_arn,
        tags: c
            .tags()
            .map(|t| {
                t.iter()
                    .filter(|(k, _)| !is_aws_tag(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        endpoint: c.endpoint().map(str::to_owned),
        certificate_authority_data: c
            .certificate_authority()
            .and_then(|a| a.data())
            .map(str::to_owned),
        oidc_issuer_url: c
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .map(str::to_owned),
        platform_version: c.platform_version().map(str::to_owned),
        status: c
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        cluster_security_group_id: vpc
            .and_then(|v| v.cluster_security_group_id())
            .map(str::to_owned),
        health_issues,
    }
}

/// Polls DescribeCluster until `ACTIVE`. `FAILED` (with its health issues) and
/// `DELETING` end the wait with an error. With `state` (during create) every
/// description seen is recorded in it, and a cluster not found yet is blamed on
/// eventual consistency for [`CONSISTENCY_WINDOW`].
async fn wait_active(
    eks: &Client,
    name: &str,
    deadline: Deadline,
    mut state: Option<&mut ClusterState>,
) -> Result<ObservedCluster> {
    let not_found_until = deadline.within(CONSISTENCY_WINDOW);
    let mut backoff = super::wait::polling();
    loop {
        let waiting_for = match describe(eks, name).await {
            Err(e) if e.is_not_found() && Instant::now() < not_found_until => {
                format!("{} to become visible", object(name))
            }
            Err(e) => return Err(e),
            Ok(c) => {
                if let Some(state) = state.as_deref_mut() {
                    state.last_seen = Some(c.clone());
                }
                match ClusterStatus::from(c.status.as_str()) {
                    ClusterStatus::Active => return Ok(c),
                    ClusterStatus::Failed => {
                        return Err(EksClusterError::ClusterFailed {
                            name: name.to_owned(),
                            issues: if c.health_issues.is_empty() {
                                "EKS reported no health issues; see the cluster in the AWS console"
                                    .into()
                            } else {
                                c.health_issues.join("; ")
                            },
                        });
                    }
                    ClusterStatus::Deleting => {
                        return Err(EksClusterError::UnexpectedStatus {
                            name: name.to_owned(),
                            status: c.status,
                            wanted: "ACTIVE",
                        });
                    }
                    _ => format!("{} to become ACTIVE (now {})", object(name), c.status),
                }
            }
        };
        let pause = backoff.step();
        if Instant::now() + pause > deadline.end() {
            return Err(EksClusterError::Timeout {
                what: waiting_for,
                waited: deadline.budget(),
            });
        }
        tracing::debug!(waiting_for, ?pause, "waiting");
        tokio::time::sleep(pause).await;
    }
}

/// Changes the cluster from `old` to `new` in place, within `t.update`: tags first
/// (TagResource/UntagResource, no wait), then each [`update_steps`] step, one at a time
/// (EKS allows one update in flight), each waited for until it succeeded. Returns the
/// cluster as it is afterwards.
pub async fn update(
    eks: &Client,
    old: &ClusterSpec,
    new: &ClusterSpec,
    t: &Timeouts,
) -> Result<ObservedCluster> {
    let deadline = Deadline::after(t.update);
    let name = &new.name;
    let mut current = wait_active(eks, name, deadline, None).await?;

    let (set, remove) = tag_changes(&old.tags, &new.tags);
    if !set.is_empty() || !remove.is_empty() {
        let arn = current
            .arn
            .clone()
            .ok_or_else(|| EksClusterError::UnexpectedResponse {
                operation: "describe",
                object: object(name),
                detail: "no arn".into(),
            })?;
        if !remove.is_empty() {
            eks.untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(aws_error("untag", object(name)))?;
        }
        if !set.is_empty() {
            eks.tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(set.into_iter().collect()))
                .send()
                .await
                .map_err(aws_error("tag", object(name)))?;
        }
    }

    for step in update_steps(old, new) {
        info!(name, step = step.describe(), "updating eks cluster");
        let update = start_update(eks, name, &step, deadline).await?;
        match update.as_ref().and_then(|u| u.id()) {
            Some(id) => wait_update(eks, name, id, &step, deadline).await?,
            // Without an update to follow, the cluster's status is what says it is done.
            None => {
                current = wait_active(eks, name, deadline, None).await?;
            }
        }
        info!(name, step = step.describe(), "eks cluster updated");
    }
    current = match describe(eks, name).await {
        Ok(c) => c,
        Err(_) => current,
    };
    Ok(current)
}

/// Sends one step. `ResourceInUseException` (another update still in flight, e.g. one
/// started outside Terraform) is retried until the deadline.
async fn start_update(
    eks: &Client,
    name: &str,
    step: &UpdateStep,
    deadline: Deadline,
) -> Result<Option<Update>> {
    retry(
        deadline.end(),
        |e: &EksClusterError| e.code() == Some("ResourceInUseException"),
        || async {
            match step {
                UpdateStep::Version { to } => eks
                    .update_cluster_version()
                    .name(name)
                    .version(to)
                    .send()
                    .await
                    .map(|o| o.update)
                    .map_err(aws_error("upgrade", object(name))),
                UpdateStep::Logging { enabled } => eks
                    .update_cluster_config()
                    .name(name)
                    .logging(logging(enabled))
                    .send()
                    .await
                    .map(|o| o.update)
                    .map_err(aws_error("update logging of", object(name))),
                UpdateStep::EndpointAccess {
                    public,
                    private,
                    public_access_cidrs,
                } => {
                    let vpc = VpcConfigRequest::builder()
                        .endpoint_public_access(*public)
                        .endpoint_private_access(*private)
                        .set_public_access_cidrs(
                            public_access_cidrs
                                .as_ref()
                                .map(|c| c.iter().cloned().collect()),
                        )
                        .build();
                    eks.update_cluster_config()
                        .name(name)
                        .resources_vpc_config(vpc)
                        .send()
                        .await
                        .map(|o| o.update)
                        .map_err(aws_error("update endpoint access of", object(name)))
                }
            }
        },
    )
    .await
}

/// Polls DescribeUpdate until the update is `Successful`.
async fn wait_update(
    eks: &Client,
    name: &str,
    update_id: &str,
    step: &UpdateStep,
    deadline: Deadline,
) -> Result<()> {
    poll_until(
        deadline.end(),
        || async move {
            let out = eks
                .describe_update()
                .name(name)
                .update_id(update_id)
                .send()
                .await
                .map_err(aws_error("describe update of", object(name)))?;
            let status = out.update().and_then(|u| u.status()).cloned();
            match status {
                Some(UpdateStatus::Successful) => Ok(Poll::Done(())),
                Some(UpdateStatus::Failed | UpdateStatus::Cancelled) => {
                    let errors = out
                        .update()
                        .map(|u| {
                            u.errors()
                                .iter()
                                .map(|e| {
                                    format!(
                                        "{}: {}",
                                        e.error_code().map(|c| c.as_str()).unwrap_or("Unknown"),
                                        e.error_message().unwrap_or("(no message)")
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("; ")
                        })
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "EKS gave no error details".into());
                    Err(EksClusterError::UpdateFailed {
                        name: name.to_owned(),
                        what: step.describe(),
                        update_id: update_id.to_owned(),
                        status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                        errors,
                    })
                }
                other => Ok(Poll::Pending(format!(
                    "{} of {} (update {update_id}, now {}) to succeed",
                    step.describe(),
                    object(name),
                    other.as_ref().map(|s| s.as_str()).unwrap_or("unknown")
                ))),
            }
        },
        |what| EksClusterError::Timeout {
            what,
            waited: deadline.budget(),
        },
    )
    .await
}

/// Deletes the cluster `name` and waits until EKS no longer knows it, then deletes
/// `created_role` (the role the provider made for it), all within `t.delete`. A cluster
/// or role already gone is success.
pub async fn delete(
    eks: &Client,
    iam: &aws_sdk_iam::Client,
    name: &str,
    created_role: Option<&str>,
    t: &Timeouts,
) -> Result<()> {
    let deadline = Deadline::after(t.delete);
    info!(name, "deleting eks cluster");
    // ResourceInUse: an update (or the creation) is still in flight, or node groups
    // being deleted are still attached. Both pass.
    let sent = retry(
        deadline.end(),
        |e: &EksClusterError| e.code() == Some("ResourceInUseException"),
        || async {
            eks.delete_cluster()
                .name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(aws_error("delete", object(name)))
        },
    )
    .await;
    match sent {
        Err(e) if !e.is_not_found() => return Err(e),
        _ => {}
    }
    poll_until(
        deadline.end(),
        || async {
            match describe(eks, name).await {
                Err(e) if e.is_not_found() => Ok(Poll::Done(())),
                Err(e) => Err(e),
                Ok(c) => Ok(Poll::Pending(format!(
                    "{} to be deleted (now {})",
                    object(name),
                    c.status
                ))),
            }
        },
        |what| EksClusterError::Timeout {
            what,
            waited: deadline.budget(),
        },
    )
    .await?;
    info!(name, "eks cluster deleted");
    if let Some(role) = created_role {
        iam_role::delete_service_role(iam, role).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use aws_sdk_eks::types::{
        ClusterHealth, ClusterIssue, ClusterIssueCode, EncryptionConfig, Provider,
        VpcConfigResponse,
    };

    use super::*;

    fn failed_cluster() -> Cluster {
        Cluster::builder()
            .name("prod")
            .arn("arn:aws:eks:us-west-2:123456789012:cluster/prod")
            .version("1.31")
            .status(ClusterStatus::Failed)
            .resources_vpc_config(
                VpcConfigResponse::builder()
                    .subnet_ids("subnet-1")
                    .subnet_ids("subnet-2")
                    .endpoint_public_access(true)
                    .cluster_security_group_id("sg-1")
                    .build(),
            )
            .logging(logging(&["audit".to_string()].into()))
            .encryption_config(
                EncryptionConfig::builder()
                    .provider(Provider::builder().key_arn("arn:aws:kms:k").build())
                    .build(),
            )
            .tags("team", "data")
            .tags("aws:cloudformation:stack-name", "s")
            .health(
                ClusterHealth::builder()
                    .issues(
                        ClusterIssue::builder()
                            .code(ClusterIssueCode::Ec2SubnetNotFound)
                            .message("subnet-2 does not exist")
                            .resource_ids("subnet-2")
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    #[test]
    fn observing_maps_every_field_and_hides_aws_tags() {
        let o = observe("prod", &failed_cluster());
        assert_eq!(o.kubernetes_version.as_deref(), Some("1.31"));
        assert_eq!(o.subnet_ids.len(), 2);
        assert!(o.endpoint_public_access && !o.endpoint_private_access);
        assert_eq!(o.cluster_security_group_id.as_deref(), Some("sg-1"));
        assert_eq!(o.enabled_log_types, ["audit".to_string()].into());
        assert_eq!(o.encryption_kms_key_arn.as_deref(), Some("arn:aws:kms:k"));
        assert_eq!(o.tags.keys().collect::<Vec<_>>(), ["team"]);
        assert_eq!(o.status, "FAILED");
        // What a FAILED cluster's diagnostic carries.
        assert_eq!(
            o.health_issues,
            ["Ec2SubnetNotFound: subnet-2 does not exist (subnet-2)"]
        );
    }

    #[test]
    fn logging_turns_the_rest_off_explicitly() {
        let l = logging(&["api".to_string(), "audit".to_string()].into());
        let setups = l.cluster_logging();
        assert_eq!(setups.len(), 2);
        assert_eq!(setups[0].enabled(), Some(true));
        assert_eq!(setups[0].types(), [LogType::Api, LogType::Audit]);
        assert_eq!(setups[1].enabled(), Some(false));
        assert_eq!(
            setups[1].types(),
            [
                LogType::Authenticator,
                LogType::ControllerManager,
                LogType::Scheduler
            ]
        );
        // All off: one setup, disabling everything.
        let l = logging(&BTreeSet::new());
        assert_eq!(l.cluster_logging().len(), 1);
        assert_eq!(l.cluster_logging()[0].enabled(), Some(false));
        assert_eq!(l.cluster_logging()[0].types().len(), LOG_TYPES.len());
    }
}
