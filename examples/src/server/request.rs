//! The `POST /api/query` body: parsed by hand from the raw bytes so every
//! mistake (bad JSON, wrong types, out-of-range values) gets the JSON error
//! body with a precise message instead of a framework default.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::Deserialize;
use vaultiq_core::{Query, SourceType};

use super::errors::ApiError;

/// Most hits one request may ask for (the seed's contract).
pub const MAX_TOP_K: i64 = 50;
/// Longest question, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Hits when `top_k` is absent.
pub const DEFAULT_TOP_K: i64 = 5;
/// The values `source_filter` accepts.
pub const SOURCE_TYPES: [&str; 6] = ["confluence", "slack", "jira", "github", "files", "custom"];

/// `{"query": str, "top_k": int = 5, "source_filter": [str]?}`. Unknown
/// fields are ignored, as the seed's FastAPI model did.
#[derive(Debug, Deserialize)]
struct QueryRequest {
    query: String,
    #[serde(default)]
    top_k: Option<i64>,
    #[serde(default)]
    source_filter: Option<Vec<String>>,
}

/// Turns the buffered body (or why it could not be buffered) into a
/// validated query.
pub fn parse_query(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<Query, ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(limit),
        _ => ApiError::invalid(format!("cannot read the request body: {rejection}")),
    })?;
    let value: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|err| ApiError::invalid(format!("the body is not valid JSON: {err}")))?;
    // Serde would also read a struct from an array (`["q", 5]`); the
    // contract is an object.
    if !value.is_object() {
        return Err(ApiError::invalid(
            "the body must be a JSON object like {\"query\": \"...\"}",
        ));
    }
    let request: QueryRequest = serde_json::from_value(value)
        .map_err(|err| ApiError::invalid(format!("the body is not a valid query: {err}")))?;
    validate(request)
}

fn validate(request: QueryRequest) -> Result<Query, ApiError> {
    if request.query.trim().is_empty() {
        return Err(ApiError::invalid("query must not be empty"));
    }
    let chars = request.query.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(ApiError::invalid(format!(
            "query must be 1..{MAX_QUERY_CHARS} characters, got {chars}"
        )));
    }
    let top_k = request.top_k.unwrap_or(DEFAULT_TOP_K);
    let out_of_range = || ApiError::invalid(format!("top_k must be 1..{MAX_TOP_K}, got {top_k}"));
    if !(1..=MAX_TOP_K).contains(&top_k) {
        return Err(out_of_range());
    }
    let top_k = usize::try_from(top_k).map_err(|_| out_of_range())?;
    let sources = request
        .source_filter
        .unwrap_or_default()
        .iter()
        .map(|name| parse_source(name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Query::new(request.query)
        .top_k(top_k)
        .source_filter(sources))
}

fn parse_source(name: &str) -> Result<SourceType, ApiError> {
    // Only the documented lowercase names: aliases the core may accept
    // would make the API contract fuzzy.
    if !SOURCE_TYPES.contains(&name) {
        return Err(ApiError::invalid(format!(
            "unknown source_filter value `{name}`; allowed: {}",
            SOURCE_TYPES.join(", ")
        )));
    }
    name.parse::<SourceType>()
        .map_err(|err| ApiError::invalid(format!("source_filter `{name}`: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<Query, ApiError> {
        parse_query(Ok(Bytes::from(body.to_string())), 64)
    }

    #[test]
    fn defaults_and_limits() {
        let query = parse(r#"{"query": "deploy?"}"#).map_err(|e| e.message);
        assert_eq!(query.map(|q| q.top_k), Ok(5));
        for bad in [
            r#"{"query": "x", "top_k": 0}"#,
            r#"{"query": "x", "top_k": 51}"#,
            r#"{"query": "x", "top_k": -1}"#,
            r#"{"query": "   "}"#,
            r#"{"query": "x", "source_filter": ["wiki"]}"#,
            r#"{"query": 1}"#,
            r#"{"query": "x""#,
            r#"["x", 5]"#,
        ] {
            assert_eq!(
                parse(bad).map(|_| ()).map_err(|e| e.status),
                Err(StatusCode::BAD_REQUEST),
                "{bad}"
            );
        }
    }
}
