//! Embedding throughput of the local model on the benchmark passages, or on
//! real mixed-length texts (the first COUNT abstracts of a BEIR corpus).
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin embed-speed -- [COUNT] [WORDS] [BATCH] [RUNS] [--beir DIR]`
//! (defaults 1000 passages of 150 words, batch 32, 3 timed runs after one
//! warm-up pass over all texts). Prints the median texts/s;
//! `benches/peer/peer.py` times sentence-transformers on the same texts, and
//! `benches/peer/embed-compare.sh` runs both back to back.

use std::path::PathBuf;
use std::time::Instant;

use vaultiq_benches::beir::BeirDataset;
use vaultiq_benches::metrics::percentile;
use vaultiq_core::embedder::LocalEmbedder;

fn main() -> anyhow::Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let beir = raw
        .iter()
        .position(|a| a == "--beir")
        .and_then(|i| raw.get(i + 1))
        .map(PathBuf::from);
    let args: Vec<usize> = raw.iter().filter_map(|a| a.parse().ok()).collect();
    let count = args.first().copied().unwrap_or(1000);
    let words = args.get(1).copied().unwrap_or(150);
    let batch = args.get(2).copied().unwrap_or(32);
    let runs = args.get(3).copied().unwrap_or(3).max(1);
    let embedder = LocalEmbedder::builder().batch_size(batch).build()?;
    let (label, texts) = match &beir {
        Some(dir) => {
            let data = BeirDataset::load(dir)?;
            let texts: Vec<String> = data
                .corpus
                .into_iter()
                .take(count)
                .map(|d| d.text)
                .collect();
            (format!("{} abstracts", data.name), texts)
        }
        None => (
            "passages".to_string(),
            vaultiq_benches::passages(count, words),
        ),
    };
    let count = texts.len();
    let tokens = embedder.token_length();
    let lengths: Vec<usize> = texts
        .iter()
        .map(|t| tokens.length(t).min(254) + 2)
        .collect();
    let mean_tokens = lengths.iter().sum::<usize>() as f64 / count.max(1) as f64;
    // Warm-up over every text, as the peer does: buffers reach their size.
    embedder.embed_blocking(&texts)?;
    let mut rates = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        embedder.embed_blocking(&texts)?;
        rates.push(count as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "{count} {label} of {mean_tokens:.0} model tokens on average (truncated at 256), batch {batch}: median {:.1} texts/s over {runs} runs",
        percentile(&rates, 0.5)
    );
    Ok(())
}
