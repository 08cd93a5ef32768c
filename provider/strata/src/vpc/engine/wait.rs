//! Deadlines, backoff and bounded retries for the engine's waits.
//!
//! The SDK already retries throttling and transient errors per request. What it cannot
//! know is EC2's eventual consistency: an object just created may not be visible to the
//! next call yet (`Invalid*.NotFound`), and one just deleted may still hold a dependency
//! (`DependencyViolation`). Those are retried here, bounded by the operation's timeout.

use std::time::Duration;

use tokio::time::Instant;

use crate::vpc::VpcError;

/// How long a `NotFound` for an object we just created is blamed on eventual
/// consistency before it is believed.
pub(super) const CONSISTENCY_WINDOW: Duration = Duration::from_secs(120);

/// The end of an operation's time budget.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline {
    end: Instant,
    budget: Duration,
}

impl Deadline {
    pub(super) fn after(budget: Duration) -> Self {
        Self {
            end: Instant::now() + budget,
            budget,
        }
    }

    pub(super) fn end(&self) -> Instant {
        self.end
    }

    /// The earlier of the deadline and `window` from now.
    pub(super) fn within(&self, window: Duration) -> Instant {
        self.end.min(Instant::now() + window)
    }

    pub(super) fn timeout(&self, what: impl Into<String>) -> VpcError {
        VpcError::Timeout {
            what: what.into(),
            waited: self.budget,
        }
    }
}

/// Exponential backoff: `first`, then ×1.5 per step, capped at `max`. No jitter: the
/// engine's waits are few and sequential, the SDK jitters the request retries.
#[derive(Debug, Clone)]
pub(super) struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub(super) fn new(first: Duration, max: Duration) -> Self {
        Self { next: first, max }
    }

    pub(super) fn step(&mut self) -> Duration {
        let current = self.next;
        self.next = (current * 3 / 2).min(self.max);
        current
    }
}

/// Runs `op` until it succeeds, fails with an error `retryable` rejects, or the next
/// pause would end after `until`; then returns the last error (more useful to a person
/// than "timed out").
///
/// `op` is a closure returning a future (not an async closure) so the futures built on
/// top stay `Send`, which the provider's gRPC handlers require.
pub(super) async fn retry<T, F>(
    until: Instant,
    retryable: impl Fn(&VpcError) -> bool,
    mut op: impl FnMut() -> F,
) -> Result<T, VpcError>
where
    F: std::future::Future<Output = Result<T, VpcError>>,
{
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        match op().await {
            Err(e) if retryable(&e) => {
                let pause = backoff.step();
                if Instant::now() + pause > until {
                    return Err(e);
                }
                tracing::info!(error = %e, ?pause, "retrying (eventual consistency)");
                tokio::time::sleep(pause).await;
            }
            done => return done,
        }
    }
}

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

    #[test]
    fn backoff_grows_to_its_cap() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(5));
        let steps: Vec<_> = (0..4).map(|_| b.step().as_millis()).collect();
        assert_eq!(steps, [2000, 3000, 4500, 5000]);
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
