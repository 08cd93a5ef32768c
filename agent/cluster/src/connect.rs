//! A client for the cluster: `--kubeconfig`/`KUBECONFIG`/`~/.kube/config`, else the
//! in-cluster service account — kube's usual inference.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::Error;

/// Connects with an explicit kubeconfig file (and optional context), or infers the
/// configuration when `kubeconfig` is `None`.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<crate::Cluster, Error> {
    let config = match kubeconfig {
        Some(path) => {
            let what = || match context {
                Some(context) => format!("{} (context {context})", path.display()),
                None => path.display().to_string(),
            };
            let file = Kubeconfig::read_from(path)
                .map_err(|e| Error::Config(format!("{}: {e}", what())))?;
            let options = KubeConfigOptions {
                context: context.map(str::to_owned),
                ..Default::default()
            };
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| Error::Config(format!("{}: {e}", what())))?
        }
        None if context.is_some() => {
            // A context without a file: the default kubeconfig, at that context.
            let options = KubeConfigOptions {
                context: context.map(str::to_owned),
                ..Default::default()
            };
            kube::Config::from_kubeconfig(&options)
                .await
                .map_err(|e| Error::Config(format!("default kubeconfig: {e}")))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| Error::Config(format!("no kubeconfig and not in a cluster: {e}")))?,
    };
    let client = kube::Client::try_from(config).map_err(|e| Error::Config(e.to_string()))?;
    Ok(crate::Cluster::new(client))
}
