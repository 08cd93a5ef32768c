//! `POST /hooks/git`: a push webhook from GitHub or GitLab asks for a sync now instead of
//! at the next interval. The request is authenticated with a shared secret: GitHub signs
//! the body (`X-Hub-Signature-256`), GitLab sends the secret itself (`X-Gitlab-Token`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::{constant_time, digest, hmac};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;

use super::AgentState;

/// Push payloads are a few kilobytes; GitHub caps them at 25 MB, but a push that large
/// carries nothing the agent needs, and buffering it for every caller is a cheap attack.
pub const MAX_BODY: usize = 1024 * 1024;

const GITHUB_SIGNATURE: &str = "x-hub-signature-256";
const GITHUB_SIGNATURE_SHA1: &str = "x-hub-signature";
const GITHUB_EVENT: &str = "x-github-event";
const GITHUB_DELIVERY: &str = "x-github-delivery";
const GITLAB_TOKEN: &str = "x-gitlab-token";
const GITLAB_EVENT: &str = "x-gitlab-event";

/// The shared webhook secret. Its `Debug` never shows the value, so it can sit in
/// structs that are logged.
pub struct WebhookSecret {
    key: hmac::Key,
    /// SHA-256 of the secret: GitLab tokens are compared by digest, so the comparison
    /// time says nothing about the secret's length either.
    digest: digest::Digest,
}

impl WebhookSecret {
    pub fn new(secret: &[u8]) -> Self {
        WebhookSecret {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            digest: digest::digest(&digest::SHA256, secret),
        }
    }

    /// Reads the secret from a file (a mounted Kubernetes Secret), without the trailing
    /// newline editors and `echo` add. An empty secret is refused: anyone could sign with it.
    pub fn from_file(path: &Path) -> io::Result<Self> {
        let mut bytes = std::fs::read(path)?;
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
        if bytes.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the webhook secret file {} is empty; put the shared secret in it",
                    path.display()
                ),
            ));
        }
        Ok(WebhookSecret::new(&bytes))
    }

    /// Checks GitHub's `sha256=<hex HMAC-SHA256 of the body>` in constant time.
    fn verify_github(&self, signature: &str, body: &[u8]) -> Result<(), Rejection> {
        let hex_tag = signature
            .strip_prefix("sha256=")
            .ok_or(Rejection::Malformed)?;
        let tag = hex::decode(hex_tag).map_err(|_| Rejection::Malformed)?;
        hmac::verify(&self.key, body, &tag).map_err(|_| Rejection::Mismatch)
    }

    fn verify_gitlab(&self, token: &[u8]) -> Result<(), Rejection> {
        let given = digest::digest(&digest::SHA256, token);
        constant_time::verify_slices_are_equal(given.as_ref(), self.digest.as_ref())
            .map_err(|_| Rejection::WrongToken)
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Why a webhook was refused; the text is the 401 response body and the log reason.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
enum Rejection {
    #[error("missing X-Hub-Signature-256 or X-Gitlab-Token header")]
    Missing,
    #[error("only SHA-256 signatures are accepted: X-Hub-Signature-256 is missing")]
    Sha1Only,
    #[error("malformed X-Hub-Signature-256: expected sha256=<hex>")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
    #[error("X-Gitlab-Token does not match")]
    WrongToken,
}

/// Who sent the webhook, as far as the headers say (not yet verified).
enum Sender<'a> {
    GitHub { signature: &'a str },
    GitLab { token: &'a [u8] },
}

pub async fn handle(
    State(state): State<Arc<AgentState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(secret) = state.webhook_secret() else {
        return (
            StatusCode::NOT_FOUND,
            "webhook disabled: start the agent with --webhook-secret-file",
        )
            .into_response();
    };
    // Header values are attacker-controlled: logged with `?` so they are escaped.
    let event = header(&headers, GITHUB_EVENT).or_else(|| header(&headers, GITLAB_EVENT));
    let delivery = header(&headers, GITHUB_DELIVERY);
    let reject = |rejection: Rejection| {
        tracing::info!(%peer, ?event, ?delivery, reason = %rejection, "webhook rejected");
        (StatusCode::UNAUTHORIZED, rejection.to_string()).into_response()
    };

    let sender = match sender(&headers) {
        Ok(sender) => sender,
        Err(rejection) => return reject(rejection),
    };
    let provider = match sender {
        Sender::GitLab { token } => {
            // The token is the proof; the body is not needed and not read.
            if let Err(rejection) = secret.verify_gitlab(token) {
                return reject(rejection);
            }
            "gitlab"
        }
        Sender::GitHub { signature } => {
            let body = match read_body(body).await {
                Ok(body) => body,
                Err(response) => return response,
            };
            if let Err(rejection) = secret.verify_github(signature, &body) {
                return reject(rejection);
            }
            // GitHub sends a signed ping when the hook is created: proof the secret
            // matches, not a push.
            if event == Some("ping") {
                tracing::info!(%peer, ?delivery, "webhook ping accepted");
                return (StatusCode::OK, "pong").into_response();
            }
            "github"
        }
    };

    tracing::info!(%peer, provider, ?event, ?delivery, "webhook accepted: sync requested");
    state.request_sync();
    (StatusCode::ACCEPTED, "sync requested").into_response()
}

fn sender(headers: &HeaderMap) -> Result<Sender<'_>, Rejection> {
    if let Some(token) = headers.get(GITLAB_TOKEN) {
        return Ok(Sender::GitLab {
            token: token.as_bytes(),
        });
    }
    if let Some(signature) = headers.get(GITHUB_SIGNATURE) {
        let signature = signature.to_str().map_err(|_| Rejection::Malformed)?;
        return Ok(Sender::GitHub { signature });
    }
    if headers.contains_key(GITHUB_SIGNATURE_SHA1) {
        return Err(Rejection::Sha1Only);
    }
    Err(Rejection::Missing)
}

/// The body, at most [`MAX_BODY`] bytes: 413 beyond, 400 if the client broke off.
async fn read_body(body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|error| {
        let too_large =
            std::error::Error::source(&error).is_some_and(|source| source.is::<LengthLimitError>());
        if too_large {
            tracing::info!(limit = MAX_BODY, "webhook rejected: body too large");
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("webhook body larger than {MAX_BODY} bytes"),
            )
                .into_response()
        } else {
            (StatusCode::BAD_REQUEST, "cannot read the request body").into_response()
        }
    })
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::serve::testing::{Server, sign};
    use crate::status::Status;

    const SECRET: &str = "s3cr3t-webhook-token";
    const PUSH: &str = r#"{"ref":"refs/heads/main","after":"0123456789abcdef"}"#;

    fn server_with_secret() -> impl Future<Output = Server> {
        Server::start(AgentState::new(
            Status::default(),
            Some(WebhookSecret::new(SECRET.as_bytes())),
            Duration::from_secs(60),
        ))
    }

    /// Whether a sync was requested, without waiting for one.
    async fn sync_was_requested(state: &AgentState) -> bool {
        tokio::time::timeout(Duration::from_millis(50), state.sync_requested())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn github_valid_signature_requests_a_sync() {
        let server = server_with_secret().await;
        let signature = sign(SECRET, PUSH);
        let response = server
            .post(
                "/hooks/git",
                &[
                    ("X-GitHub-Event", "push"),
                    ("X-Hub-Signature-256", &signature),
                ],
                PUSH,
            )
            .await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
        assert_eq!(response.body, "sync requested");
        tokio::time::timeout(Duration::from_secs(5), server.state.sync_requested())
            .await
            .expect("sync_requested resolves after a valid webhook");
        // One webhook, one sync: the permit is used up.
        assert!(!sync_was_requested(&server.state).await);
    }

    #[tokio::test]
    async fn github_bad_signatures_are_refused_without_sync() {
        let server = server_with_secret().await;
        let wrong_body = sign(SECRET, "another body");
        let wrong_secret = sign("not-the-secret", PUSH);
        let sha1 = "sha1=0123456789abcdef0123456789abcdef01234567";
        // (case, the one header sent, its value, what the 401 says)
        let cases = [
            (
                "wrong signature",
                "X-Hub-Signature-256",
                wrong_body.as_str(),
                "does not match",
            ),
            (
                "wrong secret",
                "X-Hub-Signature-256",
                &wrong_secret,
                "does not match",
            ),
            ("missing signature", "X-GitHub-Event", "push", "missing"),
            (
                "malformed hex",
                "X-Hub-Signature-256",
                "sha256=zz-not-hex",
                "malformed",
            ),
            (
                "no sha256= prefix",
                "X-Hub-Signature-256",
                "abcdef",
                "malformed",
            ),
            ("sha1 only", "X-Hub-Signature", sha1, "SHA-256"),
        ];
        for (case, name, value, reason) in cases {
            let response = server.post("/hooks/git", &[(name, value)], PUSH).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{case}");
            assert!(response.body.contains(reason), "{case}: {}", response.body);
            assert!(!response.body.contains(SECRET), "{case}");
        }
        assert!(!sync_was_requested(&server.state).await);
    }

    #[tokio::test]
    async fn github_ping_is_answered_without_sync() {
        let server = server_with_secret().await;
        let body = r#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
        let signature = sign(SECRET, body);
        let response = server
            .post(
                "/hooks/git",
                &[
                    ("X-GitHub-Event", "ping"),
                    ("X-Hub-Signature-256", &signature),
                ],
                body,
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.body);
        assert!(!sync_was_requested(&server.state).await);

        // An unsigned ping is still refused.
        let response = server
            .post("/hooks/git", &[("X-GitHub-Event", "ping")], body)
            .await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn gitlab_token_is_checked() {
        let server = server_with_secret().await;
        let gitlab = |token| [("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", token)];

        for token in [
            "wrong",
            "",
            "s3cr3t-webhook-token-but-longer",
            "S3CR3T-WEBHOOK-TOKEN",
        ] {
            let response = server.post("/hooks/git", &gitlab(token), PUSH).await;
            assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{token:?}");
            assert_eq!(response.body, "X-Gitlab-Token does not match");
        }
        assert!(!sync_was_requested(&server.state).await);

        let response = server.post("/hooks/git", &gitlab(SECRET), PUSH).await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.body);
        assert!(sync_was_requested(&server.state).await);
    }

    #[tokio::test]
    async fn without_secret_the_webhook_is_disabled() {
        let server = Server::start(AgentState::new(
            Status::default(),
            None,
            Duration::from_secs(60),
        ))
        .await;
        let signature = sign(SECRET, PUSH);
        let response = server
            .post("/hooks/git", &[("X-Hub-Signature-256", &signature)], PUSH)
            .await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert!(
            response.body.contains("--webhook-secret-file"),
            "{}",
            response.body
        );
        assert!(!sync_was_requested(&server.state).await);
    }

    #[tokio::test]
    async fn oversize_body_is_refused() {
        let server = server_with_secret().await;
        let body = "x".repeat(MAX_BODY + 1);
        let signature = sign(SECRET, &body);
        let response = server
            .post("/hooks/git", &[("X-Hub-Signature-256", &signature)], &body)
            .await;
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(!sync_was_requested(&server.state).await);

        // At the limit is fine.
        let body = "x".repeat(MAX_BODY);
        let signature = sign(SECRET, &body);
        let response = server
            .post("/hooks/git", &[("X-Hub-Signature-256", &signature)], &body)
            .await;
        assert_eq!(response.status, StatusCode::ACCEPTED);
    }

    #[test]
    fn secret_file_is_trimmed_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");

        std::fs::write(&path, format!("{SECRET}\r\n")).unwrap();
        let secret = WebhookSecret::from_file(&path).unwrap();
        assert_eq!(
            secret.verify_github(&sign(SECRET, PUSH), PUSH.as_bytes()),
            Ok(())
        );
        assert_eq!(secret.verify_gitlab(SECRET.as_bytes()), Ok(()));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(<redacted>)");

        std::fs::write(&path, "\n").unwrap();
        let error = WebhookSecret::from_file(&path).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("is empty"), "{error}");

        let error = WebhookSecret::from_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
