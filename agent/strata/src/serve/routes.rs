//! The HTTP routes: probes for the kubelet, `/status` for `strata-agent status`,
//! `/metrics` for Prometheus and the push webhook.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::{AgentState, metrics, webhook};
use crate::status::Status;

pub fn router(state: Arc<AgentState>) -> Router {
    // Unknown paths fall through to axum's empty 404.
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/hooks/git", post(webhook::handle))
        .with_state(state)
}

/// Liveness: the loop's heartbeat is recent. A stuck loop gets the pod restarted.
async fn healthz(State(state): State<Arc<AgentState>>) -> Response {
    match state.liveness() {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(stale) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "reconcile loop stalled: last heartbeat {}s ago (timeout {}s)",
                stale.age.as_secs(),
                stale.timeout.as_secs()
            ),
        )
            .into_response(),
    }
}

async fn readyz(State(state): State<Arc<AgentState>>) -> Response {
    if state.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: no reconcile pass or lease check yet",
        )
            .into_response()
    }
}

async fn status(State(state): State<Arc<AgentState>>) -> Json<Status> {
    Json(state.status())
}

async fn metrics(State(state): State<Arc<AgentState>>) -> Response {
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        state.metrics().encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::serve::WebhookSecret;
    use crate::serve::testing::{Server, sample_status};

    #[tokio::test]
    async fn healthz_follows_the_heartbeat() {
        let timeout = Duration::from_millis(300);
        let server = Server::start(AgentState::new(Status::default(), None, timeout)).await;
        let response = server.get("/healthz").await;
        assert_eq!(
            (response.status, response.body.as_str()),
            (StatusCode::OK, "ok")
        );

        tokio::time::sleep(timeout + Duration::from_millis(100)).await;
        let response = server.get("/healthz").await;
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            response.body.contains("last heartbeat"),
            "{}",
            response.body
        );

        server.state.heartbeat();
        assert_eq!(server.get("/healthz").await.status, StatusCode::OK);
    }

    #[tokio::test]
    async fn readyz_waits_for_set_ready() {
        let server = Server::start(AgentState::new(
            Status::default(),
            None,
            Duration::from_secs(60),
        ))
        .await;
        assert_eq!(
            server.get("/readyz").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
        server.state.set_ready(true);
        assert_eq!(server.get("/readyz").await.status, StatusCode::OK);
        server.state.set_ready(false);
        assert_eq!(
            server.get("/readyz").await.status,
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn status_round_trips() {
        let server = Server::start(AgentState::new(
            Status::default(),
            None,
            Duration::from_secs(60),
        ))
        .await;
        let response = server.get("/status").await;
        assert_eq!(response.status, StatusCode::OK);
        let served: Status = serde_json::from_str(&response.body).unwrap();
        assert_eq!(served, Status::default());

        let status = sample_status();
        server.state.publish(status.clone());
        let response = server.get("/status").await;
        assert_eq!(response.content_type(), Some("application/json"));
        let served: Status = serde_json::from_str(&response.body).unwrap();
        assert_eq!(served, status);
    }

    #[tokio::test]
    async fn credentials_are_never_served() {
        const TOKEN: &str = "ghp_do-not-leak-0123456789";
        let server = Server::start(AgentState::new(
            Status::default(),
            Some(WebhookSecret::new(TOKEN.as_bytes())),
            Duration::from_secs(60),
        ))
        .await;
        for repo in [
            format!("https://bot:{TOKEN}@github.com/org/config.git"),
            format!("https://{TOKEN}@github.com/org/config.git"),
        ] {
            let mut status = sample_status();
            status.source.repo = repo;
            server.state.publish(status);
            for path in ["/status", "/metrics"] {
                let response = server.get(path).await;
                assert_eq!(response.status, StatusCode::OK);
                assert!(!response.body.contains(TOKEN), "{path}: {}", response.body);
            }
            let served: Status = serde_json::from_str(&server.get("/status").await.body).unwrap();
            assert!(served.source.repo.contains("***@github.com/org/config.git"));
        }
    }

    #[tokio::test]
    async fn unknown_paths_are_404() {
        let server = Server::start(AgentState::new(
            Status::default(),
            None,
            Duration::from_secs(60),
        ))
        .await;
        for path in ["/", "/nope", "/status/extra", "/hooks/github"] {
            assert_eq!(
                server.get(path).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
    }
}
