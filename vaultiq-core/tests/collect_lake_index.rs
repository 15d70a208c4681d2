//! The two halves of the serverless sync: `collect_source` (fetch -> lake
//! -> checkpoint, nothing embedded) and `index_lake_documents` (what a lake
//! event asks for), with a scripted in-memory connector.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use vaultiq_core::connector::{Checkpoint, Connector, FetchBatch, SourceDocument};
use vaultiq_core::lake::{FsLake, Lake};
use vaultiq_core::pipeline::collect::{CollectOptions, CollectStop};
use vaultiq_core::{Document, KnowledgeBase, Result, SourceType, SyncOptions};

const SOURCE: &str = "notes";

/// Serves its documents `batch` at a time; the checkpoint is the offset
/// plus a generation, so replacing the documents makes the next fetch
/// start over (as an edit would show up in a real source).
struct Scripted {
    docs: Mutex<(u64, Vec<SourceDocument>)>,
    batch: usize,
    /// Simulated work per fetch.
    delay: Duration,
    fetches: Mutex<Vec<Option<serde_json::Value>>>,
}

impl Scripted {
    fn new(count: usize, batch: usize, delay: Duration) -> Arc<Self> {
        Arc::new(Scripted {
            docs: Mutex::new((0, (0..count).map(|i| record(i, "first")).collect())),
            batch,
            delay,
            fetches: Mutex::new(Vec::new()),
        })
    }

    fn replace(&self, docs: Vec<SourceDocument>) {
        let mut guard = self.docs.lock().unwrap();
        guard.0 += 1;
        guard.1 = docs;
    }
}

fn record(i: usize, version: &str) -> SourceDocument {
    SourceDocument {
        document: Document::new(
            SourceType::Custom,
            SOURCE,
            &format!("n{i:03}"),
            format!("Note {i}"),
            format!("Note {i}, {version} version: the pager rota and the runbook for service {i}."),
        ),
        raw: json!({"n": i}),
    }
}

#[async_trait]
impl Connector for Scripted {
    fn name(&self) -> &str {
        SOURCE
    }

    fn source_type(&self) -> SourceType {
        SourceType::Custom
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch> {
        self.fetches
            .lock()
            .unwrap()
            .push(checkpoint.map(|c| c.0.clone()));
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let (generation, docs) = self.docs.lock().unwrap().clone();
        let offset = checkpoint
            .filter(|c| c.0["gen"] == generation)
            .and_then(|c| c.0["offset"].as_u64())
            .unwrap_or(0) as usize;
        let end = (offset + self.batch).min(docs.len());
        Ok(FetchBatch {
            documents: docs[offset..end].to_vec(),
            checkpoint: Checkpoint(json!({"gen": generation, "offset": end})),
            done: end == docs.len(),
        })
    }

    async fn list_ids(&self) -> Result<Vec<String>> {
        let docs = self.docs.lock().unwrap();
        Ok(docs.1.iter().map(|d| d.document.id.clone()).collect())
    }
}

fn knowledge_base(dir: &std::path::Path, connector: Arc<Scripted>) -> KnowledgeBase {
    KnowledgeBase::local_builder(dir, Arc::new(mock_server::HashEmbedder))
        .unwrap()
        .source(connector)
        .build()
        .unwrap()
}

async fn lake_ids(dir: &std::path::Path) -> Vec<String> {
    let mut ids = FsLake::new(dir.join("lake")).list(SOURCE).await.unwrap();
    ids.sort();
    ids
}

#[tokio::test]
async fn collect_fills_the_lake_only_and_checkpoints_every_batch() {
    let dir = tempfile::tempdir().unwrap();
    let connector = Scripted::new(25, 10, Duration::ZERO);
    let kb = knowledge_base(dir.path(), Arc::clone(&connector));

    let report = kb
        .collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.batches, report.fetched, report.written),
        (3, 25, 25)
    );
    assert!(report.complete);
    assert_eq!(lake_ids(dir.path()).await.len(), 25);
    // Nothing is indexed: that is the lake events' job.
    assert!(kb.sources().await.unwrap().is_empty());
    assert_eq!(
        mock_server::checkpoint(dir.path(), SOURCE).await,
        Some(json!({"gen": 0, "offset": 25}))
    );
    assert_eq!(kb.last_runs().await.unwrap()[0].outcome, "ok");

    // Limit: stops after the batch that reaches it; the next run resumes.
    connector.replace((0..25).map(|i| record(i, "second")).collect());
    let limited = CollectOptions {
        limit: Some(5),
        ..CollectOptions::default()
    };
    let report = kb.collect_source(SOURCE, &limited).await.unwrap();
    assert_eq!((report.batches, report.fetched), (1, 10));
    assert_eq!(report.stopped, Some(CollectStop::Limit));
    assert!(!report.complete);
    let report = kb
        .collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();
    assert_eq!(report.fetched, 15);
    assert!(report.complete);

    // Unknown sources are a clear error.
    let err = kb
        .collect_source("nope", &CollectOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no source named `nope`"), "{err}");
}

#[tokio::test]
async fn a_batch_that_would_not_fit_before_the_deadline_is_not_started() {
    let dir = tempfile::tempdir().unwrap();
    let connector = Scripted::new(30, 10, Duration::from_millis(200));
    let kb = knowledge_base(dir.path(), Arc::clone(&connector));
    // The first batch takes 200 ms, leaving at most 100 ms: less than a batch.
    let options = CollectOptions {
        deadline: Some(Instant::now() + Duration::from_millis(300)),
        ..CollectOptions::default()
    };
    let report = kb.collect_source(SOURCE, &options).await.unwrap();
    assert_eq!(report.batches, 1);
    assert_eq!(report.stopped, Some(CollectStop::Deadline));
    // The next run resumes from the committed checkpoint.
    let report = kb
        .collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();
    assert_eq!(report.fetched, 20);
    let fetches = connector.fetches.lock().unwrap().clone();
    assert_eq!(fetches[1], Some(json!({"gen": 0, "offset": 10})));
}

#[tokio::test]
async fn lake_index_follows_the_lake_and_skips_unchanged_content() {
    let dir = tempfile::tempdir().unwrap();
    let connector = Scripted::new(6, 10, Duration::ZERO);
    let kb = knowledge_base(dir.path(), Arc::clone(&connector));
    kb.collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();
    let ids = lake_ids(dir.path()).await;

    // Repeated ids in one batch are indexed once.
    let mut named = ids.clone();
    named.push(ids[0].clone());
    let report = kb.index_lake_documents(SOURCE, &named).await.unwrap();
    assert_eq!((report.indexed, report.unchanged), (6, 0));
    assert!(report.failed.is_empty());
    assert_eq!(mock_server::indexed_ids(dir.path(), SOURCE).await, ids);

    // Redelivery: nothing is re-embedded.
    let report = kb.index_lake_documents(SOURCE, &ids).await.unwrap();
    assert_eq!((report.indexed, report.unchanged), (0, 6));

    // Collect skips what is indexed with the same content, writes edits.
    let mut docs: Vec<SourceDocument> = (0..6).map(|i| record(i, "first")).collect();
    docs[2] = record(2, "edited");
    connector.replace(docs);
    let report = kb
        .collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();
    assert_eq!((report.written, report.unchanged), (1, 5));
    let report = kb.index_lake_documents(SOURCE, &ids).await.unwrap();
    assert_eq!((report.indexed, report.unchanged), (1, 5));

    // A record that is gone is removed; one that never existed is absent;
    // a damaged one fails alone.
    let lake = FsLake::new(dir.path().join("lake"));
    lake.delete(SOURCE, &ids[0]).await.unwrap();
    let damaged = dir
        .path()
        .join("lake")
        .join(SOURCE)
        .join(format!("{}.json", vaultiq_core::lake::key::encode(&ids[1])));
    std::fs::write(&damaged, "{").unwrap();
    let report = kb
        .index_lake_documents(
            SOURCE,
            &[
                ids[0].clone(),
                ids[1].clone(),
                "custom:notes:never".to_string(),
            ],
        )
        .await
        .unwrap();
    assert_eq!((report.deleted, report.absent), (1, 1));
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].0, ids[1]);
    assert_eq!(mock_server::indexed_ids(dir.path(), SOURCE).await.len(), 5);
}

#[tokio::test]
async fn collect_deletes_vanished_records_within_the_safety_limit() {
    let dir = tempfile::tempdir().unwrap();
    let connector = Scripted::new(20, 50, Duration::ZERO);
    let kb = knowledge_base(dir.path(), Arc::clone(&connector));
    kb.collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();

    // 18 of 20 vanish at once: refused, nothing is deleted.
    connector.replace((0..2).map(|i| record(i, "first")).collect());
    let report = kb
        .collect_source(SOURCE, &CollectOptions::default())
        .await
        .unwrap();
    assert_eq!(report.deleted, 0);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(lake_ids(dir.path()).await.len(), 20);

    // Forced, they go (on S3 each deletion raises ObjectRemoved).
    let forced = CollectOptions {
        sync: SyncOptions {
            force_delete: true,
            ..SyncOptions::default()
        },
        ..CollectOptions::default()
    };
    let report = kb.collect_source(SOURCE, &forced).await.unwrap();
    assert_eq!(report.deleted, 18);
    assert_eq!(lake_ids(dir.path()).await.len(), 2);
}
