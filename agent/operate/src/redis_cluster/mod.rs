//! Forming and keeping a Redis Cluster (`RedisCluster` with `topology: cluster`) from
//! the pods of the StatefulSet the render made. The pods run `redis-server` with
//! `cluster-enabled yes`, but nobody introduces them to each other: this does.
//!
//! [`operate`] finds the ready pods ([`pods`]) and the password ([`secret`]) through
//! the Kubernetes API, then [`reconcile`] talks to the servers: it reads every node's
//! view ([`conn`], [`nodes`]), decides what state they are in ([`assess`]), and forms
//! a fresh cluster ([`form`], shaped by [`plan`]), adds empty nodes to a formed one
//! ([`join`]), or introduces pods that moved to new IPs again ([`readdress`]). It never
//! removes, resets or reshards anything.

pub mod assess;
pub mod conn;
pub mod form;
pub mod join;
pub mod member;
pub mod nodes;
pub mod plan;
pub mod pods;
pub mod readdress;
pub mod secret;
pub mod wait;

use strata_agent_core::spec::RedisCluster;
use strata_agent_core::spec::redis::RedisTopology;
use strata_agent_core::tier::redis::Redis;

pub use member::{Member, Password};
pub use plan::Shape;

use crate::OperateReport;
use crate::error::Error;
use assess::{Assessment, Observed, assess};
use conn::Node;

/// Operates one `RedisCluster`; messages go into `report` prefixed with
/// `redis <namespace>/<name>`. Sentinel topologies need nothing: Sentinels discover
/// their servers themselves.
pub async fn operate(client: &kube::Client, workload: &RedisCluster, report: &mut OperateReport) {
    if workload.spec.topology != RedisTopology::Cluster {
        return;
    }
    let redis = Redis::new(workload);
    let label = format!("redis {}/{}", redis.namespace, redis.name);
    let shape = Shape {
        masters: workload.spec.masters(),
        replicas_per_master: workload.spec.replicas_per_master(),
    };
    let members = match pods::ready_members(
        client,
        redis.namespace,
        &redis.server_labels(),
        redis.name,
    )
    .await
    {
        Ok(members) => members,
        Err(err) => return report.failures.push(format!("{label}: {err}")),
    };
    // The Secret is only worth reading once there is something to talk to.
    let password = if readiness(&members, shape).is_some() {
        None
    } else {
        match secret::password(client, workload).await {
            Ok(password) => password,
            Err(err) => return report.failures.push(format!("{label}: {err}")),
        }
    };
    report.absorb(&label, reconcile(&members, password.as_ref(), shape).await);
}

/// Brings the servers of `members` (the ready pods, any order) to a cluster of `shape`
/// as far as that can be done without destroying anything. Messages are bare (no
/// workload prefix).
pub async fn reconcile(
    members: &[Member],
    password: Option<&Password>,
    shape: Shape,
) -> OperateReport {
    let mut report = OperateReport::default();
    if let Some(waiting) = readiness(members, shape) {
        report.waiting.push(waiting);
        return report;
    }
    if let Err(err) = reconcile_ready(members, password, shape, &mut report).await {
        report.failures.push(err.to_string());
    }
    report
}

/// `Some(message)` while a pod of the shape is not ready: nothing is done until all are,
/// so a fresh cluster gets its final layout at once.
fn readiness(members: &[Member], shape: Shape) -> Option<String> {
    let pods = shape.pods();
    let mut ready: Vec<u32> = members
        .iter()
        .map(|m| m.ordinal)
        .filter(|&o| o < pods)
        .collect();
    ready.sort_unstable();
    ready.dedup();
    let ready = ready.len() as u32;
    (ready < pods).then(|| format!("{ready} of {pods} pods ready"))
}

async fn reconcile_ready(
    members: &[Member],
    password: Option<&Password>,
    shape: Shape,
    report: &mut OperateReport,
) -> Result<(), Error> {
    let mut members = members.to_vec();
    members.sort_by_key(|m| m.ordinal);
    let mut nodes = Vec::with_capacity(members.len());
    for member in &members {
        nodes.push(Node::connect(member, password).await?);
    }
    let observed = observe(&mut nodes).await?;
    match assess(&observed) {
        Assessment::Fresh => {
            let action = form::form(&mut nodes, shape).await?;
            tracing::info!(%action, "redis cluster formed");
            report.actions.push(action);
        }
        Assessment::Moved { stale } => {
            let action = readdress::readdress(&mut nodes, &stale).await?;
            tracing::info!(%action, "redis nodes re-introduced");
            report.actions.push(action);
        }
        Assessment::Formed { newcomers, idle } => {
            let inside: Vec<usize> = (0..nodes.len())
                .filter(|i| !newcomers.contains(i))
                .collect();
            let masters = nodes[inside[0]].view().await?.masters_with_replicas().len();
            if masters != shape.masters as usize {
                report.failures.push(format!(
                    "the document asks for {} masters but the cluster has {masters}; the agent does not reshard: add or remove masters with `redis-cli --cluster add-node`/`del-node` and `redis-cli --cluster rebalance`",
                    shape.masters
                ));
            }
            // An empty master may be one a human added to reshard into; only while the
            // cluster has the masters the document asks for is it surely a replica.
            if masters >= shape.masters as usize {
                for &node in &idle {
                    let action = join::adopt(&mut nodes, node, &inside).await?;
                    tracing::info!(%action, "redis node made a replica");
                    report.actions.push(action);
                }
            }
            for &newcomer in &newcomers {
                let action = join::join(&mut nodes, newcomer, &inside).await?;
                tracing::info!(%action, "redis node added");
                report.actions.push(action);
            }
        }
        Assessment::Settling(message) => report.waiting.push(message),
        Assessment::Broken(message) => report.failures.push(message),
    }
    Ok(())
}

/// Every node's view of the cluster, in `nodes` order.
async fn observe(nodes: &mut [Node]) -> Result<Vec<Observed>, Error> {
    let mut observed = Vec::with_capacity(nodes.len());
    for node in nodes.iter_mut() {
        observed.push(Observed {
            member: node.member.clone(),
            id: node.id.clone(),
            view: node.view().await?,
            info: node.info().await?,
        });
    }
    Ok(observed)
}
