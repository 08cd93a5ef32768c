//! Leader election with a `coordination.k8s.io/v1` Lease, like client-go's leaderelection:
//! acquire when the lease is free or expired, renew every `renew_every`, and step down when
//! a renewal fails past the lease duration.
//!
//! Every write carries the resourceVersion that was read, so of two replicas racing for
//! the same lease exactly one wins; the other gets a 409 and follows.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};

use crate::Error;

#[derive(Clone, Debug)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (pod name, or host name + pid).
    pub identity: String,
    pub duration: Duration,
    pub renew_every: Duration,
}

/// One replica's view of the election.
pub struct Elector {
    pub config: LeaseConfig,
    /// When this replica last wrote the lease as its holder (local clock).
    renewed_at: Option<tokio::time::Instant>,
}

impl Elector {
    pub fn new(config: LeaseConfig) -> Self {
        Self {
            config,
            renewed_at: None,
        }
    }

    /// Whether this replica may act as leader now: it renewed the lease less than one
    /// lease duration ago. A leader whose renewals fail steps down when this turns false,
    /// which is when another replica may take over.
    pub fn is_leader(&self) -> bool {
        self.renewed_at
            .is_some_and(|at| at.elapsed() < self.config.duration)
    }

    /// Tries once to acquire or renew the lease. Returns whether this replica leads now,
    /// and the current holder's identity.
    pub async fn try_acquire_or_renew(
        &mut self,
        cluster: &crate::Cluster,
    ) -> Result<(bool, Option<String>), Error> {
        let api = self.api(cluster);
        let me = self.config.identity.clone();
        let started = tokio::time::Instant::now();
        let now = Timestamp::now();
        let current = api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error("reading", e))?;
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(self.held_spec(now, now, 0)),
            };
            return match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(self.leading(started)),
                Err(kube::Error::Api(status)) if status.code == 409 => self.lost(&api).await,
                Err(e) => Err(self.error("creating", e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let new_spec = if holder.as_deref() == Some(me.as_str()) {
            let acquired = spec.acquire_time.map_or(now, |t| t.0);
            self.held_spec(acquired, now, spec.lease_transitions.unwrap_or(0))
        } else if holder.is_none() || expired(&spec, now) {
            tracing::info!(lease = self.config.name, previous = ?holder, "taking over the lease");
            self.held_spec(now, now, spec.lease_transitions.unwrap_or(0) + 1)
        } else {
            self.renewed_at = None;
            return Ok((false, holder));
        };
        lease.spec = Some(new_spec);
        // `replace` sends the resourceVersion read above: a concurrent writer makes it 409.
        match api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(self.leading(started)),
            Err(kube::Error::Api(status)) if status.code == 409 => self.lost(&api).await,
            Err(e) => Err(self.error("writing", e)),
        }
    }

    /// Releases the lease on shutdown so another replica takes over at once.
    pub async fn release(&mut self, cluster: &crate::Cluster) -> Result<(), Error> {
        let api = self.api(cluster);
        self.renewed_at = None;
        let Some(mut lease) = api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error("reading", e))?
        else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        // As client-go: no holder, a one-second duration, renewed now.
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lease.spec = Some(spec);
        match api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                tracing::info!(lease = self.config.name, "released the lease");
                Ok(())
            }
            // Someone else already wrote it: nothing of ours to release.
            Err(kube::Error::Api(status)) if matches!(status.code, 404 | 409) => Ok(()),
            Err(e) => Err(self.error("releasing", e)),
        }
    }

    fn api(&self, cluster: &crate::Cluster) -> Api<Lease> {
        Api::namespaced(cluster.client.clone(), &self.config.namespace)
    }

    fn held_spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(seconds(self.config.duration)),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    /// The validity of a renewal counts from before the request was sent, never from its
    /// answer: the lease may be seen by others as expiring that much earlier.
    fn leading(&mut self, started: tokio::time::Instant) -> (bool, Option<String>) {
        self.renewed_at = Some(started);
        (true, Some(self.config.identity.clone()))
    }

    /// Another replica wrote the lease first: follow it.
    async fn lost(&mut self, api: &Api<Lease>) -> Result<(bool, Option<String>), Error> {
        self.renewed_at = None;
        let holder = api
            .get_opt(&self.config.name)
            .await
            .ok()
            .flatten()
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity)
            .filter(|h| !h.is_empty());
        Ok((false, holder))
    }

    fn error(&self, doing: &str, source: kube::Error) -> Error {
        Error::kube(
            format!(
                "{doing} lease {}/{}",
                self.config.namespace, self.config.name
            ),
            source,
        )
    }
}

/// Whether the holder let the lease run out: its last renewal plus its duration is past.
fn expired(spec: &LeaseSpec, now: Timestamp) -> bool {
    let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let duration = SignedDuration::from_secs(spec.lease_duration_seconds.unwrap_or(0).into());
    renewed
        .0
        .checked_add(duration)
        .is_ok_and(|until| until < now)
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs().max(1)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(renewed_secs_ago: i64, duration: i32) -> LeaseSpec {
        let now = Timestamp::now();
        LeaseSpec {
            holder_identity: Some("a".into()),
            lease_duration_seconds: Some(duration),
            renew_time: Some(MicroTime(now - SignedDuration::from_secs(renewed_secs_ago))),
            ..Default::default()
        }
    }

    #[test]
    fn expiry_counts_from_the_last_renewal() {
        let now = Timestamp::now();
        assert!(!expired(&spec(5, 15), now));
        assert!(expired(&spec(16, 15), now));
        assert!(expired(&LeaseSpec::default(), now));
    }

    #[test]
    fn sub_second_durations_round_up() {
        assert_eq!(seconds(Duration::from_millis(300)), 1);
        assert_eq!(seconds(Duration::from_secs(15)), 15);
    }
}
