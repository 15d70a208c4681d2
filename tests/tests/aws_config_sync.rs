//! The AWS parts chosen by name in `vaultiq.toml`: a files source and a
//! Slack source whose bot token is a Secrets Manager secret, synced through
//! `Config::parse(..).open()` into an S3 lake and DynamoDB state (moto, or
//! AWS with `VAULTIQ_TEST_AWS=1`), then asked a question. The Slack API is
//! a loopback server that only answers the token stored in the secret.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};
use vaultiq_core::config::Config;
use vaultiq_core::lake::{Lake, S3Lake};
use vaultiq_core::state::{DynamoDbStateStore, StateStore};
use vaultiq_core::{Query, SyncOptions};
use vaultiq_tests::aws::{target, unique, Target, MOTO_REGION};
use vaultiq_tests::loopback::LoopbackServer;
use vaultiq_tests::sample_corpus;

const BOT_TOKEN: &str = "xoxb-from-secrets-manager";

#[derive(Default)]
struct SlackCalls {
    authorised: AtomicUsize,
    refused: AtomicUsize,
}

/// Just enough of the Slack Web API for one channel with one message.
async fn slack(
    State(calls): State<Arc<SlackCalls>>,
    Path(method): Path<String>,
    headers: HeaderMap,
) -> Json<Value> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if auth != format!("Bearer {BOT_TOKEN}") {
        calls.refused.fetch_add(1, Ordering::SeqCst);
        return Json(json!({"ok": false, "error": "invalid_auth"}));
    }
    calls.authorised.fetch_add(1, Ordering::SeqCst);
    Json(match method.as_str() {
        "conversations.list" => json!({
            "ok": true,
            "channels": [{"id": "C0INC", "name": "incidents", "is_member": true}],
            "response_metadata": {"next_cursor": ""}
        }),
        "conversations.history" => json!({
            "ok": true,
            "messages": [{
                "type": "message", "ts": "1767225600.000100", "user": "U1",
                "text": "Failover of the payments database: promote the replica in eu-west-1, then repoint PgBouncer."
            }],
            "has_more": false,
            "response_metadata": {"next_cursor": ""}
        }),
        "users.info" => {
            json!({"ok": true, "user": {"name": "alice", "profile": {"display_name": "Alice"}}})
        }
        _ => json!({"ok": true, "messages": [], "response_metadata": {"next_cursor": ""}}),
    })
}

async fn start_slack() -> (LoopbackServer, Arc<SlackCalls>) {
    let calls = Arc::new(SlackCalls::default());
    let app = axum::Router::new()
        .route("/api/{method}", axum::routing::get(slack).post(slack))
        .with_state(Arc::clone(&calls));
    (LoopbackServer::start(app).await, calls)
}

#[tokio::test]
async fn a_config_of_aws_parts_syncs_and_answers() {
    let Some(target) = target("a_config_of_aws_parts_syncs_and_answers") else {
        return;
    };
    let (bucket, prefix) = target.bucket("configsync").await;
    let (table, namespace) = target.table("configsync").await;
    let secret = format!("{}/slack", unique("vaultiq-test"));
    target
        .secrets()
        .await
        .create_secret()
        .name(&secret)
        .secret_string(json!({"bot_token": BOT_TOKEN}).to_string())
        .send()
        .await
        .unwrap();
    let (slack_server, calls) = start_slack().await;
    let slack_url = slack_server.url();

    let data_dir = tempfile::tempdir().unwrap();
    let aws_section = match &target {
        Target::Moto { url } => {
            format!("[aws]\nregion = \"{MOTO_REGION}\"\nendpoint_url = \"{url}\"\n")
        }
        Target::Real { .. } => String::new(),
    };
    let text = format!(
        r#"data_dir = "{data}"

[lake]
kind = "s3"
bucket = "{bucket}"
prefix = "{prefix}"
sse = "AES256"

[state]
kind = "dynamodb"
table = "{table}"
namespace = "{namespace}"

[secrets]
ttl_seconds = 600

{aws_section}
[[sources]]
type = "files"
name = "runbooks"
path = "{corpus}"

[[sources]]
type = "slack"
name = "chat"
base_url = "{slack_url}"
credentials = {{ secret = "{secret}" }}
"#,
        data = data_dir.path().display(),
        corpus = sample_corpus().display(),
    );
    let config = Config::parse(&text, "vaultiq.toml").unwrap();
    // The table is made the way `vaultiq init --create-table` makes it.
    let state = DynamoDbStateStore::builder(&table)
        .namespace(&namespace)
        .settings(target.settings())
        .build()
        .unwrap();
    state.create_table().await.unwrap();

    let kb = config.open().unwrap();
    let report = kb.sync(&SyncOptions::default(), &|_| {}).await.unwrap();
    let files = report
        .sources
        .iter()
        .find(|s| s.source_name == "runbooks")
        .unwrap()
        .indexed;
    assert!(files > 10, "{report:?}");
    assert_eq!(report.indexed(), files + 1, "{report:?}");
    assert!(calls.authorised.load(Ordering::SeqCst) >= 2);
    assert_eq!(calls.refused.load(Ordering::SeqCst), 0);

    // Raw records are in S3, hashes and runs in DynamoDB.
    let lake = S3Lake::builder(&bucket)
        .prefix(&prefix)
        .settings(target.settings())
        .build()
        .unwrap();
    assert_eq!(lake.sources().await.unwrap(), ["chat", "runbooks"]);
    assert_eq!(lake.list("runbooks").await.unwrap().len(), files);
    assert_eq!(state.document_ids("chat").await.unwrap().len(), 1);
    assert_eq!(state.document_ids("runbooks").await.unwrap().len(), files);
    let runs = state.last_runs().await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.outcome == "ok"), "{runs:?}");
    assert!(state.checkpoint("runbooks").await.unwrap().is_some());

    let answer = kb
        .ask(&Query::new("How do we fail over the payments database?").top_k(3))
        .await
        .unwrap();
    assert!(
        answer
            .answer
            .citations
            .iter()
            .any(|c| c.source_type == vaultiq_core::SourceType::Slack),
        "{:?}",
        answer.answer
    );

    // A second sync through a reopened config changes nothing.
    let again = Config::parse(&text, "vaultiq.toml")
        .unwrap()
        .open()
        .unwrap();
    let report = again.sync(&SyncOptions::default(), &|_| {}).await.unwrap();
    assert_eq!(report.indexed(), 0, "{report:?}");
    assert_eq!(report.deleted(), 0);

    let _ = target
        .secrets()
        .await
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await;
}
