//! Connecting: explicit kubeconfig files and their errors.

use strata_agent_cluster::{Error, ErrorClass, connect};

#[tokio::test]
async fn missing_kubeconfig_is_a_config_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.yaml");
    let Err(error) = connect(Some(&path), None).await else {
        panic!("connected without a kubeconfig");
    };
    assert!(
        matches!(&error, Error::Config(message) if message.contains("nope.yaml")),
        "{error}"
    );
    assert_eq!(error.class(), ErrorClass::Stalled);
}

#[tokio::test]
async fn unknown_context_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\n\
         users:\n- name: u\n  user: {}\ncontexts:\n- name: ctx\n  context: {cluster: c, user: u}\ncurrent-context: ctx\n",
    )
    .unwrap();
    assert!(connect(Some(&path), Some("ctx")).await.is_ok());
    let Err(error) = connect(Some(&path), Some("elsewhere")).await else {
        panic!("connected with an unknown context");
    };
    assert!(
        matches!(&error, Error::Config(message) if message.contains("elsewhere")),
        "{error}"
    );
}
