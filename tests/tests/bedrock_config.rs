//! `kind = "bedrock"` chosen in `vaultiq.toml` and opened with
//! `Config::open`: files -> Titan (emulator) -> embedded store -> Claude
//! (emulator) -> an answer with citations, with the embedding cache keyed by
//! the Titan settings.
//!
//! `Config::open` reads credentials from the standard chain, so this binary
//! sets the `AWS_*` variables, once, in its only test (no other thread
//! reads the environment at that point).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vaultiq_core::config::Config;
use vaultiq_core::Query;
use vaultiq_tests::bedrock_emulator::BedrockEmulator;

/// The embedding cache's file name inside a data directory.
const CACHE_FILE: &str = "embedding-cache.sqlite";

fn config_text(data_dir: &std::path::Path, endpoint: Option<&str>, region: &str) -> String {
    let endpoint = endpoint
        .map(|url| format!("endpoint_url = \"{url}\"\n"))
        .unwrap_or_default();
    format!(
        "data_dir = \"{}\"\n\n[aws]\nregion = \"{region}\"\n{endpoint}\n[embedder]\nkind = \"bedrock\"\ndimensions = 256\nconcurrency = 4\n\n[answerer]\nkind = \"bedrock\"\nmax_tokens = 400\ntemperature = 0.1\n",
        data_dir.display()
    )
}

async fn ask_through_config(text: &str, corpus: &std::path::Path) {
    let config = Config::parse_with_env(text, "vaultiq.toml", &|_| None).unwrap();
    assert_eq!(config.embedder.kind, "bedrock");
    let kb = config.open().unwrap();
    assert_eq!(kb.embedder().dimension(), 256);
    assert!(kb
        .embedder()
        .model_id()
        .contains("amazon.titan-embed-text-v2:0;dims=256;normalize=true"));
    let report = kb.ingest_dir("runbooks", corpus).await.unwrap();
    assert!(report.indexed() >= 2, "{report:?}");
    let result = kb
        .ask(&Query::new("How do I rotate the TLS certificate?"))
        .await
        .unwrap();
    let answer = result.answer;
    assert!(answer.grounded, "{answer:?}");
    assert!(answer.text.contains("[1]"), "{}", answer.text);
    assert!(
        answer.citations[0].title.contains("TLS"),
        "{:?}",
        answer.citations
    );
}

#[tokio::test]
async fn config_selects_bedrock_for_both_stages() {
    let corpus = tempfile::tempdir().unwrap();
    std::fs::write(
        corpus.path().join("tls.md"),
        "# TLS rotation\n\nTo rotate the TLS certificate run certctl rotate --env prod. It takes five minutes.\n",
    )
    .unwrap();
    std::fs::write(
        corpus.path().join("disk.md"),
        "# Disk full\n\nWhen the build disk is full, prune docker images first, then expand the volume.\n",
    )
    .unwrap();

    // The real service first, with the chain's own credentials.
    if std::env::var("VAULTIQ_TEST_AWS").as_deref() == Ok("1") {
        let region = std::env::var("AWS_REGION").expect("VAULTIQ_TEST_AWS=1 needs AWS_REGION");
        let data = tempfile::tempdir().unwrap();
        ask_through_config(&config_text(data.path(), None, &region), corpus.path()).await;
    } else {
        eprintln!("skipping the real-Bedrock variant of config_selects_bedrock_for_both_stages: set VAULTIQ_TEST_AWS=1 and AWS_REGION");
    }

    // The only test of this binary: the chain's variables are set before
    // any emulator client exists and while no other thread reads them.
    std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDEMULATOR");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "emulator-secret");
    std::env::remove_var("AWS_SESSION_TOKEN");
    std::env::remove_var("AWS_PROFILE");
    let emulator = BedrockEmulator::start().await;
    let data = tempfile::tempdir().unwrap();
    let text = config_text(data.path(), Some(emulator.url()), "us-east-1");
    ask_through_config(&text, corpus.path()).await;
    let embedded = emulator.stats().succeeded;
    assert!(
        embedded >= 3,
        "chunks, the question and the answer went through the emulator"
    );

    // Reopened with the same settings, unchanged chunks come from the cache.
    let cache = data.path().join(CACHE_FILE);
    assert!(cache.exists());
    let again = tempfile::tempdir().unwrap();
    std::fs::copy(&cache, again.path().join(CACHE_FILE)).unwrap();
    let before = emulator.invoked_inputs().len();
    ask_through_config(
        &config_text(again.path(), Some(emulator.url()), "us-east-1"),
        corpus.path(),
    )
    .await;
    let after = emulator.invoked_inputs().len();
    assert_eq!(after - before, 1, "only the question is embedded again");
}
