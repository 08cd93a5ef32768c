//! `kube-standin`: runs the Kubernetes API stand-in until SIGINT or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use kube_standin::{Options, StandIn};

/// A Kubernetes API stand-in for tests (no watch, no garbage collector; see README.md).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig pointing at the server here.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Simulate the StatefulSet/Deployment/PVC controllers.
    #[arg(long)]
    controllers: bool,
    /// Require this bearer token.
    #[arg(long, conflicts_with = "eks_tokens")]
    token: Option<String>,
    /// Serve HTTPS with a certificate authority generated at start.
    #[arg(long)]
    tls: bool,
    /// With --tls: write the CA's PEM certificate here.
    #[arg(long, requires = "tls")]
    ca_file: Option<PathBuf>,
    /// Accept only well-formed EKS bearer tokens (k8s-aws-v1.…); STS is never called.
    #[arg(long)]
    eks_tokens: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let options = Options {
        controllers: args.controllers,
        token: args.token,
        tls: args.tls,
        eks_tokens: args.eks_tokens,
    };
    let standin = StandIn::start_on(args.listen, options).context("starting the stand-in")?;
    if let Some(path) = &args.kubeconfig {
        standin
            .write_kubeconfig(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let (Some(path), Some(pem)) = (&args.ca_file, standin.ca_pem()) {
        std::fs::write(path, pem).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", standin.url())?;
    stdout.flush()?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    })?;
    drop(standin);
    Ok(())
}
