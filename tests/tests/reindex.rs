//! Reindex from the raw lake: a new chunker applied to what was synced,
//! with the source gone (so no source can have been called), ends with
//! exactly the index a clean sync with that chunker builds; a failure or a
//! stop part-way loses nothing and the next run converges on the same index.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use vaultiq_core::chunker::RecursiveChunker;
use vaultiq_core::pipeline::failpoint::Failpoint;
use vaultiq_core::{Error, KnowledgeBase, SyncOptions};
use vaultiq_tests::{local_kb, sample_corpus, shared_embedder, snapshot};

/// A knowledge base whose chunker differs from the default one.
fn small_chunks_kb(data_dir: &Path) -> KnowledgeBase {
    let chunker = RecursiveChunker::builder()
        .chunk_size(300)
        .chunk_overlap(40)
        .build()
        .expect("chunker");
    KnowledgeBase::local_builder(data_dir, shared_embedder())
        .expect("builder")
        .chunker(Arc::new(chunker))
        .build()
        .expect("knowledge base")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The index a clean sync of the sample corpus with small chunks builds.
async fn expected_small_chunk_index() -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let kb = small_chunks_kb(dir.path());
    kb.ingest_dir("samples", sample_corpus())
        .await
        .expect("clean sync");
    snapshot(&kb).await
}

/// Syncs a copy of the sample corpus with default chunks, then deletes the
/// copy: from here on only the lake holds the documents.
async fn synced_then_source_removed(data_dir: &Path) -> usize {
    let source = tempfile::tempdir().expect("tempdir");
    let root = source.path().join("samples");
    copy_dir(&sample_corpus(), &root);
    let kb = local_kb(data_dir);
    kb.ingest_dir("samples", &root).await.expect("first sync");
    let chunks = kb.store().chunk_count().await.expect("count");
    drop(source);
    assert!(!root.exists());
    chunks
}

#[tokio::test]
async fn reindex_rebuilds_from_the_lake_alone() {
    let expected = expected_small_chunk_index().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let default_chunks = synced_then_source_removed(dir.path()).await;

    let kb = small_chunks_kb(dir.path());
    let reports = std::sync::Mutex::new(Vec::new());
    let report = kb
        .reindex(None, &SyncOptions::default(), &|p| {
            reports.lock().unwrap().push(p.clone())
        })
        .await
        .expect("reindex");
    let documents = documents_in_lake(dir.path());
    assert_eq!(report.indexed(), documents);
    assert_eq!(report.sources.len(), 1);
    assert_eq!(report.sources[0].source_name, "samples");
    assert_eq!(report.sources[0].total, Some(documents));
    assert!(report.sources[0].finished);
    assert!(report.sources[0].chunks > default_chunks);
    // Progress: a start report, one per batch, a final one; totals never move.
    let reports = reports.into_inner().unwrap();
    assert!(reports.len() >= 3, "{reports:?}");
    assert!(reports.iter().all(|p| p.total == Some(documents)));
    assert!(reports.windows(2).all(|w| w[0].fetched <= w[1].fetched));

    assert_eq!(snapshot(&kb).await, expected);

    // Unknown sources get a clear error naming the ones that exist.
    let err = kb
        .reindex(Some("wiki"), &SyncOptions::default(), &|_| {})
        .await
        .expect_err("unknown source");
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    assert!(err.to_string().contains("samples"), "{err}");
}

#[tokio::test]
async fn a_failed_reindex_converges_on_the_next_run() {
    let expected = expected_small_chunk_index().await;
    for point in [Failpoint::AfterEmbed, Failpoint::AfterUpsert] {
        let dir = tempfile::tempdir().expect("tempdir");
        synced_then_source_removed(dir.path()).await;
        let kb = small_chunks_kb(dir.path());
        let options = SyncOptions {
            failpoint: Some(point),
            ..SyncOptions::default()
        };
        match kb.reindex(None, &options, &|_| {}).await {
            Err(Error::Failpoint(name)) => assert_eq!(name, point.name()),
            other => panic!("{point:?}: expected the injected failure, got {other:?}"),
        }
        drop(kb);
        let kb = small_chunks_kb(dir.path());
        kb.reindex(None, &SyncOptions::default(), &|_| {})
            .await
            .expect("second reindex");
        assert_eq!(
            snapshot(&kb).await,
            expected,
            "after a failure at {point:?}"
        );
    }
}

#[tokio::test]
async fn a_stop_request_ends_after_the_current_batch() {
    let expected = expected_small_chunk_index().await;
    let dir = tempfile::tempdir().expect("tempdir");
    synced_then_source_removed(dir.path()).await;
    let kb = small_chunks_kb(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let options = SyncOptions {
        stop: Some(stop.clone()),
        ..SyncOptions::default()
    };
    let batches = std::sync::atomic::AtomicUsize::new(0);
    let result = kb
        .reindex(None, &options, &|p| {
            if p.fetched > 0 {
                batches.fetch_add(1, Ordering::SeqCst);
                // Like Ctrl-C arriving while the first batch is indexed.
                stop.store(true, Ordering::SeqCst);
            }
        })
        .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(batches.load(Ordering::SeqCst), 1, "stopped after one batch");
    // Nothing was lost: every document is still searchable.
    let counts = kb.sources().await.expect("counts");
    assert_eq!(
        counts.values().sum::<usize>(),
        documents_in_lake(dir.path())
    );

    kb.reindex(None, &SyncOptions::default(), &|_| {})
        .await
        .expect("resumed reindex");
    assert_eq!(snapshot(&kb).await, expected);
}

fn documents_in_lake(data_dir: &Path) -> usize {
    std::fs::read_dir(data_dir.join("lake").join("samples"))
        .expect("lake dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
        })
        .count()
}
