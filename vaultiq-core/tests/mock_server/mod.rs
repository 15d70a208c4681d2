//! Shared helpers of the connector tests: a loopback HTTP server whose
//! answers a test scripts (with one-shot faults injected ahead of them), a
//! trivial embedder, and a knowledge base in a temporary directory.
//!
//! Each `connectors_*.rs` file is its own crate, so not every helper is used
//! by every file.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use vaultiq_core::connector::http::RetryPolicy;
use vaultiq_core::connector::Connector;
use vaultiq_core::embedder::{EmbedKind, Embedder};
use vaultiq_core::{KnowledgeBase, Result, SyncOptions, SyncReport};

/// A request as the mock server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path without query.
    pub path: String,
    /// Decoded query parameters (last value wins).
    pub query: BTreeMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Seen {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: String,
}

impl Reply {
    /// 200 with a JSON body.
    pub fn json(value: serde_json::Value) -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: value.to_string(),
        }
    }

    /// A status with a small JSON error body.
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: format!("{{\"message\":\"status {status}\"}}"),
        }
    }

    /// 200 with a body that is not valid JSON.
    pub fn malformed() -> Self {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: "{\"results\": [ {\"id\": ".into(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Answers a request from the test's model of the source.
pub type Handler = Arc<dyn Fn(&Seen, &str) -> Reply + Send + Sync>;

struct Shared {
    handler: Handler,
    base_url: String,
    seen: Mutex<Vec<Seen>>,
    /// One-shot replies: the first whose path fragment matches is used once.
    faults: Mutex<VecDeque<(String, Reply)>>,
}

/// A loopback server on an ephemeral port; stops when dropped.
pub struct MockServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    /// Starts a server; `handler` gets each request and the base URL (to
    /// build absolute pagination links).
    pub async fn start(handler: Handler) -> MockServer {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(l) => l,
            Err(e) => panic!("cannot bind a loopback port: {e}"),
        };
        let addr: SocketAddr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic!("no local address: {e}"),
        };
        let base_url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            handler,
            base_url: base_url.clone(),
            seen: Mutex::new(Vec::new()),
            faults: Mutex::new(VecDeque::new()),
        });
        let state = shared.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| {
            let state = state.clone();
            async move { answer(&state, req) }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        MockServer {
            base_url,
            shared,
            task,
        }
    }

    /// The next request whose path contains `fragment` gets `reply` instead.
    pub fn fail_next(&self, fragment: &str, reply: Reply) {
        lock(&self.shared.faults).push_back((fragment.to_string(), reply));
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// Requests so far whose path contains `fragment`.
    pub fn count(&self, fragment: &str) -> usize {
        lock(&self.shared.seen)
            .iter()
            .filter(|s| s.path.contains(fragment))
            .count()
    }

    /// Forgets the recorded requests.
    pub fn clear_seen(&self) {
        lock(&self.shared.seen).clear();
    }
}

fn answer(shared: &Shared, req: Request<Body>) -> Response {
    let query = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let seen = Seen {
        path: req.uri().path().to_string(),
        query,
        headers: req.headers().clone(),
        at: std::time::Instant::now(),
    };
    lock(&shared.seen).push(seen.clone());
    let fault = {
        let mut faults = lock(&shared.faults);
        let pos = faults
            .iter()
            .position(|(f, _)| seen.path.contains(f.as_str()));
        pos.and_then(|p| faults.remove(p)).map(|(_, r)| r)
    };
    let reply = fault.unwrap_or_else(|| (shared.handler)(&seen, &shared.base_url));
    let mut builder =
        Response::builder().status(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK));
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(Body::from(reply.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Locks a mutex, surviving a poisoned one (a failed assertion elsewhere).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Retries fast so the tests stay quick; waits a source demands are still honoured.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(100),
        max_wait: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    }
}

/// A deterministic 8-dimensional embedder: keeps embedding out of the
/// measurements and needs no model files.
#[derive(Debug)]
pub struct HashEmbedder;

#[async_trait]
impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        "test-hash-8"
    }

    fn dimension(&self) -> usize {
        8
    }

    async fn embed(&self, texts: &[String], _kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut v = [0.1f32; 8];
                for (i, b) in t.bytes().enumerate() {
                    v[i % 8] += f32::from(b) / 255.0;
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}

/// A knowledge base in `dir` with the hash embedder.
pub fn knowledge_base(dir: &std::path::Path) -> Result<KnowledgeBase> {
    KnowledgeBase::local_builder(dir, Arc::new(HashEmbedder))?.build()
}

/// Syncs `connector` once with default options, bounded in time.
pub async fn sync(kb: &KnowledgeBase, connector: &Arc<dyn Connector>) -> Result<SyncReport> {
    match tokio::time::timeout(
        Duration::from_secs(60),
        kb.sync_connector(connector.clone(), &SyncOptions::default(), &|_| {}),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => panic!("sync did not finish within 60 s"),
    }
}

/// The indexed document ids of `source` (from the state store).
pub async fn indexed_ids(dir: &std::path::Path, source: &str) -> Vec<String> {
    use vaultiq_core::state::{SqliteStateStore, StateStore};
    let state = match SqliteStateStore::open(dir) {
        Ok(s) => s,
        Err(e) => panic!("state store: {e}"),
    };
    let mut ids = state.document_ids(source).await.unwrap_or_default();
    ids.sort();
    ids
}

/// The stored checkpoint of `source`.
pub async fn checkpoint(dir: &std::path::Path, source: &str) -> Option<serde_json::Value> {
    use vaultiq_core::state::{SqliteStateStore, StateStore};
    let state = SqliteStateStore::open(dir).ok()?;
    state.checkpoint(source).await.ok().flatten().map(|c| c.0)
}

/// The lake record of a document.
pub async fn lake_document(
    dir: &std::path::Path,
    source: &str,
    id: &str,
) -> Option<vaultiq_core::Document> {
    use vaultiq_core::lake::{FsLake, Lake};
    let lake = FsLake::new(dir.join("lake"));
    lake.get(source, id)
        .await
        .ok()
        .flatten()
        .map(|r| r.document)
}
