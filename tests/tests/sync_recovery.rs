//! A sync that fails at any stage boundary loses nothing and duplicates
//! nothing: the next sync ends with exactly the index of a clean run.
//! (The CLI's SIGKILL tests in examples/tests do the same across processes.)

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;

use vaultiq_core::connector::{Connector, FilesConnector};
use vaultiq_core::pipeline::failpoint::Failpoint;
use vaultiq_core::{Error, KnowledgeBase, SyncOptions};
use vaultiq_tests::{local_kb, sample_corpus, snapshot};

/// Small batches, so a failure lands between batches that did commit.
fn connector(root: &Path) -> Arc<dyn Connector> {
    Arc::new(
        FilesConnector::builder("samples", root)
            .batch_size(7)
            .build()
            .expect("connector"),
    )
}

async fn sync(
    kb: &KnowledgeBase,
    root: &Path,
    failpoint: Option<Failpoint>,
) -> vaultiq_core::Result<()> {
    let options = SyncOptions {
        failpoint,
        ..SyncOptions::default()
    };
    kb.sync_connector(connector(root), &options, &|_| {})
        .await
        .map(|_| ())
}

#[tokio::test]
async fn every_failpoint_recovers_to_the_clean_index() {
    let clean_dir = tempfile::tempdir().expect("tempdir");
    let clean = local_kb(clean_dir.path());
    sync(&clean, &sample_corpus(), None)
        .await
        .expect("clean sync");
    let expected = snapshot(&clean).await;

    for point in Failpoint::ALL {
        let dir = tempfile::tempdir().expect("tempdir");
        let kb = local_kb(dir.path());
        match sync(&kb, &sample_corpus(), Some(point)).await {
            Err(Error::Failpoint(name)) => assert_eq!(name, point.name()),
            other => panic!("{point:?}: expected the injected failure, got {other:?}"),
        }
        drop(kb);
        // A new process would reopen everything from disk.
        let kb = local_kb(dir.path());
        sync(&kb, &sample_corpus(), None)
            .await
            .expect("recovery sync");
        assert_eq!(
            snapshot(&kb).await,
            expected,
            "after a failure at {point:?}"
        );
    }
}

#[tokio::test]
async fn edits_and_deletions_reach_the_index() {
    let corpus = tempfile::tempdir().expect("tempdir");
    let files = ["a.md", "b.md", "c.md"];
    for (i, name) in files.iter().enumerate() {
        std::fs::write(
            corpus.path().join(name),
            format!("# Page {i}\n\nThe squirrel number {i} guards server rack {i}.\n"),
        )
        .expect("write");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    let report = kb
        .ingest_dir("notes", corpus.path())
        .await
        .expect("first sync");
    assert_eq!(report.indexed(), 3);

    // Nothing changed: nothing is re-indexed.
    let report = kb
        .ingest_dir("notes", corpus.path())
        .await
        .expect("no-op sync");
    assert_eq!(report.indexed(), 0);

    std::fs::write(
        corpus.path().join("b.md"),
        "# Page 1\n\nThe owl now guards rack 9.\n",
    )
    .expect("edit");
    std::fs::remove_file(corpus.path().join("c.md")).expect("delete");
    let report = kb
        .ingest_dir("notes", corpus.path())
        .await
        .expect("third sync");
    assert_eq!((report.indexed(), report.deleted()), (1, 1));

    let counts = kb.sources().await.expect("counts");
    assert_eq!(counts.values().sum::<usize>(), 2);
    let hits = kb
        .search(
            &vaultiq_core::Query::new("owl guards rack").mode(vaultiq_core::SearchMode::Keyword),
        )
        .await
        .expect("search")
        .hits;
    assert_eq!(hits[0].document.id, "files:notes:b.md");
    assert!(hits.iter().all(|h| h.document.id != "files:notes:c.md"));
    assert!(hits
        .iter()
        .all(|h| !h.chunk.text.contains("squirrel number 1")));
}

#[tokio::test]
async fn mass_deletion_is_refused_unless_forced() {
    let corpus = tempfile::tempdir().expect("tempdir");
    for i in 0..10 {
        std::fs::write(
            corpus.path().join(format!("{i}.txt")),
            format!("Note {i}\n\nRack {i} hosts the cache.\n"),
        )
        .expect("write");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    kb.ingest_dir("notes", corpus.path()).await.expect("sync");
    for i in 0..8 {
        std::fs::remove_file(corpus.path().join(format!("{i}.txt"))).expect("remove");
    }
    let report = kb
        .ingest_dir("notes", corpus.path())
        .await
        .expect("guarded sync");
    assert_eq!(report.deleted(), 0);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert_eq!(
        kb.sources().await.expect("counts").values().sum::<usize>(),
        10
    );

    let options = SyncOptions {
        force_delete: true,
        ..SyncOptions::default()
    };
    let connector: Arc<dyn Connector> = Arc::new(
        FilesConnector::builder("notes", corpus.path())
            .build()
            .expect("connector"),
    );
    let report = kb
        .sync_connector(connector, &options, &|_| {})
        .await
        .expect("forced sync");
    assert_eq!(report.deleted(), 8);
    assert_eq!(
        kb.sources().await.expect("counts").values().sum::<usize>(),
        2
    );
}
