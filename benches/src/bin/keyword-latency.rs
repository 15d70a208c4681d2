//! Keyword search latency on generated Zipfian text: the embedded store's
//! BM25 index against SQLite FTS5 (the engine it replaced) on the same
//! chunks and queries, timed back to back.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin keyword-latency -- 100000 1000000`
//! (`--no-fts5` skips the FTS5 side, whose build and worst-case queries take
//! most of the run at 1M chunks).

use std::time::Instant;

use rusqlite::Connection;
use vaultiq_benches::metrics::percentile;
use vaultiq_benches::synthetic::{build_keyword_store, ZipfText, ZIPF_CHUNK_WORDS};
use vaultiq_core::store::{EmbeddedStore, Filter, VectorStore};

const QUERIES: usize = 300;
/// Fewer worst-case queries: FTS5 needs seconds for each at 1M chunks.
const WORST_CASE_QUERIES: usize = 30;

/// The FTS5 table and query the embedded store used before its own index.
fn build_fts5(path: &std::path::Path, texts: &[String]) -> anyhow::Result<Connection> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE VIRTUAL TABLE chunks_fts USING fts5(body, tokenize = 'porter unicode61 remove_diacritics 2');",
    )?;
    for batch in texts.chunks(5_000) {
        let tx = conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO chunks_fts (body) VALUES (?1)")?;
            for text in batch {
                insert.execute([text])?;
            }
        }
        tx.commit()?;
    }
    conn.execute_batch("INSERT INTO chunks_fts(chunks_fts) VALUES ('optimize');")?;
    Ok(conn)
}

fn fts5_search(conn: Option<&Connection>, query: &str) -> anyhow::Result<usize> {
    let Some(conn) = conn else {
        return Ok(0);
    };
    let expression: Vec<String> = query
        .split_whitespace()
        .map(|t| format!("\"{t}\""))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT rowid, bm25(chunks_fts) FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT 10",
    )?;
    let rows = stmt
        .query_map([expression.join(" OR ")], |row| row.get::<_, i64>(0))?
        .count();
    Ok(rows)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let with_fts5 = !std::env::args().any(|a| a == "--no-fts5");
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    for size in sizes {
        let mut text = ZipfText::new(5);
        let texts: Vec<String> = (0..size).map(|_| text.passage(ZIPF_CHUNK_WORDS)).collect();
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        let store = build_keyword_store(&dir.path().join("store"), &texts).await?;
        let store_build_s = t.elapsed().as_secs_f64();
        drop(store);
        let t = Instant::now();
        let store = EmbeddedStore::open(dir.path().join("store"))?;
        let reopen_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let fts = if with_fts5 {
            Some(build_fts5(&dir.path().join("fts5.sqlite"), &texts)?)
        } else {
            None
        };
        let fts_build_s = t.elapsed().as_secs_f64();
        drop(texts);
        println!(
            "{size} chunks of {ZIPF_CHUNK_WORDS} Zipfian words: store built in {store_build_s:.1} s, \
             reopened (index rebuilt from SQLite) in {reopen_s:.1} s; FTS5 built in {fts_build_s:.1} s"
        );
        for (label, queries) in [
            ("mixed common+rare, 2-5 words", text.mixed_queries(QUERIES)),
            (
                "worst case, 4 of the 20 commonest words",
                text.common_queries(WORST_CASE_QUERIES),
            ),
        ] {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            let (mut ours_hits, mut theirs_hits) = (0, 0);
            for query in &queries {
                let t = Instant::now();
                ours_hits += store
                    .keyword_search(query, 10, &Filter::default())
                    .await?
                    .len();
                ours.push(t.elapsed().as_secs_f64() * 1000.0);
                let t = Instant::now();
                theirs_hits += fts5_search(fts.as_ref(), query)?;
                theirs.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let (p50, f50) = (percentile(&ours, 0.5), percentile(&theirs, 0.5));
            println!(
                "  {label}: VaultIQ top-10 p50 {p50:.2} ms p99 {:.2} ms | FTS5 p50 {f50:.2} ms p99 {:.2} ms | FTS5/VaultIQ p50 {:.1}x (hits {ours_hits} vs {theirs_hits})",
                percentile(&ours, 0.99),
                percentile(&theirs, 0.99),
                f50 / p50.max(1e-9),
            );
        }
    }
    Ok(())
}
