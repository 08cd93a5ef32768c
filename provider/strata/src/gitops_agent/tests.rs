use super::*;

fn spec() -> AgentSpec {
    AgentSpec {
        namespace: "gitops".into(),
        image: "registry.example.com/strata-agent:0.2.0".into(),
        replicas: 3,
        repository: "https://git.example.com/platform/config.git".into(),
        git_ref: "release".into(),
        path: Some("clusters".into()),
        cluster_name: Some("us-west-2".into()),
        interval: "1m".into(),
        git_token: Some(SecretString::from("tok-123")),
        git_ssh_key: None,
        webhook_secret: Some(SecretString::from("hook-456")),
        labels: BTreeMap::from([("team".to_owned(), "platform".to_owned())]),
    }
}

fn yaml_docs() -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple::<serde_json::Value>(DEPLOY_YAML)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn doc(kind: &str) -> serde_json::Value {
    yaml_docs()
        .into_iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in the deploy file"))
}

#[test]
fn rbac_rules_are_the_deploy_files_unchanged() {
    let o = objects(&spec());
    let rules = |v: serde_json::Value| v["rules"].clone();
    assert_eq!(
        rules(serde_json::to_value(&o.cluster_role).unwrap()),
        rules(doc("ClusterRole"))
    );
    assert_eq!(
        rules(serde_json::to_value(&o.role).unwrap()),
        rules(doc("Role"))
    );
    // And the role references of the bindings.
    assert_eq!(
        serde_json::to_value(&o.cluster_role_binding).unwrap()["roleRef"],
        doc("ClusterRoleBinding")["roleRef"]
    );
    assert_eq!(
        serde_json::to_value(&o.role_binding).unwrap()["roleRef"],
        doc("RoleBinding")["roleRef"]
    );
    // The bindings name the service account in the chosen namespace.
    for subjects in [&o.cluster_role_binding.subjects, &o.role_binding.subjects] {
        let s = &subjects.as_ref().unwrap()[0];
        assert_eq!(
            (s.kind.as_str(), s.name.as_str(), s.namespace.as_deref()),
            ("ServiceAccount", "strata-agent", Some("gitops"))
        );
    }
}

#[test]
fn defaults_reproduce_the_deploy_file() {
    // With the deploy file's own values, the Deployment is the deploy file's except the
    // checksum annotation and the arguments' order.
    let s = AgentSpec {
        namespace: "strata-system".into(),
        image: "strata-agent:0.1.0".into(),
        replicas: 2,
        repository: "https://git.example.com/platform/config.git".into(),
        git_ref: "main".into(),
        path: Some(".".into()),
        cluster_name: Some("us-west-2".into()),
        interval: "30s".into(),
        git_token: Some(SecretString::from("t")),
        git_ssh_key: None,
        webhook_secret: Some(SecretString::from("w")),
        labels: BTreeMap::new(),
    };
    let o = objects(&s);
    let mut ours = serde_json::to_value(&o.deployment).unwrap();
    let mut theirs = doc("Deployment");
    let pointer = "/spec/template/spec/containers/0/args";
    let sorted = |v: &serde_json::Value| {
        let mut a: Vec<String> =
            serde_json::from_value(v.pointer(pointer).unwrap().clone()).unwrap();
        a.retain(|x| !x.starts_with("--interval"));
        a.sort();
        a
    };
    assert_eq!(sorted(&ours), sorted(&theirs));
    for v in [&mut ours, &mut theirs] {
        *v.pointer_mut(pointer).unwrap() = serde_json::Value::Null;
    }
    ours["spec"]["template"]["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    let canonical =
        |v: &serde_json::Value| -> Deployment { serde_json::from_value(v.clone()).unwrap() };
    assert_eq!(canonical(&ours), canonical(&theirs));
    assert_eq!(
        serde_json::to_value(&o.service).unwrap(),
        serde_json::to_value(serde_json::from_value::<Service>(doc("Service")).unwrap()).unwrap()
    );
}

#[test]
fn the_deployment_runs_the_agent_with_the_parameters() {
    let o = objects(&spec());
    let container = agent_container(&o.deployment).unwrap();
    assert_eq!(
        container.image.as_deref(),
        Some("registry.example.com/strata-agent:0.2.0")
    );
    assert_eq!(o.deployment.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(
        container.args.as_ref().unwrap(),
        &[
            "run",
            "https://git.example.com/platform/config.git",
            "--ref=release",
            "--path=clusters",
            "--cluster=us-west-2",
            "--interval=1m",
            "--listen=0.0.0.0:8080",
            "--cache-dir=/var/cache/strata-agent",
            "--token-file=/etc/strata/git/token",
            "--webhook-secret-file=/etc/strata/webhook/secret",
        ]
    );
    let view = view(&o.deployment);
    assert_eq!(
        view.repository.as_deref(),
        Some("https://git.example.com/platform/config.git")
    );
    assert_eq!(view.git_ref.as_deref(), Some("release"));
    assert_eq!(view.path.as_deref(), Some("clusters"));
    assert_eq!(view.interval.as_deref(), Some("1m"));
    assert_eq!(
        view.labels,
        BTreeMap::from([("team".into(), "platform".into())])
    );
    // Every object lands in the namespace, labelled.
    assert_eq!(o.deployment.metadata.namespace.as_deref(), Some("gitops"));
    assert_eq!(o.namespace.metadata.name.as_deref(), Some("gitops"));
    assert_eq!(o.status_url(), "http://strata-agent.gitops.svc:8080");
    assert_eq!(
        o.installed(false),
        [
            "ServiceAccount gitops/strata-agent",
            "ClusterRole strata-agent",
            "ClusterRoleBinding strata-agent",
            "Role gitops/strata-agent-state",
            "RoleBinding gitops/strata-agent-state",
            "Secret gitops/strata-agent-git",
            "Secret gitops/strata-agent-webhook",
            "Deployment gitops/strata-agent",
            "Service gitops/strata-agent",
        ]
    );
}

#[test]
fn credentials_go_to_the_secrets_the_deployment_mounts() {
    let o = objects(&spec());
    let data = |s: &Secret| -> BTreeMap<String, String> {
        s.data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.0.clone()).unwrap()))
            .collect()
    };
    assert_eq!(
        data(&o.git_secret),
        BTreeMap::from([("token".into(), "tok-123".into())])
    );
    assert_eq!(
        data(&o.webhook_secret),
        BTreeMap::from([("secret".into(), "hook-456".into())])
    );
    assert_eq!(
        deployment_volume_secret(&o.deployment, GIT_VOLUME),
        "strata-agent-git"
    );
    assert_eq!(
        deployment_volume_secret(&o.deployment, WEBHOOK_VOLUME),
        "strata-agent-webhook"
    );

    // An ssh key instead of a token.
    let ssh = AgentSpec {
        git_token: None,
        git_ssh_key: Some(SecretString::from("-----BEGIN OPENSSH PRIVATE KEY-----")),
        webhook_secret: None,
        path: None,
        cluster_name: None,
        ..spec()
    };
    let o2 = objects(&ssh);
    assert_eq!(data(&o2.git_secret).keys().collect::<Vec<_>>(), ["ssh-key"]);
    assert!(o2.webhook_secret.data.is_none());
    let args = agent_container(&o2.deployment)
        .unwrap()
        .args
        .clone()
        .unwrap();
    assert!(args.contains(&"--ssh-key-file=/etc/strata/git/ssh-key".to_owned()));
    for flag in [
        "--token-file",
        "--webhook-secret-file",
        "--path",
        "--cluster",
    ] {
        assert!(
            !args.iter().any(|a| flag_of(a) == flag),
            "{flag} in {args:?}"
        );
    }
    // Credentials never show in Debug.
    assert!(!format!("{:?}", spec()).contains("tok-123"));
}

#[test]
fn a_credential_change_changes_the_pod_template() {
    let annotation = |s: &AgentSpec| {
        objects(s)
            .deployment
            .spec
            .unwrap()
            .template
            .metadata
            .unwrap()
            .annotations
            .unwrap()[CHECKSUM_ANNOTATION]
            .clone()
    };
    let a = annotation(&spec());
    assert_eq!(a, annotation(&spec()));
    let other = AgentSpec {
        webhook_secret: Some(SecretString::from("hook-789")),
        ..spec()
    };
    assert_ne!(a, annotation(&other));
    // The value moving from one key to another also counts.
    let moved = AgentSpec {
        git_token: None,
        git_ssh_key: Some(SecretString::from("tok-123")),
        ..spec()
    };
    assert_ne!(a, annotation(&moved));
    assert_eq!(a.len(), 64);
}

#[test]
fn args_parse_in_both_spellings() {
    let args: Vec<String> = [
        "run",
        "https://x/y.git",
        "--ref",
        "v1",
        "--path=a/b",
        "--once",
    ]
    .map(String::from)
    .to_vec();
    let parsed = parse_args(&args);
    assert_eq!(parsed["#1"], "https://x/y.git");
    assert_eq!(parsed["ref"], "v1");
    assert_eq!(parsed["path"], "a/b");
    assert_eq!(parsed["once"], "");
}
