//! One set of [`VectorStore`] checks every store must pass: the embedded
//! store, PostgreSQL/pgvector, OpenSearch, and (protocol only) the
//! OpenSearch emulator.
//!
//! The corpus is small and fixed, with hand-made vectors (one topic axis
//! per document), so nearest neighbours are clear-cut. Keyword scorers
//! differ per engine (FTS5 BM25, Lucene BM25, `ts_rank`), so ranking checks
//! assert top-k sets and orderings no reasonable scorer can disagree on,
//! and only where [`Caps::ranking`] says the engine is real.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use vaultiq_core::store::fusion::{fuse, DEFAULT_RRF_K};
use vaultiq_core::store::{Filter, IndexedDocument, StoredHit, VectorStore};
use vaultiq_core::{Chunk, Document, Retriever, SourceType};

/// Vector size of the corpus.
pub const DIMENSION: usize = 16;

/// What a store under test can be held to.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// A real engine: ranking assertions apply.
    pub ranking: bool,
}

/// A unit vector mostly along `topic`, tilted towards `detail`.
pub fn topic_vector(topic: usize, detail: usize) -> Vec<f32> {
    let mut v = [0.0f32; DIMENSION];
    v[topic % 8] = 0.95;
    v[8 + detail % 8] = 0.3;
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / norm).collect()
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

/// A document with its chunks and topic vectors.
pub fn indexed(doc: Document, topic: usize, texts: &[&str], headings: &[&str]) -> IndexedDocument {
    let mut offset = 0;
    let mut chunks = Vec::new();
    let mut vectors = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let chunk = Chunk::new(
            &doc,
            i as u32,
            text.to_string(),
            headings.iter().map(|h| h.to_string()).collect(),
            offset,
        );
        offset = chunk.char_end + 1;
        chunks.push(chunk);
        vectors.push(topic_vector(topic, i));
    }
    IndexedDocument {
        document: doc,
        chunks,
        vectors,
    }
}

/// Ids of the fixed corpus.
pub const TLS: &str = "files:kb:tls.md";
/// Jira runbook, readable by `group:dba`.
pub const FAILOVER: &str = "jira:ops:OPS-1";
/// Confluence page, readable by `group:sre` and `user:alice`.
pub const EVICTION: &str = "confluence:wiki:42";
/// Slack message without a time.
pub const FREEZE: &str = "slack:chat:C1-123";

/// The fixed corpus: four documents, four sources, seven chunks.
pub fn corpus() -> Vec<IndexedDocument> {
    let mut tls = Document::new(
        SourceType::Files,
        "kb",
        "tls.md",
        "TLS certificate rotation",
        "",
    );
    tls.url = "https://kb.example/tls".into();
    tls.metadata.insert("team".into(), "sre".into());
    tls.updated_at = Some(at(2024, 1, 10));
    let mut failover = Document::new(
        SourceType::Jira,
        "ops",
        "OPS-1",
        "Database failover runbook",
        "",
    );
    failover.metadata.insert("team".into(), "dba".into());
    failover.metadata.insert("project".into(), "OPS".into());
    failover.updated_at = Some(at(2024, 3, 5));
    failover.acl = Some(vec!["group:dba".into()]);
    let mut eviction = Document::new(
        SourceType::Confluence,
        "wiki",
        "42",
        "Kubernetes pod eviction",
        "",
    );
    eviction.metadata.insert("team".into(), "sre".into());
    eviction.metadata.insert("space".into(), "ENG".into());
    eviction.updated_at = Some(at(2024, 6, 1));
    eviction.acl = Some(vec!["group:sre".into(), "user:alice".into()]);
    let mut freeze = Document::new(
        SourceType::Slack,
        "chat",
        "C1-123",
        "Deploy freeze announcement",
        "",
    );
    freeze.metadata.insert("channel".into(), "announce".into());
    vec![
        indexed(
            tls,
            0,
            &[
                "Rotate the certificates with certbot renew every ninety days.",
                "Reload nginx after the renewal so it serves the new chain.",
            ],
            &["TLS certificate rotation", "Steps"],
        ),
        indexed(
            failover,
            1,
            &[
                "Promote the replica during a PostgreSQL failover.",
                "Check the replication lag before any failover.",
            ],
            &[],
        ),
        indexed(
            eviction,
            2,
            &[
                "Pods are evicted when the node runs out of memory.",
                "Set memory requests so the scheduler avoids evictions.",
            ],
            &["Eviction"],
        ),
        indexed(
            freeze,
            3,
            &["No deploys on Friday; the freeze starts at noon."],
            &[],
        ),
    ]
}

fn documents_of(hits: &[StoredHit]) -> BTreeSet<String> {
    hits.iter().map(|h| h.document.id.clone()).collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

async fn all_hits(store: &dyn VectorStore, filter: &Filter) -> Vec<StoredHit> {
    store
        .vector_search(&topic_vector(0, 0), 50, filter)
        .await
        .expect("vector search")
}

/// Upsert, then every chunk reads back exactly as written; counts per source.
pub async fn upsert_reads_back(store: &dyn VectorStore, _caps: Caps) {
    let corpus = corpus();
    store.upsert(&corpus).await.expect("upsert");
    assert_eq!(store.chunk_count().await.unwrap(), 7);
    let counts = store.count_by_source().await.unwrap();
    let expected: BTreeMap<SourceType, usize> = [
        (SourceType::Confluence, 1),
        (SourceType::Slack, 1),
        (SourceType::Jira, 1),
        (SourceType::Files, 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
    let hits = all_hits(store, &Filter::default()).await;
    assert_eq!(hits.len(), 7, "every chunk is found with k above the size");
    for indexed in &corpus {
        for (chunk, vector) in indexed.chunks.iter().zip(&indexed.vectors) {
            let hit = hits
                .iter()
                .find(|h| h.chunk.id == chunk.id)
                .unwrap_or_else(|| panic!("chunk {} missing", chunk.id));
            assert_eq!(&hit.chunk, chunk, "chunk fields round-trip");
            assert_eq!(hit.document, indexed.document.summary(), "document fields");
            let stored = hit.vector.as_ref().expect("hits carry their vector");
            let drift: f32 = stored.iter().zip(vector).map(|(a, b)| (a - b).abs()).sum();
            assert!(drift < 1e-4, "vector round-trips");
        }
    }
}

/// Upserting the same batch twice changes nothing; a shorter new version
/// of a document replaces all its old chunks.
pub async fn reupsert_is_idempotent(store: &dyn VectorStore, _caps: Caps) {
    let corpus = corpus();
    store.upsert(&corpus).await.unwrap();
    let before: BTreeSet<String> = all_hits(store, &Filter::default())
        .await
        .into_iter()
        .map(|h| h.chunk.id)
        .collect();
    store.upsert(&corpus).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 7);
    let after: BTreeSet<String> = all_hits(store, &Filter::default())
        .await
        .into_iter()
        .map(|h| h.chunk.id)
        .collect();
    assert_eq!(before, after);
    let mut tls = corpus[0].document.clone();
    tls.body = "changed".into();
    tls.content_hash = tls.compute_hash();
    let shorter = indexed(tls, 0, &["Use the ACME client to renew."], &[]);
    store.upsert(&[shorter]).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 6);
    let hits = all_hits(store, &Filter::default()).await;
    let tls_chunks: Vec<&StoredHit> = hits.iter().filter(|h| h.document.id == TLS).collect();
    assert_eq!(tls_chunks.len(), 1);
    assert_eq!(tls_chunks[0].chunk.text, "Use the ACME client to renew.");
    assert_eq!(
        store
            .count_by_source()
            .await
            .unwrap()
            .values()
            .sum::<usize>(),
        4
    );
}

/// Delete removes documents with all their chunks; unknown ids are fine.
pub async fn delete_removes_documents(store: &dyn VectorStore, _caps: Caps) {
    store.upsert(&corpus()).await.unwrap();
    store
        .delete(&[FAILOVER.to_string(), "files:kb:never-stored".to_string()])
        .await
        .unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 5);
    let counts = store.count_by_source().await.unwrap();
    assert_eq!(counts.get(&SourceType::Jira).copied().unwrap_or(0), 0);
    assert_eq!(counts.values().sum::<usize>(), 3);
    let hits = all_hits(store, &Filter::default()).await;
    assert!(!documents_of(&hits).contains(FAILOVER));
    let keyword = store
        .keyword_search("failover replica", 10, &Filter::default())
        .await
        .unwrap();
    assert!(keyword.iter().all(|h| h.document.id != FAILOVER));
    store.delete(&[]).await.unwrap();
}

/// Source, metadata, time range and ACL filters select exact sets, on both
/// retrievers.
pub async fn filters_select_exact_sets(store: &dyn VectorStore, _caps: Caps) {
    store.upsert(&corpus()).await.unwrap();
    let cases: Vec<(Filter, BTreeSet<String>)> = vec![
        (
            Filter {
                source_types: vec![SourceType::Jira, SourceType::Slack],
                ..Filter::default()
            },
            set(&[FAILOVER, FREEZE]),
        ),
        (
            Filter {
                metadata: [("team".to_string(), "sre".to_string())].into(),
                ..Filter::default()
            },
            set(&[TLS, EVICTION]),
        ),
        (
            Filter {
                metadata: [
                    ("team".to_string(), "sre".to_string()),
                    ("space".to_string(), "ENG".to_string()),
                ]
                .into(),
                ..Filter::default()
            },
            set(&[EVICTION]),
        ),
        (
            Filter {
                updated_after: Some(at(2024, 2, 1)),
                ..Filter::default()
            },
            set(&[FAILOVER, EVICTION]),
        ),
        (
            Filter {
                updated_before: Some(at(2024, 2, 1)),
                ..Filter::default()
            },
            set(&[TLS]),
        ),
        (
            Filter {
                updated_after: Some(at(2024, 2, 1)),
                updated_before: Some(at(2024, 5, 1)),
                ..Filter::default()
            },
            set(&[FAILOVER]),
        ),
        (
            Filter {
                principals: Some(vec!["user:alice".into()]),
                ..Filter::default()
            },
            set(&[TLS, EVICTION, FREEZE]),
        ),
        (
            Filter {
                principals: Some(vec!["group:dba".into(), "group:nobody".into()]),
                ..Filter::default()
            },
            set(&[TLS, FAILOVER, FREEZE]),
        ),
        (
            Filter {
                principals: Some(vec![]),
                ..Filter::default()
            },
            set(&[TLS, FREEZE]),
        ),
        (
            Filter {
                source_types: vec![SourceType::Confluence],
                principals: Some(vec!["group:dba".into()]),
                ..Filter::default()
            },
            set(&[]),
        ),
    ];
    for (filter, expected) in &cases {
        let hits = all_hits(store, filter).await;
        assert_eq!(
            &documents_of(&hits),
            expected,
            "vector search with {filter:?}"
        );
    }
    let files_only = Filter {
        source_types: vec![SourceType::Files],
        ..Filter::default()
    };
    let keyword = store
        .keyword_search("failover", 10, &files_only)
        .await
        .unwrap();
    assert!(keyword.is_empty(), "keyword search honours filters");
    let jira_only = Filter {
        source_types: vec![SourceType::Jira],
        ..Filter::default()
    };
    let keyword = store
        .keyword_search("failover", 10, &jira_only)
        .await
        .unwrap();
    assert_eq!(documents_of(&keyword), set(&[FAILOVER]));
}

/// Keyword, vector and hybrid rankings agree on clear-cut cases.
pub async fn rankings_are_clear_cut(store: &dyn VectorStore, caps: Caps) {
    store.upsert(&corpus()).await.unwrap();
    let none = Filter::default();
    // Keyword: the only passage with these words first; both failover
    // passages as the top two for a word only they contain.
    let keyword = store.keyword_search("certbot", 5, &none).await.unwrap();
    assert!(!keyword.is_empty());
    let failover = store.keyword_search("failover", 5, &none).await.unwrap();
    if caps.ranking {
        assert_eq!(keyword[0].chunk.id, format!("{TLS}#0"));
        assert_eq!(keyword.len(), 1, "no other passage says certbot");
        let top: BTreeSet<String> = failover
            .iter()
            .take(2)
            .map(|h| h.chunk.id.clone())
            .collect();
        let expected: BTreeSet<String> = [format!("{FAILOVER}#0"), format!("{FAILOVER}#1")].into();
        assert_eq!(top, expected);
        assert!(failover[0].score >= failover[1].score);
    }
    // Vector: the exact vector of a chunk finds that chunk first, and its
    // document's other chunk second.
    let query = topic_vector(2, 1);
    let vector = store.vector_search(&query, 3, &none).await.unwrap();
    assert_eq!(vector.len(), 3);
    if caps.ranking {
        assert_eq!(vector[0].chunk.id, format!("{EVICTION}#1"));
        assert_eq!(vector[1].chunk.id, format!("{EVICTION}#0"));
        assert!(
            (vector[0].score - 1.0).abs() < 1e-3,
            "cosine of equal vectors"
        );
        assert!(vector[0].score >= vector[1].score && vector[1].score >= vector[2].score);
    }
    // Hybrid (fused in core): found by both retrievers beats found by one.
    let keyword = store
        .keyword_search("memory evicted pods", 5, &none)
        .await
        .unwrap();
    let fused = fuse(
        vec![(Retriever::Keyword, keyword), (Retriever::Vector, vector)],
        Some(&query),
        DEFAULT_RRF_K,
        5,
    );
    assert!(!fused.is_empty());
    if caps.ranking {
        assert_eq!(fused[0].document.id, EVICTION);
        assert_eq!(fused[0].retrievers.len(), 2);
        assert!(fused[0].relevance_score > 0.85);
    }
}

/// Non-ASCII text, ids and metadata survive storage and match in search.
pub async fn unicode_round_trips(store: &dyn VectorStore, caps: Caps) {
    let mut doc = Document::new(
        SourceType::Files,
        "kb",
        "handbücher/東京.md",
        "Größe des Cafés in 東京",
        "",
    );
    doc.metadata.insert("stadt".into(), "Zürich ☕".into());
    let text = "Der Espresso im café ist heiß — 東京タワー 🚀 naïve façade";
    let item = indexed(doc.clone(), 4, &[text], &["Überblick"]);
    store.upsert(&[item]).await.unwrap();
    let filter = Filter {
        metadata: [("stadt".to_string(), "Zürich ☕".to_string())].into(),
        ..Filter::default()
    };
    let hits = store
        .vector_search(&topic_vector(4, 0), 5, &filter)
        .await
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].chunk.text, text);
    assert_eq!(hits[0].document.title, doc.title);
    assert_eq!(hits[0].chunk.heading_path, vec!["Überblick".to_string()]);
    assert_eq!(hits[0].document.metadata, doc.metadata);
    let keyword = store
        .keyword_search("espresso", 5, &Filter::default())
        .await
        .unwrap();
    assert_eq!(documents_of(&keyword), set(&[&doc.id]));
    if caps.ranking {
        let keyword = store
            .keyword_search("café façade", 5, &Filter::default())
            .await
            .unwrap();
        assert_eq!(documents_of(&keyword), set(&[&doc.id]));
    }
    store.delete(&[doc.id.clone()]).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 0);
}

/// Documents and chunks of the large batch.
pub const LARGE_DOCUMENTS: usize = 100;
/// Chunks per document of the large batch.
pub const LARGE_CHUNKS: usize = 100;

/// One upsert of 10,000 chunks lands whole; then deletes whole.
pub async fn large_batch(store: &dyn VectorStore, caps: Caps) {
    let batch: Vec<IndexedDocument> = (0..LARGE_DOCUMENTS)
        .map(|d| {
            let doc = Document::new(
                SourceType::Files,
                "bulk",
                &format!("doc-{d}"),
                format!("Bulk document {d}"),
                "",
            );
            let texts: Vec<String> = (0..LARGE_CHUNKS)
                .map(|c| format!("Passage {c} of document {d} about subject{}", d % 7))
                .collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let mut item = indexed(doc, d, &refs, &[]);
            for (c, v) in item.vectors.iter_mut().enumerate() {
                *v = topic_vector(d + c, c / 8 + d);
            }
            item
        })
        .collect();
    store.upsert(&batch).await.expect("10k-chunk upsert");
    assert_eq!(
        store.chunk_count().await.unwrap(),
        LARGE_DOCUMENTS * LARGE_CHUNKS
    );
    assert_eq!(
        store
            .count_by_source()
            .await
            .unwrap()
            .get(&SourceType::Files),
        Some(&LARGE_DOCUMENTS)
    );
    let hits = store
        .vector_search(&topic_vector(3, 3), 10, &Filter::default())
        .await
        .unwrap();
    assert_eq!(hits.len(), 10);
    if caps.ranking {
        let keyword = store
            .keyword_search("subject3", 5, &Filter::default())
            .await
            .unwrap();
        assert_eq!(keyword.len(), 5);
        assert!(keyword.iter().all(|h| h.chunk.text.ends_with("subject3")));
    }
    let ids: Vec<String> = batch.iter().map(|d| d.document.id.clone()).collect();
    store.delete(&ids).await.unwrap();
    assert_eq!(store.chunk_count().await.unwrap(), 0);
    assert!(store.count_by_source().await.unwrap().is_empty());
}

/// Concurrent writers: distinct documents all land; concurrent versions of
/// one document leave exactly one version, whole.
pub async fn concurrent_writers(store: Arc<dyn VectorStore>, _caps: Caps) {
    let mut tasks = Vec::new();
    for writer in 0..6usize {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for round in 0..3usize {
                let doc = Document::new(
                    SourceType::Github,
                    "repo",
                    &format!("w{writer}-r{round}"),
                    format!("Writer {writer} round {round}"),
                    "",
                );
                let item = indexed(doc, writer, &["first passage", "second passage"], &[]);
                store.upsert(&[item]).await.unwrap();
            }
        }));
    }
    for version in 0..4usize {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut doc = Document::new(SourceType::Files, "kb", "shared", "Shared", "");
            doc.metadata.insert("shared".into(), "yes".into());
            let texts: Vec<String> = (0..=version)
                .map(|c| format!("version {version} passage {c}"))
                .collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            store.upsert(&[indexed(doc, 5, &refs, &[])]).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let counts = store.count_by_source().await.unwrap();
    assert_eq!(counts.get(&SourceType::Github), Some(&18));
    assert_eq!(counts.get(&SourceType::Files), Some(&1));
    let filter = Filter {
        metadata: [("shared".to_string(), "yes".to_string())].into(),
        ..Filter::default()
    };
    let shared = store
        .vector_search(&topic_vector(5, 0), 50, &filter)
        .await
        .unwrap();
    let versions: BTreeSet<String> = shared
        .iter()
        .map(|h| h.chunk.text.split(" passage").next().unwrap().to_string())
        .collect();
    assert_eq!(versions.len(), 1, "one version, not a mix: {versions:?}");
    let version: usize = versions
        .iter()
        .next()
        .unwrap()
        .trim_start_matches("version ")
        .parse()
        .unwrap();
    assert_eq!(shared.len(), version + 1, "that version whole");
    assert_eq!(store.chunk_count().await.unwrap(), 36 + version + 1);
}

/// Bad input is refused and leaves the store as it was.
pub async fn bad_batches_change_nothing(store: &dyn VectorStore, _caps: Caps) {
    store.upsert(&corpus()).await.unwrap();
    let mut wrong_dimension = corpus();
    wrong_dimension[1].vectors[0] = vec![0.5; DIMENSION + 1];
    assert!(store.upsert(&wrong_dimension).await.is_err());
    let mut nan = corpus();
    nan[2].vectors[1][0] = f32::NAN;
    assert!(store.upsert(&nan).await.is_err());
    let mut missing = corpus();
    missing[0].vectors.pop();
    assert!(store.upsert(&missing).await.is_err());
    assert!(store
        .vector_search(&[1.0, 0.0], 3, &Filter::default())
        .await
        .is_err());
    assert_eq!(store.chunk_count().await.unwrap(), 7);
    assert_eq!(all_hits(store, &Filter::default()).await.len(), 7);
}

/// Declares one `#[tokio::test]` per conformance check for a backend:
/// `$make` is an async expression giving `(Arc<dyn VectorStore>, Caps,
/// cleanup future)` or `None` to skip (service not configured).
#[macro_export]
macro_rules! conformance_suite {
    (@call by_ref, $check:ident, $store:ident, $caps:ident) => {
        $crate::store_conformance::$check($store.as_ref(), $caps).await
    };
    (@call by_arc, $check:ident, $store:ident, $caps:ident) => {
        $crate::store_conformance::$check(::std::sync::Arc::clone(&$store), $caps).await
    };
    (@one $check:ident, $make:ident, $how:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let Some((store, caps, cleanup)) = $make(stringify!($check)).await else {
                return;
            };
            $crate::conformance_suite!(@call $how, $check, store, caps);
            cleanup.await;
        }
    };
    ($make:ident) => {
        $crate::conformance_suite!(@one upsert_reads_back, $make, by_ref);
        $crate::conformance_suite!(@one reupsert_is_idempotent, $make, by_ref);
        $crate::conformance_suite!(@one delete_removes_documents, $make, by_ref);
        $crate::conformance_suite!(@one filters_select_exact_sets, $make, by_ref);
        $crate::conformance_suite!(@one rankings_are_clear_cut, $make, by_ref);
        $crate::conformance_suite!(@one unicode_round_trips, $make, by_ref);
        $crate::conformance_suite!(@one large_batch, $make, by_ref);
        $crate::conformance_suite!(@one bad_batches_change_nothing, $make, by_ref);
        $crate::conformance_suite!(@one concurrent_writers, $make, by_arc);
    };
}

/// Cleanup work a backend runs after a check (dropping tables, indexes).
pub type Cleanup = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// A cleanup that does nothing.
pub fn no_cleanup() -> Cleanup {
    Box::pin(async {})
}
