//! End-to-end `ask` latency at a given store size with the local model and
//! the extractive answerer, per stage (embed / search / answer), for hybrid
//! and vector-only retrieval. The store holds Gaussian-mixture vectors and
//! generated IT text (embedding 100k real passages would take hours here);
//! every question is embedded for real by the local model.
//!
//! Run with: `cargo run --release -p vaultiq-benches --bin ask-latency -- --chunks 100000`

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use vaultiq_benches::metrics::percentile;
use vaultiq_benches::synthetic::{build_mixture_store, GaussianMixture};
use vaultiq_core::answerer::ExtractiveAnswerer;
use vaultiq_core::embedder::LocalEmbedder;
use vaultiq_core::lake::FsLake;
use vaultiq_core::state::SqliteStateStore;
use vaultiq_core::store::EmbeddedStoreOptions;
use vaultiq_core::{KnowledgeBase, Query, SearchMode, StageTimings};

#[derive(Parser, Debug)]
struct Args {
    /// Chunks in the store.
    #[arg(long, default_value_t = 100_000)]
    chunks: usize,
    /// Questions timed per mode (after 10 warm-up questions).
    #[arg(long, default_value_t = 200)]
    questions: usize,
}

const VERBS: &[&str] = &[
    "rotate",
    "restore",
    "deploy",
    "roll back",
    "debug",
    "scale",
    "monitor",
];
const THINGS: &[&str] = &[
    "the TLS certificates",
    "the postgres backup",
    "the kubernetes cluster",
    "the redis replica",
    "the vpn token",
    "the dns records",
    "the metrics dashboard",
    "the deploy pipeline",
];
const WHEN: &[&str] = &[
    "after an incident",
    "before a release",
    "when latency alerts fire",
    "on call",
    "",
];

/// The `i`-th question; all distinct, so no layer can answer from a cache.
fn question(i: usize) -> String {
    let verb = VERBS[i % VERBS.len()];
    let thing = THINGS[(i / VERBS.len()) % THINGS.len()];
    let when = WHEN[(i / (VERBS.len() * THINGS.len())) % WHEN.len()];
    format!("How do I {verb} {thing} {when} (case {i})?")
}

fn report(mode: &str, timings: &[StageTimings]) {
    let stage = |f: fn(&StageTimings) -> f64| {
        let values: Vec<f64> = timings.iter().map(f).collect();
        (percentile(&values, 0.5), percentile(&values, 0.99))
    };
    let (embed, embed99) = stage(|t| t.embed_ms);
    let (search, search99) = stage(|t| t.search_ms);
    let (answer, answer99) = stage(|t| t.answer_ms);
    let (total, total99) = stage(|t| t.total_ms);
    println!(
        "{mode}: total p50 {total:.2} ms (p99 {total99:.2}); embed p50 {embed:.2} (p99 {embed99:.2}), search p50 {search:.2} (p99 {search99:.2}), answer p50 {answer:.2} (p99 {answer99:.2})"
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let mixture = GaussianMixture::new((args.chunks / 500).max(1), 31);
    let built = Instant::now();
    let store = build_mixture_store(
        dir.path(),
        EmbeddedStoreOptions::default(),
        args.chunks,
        &mixture,
        32,
        |_, _| {},
    )
    .await?;
    println!(
        "{} chunks built in {:.1} s; vector index {:?}",
        args.chunks,
        built.elapsed().as_secs_f64(),
        store.vector_index_info().await?
    );
    let kb = KnowledgeBase::builder()
        .embedder(Arc::new(LocalEmbedder::builder().build()?))
        .store(Arc::new(store))
        .answerer(Arc::new(ExtractiveAnswerer::default()))
        .lake(Arc::new(FsLake::new(dir.path().join("lake"))))
        .state(Arc::new(SqliteStateStore::open(dir.path())?))
        .build()?;
    for (mode, name) in [
        (SearchMode::Hybrid, "hybrid"),
        (SearchMode::Vector, "vector only"),
    ] {
        for i in 0..10 {
            kb.ask(&Query::new(question(1_000_000 + i)).mode(mode))
                .await?;
        }
        let mut timings = Vec::with_capacity(args.questions);
        for i in 0..args.questions {
            let result = kb.ask(&Query::new(question(i)).mode(mode)).await?;
            timings.push(result.timings);
        }
        report(name, &timings);
    }
    Ok(())
}
