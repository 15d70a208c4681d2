//! `S3Lake` with the real SDK client against moto (or AWS with
//! `VAULTIQ_TEST_AWS=1`): records round-trip byte for byte as the fs lake
//! writes them, listings follow continuation tokens, encryption headers are
//! sent, damage and misconfiguration get clear errors, and a knowledge base
//! rebuilds its index from S3 exactly as from the fs lake.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use vaultiq_core::chunker::RecursiveChunker;
use vaultiq_core::connector::SourceDocument;
use vaultiq_core::lake::key::parse_record_key;
use vaultiq_core::lake::{FsLake, Lake, S3Lake, ServerSideEncryption};
use vaultiq_core::{Document, Error, KnowledgeBase, SourceType, SyncOptions};
use vaultiq_tests::aws::{target, Target};
use vaultiq_tests::{sample_corpus, shared_embedder, snapshot};

fn record(source: &str, id: &str, body: &str) -> SourceDocument {
    SourceDocument {
        document: Document::new(SourceType::Files, source, id, "Title", body),
        raw: serde_json::json!({"native": id, "n": [1, 2]}),
    }
}

async fn lake(target: &Target, stem: &str, page_size: usize) -> S3Lake {
    let (bucket, prefix) = target.bucket(stem).await;
    S3Lake::builder(bucket)
        .prefix(prefix)
        .page_size(page_size)
        .settings(target.settings())
        .build()
        .unwrap()
}

#[tokio::test]
async fn records_round_trip_like_the_fs_lake() {
    let Some(target) = target("records_round_trip_like_the_fs_lake") else {
        return;
    };
    let lake = lake(&target, "roundtrip", 1000).await;
    let fs_dir = tempfile::tempdir().unwrap();
    let fs = FsLake::new(fs_dir.path());
    let awkward = ["../etc/passwd", "a/b c?d#e", ".hidden", "日本 語", "x.json"];
    for id in awkward {
        let rec = record("wiki docs", id, &format!("body of {id}"));
        lake.put(&rec).await.unwrap();
        lake.put(&rec).await.unwrap(); // idempotent
        fs.put(&rec).await.unwrap();
        assert_eq!(
            lake.get("wiki docs", &rec.document.id).await.unwrap(),
            Some(rec.clone())
        );
    }
    assert_eq!(
        lake.list("wiki docs").await.unwrap(),
        fs.list("wiki docs").await.unwrap()
    );
    assert_eq!(lake.sources().await.unwrap(), ["wiki docs"]);

    // The object is the fs lake's file, byte for byte, typed as JSON, at
    // the key the Lambda handler parses.
    let rec = record("wiki docs", "a/b c?d#e", "body of a/b c?d#e");
    let key = lake.key("wiki docs", &rec.document.id);
    assert_eq!(
        parse_record_key(lake.prefix(), &key),
        Some(("wiki docs".to_string(), rec.document.id.clone()))
    );
    let object = target
        .s3()
        .await
        .get_object()
        .bucket(lake.bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(object.content_type(), Some("application/json"));
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let file = std::fs::read(fs_dir.path().join("wiki%20docs").join(format!(
        "{}.json",
        vaultiq_core::lake::key::encode(&rec.document.id)
    )))
    .unwrap();
    assert_eq!(bytes.as_ref(), file.as_slice());

    // Absent records and deletes.
    assert_eq!(
        lake.get("wiki docs", "files:wiki docs:nope").await.unwrap(),
        None
    );
    lake.delete("wiki docs", &rec.document.id).await.unwrap();
    lake.delete("wiki docs", &rec.document.id).await.unwrap();
    assert_eq!(lake.get("wiki docs", &rec.document.id).await.unwrap(), None);
    assert_eq!(
        lake.list("wiki docs").await.unwrap().len(),
        awkward.len() - 1
    );
    assert!(lake.list("other").await.unwrap().is_empty());
}

#[tokio::test]
async fn listings_follow_continuation_tokens() {
    let Some(target) = target("listings_follow_continuation_tokens") else {
        return;
    };
    // Pages of 7 keys: 45 records take 7 pages, 4 sources take 4 pages of 1.
    let lake = lake(&target, "pages", 7).await;
    let mut expected = Vec::new();
    let puts = (0..45).map(|i| {
        let rec = record("big", &format!("doc-{i:03}"), "x");
        expected.push(rec.document.id.clone());
        rec
    });
    let puts: Vec<SourceDocument> = puts.collect();
    futures_join_all(&lake, &puts).await;
    for source in ["s1", "s2", "s3"] {
        lake.put(&record(source, "one", "y")).await.unwrap();
    }
    // An object outside the record layout is not a record.
    target
        .s3()
        .await
        .put_object()
        .bucket(lake.bucket())
        .key(format!("{}raw/big/notes.txt", lake.prefix()))
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();
    expected.sort();
    assert_eq!(lake.list("big").await.unwrap(), expected);
    let one_per_page = S3Lake::builder(lake.bucket())
        .prefix(lake.prefix())
        .page_size(1)
        .settings(target.settings())
        .build()
        .unwrap();
    assert_eq!(
        one_per_page.sources().await.unwrap(),
        ["big", "s1", "s2", "s3"]
    );
    assert_eq!(one_per_page.list("big").await.unwrap().len(), 45);
}

async fn futures_join_all(lake: &S3Lake, records: &[SourceDocument]) {
    // Eight writers at a time, as a sync's puts overlap.
    for group in records.chunks(8) {
        let writes = group.iter().map(|r| lake.put(r));
        for result in futures::future::join_all(writes).await {
            result.unwrap();
        }
    }
}

#[tokio::test]
async fn encryption_at_rest_is_requested_per_object() {
    let Some(target) = target("encryption_at_rest_is_requested_per_object") else {
        return;
    };
    let (bucket, prefix) = target.bucket("sse").await;
    let s3 = target.s3().await;
    for (mode, expected) in [
        (ServerSideEncryption::S3, "AES256"),
        (ServerSideEncryption::Kms { key_id: None }, "aws:kms"),
    ] {
        let lake = S3Lake::builder(&bucket)
            .prefix(format!("{prefix}{expected}/"))
            .sse(mode)
            .settings(target.settings())
            .build()
            .unwrap();
        let rec = record("enc", "secret-runbook", "body");
        lake.put(&rec).await.unwrap();
        let head = s3
            .head_object()
            .bucket(&bucket)
            .key(lake.key("enc", &rec.document.id))
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.server_side_encryption().map(|s| s.as_str()),
            Some(expected)
        );
        assert_eq!(lake.get("enc", &rec.document.id).await.unwrap(), Some(rec));
    }
}

#[tokio::test]
async fn damage_and_misconfiguration_get_clear_errors() {
    let Some(target) = target("damage_and_misconfiguration_get_clear_errors") else {
        return;
    };
    let lake = lake(&target, "corrupt", 1000).await;
    let good = record("wiki", "good", "fine");
    lake.put(&good).await.unwrap();
    let key = lake.key("wiki", "files:wiki:bad");
    target
        .s3()
        .await
        .put_object()
        .bucket(lake.bucket())
        .key(&key)
        .body(ByteStream::from_static(b"{\"document\": {\"id\": tru"))
        .send()
        .await
        .unwrap();
    let err = lake.get("wiki", "files:wiki:bad").await.unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt(m) if m.contains(&key)),
        "{err:?}"
    );
    // The damaged record hides nothing else.
    assert_eq!(
        lake.get("wiki", &good.document.id).await.unwrap(),
        Some(good)
    );
    assert_eq!(lake.list("wiki").await.unwrap().len(), 2);

    if let Target::Moto { .. } = target {
        let missing = S3Lake::builder("vaultiq-no-such-bucket-anywhere")
            .settings(target.settings())
            .build()
            .unwrap();
        let err = missing.put(&record("wiki", "x", "y")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("vaultiq-no-such-bucket-anywhere")),
            "{err:?}"
        );
        let err = missing.list("wiki").await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
}

fn kb_on(lake: Arc<dyn Lake>, dir: &std::path::Path, chunk_size: usize) -> KnowledgeBase {
    let chunker = RecursiveChunker::builder()
        .chunk_size(chunk_size)
        .chunk_overlap(chunk_size / 8)
        .build()
        .unwrap();
    KnowledgeBase::local_builder(dir, shared_embedder())
        .unwrap()
        .lake(lake)
        .chunker(Arc::new(chunker))
        .build()
        .unwrap()
}

#[tokio::test]
async fn reindex_from_s3_rebuilds_what_a_clean_sync_builds() {
    let Some(target) = target("reindex_from_s3_rebuilds_what_a_clean_sync_builds") else {
        return;
    };
    let (bucket, prefix) = target.bucket("reindex").await;
    let s3: Arc<dyn Lake> = Arc::new(
        S3Lake::builder(bucket)
            .prefix(prefix)
            .page_size(5)
            .settings(target.settings())
            .build()
            .unwrap(),
    );

    // Sync the sample corpus with the default chunks into the S3 lake.
    let synced = tempfile::tempdir().unwrap();
    let kb = kb_on(Arc::clone(&s3), synced.path(), 800);
    let report = kb.ingest_dir("samples", sample_corpus()).await.unwrap();
    assert!(report.indexed() > 10);
    assert_eq!(s3.sources().await.unwrap(), ["samples"]);
    assert_eq!(s3.list("samples").await.unwrap().len(), report.indexed());

    // What a clean sync with smaller chunks builds (fs lake, no S3).
    let clean = tempfile::tempdir().unwrap();
    let fs: Arc<dyn Lake> = Arc::new(FsLake::new(clean.path().join("lake")));
    let clean_kb = kb_on(fs, clean.path(), 300);
    clean_kb
        .ingest_dir("samples", sample_corpus())
        .await
        .unwrap();
    let expected = snapshot(&clean_kb).await;

    // A fresh index rebuilt from S3 alone, with the smaller chunks: the
    // corpus folder is not even configured.
    let rebuilt = tempfile::tempdir().unwrap();
    let rebuilt_kb = kb_on(s3, rebuilt.path(), 300);
    let report = rebuilt_kb
        .reindex(None, &SyncOptions::default(), &|_| {})
        .await
        .unwrap();
    assert!(report.indexed() > 10);
    assert_eq!(snapshot(&rebuilt_kb).await, expected);
}
