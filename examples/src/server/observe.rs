//! Request ids and the access log: every request gets an `x-request-id`
//! (the client's if it sent a sane one, else a fresh UUID), echoed on the
//! response and written with one structured log line per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::{MakeRequestId, MakeRequestUuid};

/// The header carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied id kept; longer ones are replaced so a client
/// cannot flood the logs through this header.
const MAX_ID_LEN: usize = 128;

fn client_id(request: &Request) -> Option<HeaderValue> {
    request
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| {
            let bytes = v.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_ID_LEN
                && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
}

/// Middleware: assigns the request id and logs the request when it is done.
pub async fn request_id_and_log(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = match client_id(&request) {
        Some(id) => id,
        None => MakeRequestUuid
            .make_request_id(&request)
            .map(|id| id.header_value().clone())
            .unwrap_or_else(|| HeaderValue::from_static("unknown")),
    };
    request.headers_mut().insert(REQUEST_ID, id.clone());
    let method = request.method().clone();
    // The route pattern, not the raw path, keeps log cardinality bounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| request.uri().path().chars().take(200).collect());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id.clone());
    tracing::info!(
        target: "vaultiq::http",
        request_id = %String::from_utf8_lossy(id.as_bytes()),
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
