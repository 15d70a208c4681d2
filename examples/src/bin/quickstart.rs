//! The whole pipeline in one page: index a folder, then ask it a question.
//!
//! Run with: `cargo run --release --bin quickstart -- [DIR] [QUESTION]`
//! (defaults: `examples/data` and a question about TLS certificates). Needs
//! the local model: `scripts/fetch-model`.

use vaultiq_core::{KnowledgeBase, Query};

const DEFAULT_DIR: &str = "examples/data";
const DEFAULT_QUESTION: &str = "How do I rotate the TLS certificates?";

#[tokio::main]
async fn main() -> vaultiq_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| DEFAULT_DIR.to_string());
    let question = args.next().unwrap_or_else(|| DEFAULT_QUESTION.to_string());

    // Everything lives in one data directory; a temporary one keeps runs apart.
    let data_dir = std::env::temp_dir().join(format!("vaultiq-quickstart-{}", std::process::id()));
    let kb = KnowledgeBase::open_local(&data_dir)?;

    // Sync the folder as source "samples": chunk, embed, index.
    let report = kb.ingest_dir("samples", &dir).await?;
    println!("indexed {} documents from {dir}", report.indexed());

    // Hybrid search, then an extractive answer with citations.
    let result = kb.ask(&Query::new(question.as_str())).await?;
    println!("\nQ: {question}\nA: {}\n", result.answer.text);
    for (i, source) in result.answer.citations.iter().enumerate() {
        println!("[{}] {} — {}", i + 1, source.title, source.url);
    }

    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(())
}
