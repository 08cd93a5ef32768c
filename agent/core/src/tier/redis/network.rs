//! NetworkPolicy `<name>` over every pod of the workload (servers, Sentinels, backup
//! jobs): clients from `spec.network.allowedSources` (default: the workload's own
//! namespace) on 6379 and 26379; the cluster bus, replication and Sentinel traffic only
//! among the workload's own pods; metrics from the monitoring namespace. Egress is left
//! open (DNS, S3).

use k8s_openapi::api::networking::v1::NetworkPolicy;

use super::{BUS_PORT, EXPORTER_PORT, REDIS_PORT, Redis, SENTINEL_EXPORTER_PORT, SENTINEL_PORT};
use crate::render::build;

pub fn render(redis: &Redis) -> NetworkPolicy {
    let spec = redis.spec;
    let sentinels = spec.sentinel().is_some();
    let mut client_ports = vec![REDIS_PORT];
    if sentinels {
        client_ports.push(SENTINEL_PORT);
    }
    let sources = if spec.network.allowed_sources.is_empty() {
        vec![build::namespace_peer(redis.namespace)]
    } else {
        spec.network
            .allowed_sources
            .iter()
            .map(build::network_peer)
            .collect()
    };
    let mut own_ports = client_ports.clone();
    if redis.is_cluster() {
        own_ports.push(BUS_PORT);
    }
    let mut rules = vec![
        build::ingress(sources, &client_ports),
        build::ingress(vec![build::pod_peer(&redis.own_pods())], &own_ports),
    ];
    if spec.monitoring.enabled && redis.exporter() {
        let mut metrics = vec![EXPORTER_PORT];
        if sentinels {
            metrics.push(SENTINEL_EXPORTER_PORT);
        }
        rules.push(build::ingress(
            vec![build::namespace_peer(&spec.monitoring.namespace)],
            &metrics,
        ));
    }
    build::network_policy(redis.name, redis.namespace, &redis.own_pods(), rules, None)
}
