//! `OpenSearchStore` against the loopback emulator: the conformance suite
//! (protocol only), each rejection the emulator makes as OpenSearch does,
//! recovery from throttling and partial `_bulk` failures, and the request
//! count per 1,000 chunks ingested.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use vaultiq_core::store::{Filter, OpenSearchAuth, OpenSearchStore, VectorStore};
use vaultiq_core::Error;
use vaultiq_tests::opensearch_emulator::{Fault, Mode, OpenSearchEmulator};
use vaultiq_tests::store_conformance::{corpus, indexed, Caps, Cleanup, DIMENSION};

const INDEX: &str = "vaultiq-test";

fn aws(serverless: bool) -> OpenSearchAuth {
    OpenSearchAuth::aws_static(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        None,
        "eu-west-1",
        serverless,
    )
}

async fn store_for(emulator: &OpenSearchEmulator, auth: OpenSearchAuth) -> OpenSearchStore {
    OpenSearchStore::builder(&emulator.url, INDEX, DIMENSION)
        .auth(auth)
        .retries(4, Duration::from_millis(5))
        .connect()
        .await
        .expect("connect to the emulator")
}

type Backend = Option<(Arc<dyn VectorStore>, Caps, Cleanup)>;

mod conformance_open {
    use super::*;

    async fn make(_check: &str) -> Backend {
        let emulator = OpenSearchEmulator::start(Mode::Open).await;
        let store = store_for(&emulator, OpenSearchAuth::None).await;
        let cleanup: Cleanup = Box::pin(async move { drop(emulator) });
        Some((Arc::new(store), Caps { ranking: false }, cleanup))
    }

    vaultiq_tests::conformance_suite!(make);
}

mod conformance_serverless {
    use super::*;

    async fn make(_check: &str) -> Backend {
        let emulator = OpenSearchEmulator::start(Mode::Serverless).await;
        let store = store_for(&emulator, aws(true)).await;
        let cleanup: Cleanup = Box::pin(async move { drop(emulator) });
        Some((Arc::new(store), Caps { ranking: false }, cleanup))
    }

    vaultiq_tests::conformance_suite!(make);
}

async fn raw(
    emulator: &OpenSearchEmulator,
    method: reqwest::Method,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", emulator.url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn error_type(body: &Value) -> &str {
    body["error"]["type"].as_str().unwrap_or("")
}

#[tokio::test]
async fn emulator_rejects_bad_mappings() {
    let emulator = OpenSearchEmulator::start(Mode::Open).await;
    let put = |body: Value| {
        let emulator = &emulator;
        async move {
            raw(
                emulator,
                reqwest::Method::PUT,
                "bad",
                "application/json",
                body.to_string(),
            )
            .await
        }
    };
    let knn = |field: Value| json!({"settings": {"index": {"knn": true}}, "mappings": {"properties": {"v": field}}});
    for body in [
        knn(json!({"type": "knn_vector"})),
        knn(json!({"type": "knn_vector", "dimension": "384"})),
        knn(
            json!({"type": "knn_vector", "dimension": 4, "method": {"name": "hnsw", "engine": "annoy"}}),
        ),
        knn(
            json!({"type": "knn_vector", "dimension": 4, "method": {"name": "hnsw", "space_type": "hamming"}}),
        ),
        knn(
            json!({"type": "knn_vector", "dimension": 4, "method": {"name": "hnsw", "parameters": {"m": "16"}}}),
        ),
        knn(json!({"type": "vector", "dimension": 4})),
        json!({"mappings": {"properties": {"v": {"type": "knn_vector", "dimension": 4}}}}),
        json!({"mapping": {}}),
    ] {
        let (status, response) = put(body.clone()).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_type(&response), "mapper_parsing_exception", "{body}");
    }
    let (status, response) = raw(
        &emulator,
        reqwest::Method::PUT,
        "Upper",
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(
        (status, error_type(&response)),
        (400, "invalid_index_name_exception")
    );
    let (status, _) = put(knn(json!({"type": "knn_vector", "dimension": 4}))).await;
    assert_eq!(status, 200);
    let (status, response) = put(knn(json!({"type": "knn_vector", "dimension": 4}))).await;
    assert_eq!(
        (status, error_type(&response)),
        (400, "resource_already_exists_exception")
    );
    // The store's own mapping is accepted, and a dimension mismatch with an
    // existing index is refused by the store before anything is written.
    let store = store_for(&emulator, OpenSearchAuth::None).await;
    drop(store);
    let err = OpenSearchStore::builder(&emulator.url, INDEX, DIMENSION + 1)
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err}");
}

#[tokio::test]
async fn emulator_rejects_bad_bulk_framing() {
    let emulator = OpenSearchEmulator::start(Mode::Open).await;
    let _store = store_for(&emulator, OpenSearchAuth::None).await;
    let path = format!("{INDEX}/_bulk");
    let ndjson = "application/x-ndjson";
    let post = |body: &'static str, content_type: &'static str| {
        let emulator = &emulator;
        let path = path.clone();
        async move { raw(emulator, reqwest::Method::POST, &path, content_type, body).await }
    };
    let (status, response) = post("{\"index\":{}}\n{\"kind\":\"chunk\"}", ndjson).await;
    assert_eq!(status, 400);
    assert!(response["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("terminated by a newline"));
    let (status, response) = post("{\"upsert\":{}}\n{}\n", ndjson).await;
    assert_eq!(
        (status, error_type(&response)),
        (400, "illegal_argument_exception")
    );
    let (status, response) = post("{\"index\":{}}\n", ndjson).await;
    assert_eq!(
        (status, error_type(&response)),
        (400, "illegal_argument_exception")
    );
    let (status, response) = post("{\"index\":{}}\nnot json\n", ndjson).await;
    assert_eq!(
        (status, error_type(&response)),
        (400, "mapper_parsing_exception")
    );
    let (status, _) = post("{\"index\":{}}\n{}\n", "text/plain").await;
    assert_eq!(status, 406);
    let (status, response) = post("{\"index\":{}}\n{\"embedding\":[1,2]}\n", ndjson).await;
    assert_eq!(status, 200);
    assert_eq!(response["errors"], true);
    assert_eq!(response["items"][0]["index"]["status"], 400);
    assert_eq!(
        response["items"][0]["index"]["error"]["type"],
        "mapper_parsing_exception"
    );
}

#[tokio::test]
async fn emulator_rejects_bad_queries() {
    let emulator = OpenSearchEmulator::start(Mode::Open).await;
    let _store = store_for(&emulator, OpenSearchAuth::None).await;
    let path = format!("{INDEX}/_search");
    let vector = vec![0.25f32; DIMENSION];
    for body in [
        json!({"query": {"knn": {"embedding": {"vector": [0.5, 0.5], "k": 3}}}}),
        json!({"query": {"knn": {"embedding": {"vector": vector}}}}),
        json!({"query": {"knn": {"embedding": {"vector": vector, "k": 0}}}}),
        json!({"query": {"knn": {"title": {"vector": vector, "k": 3}}}}),
        json!({"query": {"knn": {"embedding": {"vector": vector, "k": 3, "filters": {}}}}}),
        json!({"query": {"fuzzy_magic": {"text": "x"}}}),
        json!({"query": {"match": {"search_text": 42}}}),
        json!({"query": {"term": {"source": ["a", "b"]}}}),
        json!({"query": {"bool": {"filter": [{"terms": {"source": "jira"}}]}}}),
        json!({"query": {"match_all": {}}, "sort": [{"chunk_id": "up"}]}),
        json!({"query": {"match_all": {}}, "sort": ["_score"], "search_after": [1, 2]}),
        json!({"size": -1}),
        json!({"aggs": {"x": {"avg": {"field": "ordinal"}}}}),
        json!({"querry": {}}),
    ] {
        let (status, response) = raw(
            &emulator,
            reqwest::Method::POST,
            &path,
            "application/json",
            body.to_string(),
        )
        .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error_type(&response), "parsing_exception", "{body}");
    }
    let (status, response) = raw(
        &emulator,
        reqwest::Method::POST,
        "missing/_search",
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(
        (status, error_type(&response)),
        (404, "index_not_found_exception")
    );
}

#[tokio::test]
async fn emulator_requires_sigv4_in_aws_modes() {
    let emulator = OpenSearchEmulator::start(Mode::Serverless).await;
    let (status, response) = raw(
        &emulator,
        reqwest::Method::POST,
        "x/_search",
        "application/json",
        "{}",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(response["message"], "Missing Authentication Token");
    // A client signing for managed OpenSearch (`es`) is refused by Serverless.
    let err = OpenSearchStore::builder(&emulator.url, INDEX, DIMENSION)
        .auth(aws(false))
        .retries(1, Duration::from_millis(1))
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    // A forged header with the right shape but a wrong payload hash.
    let response = reqwest::Client::new()
        .post(format!("{}x/_search", emulator.url))
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/aoss/aws4_request, SignedHeaders=host;x-amz-date, Signature={}",
                "a".repeat(64)
            ),
        )
        .header("x-amz-date", "20260101T000000Z")
        .header("x-amz-content-sha256", "0".repeat(64))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // The real client signs correctly for `aoss`.
    let store = store_for(&emulator, aws(true)).await;
    store.upsert(&corpus()).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 7);

    let managed = OpenSearchEmulator::start(Mode::Managed).await;
    let err = OpenSearchStore::builder(&managed.url, INDEX, DIMENSION)
        .retries(1, Duration::from_millis(1))
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let store = store_for(&managed, aws(false)).await;
    store.upsert(&corpus()).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 7);
}

#[tokio::test]
async fn emulator_requires_basic_auth_when_configured() {
    let mode = Mode::Basic {
        username: "admin".into(),
        password: "s3cret!".into(),
    };
    let emulator = OpenSearchEmulator::start(mode).await;
    let err = OpenSearchStore::builder(&emulator.url, INDEX, DIMENSION)
        .auth(OpenSearchAuth::Basic {
            username: "admin".into(),
            password: "wrong".into(),
        })
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let store = store_for(
        &emulator,
        OpenSearchAuth::Basic {
            username: "admin".into(),
            password: "s3cret!".into(),
        },
    )
    .await;
    store.upsert(&corpus()).await.unwrap();
    assert_eq!(store.count_by_source().await.unwrap().len(), 4);
}

#[tokio::test]
async fn serverless_mode_refuses_custom_ids_and_the_store_sends_none() {
    let emulator = OpenSearchEmulator::start(Mode::Serverless).await;
    let store = store_for(&emulator, aws(true)).await;
    store.upsert(&corpus()).await.unwrap();
    store.upsert(&corpus()).await.unwrap();
    // Re-upsert replaced the records (new generation) instead of adding.
    assert_eq!(emulator.record_count(INDEX), 7 + 4);
    let generations: std::collections::BTreeSet<i64> = emulator
        .records(INDEX)
        .iter()
        .map(|r| r["generation"].as_i64().unwrap())
        .collect();
    assert_eq!(generations.len(), 1, "only the newest generation is left");

    // A custom `_id` in an index action, or PUT _doc/{id}, is refused.
    let bulk = format!(
        "{{\"index\":{{\"_index\":\"{INDEX}\",\"_id\":\"mine\"}}}}\n{{\"kind\":\"chunk\"}}\n"
    );
    let (status, response) = signed(&emulator, "POST", &format!("{INDEX}/_bulk"), &bulk).await;
    assert_eq!(status, 200);
    assert_eq!(response["errors"], true);
    assert_eq!(response["items"][0]["index"]["status"], 400);
    assert!(response["items"][0]["index"]["error"]["reason"]
        .as_str()
        .unwrap()
        .contains("Document ID is not supported"));
    let (status, response) = signed(&emulator, "PUT", &format!("{INDEX}/_doc/mine"), "{}").await;
    assert_eq!(
        (status, error_type(&response)),
        (400, "illegal_argument_exception")
    );
    assert_eq!(emulator.record_count(INDEX), 11);
}

/// A request with well-formed SigV4 headers for `aoss` (the emulator checks
/// their shape and the payload hash, not the HMAC).
async fn signed(
    emulator: &OpenSearchEmulator,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Value) {
    use sha2::{Digest, Sha256};
    let digest: String = Sha256::digest(body.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let response = reqwest::Client::new()
        .request(method.parse().unwrap(), format!("{}{path}", emulator.url))
        .header("content-type", "application/x-ndjson")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/aoss/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={}",
                "b".repeat(64)
            ),
        )
        .header("x-amz-date", "20260101T000000Z")
        .header("x-amz-content-sha256", digest)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn throttled_bulk_items_are_retried() {
    let emulator = OpenSearchEmulator::start(Mode::Open).await;
    let store = store_for(&emulator, OpenSearchAuth::None).await;
    emulator.clear_requests();
    emulator.push_fault(Fault::BulkItems {
        status: 429,
        count: 3,
    });
    store.upsert(&corpus()).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 7);
    assert_eq!(
        emulator.record_count(INDEX),
        11,
        "no item lost, none doubled"
    );
    let bulks = emulator
        .requests()
        .iter()
        .filter(|r| r.ends_with("/_bulk"))
        .count();
    assert_eq!(bulks, 2, "one bulk plus one retry of the throttled items");
}

#[tokio::test]
async fn rejected_bulk_items_fail_the_batch_and_keep_the_old_version() {
    let emulator = OpenSearchEmulator::start(Mode::Open).await;
    let store = store_for(&emulator, OpenSearchAuth::None).await;
    store.upsert(&corpus()).await.unwrap();
    let before = emulator.records(INDEX).len();
    let mut changed = corpus();
    let doc = changed[0].document.clone();
    changed[0] = indexed(doc, 0, &["a new version that must not half-land"], &[]);
    emulator.push_fault(Fault::BulkItems {
        status: 400,
        count: 1,
    });
    let err = store.upsert(&changed).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("rejected"), "{err}");
    assert_eq!(
        emulator.records(INDEX).len(),
        before,
        "the failed generation was removed"
    );
    let hits = store
        .vector_search(
            &vaultiq_tests::store_conformance::topic_vector(0, 0),
            50,
            &Filter::default(),
        )
        .await
        .unwrap();
    assert!(hits.iter().all(|h| !h.chunk.text.contains("new version")));
    assert_eq!(hits.len(), 7);
}

#[tokio::test]
async fn throttled_and_unavailable_requests_are_retried_then_reported() {
    let emulator = OpenSearchEmulator::start(Mode::Open).await;
    let store = store_for(&emulator, OpenSearchAuth::None).await;
    emulator.push_fault(Fault::Status(429));
    emulator.push_fault(Fault::Status(503));
    store.upsert(&corpus()).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 7);
    for _ in 0..4 {
        emulator.push_fault(Fault::Status(503));
    }
    let err = store.chunk_count().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("503"), "{err}");
    for _ in 0..4 {
        emulator.push_fault(Fault::Status(502));
    }
    let err = store.upsert(&corpus()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(store.chunk_count().await.unwrap(), 7, "nothing lost");
}

/// Measures `_bulk` and search requests per 1,000 chunks ingested (first
/// ingest, then a re-ingest that replaces every chunk).
#[tokio::test]
async fn requests_per_thousand_chunks() {
    for (mode, auth) in [
        (Mode::Open, OpenSearchAuth::None),
        (Mode::Serverless, aws(true)),
    ] {
        let emulator = OpenSearchEmulator::start(mode.clone()).await;
        let store = store_for(&emulator, auth).await;
        let batch: Vec<_> = (0..10)
            .map(|d| {
                let doc = vaultiq_core::Document::new(
                    vaultiq_core::SourceType::Files,
                    "m",
                    &format!("d{d}"),
                    "t",
                    "",
                );
                let texts: Vec<String> = (0..100).map(|c| format!("chunk {c}")).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                indexed(doc, d, &refs, &[])
            })
            .collect();
        emulator.clear_requests();
        store.upsert(&batch).await.unwrap();
        let first = emulator.requests().len();
        emulator.clear_requests();
        store.upsert(&batch).await.unwrap();
        let again = emulator.requests().len();
        println!(
            "opensearch requests per 1000 chunks ({mode:?}): first ingest {first}, re-ingest {again}"
        );
        assert!(first <= 6, "first ingest took {first} requests");
        assert!(again <= 10, "re-ingest took {again} requests");
        assert_eq!(store.chunk_count().await.unwrap(), 1000);
    }
}
