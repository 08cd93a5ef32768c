//! Deadlines, backoff and bounded retries for the engine's waits.
//!
//! The SDK already retries throttling and transient errors per request. What it cannot
//! know is EC2's eventual consistency: an object just created may not be visible to the
//! next call yet (`Invalid*.NotFound`), and one just deleted may still hold a dependency
//! (`DependencyViolation`). Those are retried here, bounded by the operation's timeout.

use crate::vpc::VpcError;
pub(super) use crate::wait::{Backoff, CONSISTENCY_WINDOW, Deadline, retry};

/// The object may just not be visible yet.
pub(super) fn not_found(e: &VpcError) -> bool {
    e.is_not_found()
}

/// Something that depended on the object was just deleted but AWS has not caught up.
pub(super) fn dependency_violation(e: &VpcError) -> bool {
    e.code() == Some("DependencyViolation")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use std::cell::Cell;

    fn aws(code: &str) -> VpcError {
        VpcError::Aws {
            operation: "delete",
            object: "subnet subnet-1".into(),
            code: Some(code.into()),
            message: "m".into(),
            source: "m".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_at_the_deadline_with_the_last_error() {
        let deadline = Deadline::after(Duration::from_secs(5));
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(deadline.end(), dependency_violation, || {
            calls.set(calls.get() + 1);
            async { Err(aws("DependencyViolation")) }
        })
        .await;
        assert_eq!(result.unwrap_err().code(), Some("DependencyViolation"));
        // pauses 0.5 + 0.75 + 1.125 + 1.6875 = 4.06 s fit in 5 s, the next does not.
        assert_eq!(calls.get(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_does_not_retry_other_errors() {
        let deadline = Deadline::after(Duration::from_secs(60));
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
            calls.set(calls.get() + 1);
            async { Err(aws("UnauthorizedOperation")) }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_succeeds_once_visible() {
        let deadline = Deadline::after(Duration::from_secs(60));
        let calls = Cell::new(0);
        let result = retry(deadline.within(CONSISTENCY_WINDOW), not_found, || {
            calls.set(calls.get() + 1);
            let n = calls.get();
            async move {
                if n < 3 {
                    Err(aws("InvalidRouteTableID.NotFound"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
    }
}
