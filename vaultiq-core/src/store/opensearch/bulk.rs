//! `_bulk` in bounded batches with per-item outcomes: throttled (429) and
//! unavailable (5xx) items are sent again with back-off, rejected items
//! (other 4xx) are reported by chunk id; no item is dropped silently.
//! Response shape: https://docs.opensearch.org/latest/api-reference/document-apis/bulk/#example-response

use std::time::Duration;

use opensearch::params::Refresh;
use opensearch::BulkParts;
use rand::Rng;
use serde_json::Value;

use super::OpenSearchStore;
use crate::{Error, Result};

/// How large one `_bulk` request may grow.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchLimits {
    pub max_records: usize,
    pub max_bytes: usize,
}

/// Bounded retries with exponential, jittered back-off.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl RetryPolicy {
    /// Sleeps before attempt `attempt + 1`; a server's `Retry-After`
    /// (seconds) wins when given, capped at 30 s.
    pub(crate) async fn wait(&self, attempt: u32, retry_after: Option<u64>) {
        let delay = match retry_after {
            Some(seconds) => Duration::from_secs(seconds.min(30)),
            None => {
                let base = self.first_backoff.saturating_mul(1 << attempt.min(10));
                let jitter = rand::rng().random_range(0.5..1.0);
                base.mul_f64(jitter).min(Duration::from_secs(30))
            }
        };
        tokio::time::sleep(delay).await;
    }
}

/// One bulk action: its metadata line, its source line (absent for
/// deletes) and what to call it in errors (empty: a delete).
#[derive(Debug, Clone)]
pub(crate) struct Action {
    pub meta: String,
    pub source: Option<String>,
    pub label: String,
}

impl Action {
    fn bytes(&self) -> usize {
        self.meta.len() + 1 + self.source.as_ref().map_or(0, |s| s.len() + 1)
    }
}

/// Statuses worth another attempt.
pub(crate) fn is_transient(status: u16) -> bool {
    status == 429 || matches!(status, 500 | 502 | 503 | 504)
}

/// An error for a failed request, with OpenSearch's own reason.
pub(crate) fn status_error(doing: &str, status: u16, body: &Value) -> Error {
    let reason = match (&body["error"]["type"], &body["error"]["reason"]) {
        (Value::String(kind), Value::String(reason)) => format!("{kind}: {reason}"),
        _ => match body {
            Value::Null => "no body".to_string(),
            other => crate::snippet(&other.to_string(), 300),
        },
    };
    Error::Store {
        message: format!("OpenSearch {doing}: HTTP {status}: {reason}"),
        retryable: is_transient(status),
    }
}

/// Splits `actions` into batches within the limits.
fn batches(actions: Vec<Action>, limits: BatchLimits) -> Vec<Vec<Action>> {
    let mut out = Vec::new();
    let mut current: Vec<Action> = Vec::new();
    let mut bytes = 0;
    for action in actions {
        let size = action.bytes();
        if !current.is_empty()
            && (current.len() >= limits.max_records || bytes + size > limits.max_bytes)
        {
            out.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(action);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Sends every action, batch after batch; fails on the first batch with a
/// rejected item or with items still throttled after every attempt.
pub(crate) async fn send(store: &OpenSearchStore, actions: Vec<Action>, doing: &str) -> Result<()> {
    for batch in batches(actions, store.batch) {
        send_batch(store, batch, doing).await?;
    }
    Ok(())
}

async fn send_batch(store: &OpenSearchStore, mut pending: Vec<Action>, doing: &str) -> Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut lines: Vec<&str> = Vec::with_capacity(pending.len() * 2);
        for action in &pending {
            lines.push(&action.meta);
            if let Some(source) = &action.source {
                lines.push(source);
            }
        }
        let body = store
            .call_ok(doing, || {
                let request = store
                    .client
                    .bulk(BulkParts::Index(&store.index))
                    .body(lines.clone());
                // Serverless makes writes searchable on its own schedule and
                // takes no refresh parameter; elsewhere the next search (or
                // the stale-record lookup of an upsert) must see this batch.
                if store.serverless {
                    request.send()
                } else {
                    request.refresh(Refresh::WaitFor).send()
                }
            })
            .await?;
        if body["errors"].as_bool() == Some(false) {
            return Ok(());
        }
        let items = body["items"].as_array().ok_or_else(|| {
            Error::store(format!("OpenSearch {doing}: _bulk response has no items"))
        })?;
        if items.len() != pending.len() {
            return Err(Error::store(format!(
                "OpenSearch {doing}: _bulk answered {} items for {} actions",
                items.len(),
                pending.len()
            )));
        }
        let mut retry = Vec::new();
        let mut rejected = Vec::new();
        for (item, action) in items.iter().zip(pending) {
            let outcome = item
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            let status = outcome["status"].as_u64().unwrap_or(0) as u16;
            let gone = action.source.is_none() && status == 404;
            if (200..300).contains(&status) || gone {
                continue;
            }
            if is_transient(status) {
                retry.push(action);
            } else {
                let reason = match (&outcome["error"]["type"], &outcome["error"]["reason"]) {
                    (Value::String(kind), Value::String(reason)) => format!("{kind}: {reason}"),
                    _ => format!("status {status}"),
                };
                let what = if action.label.is_empty() {
                    "a delete".to_string()
                } else {
                    format!("`{}`", action.label)
                };
                rejected.push(format!("{what} ({status} {reason})"));
            }
        }
        if !rejected.is_empty() {
            let shown: Vec<&str> = rejected.iter().take(5).map(String::as_str).collect();
            return Err(Error::Store {
                message: format!(
                    "OpenSearch {doing}: {} of the batch's records were rejected: {}",
                    rejected.len(),
                    shown.join("; ")
                ),
                retryable: false,
            });
        }
        if retry.is_empty() {
            return Ok(());
        }
        if attempt >= store.retry.attempts {
            return Err(Error::Store {
                message: format!(
                    "OpenSearch {doing}: {} records still throttled or unavailable after {attempt} attempts",
                    retry.len()
                ),
                retryable: true,
            });
        }
        tracing::debug!(
            items = retry.len(),
            attempt,
            "retrying throttled bulk items"
        );
        store.retry.wait(attempt, None).await;
        pending = retry;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(n: usize) -> Action {
        Action {
            meta: "m".repeat(n),
            source: Some("s".repeat(n)),
            label: "x".into(),
        }
    }

    #[test]
    fn batches_respect_both_limits() {
        let limits = BatchLimits {
            max_records: 3,
            max_bytes: 100,
        };
        let sizes: Vec<usize> = batches((0..7).map(|_| action(4)).collect(), limits)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [3, 3, 1]);
        let sizes: Vec<usize> = batches((0..3).map(|_| action(30)).collect(), limits)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [1, 1, 1]);
    }

    #[test]
    fn transient_statuses() {
        assert!(is_transient(429) && is_transient(503));
        assert!(!is_transient(400) && !is_transient(404));
    }
}
