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
    // The sync embeds the next batch while it stores the previous one, so
    // the first report may come with two batches fetched. The stop asked
    // for there lets both finish durably and fetches nothing more.
    let fetched_at_stop = AtomicUsize::new(0);
    let result = kb
        .sync_connector(connector(&sample_corpus()), &options, &|p| {
            reports.fetch_add(1, Ordering::SeqCst);
            let first = fetched_at_stop
                .compare_exchange(0, p.fetched, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok();
            if !first {
                assert_eq!(
                    p.fetched,
                    fetched_at_stop.load(Ordering::SeqCst),
                    "no batch fetched after the stop request"
                );
            }
            stop.store(true, Ordering::SeqCst);
        })
        .await;
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    let stopped_at = fetched_at_stop.load(Ordering::SeqCst);
    assert!(reports.load(Ordering::SeqCst) <= 2);
    assert!((8..=16).contains(&stopped_at), "stopped after {stopped_at}");
    // What was fetched before the stop is indexed and nothing was deleted.
    assert_eq!(
        kb.sources().await.expect("counts").values().sum::<usize>(),
        stopped_at
    );
    let runs = kb.last_runs().await.expect("runs");
    assert_eq!(runs[0].outcome, Error::Cancelled.to_string());
    assert_eq!(runs[0].indexed, stopped_at);

    let resumed = std::sync::Mutex::new(Vec::new());
    kb.sync_connector(connector(&sample_corpus()), &SyncOptions::default(), &|p| {
        resumed.lock().unwrap().push(p.fetched)
    })
    .await
    .expect("resumed sync");
    // The stored batches are not fetched again: their checkpoints were committed.
    let total = kb.sources().await.expect("counts").values().sum::<usize>();
    let fetched = resumed.into_inner().unwrap().last().copied().unwrap();
    assert!(
        fetched <= total - stopped_at,
        "{fetched} of {total} fetched again"
    );
    assert_eq!(snapshot(&kb).await, expected);
}
