//! Load limits: a fixed number of requests in flight, a bounded queue of
//! requests waiting for a slot (the rest get 503 at once instead of
//! queueing without bound), and a deadline per request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::ApiError;

/// Request slots shared by every route behind the limit, and the queue of
/// requests waiting for one.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    slots: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    max_queue: usize,
    max_wait: Duration,
}

impl ConcurrencyLimit {
    /// At most `max` requests at once (at least one); up to `max_queue`
    /// more wait at most `max_wait` for a slot.
    pub fn new(max: usize, max_queue: usize, max_wait: Duration) -> Self {
        ConcurrencyLimit {
            slots: Arc::new(Semaphore::new(max.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            max_queue,
            max_wait,
        }
    }

    /// A slot now, or after a bounded wait in the queue; `None` means shed.
    async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Some(permit);
        }
        // Join the queue only if it has room; the counter is the queue.
        let queued = self
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.max_queue).then_some(n + 1)
            })
            .is_ok();
        if !queued {
            return None;
        }
        let permit = tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match permit {
            Ok(Ok(permit)) => Some(permit),
            _ => None,
        }
    }
}

/// Middleware: takes a slot (waiting in the bounded queue if need be) or
/// answers 503 `overloaded`.
pub async fn limit_concurrency(
    State(limit): State<ConcurrencyLimit>,
    request: Request,
    next: Next,
) -> Response {
    let Some(permit) = limit.acquire().await else {
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
