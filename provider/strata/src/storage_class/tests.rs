use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use base64::Engine as _;

use super::rules::{self, Arg, EbsArgs, EbsParameters};
use super::*;
use secrecy::SecretString;

fn gp3(iops: Arg<i64>, throughput: Arg<i64>) -> EbsArgs<'static> {
    EbsArgs {
        is_ebs: Arg::Set(true),
        volume_type: Arg::Set("gp3"),
        iops,
        throughput,
        encrypted: Arg::Unset,
        kms_key_id: Arg::Unset,
    }
}

fn attributes(args: &EbsArgs) -> Vec<&'static str> {
    rules::check_ebs(args).iter().map(|p| p.attribute).collect()
}

#[test]
fn gp3_limits_name_the_attribute() {
    assert!(attributes(&gp3(Arg::Set(16_000), Arg::Set(1_000))).is_empty());
    assert!(attributes(&gp3(Arg::Set(3_000), Arg::Set(125))).is_empty());
    assert_eq!(attributes(&gp3(Arg::Set(2_999), Arg::Unset)), ["iops"]);
    assert_eq!(attributes(&gp3(Arg::Set(16_001), Arg::Unset)), ["iops"]);
    assert_eq!(
        attributes(&gp3(Arg::Set(16_000), Arg::Set(124))),
        ["throughput"]
    );
    assert_eq!(
        attributes(&gp3(Arg::Set(16_000), Arg::Set(1_001))),
        ["throughput"]
    );
    let detail = &rules::check_ebs(&gp3(Arg::Set(16_001), Arg::Unset))[0].detail;
    assert!(detail.contains("3000 and 16000"), "{detail}");
}

#[test]
fn gp3_throughput_needs_a_quarter_mibps_per_iops() {
    // The seed's Weaviate class: 16,000 IOPS, 1,000 MiB/s.
    assert!(attributes(&gp3(Arg::Set(4_000), Arg::Set(1_000))).is_empty());
    assert_eq!(
        attributes(&gp3(Arg::Set(3_999), Arg::Set(1_000))),
        ["throughput"]
    );
    // Without iops, gp3's baseline 3,000 allows 750 MiB/s.
    assert!(attributes(&gp3(Arg::Unset, Arg::Set(750))).is_empty());
    let problems = rules::check_ebs(&gp3(Arg::Unset, Arg::Set(1_000)));
    assert_eq!(problems[0].attribute, "throughput");
    assert!(
        problems[0].detail.contains("baseline"),
        "{}",
        problems[0].detail
    );
    // Unknown IOPS: nothing to judge yet.
    assert!(attributes(&gp3(Arg::Unknown, Arg::Set(1_000))).is_empty());
}

#[test]
fn other_volume_types_get_the_checks_that_apply() {
    let with = |t: &'static str, iops, throughput| EbsArgs {
        volume_type: Arg::Set(t),
        ..gp3(iops, throughput)
    };
    assert_eq!(attributes(&with("io1", Arg::Unset, Arg::Unset)), ["type"]);
    assert!(attributes(&with("io1", Arg::Set(64_000), Arg::Unset)).is_empty());
    assert_eq!(
        attributes(&with("io1", Arg::Set(64_001), Arg::Unset)),
        ["iops"]
    );
    assert!(attributes(&with("io2", Arg::Set(100_000), Arg::Unset)).is_empty());
    assert_eq!(
        attributes(&with("io2", Arg::Set(5_000), Arg::Set(500))),
        ["throughput"]
    );
    assert_eq!(
        attributes(&with("gp2", Arg::Set(5_000), Arg::Unset)),
        ["iops"]
    );
    assert_eq!(
        attributes(&with("st1", Arg::Unset, Arg::Set(500))),
        ["throughput"]
    );
    assert!(attributes(&with("sc1", Arg::Unset, Arg::Unset)).is_empty());
}

#[test]
fn kms_key_needs_encryption_and_ebs_arguments_need_ebs() {
    let mut args = gp3(Arg::Unset, Arg::Unset);
    args.kms_key_id = Arg::Set("alias/ebs");
    assert_eq!(attributes(&args), ["kms_key_id"]);
    args.encrypted = Arg::Set(true);
    assert!(attributes(&args).is_empty());
    args.encrypted = Arg::Unknown;
    assert!(attributes(&args).is_empty());

    let other = EbsArgs {
        is_ebs: Arg::Set(false),
        volume_type: Arg::Unset,
        iops: Arg::Set(3_000),
        throughput: Arg::Unset,
        encrypted: Arg::Unset,
        kms_key_id: Arg::Unset,
    };
    assert_eq!(attributes(&other), ["iops"]);
}

#[test]
fn iops_note_gives_the_smallest_volume() {
    let note = rules::iops_size_note("gp3", 16_000).unwrap();
    assert!(note.contains("at least 32 GiB"), "{note}");
    assert!(rules::iops_size_note("gp3", 3_000).is_none());
    assert!(
        rules::iops_size_note("io1", 1_000)
            .unwrap()
            .contains("20 GiB")
    );
    assert!(rules::iops_size_note("gp2", 1_000).is_none());
}

#[test]
fn parameters_round_trip() {
    let ebs = EbsParameters {
        volume_type: Some("gp3".into()),
        iops: Some(16_000),
        throughput: Some(1_000),
        encrypted: Some(true),
        kms_key_id: Some("alias/data".into()),
        fs_type: Some("xfs".into()),
    };
    let params = ebs.to_parameters();
    assert_eq!(params["iops"], "16000");
    assert_eq!(params["encrypted"], "true");
    assert_eq!(params["kmsKeyId"], "alias/data");
    assert_eq!(params["csi.storage.k8s.io/fstype"], "xfs");
    assert_eq!(EbsParameters::from_parameters(&params), ebs);
    // What no argument can say stays out of the arguments.
    let odd = BTreeMap::from([("iops".to_owned(), "lots".to_owned())]);
    assert_eq!(EbsParameters::from_parameters(&odd).iops, None);
}

#[test]
fn import_ids_and_names() {
    assert_eq!(
        rules::parse_import_id("kb-west/weaviate-gp3").unwrap(),
        ("kb-west", "weaviate-gp3")
    );
    for bad in ["weaviate", "/x", "x/", "a/b/c"] {
        assert!(rules::parse_import_id(bad).is_err(), "{bad}");
    }
    assert!(rules::name_problem("weaviate-gp3").is_none());
    assert!(rules::name_problem("a.b-c").is_none());
    assert!(rules::name_problem("Weaviate").is_some());
    assert!(rules::name_problem("-x").is_some());
    assert!(rules::name_problem("").is_some());
}

fn spec() -> StorageClassSpec {
    StorageClassSpec {
        name: "weaviate-gp3".into(),
        provisioner: rules::EBS_PROVISIONER.into(),
        parameters: BTreeMap::from([("type".to_owned(), "gp3".to_owned())]),
        reclaim_policy: "Retain".into(),
        volume_binding_mode: "WaitForFirstConsumer".into(),
        allow_volume_expansion: true,
        default_class: false,
        labels: BTreeMap::from([("tier".to_owned(), "vector".to_owned())]),
    }
}

#[test]
fn objects_round_trip_and_carry_the_default_class_annotation() {
    let object = to_object(&spec());
    let annotations = object.metadata.annotations.clone().unwrap();
    assert_eq!(annotations[rules::DEFAULT_CLASS_ANNOTATION], "false");
    assert_eq!(from_object(&object), spec());
    // What the API server defaults when a field is missing.
    let mut bare = object;
    bare.reclaim_policy = None;
    bare.volume_binding_mode = None;
    bare.allow_volume_expansion = None;
    bare.metadata.annotations = None;
    let read = from_object(&bare);
    assert_eq!(
        (
            read.reclaim_policy.as_str(),
            read.volume_binding_mode.as_str()
        ),
        ("Delete", "Immediate")
    );
    assert!(!read.allow_volume_expansion && !read.default_class);
}

#[test]
fn ca_bundles_and_endpoints_are_checked() {
    assert!(matches!(
        parse_ca("not pem"),
        Err(ConnectionError::InvalidCa(_))
    ));
    assert!(endpoint_problem("https://127.0.0.1:6443").is_none());
    assert!(endpoint_problem("https://abc.gr7.us-west-2.eks.amazonaws.com").is_none());
    assert!(endpoint_problem("http://127.0.0.1:6443").is_some());
    assert!(endpoint_problem("127.0.0.1").is_some());
}

#[test]
fn connection_debug_hides_the_token() {
    let c = Connection::Explicit {
        endpoint: "https://k8s.example".into(),
        ca_pem: String::new(),
        token: SecretString::from("s3cr3t"),
    };
    assert!(!format!("{c:?}").contains("s3cr3t"));
}

fn query(url: &str) -> BTreeMap<String, String> {
    let (_, q) = url.split_once('?').unwrap();
    q.split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

#[test]
fn eks_token_is_a_presigned_get_caller_identity() {
    let identity = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test").into();
    // 2024-01-02T03:04:05Z
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_164_645);
    let base = eks_token::sts_base_url("us-west-2", None);
    assert_eq!(base, "https://sts.us-west-2.amazonaws.com");
    let token = eks_token::mint(&identity, &base, "us-west-2", "kb-west", time).unwrap();
    let encoded = token.strip_prefix("k8s-aws-v1.").expect("prefix");
    assert!(!encoded.contains('=') && !encoded.contains('+') && !encoded.contains('/'));
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    assert!(
        url.starts_with("https://sts.us-west-2.amazonaws.com/?"),
        "{url}"
    );
    let q = query(&url);
    assert_eq!(q["Action"], "GetCallerIdentity");
    assert_eq!(q["Version"], "2011-06-15");
    assert_eq!(q["X-Amz-Expires"], "60");
    assert_eq!(q["X-Amz-Date"], "20240102T030405Z");
    assert_eq!(q["X-Amz-SignedHeaders"], "host%3Bx-k8s-aws-id");
    assert_eq!(
        q["X-Amz-Credential"],
        "AKIDEXAMPLE%2F20240102%2Fus-west-2%2Fsts%2Faws4_request"
    );
    assert_eq!(q["X-Amz-Signature"].len(), 64);
    // The same inputs sign the same; another cluster signs differently.
    let again = eks_token::mint(&identity, &base, "us-west-2", "kb-west", time).unwrap();
    assert_eq!(token, again);
    let other = eks_token::mint(&identity, &base, "us-west-2", "kb-east", time).unwrap();
    assert_ne!(token, other);
}

#[test]
fn eks_token_follows_the_sts_endpoint_override_and_session_tokens() {
    let identity = Credentials::new("AKID", "secret", Some("session".into()), None, "test").into();
    let base = eks_token::sts_base_url("us-east-1", Some("http://127.0.0.1:5000/"));
    let token = eks_token::mint(&identity, &base, "us-east-1", "c", SystemTime::now()).unwrap();
    let url = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.trim_start_matches("k8s-aws-v1."))
            .unwrap(),
    )
    .unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:5000/?Action=GetCallerIdentity"),
        "{url}"
    );
    assert_eq!(query(&url)["X-Amz-Security-Token"], "session");
}
