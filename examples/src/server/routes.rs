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
use vaultiq_core::embedder::EmbedKind;
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

/// `GET /health`: reads the store and embeds a probe text, so a broken
/// data directory or an unusable model shows up as `degraded` (503, for
/// load balancers) rather than as healthy.
pub async fn health(State(state): State<AppState>) -> Response {
    let now = timestamp(Utc::now());
    let problem = match state.kb.sources().await {
        Err(err) => {
            tracing::warn!(error = %err, "health check: store failed");
            Some("the document store cannot be read; see the server log")
        }
        Ok(_) => match model_works(&state.kb).await {
            Ok(()) => None,
            Err(err) => {
                tracing::warn!(error = %err, "health check: model failed");
                Some("the embedding model cannot be used; see the server log")
            }
        },
    };
    match problem {
        None => Json(json!({"status": "healthy", "timestamp": now})).into_response(),
        Some(reason) => {
            let body = json!({"status": "degraded", "reason": reason, "timestamp": now});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// Embeds a short probe as a query and checks the vector's size.
async fn model_works(kb: &KnowledgeBase) -> vaultiq_core::Result<()> {
    let embedder = kb.embedder();
    let vectors = embedder
        .embed(&["health check".to_string()], EmbedKind::Query)
        .await?;
    match vectors.first() {
        Some(v) if v.len() == embedder.dimension() => Ok(()),
        _ => Err(vaultiq_core::Error::model(format!(
            "the probe did not give one vector of {} numbers",
            embedder.dimension()
        ))),
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<serde_json::Value> {
    Json(openapi::document())
}
