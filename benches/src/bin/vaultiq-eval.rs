//! Retrieval quality and speed on a BEIR-format data set, through the real
//! sync pipeline into a fresh embedded store.
//!
//! Run with: `cargo run --release --bin vaultiq-eval -- [DIR]`
//! (default `../shared/data/scifact`). Prints a table and, as its last line,
//! one JSON object with every number.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use vaultiq_benches::beir::BeirDataset;
use vaultiq_benches::eval::{evaluate, EvalOptions};
use vaultiq_core::embedder::{CachedEmbedder, Embedder, LocalEmbedder};

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
    /// Evaluate keyword search only, without loading or running the model:
    /// a fast check of the BM25 side.
    #[arg(long)]
    keyword_only: bool,
}

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

    let model: Arc<dyn Embedder> = if args.keyword_only {
        Arc::new(vaultiq_benches::eval::NoEmbedder)
    } else {
        let model = Arc::new(LocalEmbedder::builder().build()?);
        match &args.cache_dir {
            Some(dir) => Arc::new(CachedEmbedder::open(model, dir)?),
            None => model,
        }
    };
    let options = EvalOptions {
        chunk_size: args.chunk_size,
        chunk_overlap: args.chunk_overlap,
        keyword_only: args.keyword_only,
    };
    eprintln!(
        "{}: {} documents, {} queries",
        dataset.name,
        dataset.corpus.len(),
        dataset.queries.len()
    );
    let mut report = evaluate(
        &dataset,
        model,
        &data_dir,
        &options,
        &|docs, chunks, rate| {
            eprint!("\r  ingest: {docs} documents, {chunks} chunks, {rate:.1} docs/s   ");
        },
    )
    .await?;
    eprintln!();
    if let Some(settings) = report.settings.as_object_mut() {
        settings.insert("embedding_cache".into(), args.cache_dir.is_some().into());
    }

    println!(
        "{:<8} {:>9} {:>11} {:>8}",
        "mode", "nDCG@10", "Recall@100", "MRR@10"
    );
    for (label, m) in &report.modes {
        println!(
            "{label:<8} {:>9.4} {:>11.4} {:>8.4}",
            m.ndcg_at_10, m.recall_at_100, m.mrr_at_10
        );
    }
    let overhead = if args.keyword_only {
        "no model (keyword only)".to_string()
    } else {
        format!(
            "{:.1} s inside the embedding model: pipeline overhead {:.1}%",
            report.embed_seconds,
            report.pipeline_overhead() * 100.0
        )
    };
    println!(
        "ingest {:.1} s ({:.1} docs/s), {overhead}; top-10 query p50 {:.2} ms, p99 {:.2} ms",
        report.ingest_seconds,
        report.docs_per_second(),
        report.query_p50_ms,
        report.query_p99_ms
    );
    println!("{}", report.to_json());
    Ok(())
}
