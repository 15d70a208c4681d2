//! The approximate vector index at scale: recall@10 against exact search,
//! search latency with the query vector given, resident memory, build and
//! reopen times, on Gaussian-mixture vectors (see `synthetic::GaussianMixture`)
//! with queries drawn from the same mixture.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin ann-scale -- --chunks 100000`

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;
use vaultiq_benches::metrics::percentile;
use vaultiq_benches::synthetic::{build_mixture_store, sample_index, GaussianMixture};
use vaultiq_core::store::{EmbeddedStore, EmbeddedStoreOptions, Filter, VectorStore};

#[derive(Parser, Debug)]
struct Args {
    /// Chunks in the store.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Queries timed (each also answered exactly for recall).
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Chunks per mixture component.
    #[arg(long, default_value_t = 500)]
    per_cluster: usize,
    /// Beam widths to measure.
    #[arg(long, value_delimiter = ',', default_value = "32,64,96,128")]
    ef: Vec<usize>,
    /// Also time a full rebuild of the index from SQLite on reopen.
    #[arg(long)]
    rebuild: bool,
    /// Where to put the store (default: a temporary directory).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

const K: usize = 10;

/// Resident and peak resident memory of this process, in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let temporary = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_path_buf());
    let mixture = GaussianMixture::new((args.chunks / args.per_cluster).max(1), 21);
    let mut rng = StdRng::seed_from_u64(22);
    let queries: Vec<Vec<f32>> = (0..args.queries)
        .map(|_| mixture.sample(&mut rng))
        .collect();
    // Exact top 10 of every query, computed while the vectors stream past
    // (keeping them would double the process's memory).
    let mut truth: Vec<BinaryHeap<Reverse<(u32, usize)>>> = vec![BinaryHeap::new(); queries.len()];
    let mut exact_scan_s = 0.0;
    println!("load average before: {}", load_average());
    let started = Instant::now();
    let store = build_mixture_store(
        &dir,
        EmbeddedStoreOptions::default(),
        args.chunks,
        &mixture,
        23,
        |i, v| {
            let t = Instant::now();
            for (q, heap) in queries.iter().zip(truth.iter_mut()) {
                // Order-preserving integer key of the score keeps the heap total.
                let key = (dot(q, v) + 2.0).to_bits();
                if heap.len() < K {
                    heap.push(Reverse((key, i)));
                } else if heap.peek().is_some_and(|w| key > w.0 .0) {
                    heap.pop();
                    heap.push(Reverse((key, i)));
                }
            }
            exact_scan_s += t.elapsed().as_secs_f64();
        },
    )
    .await?;
    let ingest_s = started.elapsed().as_secs_f64() - exact_scan_s;
    let info = store.vector_index_info().await?;
    let (rss, peak) = memory_mib();
    println!(
        "{} chunks x 384 in {} clusters: ingest (SQLite + BM25 + index) {ingest_s:.1} s; index {info:?}; RSS {rss:.0} MiB, peak {peak:.0} MiB",
        args.chunks,
        (args.chunks / args.per_cluster).max(1)
    );
    println!(
        "exact scan of all queries while generating: {:.2} ms per query",
        exact_scan_s * 1000.0 / queries.len().max(1) as f64
    );
    drop(store);

    let t = Instant::now();
    let store = EmbeddedStore::open(&dir)?;
    let reopen_s = t.elapsed().as_secs_f64();
    let reopened = store.vector_index_info().await?;
    println!("reopen {reopen_s:.2} s (rebuilt: {})", reopened.rebuilt);
    drop(store);
    // The same reopen without the saved keyword index, which is then built
    // from SQLite (and saved again when the store closes).
    let keyword_file = dir.join("keywords.bm25");
    if let Ok(meta) = std::fs::metadata(&keyword_file) {
        std::fs::remove_file(&keyword_file)?;
        let t = Instant::now();
        let store = EmbeddedStore::open(&dir)?;
        println!(
            "reopen with the keyword index built from SQLite {:.2} s (its saved file: {:.1} MiB)",
            t.elapsed().as_secs_f64(),
            meta.len() as f64 / (1024.0 * 1024.0)
        );
        drop(store);
    }
    if args.rebuild {
        std::fs::remove_file(dir.join("vectors.ann"))?;
        let t = Instant::now();
        let store = EmbeddedStore::open(&dir)?;
        println!(
            "full build from SQLite on open: {:.1} s ({:?})",
            t.elapsed().as_secs_f64(),
            store.vector_index_info().await?
        );
    }

    let truth: Vec<HashSet<usize>> = truth
        .into_iter()
        .map(|heap| heap.into_iter().map(|Reverse((_, i))| i).collect())
        .collect();
    for &ef in &args.ef {
        let store = EmbeddedStore::open_with(
            &dir,
            EmbeddedStoreOptions {
                ef_search: ef,
                ..EmbeddedStoreOptions::default()
            },
        )?;
        // Warm the SQLite page cache the rescoring reads from.
        for q in queries.iter().take(20) {
            store.vector_search(q, K, &Filter::default()).await?;
        }
        let (mut times, mut found) = (Vec::new(), 0usize);
        for (q, exact) in queries.iter().zip(&truth) {
            let t = Instant::now();
            let hits = store.vector_search(q, K, &Filter::default()).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            found += hits
                .iter()
                .filter_map(|h| sample_index(&h.document.id, h.chunk.ordinal))
                .filter(|i| exact.contains(i))
                .count();
        }
        let (rss, peak) = memory_mib();
        println!(
            "ef {ef}: recall@10 {:.4}, search p50 {:.2} ms p99 {:.2} ms; RSS {rss:.0} MiB, peak {peak:.0} MiB",
            found as f64 / (K * queries.len()).max(1) as f64,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        );
    }
    println!("load average after: {}", load_average());
    Ok(())
}
