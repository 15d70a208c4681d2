//! Load generator for `POST /api/query` of a running `vaultiq serve`:
//! queries/s and p50/p99 latency at each concurrency level (a closed loop:
//! every client sends its next question as soon as its answer arrives).
//!
//! Run with: `benches/query-load.sh` (builds, indexes the sample corpus,
//! starts the server on a free port), or against any server:
//! `cargo run --release -p vaultiq-benches --bin query-load -- --url http://127.0.0.1:8080 --concurrency 1,16,64`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use vaultiq_benches::metrics::percentile;

/// Questions an IT team asks of the sample corpus, sent round-robin.
const QUESTIONS: &[&str] = &[
    "How do I rotate the TLS certificates?",
    "How do I restore Postgres from a backup?",
    "What happened during the checkout outage?",
    "How do I deploy to production?",
    "What are the incident severity levels?",
    "The VPN does not connect, what should I check?",
    "How do I set up my laptop?",
    "How do I add a Grafana alert?",
];

#[derive(Debug, Parser)]
struct Args {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Requests per level (default: 25 per client, at least 200).
    #[arg(long)]
    requests: Option<usize>,
    /// Requests per level sent first and not measured.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// `top_k` of every query.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Bearer API key, when the server needs one.
    #[arg(long, env = "VAULTIQ_API_KEY")]
    api_key: Option<String>,
}

struct Level {
    concurrency: usize,
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

async fn one(client: &reqwest::Client, args: &Args, question: &str) -> anyhow::Result<(bool, f64)> {
    let started = Instant::now();
    let mut request = client
        .post(format!("{}/api/query", args.url))
        .json(&serde_json::json!({ "query": question, "top_k": args.top_k }));
    if let Some(key) = &args.api_key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.context("request failed")?;
    let ok = response.status().is_success();
    // The answer is read in full: its time is part of the latency.
    response.bytes().await.context("reading the body")?;
    Ok((ok, started.elapsed().as_secs_f64() * 1000.0))
}

async fn level(
    client: &reqwest::Client,
    args: &Arc<Args>,
    concurrency: usize,
    requests: usize,
) -> anyhow::Result<Level> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, args, next) = (client.clone(), args.clone(), next.clone());
            tokio::spawn(async move {
                let mut results = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= requests {
                        break;
                    }
                    results.push(one(&client, &args, QUESTIONS[i % QUESTIONS.len()]).await?);
                }
                anyhow::Ok(results)
            })
        })
        .collect();
    let mut latencies_ms = Vec::with_capacity(requests);
    let mut errors = 0;
    for worker in workers {
        for (ok, ms) in worker.await.context("worker")?? {
            errors += usize::from(!ok);
            latencies_ms.push(ms);
        }
    }
    Ok(Level {
        concurrency,
        requests,
        errors,
        elapsed: started.elapsed(),
        latencies_ms,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Arc::new(Args::parse());
    if args.concurrency.contains(&0) {
        bail!("--concurrency levels must be at least 1");
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(args.concurrency.iter().copied().max().unwrap_or(1))
        .build()?;
    let health = client
        .get(format!("{}/health", args.url))
        .send()
        .await
        .with_context(|| format!("no server at {}", args.url))?;
    if !health.status().is_success() {
        bail!("{}/health answered {}", args.url, health.status());
    }
    println!("| concurrency | requests | errors | queries/s | p50 ms | p99 ms |");
    println!("|------------:|---------:|-------:|----------:|-------:|-------:|");
    for &concurrency in &args.concurrency {
        let requests = args.requests.unwrap_or((25 * concurrency).max(200));
        level(&client, &args, concurrency, args.warmup.max(concurrency)).await?;
        let result = level(&client, &args, concurrency, requests).await?;
        println!(
            "| {:>11} | {:>8} | {:>6} | {:>9.1} | {:>6.1} | {:>6.1} |",
            result.concurrency,
            result.requests,
            result.errors,
            result.requests as f64 / result.elapsed.as_secs_f64(),
            percentile(&result.latencies_ms, 0.50),
            percentile(&result.latencies_ms, 0.99),
        );
    }
    Ok(())
}
