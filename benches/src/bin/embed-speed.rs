//! Embedding throughput of the local model on the benchmark passages.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin embed-speed -- [COUNT] [WORDS] [BATCH] [RUNS]`
//! (defaults 1000 passages of 150 words, batch 32, 3 timed runs after one
//! warm-up batch). Prints the median texts/s; `benches/peer/peer.py` times
//! sentence-transformers on the same passages.

use std::time::Instant;

use vaultiq_benches::metrics::percentile;
use vaultiq_core::embedder::LocalEmbedder;

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(1000);
    let words = args.get(1).copied().unwrap_or(150);
    let batch = args.get(2).copied().unwrap_or(32);
    let runs = args.get(3).copied().unwrap_or(3).max(1);
    let embedder = LocalEmbedder::builder().batch_size(batch).build()?;
    let passages = vaultiq_benches::passages(count, words);
    let tokens = embedder.token_length();
    let mean_tokens =
        passages.iter().map(|p| tokens.length(p)).sum::<usize>() as f64 / count as f64;
    embedder.embed_blocking(&passages[..batch.min(count)])?;
    let mut rates = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        embedder.embed_blocking(&passages)?;
        rates.push(count as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "{count} passages of {mean_tokens:.0} tokens on average, batch {batch}: median {:.1} texts/s over {runs} runs",
        percentile(&rates, 0.5)
    );
    Ok(())
}
