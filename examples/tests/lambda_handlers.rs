//! The Lambda handlers called with recorded-shape events, as the Lambda
//! runtime would call them (minus the runtime loop, which
//! `lambda_cold_start.rs` drives): a scheduled sync lands raw JSON in the
//! lake, the S3 events index it, API Gateway events answer with sources;
//! redelivered events create no duplicates; deletions flow from the source
//! to the index; a time budget that runs out mid-source leaves a
//! checkpoint the next run resumes from; bad input is a clear error.
//!
//! Event shapes (fixtures in `tests/fixtures/lambda/`) follow the AWS docs:
//! - EventBridge scheduled event:
//!   <https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>
//! - S3 `ObjectCreated:Put` / `ObjectRemoved:Delete` records:
//!   <https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html>
//! - SQS batch: <https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html>
//! - API Gateway HTTP API payload 2.0:
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>
//! - API Gateway REST proxy (payload 1.0):
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format>
//!
//! Every test runs twice, once per [`Parts`]: on the local parts (fs lake,
//! SQLite state, embedded store, local model), and in the seed's AWS shape
//! (S3 lake, DynamoDB state and Secrets Manager on moto, Titan and Claude
//! on the Bedrock emulator, OpenSearch Serverless on its emulator). The AWS
//! run needs `VAULTIQ_MOTO_URL` (`make test-aws` starts moto) and is
//! skipped with a message otherwise; `VAULTIQ_TEST_AWS=1` runs it against
//! real S3, DynamoDB, Secrets Manager and Bedrock instead, with OpenSearch
//! at `VAULTIQ_TEST_OPENSEARCH_URL` when that is set.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_http::request::LambdaRequest;
use lambda_runtime::{Context, LambdaEvent};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use tempfile::TempDir;
use vaultiq_core::config::Config;
use vaultiq_core::lake::key::{encode, record_key};
use vaultiq_core::lake::{FsLake, Lake, S3Lake};
use vaultiq_core::{KnowledgeBase, Query};
use vaultiq_examples::lambda::api;
use vaultiq_examples::lambda::connector::{self, ConnectorSettings};
use vaultiq_examples::lambda::processing::{self, ProcessingSettings};
use vaultiq_examples::server::{self, ApiKeys, ServerSettings};
use vaultiq_tests::aws::{target, unique};
use vaultiq_tests::aws_shape::AwsShape;
use vaultiq_tests::loopback::LoopbackServer;

const SOURCE: &str = "runbooks";
const BUCKET: &str = "vaultiq-lake";
const FIFTEEN_MINUTES: Duration = Duration::from_secs(15 * 60);

// ---------------------------------------------------------------- setup

/// What the knowledge base under test is made of.
#[derive(Debug, Clone, Copy)]
enum Parts {
    /// fs lake, SQLite state, embedded store, local model, extractive answers.
    Local,
    /// S3 lake, DynamoDB state, Bedrock Titan and Claude, OpenSearch
    /// Serverless: on moto and the emulators, or on AWS.
    Aws,
}

/// The one place the parts are chosen: a files source over `docs`, the
/// AWS sections when given, and everything else local in `data`.
fn config_for(data: &Path, docs: &Path, aws: Option<&AwsShape>, extra: &str) -> Config {
    let sections = match aws {
        Some(aws) => aws.sections.clone(),
        None => "[lake]\nkind = \"fs\"\n\n[state]\nkind = \"sqlite\"\n".to_string(),
    };
    let text = format!(
        r#"
data_dir = "{data}"

{sections}
[[sources]]
type = "files"
name = "{SOURCE}"
path = "{docs}"
{extra}"#,
        data = data.display(),
        docs = docs.display(),
    );
    Config::parse_with_env(&text, "lambda test config", &|_| None).unwrap()
}

struct Setup {
    dir: TempDir,
    config: Config,
    kb: Arc<KnowledgeBase>,
    aws: Option<AwsShape>,
}

impl Setup {
    fn docs(&self) -> PathBuf {
        self.dir.path().join("docs")
    }

    /// The bucket S3 events name.
    fn bucket(&self) -> &str {
        self.aws.as_ref().map_or(BUCKET, |aws| aws.bucket.as_str())
    }

    fn processing_settings(&self) -> ProcessingSettings {
        let settings = ProcessingSettings::from_config(&self.config);
        ProcessingSettings {
            bucket: Some(settings.bucket.unwrap_or_else(|| BUCKET.to_string())),
            ..settings
        }
    }

    /// The lake the handlers write, opened on its own as a reader would.
    fn lake(&self) -> Arc<dyn Lake> {
        match &self.aws {
            Some(aws) => Arc::new(
                S3Lake::builder(&aws.bucket)
                    .prefix(&aws.prefix)
                    .settings(aws.target.settings())
                    .build()
                    .unwrap(),
            ),
            None => Arc::new(FsLake::new(self.dir.path().join("data").join("lake"))),
        }
    }

    /// Ids of the lake records of the source, sorted.
    async fn lake_ids(&self) -> Vec<String> {
        let mut ids = self.lake().list(SOURCE).await.unwrap();
        ids.sort();
        ids
    }

    /// The stored bytes of a lake record, as text.
    async fn read_record(&self, id: &str) -> String {
        match &self.aws {
            Some(aws) => aws.read_record(SOURCE, id).await,
            None => std::fs::read_to_string(self.lake_file(id)).unwrap(),
        }
    }

    /// Overwrites a lake record with `text` (damage, as a buggy writer would).
    async fn write_record(&self, id: &str, text: &str) {
        match &self.aws {
            Some(aws) => aws.write_record(SOURCE, id, text).await,
            None => std::fs::write(self.lake_file(id), text).unwrap(),
        }
    }

    fn lake_file(&self, id: &str) -> PathBuf {
        self.dir
            .path()
            .join("data")
            .join("lake")
            .join(encode(SOURCE))
            .join(format!("{}.json", encode(id)))
    }

    /// The recorded S3 event with one record per lake record id, from this
    /// test's bucket.
    fn s3_event(&self, fixture_name: &str, ids: &[String]) -> Value {
        self.s3_event_of(SOURCE, fixture_name, ids)
    }

    /// [`Setup::s3_event`] for the records of another source.
    fn s3_event_of(&self, source: &str, fixture_name: &str, ids: &[String]) -> Value {
        let prefix = self.aws.as_ref().map_or("", |aws| aws.prefix.as_str());
        let mut event = fixture(fixture_name);
        let mut template = event["Records"][0].clone();
        template["s3"]["bucket"]["name"] = json!(self.bucket());
        template["s3"]["bucket"]["arn"] = json!(format!("arn:aws:s3:::{}", self.bucket()));
        let records: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut record = template.clone();
                let key = record_key(prefix, source, id);
                record["s3"]["object"]["key"] =
                    json!(utf8_percent_encode(&key, S3_KEY).to_string());
                record
            })
            .collect();
        event["Records"] = json!(records);
        event
    }
}

/// A knowledge base of `parts` over `files` (name, text) copied into a
/// fresh docs dir, with `extra` appended to its config; `None` when the
/// AWS parts are not available here.
async fn setup_with(parts: Parts, files: &[(&str, String)], extra: &str) -> Option<Setup> {
    let aws = match parts {
        Parts::Local => None,
        Parts::Aws => Some(AwsShape::start("lambda_handlers on the AWS parts").await?),
    };
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    for (name, text) in files {
        std::fs::write(docs.join(name), text).unwrap();
    }
    let config = config_for(&dir.path().join("data"), &docs, aws.as_ref(), extra);
    let kb = Arc::new(config.open().unwrap());
    Some(Setup {
        dir,
        config,
        kb,
        aws,
    })
}

async fn setup(parts: Parts, files: &[(&str, String)]) -> Option<Setup> {
    setup_with(parts, files, "").await
}

/// The sample runbooks collected into the lake by the connector function;
/// the knowledge base and the sorted lake record ids.
async fn collected_runbooks(parts: Parts) -> Option<(Setup, Vec<String>)> {
    let setup = setup(parts, &sample_runbooks()).await?;
    run_connector(&setup, json!({"source": SOURCE}), FIFTEEN_MINUTES).await;
    let ids = setup.lake_ids().await;
    Some((setup, ids))
}

/// Runs a test body once on the local parts and once on the AWS parts.
macro_rules! on_both_parts {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn local() {
                    super::$name(super::Parts::Local).await
                }

                #[tokio::test]
                async fn aws() {
                    super::$name(super::Parts::Aws).await
                }
            }
        )*
    };
}

/// Three runbooks of the sample corpus.
fn sample_runbooks() -> Vec<(&'static str, String)> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    [
        (
            "rotate-tls-certificates.md",
            "runbooks/rotate-tls-certificates.md",
        ),
        ("disk-full.txt", "runbooks/disk-full.txt"),
        ("reset-mfa.md", "runbooks/reset-mfa.md"),
    ]
    .into_iter()
    .map(|(name, path)| (name, std::fs::read_to_string(data.join(path)).unwrap()))
    .collect()
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lambda")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A context as the runtime builds it, with `budget` left before the deadline.
fn context(budget: Duration) -> Context {
    let mut context = Context::default();
    context.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".to_string();
    let deadline = SystemTime::now() + budget;
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:vaultiq-connector".to_string();
    context
}

fn event<T>(payload: T) -> LambdaEvent<T> {
    LambdaEvent::new(payload, context(FIFTEEN_MINUTES))
}

/// Characters S3 leaves as they are in event keys; everything else is
/// percent-encoded, as the S3 docs describe ("the object key name value is
/// URL encoded").
const S3_KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'*');

/// An API Gateway event from a fixture with this method, path and body.
fn api_event(fixture_name: &str, method: &str, path: &str, body: Option<&str>) -> LambdaRequest {
    let mut event = fixture(fixture_name);
    if event["version"] == "2.0" {
        event["rawPath"] = json!(path);
        event["requestContext"]["http"]["method"] = json!(method);
        event["requestContext"]["http"]["path"] = json!(path);
    } else {
        event["path"] = json!(path);
        event["httpMethod"] = json!(method);
        event["requestContext"]["httpMethod"] = json!(method);
        event["requestContext"]["path"] = json!(format!("/prod{path}"));
        event["pathParameters"]["proxy"] = json!(path.trim_start_matches('/'));
    }
    event["body"] = body.map_or(Value::Null, |b| json!(b));
    serde_json::from_value(event).unwrap()
}

/// Calls the API function; returns the status and the parsed JSON body.
async fn call_api(app: axum::Router, request: LambdaRequest) -> (u16, Value) {
    let response = api::handle(app, event(request)).await.unwrap();
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = response["body"].as_str().unwrap_or("null");
    (status, serde_json::from_str(body).unwrap())
}

/// Asks `question` (top 3) through an HTTP API v2 event; the 200 body.
async fn ask_api(setup: &Setup, question: &str) -> Value {
    let request = json!({"query": question, "top_k": 3}).to_string();
    let (status, body) = call_api(
        api_router(setup),
        api_event(
            "apigw-v2-http-api.json",
            "POST",
            "/api/query",
            Some(&request),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn api_router(setup: &Setup) -> axum::Router {
    api::router(Arc::clone(&setup.kb), &setup.config).unwrap()
}

async fn run_connector(setup: &Setup, payload: Value, budget: Duration) -> Value {
    let settings = ConnectorSettings {
        default_source: Some(SOURCE.to_string()),
        ..ConnectorSettings::default()
    };
    let response = connector::handle(
        &setup.kb,
        &settings,
        LambdaEvent::new(payload, context(budget)),
    )
    .await
    .unwrap();
    serde_json::to_value(response).unwrap()
}

async fn run_processing(setup: &Setup, payload: Value) -> Value {
    processing::handle(&setup.kb, &setup.processing_settings(), event(payload))
        .await
        .unwrap()
}

async fn indexed_documents(setup: &Setup) -> usize {
    setup.kb.sources().await.unwrap().values().sum()
}

/// Every chunk id a broad query finds: repeats would mean duplicates.
async fn chunk_ids(setup: &Setup) -> Vec<String> {
    let mut query = Query::new("certificate disk MFA reset rotate");
    query.top_k = 50;
    let result = setup.kb.search(&query).await.unwrap();
    let mut ids: Vec<String> = result.hits.iter().map(|h| h.chunk.id.clone()).collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------- tests

async fn scheduled_sync_then_s3_events_then_api_answers(parts: Parts) {
    let Some(setup) = setup(parts, &sample_runbooks()).await else {
        return;
    };

    // EventBridge -> connector: raw JSON lands in the lake, nothing is indexed.
    let collected = run_connector(
        &setup,
        fixture("eventbridge-scheduled.json"),
        FIFTEEN_MINUTES,
    )
    .await;
    assert_eq!(collected["source"], SOURCE);
    assert_eq!(collected["written"], 3, "{collected}");
    assert_eq!(collected["complete"], true);
    let ids = setup.lake_ids().await;
    assert_eq!(ids.len(), 3, "{ids:?}");
    let record: Value = serde_json::from_str(&setup.read_record(&ids[0]).await).unwrap();
    assert_eq!(record["document"]["id"], ids[0].as_str());
    assert!(record["document"]["body"].as_str().unwrap().len() > 100);
    assert_eq!(indexed_documents(&setup).await, 0);

    // S3 ObjectCreated:Put batch -> processing indexes the three records.
    let put = setup.s3_event("s3-object-created-put.json", &ids);
    let summary = run_processing(&setup, put.clone()).await;
    assert_eq!(summary["records"], 3, "{summary}");
    assert_eq!(summary["indexed"], 3, "{summary}");
    assert_eq!(summary["failed"], 0);
    assert!(summary["chunks"].as_u64().unwrap() >= 3);
    assert_eq!(indexed_documents(&setup).await, 3);
    let chunks_before = chunk_ids(&setup).await;
    assert!(!chunks_before.is_empty());

    // API Gateway v2 -> the server's router answers with sources.
    let body = ask_api(&setup, "How do I rotate the TLS certificates?").await;
    assert_eq!(body["query"], "How do I rotate the TLS certificates?");
    let sources = body["sources"].as_array().unwrap();
    assert!(!sources.is_empty(), "{body}");
    assert!(sources.len() <= 3);
    assert!(
        sources[0]["url"]
            .as_str()
            .unwrap()
            .contains("rotate-tls-certificates"),
        "{body}"
    );
    assert_eq!(sources[0]["source_type"], "files");
    assert!(!body["answer"].as_str().unwrap().is_empty());

    // The REST API (v1) on its `prod` stage reaches the same routes.
    let (status, body) = call_api(
        api_router(&setup),
        api_event("apigw-v1-rest-proxy.json", "GET", "/api/sources", None),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sources"]["files"], 3);
    assert_eq!(body["total_documents"], 3);

    // Redelivery (at-least-once S3 notifications) re-indexes nothing.
    let again = run_processing(&setup, put).await;
    assert_eq!(again["indexed"], 0, "{again}");
    assert_eq!(again["unchanged"], 3, "{again}");
    assert_eq!(chunk_ids(&setup).await, chunks_before);
    assert_eq!(indexed_documents(&setup).await, 3);

    // In the AWS shape the work really went to the emulators: chunks and
    // questions to Titan, the answer to Claude, the records to OpenSearch.
    if let Some(aws) = &setup.aws {
        if let Some(bedrock) = &aws.bedrock {
            let stats = bedrock.stats();
            assert!(stats.succeeded > chunks_before.len(), "{stats:?}");
            assert!(bedrock.last_converse_request().is_some());
        }
        if let Some(opensearch) = &aws.opensearch {
            let requests = opensearch.requests();
            assert!(
                requests.iter().any(|r| r.ends_with("/_bulk")),
                "{requests:?}"
            );
            assert!(
                requests.iter().any(|r| r.ends_with("/_search")),
                "{requests:?}"
            );
        }
    }

    // The next scheduled run finds nothing new and rewrites nothing.
    let quiet = run_connector(
        &setup,
        fixture("eventbridge-scheduled.json"),
        FIFTEEN_MINUTES,
    )
    .await;
    assert_eq!(quiet["written"], 0, "{quiet}");
}

async fn deletions_flow_from_source_to_lake_to_index(parts: Parts) {
    let Some((setup, ids)) = collected_runbooks(parts).await else {
        return;
    };
    run_processing(&setup, setup.s3_event("s3-object-created-put.json", &ids)).await;
    assert_eq!(indexed_documents(&setup).await, 3);

    // The file goes away: the connector deletes its lake record...
    std::fs::remove_file(setup.docs().join("disk-full.txt")).unwrap();
    let collected = run_connector(&setup, json!({"source": SOURCE}), FIFTEEN_MINUTES).await;
    assert_eq!(collected["deleted"], 1, "{collected}");
    let left = setup.lake_ids().await;
    assert_eq!(left.len(), 2);
    let gone: Vec<String> = ids
        .iter()
        .filter(|id| !left.contains(id))
        .cloned()
        .collect();
    assert_eq!(gone.len(), 1);
    assert!(gone[0].contains("disk-full"), "{gone:?}");
    // ...which raises ObjectRemoved:Delete; processing removes the document.
    let removed = setup.s3_event("s3-object-removed-delete.json", &gone);
    let summary = run_processing(&setup, removed.clone()).await;
    assert_eq!(summary["deleted"], 1, "{summary}");
    assert_eq!(indexed_documents(&setup).await, 2);
    // Redelivered, the removal has nothing left to do.
    let again = run_processing(&setup, removed).await;
    assert_eq!(again["deleted"], 0, "{again}");
    assert_eq!(again["absent"], 1, "{again}");

    // A late ObjectCreated for a record that is gone indexes nothing: the
    // lake's current state decides, whatever order events arrive in.
    let late = run_processing(&setup, setup.s3_event("s3-object-created-put.json", &gone)).await;
    assert_eq!(late["indexed"], 0, "{late}");
    assert_eq!(indexed_documents(&setup).await, 2);
}

async fn time_budget_stops_between_batches_and_the_next_run_resumes(parts: Parts) {
    // 70 files: the files connector fetches them in batches of 64.
    let files: Vec<(String, String)> = (0..70)
        .map(|i| {
            (
                format!("note-{i:03}.md"),
                format!(
                    "# Note {i}\n\nOn-call note number {i} about service {}.\n",
                    i * 7
                ),
            )
        })
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let Some(setup) = setup(parts, &files).await else {
        return;
    };

    // Only the margin is left: one batch (every run makes progress), then stop.
    let first = run_connector(
        &setup,
        fixture("eventbridge-scheduled.json"),
        connector::DEFAULT_MARGIN,
    )
    .await;
    assert_eq!(first["batches"], 1, "{first}");
    assert_eq!(first["fetched"], 64, "{first}");
    assert_eq!(first["complete"], false);
    assert_eq!(first["stopped"], "deadline");
    assert_eq!(setup.lake_ids().await.len(), 64);

    // The next run resumes from the checkpoint: only the rest is fetched.
    let second = run_connector(
        &setup,
        fixture("eventbridge-scheduled.json"),
        FIFTEEN_MINUTES,
    )
    .await;
    assert_eq!(second["fetched"], 6, "{second}");
    assert_eq!(second["complete"], true);
    assert_eq!(second["stopped"], Value::Null);
    assert_eq!(setup.lake_ids().await.len(), 70);
}

async fn manual_invoke_limit_and_bad_inputs(parts: Parts) {
    let files: Vec<(String, String)> = (0..65)
        .map(|i| {
            (
                format!("f{i}.txt"),
                format!("Text file {i} of the limit test."),
            )
        })
        .collect();
    let files: Vec<(&str, String)> = files.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
    let Some(setup) = setup(parts, &files).await else {
        return;
    };

    let limited = run_connector(
        &setup,
        json!({"source": SOURCE, "limit": 10}),
        FIFTEEN_MINUTES,
    )
    .await;
    assert_eq!(limited["stopped"], "limit", "{limited}");
    assert_eq!(limited["complete"], false);
    assert_eq!(limited["batches"], 1);

    let settings = ConnectorSettings::default();
    for (payload, expected) in [
        (json!({"source": "nope"}), "no source named `nope`"),
        (
            json!({"source": SOURCE, "limit": 0}),
            "`limit` must be at least 1",
        ),
        (
            json!({"space_key": "ENG", "limit": 10}),
            "unknown field `space_key`",
        ),
        (
            json!({"source": 7}),
            "expected an EventBridge scheduled event",
        ),
    ] {
        let err = connector::handle(&setup.kb, &settings, event(payload.clone()))
            .await
            .expect_err(&payload.to_string());
        assert!(err.to_string().contains(expected), "{payload}: {err}");
    }
    assert!(ConnectorSettings::from_lookup(&|name| {
        (name == connector::MARGIN_VAR).then(|| "soon".to_string())
    })
    .is_err());
}

async fn sqs_batches_report_only_the_failed_messages(parts: Parts) {
    let Some((setup, ids)) = collected_runbooks(parts).await else {
        return;
    };
    // One record is damaged in the lake: it cannot be indexed.
    setup.write_record(&ids[2], "{ not json").await;

    let template = fixture("sqs-message.json")["Records"][0].clone();
    let message = |id: &str, body: String| {
        let mut m = template.clone();
        m["messageId"] = json!(id);
        m["body"] = json!(body);
        m
    };
    let s3_body = |ids: &[String]| {
        setup
            .s3_event("s3-object-created-put.json", ids)
            .to_string()
    };
    let mut foreign = setup.s3_event("s3-object-created-put.json", &ids[0..1]);
    foreign["Records"][0]["s3"]["object"]["key"] = json!("exports/report.csv");
    let batch = json!({"Records": [
        message("ok-1", s3_body(&ids[0..1])),
        message("not-json", "this is not an S3 event".to_string()),
        message("foreign", foreign.to_string()),
        message("test-event", json!({"Service": "Amazon S3", "Event": "s3:TestEvent",
            "Time": "2026-12-01T22:00:00.000Z", "Bucket": setup.bucket()}).to_string()),
        message("damaged", s3_body(&ids[2..3])),
        message("ok-2", s3_body(&ids[1..2])),
    ]});
    let response = run_processing(&setup, batch).await;
    let mut failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap())
        .collect();
    failed.sort();
    assert_eq!(failed, ["damaged", "not-json"], "{response}");
    assert_eq!(indexed_documents(&setup).await, 2);
}

async fn direct_s3_failures_fail_the_invocation_and_foreign_objects_are_skipped(parts: Parts) {
    let Some((setup, ids)) = collected_runbooks(parts).await else {
        return;
    };
    setup.write_record(&ids[0], "[]").await;

    // Direct S3 invocations cannot report single records: the whole
    // invocation fails so Lambda retries it; the good records are indexed.
    let err = processing::handle(
        &setup.kb,
        &setup.processing_settings(),
        event(setup.s3_event("s3-object-created-put.json", &ids)),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().contains("1 of the event's records failed"),
        "{err}"
    );
    assert_eq!(indexed_documents(&setup).await, 2);

    // Other buckets and keys outside `raw/` are skipped, not failed.
    let mut other = setup.s3_event("s3-object-created-put.json", &ids[1..2]);
    other["Records"][0]["s3"]["bucket"]["name"] = json!("someone-elses-bucket");
    let mut outside = setup.s3_event("s3-object-created-put.json", &ids[1..2]);
    outside["Records"][0]["s3"]["object"]["key"] = json!("uploads/Happy+Face.jpg");
    for payload in [other, outside] {
        let summary = run_processing(&setup, payload).await;
        assert_eq!(summary["skipped"], 1, "{summary}");
        assert_eq!(summary["records"], 0, "{summary}");
    }

    // Not an S3 or SQS event at all.
    let err = processing::handle(
        &setup.kb,
        &setup.processing_settings(),
        event(json!({"hello": 1})),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("`Records` list"), "{err}");
}

async fn api_events_get_the_servers_validation_and_auth(parts: Parts) {
    let Some(setup) = setup(parts, &sample_runbooks()).await else {
        return;
    };
    for fixture_name in ["apigw-v2-http-api.json", "apigw-v1-rest-proxy.json"] {
        for (body, message) in [
            (r#"{"query": "x", "top_k": 0}"#, "top_k must be 1..50"),
            ("{not json", "JSON"),
            (r#"{"top_k": 3}"#, "query"),
        ] {
            let (status, reply) = call_api(
                api_router(&setup),
                api_event(fixture_name, "POST", "/api/query", Some(body)),
            )
            .await;
            assert_eq!(status, 400, "{fixture_name} {body}: {reply}");
            assert_eq!(reply["error"]["code"], "invalid_request", "{reply}");
            assert!(
                reply["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains(message),
                "{fixture_name} {body}: {reply}"
            );
        }
        let (status, reply) = call_api(
            api_router(&setup),
            api_event(fixture_name, "GET", "/health", None),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["status"], "healthy");
        let (status, _) = call_api(
            api_router(&setup),
            api_event(fixture_name, "GET", "/nope", None),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = call_api(
            api_router(&setup),
            api_event(fixture_name, "GET", "/api/query", None),
        )
        .await;
        assert_eq!(status, 405);
    }

    // With API keys configured the check is the server's own.
    let settings = ServerSettings {
        api_keys: ApiKeys::new(["s3cret-key"]),
        ..ServerSettings::default()
    };
    let keyed = server::router(Arc::clone(&setup.kb), &settings).unwrap();
    let (status, reply) = call_api(
        keyed.clone(),
        api_event("apigw-v2-http-api.json", "GET", "/api/sources", None),
    )
    .await;
    assert_eq!(status, 401, "{reply}");
    let mut with_key = fixture("apigw-v2-http-api.json");
    with_key["rawPath"] = json!("/api/sources");
    with_key["requestContext"]["http"]["method"] = json!("GET");
    with_key["body"] = Value::Null;
    with_key["headers"]["authorization"] = json!("Bearer s3cret-key");
    let (status, reply) = call_api(keyed, serde_json::from_value(with_key).unwrap()).await;
    assert_eq!(status, 200, "{reply}");

    // A knowledge base that cannot open answers 503 in the API's error shape.
    let (status, reply) = call_api(
        api::unavailable("the service cannot open its knowledge base"),
        api_event("apigw-v2-http-api.json", "GET", "/health", None),
    )
    .await;
    assert_eq!(status, 503);
    assert_eq!(reply["error"]["code"], "unavailable");
}

// ------------------------------------------- credentials from Secrets Manager

/// What a loopback Jira Cloud accepts: basic auth of `ops@acme.com` with
/// the API token `jira-key`, base64-encoded as RFC 7617 has it.
const JIRA_AUTHORIZATION: &str = "Basic b3BzQGFjbWUuY29tOmppcmEta2V5";

/// Two OPS issues in the shape of Jira Cloud's enhanced search
/// (`GET /rest/api/3/search/jql`, one last page; descriptions in ADF):
/// <https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get>
fn jira_search_page() -> Value {
    let issue = |id: &str, key: &str, summary: &str, text: &str| {
        json!({
            "id": id, "key": key, "self": format!("https://acme.atlassian.net/rest/api/3/issue/{id}"),
            "fields": {
                "summary": summary,
                "description": {"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": text}]}]},
                "status": {"name": "Done"}, "priority": {"name": "High"},
                "issuetype": {"name": "Incident"}, "assignee": null,
                "reporter": {"displayName": "Ada", "accountId": "a1"},
                "labels": ["vpn"], "components": [],
                "project": {"key": "OPS", "name": "Operations"},
                "created": "2026-11-30T08:00:00.000+0000",
                "updated": "2026-11-30T09:30:00.000+0000",
                "comment": {"comments": [], "maxResults": 0, "total": 0, "startAt": 0}
            }
        })
    };
    json!({
        "issues": [
            issue("10007", "OPS-7", "VPN gateway drops connections after the firmware update",
                "Roll the VPN gateway back to firmware 9.1 and restart the tunnel service."),
            issue("10008", "OPS-8", "Printer queue stuck on floor 3",
                "Clear the spooler and re-add the printer."),
        ],
        "isLast": true
    })
}

/// A loopback Jira Cloud answering searches to authenticated callers only.
async fn start_jira() -> LoopbackServer {
    use axum::http::{HeaderMap, StatusCode};
    let app = axum::Router::new().route(
        "/rest/api/3/search/jql",
        axum::routing::get(|headers: HeaderMap| async move {
            let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
            if authorization != Some(JIRA_AUTHORIZATION) {
                let body = json!({"errorMessages": ["You are not authenticated."], "errors": {}});
                return (StatusCode::UNAUTHORIZED, axum::Json(body));
            }
            (StatusCode::OK, axum::Json(jira_search_page()))
        }),
    );
    LoopbackServer::start(app).await
}

/// The seed's Jira secret shape, stored in Secrets Manager: the connector
/// function reads it, Jira sees its credentials, and the issues end up
/// cited by the API. A malformed secret is an error naming the secret and
/// the missing field, never a value. AWS parts only: the local build has
/// no Secrets Manager.
#[tokio::test]
async fn jira_credentials_come_from_secrets_manager() {
    let Some(aws) = target("lambda_handlers::jira_credentials_come_from_secrets_manager") else {
        return;
    };
    let jira_server = start_jira().await;
    let jira = jira_server.url();
    let good = format!("{}/jira", unique("vaultiq-lambda"));
    let broken = format!("{}/jira", unique("vaultiq-lambda"));
    let secrets = aws.secrets().await;
    for (name, value) in [
        (
            &good,
            json!({"server": jira, "username": "ops@acme.com", "api_token": "jira-key"}),
        ),
        (
            &broken,
            json!({"server": jira, "username": "ops@acme.com", "api_tokn": "leaky-value"}),
        ),
    ] {
        secrets
            .create_secret()
            .name(name)
            .secret_string(value.to_string())
            .send()
            .await
            .unwrap();
    }
    let extra: String = [("tickets", &good), ("broken", &broken)]
        .iter()
        .map(|(name, secret)| {
            format!(
                "\n[[sources]]\ntype = \"jira\"\nname = \"{name}\"\nbase_url = \"{jira}\"\n\
                 projects = [\"OPS\"]\ncredentials = {{ secret = \"{secret}\" }}\n"
            )
        })
        .collect();
    let setup = setup_with(Parts::Aws, &[], &extra).await.unwrap();

    let collected = run_connector(&setup, json!({"source": "tickets"}), FIFTEEN_MINUTES).await;
    assert_eq!(collected["written"], 2, "{collected}");
    let mut ids = setup.lake().list("tickets").await.unwrap();
    ids.sort();
    assert_eq!(ids, ["jira:tickets:OPS-7", "jira:tickets:OPS-8"]);
    let put = setup.s3_event_of("tickets", "s3-object-created-put.json", &ids);
    let summary = run_processing(&setup, put).await;
    assert_eq!(summary["indexed"], 2, "{summary}");

    let body = ask_api(&setup, "Why does the VPN gateway drop connections?").await;
    let urls: Vec<&str> = body["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert!(
        urls.contains(&format!("{jira}/browse/OPS-7").as_str()),
        "{body}"
    );
    assert_eq!(body["sources"][0]["source_type"], "jira", "{body}");

    let settings = ConnectorSettings::default();
    let err = connector::handle(&setup.kb, &settings, event(json!({"source": "broken"})))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains(&broken) && err.contains("api_token"), "{err}");
    assert!(
        !err.contains("leaky-value") && !err.contains("jira-key"),
        "{err}"
    );

    for name in [&good, &broken] {
        let _ = secrets
            .delete_secret()
            .secret_id(name)
            .force_delete_without_recovery(true)
            .send()
            .await;
    }
}

on_both_parts!(
    scheduled_sync_then_s3_events_then_api_answers,
    deletions_flow_from_source_to_lake_to_index,
    time_budget_stops_between_batches_and_the_next_run_resumes,
    manual_invoke_limit_and_bad_inputs,
    sqs_batches_report_only_the_failed_messages,
    direct_s3_failures_fail_the_invocation_and_foreign_objects_are_skipped,
    api_events_get_the_servers_validation_and_auth,
);
