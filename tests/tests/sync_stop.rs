//! A stop request (what Ctrl-C sends) ends a sync right after the batch in
//! progress is committed; the run is recorded as cancelled and the next
//! sync resumes from that batch's checkpoint to the clean index.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use vaultiq_core::connector::{Connector, FilesConnector};
use vaultiq_core::{Error, SyncOptions};
use vaultiq_tests::{local_kb, sample_corpus, snapshot};

fn connector(root: &Path) -> Arc<dyn Connector> {
    Arc::new(
        FilesConnector::builder("samples", root)
            .batch_size(8)
            .build()
            .expect("connector"),
    )
}

#[tokio::test]
async fn a_stopped_sync_commits_its_batch_and_resumes() {
    let clean_dir = tempfile::tempdir().expect("tempdir");
    let clean = local_kb(clean_dir.path());
    clean
        .sync_connector(
            connector(&sample_corpus()),
            &SyncOptions::default(),
            &|_| {},
        )
        .await
        .expect("clean sync");
    let expected = snapshot(&clean).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let options = SyncOptions {
        stop: Some(stop.clone()),
        ..SyncOptions::default()
    };
    let reports = AtomicUsize::new(0);
    let result = kb
        .sync_connector(connector(&sample_corpus()), &options, &|p| {
            reports.fetch_add(1, Ordering::SeqCst);
            assert_eq!(p.fetched, 8, "no batch after the stop request");
            stop.store(true, Ordering::SeqCst);
        })
        .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert_eq!(reports.load(Ordering::SeqCst), 1);
    // The batch in progress was indexed and nothing was deleted.
    assert_eq!(
        kb.sources().await.expect("counts").values().sum::<usize>(),
        8
    );
    let runs = kb.last_runs().await.expect("runs");
    assert_eq!(runs[0].outcome, Error::Cancelled.to_string());
    assert_eq!(runs[0].indexed, 8);

    let resumed = std::sync::Mutex::new(Vec::new());
    kb.sync_connector(connector(&sample_corpus()), &SyncOptions::default(), &|p| {
        resumed.lock().unwrap().push(p.fetched)
    })
    .await
    .expect("resumed sync");
    // The first batch is not fetched again: the checkpoint was committed.
    let total = kb.sources().await.expect("counts").values().sum::<usize>();
    let fetched = resumed.into_inner().unwrap().last().copied().unwrap();
    assert!(fetched <= total - 8, "{fetched} of {total} fetched again");
    assert_eq!(snapshot(&kb).await, expected);
}
