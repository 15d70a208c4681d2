//! Optional bearer API keys. Keys are compared as SHA-256 digests in
//! constant time, so neither the timing nor the length of a guess tells an
//! attacker how close it was.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::errors::ApiError;

/// The accepted keys, kept only as digests.
#[derive(Clone)]
pub struct ApiKeys(Arc<Vec<[u8; 32]>>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ApiKeys({} keys)", self.0.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// These keys (blank ones are skipped).
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Self {
        let digests = keys
            .into_iter()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(digest)
            .collect();
        ApiKeys(Arc::new(digests))
    }

    /// Whether any key is configured.
    pub fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `candidate` is one of the keys. Every key is compared, with
    /// no early exit, so the time does not depend on which one matched.
    pub fn accepts(&self, candidate: &str) -> bool {
        let candidate = digest(candidate);
        let mut matched = subtle::Choice::from(0);
        for key in self.0.iter() {
            matched |= key.ct_eq(&candidate);
        }
        matched.into()
    }
}

/// Middleware: 401 unless the request carries `Authorization: Bearer <key>`
/// with a configured key. Passes everything when no key is configured.
pub async fn require_key(State(keys): State<ApiKeys>, request: Request, next: Next) -> Response {
    if !keys.is_enabled() {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match presented {
        Some(key) if keys.accepts(key) => next.run(request).await,
        _ => ApiError::unauthorized().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_configured_keys_pass() {
        let keys = ApiKeys::new(["alpha", " beta ", ""]);
        assert!(keys.is_enabled());
        assert!(keys.accepts("alpha") && keys.accepts("beta"));
        assert!(!keys.accepts("alph") && !keys.accepts("") && !keys.accepts("alphaa"));
        assert!(!ApiKeys::new([""]).is_enabled());
    }
}
