//! The EKS (and IAM) side of a node group: create, read, update and delete, and the
//! waits between them. SDK types stay in this file; the rest of the engine speaks
//! [`NodeGroupSpec`] and [`ObservedNodeGroup`].

use crate::aws::{SdkFailure, sdk_failure};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use aws_sdk_eks::Client as EksClient;
use aws_sdk_eks::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupUpdateConfig, Update,
    UpdateLabelsPayload, UpdateStatus, UpdateTaintsPayload,
};
use aws_sdk_iam::Client as IamClient;
use tracing::info;

use super::spec::{self, NODE_ROLE_POLICIES, NODE_ROLE_PRINCIPAL};
use super::wait::{
    CONSISTENCY_WINDOW, Deadline, in_use, not_found, polling, retry, role_not_propagated,
};
use super::{
    HealthIssue, NodeGroupError, NodeGroupSpec, NodeGroupState, ObservedNodeGroup, Scaling, Taint,
    Timeouts,
};
use crate::iam_role;

type Result<T> = std::result::Result<T, NodeGroupError>;

/// Creates the node group described by `spec` (and its node role when `spec` names
/// none), then waits for it to become `ACTIVE` within `t.create`.
///
/// `region` picks the partition of the managed policies' ARNs. What exists is written
/// into `state` as soon as it does; a group that ends `CREATE_FAILED` is an error with
/// its health issues, and stays in `state` so [`delete`] removes it.
pub async fn create(
    eks: &EksClient,
    iam: &IamClient,
    spec: &NodeGroupSpec,
    region: &str,
    state: &mut NodeGroupState,
    t: &Timeouts,
) -> Result<ObservedNodeGroup> {
    let deadline = Deadline::after(t.create);
    let object = object(&spec.cluster_name, &spec.name);
    info!(%object, "creating node group");

    let role_arn = match &spec.node_role_arn {
        Some(arn) => arn.clone(),
        None => {
            let name = spec::node_role_name(&spec.cluster_name, &spec.name);
            // Recorded before the call: a role half made (created, a policy not yet
            // attached) is still ours to delete.
            state.created_role_name = Some(name.clone());
            let partition = iam_role::partition_of(region);
            let policies: Vec<String> = NODE_ROLE_POLICIES
                .iter()
                .map(|p| iam_role::managed_policy_arn(partition, p))
                .collect();
            let policies: Vec<&str> = policies.iter().map(String::as_str).collect();
            iam_role::ensure_service_role(iam, &name, NODE_ROLE_PRINCIPAL, &policies, &spec.tags)
                .await?
        }
    };
    state.node_role_arn = Some(role_arn.clone());

    let request = || {
        let mut req = eks
            .create_nodegroup()
            .cluster_name(&spec.cluster_name)
            .nodegroup_name(&spec.name)
            .node_role(&role_arn)
            .set_subnets(Some(spec.subnet_ids.iter().cloned().collect()))
            .set_instance_types(spec.instance_types.clone())
            .capacity_type(CapacityTypes::from(spec.capacity_type.as_str()))
            .set_ami_type(spec.ami_type.as_deref().map(AmiTypes::from))
            .set_disk_size(spec.disk_size)
            .scaling_config(
                NodegroupScalingConfig::builder()
                    .min_size(spec.scaling.min)
                    .max_size(spec.scaling.max)
                    .desired_size(spec.scaling.desired)
                    .build(),
            )
            .update_config(
                NodegroupUpdateConfig::builder()
                    .max_unavailable(spec.max_unavailable)
                    .build(),
            )
            .set_version(spec.kubernetes_version.clone())
            .set_release_version(spec.release_version.clone());
        if !spec.labels.is_empty() {
            req = req.set_labels(Some(hash_map(&spec.labels)));
        }
        if !spec.taints.is_empty() {
            req = req.set_taints(Some(spec.taints.iter().map(sdk_taint).collect()));
        }
        if !spec.tags.is_empty() {
            req = req.set_tags(Some(hash_map(&spec.tags)));
        }
        req
    };
    // A role created moments ago is not assumable by EKS yet: retried, bounded.
    let created = retry(
        deadline.within(CONSISTENCY_WINDOW),
        role_not_propagated,
        || async { request().send().await.map_err(aws_error("create", &object)) },
    )
    .await?;
    state.arn = created
        .nodegroup()
        .and_then(|n| n.nodegroup_arn())
        .map(str::to_owned);

    let observed = wait_active(
        eks,
        &spec.cluster_name,
        &spec.name,
        &deadline,
        Settled::Active,
    )
    .await?;
    state.arn = Some(observed.arn.clone());
    info!(%object, arn = observed.arn, "node group active");
    Ok(observed)
}

/// Observes the node group: `None` when it (or its cluster) does not exist.
pub async fn read(
    eks: &EksClient,
    cluster_name: &str,
    name: &str,
) -> Result<Option<ObservedNodeGroup>> {
    match describe(eks, cluster_name, name).await {
        Ok(observed) => Ok(Some(observed)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Changes the node group from `old` to `new` in place, within `t.update`: scaling,
/// labels, taints and `max_unavailable` in one `UpdateNodegroupConfig`, then the
/// Kubernetes / AMI release version with `UpdateNodegroupVersion`, each waited for
/// (EKS runs one update at a time per node group), then the tags. Returns the group as
/// it is afterwards.
///
/// Attributes that force replacement (subnets, instance types…) are not compared: the
/// plan replaces the group when they change.
pub async fn update(
    eks: &EksClient,
    old: &NodeGroupSpec,
    new: &NodeGroupSpec,
    arn: &str,
    t: &Timeouts,
) -> Result<ObservedNodeGroup> {
    let deadline = Deadline::after(t.update);
    let (cluster, name) = (new.cluster_name.as_str(), new.name.as_str());
    let object = object(cluster, name);

    if let Some(change) = spec::config_update(old, new) {
        info!(%object, ?change, "updating node group config");
        let out = retry(deadline.end(), in_use, || async {
            let mut req = eks
                .update_nodegroup_config()
                .cluster_name(cluster)
                .nodegroup_name(name);
            if let Some(labels) = &change.labels {
                req = req.labels(
                    UpdateLabelsPayload::builder()
                        .set_add_or_update_labels(
                            Some(hash_map(&labels.add_or_update)).filter(|m| !m.is_empty()),
                        )
                        .set_remove_labels(Some(labels.remove.clone()).filter(|r| !r.is_empty()))
                        .build(),
                );
            }
            if let Some(taints) = &change.taints {
                let list = |ts: &[Taint]| Some(ts.iter().map(sdk_taint).collect::<Vec<_>>());
                req = req.taints(
                    UpdateTaintsPayload::builder()
                        .set_add_or_update_taints(
                            list(&taints.add_or_update).filter(|l| !l.is_empty()),
                        )
                        .set_remove_taints(list(&taints.remove).filter(|l| !l.is_empty()))
                        .build(),
                );
            }
            if let Some(s) = change.scaling {
                req = req.scaling_config(
                    NodegroupScalingConfig::builder()
                        .min_size(s.min)
                        .max_size(s.max)
                        .set_desired_size(s.desired)
                        .build(),
                );
            }
            if let Some(n) = change.max_unavailable {
                req =
                    req.update_config(NodegroupUpdateConfig::builder().max_unavailable(n).build());
            }
            req.send()
                .await
                .map_err(aws_error("update the config of", &object))
        })
        .await?;
        wait_update(eks, cluster, name, out.update(), &deadline).await?;
    }

    if let Some(change) = spec::version_update(old, new) {
        info!(%object, ?change, "updating node group version");
        let out = retry(deadline.end(), in_use, || async {
            eks.update_nodegroup_version()
                .cluster_name(cluster)
                .nodegroup_name(name)
                .set_version(change.kubernetes_version.clone())
                .set_release_version(change.release_version.clone())
                .send()
                .await
                .map_err(aws_error("update the version of", &object))
        })
        .await?;
        wait_update(eks, cluster, name, out.update(), &deadline).await?;
    }

    let tags = spec::tag_changes(&old.tags, &new.tags);
    if !tags.add_or_update.is_empty() {
        eks.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(hash_map(&tags.add_or_update)))
            .send()
            .await
            .map_err(aws_error("tag", &object))?;
    }
    if !tags.remove.is_empty() {
        eks.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(tags.remove.clone()))
            .send()
            .await
            .map_err(aws_error("untag", &object))?;
    }

    let observed = describe(eks, cluster, name).await?;
    info!(%object, "node group updated");
    Ok(observed)
}

/// Deletes the node group and waits until it is gone, then deletes the node role when
/// the provider created it (`created_role_name`). A group already gone is fine; a busy
/// group (`ResourceInUseException`: still creating, or mid-update) is retried within
/// `t.delete`.
pub async fn delete(
    eks: &EksClient,
    iam: &IamClient,
    cluster_name: &str,
    name: &str,
    created_role_name: Option<&str>,
    t: &Timeouts,
) -> Result<()> {
    let deadline = Deadline::after(t.delete);
    let object = object(cluster_name, name);
    info!(%object, "deleting node group");
    let deleted = retry(deadline.end(), in_use, || async {
        eks.delete_nodegroup()
            .cluster_name(cluster_name)
            .nodegroup_name(name)
            .send()
            .await
            .map_err(aws_error("delete", &object))
    })
    .await;
    match deleted {
        Ok(_) => wait_gone(eks, cluster_name, name, &deadline).await?,
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    if let Some(role) = created_role_name {
        iam_role::delete_service_role(iam, role).await?;
    }
    info!(%object, "node group deleted");
    Ok(())
}

fn object(cluster_name: &str, name: &str) -> String {
    format!("node group {}", spec::id(cluster_name, name))
}

async fn describe(eks: &EksClient, cluster_name: &str, name: &str) -> Result<ObservedNodeGroup> {
    let object = object(cluster_name, name);
    let out = eks
        .describe_nodegroup()
        .cluster_name(cluster_name)
        .nodegroup_name(name)
        .send()
        .await
        .map_err(aws_error("describe", &object))?;
    let group = out
        .nodegroup()
        .ok_or_else(|| NodeGroupError::UnexpectedResponse {
            operation: "describe",
            object: object.clone(),
            detail: "no nodegroup in the response".into(),
        })?;
    observe(group, cluster_name, name, &object)
}

/// Which statuses end a wait for the group to settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settled {
    /// After a create: only `ACTIVE`; a new group that is `DEGRADED` did not come up
    /// right, and its health issues are the error.
    Active,
    /// After an update: `ACTIVE`, or `DEGRADED` — the update is done and the group
    /// usable; its health issues (say, an instance that failed to launch) are not the
    /// update's doing, and failing here would keep the change from ever being recorded.
    ActiveOrDegraded,
}

/// Polls until the group has settled (see [`Settled`]). `CREATING` and `UPDATING` are
/// waited out; any other status (`CREATE_FAILED`…) is an error carrying the group's
/// health issues. A group not found is blamed on eventual consistency for a while (it
/// may have been created a moment ago), then reported as gone.
async fn wait_active(
    eks: &EksClient,
    cluster_name: &str,
    name: &str,
    deadline: &Deadline,
    settled: Settled,
) -> Result<ObservedNodeGroup> {
    let object = object(cluster_name, name);
    let visible_by = deadline.within(CONSISTENCY_WINDOW);
    let mut backoff = polling();
    let mut last = String::from("not yet visible");
    loop {
        match describe(eks, cluster_name, name).await {
            Ok(group) => match group.status.as_str() {
                "ACTIVE" => return Ok(group),
                "DEGRADED" if settled == Settled::ActiveOrDegraded => return Ok(group),
                "CREATING" | "UPDATING" => last = group.status,
                _ => {
                    return Err(NodeGroupError::Failed {
                        object,
                        status: group.status,
                        issues: group.health_issues,
                    });
                }
            },
            Err(e) if not_found(&e) => {
                if tokio::time::Instant::now() >= visible_by {
                    return Err(NodeGroupError::Vanished { object });
                }
            }
            Err(e) => return Err(e),
        }
        let pause = backoff.step();
        if tokio::time::Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!("{object} to become ACTIVE (last status {last})")));
        }
        tokio::time::sleep(pause).await;
    }
}

/// Waits for an update EKS accepted. An update that comes back finished is checked at
/// once; one in progress is followed with `DescribeUpdate` until it ends. Without an
/// update object (some EKS emulators return none) the group's own status is polled.
/// Either way the group must have settled before the next update may start.
async fn wait_update(
    eks: &EksClient,
    cluster_name: &str,
    name: &str,
    update: Option<&Update>,
    deadline: &Deadline,
) -> Result<()> {
    let object = object(cluster_name, name);
    if let Some(id) = update.and_then(Update::id) {
        let mut status = update.and_then(|u| u.status().cloned());
        let mut errors = update.map(update_errors).unwrap_or_default();
        let mut backoff = polling();
        while matches!(status, Some(UpdateStatus::InProgress) | None) {
            let pause = backoff.step();
            if tokio::time::Instant::now() + pause > deadline.end() {
                return Err(deadline.timeout(format!("update {id} of {object} to finish")));
            }
            tokio::time::sleep(pause).await;
            let out = eks
                .describe_update()
                .name(cluster_name)
                .nodegroup_name(name)
                .update_id(id)
                .send()
                .await
                .map_err(aws_error("describe an update of", &object))?;
            status = out.update().and_then(|u| u.status().cloned());
            errors = out.update().map(update_errors).unwrap_or_default();
        }
        match status {
            Some(UpdateStatus::Successful) => {}
            Some(other) => {
                return Err(NodeGroupError::UpdateFailed {
                    object,
                    update_id: id.to_owned(),
                    status: other.as_str().to_owned(),
                    errors,
                });
            }
            None => unreachable!("the loop above runs until a status is known"),
        }
    }
    wait_active(eks, cluster_name, name, deadline, Settled::ActiveOrDegraded).await?;
    Ok(())
}

fn update_errors(update: &Update) -> Vec<String> {
    update
        .errors()
        .iter()
        .map(|e| {
            let code = e.error_code().map_or("Unknown", |c| c.as_str());
            format!("{code}: {}", e.error_message().unwrap_or_default())
        })
        .collect()
}

/// Polls until the group is gone; `DELETE_FAILED` is an error with its health issues.
async fn wait_gone(
    eks: &EksClient,
    cluster_name: &str,
    name: &str,
    deadline: &Deadline,
) -> Result<()> {
    let object = object(cluster_name, name);
    let mut backoff = polling();
    loop {
        let last = match describe(eks, cluster_name, name).await {
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(e),
            Ok(group) if group.status == "DELETE_FAILED" => {
                return Err(NodeGroupError::Failed {
                    object,
                    status: group.status,
                    issues: group.health_issues,
                });
            }
            Ok(group) => group.status,
        };
        let pause = backoff.step();
        if tokio::time::Instant::now() + pause > deadline.end() {
            return Err(deadline.timeout(format!("{object} to be deleted (last status {last})")));
        }
        tokio::time::sleep(pause).await;
    }
}

/// The engine's view of an SDK node group.
fn observe(
    group: &Nodegroup,
    cluster_name: &str,
    name: &str,
    object: &str,
) -> Result<ObservedNodeGroup> {
    let arn = group
        .nodegroup_arn()
        .ok_or_else(|| NodeGroupError::UnexpectedResponse {
            operation: "describe",
            object: object.to_owned(),
            detail: "no nodegroupArn".into(),
        })?;
    let taints = group
        .taints()
        .iter()
        .filter_map(|t| {
            let effect = t.effect()?.as_str().parse().ok();
            if effect.is_none() {
                tracing::warn!(object, taint = ?t, "ignoring a taint with an unknown effect");
            }
            Some(Taint {
                key: t.key()?.to_owned(),
                value: t.value().filter(|v| !v.is_empty()).map(str::to_owned),
                effect: effect?,
            })
        })
        .collect();
    let max_unavailable = match group.update_config() {
        None => Some(spec::DEFAULT_MAX_UNAVAILABLE),
        Some(u) => u
            .max_unavailable()
            .or(if u.max_unavailable_percentage().is_some() {
                None
            } else {
                Some(spec::DEFAULT_MAX_UNAVAILABLE)
            }),
    };
    Ok(ObservedNodeGroup {
        cluster_name: cluster_name.to_owned(),
        name: name.to_owned(),
        arn: arn.to_owned(),
        status: group
            .status()
            .map_or_else(|| "UNKNOWN".to_owned(), |s| s.as_str().to_owned()),
        subnet_ids: group.subnets().iter().cloned().collect(),
        instance_types: group.instance_types().to_vec(),
        capacity_type: group.capacity_type().map(|c| c.as_str().to_owned()),
        ami_type: group.ami_type().map(|a| a.as_str().to_owned()),
        disk_size: group.disk_size(),
        scaling: group.scaling_config().map(|s| Scaling {
            min: s.min_size().unwrap_or_default(),
            max: s.max_size().unwrap_or_default(),
            desired: s.desired_size().unwrap_or_default(),
        }),
        labels: group
            .labels()
            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        taints,
        max_unavailable,
        kubernetes_version: group.version().map(str::to_owned),
        release_version: group.release_version().map(str::to_owned),
        node_role_arn: group.node_role().map(str::to_owned),
        tags: group
            .tags()
            .map(|t| {
                t.iter()
                    .filter(|(k, _)| !spec::is_aws_tag(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        health_issues: group
            .health()
            .map(|h| {
                h.issues()
                    .iter()
                    .map(|i| HealthIssue {
                        code: i.code().map_or("Unknown", |c| c.as_str()).to_owned(),
                        message: i.message().unwrap_or_default().to_owned(),
                        resource_ids: i.resource_ids().to_vec(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn sdk_taint(t: &Taint) -> aws_sdk_eks::types::Taint {
    aws_sdk_eks::types::Taint::builder()
        .key(&t.key)
        .set_value(t.value.clone())
        .effect(aws_sdk_eks::types::TaintEffect::from(t.effect.as_str()))
        .build()
}

fn hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Maps an SDK error of `operation` on `object` into [`NodeGroupError::Aws`], keeping
/// the AWS error code (which the retry rules look at) and message.
fn aws_error<E, R>(
    operation: &'static str,
    object: &str,
) -> impl FnOnce(SdkError<E, R>) -> NodeGroupError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    let object = object.to_owned();
    move |err| {
        let SdkFailure {
            code,
            message,
            source,
        } = sdk_failure(err);
        NodeGroupError::Aws {
            operation,
            object,
            code,
            message,
            source,
        }
    }
}
