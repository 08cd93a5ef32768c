//! Deadlines, backoff and bounded retries shared by every engine.
//!
//! The SDK already retries throttling and transient errors per request. What it cannot
//! know is AWS's eventual consistency: an object just created may not be visible to the
//! next call yet (`…NotFound`), an IAM role just created may not be usable by EKS yet,
//! and an object just deleted may still hold a dependency (`DependencyViolation`). The
//! engines retry those here, bounded by the operation's timeout; which errors count is
//! each engine's own predicate.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long a `NotFound` for an object that should exist is blamed on eventual
/// consistency before it is believed.
pub const CONSISTENCY_WINDOW: Duration = Duration::from_secs(120);

/// Time limits of an engine's operations, including every wait inside them; each engine
/// publishes its defaults (`DEFAULT_TIMEOUTS`), the `timeouts` block overrides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

/// An operation ran out of its time budget; engines turn it into their own error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeout {
    /// What was being waited for, for a person.
    pub what: String,
    /// The whole budget (the `timeouts` value in force).
    pub waited: Duration,
}

/// The end of an operation's time budget.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    end: Instant,
    budget: Duration,
}

impl Deadline {
    pub fn after(budget: Duration) -> Self {
        Self {
            end: Instant::now() + budget,
            budget,
        }
    }

    pub fn end(&self) -> Instant {
        self.end
    }

    /// The earlier of the deadline and `window` from now.
    pub fn within(&self, window: Duration) -> Instant {
        self.end.min(Instant::now() + window)
    }

    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// The engine's timeout error for `what`.
    pub fn timeout<E: From<Timeout>>(&self, what: impl Into<String>) -> E {
        E::from(Timeout {
            what: what.into(),
            waited: self.budget,
        })
    }
}

/// Exponential backoff: `first`, then ×1.5 per step, capped at `max`. No jitter: the
/// engines' waits are few and sequential; the SDK jitters its own request retries.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self { next: first, max }
    }

    /// The pauses engines use between polls: 500 ms growing to 10 s.
    pub fn polling() -> Self {
        Self::new(Duration::from_millis(500), Duration::from_secs(10))
    }

    pub fn step(&mut self) -> Duration {
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
pub async fn retry<T, E, F>(
    until: Instant,
    retryable: impl Fn(&E) -> bool,
    op: impl FnMut() -> F,
) -> Result<T, E>
where
    E: Display,
    F: Future<Output = Result<T, E>>,
{
    retry_with(until, Backoff::polling(), retryable, op).await
}

/// [`retry`] with the caller's pauses (EKS wants slower ones than EC2).
pub async fn retry_with<T, E, F>(
    until: Instant,
    mut backoff: Backoff,
    retryable: impl Fn(&E) -> bool,
    mut op: impl FnMut() -> F,
) -> Result<T, E>
where
    E: Display,
    F: Future<Output = Result<T, E>>,
{
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

/// What one poll found.
pub enum Poll<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; the string says what is awaited (for the log and the timeout).
    Pending(String),
}

/// Calls `probe` (at once, then with `backoff`'s pauses) until it answers
/// [`Poll::Done`] or fails; when the next pause would pass `until`, returns
/// `Err(timeout(last pending description))`. The first probe is immediate: an object
/// already in the wanted state should cost no sleep.
pub async fn poll_until<T, E, F>(
    until: Instant,
    mut backoff: Backoff,
    mut probe: impl FnMut() -> F,
    timeout: impl FnOnce(String) -> E,
) -> Result<T, E>
where
    F: Future<Output = Result<Poll<T>, E>>,
{
    loop {
        match probe().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending(what) => {
                let pause = backoff.step();
                if Instant::now() + pause > until {
                    return Err(timeout(what));
                }
                tracing::debug!(what, ?pause, "waiting");
                tokio::time::sleep(pause).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum E {
        NotYet(u32),
        Broken,
        Timeout(Timeout),
    }
    impl Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{self:?}")
        }
    }
    impl From<Timeout> for E {
        fn from(t: Timeout) -> Self {
            E::Timeout(t)
        }
    }

    #[test]
    fn backoff_grows_to_its_cap() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(2));
        let steps: Vec<_> = (0..4).map(|_| b.step().as_millis()).collect();
        assert_eq!(steps, [1000, 1500, 2000, 2000]);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_stops_at_the_deadline_with_the_last_error() {
        let mut calls = 0;
        let until = Instant::now() + Duration::from_secs(5);
        let result: Result<(), E> = retry(
            until,
            |e| matches!(e, E::NotYet(_)),
            || {
                calls += 1;
                let n = calls;
                async move { Err(E::NotYet(n)) }
            },
        )
        .await;
        // 0.5 + 0.75 + 1.125 + 1.6875 = 4.06 s of pauses fit; the next would not.
        assert_eq!(result, Err(E::NotYet(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_does_not_retry_other_errors_and_succeeds_once_visible() {
        let until = Instant::now() + Duration::from_secs(60);
        let broken: Result<(), E> = retry(
            until,
            |e| matches!(e, E::NotYet(_)),
            || async { Err(E::Broken) },
        )
        .await;
        assert_eq!(broken, Err(E::Broken));

        let mut calls = 0;
        let ok: Result<u32, E> = retry(
            until,
            |e| matches!(e, E::NotYet(_)),
            || {
                calls += 1;
                let n = calls;
                async move { if n < 3 { Err(E::NotYet(n)) } else { Ok(n) } }
            },
        )
        .await;
        assert_eq!(ok, Ok(3));
    }

    #[test]
    fn deadline_builds_the_engine_timeout() {
        let d = Deadline::after(Duration::from_secs(600));
        let e: E = d.timeout("cluster ACTIVE");
        assert_eq!(
            e,
            E::Timeout(Timeout {
                what: "cluster ACTIVE".into(),
                waited: Duration::from_secs(600)
            })
        );
    }
}
