//! `DynamoDbStateStore` with the real SDK client against moto (or AWS with
//! `VAULTIQ_TEST_AWS=1`): the state conformance checks SQLite passes too,
//! batches beyond DynamoDB's per-call limits, paged queries, checkpoints
//! larger than one item, and two syncs racing to commit one checkpoint.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use vaultiq_core::connector::Checkpoint;
use vaultiq_core::state::{DynamoDbStateStore, SqliteStateStore, StateStore};
use vaultiq_core::Error;
use vaultiq_tests::aws::{target, Target};
use vaultiq_tests::state_conformance;

/// More than 25 (BatchWriteItem) and 100 (BatchGetItem) per call.
const MANY: usize = 260;

#[tokio::test]
async fn sqlite_passes_the_state_conformance_checks() {
    let dir = tempfile::tempdir().unwrap();
    let state = SqliteStateStore::open(dir.path()).unwrap();
    state_conformance::checkpoints(&state).await;
    state_conformance::documents(&state, MANY).await;
    state_conformance::runs(&state).await;
}

#[tokio::test]
async fn dynamodb_passes_the_state_conformance_checks() {
    let Some(target) = target("dynamodb_passes_the_state_conformance_checks") else {
        return;
    };
    // Pages of 10 items make every Query follow LastEvaluatedKey.
    let state = target.state_store("conformance", Some(10)).await;
    state_conformance::checkpoints(&state).await;
    state_conformance::documents(&state, MANY).await;
    state_conformance::runs(&state).await;
}

#[tokio::test]
async fn state_survives_a_new_store_instance() {
    let Some(target) = target("state_survives_a_new_store_instance") else {
        return;
    };
    let (first, second) = two_stores(&target, "reopen").await;
    let checkpoint = Checkpoint(serde_json::json!({"cursor": "2026-01-01"}));
    first.commit_checkpoint("wiki", &checkpoint).await.unwrap();
    first
        .record_documents("wiki", &[("confluence:wiki:1".into(), "h".into())])
        .await
        .unwrap();
    assert_eq!(second.checkpoint("wiki").await.unwrap(), Some(checkpoint));
    assert_eq!(
        second.document_ids("wiki").await.unwrap(),
        ["confluence:wiki:1"]
    );
}

/// Two stores (two processes) that both read the checkpoint, then commit.
async fn two_stores(
    target: &Target,
    stem: &str,
) -> (Arc<DynamoDbStateStore>, Arc<DynamoDbStateStore>) {
    let (table, namespace) = target.table(stem).await;
    let open = || {
        Arc::new(
            DynamoDbStateStore::builder(table.clone())
                .namespace(namespace.clone())
                .settings(target.settings())
                .build()
                .unwrap(),
        )
    };
    let (a, b) = (open(), open());
    a.create_table().await.unwrap();
    (a, b)
}

#[tokio::test]
async fn only_one_of_two_concurrent_commits_wins() {
    let Some(target) = target("only_one_of_two_concurrent_commits_wins") else {
        return;
    };
    let (a, b) = two_stores(&target, "race").await;
    let base = Checkpoint(serde_json::json!({"n": 0}));
    a.commit_checkpoint("jira", &base).await.unwrap();

    // Sequential: both read version 1, A commits, B's commit is refused.
    assert_eq!(a.checkpoint("jira").await.unwrap(), Some(base.clone()));
    assert_eq!(b.checkpoint("jira").await.unwrap(), Some(base.clone()));
    let from_a = Checkpoint(serde_json::json!({"n": "a"}));
    a.commit_checkpoint("jira", &from_a).await.unwrap();
    let err = b
        .commit_checkpoint("jira", &Checkpoint(serde_json::json!({"n": "b"})))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("jira") && text.contains("another sync"),
        "{text}"
    );
    assert_eq!(a.checkpoint("jira").await.unwrap(), Some(from_a.clone()));
    // A's next batch still commits on top of its own.
    let next_a = Checkpoint(serde_json::json!({"n": "a2"}));
    a.commit_checkpoint("jira", &next_a).await.unwrap();
    // B, having re-read, carries on from A's position.
    assert_eq!(b.checkpoint("jira").await.unwrap(), Some(next_a));
    b.commit_checkpoint("jira", &Checkpoint(serde_json::json!({"n": "b2"})))
        .await
        .unwrap();

    // At the same moment: exactly one of the two commits succeeds.
    for round in 0..5 {
        a.checkpoint("jira").await.unwrap();
        b.checkpoint("jira").await.unwrap();
        let (ca, cb) = (
            Checkpoint(serde_json::json!({"round": round, "by": "a"})),
            Checkpoint(serde_json::json!({"round": round, "by": "b"})),
        );
        let (ra, rb) = tokio::join!(
            a.commit_checkpoint("jira", &ca),
            b.commit_checkpoint("jira", &cb)
        );
        assert!(ra.is_ok() != rb.is_ok(), "round {round}: {ra:?} / {rb:?}");
        let stored = a.checkpoint("jira").await.unwrap();
        assert_eq!(stored, Some(if ra.is_ok() { ca } else { cb }));
    }

    // A reset by one sync also stops the other's commit.
    a.checkpoint("jira").await.unwrap();
    b.checkpoint("jira").await.unwrap();
    a.reset_checkpoint("jira").await.unwrap();
    assert!(b
        .commit_checkpoint("jira", &Checkpoint(serde_json::json!({})))
        .await
        .is_err());
    assert_eq!(a.checkpoint("jira").await.unwrap(), None);
}

/// A checkpoint of about `bytes` bytes (the files connector's shape).
fn big_checkpoint(files: usize, tag: &str) -> Checkpoint {
    let entries: serde_json::Map<String, serde_json::Value> = (0..files)
        .map(|i| {
            (
                format!("runbooks/team-{tag}/{i:06}-a-long-file-name-é.md"),
                serde_json::json!({"mtime_ns": 1_700_000_000_000_000_000i64 + i as i64, "size": i, "hash": format!("{:064x}", i)}),
            )
        })
        .collect();
    Checkpoint(serde_json::Value::Object(entries))
}

async fn part_items(target: &Target, store: &DynamoDbStateStore, source: &str) -> usize {
    let client = target.dynamodb().await;
    let pk = format!("source#{source}");
    // Parts are ~350 KB, so a Query page (1 MB) holds only two: page on.
    let mut count = 0;
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name(store.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.clone()))
            .expression_attribute_values(":p", AttributeValue::S("checkpoint#".into()))
            .projection_expression("sk")
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        count += page.items().len();
        match page.last_evaluated_key {
            Some(next) => start = Some(next),
            None => return count,
        }
    }
}

#[tokio::test]
async fn checkpoints_larger_than_an_item_round_trip() {
    let Some(target) = target("checkpoints_larger_than_an_item_round_trip") else {
        return;
    };
    let state = target.state_store("bigcp", None).await;
    // ~5,000 files is ~1 MB of JSON: three parts of at most 350 KB.
    let big = big_checkpoint(5_000, "x");
    assert!(serde_json::to_string(&big.0).unwrap().len() > 700_000);
    state.commit_checkpoint("files", &big).await.unwrap();
    assert_eq!(state.checkpoint("files").await.unwrap(), Some(big));
    let parts = part_items(&target, &state, "files").await;
    if matches!(target, Target::Moto { .. }) {
        assert!((2..=4).contains(&parts), "{parts} parts");
    }
    // A bigger one replaces it; the old version's parts are deleted.
    let bigger = big_checkpoint(6_000, "y");
    state.commit_checkpoint("files", &bigger).await.unwrap();
    assert_eq!(state.checkpoint("files").await.unwrap(), Some(bigger));
    if matches!(target, Target::Moto { .. }) {
        let now = part_items(&target, &state, "files").await;
        assert!((3..=5).contains(&now), "{now} parts");
    }
    // A small one goes back inline and leaves no parts behind.
    let small = Checkpoint(serde_json::json!({"a.md": {"mtime_ns": 1, "size": 2, "hash": "h"}}));
    state.commit_checkpoint("files", &small).await.unwrap();
    assert_eq!(state.checkpoint("files").await.unwrap(), Some(small));
    if matches!(target, Target::Moto { .. }) {
        assert_eq!(part_items(&target, &state, "files").await, 0);
    }
    // And a reset removes everything.
    state
        .commit_checkpoint("files", &big_checkpoint(3_000, "z"))
        .await
        .unwrap();
    state.reset_checkpoint("files").await.unwrap();
    assert_eq!(state.checkpoint("files").await.unwrap(), None);
    if matches!(target, Target::Moto { .. }) {
        assert_eq!(part_items(&target, &state, "files").await, 0);
    }
}

#[tokio::test]
async fn create_table_is_idempotent_and_checks_the_schema() {
    let Some(target) = target("create_table_is_idempotent_and_checks_the_schema") else {
        return;
    };
    let Target::Moto { .. } = target else {
        eprintln!("skipped on AWS: the test creates tables");
        return;
    };
    let (table, _) = target.table("create").await;
    let store = DynamoDbStateStore::builder(&table)
        .settings(target.settings())
        .build()
        .unwrap();
    // Missing table: a config error that says how to create it.
    let err = store.checkpoint("x").await.unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains(&table) && m.contains("does not exist")),
        "{err:?}"
    );
    assert!(store.create_table().await.unwrap());
    assert!(!store.create_table().await.unwrap());
    assert_eq!(store.checkpoint("x").await.unwrap(), None);

    // A table with another key schema is refused.
    let (other, _) = target.table("wrongkeys").await;
    let client = target.dynamodb().await;
    client
        .create_table()
        .table_name(&other)
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let wrong = DynamoDbStateStore::builder(&other)
        .settings(target.settings())
        .build()
        .unwrap();
    let err = wrong.create_table().await.unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("key schema")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_corrupt_checkpoint_item_is_reported_as_corrupt() {
    let Some(target) = target("a_corrupt_checkpoint_item_is_reported_as_corrupt") else {
        return;
    };
    let Target::Moto { .. } = target else {
        eprintln!("skipped on AWS: the test writes raw items");
        return;
    };
    let state = target.state_store("corrupt", None).await;
    target
        .dynamodb()
        .await
        .put_item()
        .table_name(state.table())
        .item("pk", AttributeValue::S("source#wiki".into()))
        .item("sk", AttributeValue::S("checkpoint".into()))
        .item("version", AttributeValue::N("1".into()))
        .item("checkpoint", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();
    let err = state.checkpoint("wiki").await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt(m) if m.contains("wiki") && m.contains(state.table())),
        "{err:?}"
    );
}
