//! A proxy in front of the stand-in that answers DELETEs of chosen paths with a 409, as
//! a failed delete precondition would, and passes everything else through.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

/// Starts the proxy to `upstream` (`http://127.0.0.1:PORT`); returns its URL. It runs
/// until the test's runtime ends.
pub async fn failing_deletes(upstream: String, paths: Vec<String>) -> String {
    let client: Client<HttpConnector, Body> = Client::builder(TokioExecutor::new()).build_http();
    let paths = Arc::new(paths);
    let upstream = Arc::new(upstream);
    let app = axum::Router::new().fallback(move |request: Request<Body>| {
        let (client, paths, upstream) = (client.clone(), paths.clone(), upstream.clone());
        async move { forward(client, &paths, &upstream, request).await }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

async fn forward(
    client: Client<HttpConnector, Body>,
    paths: &[String],
    upstream: &str,
    mut request: Request<Body>,
) -> Response {
    if request.method() == Method::DELETE && paths.iter().any(|p| p == request.uri().path()) {
        let status = json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 409, "reason": "Conflict",
            "message": "Operation cannot be fulfilled: the ResourceVersion in the precondition does not match",
        });
        return (StatusCode::CONFLICT, axum::Json(status)).into_response();
    }
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    *request.uri_mut() = format!("{upstream}{path}").parse::<Uri>().unwrap();
    match client.request(request).await {
        Ok(response) => response.map(Body::new).into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
