//! Shared helpers of the end-to-end tests: the sample corpus, the local
//! model loaded once per test binary, and index snapshots to compare runs.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub mod aws;
pub mod aws_shape;
pub mod bedrock_emulator;
pub mod loopback;
pub mod opensearch_emulator;
pub mod state_conformance;
pub mod store_conformance;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use std::sync::Arc;

use vaultiq_core::embedder::{CachedEmbedder, Embedder, LocalEmbedder};
use vaultiq_core::{KnowledgeBase, Query, SearchMode};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `examples/data`, the sample corpus.
pub fn sample_corpus() -> PathBuf {
    repo_root().join("examples").join("data")
}

/// The local model, loaded once (run `scripts/fetch-model` first).
pub fn model() -> LocalEmbedder {
    static MODEL: OnceLock<LocalEmbedder> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            LocalEmbedder::builder()
                .build()
                .expect("local model (run scripts/fetch-model)")
        })
        .clone()
}

/// The local model behind an embedding cache shared by every test and kept
/// between runs: the many fresh data directories of these tests would
/// otherwise embed the same sample corpus again and again. The cache is
/// keyed by model id and exact text, so its vectors are the model's own.
pub fn shared_embedder() -> Arc<dyn Embedder> {
    static SHARED: OnceLock<Arc<dyn Embedder>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            let dir = std::env::temp_dir().join("vaultiq-test-embedding-cache");
            Arc::new(CachedEmbedder::open(Arc::new(model()), dir).expect("shared embedding cache"))
        })
        .clone()
}

/// A knowledge base with every embedded default in `data_dir`.
pub fn local_kb(data_dir: &Path) -> KnowledgeBase {
    KnowledgeBase::local_builder(data_dir, shared_embedder())
        .and_then(|builder| builder.build())
        .expect("open knowledge base")
}

/// Questions whose results characterise an index.
pub const PROBE_QUERIES: &[&str] = &[
    "rotate TLS certificates",
    "restore postgres backup",
    "what happened during the checkout outage",
    "VPN does not connect",
    "password policy length",
];

/// Chunk ids returned by each probe query in each mode, plus the counts:
/// equal snapshots mean equal indexes as far as search can tell.
pub async fn snapshot(kb: &KnowledgeBase) -> Vec<String> {
    let mut lines = vec![format!(
        "chunks={}",
        kb.store().chunk_count().await.expect("count")
    )];
    lines.push(format!(
        "sources={:?}",
        kb.sources().await.expect("sources")
    ));
    for q in PROBE_QUERIES {
        for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
            let result = kb
                .search(&Query::new(*q).top_k(10).mode(mode))
                .await
                .expect("search");
            let ids: Vec<&str> = result.hits.iter().map(|h| h.chunk.id.as_str()).collect();
            lines.push(format!("{q} {mode:?}: {}", ids.join(" ")));
        }
    }
    lines
}
