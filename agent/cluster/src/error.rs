//! Errors of the cluster side, and how the reconcile loop should treat them.

/// How the reconcile loop reacts to an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// A person must change the repo (or the cluster): retrying the same input fails again.
    Stalled,
    /// Something else must happen first (a CRD installed, a rollout finished): retry later.
    Waiting,
    /// The network or the API server had a problem: retry with backoff.
    Transient,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot configure the Kubernetes client: {0}")]
    Config(String),
    #[error("{context}: {source}")]
    Kube {
        context: String,
        #[source]
        source: kube::Error,
    },
    #[error("inventory {name}: {message}")]
    Inventory { name: String, message: String },
}

impl Error {
    pub fn kube(context: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            context: context.into(),
            source,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Config(_) => ErrorClass::Stalled,
            Error::Kube { source, .. } => classify(source),
            Error::Inventory { .. } => ErrorClass::Stalled,
        }
    }
}

/// 4xx answers other than 408/429 are the request's fault; everything else may pass.
pub fn classify(error: &kube::Error) -> ErrorClass {
    match error {
        kube::Error::Api(status) => match status.code {
            408 | 429 => ErrorClass::Transient,
            400..=499 => ErrorClass::Stalled,
            _ => ErrorClass::Transient,
        },
        _ => ErrorClass::Transient,
    }
}
