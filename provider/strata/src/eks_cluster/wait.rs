//! Deadlines, backoff and bounded retries for the cluster engine's waits.
//!
//! EKS state transitions take minutes (creation 10–15, a version upgrade 20–40), so the
//! engine polls with a growing interval. The first poll is immediate: an emulator (or
//! a cluster already in the wanted state) answers at once and nobody should sleep for
//! nothing.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

pub(super) use crate::wait::{Backoff, Deadline, Poll};

/// Pauses for polling EKS state: 2 s growing to 30 s (a cluster takes minutes; a
/// tighter loop only burns the account's API rate).
pub(super) fn polling() -> Backoff {
    Backoff::new(Duration::from_secs(2), Duration::from_secs(30))
}

/// [`crate::wait::poll_until`] at EKS's pace.
pub(super) async fn poll_until<T, E, F>(
    until: Instant,
    probe: impl FnMut() -> F,
    timeout: impl FnOnce(String) -> E,
) -> Result<T, E>
where
    F: Future<Output = Result<Poll<T>, E>>,
{
    crate::wait::poll_until(until, polling(), probe, timeout).await
}

/// [`crate::wait::retry`] at EKS's pace (IAM propagation takes seconds, not milliseconds).
pub(super) async fn retry<T, E, F>(
    until: Instant,
    retryable: impl Fn(&E) -> bool,
    op: impl FnMut() -> F,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    crate::wait::retry_with(
        until,
        Backoff::new(Duration::from_secs(2), Duration::from_secs(15)),
        retryable,
        op,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[tokio::test(start_paused = true)]
    async fn polling_is_immediate_then_backs_off_until_the_deadline() {
        let deadline = Deadline::after(Duration::from_secs(10));
        let calls = Cell::new(0);
        let result: Result<(), String> = poll_until(
            deadline.end(),
            || {
                calls.set(calls.get() + 1);
                async { Ok(Poll::Pending("cluster c to be ACTIVE".into())) }
            },
            |what| format!("timed out waiting for {what}"),
        )
        .await;
        assert_eq!(
            result.unwrap_err(),
            "timed out waiting for cluster c to be ACTIVE"
        );
        // Probes at 0, 2, 5 and 9.5 s; the next pause (6.75 s) would end after 10 s.
        assert_eq!(calls.get(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn polling_returns_the_first_done() {
        let calls = Cell::new(0);
        let result: Result<u32, String> = poll_until(
            Deadline::after(Duration::from_secs(600)).end(),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    Ok(if n < 3 {
                        Poll::Pending("x".into())
                    } else {
                        Poll::Done(n)
                    })
                }
            },
            |w| w,
        )
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_with_the_last_error() {
        let calls = Cell::new(0);
        let until = Deadline::after(Duration::from_secs(600)).within(Duration::from_secs(10));
        let result: Result<(), String> = retry(
            until,
            |e: &String| e.contains("propagat"),
            || {
                calls.set(calls.get() + 1);
                async { Err("role not propagated yet".to_string()) }
            },
        )
        .await;
        assert!(result.is_err());
        // Pauses 2 + 3 + 4.5 = 9.5 s fit in 10 s, the next does not.
        assert_eq!(calls.get(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_leaves_other_errors_alone() {
        let calls = Cell::new(0);
        let result: Result<(), String> = retry(
            Deadline::after(Duration::from_secs(60)).end(),
            |_: &String| false,
            || {
                calls.set(calls.get() + 1);
                async { Err("AccessDenied".to_string()) }
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }
}
