//! A loopback OpenSearch for tests: it validates requests the way OpenSearch
//! does (index mappings, `_bulk` NDJSON framing, the Query DSL subset
//! VaultIQ uses, SigV4 headers in the AWS modes) and answers with the
//! documented response bodies. Faults can be queued: whole-request 429 or
//! 5xx, and partial `_bulk` failures (`errors: true`, per-item 429/400).
//!
//! In `aoss` mode it enforces OpenSearch Serverless vector-collection rules:
//! custom document ids in index operations are refused
//! (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-vector-search.html
//! and the supported-operations page
//! https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-genref.html).
//!
//! It ranks exactly (k-NN) or naively (`match`): tests check the protocol
//! against it, never ranking quality.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::result_large_err
)]

mod mapping;
mod search;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::loopback::LoopbackServer;
use search::{IndexInfo, Record, Space};

/// How clients must authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// No authentication.
    Open,
    /// HTTP basic authentication with these credentials.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// SigV4 for `es` (managed OpenSearch).
    Managed,
    /// SigV4 for `aoss` (Serverless), with its vector-collection rules.
    Serverless,
}

/// A fault to inject into upcoming requests.
#[derive(Debug, Clone)]
pub enum Fault {
    /// The next request answers with this status (429, 500, 502, 503)
    /// and OpenSearch's error body, storing nothing.
    Status(u16),
    /// In the next `_bulk` request, the first `count` index items fail with
    /// `status` (429: throttled, may be retried; 400: rejected document).
    BulkItems {
        /// Per-item status.
        status: u16,
        /// How many items.
        count: usize,
    },
}

#[derive(Debug)]
struct Index {
    info: IndexInfo,
    mappings: Value,
    records: BTreeMap<String, Record>,
}

#[derive(Debug)]
struct EmulatorState {
    mode: Mode,
    indexes: BTreeMap<String, Index>,
    faults: VecDeque<Fault>,
    requests: Vec<String>,
    next_id: u64,
}

/// A running emulator; stops when dropped.
#[derive(Debug)]
pub struct OpenSearchEmulator {
    /// Base URL, `http://127.0.0.1:PORT/`.
    pub url: String,
    state: Arc<Mutex<EmulatorState>>,
    _server: LoopbackServer,
}

impl OpenSearchEmulator {
    /// Starts an emulator on a free loopback port.
    pub async fn start(mode: Mode) -> Self {
        let state = Arc::new(Mutex::new(EmulatorState {
            mode,
            indexes: BTreeMap::new(),
            faults: VecDeque::new(),
            requests: Vec::new(),
            next_id: 1,
        }));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state))
            // OpenSearch's default http.max_content_length is 100mb.
            .layer(DefaultBodyLimit::max(100 * 1024 * 1024));
        let server = LoopbackServer::start(app).await;
        OpenSearchEmulator {
            url: format!("{}/", server.url()),
            state,
            _server: server,
        }
    }

    /// Queues a fault.
    pub fn push_fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    /// Every request so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.state.lock().unwrap().requests.clear();
    }

    /// Records stored in `index`.
    pub fn record_count(&self, index: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .indexes
            .get(index)
            .map_or(0, |i| i.records.len())
    }

    /// The stored `_source`s of `index`.
    pub fn records(&self, index: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .indexes
            .get(index)
            .map(|i| i.records.values().map(|r| r.source.clone()).collect())
            .unwrap_or_default()
    }
}

fn reply(status: u16, body: Value) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [("content-type", "application/json; charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

/// OpenSearch's REST error body, `{"error": {"root_cause": [...], "type",
/// "reason"}, "status"}`, as shown for failed requests in
/// https://docs.opensearch.org/latest/api-reference/index-apis/create-index/
fn error(status: u16, kind: &str, reason: &str) -> Response {
    reply(
        status,
        json!({
            "error": {
                "root_cause": [{"type": kind, "reason": reason}],
                "type": kind,
                "reason": reason
            },
            "status": status
        }),
    )
}

/// Checks the authentication headers; `None` when acceptable.
fn check_auth(mode: &Mode, headers: &HeaderMap, body: &[u8]) -> Option<Response> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match mode {
        Mode::Open => None,
        Mode::Basic { username, password } => {
            use base64::Engine;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            );
            if header("authorization") == Some(expected.as_str()) {
                None
            } else {
                // The security plugin's answer to missing or wrong credentials.
                Some(
                    (
                        StatusCode::UNAUTHORIZED,
                        [("www-authenticate", "Basic realm=\"OpenSearch Security\"")],
                        "Unauthorized",
                    )
                        .into_response(),
                )
            }
        }
        Mode::Managed | Mode::Serverless => {
            let service = if *mode == Mode::Serverless {
                "aoss"
            } else {
                "es"
            };
            // AWS answers an unsigned or malformed request with 403 and a
            // `message` body (https://docs.aws.amazon.com/IAM/latest/UserGuide/signature-v4-troubleshooting.html).
            let deny = |message: &str| Some(reply(403, json!({"message": message})));
            let Some(auth) = header("authorization") else {
                return deny("Missing Authentication Token");
            };
            let Some(rest) = auth.strip_prefix("AWS4-HMAC-SHA256 ") else {
                return deny("Authorization header requires the AWS4-HMAC-SHA256 algorithm");
            };
            let field = |name: &str| {
                rest.split(',')
                    .map(str::trim)
                    .find_map(|part| part.strip_prefix(&format!("{name}=")))
            };
            let Some(credential) = field("Credential") else {
                return deny("Authorization header requires 'Credential' parameter.");
            };
            let scope: Vec<&str> = credential.split('/').collect();
            if scope.len() != 5 || scope[4] != "aws4_request" || scope[1].len() != 8 {
                return deny("Credential should be scoped to a valid region and service.");
            }
            if scope[3] != service {
                return deny(&format!(
                    "Credential should be scoped to correct service: '{service}'."
                ));
            }
            let Some(signed) = field("SignedHeaders") else {
                return deny("Authorization header requires 'SignedHeaders' parameter.");
            };
            let signed: Vec<&str> = signed.split(';').collect();
            if !signed.contains(&"host") || !signed.contains(&"x-amz-date") {
                return deny("SignedHeaders must include host and x-amz-date.");
            }
            match field("Signature") {
                Some(s) if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) => {}
                _ => return deny("Authorization header requires 'Signature' parameter."),
            }
            match header("x-amz-date") {
                Some(d) if d.len() == 16 && d.ends_with('Z') && d.starts_with(scope[1]) => {}
                _ => return deny("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."),
            }
            if *mode == Mode::Serverless {
                // Serverless requires the payload hash header x-amz-content-sha256.
                let digest: String = Sha256::digest(body)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if header("x-amz-content-sha256") != Some(digest.as_str()) {
                    return deny("The request signature we calculated does not match the signature you provided: x-amz-content-sha256 must be the SHA-256 of the body.");
                }
            }
            None
        }
    }
}

async fn handle(
    State(state): State<Arc<Mutex<EmulatorState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut state = state.lock().unwrap();
    state.requests.push(format!("{method} {}", uri.path()));
    if let Some(denied) = check_auth(&state.mode, &headers, &body) {
        return denied;
    }
    let bulk = uri.path().ends_with("/_bulk");
    let fault = match state.faults.front() {
        Some(Fault::Status(_)) => state.faults.pop_front(),
        Some(Fault::BulkItems { .. }) if bulk => state.faults.pop_front(),
        _ => None,
    };
    let mut item_fault = None;
    match fault {
        Some(Fault::Status(429)) => {
            // Thread-pool rejection, as the bulk and search APIs report it.
            return error(
                429,
                "rejected_execution_exception",
                "rejected execution of coordinating operation, too many requests",
            );
        }
        Some(Fault::Status(status)) => {
            return error(
                status,
                "unavailable_shards_exception",
                "[vaultiq][0] primary shard is not active Timeout: [1m]",
            );
        }
        Some(Fault::BulkItems { status, count }) => item_fault = Some((status, count)),
        None => {}
    }
    let parts: Vec<&str> = uri
        .path()
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let query = uri.query().unwrap_or("");
    let json_body = || -> Result<Value, Response> {
        if body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&body).map_err(|e| {
            error(
                400,
                "parse_exception",
                &format!("request body is not valid JSON: {e}"),
            )
        })
    };
    let serverless = state.mode == Mode::Serverless;
    match (method.as_str(), parts.as_slice()) {
        ("PUT", [index]) if !index.starts_with('_') => {
            let body = match json_body() {
                Ok(b) => b,
                Err(r) => return r,
            };
            create_index(&mut state, index, &body, serverless)
        }
        ("HEAD", [index]) => {
            if state.indexes.contains_key(*index) {
                StatusCode::OK.into_response()
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
        // https://docs.opensearch.org/latest/api-reference/index-apis/get-index/
        ("GET", [index, "_mapping"]) => match state.indexes.get(*index) {
            Some(i) => reply(200, json!({ *index: {"mappings": i.mappings} })),
            None => index_not_found(index),
        },
        ("POST" | "PUT", [index, "_bulk"]) => {
            bulk_request(&mut state, Some(index), &headers, &body, query, item_fault)
        }
        ("POST" | "PUT", ["_bulk"]) => {
            bulk_request(&mut state, None, &headers, &body, query, item_fault)
        }
        ("POST" | "GET", [index, "_search"]) => {
            let body = match json_body() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(i) = state.indexes.get(*index) else {
                return index_not_found(index);
            };
            let records: Vec<Record> = i.records.values().cloned().collect();
            match search::search(index, &i.info, &records, &body) {
                Ok(response) => reply(200, response),
                Err(reason) => error(400, "parsing_exception", &reason),
            }
        }
        ("POST" | "GET", [index, "_count"]) => {
            let body = match json_body() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(i) = state.indexes.get(*index) else {
                return index_not_found(index);
            };
            let query = body
                .get("query")
                .cloned()
                .unwrap_or(json!({"match_all": {}}));
            let mut count = 0;
            for record in i.records.values() {
                match search::matches(&query, &record.source) {
                    Ok(true) => count += 1,
                    Ok(false) => {}
                    Err(reason) => return error(400, "parsing_exception", &reason),
                }
            }
            // https://docs.opensearch.org/latest/api-reference/search-apis/count/
            reply(
                200,
                json!({"count": count, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}),
            )
        }
        ("PUT" | "POST", [index, "_doc", id]) => {
            if serverless {
                return error(
                    400,
                    "illegal_argument_exception",
                    "Document ID is not supported in create/index operation request",
                );
            }
            let source = match json_body() {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(i) = state.indexes.get_mut(*index) else {
                return index_not_found(index);
            };
            i.records.insert(
                id.to_string(),
                Record {
                    id: id.to_string(),
                    source,
                },
            );
            reply(
                201,
                json!({"_index": index, "_id": id, "_version": 1, "result": "created"}),
            )
        }
        (m, _) => error(
            400,
            "illegal_argument_exception",
            &format!("no handler found for uri [{}] and method [{m}]", uri.path()),
        ),
    }
}

fn index_not_found(index: &str) -> Response {
    error(
        404,
        "index_not_found_exception",
        &format!("no such index [{index}]"),
    )
}

fn create_index(
    state: &mut EmulatorState,
    index: &str,
    body: &Value,
    serverless: bool,
) -> Response {
    let valid_name = index
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !valid_name {
        return error(
            400,
            "invalid_index_name_exception",
            &format!("Invalid index name [{index}], must be lowercase"),
        );
    }
    if state.indexes.contains_key(index) {
        return error(
            400,
            "resource_already_exists_exception",
            &format!("index [{index}/emulated] already exists"),
        );
    }
    let dimension = match mapping::validate(body, serverless) {
        Ok(d) => d,
        Err(reason) => return error(400, "mapper_parsing_exception", &reason),
    };
    let mappings = body.get("mappings").cloned().unwrap_or(json!({}));
    let mut vector_field = None;
    let mut space = Space::L2;
    if let Some(properties) = mappings.get("properties").and_then(Value::as_object) {
        for (name, field) in properties {
            if field.get("type").and_then(Value::as_str) == Some("knn_vector") {
                vector_field = dimension.map(|d| (name.clone(), d));
                space = match field["method"]["space_type"].as_str() {
                    Some("cosinesimil") => Space::Cosine,
                    Some("innerproduct") => Space::InnerProduct,
                    _ => Space::L2,
                };
            }
        }
    }
    state.indexes.insert(
        index.to_string(),
        Index {
            info: IndexInfo {
                vector_field,
                space,
            },
            mappings,
            records: BTreeMap::new(),
        },
    );
    // https://docs.opensearch.org/latest/api-reference/index-apis/create-index/
    reply(
        200,
        json!({"acknowledged": true, "shards_acknowledged": true, "index": index}),
    )
}

/// `_bulk`: https://docs.opensearch.org/latest/api-reference/document-apis/bulk/
fn bulk_request(
    state: &mut EmulatorState,
    path_index: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    query: &str,
    mut item_fault: Option<(u16, usize)>,
) -> Response {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-ndjson")
        && !content_type.starts_with("application/json")
    {
        return reply(
            406,
            json!({"error": format!("Content-Type header [{content_type}] is not supported"), "status": 406}),
        );
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "refresh" if ["true", "false", "wait_for", ""].contains(&value) => {}
            "refresh" => {
                return error(
                    400,
                    "illegal_argument_exception",
                    &format!("Unknown value for refresh: [{value}]."),
                )
            }
            "timeout" | "pipeline" | "routing" | "filter_path" => {}
            other => {
                return error(
                    400,
                    "illegal_argument_exception",
                    &format!("request [/_bulk] contains unrecognized parameter: [{other}]"),
                )
            }
        }
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return error(400, "parse_exception", "bulk body is not UTF-8");
    };
    if text.is_empty() {
        return error(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: no requests added;",
        );
    }
    if !text.ends_with('\n') {
        return error(
            400,
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        );
    }
    let serverless = state.mode == Mode::Serverless;
    let lines: Vec<&str> = text.split('\n').collect();
    let mut items = Vec::new();
    let mut errors = false;
    let mut line = 0;
    while line < lines.len() {
        let raw = lines[line];
        line += 1;
        if raw.trim().is_empty() {
            continue;
        }
        let action: Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    400,
                    "illegal_argument_exception",
                    &format!("Malformed action/metadata line [{line}]: {e}"),
                )
            }
        };
        let Some((op, meta)) = action
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.iter().next())
        else {
            return error(
                400,
                "illegal_argument_exception",
                &format!("Malformed action/metadata line [{line}], expected START_OBJECT"),
            );
        };
        let op = op.clone();
        if !["index", "create", "delete", "update"].contains(&op.as_str()) {
            return error(
                400,
                "illegal_argument_exception",
                &format!(
                    "Malformed action/metadata line [{line}], expected one of [create, delete, index, update] but found [{op}]"
                ),
            );
        }
        let Some(index) = meta
            .get("_index")
            .and_then(Value::as_str)
            .map(String::from)
            .or_else(|| path_index.map(String::from))
        else {
            return error(
                400,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing;",
            );
        };
        let id = meta.get("_id").and_then(Value::as_str).map(String::from);
        let source = if op == "delete" {
            None
        } else {
            let Some(raw_source) = lines.get(line).filter(|l| !l.trim().is_empty()) else {
                return error(
                    400,
                    "illegal_argument_exception",
                    &format!(
                        "Validation Failed: 1: {op} requires a source line after line [{line}]"
                    ),
                );
            };
            line += 1;
            match serde_json::from_str::<Value>(raw_source) {
                Ok(v) if v.is_object() => Some(v),
                _ => {
                    return error(
                        400,
                        "mapper_parsing_exception",
                        &format!(
                            "failed to parse, document is empty or malformed at line [{line}]"
                        ),
                    )
                }
            }
        };
        let item_error = |status: u16, kind: &str, reason: &str, id: &str| {
            json!({ op.as_str(): {
                "_index": index, "_id": id, "status": status,
                "error": {"type": kind, "reason": reason}
            }})
        };
        let shown_id = id.clone().unwrap_or_default();
        if op == "update" {
            errors = true;
            items.push(item_error(
                400,
                "illegal_argument_exception",
                "update is not emulated",
                &shown_id,
            ));
            continue;
        }
        if op != "delete" {
            if let Some((status, left)) = item_fault.as_mut() {
                if *left > 0 {
                    *left -= 1;
                    errors = true;
                    let (kind, reason) = if *status == 429 {
                        (
                            "rejected_execution_exception",
                            "rejected execution of primary operation",
                        )
                    } else {
                        (
                            "mapper_parsing_exception",
                            "failed to parse field [embedding]",
                        )
                    };
                    items.push(item_error(*status, kind, reason, &shown_id));
                    continue;
                }
            }
        }
        let Some(target) = state.indexes.get_mut(&index) else {
            errors = true;
            items.push(item_error(
                404,
                "index_not_found_exception",
                &format!("no such index [{index}]"),
                &shown_id,
            ));
            continue;
        };
        match source {
            None => {
                let Some(id) = id else {
                    return error(
                        400,
                        "action_request_validation_exception",
                        "Validation Failed: 1: id is missing;",
                    );
                };
                let found = target.records.remove(&id).is_some();
                items.push(json!({"delete": {
                    "_index": index, "_id": id, "_version": 2,
                    "result": if found { "deleted" } else { "not_found" },
                    "_shards": {"total": 1, "successful": 1, "failed": 0},
                    "status": if found { 200 } else { 404 }
                }}));
            }
            Some(source) => {
                if serverless && id.is_some() {
                    errors = true;
                    items.push(item_error(
                        400,
                        "illegal_argument_exception",
                        "Document ID is not supported in create/index operation request",
                        &shown_id,
                    ));
                    continue;
                }
                if let Some((field, dimension)) = &target.info.vector_field {
                    if let Some(vector) = source.get(field) {
                        let ok = vector.as_array().is_some_and(|v| {
                            v.len() == *dimension && v.iter().all(Value::is_number)
                        });
                        if !ok {
                            errors = true;
                            items.push(item_error(
                                400,
                                "mapper_parsing_exception",
                                &format!("failed to parse field [{field}] of type [knn_vector]: Vector dimension mismatch. Expected: {dimension}"),
                                &shown_id,
                            ));
                            continue;
                        }
                    }
                }
                let id = match id {
                    Some(id) => id,
                    None => {
                        state.next_id += 1;
                        format!(
                            "emu{:016x}",
                            state.next_id.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        )
                    }
                };
                let Some(target) = state.indexes.get_mut(&index) else {
                    continue;
                };
                let replaced = target
                    .records
                    .insert(
                        id.clone(),
                        Record {
                            id: id.clone(),
                            source,
                        },
                    )
                    .is_some();
                items.push(json!({ op.as_str(): {
                    "_index": index, "_id": id, "_version": 1,
                    "result": if replaced { "updated" } else { "created" },
                    "_shards": {"total": 1, "successful": 1, "failed": 0},
                    "_seq_no": 0, "_primary_term": 1,
                    "status": if replaced { 200 } else { 201 }
                }}));
            }
        }
    }
    reply(200, json!({"took": 1, "errors": errors, "items": items}))
}
