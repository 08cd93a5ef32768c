//! Waiting for gossip: after a `CLUSTER` command the other nodes learn of it within
//! moments, and the next step needs them to have.

use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::error::Error;

/// Long enough for a handful of nodes to meet and agree on slots and roles.
pub const GOSSIP: Duration = Duration::from_secs(10);
/// After slots and replicas are set: every node has to learn who serves each slot
/// before it declares the cluster `ok`.
pub const SETTLE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

/// Polls `done` until it says yes; `Error::Timeout` naming `what` after `timeout`.
/// Errors from `done` end the wait at once: the servers were reachable a moment ago.
pub async fn until(
    what: &str,
    timeout: Duration,
    mut done: impl AsyncFnMut() -> Result<bool, Error>,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if done().await? {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what.to_owned(),
                after: timeout,
            });
        }
        sleep(POLL).await;
    }
}
