//! DynamoDB's partial successes, which moto never produces: a loopback
//! endpoint answers BatchWriteItem with part of the writes sent back as
//! `UnprocessedItems` and BatchGetItem with `UnprocessedKeys` (response
//! shapes of the DynamoDB API reference: BatchWriteItem and BatchGetItem,
//! "Response Syntax"). The store resends exactly what was left, a bounded
//! number of times, and then fails as retryable. Runs in every `make test`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use vaultiq_core::aws::AwsSettings;
use vaultiq_core::state::{DynamoDbStateStore, StateStore};
use vaultiq_core::Error;
use vaultiq_tests::loopback::LoopbackServer;

#[derive(Default)]
struct Table {
    /// Stored hashes by sort key.
    items: BTreeMap<String, String>,
    /// Calls per operation.
    calls: BTreeMap<String, usize>,
    /// Leave this many requests of every call unprocessed (None: never).
    leave: Option<usize>,
    /// Give up leaving after this many calls (then all succeed).
    stubborn_calls: usize,
}

async fn dynamodb(
    State(table): State<Arc<Mutex<Table>>>,
    headers: HeaderMap,
    body: Bytes,
) -> (axum::http::StatusCode, Json<Value>) {
    assert!(headers.contains_key("authorization"), "requests are signed");
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let operation = target.rsplit('.').next().unwrap_or_default().to_string();
    let request: Value = serde_json::from_slice(&body).unwrap();
    let mut t = table.lock().unwrap();
    let call = {
        let n = t.calls.entry(operation.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let leave = t.leave.filter(|_| call <= t.stubborn_calls).unwrap_or(0);
    match operation.as_str() {
        "BatchWriteItem" => {
            let (name, writes) = request["RequestItems"]
                .as_object()
                .unwrap()
                .iter()
                .next()
                .unwrap();
            let writes = writes.as_array().unwrap();
            assert!(writes.len() <= 25, "at most 25 writes per call");
            let (left, done) = writes.split_at(leave.min(writes.len()));
            for write in done {
                let item = &write["PutRequest"]["Item"];
                let sk = item["sk"]["S"].as_str().unwrap().to_string();
                t.items
                    .insert(sk, item["content_hash"]["S"].as_str().unwrap().to_string());
            }
            let unprocessed = if left.is_empty() {
                json!({})
            } else {
                json!({ name: left })
            };
            (
                axum::http::StatusCode::OK,
                Json(json!({"UnprocessedItems": unprocessed})),
            )
        }
        "BatchGetItem" => {
            let (name, wanted) = request["RequestItems"]
                .as_object()
                .unwrap()
                .iter()
                .next()
                .unwrap();
            let keys = wanted["Keys"].as_array().unwrap();
            assert!(keys.len() <= 100, "at most 100 keys per call");
            let (left, done) = keys.split_at(leave.min(keys.len()));
            let found: Vec<Value> = done
                .iter()
                .filter_map(|k| {
                    let sk = k["sk"]["S"].as_str().unwrap();
                    t.items
                        .get(sk)
                        .map(|h| json!({"sk": {"S": sk}, "content_hash": {"S": h}}))
                })
                .collect();
            let mut unprocessed = json!({});
            if !left.is_empty() {
                let mut again = wanted.clone();
                again["Keys"] = json!(left);
                unprocessed = json!({ name: again });
            }
            (
                axum::http::StatusCode::OK,
                Json(json!({"Responses": { name: found }, "UnprocessedKeys": unprocessed})),
            )
        }
        other => (
            axum::http::StatusCode::BAD_REQUEST,
            Json(
                json!({"__type": "com.amazon.coral.validate#ValidationException", "message": format!("not emulated: {other}")}),
            ),
        ),
    }
}

async fn start(table: Arc<Mutex<Table>>) -> LoopbackServer {
    let app = axum::Router::new()
        .fallback(axum::routing::post(dynamodb))
        .with_state(table);
    LoopbackServer::start(app).await
}

fn store(url: &str) -> DynamoDbStateStore {
    // Dummy keys for this binary's loopback endpoint only.
    std::env::set_var("AWS_ACCESS_KEY_ID", "vaultiq-test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "vaultiq-test");
    DynamoDbStateStore::builder("partial")
        .settings(
            AwsSettings::default()
                .with_endpoint_url(url)
                .with_region("us-east-1"),
        )
        .build()
        .unwrap()
}

fn hashes(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("doc-{i:03}"), format!("h{i}")))
        .collect()
}

#[tokio::test]
async fn unprocessed_writes_and_keys_are_resent_until_done() {
    let table = Arc::new(Mutex::new(Table {
        leave: Some(10),
        stubborn_calls: 6,
        ..Table::default()
    }));
    let server = start(Arc::clone(&table)).await;
    let url = server.url();
    let state = store(&url);
    let docs = hashes(60);
    state.record_documents("wiki", &docs).await.unwrap();
    {
        let t = table.lock().unwrap();
        assert_eq!(t.items.len(), 60, "every write landed");
        // 3 chunks of 25/25/10; the first six calls leave 10 behind each.
        assert!(t.calls["BatchWriteItem"] > 3, "{:?}", t.calls);
    }
    let ids: Vec<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    let found = state.document_hashes("wiki", &ids).await.unwrap();
    assert_eq!(found.len(), 60);
    assert_eq!(found["doc-007"], "h7");
    assert!(table.lock().unwrap().calls["BatchGetItem"] > 1);
}

#[tokio::test]
async fn writes_left_unprocessed_for_good_fail_as_retryable() {
    let table = Arc::new(Mutex::new(Table {
        leave: Some(25),
        stubborn_calls: usize::MAX,
        ..Table::default()
    }));
    let server = start(Arc::clone(&table)).await;
    let url = server.url();
    let state = store(&url);
    let err = state
        .record_documents("wiki", &hashes(5))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("unprocessed"), "{err}");
    // One call plus the bounded resends, then it stopped.
    assert_eq!(table.lock().unwrap().calls["BatchWriteItem"], 9);
    let err = state
        .document_hashes("wiki", &["doc-001".to_string()])
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}
