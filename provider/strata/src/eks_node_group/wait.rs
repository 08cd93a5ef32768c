//! Deadlines, backoff and bounded retries for the node group's waits.
//!
//! The SDK already retries throttling and transient errors per request. What it cannot
//! know is eventual consistency: a node role just created is not assumable by EKS for a
//! few seconds, a node group just created may not be describable yet, and a group busy
//! with one update refuses the next (`ResourceInUseException`). Those are retried here,
//! bounded by the operation's timeout. (Same shape as the VPC engine's `wait` module,
//! over this engine's error type.)

use std::time::Duration;

use crate::eks_node_group::NodeGroupError;
pub(super) use crate::wait::{CONSISTENCY_WINDOW, Deadline, retry};

/// Pauses for polling EKS state: 2 s growing to 30 s (a node group takes minutes; a
/// tighter loop only burns the account's API rate).
pub(super) fn polling() -> crate::wait::Backoff {
    crate::wait::Backoff::new(Duration::from_secs(2), Duration::from_secs(30))
}

/// EKS has not caught up with a role created moments ago.
pub(super) fn role_not_propagated(e: &NodeGroupError) -> bool {
    match e {
        NodeGroupError::Aws { code, message, .. } => {
            crate::iam_role::is_role_propagation_error(code.as_deref(), message)
        }
        _ => false,
    }
}

/// The node group (or cluster) is busy with another update or state change.
pub(super) fn in_use(e: &NodeGroupError) -> bool {
    e.code() == Some("ResourceInUseException")
}

/// The object may just not be visible yet.
pub(super) fn not_found(e: &NodeGroupError) -> bool {
    e.is_not_found()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use std::cell::Cell;

    fn aws(code: &str, message: &str) -> NodeGroupError {
        NodeGroupError::Aws {
            operation: "create",
            object: "node group c:n".into(),
            code: Some(code.into()),
            message: message.into(),
            source: message.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn role_propagation_is_retried_until_eks_sees_the_role() {
        let deadline = Deadline::after(Duration::from_secs(600));
        let calls = Cell::new(0);
        let result = retry(
            deadline.within(CONSISTENCY_WINDOW),
            role_not_propagated,
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err(aws(
                            "InvalidParameterException",
                            "Role with arn: arn:aws:iam::123456789012:role/c-n-node, could not be assumed because it does not exist or the trusted entity is not correct",
                        ))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(result.unwrap(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn real_mistakes_are_not_retried() {
        let deadline = Deadline::after(Duration::from_secs(600));
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(deadline.end(), role_not_propagated, || {
            calls.set(calls.get() + 1);
            async {
                Err(aws(
                    "InvalidParameterException",
                    "Subnet subnet-1 not found",
                ))
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls.get(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_at_the_deadline_with_the_last_error() {
        let deadline = Deadline::after(Duration::from_secs(5));
        let calls = Cell::new(0);
        let result: Result<(), _> = retry(deadline.end(), in_use, || {
            calls.set(calls.get() + 1);
            async { Err(aws("ResourceInUseException", "update in progress")) }
        })
        .await;
        assert_eq!(result.unwrap_err().code(), Some("ResourceInUseException"));
        // pauses 0.5 + 0.75 + 1.125 + 1.6875 = 4.06 s fit in 5 s, the next does not.
        assert_eq!(calls.get(), 5);
    }
}
