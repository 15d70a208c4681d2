//! The `lambda-api` and `lambda-processing` binaries run as Lambda runs
//! them: each process is started with `AWS_LAMBDA_RUNTIME_API` pointing at a
//! loopback emulation of the Lambda Runtime API
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>:
//! `GET /2018-06-01/runtime/invocation/next` hands out the event,
//! `POST .../invocation/{id}/response` takes the result), so the runtime
//! loop, the lazy knowledge base and the handlers are exercised end to end.
//!
//! It measures the cold start (process start to first response) and the
//! processing throughput of one invocation, on the local parts (the local
//! model is loaded at the first request) and in the seed's AWS shape (S3
//! and DynamoDB on moto, Bedrock and OpenSearch on their emulators: no
//! model to load; skipped without `VAULTIQ_MOTO_URL`, which `make test-aws`
//! sets). `make test` runs it once per
//! binary on the debug build as a check; for numbers:
//!
//! ```text
//! VAULTIQ_COLD_START_RUNS=7 cargo test --release -p vaultiq-examples \
//!     --test lambda_cold_start -- --nocapture --test-threads 1
//! ```
//!
//! or, to time the deployment packages `scripts/build-lambdas` made, add
//! `VAULTIQ_LAMBDA_BIN_DIR=target/lambda` (its `api/bootstrap` and
//! `processing/bootstrap` are run instead of this build's binaries).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use vaultiq_core::config::Config;
use vaultiq_core::lake::key::record_key;
use vaultiq_core::lake::{FsLake, Lake, S3Lake};
use vaultiq_core::{KnowledgeBase, SyncOptions};
use vaultiq_tests::aws::MOTO_REGION;
use vaultiq_tests::aws_shape::AwsShape;

/// Upper bound of any wait for the function.
const WAIT: Duration = Duration::from_secs(180);
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
/// The bucket of the recorded S3 events on the local parts.
const BUCKET: &str = "vaultiq-lake";

// ------------------------------------------------------- runtime API emulator

/// What the function sent back for its invocation.
#[derive(Debug)]
enum Outcome {
    Response(Value),
    Error(String),
}

#[derive(Clone)]
struct Emulator {
    /// Events to hand out in turn; once they are gone, `next` polls wait
    /// forever (the process is stopped after its last response).
    events: Arc<Mutex<Vec<Value>>>,
    done: mpsc::UnboundedSender<(Instant, Outcome)>,
}

async fn next(State(emulator): State<Emulator>) -> Response {
    let event = {
        let mut events = emulator.events.lock().unwrap();
        (!events.is_empty()).then(|| events.remove(0))
    };
    let Some(event) = event else {
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = SystemTime::now() + Duration::from_secs(900);
    let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis();
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
    };
    set("lambda-runtime-aws-request-id", REQUEST_ID.to_string());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:vaultiq".to_string(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".to_string(),
    );
    set("content-type", "application/json".to_string());
    (StatusCode::OK, headers, event.to_string()).into_response()
}

async fn response(
    State(emulator): State<Emulator>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    let at = Instant::now();
    assert_eq!(id, REQUEST_ID);
    let outcome = match serde_json::from_slice(&body) {
        Ok(value) => Outcome::Response(value),
        Err(e) => Outcome::Error(format!("response is not JSON: {e}")),
    };
    let _ = emulator.done.send((at, outcome));
    StatusCode::ACCEPTED
}

async fn error(State(emulator): State<Emulator>, body: Bytes) -> StatusCode {
    let _ = emulator.done.send((
        Instant::now(),
        Outcome::Error(String::from_utf8_lossy(&body).into_owned()),
    ));
    StatusCode::ACCEPTED
}

/// Kills the function process however the test ends.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `binary` under the emulator and invokes it with `events` in
/// turn; returns, per invocation, the time since the previous response (the
/// process start for the first: the cold start) and the response.
async fn invoke(
    binary: &str,
    env: &[(&str, String)],
    events: Vec<Value>,
    log: &Path,
) -> Vec<(Duration, Value)> {
    let (done, mut finished) = mpsc::unbounded_channel();
    let count = events.len();
    let emulator = Emulator {
        events: Arc::new(Mutex::new(events)),
        done,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(emulator);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let log_file = std::fs::File::create(log).unwrap();
    let started = Instant::now();
    let child = Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "vaultiq-cold-start")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    let function = Function(child);
    let mut results = Vec::with_capacity(count);
    let mut previous = started;
    for _ in 0..count {
        let (at, outcome) = tokio::time::timeout(WAIT, finished.recv())
            .await
            .unwrap_or_else(|_| panic!("{binary} did not answer; log:\n{}", read(log)))
            .unwrap();
        match outcome {
            Outcome::Response(value) => results.push((at - previous, value)),
            Outcome::Error(e) => panic!("{binary} failed: {e}\nlog:\n{}", read(log)),
        }
        previous = at;
    }
    drop(function);
    let _ = stop.send(());
    server.abort();
    results
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

// ---------------------------------------------------------------- fixtures

/// The function binary: this build's, or a packaged `bootstrap`.
fn function_binary(name: &str, built: &str) -> String {
    match std::env::var("VAULTIQ_LAMBDA_BIN_DIR") {
        Ok(dir) if !dir.is_empty() => Path::new(&dir)
            .join(name)
            .join("bootstrap")
            .display()
            .to_string(),
        _ => built.to_string(),
    }
}

fn runs() -> usize {
    std::env::var("VAULTIQ_COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Records per measured batch (`VAULTIQ_COLD_START_BATCH`, default: 8,
/// or the whole corpus when `VAULTIQ_COLD_START_RUNS` asks for numbers).
fn batch_size() -> Option<usize> {
    match std::env::var("VAULTIQ_COLD_START_BATCH") {
        Ok(v) => v.parse().ok(),
        Err(_) if runs() > 1 => Some(usize::MAX),
        Err(_) => None,
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lambda")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The function's whole configuration, as environment variables.
fn function_env(data_dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("VAULTIQ_DATA_DIR", data_dir.display().to_string()),
        ("VAULTIQ_LAKE_KIND", "fs".to_string()),
        ("VAULTIQ_STATE_KIND", "sqlite".to_string()),
        // The local model: found as scripts/fetch-model left it.
        (
            "VAULTIQ_EMBEDDER_MODEL_DIR",
            vaultiq_core::embedder::find_model_dir()
                .unwrap()
                .display()
                .to_string(),
        ),
    ]
}

// ------------------------------------------------------------ measurements

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Starts the api function `runs()` times with the environment of each
/// run, and asks it the same question twice per process; returns the cold
/// (first) and warm (second) response times.
async fn time_api(
    dir: &Path,
    env_of_run: &dyn Fn(usize) -> Vec<(&'static str, String)>,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut event = fixture("apigw-v2-http-api.json");
    event["body"] = json!(r#"{"query": "How do I rotate the TLS certificates?", "top_k": 3}"#);
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for run in 0..runs() {
        let replies = invoke(
            &function_binary("api", env!("CARGO_BIN_EXE_lambda-api")),
            &env_of_run(run),
            vec![event.clone(), event.clone()],
            &dir.join(format!("api-{run}.log")),
        )
        .await;
        for (_, reply) in &replies {
            assert_eq!(reply["statusCode"], 200, "{reply}");
            let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
            assert!(!body["sources"].as_array().unwrap().is_empty(), "{body}");
            assert!(!body["answer"].as_str().unwrap().is_empty(), "{body}");
        }
        cold.push(replies[0].0);
        warm.push(replies[1].0);
    }
    (cold, warm)
}

fn report_api(parts: &str, cold: &[Duration], warm: Vec<Duration>) {
    println!(
        "lambda-api ({parts}): cold start (process start -> first /api/query response) median {:.0} ms {:?}; warm invocation median {:.1} ms; {} runs",
        ms(median(cold.to_vec())),
        cold.iter().map(|t| t.as_millis()).collect::<Vec<_>>(),
        ms(median(warm)),
        cold.len()
    );
}

/// An S3 `ObjectCreated:Put` event naming the raw records `ids` of
/// `source` under `prefix` in `bucket`.
fn s3_event(bucket: &str, prefix: &str, source: &str, ids: &[String]) -> Value {
    let mut template = fixture("s3-object-created-put.json")["Records"][0].clone();
    template["s3"]["bucket"]["name"] = json!(bucket);
    let records: Vec<Value> = ids
        .iter()
        .map(|id| {
            let mut record = template.clone();
            // Lake keys hold only unreserved characters and `%XX`; S3
            // URL-encodes the key in events, so the `%` becomes `%25`.
            let key = record_key(prefix, source, id).replace('%', "%25");
            record["s3"]["object"]["key"] = json!(key);
            record
        })
        .collect();
    json!({ "Records": records })
}

/// The ids to send, sorted: one record for the cold start, then the batch
/// (the whole corpus when measuring; a few records as a check).
fn batch_ids(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    assert!(ids.len() >= 30, "{}", ids.len());
    let batch = batch_size().unwrap_or(8).min(ids.len() - 1);
    ids.truncate(batch + 1);
    ids
}

/// One processing process: the first record alone (the cold start), then
/// the rest in one invocation. Returns both times and the chunks written.
async fn time_processing(
    env: &[(&'static str, String)],
    events: Vec<Value>,
    batch: usize,
    log: &Path,
) -> (Duration, Duration, u64) {
    let replies = invoke(
        &function_binary("processing", env!("CARGO_BIN_EXE_lambda-processing")),
        env,
        events,
        log,
    )
    .await;
    assert_eq!(replies[0].1["indexed"], 1, "{}", replies[0].1);
    let summary = &replies[1].1;
    assert_eq!(summary["indexed"], batch, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    (
        replies[0].0,
        replies[1].0,
        summary["chunks"].as_u64().unwrap(),
    )
}

fn report_processing(parts: &str, runs: Vec<(Duration, Duration, u64)>, batch: usize) {
    let cold: Vec<Duration> = runs.iter().map(|r| r.0).collect();
    let per_batch = median(runs.iter().map(|r| r.1).collect());
    let chunks = runs[0].2;
    println!(
        "lambda-processing ({parts}): cold start (process start -> response to a 1-record S3 event) median {:.0} ms {:?}; warm invocation of {batch} records ({chunks} chunks) median {:.0} ms = {:.1} docs/s, {:.1} chunks/s; {} runs",
        ms(median(cold.clone())),
        cold.iter().map(|t| t.as_millis()).collect::<Vec<_>>(),
        ms(per_batch),
        batch as f64 / per_batch.as_secs_f64(),
        chunks as f64 / per_batch.as_secs_f64(),
        cold.len()
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

// ------------------------------------------------------ on the local parts

#[tokio::test]
async fn api_cold_start_answers_a_query() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kb");
    let kb = KnowledgeBase::open_local(&data).unwrap();
    kb.ingest_dir("runbooks", sample_data().join("runbooks"))
        .await
        .unwrap();
    drop(kb);

    let (cold, warm) = time_api(dir.path(), &|_| function_env(&data)).await;
    report_api("local model", &cold, warm);
}

#[tokio::test]
async fn processing_cold_start_and_throughput() {
    let dir = tempfile::tempdir().unwrap();
    // The lake as the connector function leaves it: the sample corpus
    // collected (raw records only, nothing embedded).
    let seed = dir.path().join("seed");
    let config = Config::parse_with_env(
        &format!(
            "data_dir = \"{}\"\n[[sources]]\ntype = \"files\"\nname = \"samples\"\npath = \"{}\"\n",
            seed.display(),
            sample_data().display()
        ),
        "cold start config",
        &|_| None,
    )
    .unwrap();
    let kb = config.open().unwrap();
    let options = vaultiq_core::pipeline::collect::CollectOptions::default();
    kb.collect_source("samples", &options).await.unwrap();
    drop(kb);
    let lake = FsLake::new(seed.join("lake"));
    let ids = batch_ids(lake.list("samples").await.unwrap());
    let events = vec![
        s3_event(BUCKET, "", "samples", &ids[..1]),
        s3_event(BUCKET, "", "samples", &ids[1..]),
    ];

    let mut runs_measured = Vec::new();
    for run in 0..runs() {
        // A fresh index (and embedding cache) each run, over the same lake.
        let data = dir.path().join(format!("run-{run}"));
        copy_dir(&seed.join("lake"), &data.join("lake"));
        let log = dir.path().join(format!("processing-{run}.log"));
        let measured =
            time_processing(&function_env(&data), events.clone(), ids.len() - 1, &log).await;
        runs_measured.push(measured);
    }
    report_processing("local model", runs_measured, ids.len() - 1);
}

// --------------------------------------------------- the seed's AWS shape

/// A function's environment in the AWS shape: its whole config as
/// `VAULTIQ_CONFIG_TOML` (as infrastructure code would set it) and the
/// credentials moto and the emulators accept.
fn aws_function_env(shape: &AwsShape, data_dir: &Path) -> Vec<(&'static str, String)> {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    vec![
        (
            "VAULTIQ_CONFIG_TOML",
            format!("data_dir = \"{}\"\n{}", data_dir.display(), shape.sections),
        ),
        (
            "AWS_ACCESS_KEY_ID",
            var("AWS_ACCESS_KEY_ID", "vaultiq-test"),
        ),
        (
            "AWS_SECRET_ACCESS_KEY",
            var("AWS_SECRET_ACCESS_KEY", "vaultiq-test"),
        ),
        ("AWS_REGION", var("AWS_REGION", MOTO_REGION)),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ]
}

/// A knowledge base of `shape`'s parts in `data_dir` with one files source.
fn shape_kb(shape: &AwsShape, data_dir: &Path, source: &str, path: &Path) -> KnowledgeBase {
    let text = format!(
        "data_dir = \"{}\"\n{}\n[[sources]]\ntype = \"files\"\nname = \"{source}\"\npath = \"{}\"\n",
        data_dir.display(),
        shape.sections,
        path.display()
    );
    Config::parse_with_env(&text, "cold start config", &|_| None)
        .unwrap()
        .open()
        .unwrap()
}

const AWS_PARTS: &str =
    "AWS shape: S3 and DynamoDB on moto, Bedrock and OpenSearch emulators, no model";

#[tokio::test]
async fn api_cold_start_in_the_aws_shape() {
    let test = "lambda_cold_start::api_cold_start_in_the_aws_shape";
    let Some(shape) = AwsShape::start(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The runbooks indexed through the same parts: S3, Titan, OpenSearch.
    let kb = shape_kb(
        &shape,
        &dir.path().join("seed"),
        "runbooks",
        &sample_data().join("runbooks"),
    );
    let report = kb.sync(&SyncOptions::default(), &|_| {}).await.unwrap();
    assert!(report.indexed() >= 5, "{report:?}");
    drop(kb);

    let fresh_data = |run: usize| aws_function_env(&shape, &dir.path().join(format!("fn-{run}")));
    let (cold, warm) = time_api(dir.path(), &fresh_data).await;
    if let Some(bedrock) = &shape.bedrock {
        // The answers came from Converse.
        assert!(bedrock.last_converse_request().is_some());
    }
    report_api(AWS_PARTS, &cold, warm);
}

#[tokio::test]
async fn processing_cold_start_and_throughput_in_the_aws_shape() {
    let test = "lambda_cold_start::processing_cold_start_and_throughput_in_the_aws_shape";
    let dir = tempfile::tempdir().unwrap();
    let mut runs_measured = Vec::new();
    let mut batch = 0;
    for run in 0..runs() {
        // Fresh parts each run (bucket, table, index), so every run indexes
        // the whole batch; the lake as the connector function leaves it.
        let Some(shape) = AwsShape::start(test).await else {
            return;
        };
        let kb = shape_kb(
            &shape,
            &dir.path().join(format!("seed-{run}")),
            "samples",
            &sample_data(),
        );
        let options = vaultiq_core::pipeline::collect::CollectOptions::default();
        kb.collect_source("samples", &options).await.unwrap();
        drop(kb);
        let lake = S3Lake::builder(&shape.bucket)
            .prefix(&shape.prefix)
            .settings(shape.target.settings())
            .build()
            .unwrap();
        let ids = batch_ids(lake.list("samples").await.unwrap());
        batch = ids.len() - 1;
        let event = |ids: &[String]| s3_event(&shape.bucket, &shape.prefix, "samples", ids);
        let measured = time_processing(
            &aws_function_env(&shape, &dir.path().join(format!("fn-{run}"))),
            vec![event(&ids[..1]), event(&ids[1..])],
            batch,
            &dir.path().join(format!("processing-{run}.log")),
        )
        .await;
        if let Some(opensearch) = &shape.opensearch {
            let requests = opensearch.requests();
            assert!(
                requests.iter().any(|r| r.ends_with("/_bulk")),
                "{requests:?}"
            );
        }
        runs_measured.push(measured);
    }
    report_processing(AWS_PARTS, runs_measured, batch);
}
