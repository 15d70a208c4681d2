//! A loopback Amazon Bedrock runtime for tests. It serves the three
//! operations VaultIQ calls, on their documented paths:
//!
//! - `POST /model/{modelId}/invoke` (InvokeModel,
//!   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html)
//!   for the Titan text embedding models;
//! - `POST /model/{modelId}/converse` (Converse,
//!   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html);
//! - `POST /model/{modelId}/converse-stream` (ConverseStream,
//!   https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html),
//!   answered in the `application/vnd.amazon.eventstream` binary framing.
//!
//! It rejects what the service rejects: requests without a SigV4
//! `Authorization` header scoped to `bedrock` (403), unknown paths (404),
//! other methods (405), bodies with unknown fields, missing or wrongly typed
//! fields, out-of-range values or too-long text (400 ValidationException
//! with the service's message wording), and embedding models on Converse.
//! It does not verify the signature itself (it holds no secret key).
//!
//! Its "models" are deterministic: embeddings are a hashed bag of words
//! (texts sharing words are close), and the chat model answers with the
//! first sentence of the context block sharing most words with the
//! question, citing it as `[n]`, or `NO_ANSWER` (what VaultIQ's system
//! prompt asks for) when no block shares a word. Faults can be injected:
//! a share of throttled calls, queued ThrottlingException / 500 /
//! ValidationException / malformed JSON / a stream broken mid-answer, and
//! latency.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    clippy::result_large_err
)]

mod converse;
mod titan;

pub use titan::embed as expected_embedding;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use vaultiq_core::aws::{AwsSettings, StaticCredentials};

use crate::loopback::LoopbackServer;

/// The region the emulator pretends to be in.
pub const REGION: &str = "us-east-1";

/// A fault for the next model call (queued faults come before the
/// throttle share).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// 429 ThrottlingException.
    Throttle,
    /// 500 InternalServerException.
    ServerError,
    /// 400 ValidationException with this message.
    Validation(String),
    /// 200 with a body that is not valid JSON.
    MalformedJson,
    /// ConverseStream only: the stream breaks with a throttlingException
    /// event after this many text deltas.
    BreakStreamAfter(usize),
}

/// Counters of what the emulator served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Model calls received (after the authentication check).
    pub calls: usize,
    /// Calls answered successfully.
    pub succeeded: usize,
    /// Calls answered with ThrottlingException.
    pub throttled: usize,
    /// Calls answered with 500.
    pub server_errors: usize,
    /// Calls rejected as invalid (400).
    pub rejected: usize,
    /// Most calls in flight at one moment.
    pub max_in_flight: usize,
}

#[derive(Debug, Default)]
struct Knobs {
    faults: VecDeque<Fault>,
    throttle_share: f64,
    throttle_credit: f64,
    latency: Duration,
    jitter: Duration,
    answer_suffix: String,
    stats: Stats,
    last_converse: Option<Value>,
    invoked_inputs: Vec<String>,
}

#[derive(Debug, Default)]
struct Shared {
    knobs: Mutex<Knobs>,
    in_flight: AtomicUsize,
}

/// A running emulator; stops when dropped.
#[derive(Debug)]
pub struct BedrockEmulator {
    url: String,
    shared: Arc<Shared>,
    _server: LoopbackServer,
}

impl BedrockEmulator {
    /// Starts an emulator on a free loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/model/{model_id}/invoke", post(invoke))
            .route("/model/{model_id}/converse", post(converse))
            .route("/model/{model_id}/converse-stream", post(converse_stream))
            .fallback(unknown_route)
            .with_state(Arc::clone(&shared));
        let server = LoopbackServer::start(app).await;
        BedrockEmulator {
            url: server.url(),
            shared,
            _server: server,
        }
    }

    /// `http://127.0.0.1:PORT`, the endpoint override for the SDK.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Client settings that reach this emulator with test credentials.
    pub fn settings(&self) -> AwsSettings {
        AwsSettings::default()
            .with_region(REGION)
            .with_endpoint_url(self.url.clone())
            .with_credentials(StaticCredentials {
                access_key_id: "AKIDEMULATOR".into(),
                secret_access_key: "emulator-secret".into(),
                session_token: None,
            })
    }

    /// Queues a fault for an upcoming model call.
    pub fn push_fault(&self, fault: Fault) {
        self.knobs().faults.push_back(fault);
    }

    /// Throttles this share (0..1) of model calls, evenly spread.
    pub fn set_throttle_share(&self, share: f64) {
        let mut knobs = self.knobs();
        knobs.throttle_share = share.clamp(0.0, 1.0);
        knobs.throttle_credit = 0.0;
    }

    /// Delays every model call by `latency`.
    pub fn set_latency(&self, latency: Duration) {
        self.knobs().latency = latency;
    }

    /// Adds a random extra delay of up to `jitter` to every model call, so
    /// answers come back out of order.
    pub fn set_latency_jitter(&self, jitter: Duration) {
        self.knobs().jitter = jitter;
    }

    /// Appends `suffix` to every chat answer (e.g. a citation of a block
    /// that does not exist).
    pub fn set_answer_suffix(&self, suffix: &str) {
        self.knobs().answer_suffix = suffix.to_string();
    }

    /// What was served so far.
    pub fn stats(&self) -> Stats {
        self.knobs().stats.clone()
    }

    /// The last valid Converse or ConverseStream request body.
    pub fn last_converse_request(&self) -> Option<Value> {
        self.knobs().last_converse.clone()
    }

    /// `inputText` of every successful InvokeModel call, in arrival order.
    pub fn invoked_inputs(&self) -> Vec<String> {
        self.knobs().invoked_inputs.clone()
    }

    fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.shared.knobs.lock().unwrap()
    }
}

/// An error answer as Bedrock sends it: the code in `x-amzn-ErrorType`
/// (the form the SDKs parse), `{"message": ...}` as the body.
pub(crate) fn aws_error(status: u16, code: &str, message: &str) -> Response {
    let mut response = (
        StatusCode::from_u16(status).unwrap(),
        [
            ("content-type", "application/json"),
            ("x-amzn-requestid", "00000000-0000-4000-8000-emulator0000"),
        ],
        json!({ "message": message }).to_string(),
    )
        .into_response();
    response.headers_mut().insert(
        "x-amzn-errortype",
        format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/")
            .parse()
            .unwrap(),
    );
    response
}

/// A 400 ValidationException.
pub(crate) fn validation(message: &str) -> Response {
    aws_error(400, "ValidationException", message)
}

/// The SigV4 shape check: an `Authorization` header of the form
/// `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/bedrock/aws4_request,
/// SignedHeaders=..., Signature=...` and an `x-amz-date`.
fn check_signature(headers: &HeaderMap) -> Result<(), Response> {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(aws_error(
            403,
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        ));
    };
    let well_formed = auth.starts_with("AWS4-HMAC-SHA256 Credential=")
        && auth.contains("SignedHeaders=")
        && auth.contains("Signature=")
        && headers.contains_key("x-amz-date");
    if !well_formed {
        return Err(aws_error(
            403,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and an X-Amz-Date header.",
        ));
    }
    if !auth.contains("/bedrock/aws4_request") {
        return Err(aws_error(
            403,
            "InvalidSignatureException",
            "Credential should be scoped to correct service: 'bedrock'.",
        ));
    }
    Ok(())
}

/// What a model call should do before its own handling.
enum Gate {
    Proceed(Option<Fault>),
    Answer(Response),
}

/// Counts the call, waits the injected latency, and applies faults.
async fn admit<'a>(shared: &'a Shared, headers: &HeaderMap) -> (Gate, InFlight<'a>) {
    let guard = InFlight::enter(shared);
    if let Err(denied) = check_signature(headers) {
        return (Gate::Answer(denied), guard);
    }
    let latency = {
        let mut knobs = shared.knobs.lock().unwrap();
        knobs.stats.calls += 1;
        let jitter = knobs.jitter.as_micros() as u64;
        let extra = if jitter == 0 {
            0
        } else {
            rand::Rng::random_range(&mut rand::rng(), 0..=jitter)
        };
        knobs.latency + Duration::from_micros(extra)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut knobs = shared.knobs.lock().unwrap();
    let fault = knobs.faults.pop_front().or_else(|| {
        knobs.throttle_credit += knobs.throttle_share;
        if knobs.throttle_credit >= 1.0 - 1e-9 {
            knobs.throttle_credit -= 1.0;
            Some(Fault::Throttle)
        } else {
            None
        }
    });
    let gate = match fault {
        Some(Fault::Throttle) => {
            knobs.stats.throttled += 1;
            Gate::Answer(aws_error(
                429,
                "ThrottlingException",
                "Too many requests, please wait before trying again.",
            ))
        }
        Some(Fault::ServerError) => {
            knobs.stats.server_errors += 1;
            Gate::Answer(aws_error(
                500,
                "InternalServerException",
                "An internal server error occurred. Retry your request.",
            ))
        }
        Some(Fault::Validation(message)) => {
            knobs.stats.rejected += 1;
            Gate::Answer(validation(&message))
        }
        other => Gate::Proceed(other),
    };
    (gate, guard)
}

/// Tracks calls in flight for [`Stats::max_in_flight`].
struct InFlight<'a>(&'a Shared);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        let mut knobs = shared.knobs.lock().unwrap();
        knobs.stats.max_in_flight = knobs.stats.max_in_flight.max(now);
        InFlight(shared)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Records the outcome of a handled call.
fn record(shared: &Shared, response: &Response) {
    let mut knobs = shared.knobs.lock().unwrap();
    if response.status().is_success() {
        knobs.stats.succeeded += 1;
    } else if response.status() == StatusCode::BAD_REQUEST {
        knobs.stats.rejected += 1;
    }
}

/// A 200 JSON body that is cut off mid-value.
fn malformed_json() -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json")],
        "{\"embedding\": [0.12, -0.4",
    )
        .into_response()
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        validation(&format!(
            "Malformed input request: {e}, please reformat your input and try again."
        ))
    })
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (gate, _guard) = admit(&shared, &headers).await;
    let fault = match gate {
        Gate::Answer(response) => return response,
        Gate::Proceed(fault) => fault,
    };
    if fault == Some(Fault::MalformedJson) {
        return malformed_json();
    }
    let response = match parse_body(&body).and_then(|body| titan::invoke(&model_id, &body)) {
        Ok((input, value)) => {
            shared.knobs.lock().unwrap().invoked_inputs.push(input);
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                value.to_string(),
            )
                .into_response()
        }
        Err(rejection) => rejection,
    };
    record(&shared, &response);
    response
}

/// The answer of a Converse or ConverseStream request, remembered as the
/// last Converse request; the service's rejection when it is invalid.
fn converse_reply(
    shared: &Shared,
    model_id: &str,
    body: &Bytes,
) -> Result<converse::Reply, Response> {
    let body = parse_body(body)?;
    let suffix = shared.knobs.lock().unwrap().answer_suffix.clone();
    let reply = converse::reply(model_id, &body, &suffix)?;
    shared.knobs.lock().unwrap().last_converse = Some(body);
    Ok(reply)
}

async fn converse(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (gate, _guard) = admit(&shared, &headers).await;
    let fault = match gate {
        Gate::Answer(response) => return response,
        Gate::Proceed(fault) => fault,
    };
    if fault == Some(Fault::MalformedJson) {
        return malformed_json();
    }
    let response = match converse_reply(&shared, &model_id, &body) {
        Ok(reply) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            converse::response_body(&reply).to_string(),
        )
            .into_response(),
        Err(rejection) => rejection,
    };
    record(&shared, &response);
    response
}

async fn converse_stream(
    State(shared): State<Arc<Shared>>,
    Path(model_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (gate, _guard) = admit(&shared, &headers).await;
    let fault = match gate {
        Gate::Answer(response) => return response,
        Gate::Proceed(fault) => fault,
    };
    let response = match converse_reply(&shared, &model_id, &body) {
        Ok(reply) => {
            let break_after = match fault {
                Some(Fault::BreakStreamAfter(n)) => Some(n),
                _ => None,
            };
            (
                StatusCode::OK,
                [("content-type", "application/vnd.amazon.eventstream")],
                Body::from(converse::event_stream(&reply, break_after)),
            )
                .into_response()
        }
        Err(rejection) => rejection,
    };
    record(&shared, &response);
    response
}

async fn unknown_route(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    let known = path.starts_with("/model/")
        && ["/invoke", "/converse", "/converse-stream"]
            .iter()
            .any(|op| path.ends_with(op));
    if known && method != Method::POST {
        return aws_error(
            405,
            "UnknownOperationException",
            &format!("{method} is not allowed on {path}"),
        );
    }
    aws_error(404, "UnknownOperationException", "Unknown operation")
}
