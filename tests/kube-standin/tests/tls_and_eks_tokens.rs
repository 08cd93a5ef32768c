//! `--tls` (HTTPS with a CA made at start) and `--eks-tokens` (EKS-shaped bearer
//! tokens only), in process and through the binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use base64::Engine as _;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube_standin::{Options, StandIn};

fn crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A client with `token` instead of the kubeconfig's, trusting the stand-in's CA.
fn client_with_token(standin: &StandIn, token: &str) -> kube::Client {
    crypto();
    let mut config = kube::Config::new(standin.url().parse().unwrap());
    if let Some(pem) = standin.ca_pem() {
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
            .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())
            .unwrap();
        config.root_cert = Some(vec![der]);
    }
    config.auth_info.token = Some(token.to_owned().into());
    kube::Client::try_from(config).unwrap()
}

/// An EKS-shaped token signed "now" (the signature is not checked, only present).
fn eks_token(host: &str, signed_headers: &str) -> (String, String) {
    let date = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let url = format!(
        "{host}/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240102%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date={date}&X-Amz-Expires=60&X-Amz-SignedHeaders={signed_headers}&X-Amz-Signature=0123abcd"
    );
    let token = format!(
        "k8s-aws-v1.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&url)
    );
    (token, url)
}

#[tokio::test]
async fn tls_serves_https_trusted_through_the_kubeconfig_ca() {
    crypto();
    let standin = StandIn::start(Options {
        tls: true,
        ..Default::default()
    })
    .unwrap();
    assert!(standin.url().starts_with("https://127.0.0.1:"));
    let pem = standin.ca_pem().expect("CA with TLS");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        standin
            .kubeconfig()
            .contains("certificate-authority-data: ")
    );

    let client = common::client(&standin).await;
    let namespaces: Api<Namespace> = Api::all(client);
    let list = namespaces.list(&ListParams::default()).await.unwrap();
    assert!(!list.items.is_empty());
}

#[tokio::test]
async fn tls_is_refused_by_a_client_that_trusts_another_ca() {
    crypto();
    let one = StandIn::start(Options {
        tls: true,
        ..Default::default()
    })
    .unwrap();
    let other = StandIn::start(Options {
        tls: true,
        ..Default::default()
    })
    .unwrap();
    // `one`'s URL with `other`'s CA.
    let mut config = kube::Config::new(one.url().parse().unwrap());
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(other.ca_pem().unwrap().as_bytes())
        .map(|c: rustls::pki_types::CertificateDer<'static>| c.to_vec())
        .unwrap();
    config.root_cert = Some(vec![der]);
    let client = kube::Client::try_from(config).unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    let error = namespaces.list(&ListParams::default()).await.unwrap_err();
    assert!(!matches!(error, kube::Error::Api(_)), "{error:?}");
}

#[tokio::test]
async fn eks_tokens_accepts_well_formed_tokens_only() {
    let standin = StandIn::start(Options {
        tls: true,
        eks_tokens: true,
        ..Default::default()
    })
    .unwrap();
    let (token, url) = eks_token("https://sts.us-west-2.amazonaws.com", "host%3Bx-k8s-aws-id");
    let classes: Api<StorageClass> = Api::all(client_with_token(&standin, &token));
    let sc: StorageClass = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "gp3"}, "provisioner": "ebs.csi.aws.com"
    }))
    .unwrap();
    classes.create(&PostParams::default(), &sc).await.unwrap();
    classes.get("gp3").await.unwrap();
    // Each distinct token is recorded once, decoded.
    assert_eq!(standin.eks_token_urls(), [url]);

    // An STS emulator on loopback may be plain http.
    let (local, _) = eks_token("http://127.0.0.1:5000", "host%3Bx-k8s-aws-id");
    let classes: Api<StorageClass> = Api::all(client_with_token(&standin, &local));
    classes.get("gp3").await.unwrap();

    let refused = [
        "kube-standin".to_owned(),
        eks_token("https://sts.us-west-2.amazonaws.com", "host").0,
        eks_token("http://sts.example.com", "host%3Bx-k8s-aws-id").0,
        "k8s-aws-v1.bm90IGEgdXJs".to_owned(),
    ];
    for token in refused {
        let classes: Api<StorageClass> = Api::all(client_with_token(&standin, &token));
        let status = common::status(classes.get("gp3").await.unwrap_err());
        assert_eq!(
            (status.code, status.reason.as_str()),
            (401, "Unauthorized"),
            "{token}"
        );
    }
    assert_eq!(standin.eks_token_urls().len(), 2);
}

#[tokio::test]
async fn binary_serves_tls_writes_the_ca_and_requires_eks_tokens() {
    let dir = std::env::temp_dir().join(format!("kube-standin-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (kubeconfig_path, ca_path) = (dir.join("kubeconfig"), dir.join("ca.pem"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_kube-standin"))
        .args(["--tls", "--eks-tokens", "--ca-file"])
        .arg(&ca_path)
        .arg("--kubeconfig")
        .arg(&kubeconfig_path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("ready line")
        .to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{line}");
    let pem = std::fs::read_to_string(&ca_path).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));

    // The kubeconfig trusts the CA, but its static token is not an EKS token.
    crypto();
    let text = std::fs::read_to_string(&kubeconfig_path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::from_yaml(&text).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let namespaces: Api<Namespace> = Api::all(kube::Client::try_from(config.clone()).unwrap());
    let status = common::status(namespaces.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(status.code, 401);
    let mut config = config;
    config.auth_info.token = Some(
        eks_token("https://sts.amazonaws.com", "host%3Bx-k8s-aws-id")
            .0
            .into(),
    );
    let namespaces: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());
    namespaces.list(&ListParams::default()).await.unwrap();

    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
