//! Test support for `strata-agent run`: a Kubernetes API stand-in, a real git remote
//! (a bare repository on disk) with a working clone to commit and push from, the agent
//! as a real process, and a small HTTP client for its status API.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube_standin::{Options, StandIn};
use serde_json::Value;
use tempfile::TempDir;

pub const AGENT_NAMESPACE: &str = "strata-system";
pub const CLUSTER: &str = "us-west-2";

/// A cluster (the stand-in), a config repo remote and a clone to push from.
pub struct World {
    pub api: StandIn,
    pub dir: TempDir,
    pub remote: PathBuf,
    pub work: PathBuf,
    pub kubeconfig: PathBuf,
}

impl World {
    /// The example config repo committed to `main` of a fresh remote, and an empty
    /// cluster with the agent's namespace.
    pub fn new(options: Options) -> World {
        let api = StandIn::start(options).expect("the API stand-in starts");
        let dir = tempfile::tempdir().expect("temp dir");
        let remote = dir.path().join("config.git");
        let work = dir.path().join("work");
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", path(&remote)],
        );
        git(dir.path(), &["init", "-q", "-b", "main", path(&work)]);
        copy_dir(&example_repo(), &work);
        git(&work, &["add", "-A"]);
        commit(&work, "the example platform");
        git(&work, &["remote", "add", "origin", path(&remote)]);
        git(&work, &["push", "-q", "origin", "main"]);
        let kubeconfig = dir.path().join("kubeconfig");
        api.write_kubeconfig(&kubeconfig)
            .expect("kubeconfig written");
        let world = World {
            api,
            dir,
            remote,
            work,
            kubeconfig,
        };
        let (code, body) = world.kube(
            "POST",
            "/api/v1/namespaces",
            Some(r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"strata-system"}}"#),
            "application/json",
        );
        assert_eq!(code, 201, "namespace created: {body}");
        world
    }

    /// Like [`World::new`], on a cluster that runs the Prometheus operator (its CRDs
    /// installed), as the example repo's monitoring objects expect.
    pub fn with_monitoring(options: Options) -> World {
        let world = World::new(options);
        world.install_monitoring_crds();
        world
    }

    pub fn install_monitoring_crds(&self) {
        for (plural, kind) in [
            ("servicemonitors", "ServiceMonitor"),
            ("prometheusrules", "PrometheusRule"),
        ] {
            let crd = serde_json::json!({
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": format!("{plural}.monitoring.coreos.com")},
                "spec": {
                    "group": "monitoring.coreos.com",
                    "scope": "Namespaced",
                    "names": {"plural": plural, "singular": kind.to_ascii_lowercase(), "kind": kind, "listKind": format!("{kind}List")},
                    "versions": [{"name": "v1", "served": true, "storage": true,
                                  "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]
                }
            });
            let (code, body) = self.kube(
                "POST",
                "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                Some(&crd.to_string()),
                "application/json",
            );
            assert_eq!(code, 201, "CRD {plural} created: {body}");
        }
    }

    pub fn remote_url(&self) -> String {
        format!("file://{}", self.remote.display())
    }

    /// Writes `contents` to `file` of the working clone (removes it for `None`), commits
    /// and pushes. Returns the new commit id.
    pub fn push(&self, file: &str, contents: Option<&str>, message: &str) -> String {
        self.push_all(&[(file, contents)], message)
    }

    /// Like [`World::push`], with several files changed in one commit.
    pub fn push_all(&self, changes: &[(&str, Option<&str>)], message: &str) -> String {
        for (file, contents) in changes {
            let target = self.work.join(file);
            match contents {
                Some(text) => std::fs::write(&target, text).expect("file written"),
                None => std::fs::remove_file(&target).expect("file removed"),
            }
        }
        git(&self.work, &["add", "-A"]);
        commit(&self.work, message);
        git(&self.work, &["push", "-q", "origin", "main"]);
        self.head()
    }

    pub fn head(&self) -> String {
        git(&self.work, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Resets `main` to `commit` and force-pushes it.
    pub fn force_push(&self, commit: &str) {
        git(&self.work, &["reset", "-q", "--hard", commit]);
        git(&self.work, &["push", "-q", "--force", "origin", "main"]);
    }

    pub fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.work.join(file)).expect("file readable")
    }

    /// A request to the API stand-in: (status code, body as JSON).
    pub fn kube(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        content_type: &str,
    ) -> (u16, Value) {
        let (code, text) = http(
            &self.api.url(),
            method,
            path,
            &[("Content-Type", content_type)],
            body,
        );
        (
            code,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The stored object at `path`.
    pub fn object(&self, path: &str) -> Option<Value> {
        self.api.get(path)
    }

    /// Every stored object of a list path, e.g. `/apis/apps/v1/statefulsets`.
    pub fn list(&self, path: &str) -> Vec<Value> {
        let (code, body) = self.kube("GET", path, None, "application/json");
        assert_eq!(code, 200, "list {path}: {body}");
        body["items"].as_array().cloned().unwrap_or_default()
    }
}

/// A running `strata-agent run` and everything it printed on stderr.
pub struct Agent {
    pub child: Child,
    pub url: String,
    pub log: Arc<Mutex<String>>,
}

impl Agent {
    /// Starts the agent against the world's remote with `extra` arguments appended.
    pub fn start(world: &World, extra: &[&str]) -> Agent {
        let cache = world.dir.path().join("cache");
        let mut args: Vec<String> = vec![
            "run".into(),
            world.remote_url(),
            "--ref".into(),
            "main".into(),
            "--cluster".into(),
            CLUSTER.into(),
            "--kubeconfig".into(),
            path(&world.kubeconfig).into(),
            "--namespace".into(),
            AGENT_NAMESPACE.into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--cache-dir".into(),
            path(&cache).into(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        Agent::spawn(&args)
    }

    pub fn spawn(args: &[String]) -> Agent {
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the agent starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("strata-agent: status API listening on ") {
                    let _ = tx.send(url.to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!("the agent did not start:\n{}", log.lock().unwrap());
            }
        };
        Agent { child, url, log }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// `GET /status` as JSON.
    pub fn status(&self) -> Value {
        let (code, body) = http(&self.url, "GET", "/status", &[], None);
        assert_eq!(code, 200, "GET /status: {body}");
        serde_json::from_str(&body).expect("/status is JSON")
    }

    /// Polls `/status` until `done` holds; panics with the status and log after `limit`.
    #[track_caller]
    pub fn wait_for(&self, what: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let status = self.status();
            if done(&status) {
                return status;
            }
            if start.elapsed() > limit {
                panic!(
                    "timed out after {limit:?} waiting for {what}\n--- status\n{}\n--- log\n{}",
                    serde_json::to_string_pretty(&status).unwrap(),
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until the last applied revision is `revision` and the last pass was of it.
    #[track_caller]
    pub fn wait_applied(&self, revision: &str) -> Value {
        self.wait_for(
            &format!("revision {revision} applied"),
            Duration::from_secs(20),
            |s| s["lastApplied"]["revision"] == revision && s["lastPass"]["revision"] == revision,
        )
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client (one request per connection): (status, body).
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String) {
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = body.unwrap_or("");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, rest) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        code,
        if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        },
    )
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        text = &rest[size + 2..];
    }
    out
}

pub fn example_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/config-repo")
}

pub fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn commit(dir: &Path, message: &str) {
    git(
        dir,
        &[
            "-c",
            "user.name=Strata Test",
            "-c",
            "user.email=test@strata.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        ],
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The API path of an object's JSON (from `strata-agent render` output or the store).
pub fn api_path(object: &Value) -> String {
    let api_version = object["apiVersion"].as_str().unwrap();
    let kind = object["kind"].as_str().unwrap();
    let name = object["metadata"]["name"].as_str().unwrap();
    let plural = plural(kind);
    let base = if api_version.contains('/') {
        format!("/apis/{api_version}")
    } else {
        format!("/api/{api_version}")
    };
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{base}/namespaces/{ns}/{plural}/{name}"),
        None => format!("{base}/{plural}/{name}"),
    }
}

pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{lower}s"),
    }
}

/// The objects `strata-agent render` gives for the world's working clone at HEAD.
pub fn rendered(world: &World) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_strata-agent"))
        .args(["render", path(&world.work), "--cluster", CLUSTER])
        .output()
        .expect("render runs");
    assert!(
        output.status.success(),
        "render: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    text.split("\n---\n")
        .map(|doc| doc.trim_start_matches("---\n"))
        .filter(|doc| !doc.trim().is_empty())
        .map(|doc| serde_saphyr::from_str::<Value>(doc).expect("rendered YAML parses"))
        .collect()
}

/// GitHub's signature header value for `body` under `secret`.
pub fn github_signature(secret: &str, body: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, body.as_bytes());
    format!("sha256={}", hex::encode(tag.as_ref()))
}
