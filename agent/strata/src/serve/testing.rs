//! Test helpers: the server on a free local port, a small HTTP client, and a status
//! with something in every field.

use std::sync::Arc;

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::oneshot;

use super::AgentState;
use crate::status::{
    Condition, Drift, ErrorStatus, LeaderStatus, ObjectCounts, Outcome, Pass, RevisionStamp,
    SourceStatus, Status, StepStatus, WorkloadStatus,
};

/// A running server; dropping it shuts the server down.
pub struct Server {
    pub base: String,
    pub state: Arc<AgentState>,
    client: Client<HttpConnector, Full<Bytes>>,
    _shutdown: oneshot::Sender<()>,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Response {
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }
}

impl Server {
    pub async fn start(state: Arc<AgentState>) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(super::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Server {
            base,
            state,
            client: Client::builder(TokioExecutor::new()).build_http(),
            _shutdown: shutdown,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path, &[], "").await
    }

    pub async fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        self.request(Method::POST, path, headers, body).await
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Response {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .unwrap();
        let response = self
            .client
            .request(request)
            .await
            .expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Response {
            status,
            headers,
            body: String::from_utf8(body.to_vec()).expect("UTF-8 body"),
        }
    }
}

/// GitHub's `X-Hub-Signature-256` for `body`.
pub fn sign(secret: &str, body: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    format!("sha256={}", hex::encode(hmac::sign(&key, body.as_bytes())))
}

/// 2025-06-01T12:00:00Z: the "now" of rendering tests.
pub fn now() -> Timestamp {
    "2025-06-01T12:00:00Z".parse().unwrap()
}

fn ago(seconds: i64) -> Timestamp {
    now() - SignedDuration::from_secs(seconds)
}

fn condition(status: &str, reason: &str, message: &str, since: i64) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: ago(since),
    }
}

fn step(name: &str, outcome: Outcome, message: &str, duration_ms: u64) -> StepStatus {
    StepStatus {
        name: name.into(),
        outcome,
        message: message.into(),
        duration_ms,
    }
}

/// A leader after a stalled pass, with one workload in each state.
pub fn sample_status() -> Status {
    let fetched = "4f2a9c1e7b3d5a6c8e0f1a2b3c4d5e6f7a8b9c0d";
    let applied = "9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b";
    Status {
        cluster: Some("prod-eu".into()),
        source: SourceStatus {
            repo: "https://github.com/acme/platform-config.git".into(),
            reference: "main".into(),
            path: Some("clusters/prod".into()),
        },
        leader: LeaderStatus {
            identity: "strata-agent-0".into(),
            is_leader: true,
            holder: Some("strata-agent-0".into()),
        },
        last_fetched: Some(RevisionStamp {
            revision: fetched.into(),
            at: ago(120),
        }),
        last_applied: Some(RevisionStamp {
            revision: applied.into(),
            at: ago(3 * 3600),
        }),
        last_success: Some(ago(3 * 3600)),
        last_pass: Some(Pass {
            revision: Some(fetched.into()),
            started: ago(125),
            duration_ms: 3_250,
            trigger: "webhook".into(),
            outcome: Outcome::Stalled,
            steps: vec![
                step("fetch", Outcome::Ready, "fetched 4f2a9c1e7b3d", 410),
                step(
                    "render",
                    Outcome::Stalled,
                    "1 error in tiers/redis.yaml",
                    2_840,
                ),
            ],
            objects: ObjectCounts::default(),
        }),
        last_error: Some(ErrorStatus {
            class: Outcome::Stalled,
            step: "render".into(),
            message: "the config repo has errors".into(),
            details: vec!["tiers/redis.yaml#2 spec.masters: must be at least 3".into()],
            at: ago(122),
        }),
        drift: Drift {
            count: 1,
            objects: vec!["StatefulSet data/redis: spec.replicas".into()],
            total: 4,
        },
        inventory: 57,
        workloads: vec![
            WorkloadStatus {
                namespace: "vector".into(),
                name: "weaviate".into(),
                tier: "VectorStore".into(),
                conditions: vec![condition(
                    "True",
                    "RolloutComplete",
                    "3 of 3 replicas ready",
                    86_400,
                )],
            },
            WorkloadStatus {
                namespace: "data".into(),
                name: "redis".into(),
                tier: "RedisCluster".into(),
                conditions: vec![condition(
                    "Unknown",
                    "RolloutInProgress",
                    "StatefulSet data/redis: 2 of 6 replicas ready",
                    300,
                )],
            },
            WorkloadStatus {
                namespace: "stream".into(),
                name: "events".into(),
                tier: "StreamCluster".into(),
                conditions: vec![condition(
                    "False",
                    "ProgressDeadlineExceeded",
                    "Deployment stream/events-connect: progress deadline exceeded",
                    5_400,
                )],
            },
        ],
    }
}
