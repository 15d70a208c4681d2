//! Bad input never panics and never costs what is already indexed.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use vaultiq_core::embedder::LocalEmbedder;
use vaultiq_core::{Error, KnowledgeBase, Query};
use vaultiq_tests::{local_kb, model};

#[tokio::test]
async fn unreadable_files_are_skipped_and_the_rest_indexed() {
    let corpus = tempfile::tempdir().expect("tempdir");
    let root = corpus.path();
    std::fs::write(
        root.join("good.md"),
        "# Backups\n\nNightly backups run at 02:00 with pgBackRest.\n",
    )
    .expect("write");
    std::fs::write(root.join("empty.md"), "").expect("write");
    std::fs::write(root.join("blank.txt"), "  \n\n\t\n").expect("write");
    std::fs::write(
        root.join("binary.txt"),
        [0x89, b'P', b'N', b'G', 0, 0, 1, 2, 3],
    )
    .expect("write");
    std::fs::write(root.join("latin1.txt"), b"Caf\xe9 \xe0 la cr\xe8me\n").expect("write");
    std::fs::write(root.join("broken.json"), b"{\"title\": \"x\", ").expect("write");
    std::fs::write(
        root.join("broken.html"),
        "<html><p>Unclosed <b>tags <a href='x'>everywhere\n",
    )
    .expect("write");
    // 50 MB of text: over the default size limit, skipped with a warning.
    let line = "The quick brown fox jumps over the lazy dog near the data centre.\n";
    std::fs::write(
        root.join("huge.txt"),
        line.repeat(50 * 1024 * 1024 / line.len() + 1),
    )
    .expect("write");

    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    let report = kb
        .ingest_dir("mixed", root)
        .await
        .expect("sync skips bad files");
    let counts = kb.sources().await.expect("counts");
    let total: usize = counts.values().sum();
    assert_eq!(report.indexed(), total);
    assert!(
        (1..=2).contains(&total),
        "only good.md (and the lenient HTML) are indexed, got {total}"
    );
    let hits = kb
        .search(&Query::new("when do backups run"))
        .await
        .expect("search")
        .hits;
    assert_eq!(hits[0].document.id, "files:mixed:good.md");
}

#[tokio::test]
async fn a_corrupt_store_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = dir.path().join("store.sqlite");
    let garbage = vec![0x5a_u8; 64 * 1024];
    std::fs::write(&store, &garbage).expect("write");
    let err = KnowledgeBase::open_local_with(dir.path(), model()).expect_err("corrupt store");
    assert!(matches!(err, Error::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("store.sqlite"), "{err}");
    assert_eq!(
        std::fs::read(&store).expect("read"),
        garbage,
        "the file is not touched"
    );
}

#[tokio::test]
async fn a_broken_model_folder_does_not_touch_the_index() {
    let corpus = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        corpus.path().join("a.md"),
        "# DNS\n\nInternal zones are served by CoreDNS.\n",
    )
    .expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let kb = local_kb(dir.path());
        kb.ingest_dir("notes", corpus.path()).await.expect("sync");
    }
    let broken = tempfile::tempdir().expect("tempdir");
    let err = LocalEmbedder::builder()
        .model_dir(broken.path())
        .build()
        .expect_err("no model");
    assert!(err
        .to_string()
        .contains(&broken.path().display().to_string()));
    let kb = local_kb(dir.path());
    assert_eq!(
        kb.sources().await.expect("counts").values().sum::<usize>(),
        1
    );
}

#[tokio::test]
async fn bad_queries_are_invalid_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    for query in [
        Query::new("   "),
        Query::new("x".repeat(2001)),
        Query::new("ok").top_k(0),
    ] {
        assert!(
            matches!(kb.ask(&query).await, Err(Error::InvalidInput(_))),
            "{query:?}"
        );
    }
    // An empty index answers, it does not fail.
    let result = kb.ask(&Query::new("anything at all?")).await.expect("ask");
    assert!(!result.answer.grounded);
}

#[tokio::test]
async fn a_locked_data_directory_is_a_retryable_error_and_loses_nothing() {
    let corpus = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        corpus.path().join("a.md"),
        "# Proxy\n\nEgress goes through Squid on port 3128.\n",
    )
    .expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    kb.ingest_dir("notes", corpus.path())
        .await
        .expect("first sync");

    // Another process holds the store's write lock for longer than we wait.
    let other = rusqlite::Connection::open(dir.path().join("store.sqlite")).expect("open");
    other.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    std::fs::write(
        corpus.path().join("b.md"),
        "# NTP\n\nServers sync time from chrony pools.\n",
    )
    .expect("write");
    let err = kb
        .ingest_dir("notes", corpus.path())
        .await
        .expect_err("store is locked");
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("locked"), "{err}");
    other.execute_batch("ROLLBACK").expect("unlock");

    // Nothing was lost, and the next sync picks up where it stopped.
    let report = kb
        .ingest_dir("notes", corpus.path())
        .await
        .expect("sync after unlock");
    assert_eq!(report.indexed(), 1);
    assert_eq!(
        kb.sources().await.expect("counts").values().sum::<usize>(),
        2
    );
}
