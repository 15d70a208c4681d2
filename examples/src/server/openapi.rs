//! The OpenAPI 3 document of the API, written by hand: the contract is
//! small and fixed, and a literal is easier to review than generated specs.

use serde_json::{json, Value};

use super::request::{DEFAULT_TOP_K, MAX_QUERY_CHARS, MAX_TOP_K, SOURCE_TYPES};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}
    })
}

/// Errors any `/api` route may answer besides its own.
fn common_errors() -> Value {
    json!({
        "401": error_response("Missing or wrong API key (only when keys are configured)"),
        "503": error_response("At the concurrency limit, or a backing service is busy"),
        "504": error_response("The request ran past the server's timeout")
    })
}

fn with_common(mut responses: Value) -> Value {
    if let (Some(map), Value::Object(common)) = (responses.as_object_mut(), common_errors()) {
        map.extend(common);
    }
    responses
}

fn query_body() -> Value {
    json!({
        "required": true,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QueryRequest"}}}
    })
}

fn schemas() -> Value {
    json!({
        "QueryRequest": {
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_CHARS,
                          "description": "The question; must not be blank"},
                "top_k": {"type": "integer", "minimum": 1, "maximum": MAX_TOP_K,
                          "default": DEFAULT_TOP_K},
                "source_filter": {"type": "array", "nullable": true,
                                  "items": {"type": "string", "enum": SOURCE_TYPES}}
            }
        },
        "Source": {
            "type": "object",
            "required": ["title", "url", "source_type", "relevance_score", "snippet"],
            "properties": {
                "title": {"type": "string"},
                "url": {"type": "string"},
                "source_type": {"type": "string", "enum": SOURCE_TYPES},
                "relevance_score": {"type": "number", "minimum": 0, "maximum": 1},
                "snippet": {"type": "string"}
            }
        },
        "QueryResponse": {
            "type": "object",
            "required": ["answer", "sources", "query", "timestamp"],
            "properties": {
                "answer": {"type": "string"},
                "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
                "query": {"type": "string"},
                "timestamp": {"type": "string", "format": "date-time"}
            }
        },
        "SourcesResponse": {
            "type": "object",
            "required": ["sources", "total_documents", "timestamp"],
            "properties": {
                "sources": {"type": "object", "additionalProperties": {"type": "integer"},
                            "description": "Documents per source type"},
                "total_documents": {"type": "integer"},
                "timestamp": {"type": "string", "format": "date-time"}
            }
        },
        "Health": {
            "type": "object",
            "required": ["status", "timestamp"],
            "properties": {
                "status": {"type": "string", "enum": ["healthy", "degraded"]},
                "reason": {"type": "string", "description": "Why the status is degraded"},
                "timestamp": {"type": "string", "format": "date-time"}
            }
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "example": "invalid_request"},
                        "message": {"type": "string"}
                    }
                }
            }
        }
    })
}

/// The document served at `GET /api/openapi.json`.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "VaultIQ API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Answers from your IT knowledge, with cited sources."
        },
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "paths": {
            "/api/query": {"post": {
                "summary": "Answer a question with cited sources",
                "security": [{"bearer": []}, {}],
                "requestBody": query_body(),
                "responses": with_common(json!({
                    "200": json_response("The answer", "QueryResponse"),
                    "400": error_response("Malformed JSON, wrong types or out-of-range values"),
                    "413": error_response("Body over 64 KB")
                }))
            }},
            "/api/query/stream": {"post": {
                "summary": "Answer as server-sent events",
                "description": "Events: `token` (data `{\"text\": piece}`, in order), then one `sources` (data: array of Source), then `done` (data `{\"query\", \"timestamp\"}`). A failure after the stream started is sent as an `error` event with the Error body.",
                "security": [{"bearer": []}, {}],
                "requestBody": query_body(),
                "responses": with_common(json!({
                    "200": {"description": "The event stream",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                    "400": error_response("Malformed JSON, wrong types or out-of-range values"),
                    "413": error_response("Body over 64 KB")
                }))
            }},
            "/api/sources": {"get": {
                "summary": "Indexed documents per source type",
                "security": [{"bearer": []}, {}],
                "responses": with_common(json!({
                    "200": json_response("The counts", "SourcesResponse")
                }))
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3 document",
                                      "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/health": {"get": {
                "summary": "Liveness and store health (no API key needed)",
                "responses": {
                    "200": json_response("Healthy", "Health"),
                    "503": json_response("Degraded: the store cannot be read", "Health")
                }
            }}
        }
    })
}
