//! strata-agent's cluster side, through `kube`: everything that reads or writes a cluster.
//!
//! * [`connect`]: a client from a kubeconfig or the in-cluster service account, chosen the
//!   usual way.
//! * [`apply`]: server-side apply (field manager `strata-agent`) in dependency order. Each
//!   object is first applied with `dryRun=All` and compared with the live object, so only
//!   objects that differ are written (and counted as drift when they existed before).
//! * [`inventory`]: the set of objects applied for a revision, kept in a ConfigMap in the
//!   agent's namespace.
//! * [`prune`]: previous inventory − desired, never PVCs, Namespaces or CRDs, ownership
//!   re-checked on the live object.
//! * [`health`]: per-workload Ready / Progressing / Failed from rollout status (kstatus).
//! * [`lease`]: leader election with a `coordination.k8s.io` Lease.
//! * [`resources`]: the [`Cluster`] handle and its discovery cache.

pub mod apply;
mod conflict;
pub mod connect;
mod diff;
pub mod error;
pub mod health;
pub mod inventory;
pub mod lease;
pub mod prune;
pub mod resources;

pub use connect::connect;
pub use error::{Error, ErrorClass};
pub use resources::{Cluster, Resolved};

/// The field manager of every write the agent makes.
pub const FIELD_MANAGER: &str = "strata-agent";
