//! What can stop an operation. Each error names what it was doing; the caller adds the
//! workload. None of them carries a password: the Secret's value is never formatted.

use std::time::Duration;

/// Why an operation on a workload could not finish.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing the pods in namespace {namespace}: {source}")]
    ListPods {
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("reading Secret {namespace}/{name}: {source}")]
    ReadSecret {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error("Secret {namespace}/{name} (spec.auth) does not exist")]
    SecretMissing { namespace: String, name: String },
    #[error("Secret {namespace}/{name} has no key `{key}` (spec.auth)")]
    SecretKeyMissing {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("key `{key}` of Secret {namespace}/{name} is not UTF-8")]
    SecretNotUtf8 {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("pod {pod} ({addr}): {command}: {source}")]
    Redis {
        pod: String,
        addr: String,
        command: &'static str,
        #[source]
        source: redis::RedisError,
    },
    #[error("pod {pod} ({addr}): cannot read the reply to {command}: {detail}")]
    Reply {
        pod: String,
        addr: String,
        command: &'static str,
        detail: String,
    },
    #[error("no healthy master serving slots for pod {pod} to replicate")]
    NoHealthyMaster { pod: String },
    #[error("gave up after {}s waiting for {what}", .after.as_secs())]
    Timeout { what: String, after: Duration },
}
