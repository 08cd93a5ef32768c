//! HTTP: one axum fallback handler that authenticates, counts, logs and hands the
//! request to the API under the state lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::api::{self, Request};
use crate::error::ApiError;
use crate::write;

/// What the server shares between connections.
pub struct App {
    pub state: Mutex<write::State>,
    pub auth: Auth,
    /// The presigned URLs of the EKS tokens accepted so far, each once, in order.
    pub eks_urls: Mutex<Vec<String>>,
    pub requests: AtomicU64,
    pub writes: AtomicU64,
    /// `METHOD path?query` of every request, in order.
    pub log: Mutex<Vec<String>>,
}

/// Which bearer tokens the server accepts.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Any token, or none.
    Any,
    /// Exactly this one.
    Token(String),
    /// Any well-formed EKS token (see [`crate::eks_token`]).
    Eks,
}

impl App {
    pub fn new(state: write::State, auth: Auth) -> Self {
        Self {
            state: Mutex::new(state),
            auth,
            eks_urls: Mutex::default(),
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            log: Mutex::default(),
        }
    }

    /// The state, even after a panic in another request (the data is still consistent:
    /// writes replace whole objects).
    pub fn state(&self) -> MutexGuard<'_, write::State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(32 << 20))
        .with_state(app)
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn handle(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.requests.fetch_add(1, Ordering::SeqCst);
    let target = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    app.log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(format!("{method} {target}"));

    let result = authenticate(&app, &headers).and_then(|()| {
        let req = Request {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            query: parse_query(uri.query().unwrap_or_default()),
            content_type: header_str(&headers, header::CONTENT_TYPE),
            accept: header_str(&headers, header::ACCEPT),
            user_agent: header_str(&headers, header::USER_AGENT),
            host: header_str(&headers, header::HOST),
            body: body.to_vec(),
        };
        // A bug in one handler answers 500 instead of dropping the connection.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            api::handle(&mut app.state(), &req)
        }))
        .unwrap_or_else(|_| {
            Err(ApiError::internal(
                "the stand-in panicked handling this request",
            ))
        })
    });
    let (code, body, content_type) = match result {
        Ok(r) => {
            if r.wrote {
                app.writes.fetch_add(1, Ordering::SeqCst);
            }
            (r.code, r.body, r.content_type)
        }
        Err(e) => (e.code, e.to_status(), "application/json"),
    };
    tracing::debug!(%method, target, code, "request");
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // Plain-text answers (the health endpoints) are sent as the bare string.
    let text = match body {
        serde_json::Value::String(s) if content_type.starts_with("text/plain") => s,
        other => other.to_string(),
    };
    (status, [(header::CONTENT_TYPE, content_type)], text).into_response()
}

fn authenticate(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = header_str(headers, header::AUTHORIZATION);
    let bearer = given.strip_prefix("Bearer ").map(str::trim);
    match (&app.auth, bearer) {
        (Auth::Any, _) => Ok(()),
        (Auth::Token(token), Some(t)) if t == token => Ok(()),
        (Auth::Eks, Some(t)) => match crate::eks_token::check(t, jiff::Timestamp::now()) {
            Ok(url) => {
                let mut seen = app.eks_urls.lock().unwrap_or_else(|p| p.into_inner());
                if !seen.contains(&url) {
                    tracing::info!(%url, "accepted an EKS token");
                    seen.push(url);
                }
                Ok(())
            }
            Err(problem) => {
                tracing::info!(%problem, "refused a bearer token");
                Err(ApiError::unauthorized())
            }
        },
        _ => Err(ApiError::unauthorized()),
    }
}

/// `application/x-www-form-urlencoded` pairs.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("labelSelector=app+in+%28a%2Cb%29&dryRun=All&x"),
            [
                ("labelSelector".to_owned(), "app in (a,b)".to_owned()),
                ("dryRun".to_owned(), "All".to_owned()),
                ("x".to_owned(), String::new())
            ]
        );
    }
}
