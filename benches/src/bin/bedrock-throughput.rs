//! Embeddings/s through `BedrockEmbedder` (the real SDK client, SigV4 and
//! all) against the loopback Bedrock emulator with injected latency, at
//! several concurrency levels, and with a share of calls throttled: every
//! document must come back, in its slot, none lost.
//!
//! Run with: `cargo run --release -p vaultiq-benches --features aws-bedrock --bin bedrock-throughput -- [--docs 256] [--runs 3] [--latency-ms 50] [--throttle 0.3]`
//!
//! Prints the median embeddings/s of the runs per concurrency level, the
//! ideal rate (`concurrency / latency`), and for the throttled runs the
//! calls made, calls throttled and documents embedded. Last, the same
//! throttled workload through the SDK's own standard retry policy (what
//! `BedrockEmbedder` switches off in favour of its own), counting the
//! documents it gives up on.

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_smithy_types::retry::RetryConfig;
use clap::Parser;
use futures::stream::{self, StreamExt};
use vaultiq_benches::metrics::percentile;
use vaultiq_core::embedder::{BedrockEmbedder, EmbedKind, Embedder};
use vaultiq_tests::bedrock_emulator::{expected_embedding, BedrockEmulator};

/// Concurrency levels measured.
const LEVELS: [usize; 3] = [1, 8, 32];

#[derive(Parser, Debug)]
struct Args {
    /// Documents per run.
    #[arg(long, default_value_t = 256)]
    docs: usize,
    /// Timed runs per setting (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Latency the emulator adds to every call.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// Share of calls throttled in the throttling runs.
    #[arg(long, default_value_t = 0.3)]
    throttle: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runs = args.runs.max(1);
    let emulator = BedrockEmulator::start().await;
    emulator.set_latency(Duration::from_millis(args.latency_ms));
    let docs: Vec<String> = vaultiq_benches::passages(args.docs, 60)
        .into_iter()
        .enumerate()
        .map(|(i, text)| format!("document {i}: {text}"))
        .collect();
    println!(
        "{} documents per run, {} ms injected latency, median of {runs} runs",
        docs.len(),
        args.latency_ms
    );
    println!("| setting | embeddings/s (median) | ideal | calls | throttled | embedded |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for throttle in [0.0, args.throttle] {
        for concurrency in LEVELS {
            emulator.set_throttle_share(throttle);
            let mut rates = Vec::new();
            let mut last = None;
            for _ in 0..runs {
                let before = emulator.stats();
                let embedder = BedrockEmbedder::builder()
                    .settings(emulator.settings())
                    .concurrency(concurrency)
                    .build()?;
                let start = Instant::now();
                let vectors = embedder.embed(&docs, EmbedKind::Document).await?;
                rates.push(docs.len() as f64 / start.elapsed().as_secs_f64());
                // None lost, none out of place.
                let correct = docs
                    .iter()
                    .zip(&vectors)
                    .filter(|(text, vector)| **vector == expected_embedding(text, 1024, true))
                    .count();
                anyhow::ensure!(
                    correct == docs.len(),
                    "{} of {} documents came back wrong",
                    docs.len() - correct,
                    docs.len()
                );
                let after = emulator.stats();
                last = Some((
                    after.calls - before.calls,
                    after.throttled - before.throttled,
                    correct,
                ));
            }
            let (calls, throttled, embedded) = last.unwrap_or_default();
            let ideal = concurrency as f64 * 1000.0 / args.latency_ms.max(1) as f64;
            println!(
                "| concurrency {concurrency}, {:.0}% throttled | {:.1} | {:.0} | {calls} | {throttled} | {embedded}/{} |",
                throttle * 100.0,
                percentile(&rates, 0.5),
                ideal,
                docs.len()
            );
        }
    }
    for concurrency in [8, 32] {
        emulator.set_throttle_share(args.throttle);
        let before = emulator.stats();
        let start = Instant::now();
        let embedded = sdk_retry_run(&emulator, &docs, concurrency).await;
        let rate = embedded as f64 / start.elapsed().as_secs_f64();
        let after = emulator.stats();
        println!(
            "| SDK standard retry (3 attempts), concurrency {concurrency}, {:.0}% throttled | {rate:.1} | | {} | {} | {embedded}/{} |",
            args.throttle * 100.0,
            after.calls - before.calls,
            after.throttled - before.throttled,
            docs.len()
        );
    }
    Ok(())
}

/// Embeds `docs` with a plain SDK client using the SDK's standard retry
/// policy (its defaults: 3 attempts, exponential backoff, retry quota);
/// returns how many came back.
async fn sdk_retry_run(emulator: &BedrockEmulator, docs: &[String], concurrency: usize) -> usize {
    let credentials = aws_credential_types::Credentials::new(
        "AKIDEMULATOR",
        "emulator-secret",
        None,
        None,
        "bench",
    );
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(
            vaultiq_tests::bedrock_emulator::REGION,
        ))
        .endpoint_url(emulator.url())
        .credentials_provider(credentials)
        .retry_config(RetryConfig::standard())
        .load()
        .await;
    let client = aws_sdk_bedrockruntime::Client::new(&config);
    stream::iter(docs)
        .map(|text| {
            let client = client.clone();
            async move {
                let body = serde_json::json!({"inputText": text}).to_string();
                client
                    .invoke_model()
                    .model_id("amazon.titan-embed-text-v2:0")
                    .content_type("application/json")
                    .body(Blob::new(body))
                    .send()
                    .await
                    .is_ok()
            }
        })
        .buffer_unordered(concurrency)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}
