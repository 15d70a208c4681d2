//! The API function: API Gateway proxy events (HTTP API payload v2 and
//! REST API v1) run through the very router `vaultiq serve` uses
//! ([`crate::server::router`]), so validation, responses, error bodies and
//! the API-key check are the same. `lambda_http` turns the event into an
//! HTTP request and the response into the shape the event's API expects.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::{Json, Router};
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::tower::ServiceExt;
use lambda_http::RequestExt;
use lambda_http::{Adapter, LambdaEvent};
use serde_json::{json, Value};
use vaultiq_core::config::Config;
use vaultiq_core::KnowledgeBase;

use super::HandlerError;
use crate::server::{self, ServerSettings};

/// The server's router with the `[server]` settings (API keys from
/// `api_keys_env`, CORS, limits).
pub fn router(kb: Arc<KnowledgeBase>, config: &Config) -> anyhow::Result<Router> {
    let settings = ServerSettings::from_config(&config.server)?;
    server::router(kb, &settings)
}

/// Answers every request with 503 and the API's JSON error body: what the
/// function serves while its knowledge base cannot be opened (the next
/// invocation tries again), instead of an opaque API Gateway 502.
pub fn unavailable(reason: &str) -> Router {
    let body = json!({"error": {"code": "unavailable", "message": reason}});
    Router::new().fallback(move || {
        let body = body.clone();
        async move { (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response() }
    })
}

/// Handles one API Gateway event with `app`; the response is the JSON the
/// event's API expects (`statusCode`, `headers`, `body`, ...).
pub async fn handle(app: Router, event: LambdaEvent<LambdaRequest>) -> Result<Value, HandlerError> {
    let app = app.map_request(without_stage);
    let response = Adapter::from(app).oneshot(event).await?;
    Ok(serde_json::to_value(response)?)
}

/// `lambda_http` puts a named stage in front of the path (`/prod/api/query`
/// on a REST API's `prod` stage); the routes are the server's, so the stage
/// is taken off again. The `$default` stage of an HTTP API adds nothing.
fn without_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    let stage = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(context)) => context.stage.clone(),
        Some(RequestContext::ApiGatewayV2(context)) => context.stage.clone(),
        _ => None,
    };
    let Some(stage) = stage.filter(|s| !s.is_empty() && s != "$default") else {
        return request;
    };
    let uri = request.uri();
    let prefix = format!("/{stage}");
    let Some(rest) = uri.path().strip_prefix(&prefix) else {
        return request;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return request;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    match path_and_query.parse() {
        Ok(pq) => parts.path_and_query = Some(pq),
        Err(_) => return request,
    }
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}
