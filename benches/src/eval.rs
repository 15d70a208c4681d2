//! The retrieval evaluation behind `vaultiq-eval`: a BEIR-format data set
//! goes through the real sync pipeline into a fresh embedded store, every
//! query is run in each search mode, and the standard metrics are computed.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use vaultiq_core::chunker::RecursiveChunker;
use vaultiq_core::embedder::{EmbedKind, Embedder};
use vaultiq_core::{KnowledgeBase, Query, SearchMode, SyncOptions};

use crate::beir::{BeirConnector, BeirDataset};
use crate::metrics::{mean, mrr_at, ndcg_at, percentile, recall_at};

/// Chunks retrieved per query; aggregated to documents for the metrics.
pub const RETRIEVE_CHUNKS: usize = 300;
/// Documents per batch fed to the sync pipeline.
const SYNC_BATCH: usize = 256;

/// Wraps an embedder and adds up the wall time spent inside it, so ingest
/// time can be split into the model's and the pipeline's.
pub struct TimedEmbedder {
    inner: Arc<dyn Embedder>,
    document_nanos: AtomicU64,
}

impl std::fmt::Debug for TimedEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedEmbedder")
            .field("model", &self.inner.model_id())
            .field("document_seconds", &self.document_seconds())
            .finish()
    }
}

impl TimedEmbedder {
    /// Times `inner`.
    pub fn new(inner: Arc<dyn Embedder>) -> Self {
        TimedEmbedder {
            inner,
            document_nanos: AtomicU64::new(0),
        }
    }

    /// Seconds spent embedding documents (not queries) so far.
    pub fn document_seconds(&self) -> f64 {
        self.document_nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

#[async_trait]
impl Embedder for TimedEmbedder {
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
        let started = Instant::now();
        let out = self.inner.embed(texts, kind).await;
        if kind == EmbedKind::Document {
            let nanos = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
            self.document_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
        out
    }
}

/// For keyword-only runs: every text gets the same one-dimensional vector,
/// so ingest costs no model time. Vector and hybrid metrics are meaningless
/// with it and are not computed.
#[derive(Debug, Default)]
pub struct NoEmbedder;

#[async_trait]
impl Embedder for NoEmbedder {
    fn model_id(&self) -> &str {
        "none (keyword only)"
    }

    fn dimension(&self) -> usize {
        1
    }

    async fn embed(
        &self,
        texts: &[String],
        _kind: EmbedKind,
    ) -> vaultiq_core::Result<Vec<Vec<f32>>> {
        Ok(vec![vec![1.0]; texts.len()])
    }
}

/// Settings of one evaluation run.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Chunk size in characters (default: the library's).
    pub chunk_size: Option<usize>,
    /// Chunk overlap in characters (default: the library's).
    pub chunk_overlap: Option<usize>,
    /// Only the keyword retriever (with [`NoEmbedder`] as the model).
    pub keyword_only: bool,
}

/// Metrics of one retriever, averaged over the queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModeMetrics {
    /// nDCG@10.
    pub ndcg_at_10: f64,
    /// Recall@100.
    pub recall_at_100: f64,
    /// MRR@10.
    pub mrr_at_10: f64,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct EvalReport {
    /// Data set name.
    pub dataset: String,
    /// Corpus documents.
    pub docs: usize,
    /// Judged queries.
    pub queries: usize,
    /// Per retriever: "keyword", "vector", "hybrid".
    pub modes: Vec<(&'static str, ModeMetrics)>,
    /// Wall time of the sync.
    pub ingest_seconds: f64,
    /// Time inside the embedding model during the sync.
    pub embed_seconds: f64,
    /// Latency of a top-10 search in the default mode (hybrid, or keyword
    /// in keyword-only runs), including the query embedding.
    pub query_p50_ms: f64,
    /// 99th percentile of the same.
    pub query_p99_ms: f64,
    /// Settings, for the JSON line.
    pub settings: serde_json::Value,
}

impl EvalReport {
    /// Documents per second of the sync.
    pub fn docs_per_second(&self) -> f64 {
        self.docs as f64 / self.ingest_seconds.max(1e-9)
    }

    /// Share of the ingest time spent outside the embedding model.
    pub fn pipeline_overhead(&self) -> f64 {
        if self.embed_seconds > 0.0 {
            self.ingest_seconds / self.embed_seconds - 1.0
        } else {
            0.0
        }
    }

    /// The one-line JSON summary.
    pub fn to_json(&self) -> serde_json::Value {
        let mut summary = serde_json::json!({
            "dataset": self.dataset,
            "docs": self.docs,
            "queries": self.queries,
        });
        if let Some(object) = summary.as_object_mut() {
            for (label, m) in &self.modes {
                object.insert(
                    (*label).into(),
                    serde_json::json!({"ndcg@10": m.ndcg_at_10, "recall@100": m.recall_at_100, "mrr@10": m.mrr_at_10}),
                );
            }
            object.insert("ingest_seconds".into(), self.ingest_seconds.into());
            object.insert("embed_seconds".into(), self.embed_seconds.into());
            // Without a model there is no embedding time to compare with.
            let overhead = if self.settings["keyword_only"] == true {
                serde_json::Value::Null
            } else {
                self.pipeline_overhead().into()
            };
            object.insert("pipeline_overhead".into(), overhead);
            object.insert("docs_per_second".into(), self.docs_per_second().into());
            object.insert("query_p50_ms".into(), self.query_p50_ms.into());
            object.insert("query_p99_ms".into(), self.query_p99_ms.into());
            object.insert("settings".into(), self.settings.clone());
        }
        summary
    }
}

/// Syncs `dataset` into a store in `data_dir` (which should be empty) with
/// `model` (ignored when keyword-only) and evaluates every query.
pub async fn evaluate(
    dataset: &BeirDataset,
    model: Arc<dyn Embedder>,
    data_dir: &Path,
    options: &EvalOptions,
    progress: &(dyn Fn(usize, usize, f64) + Send + Sync),
) -> anyhow::Result<EvalReport> {
    let model: Arc<dyn Embedder> = if options.keyword_only {
        Arc::new(NoEmbedder)
    } else {
        model
    };
    let timed = Arc::new(TimedEmbedder::new(model));
    let mut chunker = RecursiveChunker::builder();
    if let Some(size) = options.chunk_size {
        chunker = chunker.chunk_size(size);
    }
    if let Some(overlap) = options.chunk_overlap {
        chunker = chunker.chunk_overlap(overlap);
    }
    let settings = serde_json::json!({
        "chunk_size": options.chunk_size.unwrap_or(RecursiveChunker::DEFAULT_CHUNK_SIZE),
        "chunk_overlap": options.chunk_overlap.unwrap_or(RecursiveChunker::DEFAULT_CHUNK_OVERLAP),
        "embedder": timed.model_id(),
        "retrieve_chunks": RETRIEVE_CHUNKS,
        "keyword_only": options.keyword_only,
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    let kb = KnowledgeBase::local_builder(data_dir, timed.clone())?
        .chunker(Arc::new(chunker.build()?))
        .build()?;

    let connector = Arc::new(BeirConnector::new(
        &dataset.name,
        dataset.corpus.clone(),
        SYNC_BATCH,
    ));
    let started = Instant::now();
    kb.sync_connector(connector, &SyncOptions::default(), &|p| {
        progress(p.fetched, p.chunks, p.rate());
    })
    .await?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    let embed_seconds = timed.document_seconds();

    let modes: &[(&'static str, SearchMode)] = if options.keyword_only {
        &[("keyword", SearchMode::Keyword)]
    } else {
        &[
            ("keyword", SearchMode::Keyword),
            ("vector", SearchMode::Vector),
            ("hybrid", SearchMode::Hybrid),
        ]
    };
    let prefix = format!("custom:{}:", dataset.name);
    let mut results = Vec::new();
    for (label, mode) in modes {
        let (mut ndcg, mut recall, mut mrr) = (Vec::new(), Vec::new(), Vec::new());
        for (query_id, text) in &dataset.queries {
            let hits = kb
                .search(&Query::new(text.as_str()).top_k(RETRIEVE_CHUNKS).mode(*mode))
                .await?
                .hits;
            // A document ranks where its best passage ranks.
            let mut ranking: Vec<String> = Vec::new();
            for hit in &hits {
                let id = hit
                    .document
                    .id
                    .strip_prefix(&prefix)
                    .unwrap_or(&hit.document.id)
                    .to_string();
                if !ranking.contains(&id) {
                    ranking.push(id);
                }
            }
            let Some(judged) = dataset.qrels.get(query_id) else {
                continue;
            };
            ndcg.push(ndcg_at(&ranking, judged, 10));
            recall.push(recall_at(&ranking, judged, 100));
            mrr.push(mrr_at(&ranking, judged, 10));
        }
        results.push((
            *label,
            ModeMetrics {
                ndcg_at_10: mean(&ndcg),
                recall_at_100: mean(&recall),
                mrr_at_10: mean(&mrr),
            },
        ));
    }

    // Latency of the call an application makes: the default mode, top 10.
    let latency_mode = modes.last().map_or(SearchMode::Hybrid, |m| m.1);
    let mut latencies = Vec::new();
    for (_, text) in &dataset.queries {
        let t = Instant::now();
        kb.search(&Query::new(text.as_str()).top_k(10).mode(latency_mode))
            .await?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(EvalReport {
        dataset: dataset.name.clone(),
        docs: dataset.corpus.len(),
        queries: dataset.queries.len(),
        modes: results,
        ingest_seconds,
        embed_seconds,
        query_p50_ms: percentile(&latencies, 0.5),
        query_p99_ms: percentile(&latencies, 0.99),
        settings,
    })
}
