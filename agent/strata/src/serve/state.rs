//! What the reconcile loop and the HTTP server share: the published status, the metrics,
//! the webhook's sync requests, and the liveness and readiness signals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::metrics::Metrics;
use super::redact;
use super::webhook::WebhookSecret;
use crate::status::{Pass, Status};

#[derive(Debug)]
pub struct AgentState {
    /// Replaced whole on every publish, so a lock poisoned by a panicking writer still
    /// holds a complete status and is used as is.
    status: RwLock<Status>,
    metrics: Metrics,
    /// `notify_one` keeps a permit when nobody waits, so a webhook that arrives during a
    /// pass is not lost, and several such webhooks make one sync.
    sync: Notify,
    webhook_secret: Option<WebhookSecret>,
    heartbeat: Mutex<Instant>,
    liveness_timeout: Duration,
    ready: AtomicBool,
}

/// How long ago the loop last showed signs of life, when that is too long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stale {
    pub age: Duration,
    pub timeout: Duration,
}

impl AgentState {
    /// The heartbeat starts now: the loop has `liveness_timeout` to send its first one.
    pub fn new(
        initial: Status,
        webhook_secret: Option<WebhookSecret>,
        liveness_timeout: Duration,
    ) -> Arc<AgentState> {
        let state = AgentState {
            status: RwLock::new(Status::default()),
            metrics: Metrics::new(),
            sync: Notify::new(),
            webhook_secret,
            heartbeat: Mutex::new(Instant::now()),
            liveness_timeout,
            ready: AtomicBool::new(false),
        };
        state.publish(initial);
        Arc::new(state)
    }

    /// Replaces the status `/status` serves and the gauges derived from it.
    pub fn publish(&self, mut status: Status) {
        status.source.repo = redact::repo_url(&status.source.repo);
        self.metrics.observe_status(&status);
        *self.status.write().unwrap_or_else(PoisonError::into_inner) = status;
    }

    /// Counts a finished pass in the duration histogram and the object counters. Call
    /// it once per pass (publishing may happen more often).
    pub fn record_pass(&self, pass: &Pass) {
        self.metrics.record_pass(pass);
    }

    pub fn status(&self) -> Status {
        self.status
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The loop is alive. Call it at least once per `liveness_timeout`, also while
    /// idle between passes or waiting for the lease.
    pub fn heartbeat(&self) {
        *self
            .heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// `Err` when the last heartbeat is older than the liveness timeout.
    pub fn liveness(&self) -> Result<(), Stale> {
        let age = self
            .heartbeat
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed();
        if age <= self.liveness_timeout {
            Ok(())
        } else {
            Err(Stale {
                age,
                timeout: self.liveness_timeout,
            })
        }
    }

    /// Ready to serve: after the first pass as leader, or the first lease check as a
    /// follower.
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// Resolves when a webhook (or [`request_sync`](Self::request_sync)) asked for a sync,
    /// at once if one did since the last call. Cancel-safe: use it in `select!`.
    pub async fn sync_requested(&self) {
        self.sync.notified().await;
    }

    pub fn request_sync(&self) {
        self.sync.notify_one();
    }

    pub fn webhook_secret(&self) -> Option<&WebhookSecret> {
        self.webhook_secret.as_ref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}
