//! Load limits: a fixed number of requests in flight (the rest get 503 at
//! once instead of queueing without bound) and a deadline per request.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::Semaphore;

use super::errors::ApiError;

/// Request slots shared by every route behind the limit.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit(Arc<Semaphore>);

impl ConcurrencyLimit {
    /// At most `max` requests at once (at least one).
    pub fn new(max: usize) -> Self {
        ConcurrencyLimit(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Middleware: takes a slot or answers 503 `overloaded` immediately.
pub async fn limit_concurrency(
    State(limit): State<ConcurrencyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let Ok(permit) = limit.0.clone().try_acquire_owned() else {
        return ApiError::overloaded().into_response();
    };
    let response = next.run(request).await;
    let streaming = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if !streaming {
        return response;
    }
    // A stream's work happens after the handler returns: keep the slot
    // until its body is finished or the client goes away.
    let (parts, body) = response.into_parts();
    let body = body.into_data_stream().map(move |chunk| {
        let _slot = &permit;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(body))
}

/// Middleware: answers 504 `timeout` when the handler runs past `limit`.
/// Dropping the handler's future cancels its work.
pub async fn deadline(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout_ms = limit.as_millis(), "request timed out");
            ApiError::timeout(limit).into_response()
        }
    }
}
