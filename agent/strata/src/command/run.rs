//! `strata-agent run`: keep a cluster converged to the config repo. Passes run on an
//! interval, at once on a push webhook, sooner while something is waiting, with backoff
//! after transient errors. Only the replica holding the Lease applies; every replica
//! serves the status API.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use strata_agent_cluster::Cluster;
use strata_agent_cluster::apply::ApplyOptions;
use strata_agent_cluster::connect::connect;
use strata_agent_cluster::inventory::InventoryRef;
use strata_agent_cluster::lease::{Elector, LeaseConfig};
use tokio::sync::watch;

use crate::input::{ConfigSource, SourceArgs};
use crate::reconcile::{Reconciler, Settings};
use crate::report::Status as ExitStatus;
use crate::serve::{AgentState, WebhookSecret, serve};
use crate::status::{LeaderStatus, Outcome, SourceStatus, Status};

/// Which cluster to talk to.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Cluster connection")]
pub struct KubeArgs {
    /// Kubeconfig file [default: $KUBECONFIG, ~/.kube/config, else the in-cluster
    /// service account]
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Context of the kubeconfig to use [default: its current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the agent's own objects (inventory, lease)
    #[arg(long, env = "POD_NAMESPACE", default_value = "strata-system")]
    pub namespace: String,
    /// Name of the inventory ConfigMap
    #[arg(long, value_name = "NAME", default_value = "strata-agent-inventory")]
    pub inventory: String,
}

impl KubeArgs {
    pub async fn connect(&self) -> anyhow::Result<Cluster> {
        connect(self.kubeconfig.as_deref(), self.context.as_deref())
            .await
            .context("cannot connect to the cluster")
    }

    pub fn inventory(&self) -> InventoryRef {
        InventoryRef {
            namespace: self.namespace.clone(),
            name: self.inventory.clone(),
        }
    }
}

/// Keep a cluster converged to a config repo
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The cluster to render for (a Cluster document's name); required when the repo
    /// declares more than one
    #[arg(long, value_name = "NAME", env = "STRATA_CLUSTER")]
    pub cluster: Option<String>,
    /// Address of the status API (/healthz, /readyz, /status, /metrics, /hooks/git)
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Time between passes when nothing triggers one sooner
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// File holding the push webhook's secret (GitHub HMAC secret or GitLab token);
    /// without it the webhook is disabled
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Take fields other field managers own (default: report such conflicts)
    #[arg(long)]
    pub force_conflicts: bool,
    /// Run one pass and exit: 0 when it ended ready, 1 otherwise
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub election: ElectionArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    // Last: its options end under their own help heading.
    #[command(flatten)]
    pub source: SourceArgs,
}

#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Leader election")]
pub struct ElectionArgs {
    /// This replica's identity in the Lease [default: $POD_NAME, else host name and pid]
    #[arg(long, value_name = "NAME", env = "POD_NAME")]
    pub identity: Option<String>,
    /// Name of the Lease
    #[arg(long, value_name = "NAME", default_value = "strata-agent")]
    pub lease: String,
    /// How long a leader's lease lasts without renewal
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub lease_duration: Duration,
    /// Apply without a Lease (only when a single replica runs)
    #[arg(long)]
    pub no_leader_election: bool,
}

/// Leadership as the election task last saw it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Leadership {
    leads: bool,
    holder: Option<String>,
}

pub fn run(args: &Args) -> anyhow::Result<ExitStatus> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_agent(args))
}

async fn run_agent(args: &Args) -> anyhow::Result<ExitStatus> {
    let source = ConfigSource::open(&args.source).context("cannot read the config repo")?;
    let secret = args
        .webhook_secret_file
        .as_deref()
        .map(WebhookSecret::from_file)
        .transpose()
        .context("cannot read --webhook-secret-file")?;
    let cluster = args.kube.connect().await?;
    let identity = args
        .election
        .identity
        .clone()
        .unwrap_or_else(default_identity);
    let initial = Status {
        cluster: args.cluster.clone(),
        source: SourceStatus {
            repo: source.location(),
            reference: source.reference(),
            path: source.subdir().map(str::to_owned),
        },
        leader: LeaderStatus {
            identity: identity.clone(),
            ..LeaderStatus::default()
        },
        ..Status::default()
    };
    let state = AgentState::new(initial, secret, liveness_timeout(args.interval));

    let (stop_tx, stop_rx) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!("status API listening on http://{address}");
    eprintln!("strata-agent: status API listening on http://{address}");
    let server = tokio::spawn(serve(listener, state.clone(), stopped(stop_rx.clone())));

    let settings = Settings {
        cluster: args.cluster.clone(),
        inventory: args.kube.inventory(),
        apply: ApplyOptions {
            dry_run: false,
            force: args.force_conflicts,
        },
    };
    let (leader_tx, leader_rx) = watch::channel(Leadership::default());
    let election = if args.election.no_leader_election {
        leader_tx.send_replace(Leadership {
            leads: true,
            holder: Some(identity.clone()),
        });
        None
    } else {
        let config = LeaseConfig {
            namespace: args.kube.namespace.clone(),
            name: args.election.lease.clone(),
            identity: identity.clone(),
            duration: args.election.lease_duration,
            renew_every: args.election.lease_duration / 3,
        };
        let client = Cluster::new(cluster.client.clone());
        Some(tokio::spawn(elect(
            client,
            config,
            leader_tx,
            stop_rx.clone(),
        )))
    };

    let mut reconciler = Reconciler::new(source, cluster, settings);
    let outcome = reconcile_loop(&mut reconciler, &state, args, leader_rx, stop_rx).await;

    let _ = stop_tx.send(true);
    if let Some(election) = election {
        let _ = election.await;
    }
    let _ = server.await;
    Ok(match outcome {
        Some(Outcome::Ready) | None => ExitStatus::Ok,
        Some(_) => ExitStatus::Invalid,
    })
}

/// Runs passes while leading, until a shutdown signal (or after one pass with `--once`).
/// Returns the last pass's outcome.
async fn reconcile_loop(
    reconciler: &mut Reconciler,
    state: &Arc<AgentState>,
    args: &Args,
    mut leader: watch::Receiver<Leadership>,
    mut stop: watch::Receiver<bool>,
) -> Option<Outcome> {
    let mut shutdown = std::pin::pin!(shutdown_signal());
    let mut trigger = "startup";
    let mut backoff = Backoff::new(args.interval);
    let mut last = None;
    if !args.election.no_leader_election {
        // The first election round tells whether this replica leads.
        let _ = tokio::time::timeout(Duration::from_secs(5), leader.changed()).await;
    }
    loop {
        state.heartbeat();
        let leadership = leader.borrow_and_update().clone();
        let delay = if leadership.leads {
            let report = reconciler.pass(trigger).await;
            let mut status = state.status();
            report.update(&mut status);
            set_leader(&mut status, &leadership);
            state.record_pass(&report.pass);
            state.publish(status);
            state.set_ready(true);
            log_pass(&report.pass);
            last = Some(report.pass.outcome);
            if args.once {
                return last;
            }
            backoff.after(report.pass.outcome)
        } else {
            let mut status = state.status();
            set_leader(&mut status, &leadership);
            state.publish(status);
            state.set_ready(true);
            if args.once {
                eprintln!("strata-agent: not the leader; nothing applied");
                return None;
            }
            args.interval
        };
        let deadline = tokio::time::Instant::now() + delay;
        trigger = loop {
            // Wakes at least every few seconds so /healthz sees the loop alive.
            let tick = tokio::time::sleep(HEARTBEAT.min(delay));
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break if delay < args.interval { "retry" } else { "interval" },
                _ = state.sync_requested() => break "webhook",
                changed = leader.changed() => {
                    if changed.is_err() { return last; }
                    break "leadership";
                }
                _ = &mut shutdown => return last,
                _ = stop.changed() => return last,
                _ = tick => state.heartbeat(),
            }
        };
    }
}

const HEARTBEAT: Duration = Duration::from_secs(5);

fn set_leader(status: &mut Status, leadership: &Leadership) {
    status.leader.is_leader = leadership.leads;
    status.leader.holder = leadership.holder.clone();
}

fn log_pass(pass: &crate::status::Pass) {
    let steps: Vec<String> = pass
        .steps
        .iter()
        .map(|s| format!("{} {:?}", s.name, s.outcome).to_lowercase())
        .collect();
    tracing::info!(
        revision = pass.revision.as_deref().unwrap_or("-"),
        trigger = pass.trigger,
        outcome = ?pass.outcome,
        duration_ms = pass.duration_ms,
        applied = pass.objects.applied,
        pruned = pass.objects.pruned,
        failed = pass.objects.failed,
        "pass: {}",
        steps.join(", ")
    );
}

/// Keeps trying to lead; publishes every change of leadership.
async fn elect(
    cluster: Cluster,
    config: LeaseConfig,
    leader: watch::Sender<Leadership>,
    mut stop: watch::Receiver<bool>,
) {
    let renew_every = config.renew_every;
    let duration = config.duration;
    let mut elector = Elector::new(config);
    let mut last_renewal: Option<tokio::time::Instant> = None;
    loop {
        match elector.try_acquire_or_renew(&cluster).await {
            Ok((leads, holder)) => {
                if leads {
                    last_renewal = Some(tokio::time::Instant::now());
                }
                let next = Leadership { leads, holder };
                if *leader.borrow() != next {
                    tracing::info!(leads = next.leads, holder = ?next.holder, "leadership");
                    leader.send_replace(next);
                } else {
                    // Wake the loop's first wait even when nothing changed.
                    leader.send_modify(|_| {});
                }
            }
            Err(error) => {
                tracing::warn!(%error, "lease renewal failed");
                // A leader that cannot renew must stop before another may take over.
                if leader.borrow().leads
                    && last_renewal.is_none_or(|at| at.elapsed() >= duration * 2 / 3)
                {
                    leader.send_replace(Leadership::default());
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(renew_every) => {}
            _ = stop.changed() => break,
        }
    }
    if leader.borrow().leads
        && let Err(error) = elector.release(&cluster).await
    {
        tracing::warn!(%error, "cannot release the lease");
    }
}

/// Delay before the next pass: the interval when converged or stalled, soon while
/// waiting, exponential backoff after transient errors.
struct Backoff {
    interval: Duration,
    transient: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const WAITING: Duration = Duration::from_secs(5);

    fn new(interval: Duration) -> Self {
        Self {
            interval,
            transient: Self::FIRST,
        }
    }

    fn after(&mut self, outcome: Outcome) -> Duration {
        match outcome {
            Outcome::Transient => {
                let delay = self.transient.min(self.interval);
                self.transient = (self.transient * 2).min(self.interval);
                delay
            }
            Outcome::Waiting => {
                self.transient = Self::FIRST;
                Self::WAITING.min(self.interval)
            }
            Outcome::Ready | Outcome::Stalled => {
                self.transient = Self::FIRST;
                self.interval
            }
        }
    }
}

/// /healthz fails when the loop has not been seen for this long: longer than any pass
/// may take (forming a Redis Cluster waits up to a minute for its nodes).
fn liveness_timeout(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(120))
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "strata-agent".to_owned());
    format!("{host}-{}", std::process::id())
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_after_transient_errors_and_resets() {
        let mut backoff = Backoff::new(Duration::from_secs(30));
        let delays: Vec<u64> = (0..7)
            .map(|_| backoff.after(Outcome::Transient).as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff.after(Outcome::Ready), Duration::from_secs(30));
        assert_eq!(backoff.after(Outcome::Transient), Duration::from_secs(1));
        assert_eq!(backoff.after(Outcome::Waiting), Duration::from_secs(5));
        assert_eq!(backoff.after(Outcome::Stalled), Duration::from_secs(30));
    }

    #[test]
    fn short_intervals_bound_every_delay() {
        let mut backoff = Backoff::new(Duration::from_millis(200));
        assert_eq!(backoff.after(Outcome::Waiting), Duration::from_millis(200));
        assert_eq!(
            backoff.after(Outcome::Transient),
            Duration::from_millis(200)
        );
    }
}
