//! The handlers of the seed's contract plus the additions of issue 7.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;
use vaultiq_core::api::{timestamp, QueryResponse, SourcesResponse};
use vaultiq_core::KnowledgeBase;

use super::errors::ApiError;
use super::openapi;
use super::request::parse_query;

/// What every handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The knowledge base answering queries.
    pub kb: Arc<KnowledgeBase>,
    /// Largest accepted body, for the 413 message.
    pub body_limit: usize,
}

/// `POST /api/query`.
pub async fn query(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<QueryResponse>, ApiError> {
    let query = parse_query(body, state.body_limit)?;
    let result = state.kb.ask(&query).await?;
    Ok(Json(QueryResponse::from(&result.answer)))
}

/// `GET /api/sources`.
pub async fn sources(State(state): State<AppState>) -> Result<Json<SourcesResponse>, ApiError> {
    let counts = state.kb.sources().await?;
    Ok(Json(SourcesResponse::new(&counts)))
}

/// `GET /health`: reads the store so a broken data directory shows up as
/// `degraded` (503, for load balancers) rather than as healthy.
pub async fn health(State(state): State<AppState>) -> Response {
    let now = timestamp(Utc::now());
    match state.kb.sources().await {
        Ok(_) => Json(json!({"status": "healthy", "timestamp": now})).into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            let body = json!({
                "status": "degraded",
                "reason": "the document store cannot be read; see the server log",
                "timestamp": now,
            });
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}
