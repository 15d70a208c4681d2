//! p50/p99 latency of embedded-store searches at several sizes.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin search-latency -- 10000 100000`

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultiq_benches::metrics::percentile;
use vaultiq_benches::synthetic::{build_store, unit_vector};
use vaultiq_core::store::{Filter, VectorStore};

const QUERIES: usize = 500;
const KEYWORD_QUERIES: &[&str] = &[
    "restore the postgres backup",
    "rotate certificate before the incident",
    "kubernetes replica latency alert",
    "vpn dns token secret",
    "rollback the deploy pipeline",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    for size in sizes {
        let dir = tempfile::tempdir()?;
        let built = Instant::now();
        let store = build_store(dir.path(), size).await?;
        let build_s = built.elapsed().as_secs_f64();
        let mut rng = StdRng::seed_from_u64(9);
        let (mut vector_ms, mut keyword_ms) = (Vec::new(), Vec::new());
        for i in 0..QUERIES {
            let query = unit_vector(&mut rng);
            let t = Instant::now();
            store.vector_search(&query, 10, &Filter::default()).await?;
            vector_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            let text = KEYWORD_QUERIES
                [(i + rng.random_range(0..KEYWORD_QUERIES.len())) % KEYWORD_QUERIES.len()];
            let t = Instant::now();
            store.keyword_search(text, 10, &Filter::default()).await?;
            keyword_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "{size} chunks (built in {build_s:.1} s): vector top-10 p50 {:.2} ms p99 {:.2} ms; keyword top-10 p50 {:.2} ms p99 {:.2} ms",
            percentile(&vector_ms, 0.5),
            percentile(&vector_ms, 0.99),
            percentile(&keyword_ms, 0.5),
            percentile(&keyword_ms, 0.99)
        );
    }
    Ok(())
}
