//! Retrieval quality and speed on a BEIR-format data set, through the real
//! sync pipeline into a fresh embedded store.
//!
//! Run with: `cargo run --release --bin vaultiq-eval -- [DIR]`
//! (default `../shared/data/scifact`). Prints a table and, as its last line,
//! one JSON object with every number.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use vaultiq_benches::beir::{BeirConnector, BeirDataset};
use vaultiq_benches::metrics::{mean, mrr_at, ndcg_at, percentile, recall_at};
use vaultiq_core::chunker::RecursiveChunker;
use vaultiq_core::embedder::{CachedEmbedder, Embedder, LocalEmbedder};
use vaultiq_core::{KnowledgeBase, Query, SearchMode, SyncOptions};

/// Evaluates keyword, vector and hybrid retrieval on a BEIR data set.
#[derive(Debug, Parser)]
struct Args {
    /// BEIR directory: corpus.jsonl, queries.jsonl, qrels/test.tsv.
    #[arg(default_value = "../shared/data/scifact")]
    dir: PathBuf,
    /// Chunk size in characters (default: the library's).
    #[arg(long)]
    chunk_size: Option<usize>,
    /// Chunk overlap in characters (default: the library's).
    #[arg(long)]
    chunk_overlap: Option<usize>,
    /// Only the first N judged queries (and the documents they judge plus
    /// `--extra-docs` others): a quick smoke run.
    #[arg(long)]
    queries: Option<usize>,
    /// Unjudged documents kept with `--queries`.
    #[arg(long, default_value_t = 200)]
    extra_docs: usize,
    /// Reuse embeddings from this folder across runs (ingest time is then
    /// not the model's; the JSON says so).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Keep the index in this folder instead of a temporary one.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

/// Chunks retrieved per query; aggregated to documents for the metrics.
const RETRIEVE_CHUNKS: usize = 300;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut dataset = BeirDataset::load(&args.dir)
        .with_context(|| format!("cannot load the BEIR data set in {}", args.dir.display()))?;
    if let Some(n) = args.queries {
        dataset = dataset.subset(n, args.extra_docs);
    }
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());

    let model = Arc::new(LocalEmbedder::builder().build()?);
    let embedder: Arc<dyn Embedder> = match &args.cache_dir {
        Some(dir) => Arc::new(CachedEmbedder::open(model, dir)?),
        None => model,
    };
    let mut chunker = RecursiveChunker::builder();
    if let Some(size) = args.chunk_size {
        chunker = chunker.chunk_size(size);
    }
    if let Some(overlap) = args.chunk_overlap {
        chunker = chunker.chunk_overlap(overlap);
    }
    let chunker = chunker.build()?;
    let settings = serde_json::json!({
        "chunk_size": args.chunk_size.unwrap_or(RecursiveChunker::DEFAULT_CHUNK_SIZE),
        "chunk_overlap": args.chunk_overlap.unwrap_or(RecursiveChunker::DEFAULT_CHUNK_OVERLAP),
        "embedder": embedder.model_id(),
        "retrieve_chunks": RETRIEVE_CHUNKS,
        "embedding_cache": args.cache_dir.is_some(),
        "threads": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    });
    let kb = KnowledgeBase::local_builder(&data_dir, embedder)?
        .chunker(Arc::new(chunker))
        .build()?;

    let docs = dataset.corpus.len();
    eprintln!(
        "{}: {docs} documents, {} queries",
        dataset.name,
        dataset.queries.len()
    );
    let connector = Arc::new(BeirConnector::new(
        &dataset.name,
        dataset.corpus.clone(),
        256,
    ));
    let started = Instant::now();
    kb.sync_connector(connector, &SyncOptions::default(), &|p| {
        eprint!(
            "\r  ingest: {} documents, {} chunks, {:.1} docs/s   ",
            p.fetched,
            p.chunks,
            p.rate()
        );
    })
    .await?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    eprintln!();

    let prefix = format!("custom:{}:", dataset.name);
    let mut modes = serde_json::Map::new();
    let mut rows = Vec::new();
    for (label, mode) in [
        ("keyword", SearchMode::Keyword),
        ("vector", SearchMode::Vector),
        ("hybrid", SearchMode::Hybrid),
    ] {
        let (mut ndcg, mut recall, mut mrr) = (Vec::new(), Vec::new(), Vec::new());
        for (query_id, text) in &dataset.queries {
            let hits = kb
                .search(&Query::new(text.as_str()).top_k(RETRIEVE_CHUNKS).mode(mode))
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
            let judged = &dataset.qrels[query_id];
            ndcg.push(ndcg_at(&ranking, judged, 10));
            recall.push(recall_at(&ranking, judged, 100));
            mrr.push(mrr_at(&ranking, judged, 10));
        }
        let (n, r, m) = (mean(&ndcg), mean(&recall), mean(&mrr));
        rows.push(format!("{label:<8} {n:>9.4} {r:>11.4} {m:>8.4}"));
        modes.insert(
            label.into(),
            serde_json::json!({"ndcg@10": n, "recall@100": r, "mrr@10": m}),
        );
    }

    // Latency of the call an application makes: hybrid, top 10.
    let mut latencies = Vec::new();
    for (_, text) in &dataset.queries {
        let t = Instant::now();
        kb.search(&Query::new(text.as_str()).top_k(10)).await?;
        latencies.push(t.elapsed().as_secs_f64() * 1000.0);
    }

    println!(
        "{:<8} {:>9} {:>11} {:>8}",
        "mode", "nDCG@10", "Recall@100", "MRR@10"
    );
    for row in &rows {
        println!("{row}");
    }
    let docs_per_second = docs as f64 / ingest_seconds;
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    println!("ingest {ingest_seconds:.1} s ({docs_per_second:.1} docs/s); hybrid top-10 query p50 {p50:.2} ms, p99 {p99:.2} ms");
    let mut summary = serde_json::json!({
        "dataset": dataset.name,
        "docs": docs,
        "queries": dataset.queries.len(),
    });
    if let Some(object) = summary.as_object_mut() {
        object.extend(modes);
        object.insert("ingest_seconds".into(), ingest_seconds.into());
        object.insert("docs_per_second".into(), docs_per_second.into());
        object.insert("query_p50_ms".into(), p50.into());
        object.insert("query_p99_ms".into(), p99.into());
        object.insert("settings".into(), settings);
    }
    println!("{summary}");
    Ok(())
}
