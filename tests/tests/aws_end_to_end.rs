//! VaultIQ in its AWS shape, chosen by name in `vaultiq.toml`: a files
//! source -> the raw lake on S3 (moto) -> Titan embeddings (the Bedrock
//! emulator) -> the embedded store -> a Claude answer (the emulator) with
//! citations. Then a second knowledge base with an empty data directory
//! rebuilds its index from the S3 lake alone and answers the same way.
//!
//! With `VAULTIQ_TEST_AWS=1` the same test runs against real S3 and
//! Bedrock (`AWS_REGION`, `VAULTIQ_TEST_S3_BUCKET`, `VAULTIQ_TEST_DYNAMODB_TABLE`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use vaultiq_core::config::Config;
use vaultiq_core::lake::{Lake, S3Lake};
use vaultiq_core::{Query, SourceType, SyncOptions};
use vaultiq_tests::aws::{target, Target, MOTO_REGION};
use vaultiq_tests::bedrock_emulator::BedrockEmulator;
use vaultiq_tests::sample_corpus;

const QUESTION: &str = "How do I rotate the TLS certificates?";

fn config_text(
    data_dir: &std::path::Path,
    bucket: &str,
    prefix: &str,
    aws: &str,
    bedrock: &str,
) -> String {
    format!(
        r#"data_dir = "{data}"

{aws}
[lake]
kind = "s3"
bucket = "{bucket}"
prefix = "{prefix}"

[embedder]
kind = "bedrock"
dimensions = 256
{bedrock}
[answerer]
kind = "bedrock"
max_tokens = 400
{bedrock}
[[sources]]
type = "files"
name = "runbooks"
path = "{corpus}"
"#,
        data = data_dir.display(),
        corpus = sample_corpus().display(),
    )
}

#[tokio::test]
async fn files_to_s3_lake_to_titan_to_store_to_claude() {
    let Some(target) = target("files_to_s3_lake_to_titan_to_store_to_claude") else {
        return;
    };
    let (bucket, prefix) = target.bucket("endtoend").await;
    // Moto serves S3; the emulator serves Bedrock. Against AWS both are real.
    let emulator;
    let (aws, bedrock) = match &target {
        Target::Moto { url } => {
            emulator = Some(BedrockEmulator::start().await);
            let bedrock_url = emulator
                .as_ref()
                .map(|e| e.url().to_string())
                .unwrap_or_default();
            (
                format!("[aws]\nregion = \"{MOTO_REGION}\"\nendpoint_url = \"{url}\"\n"),
                format!("endpoint_url = \"{bedrock_url}\"\n"),
            )
        }
        Target::Real { .. } => {
            emulator = None;
            (String::new(), String::new())
        }
    };

    let first_dir = tempfile::tempdir().unwrap();
    let text = config_text(first_dir.path(), &bucket, &prefix, &aws, &bedrock);
    let kb = Config::parse(&text, "vaultiq.toml")
        .unwrap()
        .open()
        .unwrap();
    let report = kb.sync(&SyncOptions::default(), &|_| {}).await.unwrap();
    let indexed = report.indexed();
    assert!(indexed > 10, "{report:?}");

    // Every document's raw record is in the bucket, under the documented keys.
    let lake = S3Lake::builder(&bucket)
        .prefix(&prefix)
        .settings(target.settings())
        .build()
        .unwrap();
    assert_eq!(lake.list("runbooks").await.unwrap().len(), indexed);

    let answer = kb.ask(&Query::new(QUESTION)).await.unwrap().answer;
    assert!(answer.grounded, "{answer:?}");
    assert!(!answer.citations.is_empty(), "{answer:?}");
    assert!(answer
        .citations
        .iter()
        .all(|c| c.source_type == SourceType::Files));
    let cited: Vec<String> = answer.citations.iter().map(|c| c.url.clone()).collect();
    assert!(
        answer.citations[0].title.to_lowercase().contains("tls")
            || answer.citations[0]
                .title
                .to_lowercase()
                .contains("certificate"),
        "{:?}",
        answer.citations
    );
    if let Some(emulator) = &emulator {
        // Chunks and the question went to Titan; the answer to Converse.
        assert!(
            emulator.stats().succeeded > indexed,
            "{:?}",
            emulator.stats()
        );
    }

    // A fresh data directory: the index comes back from the S3 lake alone.
    let second_dir = tempfile::tempdir().unwrap();
    let text = config_text(second_dir.path(), &bucket, &prefix, &aws, &bedrock);
    let rebuilt = Config::parse(&text, "vaultiq.toml")
        .unwrap()
        .open()
        .unwrap();
    let report = rebuilt
        .reindex(None, &SyncOptions::default(), &|_| {})
        .await
        .unwrap();
    assert_eq!(report.indexed(), indexed, "{report:?}");
    let again = rebuilt.ask(&Query::new(QUESTION)).await.unwrap().answer;
    let cited_again: Vec<String> = again.citations.iter().map(|c| c.url.clone()).collect();
    assert_eq!(
        cited_again, cited,
        "the rebuilt index answers from the same sources"
    );
}
