use super::*;

fn settings() -> AwsSettings {
    AwsSettings {
        region: Some("us-west-2".into()),
        endpoints: Endpoints {
            ec2: Some("http://127.0.0.1:5000".into()),
            ..Endpoints::default()
        },
        default_tags: BTreeMap::from([("team".into(), "data".into())]),
        max_retries: 4,
        ..AwsSettings::default()
    }
}

#[tokio::test]
async fn builds_offline_with_explicit_region() {
    let clients = AwsClients::new(settings()).await.unwrap();
    assert_eq!(clients.default_region(), "us-west-2");
    assert_eq!(clients.default_tags()["team"], "data");
    let retry = clients.sdk_config().retry_config().unwrap();
    // max_retries counts retries; the SDK counts attempts.
    assert_eq!(retry.max_attempts(), 5);
}

#[tokio::test]
async fn ec2_clients_are_per_region_with_endpoint_override() {
    let clients = AwsClients::new(settings()).await.unwrap();
    let default = clients.ec2(None);
    assert_eq!(default.config().region().unwrap().as_ref(), "us-west-2");
    let east = clients.ec2(Some("us-east-1"));
    assert_eq!(east.config().region().unwrap().as_ref(), "us-east-1");
    // (The endpoint override itself is exercised against moto in tests/engine_moto.rs:
    // the SDK config exposes no getter for it.)
    clients.ec2(Some("us-east-1"));
    clients.ec2(Some(""));
    assert_eq!(
        clients.ec2.lock().unwrap().len(),
        2,
        "one cached client per region"
    );
}

#[tokio::test]
async fn rejects_bad_endpoint_and_region() {
    let mut bad = settings();
    bad.endpoints.eks = Some("127.0.0.1:5000".into());
    let err = AwsClients::new(bad).await.unwrap_err();
    assert!(
        matches!(err, AwsError::InvalidEndpoint { service: "eks", .. }),
        "{err}"
    );

    let mut bad = settings();
    bad.region = Some("US West".into());
    let err = AwsClients::new(bad).await.unwrap_err();
    assert!(err.to_string().contains("`US West`"), "{err}");
}

#[test]
fn default_max_retries_matches_the_aws_provider() {
    assert_eq!(AwsSettings::default().max_retries, 25);
}
