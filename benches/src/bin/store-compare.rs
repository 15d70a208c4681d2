//! Upsert throughput and search p50/p99 of the embedded store and
//! PostgreSQL/pgvector on the same synthetic corpus, in the same run, so
//! their ratio holds on a busy machine.
//!
//! Run with: `eval "$(scripts/start-postgres)"; cargo run --release -p vaultiq-benches
//! --features pgvector --bin store-compare -- --chunks 100000; scripts/stop-postgres "$VAULTIQ_PG_DATA"`

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;
use vaultiq_benches::metrics::percentile;
use vaultiq_benches::synthetic::{self, unit_vector, DIM, DOCS_PER_WRITE};
use vaultiq_core::store::{EmbeddedStore, Filter, IndexedDocument, PgVectorStore, VectorStore};
use vaultiq_core::SourceType;

const KEYWORD_QUERIES: &[&str] = &[
    "restore the postgres backup",
    "rotate certificate before the incident",
    "kubernetes replica latency alert",
    "vpn dns token secret",
    "rollback the deploy pipeline",
];

#[derive(Parser, Debug)]
struct Args {
    /// Chunks to index.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Searches per retriever.
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// PostgreSQL connection string.
    #[arg(long, env = "VAULTIQ_TEST_PG_URL")]
    pg_url: String,
}

/// The synthetic corpus in upsert batches (same data for every store).
fn batches(chunks: usize) -> Vec<Vec<IndexedDocument>> {
    synthetic::documents(chunks)
        .chunks(DOCS_PER_WRITE)
        .map(<[IndexedDocument]>::to_vec)
        .collect()
}

async fn measure(
    name: &str,
    store: Arc<dyn VectorStore>,
    batches: &[Vec<IndexedDocument>],
    queries: usize,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut total = 0;
    for batch in batches {
        store.upsert(batch).await?;
        total += batch.iter().map(|d| d.chunks.len()).sum::<usize>();
    }
    let upsert_s = started.elapsed().as_secs_f64();
    assert_eq!(store.chunk_count().await?, total);
    let mut rng = StdRng::seed_from_u64(9);
    let (mut vector_ms, mut keyword_ms, mut filtered_ms) = (Vec::new(), Vec::new(), Vec::new());
    let none = Filter::default();
    // A filter every chunk passes: the filtered SQL path (and pgvector's
    // iterative index scan) at the same result set as the unfiltered one.
    let files = Filter {
        source_types: vec![SourceType::Files],
        ..Filter::default()
    };
    for i in 0..queries {
        let query = unit_vector(&mut rng);
        let t = Instant::now();
        let hits = store.vector_search(&query, 10, &none).await?;
        vector_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(hits.len(), 10);
        let t = Instant::now();
        store
            .keyword_search(KEYWORD_QUERIES[i % KEYWORD_QUERIES.len()], 10, &none)
            .await?;
        keyword_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let filtered = store.vector_search(&query, 10, &files).await?;
        filtered_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(filtered.len(), 10);
    }
    println!(
        "{name:>9}  {total} chunks  upsert {:.0} chunks/s ({upsert_s:.1} s)  \
         vector top-10 p50 {:.2} ms p99 {:.2} ms  keyword top-10 p50 {:.2} ms p99 {:.2} ms  \
         filtered vector top-10 p50 {:.2} ms p99 {:.2} ms",
        total as f64 / upsert_s,
        percentile(&vector_ms, 0.5),
        percentile(&vector_ms, 0.99),
        percentile(&keyword_ms, 0.5),
        percentile(&keyword_ms, 0.99),
        percentile(&filtered_ms, 0.5),
        percentile(&filtered_ms, 0.99),
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let batches = batches(args.chunks);
    let dir = tempfile::tempdir()?;
    let embedded = Arc::new(EmbeddedStore::open(dir.path())?);
    measure("embedded", embedded, &batches, args.queries).await?;
    let pg = PgVectorStore::builder(&args.pg_url, DIM)
        .table_prefix(format!("bench_{}", std::process::id()))
        .connect()
        .await?;
    let result = measure("pgvector", Arc::new(pg.clone()), &batches, args.queries).await;
    pg.drop_tables().await?;
    result
}
