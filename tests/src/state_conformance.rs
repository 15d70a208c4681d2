//! The same assertions for every [`StateStore`]: SQLite here, DynamoDB
//! against moto or AWS. Each check works under its own source names.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use vaultiq_core::connector::Checkpoint;
use vaultiq_core::state::{StateStore, SyncRun};

fn run(source: &str, minutes_ago: i64, outcome: &str, indexed: usize) -> SyncRun {
    let started = Utc::now() - Duration::minutes(minutes_ago);
    SyncRun {
        source_name: source.to_string(),
        started_at: started,
        finished_at: started + Duration::seconds(3),
        outcome: outcome.to_string(),
        indexed,
        deleted: 1,
    }
}

/// Checkpoints: absent, committed, replaced, reset, per source.
pub async fn checkpoints(state: &dyn StateStore) {
    assert_eq!(state.checkpoint("cp-a").await.unwrap(), None);
    let first = Checkpoint(serde_json::json!({"cursor": 7, "ids": ["x", "é"]}));
    state.commit_checkpoint("cp-a", &first).await.unwrap();
    assert_eq!(state.checkpoint("cp-a").await.unwrap(), Some(first));
    let second = Checkpoint(serde_json::json!({"cursor": 8}));
    state.commit_checkpoint("cp-a", &second).await.unwrap();
    assert_eq!(
        state.checkpoint("cp-a").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(state.checkpoint("cp-b").await.unwrap(), None);
    state.reset_checkpoint("cp-a").await.unwrap();
    assert_eq!(state.checkpoint("cp-a").await.unwrap(), None);
    // Resetting nothing is fine, and committing after a reset starts over.
    state.reset_checkpoint("cp-a").await.unwrap();
    state.commit_checkpoint("cp-a", &second).await.unwrap();
    assert_eq!(state.checkpoint("cp-a").await.unwrap(), Some(second));
}

/// Document hashes: record, overwrite, look up (with missing and repeated
/// ids), list, forget; `count` documents, so batches split.
pub async fn documents(state: &dyn StateStore, count: usize) {
    let source = "docs-a";
    let hashes: Vec<(String, String)> = (0..count)
        .map(|i| (format!("files:{source}:dir/doc {i:04}.md"), format!("h{i}")))
        .collect();
    state.record_documents(source, &hashes).await.unwrap();
    state.record_documents(source, &[]).await.unwrap();
    // The same id twice in one call: the last hash wins.
    state
        .record_documents(
            source,
            &[
                (hashes[0].0.clone(), "old".into()),
                (hashes[0].0.clone(), "new".into()),
            ],
        )
        .await
        .unwrap();
    let mut wanted: Vec<String> = hashes.iter().map(|(id, _)| id.clone()).collect();
    wanted.push("files:docs-a:missing.md".into());
    wanted.push(hashes[1].0.clone());
    let found = state.document_hashes(source, &wanted).await.unwrap();
    assert_eq!(found.len(), count);
    assert_eq!(found.get(&hashes[0].0).map(String::as_str), Some("new"));
    assert_eq!(found.get(&hashes[count - 1].0), Some(&hashes[count - 1].1));
    assert!(state.document_hashes(source, &[]).await.unwrap().is_empty());
    // Another source sees none of them.
    assert!(state
        .document_hashes("docs-b", &wanted)
        .await
        .unwrap()
        .is_empty());
    assert!(state.document_ids("docs-b").await.unwrap().is_empty());

    let mut ids: Vec<String> = hashes.iter().map(|(id, _)| id.clone()).collect();
    ids.sort();
    assert_eq!(state.document_ids(source).await.unwrap(), ids);

    let (gone, kept) = ids.split_at(count / 2);
    let mut forget = gone.to_vec();
    forget.push("files:docs-a:never-there.md".into());
    forget.push(gone[0].clone());
    state.forget_documents(source, &forget).await.unwrap();
    state.forget_documents(source, &[]).await.unwrap();
    assert_eq!(state.document_ids(source).await.unwrap(), kept);
    let left: HashMap<String, String> = state.document_hashes(source, &ids).await.unwrap();
    assert_eq!(left.len(), kept.len());
    assert!(gone.iter().all(|id| !left.contains_key(id)));
}

/// Run history: the latest run of each source.
pub async fn runs(state: &dyn StateStore) {
    state.record_run(&run("runs-a", 10, "ok", 5)).await.unwrap();
    let latest = run("runs-a", 1, "source `runs-a`: HTTP 503", 2);
    state.record_run(&latest).await.unwrap();
    state.record_run(&run("runs-b", 5, "ok", 9)).await.unwrap();
    let runs = state.last_runs().await.unwrap();
    let mine: Vec<&SyncRun> = runs
        .iter()
        .filter(|r| r.source_name.starts_with("runs-"))
        .collect();
    assert_eq!(mine.len(), 2, "{runs:?}");
    assert_eq!(mine[0].source_name, "runs-a");
    assert_eq!(mine[0].outcome, latest.outcome);
    assert_eq!(mine[0].indexed, 2);
    assert_eq!(
        mine[0].started_at.timestamp_micros(),
        latest.started_at.timestamp_micros()
    );
    assert_eq!(mine[1].source_name, "runs-b");
    assert_eq!(mine[1].indexed, 9);
}
