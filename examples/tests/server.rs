//! `vaultiq serve` over real HTTP on loopback: the seed's JSON shapes, every
//! kind of bad input, auth, CORS, SSE order, load shedding, timeouts and
//! graceful shutdown. The server runs in-process on a free port against a
//! knowledge base ingested from `examples/data`; one test runs the binary.
//!
//! Requests that must stay in flight (to fill the concurrency limit, hit the
//! timeout or outlive a shutdown signal) carry a `hold-NAME` word: the test
//! embedder parks them until the test opens that gate, and reports when one
//! arrives, so no test waits on a sleep.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use vaultiq_examples::server;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use vaultiq_core::embedder::{EmbedKind, Embedder, LocalEmbedder};
use vaultiq_core::KnowledgeBase;

use server::{ApiKeys, ServerSettings};

/// Upper bound of any single wait in these tests.
const WAIT: Duration = Duration::from_secs(60);
const ALLOWED_SOURCES: [&str; 6] = ["confluence", "slack", "jira", "github", "files", "custom"];

// ---------------------------------------------------------------- fixture

/// One gate: requests naming it report arrival, then wait until it opens.
#[derive(Clone)]
struct Gate {
    arrived: mpsc::UnboundedSender<()>,
    open: watch::Receiver<bool>,
}

#[derive(Default)]
struct Gates(Mutex<HashMap<String, Gate>>);

/// The test's handle on a gate.
struct Hold {
    arrived: mpsc::UnboundedReceiver<()>,
    open: watch::Sender<bool>,
}

impl Hold {
    async fn wait_arrivals(&mut self, n: usize) {
        for _ in 0..n {
            tokio::time::timeout(WAIT, self.arrived.recv())
                .await
                .expect("a held request did not arrive in time")
                .expect("gate dropped");
        }
    }

    fn release(&self) {
        self.open.send_replace(true);
    }
}

fn hold(name: &str) -> Hold {
    let (arrived_tx, arrived) = mpsc::unbounded_channel();
    let (open, open_rx) = watch::channel(false);
    fixture().gates.0.lock().unwrap().insert(
        name.to_string(),
        Gate {
            arrived: arrived_tx,
            open: open_rx,
        },
    );
    Hold { arrived, open }
}

/// The real local model, except that questions containing a registered
/// `hold-NAME` word park until the test opens that gate.
struct HoldingEmbedder {
    inner: Arc<dyn Embedder>,
    gates: Arc<Gates>,
}

#[async_trait]
impl Embedder for HoldingEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    async fn embed(
        &self,
        texts: &[String],
        kind: EmbedKind,
    ) -> vaultiq_core::Result<Vec<Vec<f32>>> {
        if kind == EmbedKind::Query {
            let gate = {
                let gates = self.gates.0.lock().unwrap();
                texts
                    .iter()
                    .flat_map(|t| t.split_whitespace())
                    .find_map(|word| gates.get(word).cloned())
            };
            if let Some(mut gate) = gate {
                let _ = gate.arrived.send(());
                // A dropped future (timeout, shutdown) simply stops waiting here.
                let _ = gate.open.wait_for(|open| *open).await;
            }
        }
        self.inner.embed(texts, kind).await
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    kb: Arc<KnowledgeBase>,
    gates: Arc<Gates>,
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// One runtime for every test, so the shared knowledge base and the servers
/// it backs live on the runtime that created them.
fn rt() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// Runs a test body; the fixture is made first, outside the runtime,
/// because building it needs `block_on` itself.
fn block_on<F: std::future::Future>(test: F) -> F::Output {
    fixture();
    rt().block_on(test)
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        rt().block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let gates = Arc::new(Gates::default());
            let model = LocalEmbedder::builder().build().expect("local model");
            let embedder = Arc::new(HoldingEmbedder {
                inner: Arc::new(model),
                gates: gates.clone(),
            });
            let kb = KnowledgeBase::local_builder(dir.path(), embedder)
                .and_then(|b| b.build())
                .expect("knowledge base");
            kb.ingest_dir("samples", corpus()).await.expect("ingest");
            Fixture {
                dir,
                kb: Arc::new(kb),
                gates,
            }
        })
    })
}

// ----------------------------------------------------------------- server

struct Running {
    base: String,
    client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Signals shutdown and waits (bounded) for the server to finish.
    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("server did not stop in time")
            .expect("server task")
            .expect("server");
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .build()
        .expect("client")
}

/// Starts a server on a free loopback port. The listener is bound before
/// the task starts, so requests sent right away queue in its backlog.
async fn start(settings: ServerSettings) -> Running {
    start_with(fixture().kb.clone(), settings).await
}

/// Like [`start`], serving any knowledge base.
async fn start_with(kb: Arc<KnowledgeBase>, settings: ServerSettings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_on(listener, kb, settings, async move {
        let _ = stopped.await;
    }));
    Running {
        base: format!("http://{addr}"),
        client: client(),
        stop: Some(stop),
        task,
    }
}

fn settings() -> ServerSettings {
    ServerSettings {
        addr: "127.0.0.1:0".into(),
        ..ServerSettings::default()
    }
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .expect("a JSON object")
        .keys()
        .map(String::as_str)
        .collect()
}

fn assert_timestamp(value: &Value) {
    let text = value.as_str().expect("timestamp is a string");
    assert!(text.ends_with('Z'), "UTC with Z: {text}");
    chrono::DateTime::parse_from_rfc3339(text).expect("RFC 3339 timestamp");
}

/// Checks the error body shape and returns it.
async fn expect_error(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "{response:?}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(keys(&body), BTreeSet::from(["error"]), "{body}");
    assert_eq!(
        keys(&body["error"]),
        BTreeSet::from(["code", "message"]),
        "{body}"
    );
    assert!(!body["error"]["code"].as_str().unwrap().is_empty());
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    body
}

fn assert_query_response(body: &Value, query: &str, top_k: usize) {
    assert_eq!(
        keys(body),
        BTreeSet::from(["answer", "sources", "query", "timestamp"]),
        "{body}"
    );
    assert!(body["answer"].is_string());
    assert_eq!(body["query"], query);
    assert_timestamp(&body["timestamp"]);
    let sources = body["sources"].as_array().expect("sources array");
    assert!(sources.len() <= top_k, "{body}");
    for source in sources {
        assert_eq!(
            keys(source),
            BTreeSet::from(["title", "url", "source_type", "relevance_score", "snippet"]),
            "{source}"
        );
        assert!(source["title"].is_string() && source["url"].is_string());
        assert!(source["snippet"].is_string());
        assert!(ALLOWED_SOURCES.contains(&source["source_type"].as_str().unwrap()));
        let score = source["relevance_score"]
            .as_f64()
            .expect("score is a number");
        assert!((0.0..=1.0).contains(&score), "{score}");
    }
}

// ------------------------------------------------------------------ tests

#[test]
fn endpoints_match_the_seed_contract() {
    block_on(async {
        let server = start(settings()).await;

        let query = "How do I rotate the TLS certificates?";
        let response = server
            .post_json("/api/query", &json!({"query": query, "top_k": 3}))
            .await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("x-request-id"));
        let body: Value = response.json().await.unwrap();
        assert_query_response(&body, query, 3);
        assert!(!body["sources"].as_array().unwrap().is_empty(), "{body}");
        assert!(!body["answer"].as_str().unwrap().is_empty());

        // Defaults: top_k 5; an explicit null filter is no filter.
        let body: Value = server
            .post_json(
                "/api/query",
                &json!({"query": query, "source_filter": null}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_query_response(&body, query, 5);
        let filtered: Value = server
            .post_json(
                "/api/query",
                &json!({"query": query, "source_filter": ["slack"]}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(filtered["sources"], json!([]), "the samples are all files");

        let response = server.get("/api/sources").await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            keys(&body),
            BTreeSet::from(["sources", "total_documents", "timestamp"])
        );
        assert_timestamp(&body["timestamp"]);
        let counts = body["sources"].as_object().unwrap();
        let sum: u64 = counts.values().map(|v| v.as_u64().expect("count")).sum();
        assert!(sum > 0);
        assert_eq!(body["total_documents"].as_u64(), Some(sum));
        assert!(counts.keys().all(|k| ALLOWED_SOURCES.contains(&k.as_str())));

        let body: Value = server.get("/health").await.json().await.unwrap();
        assert_eq!(keys(&body), BTreeSet::from(["status", "timestamp"]));
        assert_eq!(body["status"], "healthy");
        assert_timestamp(&body["timestamp"]);

        let doc: Value = server.get("/api/openapi.json").await.json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for path in [
            "/api/query",
            "/api/query/stream",
            "/api/sources",
            "/health",
            "/api/openapi.json",
        ] {
            assert!(doc["paths"].get(path).is_some(), "{path} missing");
        }
        let schemas = &doc["components"]["schemas"];
        for schema in [
            "QueryRequest",
            "QueryResponse",
            "Source",
            "SourcesResponse",
            "Health",
            "Error",
        ] {
            assert!(schemas.get(schema).is_some(), "{schema} missing");
        }

        // A sane client id is echoed; a new one is made otherwise.
        let response = server
            .client
            .get(server.url("/health"))
            .header("x-request-id", "trace-42")
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "trace-42");
        server.stop().await;
    });
}

#[test]
fn bad_input_gets_a_json_4xx() {
    block_on(async {
        let server = start(settings()).await;
        let long = "a".repeat(2_001);
        let cases: Vec<(&str, Value)> = vec![
            ("top_k 0", json!({"query": "deploy", "top_k": 0})),
            ("top_k 51", json!({"query": "deploy", "top_k": 51})),
            ("top_k negative", json!({"query": "deploy", "top_k": -3})),
            ("top_k string", json!({"query": "deploy", "top_k": "5"})),
            ("top_k float", json!({"query": "deploy", "top_k": 2.5})),
            ("empty query", json!({"query": ""})),
            ("blank query", json!({"query": "  \n\t "})),
            ("2001 chars", json!({"query": long})),
            ("query number", json!({"query": 42})),
            ("query missing", json!({"top_k": 3})),
            (
                "filter not a list",
                json!({"query": "deploy", "source_filter": "files"}),
            ),
            (
                "filter of numbers",
                json!({"query": "deploy", "source_filter": [1]}),
            ),
            ("body is a list", json!(["deploy"])),
        ];
        for path in ["/api/query", "/api/query/stream"] {
            for (name, body) in &cases {
                let response = server.post_json(path, body).await;
                let body = expect_error(response, 400).await;
                assert_eq!(body["error"]["code"], "invalid_request", "{name}: {body}");
            }
        }

        let body = expect_error(
            server
                .post_json(
                    "/api/query",
                    &json!({"query": "deploy", "source_filter": ["files", "wiki"]}),
                )
                .await,
            400,
        )
        .await;
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("wiki"), "{message}");
        for allowed in ALLOWED_SOURCES {
            assert!(message.contains(allowed), "{message} lacks {allowed}");
        }

        for raw in [
            "{\"query\": \"deploy\"",
            "not json",
            "",
            "{\"query\": \"a\"}}",
        ] {
            let response = server
                .client
                .post(server.url("/api/query"))
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap();
            expect_error(response, 400).await;
        }

        // Exactly 2,000 characters is still fine.
        let response = server
            .post_json(
                "/api/query",
                &json!({"query": "deploy ".repeat(286)[..2_000]}),
            )
            .await;
        assert_eq!(response.status(), 200);

        let big = json!({"query": "deploy", "padding": "x".repeat(70 * 1024)});
        let body = expect_error(server.post_json("/api/query", &big).await, 413).await;
        assert_eq!(body["error"]["code"], "payload_too_large");
        // Without a length up front (chunked), the limit still holds.
        let chunks =
            futures::stream::iter((0..70).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024])));
        let response = server
            .client
            .post(server.url("/api/query"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(chunks))
            .send()
            .await
            .unwrap();
        expect_error(response, 413).await;

        let body = expect_error(server.get("/api/nope").await, 404).await;
        assert_eq!(body["error"]["code"], "not_found");
        expect_error(server.get("/").await, 404).await;
        let body = expect_error(server.get("/api/query").await, 405).await;
        assert_eq!(body["error"]["code"], "method_not_allowed");
        let response = server
            .client
            .post(server.url("/health"))
            .send()
            .await
            .unwrap();
        expect_error(response, 405).await;
        let response = server
            .client
            .delete(server.url("/api/sources"))
            .send()
            .await
            .unwrap();
        expect_error(response, 405).await;
        server.stop().await;
    });
}

#[test]
fn api_keys_are_required_when_configured() {
    block_on(async {
        let server = start(ServerSettings {
            api_keys: ApiKeys::new(["key-one", "key-two"]),
            ..settings()
        })
        .await;
        let query = json!({"query": "How do I rotate certificates?"});
        let send = |key: Option<&str>| {
            let mut request = server.client.post(server.url("/api/query")).json(&query);
            if let Some(key) = key {
                request = request.header("authorization", key);
            }
            request.send()
        };
        let response = send(None).await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body = expect_error(response, 401).await;
        assert_eq!(body["error"]["code"], "unauthorized");
        for wrong in [
            "Bearer key-on",
            "Bearer key-one2",
            "Basic key-one",
            "key-one",
            "Bearer ",
        ] {
            expect_error(send(Some(wrong)).await.unwrap(), 401).await;
        }
        assert_eq!(send(Some("Bearer key-two")).await.unwrap().status(), 200);
        let response = server
            .client
            .get(server.url("/api/sources"))
            .bearer_auth("key-one")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        expect_error(server.get("/api/sources").await, 401).await;
        // Probes and tooling need no key.
        assert_eq!(server.get("/health").await.status(), 200);
        assert_eq!(server.get("/api/openapi.json").await.status(), 200);
        server.stop().await;
    });
}

#[test]
fn cors_allows_only_configured_origins() {
    block_on(async {
        let server = start(ServerSettings {
            cors_origins: vec!["https://app.example.com".into()],
            ..settings()
        })
        .await;
        let preflight = |origin: &'static str| {
            server
                .client
                .request(reqwest::Method::OPTIONS, server.url("/api/query"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header(
                    "access-control-request-headers",
                    "content-type,authorization",
                )
                .send()
        };
        let allowed = preflight("https://app.example.com").await.unwrap();
        assert_eq!(
            allowed.headers()["access-control-allow-origin"],
            "https://app.example.com"
        );
        let refused = preflight("https://evil.example").await.unwrap();
        assert!(!refused
            .headers()
            .contains_key("access-control-allow-origin"));
        server.stop().await;
    });
}

/// `(event, data)` pairs of an SSE body.
fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = String::from("message");
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().to_string();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push(value.strip_prefix(' ').unwrap_or(value));
                }
            }
            let data = serde_json::from_str(&data.join("\n")).expect("event data is JSON");
            (name, data)
        })
        .collect()
}

#[test]
fn stream_sends_tokens_then_sources_then_done() {
    block_on(async {
        let server = start(settings()).await;
        let query = json!({"query": "What is the on-call escalation policy?", "top_k": 4});
        let response = server.post_json("/api/query/stream", &query).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        let events = parse_sse(&response.text().await.unwrap());
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        let tokens = names.iter().take_while(|n| **n == "token").count();
        assert!(tokens >= 1, "{names:?}");
        assert_eq!(&names[tokens..], ["sources", "done"], "{names:?}");
        let text: String = events[..tokens]
            .iter()
            .map(|(_, data)| {
                assert_eq!(keys(data), BTreeSet::from(["text"]));
                data["text"].as_str().unwrap().to_string()
            })
            .collect();

        // The same answer and sources as the plain endpoint.
        let plain: Value = server
            .post_json("/api/query", &query)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(text, plain["answer"].as_str().unwrap());
        assert_eq!(events[tokens].1, plain["sources"]);
        let done = &events[tokens + 1].1;
        assert_eq!(done["query"], query["query"]);
        assert_timestamp(&done["timestamp"]);
        server.stop().await;
    });
}

/// A model that cannot embed anything (missing or corrupt weights).
struct BrokenModel;

#[async_trait]
impl Embedder for BrokenModel {
    fn model_id(&self) -> &str {
        "broken"
    }

    fn dimension(&self) -> usize {
        384
    }

    async fn embed(&self, _: &[String], _: EmbedKind) -> vaultiq_core::Result<Vec<Vec<f32>>> {
        Err(vaultiq_core::Error::model("model.safetensors is truncated"))
    }
}

#[test]
fn health_is_degraded_when_the_model_cannot_be_used() {
    block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let kb = KnowledgeBase::local_builder(dir.path(), Arc::new(BrokenModel))
            .and_then(|b| b.build())
            .unwrap();
        let server = start_with(Arc::new(kb), settings()).await;
        let response = server.get("/health").await;
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "degraded");
        assert!(body["reason"].as_str().unwrap().contains("model"), "{body}");
        assert_timestamp(&body["timestamp"]);
        // The healthy server says so, with exactly the seed's fields.
        let healthy = start(settings()).await;
        let body: Value = healthy.get("/health").await.json().await.unwrap();
        assert_eq!(keys(&body), BTreeSet::from(["status", "timestamp"]));
        assert_eq!(body["status"], "healthy");
        healthy.stop().await;
        server.stop().await;
    });
}

#[test]
fn concurrency_limit_sheds_load_and_recovers() {
    block_on(async {
        let server = Arc::new(
            start(ServerSettings {
                max_concurrency: 2,
                // No queue: the burst below is shed at once.
                max_queue: 0,
                ..settings()
            })
            .await,
        );
        let mut gate = hold("hold-limit");
        // Fill both slots with requests parked inside the pipeline.
        let held: Vec<_> = (0..2)
            .map(|i| {
                let server = server.clone();
                tokio::spawn(async move {
                    server
                        .post_json(
                            "/api/query",
                            &json!({"query": format!("hold-limit deploy {i}")}),
                        )
                        .await
                        .status()
                })
            })
            .collect();
        gate.wait_arrivals(2).await;

        // Saturated: a bounded burst is refused at once, not queued.
        let burst: Vec<_> = (0..16)
            .map(|i| {
                let server = server.clone();
                tokio::spawn(async move {
                    let path = if i % 2 == 0 {
                        "/api/query"
                    } else {
                        "/api/query/stream"
                    };
                    server
                        .post_json(path, &json!({"query": format!("certificates {i}")}))
                        .await
                })
            })
            .collect();
        for response in burst {
            let body = expect_error(response.await.unwrap(), 503).await;
            assert_eq!(body["error"]["code"], "overloaded");
        }
        assert_eq!(server.get("/health").await.status(), 200);

        gate.release();
        for status in held {
            assert_eq!(status.await.unwrap(), 200);
        }
        // Slots are free again.
        for _ in 0..3 {
            let response = server
                .post_json("/api/query", &json!({"query": "How do I deploy?"}))
                .await;
            assert_eq!(response.status(), 200);
        }
        Arc::into_inner(server).expect("only owner").stop().await;
    });
}

#[test]
fn slow_requests_time_out_with_504() {
    block_on(async {
        let server = start(ServerSettings {
            request_timeout: Duration::from_millis(300),
            max_concurrency: 1,
            ..settings()
        })
        .await;
        let _gate = hold("hold-slow");
        let started = Instant::now();
        let response = server
            .post_json("/api/query", &json!({"query": "hold-slow deploy"}))
            .await;
        let body = expect_error(response, 504).await;
        assert_eq!(body["error"]["code"], "timeout");
        assert!(started.elapsed() < WAIT);
        // The timed-out request gave its only slot back.
        let response = server
            .post_json("/api/query", &json!({"query": "deploy"}))
            .await;
        assert_eq!(response.status(), 200);
        server.stop().await;
    });
}

#[test]
fn graceful_shutdown_finishes_in_flight_requests() {
    block_on(async {
        let mut server = start(settings()).await;
        let mut gate = hold("hold-shutdown");
        let request = server
            .client
            .post(server.url("/api/query"))
            .json(&json!({"query": "hold-shutdown How do I deploy?"}))
            .send();
        let in_flight = tokio::spawn(async move {
            let response = request.await.expect("in-flight request");
            (response.status(), response.json::<Value>().await)
        });
        gate.wait_arrivals(1).await;

        server.stop.take().unwrap().send(()).unwrap();
        // While the request is parked the server must keep running.
        let still_running =
            tokio::time::timeout(Duration::from_millis(300), &mut server.task).await;
        assert!(
            still_running.is_err(),
            "server stopped with a request in flight"
        );

        gate.release();
        let (status, body) = tokio::time::timeout(WAIT, in_flight)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, 200);
        assert_query_response(&body.unwrap(), "hold-shutdown How do I deploy?", 5);
        tokio::time::timeout(WAIT, &mut server.task)
            .await
            .expect("server stops once idle")
            .unwrap()
            .unwrap();
        // Stopped servers accept nothing.
        assert!(client().get(server.url("/health")).send().await.is_err());
    });
}

#[cfg(unix)]
#[test]
fn serve_subcommand_logs_json_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let data_dir = fixture().dir.path().to_path_buf();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaultiq"))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(std::env::temp_dir())
        .env_remove("VAULTIQ_DATA_DIR")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vaultiq serve");
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_json = |what: &str| -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no `{what}` log line in time"));
            let value: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("log line is not JSON: {line}"));
            if value["fields"]["message"] == what {
                return value;
            }
        }
    };
    let listening = next_json("listening");
    let addr = listening["fields"]["addr"].as_str().unwrap().to_string();

    block_on(async {
        let response = client()
            .get(format!("http://{addr}/health"))
            .header("x-request-id", "from-test")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
    let log = next_json("request");
    assert_eq!(log["fields"]["request_id"], "from-test");
    assert_eq!(log["fields"]["status"], 200);
    assert_eq!(log["fields"]["route"], "/health");
    assert!(log["fields"]["latency_ms"].is_number());

    // What a service manager sends; `kill(1)` keeps this test free of unsafe.
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success());
    next_json("stopped: in-flight requests finished");
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done.recv_timeout(WAIT).expect("exit in time").unwrap();
    assert!(status.success(), "{status}");
}

// ------------------------------------------------------------------- load

/// Queries/s and p50/p99 latency of `POST /api/query` at concurrency 1, 16
/// and 64 (loopback, extractive answerer, the sample corpus). Run with
/// `cargo test --release -p vaultiq-examples --test server -- --ignored --nocapture`.
#[test]
#[ignore = "load measurement; run on demand"]
fn load_report() {
    block_on(async {
        let server = Arc::new(start(settings()).await);
        let questions = [
            "How do I deploy to production?",
            "What is the on-call escalation policy?",
            "How do I rotate TLS certificates?",
            "What happened in the last database outage?",
            "How do new engineers get access to the VPN?",
            "What is the incident severity scale?",
        ];
        for concurrency in [1usize, 16, 64] {
            let total = 20 * concurrency.max(10);
            let limit = Arc::new(tokio::sync::Semaphore::new(concurrency));
            let started = Instant::now();
            let tasks: Vec<_> = (0..total)
                .map(|i| {
                    let server = server.clone();
                    let limit = limit.clone();
                    let question = questions[i % questions.len()];
                    tokio::spawn(async move {
                        let _slot = limit.acquire_owned().await.unwrap();
                        let t = Instant::now();
                        let status = server
                            .post_json("/api/query", &json!({"query": question}))
                            .await
                            .status();
                        (status.as_u16(), t.elapsed())
                    })
                })
                .collect();
            let mut latencies = Vec::with_capacity(total);
            let mut errors = 0;
            for task in tasks {
                let (status, latency) = task.await.unwrap();
                if status != 200 {
                    errors += 1;
                }
                latencies.push(latency);
            }
            let elapsed = started.elapsed();
            latencies.sort();
            let pct = |p: f64| {
                latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)]
            };
            println!(
                "concurrency {concurrency:>2}: {total} requests, {errors} errors, {:.1} q/s, p50 {:.1} ms, p99 {:.1} ms",
                total as f64 / elapsed.as_secs_f64(),
                pct(0.50).as_secs_f64() * 1000.0,
                pct(0.99).as_secs_f64() * 1000.0,
            );
            assert_eq!(errors, 0);
        }
        Arc::into_inner(server).expect("only owner").stop().await;
    });
}
