//! Deadlines and bounded retries for the peering engine.
//!
//! The same rules as the network engine's waits (`vpc/engine/wait.rs`, whose shape this
//! follows): the SDK retries throttling and transient errors per request; what it cannot
//! know is EC2's eventual consistency. A connection just requested in one region takes a
//! moment to appear in the other (`InvalidVpcPeeringConnectionID.NotFound` there), and a
//! route table just created by a `strata_vpc` in the same apply may not be visible yet.
//! Those are retried here, bounded by the operation's timeout.

use crate::peering::PeeringError;
pub(super) use crate::wait::{Backoff, CONSISTENCY_WINDOW, Deadline, retry};

/// The object may just not be visible yet.
pub(super) fn not_found(e: &PeeringError) -> bool {
    e.is_not_found()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::time::Instant;

    use super::*;
    use std::cell::Cell;

    fn aws(code: &str) -> PeeringError {
        PeeringError::Aws {
            operation: "accept",
            object: "vpc peering connection pcx-1".into(),
            code: Some(code.into()),
            message: "m".into(),
            source: "m".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_not_yet_visible_in_the_accepter_region_is_retried() {
        let deadline = Deadline::after(Duration::from_secs(600));
        let calls = Cell::new(0);
        let result = retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 4 {
                    Err(aws("InvalidVpcPeeringConnectionID.NotFound"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_window_with_the_last_error() {
        let deadline = Deadline::after(Duration::from_secs(600));
        let started = Instant::now();
        let result: Result<(), _> = retry(
            deadline.within(Duration::from_secs(5)),
            not_found,
            || async { Err(aws("InvalidVpcPeeringConnectionID.NotFound")) },
        )
        .await;
        assert!(result.unwrap_err().is_not_found());
        assert!(Instant::now() - started <= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let deadline = Deadline::after(Duration::from_secs(60));
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(deadline.end(), not_found, || {
            calls.set(calls.get() + 1);
            async { Err(aws("OperationNotPermitted")) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }
}
