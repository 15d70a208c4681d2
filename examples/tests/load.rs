//! Load on `POST /api/query` over loopback: 200 concurrent queries against
//! an embedded store of 10,000 chunks, first under the default limits (no
//! request may fail), then under a tiny configured limit (the excess gets
//! 503 at once and the server serves normally afterwards).
//!
//! Embedding 10,000 chunks with the local model would take minutes here, so
//! the store is filled through the `VectorStore` API: real paragraphs of the
//! sample corpus, embedded once by the real model, reused with small
//! deterministic perturbations of their vectors. The query path (question
//! embedding, hybrid search, fusion, extractive answer, JSON) is the real
//! server's.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use vaultiq_examples::server;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use vaultiq_core::embedder::{EmbedKind, Embedder, LocalEmbedder};
use vaultiq_core::store::{EmbeddedStore, IndexedDocument, VectorStore};
use vaultiq_core::{Chunk, Document, KnowledgeBase, SourceType};

use server::ServerSettings;

const CHUNKS: usize = 10_000;
const CHUNKS_PER_DOCUMENT: usize = 20;
const CONCURRENT: usize = 200;
/// Upper bound of any single wait in this test.
const WAIT: Duration = Duration::from_secs(120);
/// Questions carrying this word park in the embedder while the gate is shut.
const HOLD: &str = "hold-load";

/// The real model; questions with [`HOLD`] wait until the gate opens.
struct GatedEmbedder {
    inner: LocalEmbedder,
    open: watch::Receiver<bool>,
}

#[async_trait]
impl Embedder for GatedEmbedder {
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
        if kind == EmbedKind::Query && texts.iter().any(|t| t.contains(HOLD)) {
            let mut open = self.open.clone();
            let _ = open.wait_for(|open| *open).await;
        }
        self.inner.embed(texts, kind).await
    }
}

/// Paragraphs of the sample corpus's markdown files, with their file's title.
fn paragraphs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<_> = walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let title = text
            .lines()
            .find_map(|l| l.strip_prefix("# "))
            .unwrap_or("Notes")
            .to_string();
        for paragraph in text.split("\n\n") {
            let paragraph = paragraph.trim();
            if paragraph.len() >= 60 && !paragraph.starts_with("---") {
                out.push((title.clone(), paragraph.to_string()));
            }
        }
    }
    assert!(out.len() >= 50, "too few sample paragraphs: {}", out.len());
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Deterministic noise in -1..1 (xorshift), so every run builds the same store.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

fn perturbed(base: &[f32], noise: &mut Noise) -> Vec<f32> {
    let mut v: Vec<f32> = base.iter().map(|x| x + 0.02 * noise.next()).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Fills a fresh embedded store with [`CHUNKS`] chunks and opens a
/// knowledge base on it.
async fn ten_thousand_chunk_kb(dir: &Path, open: watch::Receiver<bool>) -> Arc<KnowledgeBase> {
    let model = LocalEmbedder::builder().build().expect("local model");
    let paragraphs = paragraphs();
    let texts: Vec<String> = paragraphs
        .iter()
        .map(|(title, text)| format!("{title}\n{text}"))
        .collect();
    let base = model
        .embed(&texts, EmbedKind::Document)
        .await
        .expect("embed");
    let store = EmbeddedStore::open(dir).expect("store");
    let kinds = [
        SourceType::Confluence,
        SourceType::Slack,
        SourceType::Jira,
        SourceType::Github,
        SourceType::Files,
    ];
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let mut batch = Vec::new();
    for d in 0..CHUNKS / CHUNKS_PER_DOCUMENT {
        let picks: Vec<usize> = (0..CHUNKS_PER_DOCUMENT)
            .map(|c| (d * 7 + c * 13) % paragraphs.len())
            .collect();
        let (title, _) = &paragraphs[picks[0]];
        let body: Vec<String> = picks
            .iter()
            .map(|&p| format!("{} (team {})", paragraphs[p].1, d % 17))
            .collect();
        let mut document = Document::new(
            kinds[d % kinds.len()],
            "load",
            &format!("doc-{d}"),
            format!("{title} #{d}"),
            body.join("\n\n"),
        );
        document.url = format!("https://kb.example.com/doc-{d}");
        document.content_hash = document.compute_hash();
        let mut offset = 0;
        let mut chunks = Vec::new();
        let mut vectors = Vec::new();
        for (ordinal, (text, &p)) in body.iter().zip(&picks).enumerate() {
            chunks.push(Chunk::new(
                &document,
                ordinal as u32,
                text.clone(),
                Vec::new(),
                offset,
            ));
            offset += text.chars().count() + 2;
            vectors.push(perturbed(&base[p], &mut noise));
        }
        batch.push(IndexedDocument {
            document,
            chunks,
            vectors,
        });
        if batch.len() == 50 {
            store.upsert(&batch).await.expect("upsert");
            batch.clear();
        }
    }
    store.upsert(&batch).await.expect("upsert");
    assert_eq!(store.chunk_count().await.unwrap(), CHUNKS);
    drop(store);

    let embedder = Arc::new(GatedEmbedder { inner: model, open });
    let kb = KnowledgeBase::local_builder(dir, embedder)
        .and_then(|b| b.build())
        .expect("knowledge base");
    Arc::new(kb)
}

struct Running {
    base: String,
    client: reqwest::Client,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(kb: Arc<KnowledgeBase>, settings: ServerSettings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve_on(listener, kb, settings, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(WAIT)
        .pool_max_idle_per_host(CONCURRENT)
        .build()
        .expect("client");
    Running {
        base: format!("http://{addr}"),
        client,
        stop,
        task,
    }
}

impl Running {
    async fn query(&self, question: &str) -> (u16, Value, Duration) {
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/api/query", self.base))
            .json(&json!({ "query": question, "top_k": 5 }))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON body");
        (status, body, started.elapsed())
    }

    /// `n` queries sent at once; results in completion order.
    async fn burst(
        self: &Arc<Self>,
        n: usize,
        question: impl Fn(usize) -> String,
    ) -> Vec<(u16, Value, Duration)> {
        let tasks: Vec<_> = (0..n)
            .map(|i| {
                let server = self.clone();
                let q = question(i);
                tokio::spawn(async move { server.query(&q).await })
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        for task in tasks {
            out.push(
                tokio::time::timeout(WAIT, task)
                    .await
                    .expect("in time")
                    .unwrap(),
            );
        }
        out
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("server stops in time")
            .unwrap()
            .unwrap();
    }
}

const QUESTIONS: [&str; 6] = [
    "How do I rotate the TLS certificates?",
    "How do I restore postgres from a backup?",
    "What happened during the checkout outage?",
    "How do I deploy to production?",
    "How do I set up my laptop?",
    "How do I add a Grafana alert?",
];

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[test]
fn two_hundred_concurrent_queries_on_ten_thousand_chunks() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let (gate, open) = watch::channel(false);
        let kb = ten_thousand_chunk_kb(dir.path(), open).await;

        // 1. Default limits: every one of 200 simultaneous queries is answered.
        let server = Arc::new(
            start(
                kb.clone(),
                ServerSettings {
                    addr: "127.0.0.1:0".into(),
                    ..ServerSettings::default()
                },
            )
            .await,
        );
        let started = Instant::now();
        let results = server
            .burst(CONCURRENT, |i| {
                format!("{} ({i})", QUESTIONS[i % QUESTIONS.len()])
            })
            .await;
        let elapsed = started.elapsed();
        let mut latencies = Vec::new();
        for (status, body, latency) in &results {
            assert_eq!(*status, 200, "{body}");
            assert!(body["answer"].is_string(), "{body}");
            assert!(!body["sources"].as_array().unwrap().is_empty(), "{body}");
            latencies.push(*latency);
        }
        latencies.sort();
        println!(
            "default limits: {CONCURRENT} concurrent queries over {CHUNKS} chunks, 0 errors, \
             {:.1} q/s, p50 {:.1} ms, p99 {:.1} ms",
            CONCURRENT as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
        );
        Arc::into_inner(server).unwrap().stop().await;

        // 2. Two slots and two queue places: with the first requests parked
        // inside the pipeline, exactly the excess is shed with 503.
        let (slots, queue) = (2, 2);
        let server = Arc::new(
            start(
                kb.clone(),
                ServerSettings {
                    addr: "127.0.0.1:0".into(),
                    max_concurrency: slots,
                    max_queue: queue,
                    request_timeout: WAIT,
                    ..ServerSettings::default()
                },
            )
            .await,
        );
        let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
        for i in 0..CONCURRENT {
            let server = server.clone();
            let done_tx = done_tx.clone();
            let question = format!("{HOLD} {}", QUESTIONS[i % QUESTIONS.len()]);
            tokio::spawn(async move {
                let _ = done_tx.send(server.query(&question).await);
            });
        }
        drop(done_tx);
        let expected_shed = CONCURRENT - slots - queue;
        let mut shed = Vec::new();
        while shed.len() < expected_shed {
            let (status, body, _) = tokio::time::timeout(WAIT, done.recv())
                .await
                .expect("responses in time")
                .expect("a response");
            // Nothing is served while the gate is shut: only 503s come back.
            assert_eq!(status, 503, "{body}");
            assert_eq!(body["error"]["code"], "overloaded", "{body}");
            shed.push(body);
        }
        // Open the gate: the parked and the queued requests now complete.
        gate.send_replace(true);
        let mut served = 0;
        while let Some((status, body, _)) = tokio::time::timeout(WAIT, done.recv())
            .await
            .expect("responses in time")
        {
            assert_eq!(status, 200, "{body}");
            served += 1;
        }
        assert_eq!(served, slots + queue);
        println!(
            "limit {slots} + queue {queue}: {served} served, {} shed with 503",
            shed.len()
        );

        // 3. Recovered: the same server serves a fresh round normally.
        for question in QUESTIONS {
            let (status, body, _) = server.query(question).await;
            assert_eq!(status, 200, "{body}");
        }
        Arc::into_inner(server).unwrap().stop().await;
    });
}
