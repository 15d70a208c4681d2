//! Quick embedding throughput check: `embed-speed [COUNT] [WORDS] [BATCH]`.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin embed-speed -- 200 150 32`

use std::time::Instant;

use vaultiq_core::embedder::LocalEmbedder;

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let count = args.first().copied().unwrap_or(200);
    let words = args.get(1).copied().unwrap_or(150);
    let batch = args.get(2).copied().unwrap_or(32);
    let embedder = LocalEmbedder::builder().batch_size(batch).build()?;
    let passages = vaultiq_benches::passages(count, words);
    embedder.embed_blocking(&passages[..batch.min(count)])?;
    let start = Instant::now();
    embedder.embed_blocking(&passages)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{count} passages of ~{words} words, batch {batch}: {:.1} texts/s",
        count as f64 / secs
    );
    Ok(())
}
