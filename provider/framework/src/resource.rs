//! The resource and provider traits, in the spirit of terraform-plugin-framework.
//!
//! A resource implements the required operations (schema, create, read, update,
//! delete); validation, plan modification, import and state upgrades are optional
//! capabilities with defaults. Each operation fills a pre-populated response, so a
//! create that fails half-way still hands Terraform the state of what it made.
//! The protocol rules (unknown computed values, requires-replace, consistency with the
//! plan) are enforced by [`crate::plan`] and the gRPC server, not by resources.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::diag::{AttributePath, Diagnostics};
use crate::schema::Schema;
use crate::value::Value;

/// Raised when Terraform asks the provider to stop (Ctrl-C): long waits should end early.
#[derive(Clone, Debug)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    pub(crate) fn new(rx: watch::Receiver<bool>) -> Self {
        StopSignal(rx)
    }
    /// A signal that never fires, for callers outside a provider process.
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(false);
        // Keep the sender alive for the life of the process so `stopped` never resolves.
        std::mem::forget(tx);
        StopSignal(rx)
    }
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
    /// Resolves once a stop has been requested.
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// What every resource operation gets besides its request.
pub struct Context<D> {
    /// What the provider's `configure` returned.
    pub data: Arc<D>,
    pub stop: StopSignal,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            data: self.data.clone(),
            stop: self.stop.clone(),
        }
    }
}

pub struct PlanRequest {
    pub config: Value,
    /// Null when the resource is being created.
    pub prior_state: Value,
    pub prior_private: Vec<u8>,
}

pub struct PlanResponse {
    /// Starts as Terraform's proposal with defaults applied and computed values marked
    /// unknown where they will change; the resource may refine it.
    pub planned_state: Value,
    /// Paths whose change forces replacement, beyond those declared in the schema.
    pub requires_replace: Vec<AttributePath>,
    pub planned_private: Vec<u8>,
    pub diags: Diagnostics,
}

pub struct ApplyRequest {
    pub config: Value,
    /// Null on create.
    pub prior_state: Value,
    /// Null on delete.
    pub planned_state: Value,
    pub planned_private: Vec<u8>,
}

pub struct ApplyResponse {
    /// Pre-populated: the planned state for create/update, the prior state for delete.
    /// On failure, leave here whatever exists so Terraform records it.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
}

pub struct ReadRequest {
    pub current_state: Value,
    pub private: Vec<u8>,
}

pub struct ReadResponse {
    /// Pre-populated with the current state; set it to null when the object is gone.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
}

pub struct ImportResponse {
    /// An object with at least the identifying attributes set; Terraform reads it next.
    pub state: Value,
    pub private: Vec<u8>,
    pub diags: Diagnostics,
}

/// A managed resource type, generic over the provider's configured data `D`.
#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync {
    /// `strata_<name>`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks beyond the schema's declared validators. The config may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Refines the plan (derived values, extra replace paths, checks that need the
    /// provider's configuration).
    async fn modify_plan(&self, _ctx: &Context<D>, _req: &PlanRequest, _resp: &mut PlanResponse) {}

    async fn create(&self, ctx: &Context<D>, req: &ApplyRequest, resp: &mut ApplyResponse);
    async fn read(&self, ctx: &Context<D>, req: &ReadRequest, resp: &mut ReadResponse);
    async fn update(&self, ctx: &Context<D>, req: &ApplyRequest, resp: &mut ApplyResponse);
    async fn delete(&self, ctx: &Context<D>, req: &ApplyRequest, resp: &mut ApplyResponse);

    /// Builds the state to read for an `import` of `id`.
    async fn import(&self, _ctx: &Context<D>, id: &str, resp: &mut ImportResponse) {
        resp.diags.error(
            "Import not supported",
            format!(
                "{} cannot be imported (asked to import {id:?}).",
                self.type_name()
            ),
        );
    }

    /// Converts a state stored under schema `version` (older than the current one) to
    /// the current layout, both as JSON.
    fn upgrade_state(
        &self,
        version: i64,
        _state: serde_json::Value,
        diags: &mut Diagnostics,
    ) -> Option<serde_json::Value> {
        diags.error(
            "Unsupported state version",
            format!(
                "The state of this {} was written with schema version {version}, which this provider cannot upgrade (current version {}). Use the provider version that wrote it, or remove the object from state and import it again.",
                self.type_name(),
                self.schema().version
            ),
        );
        None
    }
}

/// A provider: its configuration schema, how configuring it yields `Data`, and the
/// resources it serves.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    type Data: Send + Sync + 'static;

    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<Self::Data>;
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;
}
