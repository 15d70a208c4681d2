//! The embedded store with its HNSW index: switching over at the
//! threshold, recall against the exact scan, filters, deletes, persistence
//! and catch-up after a simulated crash. Small threshold and dimension keep
//! these fast in the unoptimised test build.

use std::collections::HashSet;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::vector_index::INDEX_FILE;
use super::{EmbeddedStore, EmbeddedStoreOptions};
use crate::store::{Filter, IndexedDocument, VectorStore};
use crate::{Chunk, Document, Error, Result, SourceType};

const DIM: usize = 32;
const CHUNKS_PER_DOC: usize = 4;

fn graph_options() -> EmbeddedStoreOptions {
    EmbeddedStoreOptions {
        approx_threshold: 200,
        ..EmbeddedStoreOptions::default()
    }
}

fn exact_options() -> EmbeddedStoreOptions {
    EmbeddedStoreOptions {
        approx_threshold: usize::MAX,
        ..EmbeddedStoreOptions::default()
    }
}

fn normalised(v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// Unit vectors around 12 random centres.
fn clustered(rng: &mut StdRng, count: usize) -> Vec<Vec<f32>> {
    let mut centre_rng = StdRng::seed_from_u64(99);
    let centres: Vec<Vec<f32>> = (0..12)
        .map(|_| {
            normalised(
                (0..DIM)
                    .map(|_| centre_rng.random_range(-1.0..1.0))
                    .collect(),
            )
        })
        .collect();
    (0..count)
        .map(|_| {
            let c = &centres[rng.random_range(0..centres.len())];
            normalised(
                c.iter()
                    .map(|x| x + 0.12 * rng.random_range(-1.0f32..1.0))
                    .collect(),
            )
        })
        .collect()
}

/// Documents `first..first + docs`, alternating Jira and Files, with a
/// `team` metadata key cycling over five values.
fn documents(first: usize, docs: usize, rng: &mut StdRng) -> Vec<IndexedDocument> {
    (first..first + docs)
        .map(|d| {
            let source = if d % 5 == 0 {
                SourceType::Jira
            } else {
                SourceType::Files
            };
            let mut document = Document::new(source, "t", &format!("d{d}"), format!("Doc {d}"), "");
            document
                .metadata
                .insert("team".into(), format!("team{}", d % 7));
            let chunks = (0..CHUNKS_PER_DOC)
                .map(|i| Chunk::new(&document, i as u32, format!("passage {d} {i}"), vec![], 0))
                .collect();
            IndexedDocument {
                document,
                chunks,
                vectors: clustered(rng, CHUNKS_PER_DOC),
            }
        })
        .collect()
}

fn tempdir() -> Result<tempfile::TempDir> {
    tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))
}

async fn top_ids(
    store: &EmbeddedStore,
    query: &[f32],
    k: usize,
    filter: &Filter,
) -> Result<Vec<String>> {
    Ok(store
        .vector_search(query, k, filter)
        .await?
        .into_iter()
        .map(|h| h.chunk.id)
        .collect())
}

#[tokio::test]
async fn graph_recall_and_filters_match_the_exact_scan() -> Result<()> {
    let (graph_dir, exact_dir) = (tempdir()?, tempdir()?);
    let graph = EmbeddedStore::open_with(graph_dir.path(), graph_options())?;
    let exact = EmbeddedStore::open_with(exact_dir.path(), exact_options())?;
    let docs = documents(0, 500, &mut StdRng::seed_from_u64(1));
    for batch in docs.chunks(100) {
        graph.upsert(batch).await?;
        exact.upsert(batch).await?;
    }
    let info = graph.vector_index_info().await?;
    assert!(info.approximate, "{info:?}");
    assert_eq!(info.chunks, 2000);
    assert!(!exact.vector_index_info().await?.approximate);

    let queries = clustered(&mut StdRng::seed_from_u64(2), 40);
    let mut team = Filter::default();
    team.metadata.insert("team".into(), "team3".into());
    let filters = [
        ("none", Filter::default()),
        (
            "jira (a fifth)",
            Filter {
                source_types: vec![SourceType::Jira],
                ..Filter::default()
            },
        ),
        (
            "files (most)",
            Filter {
                source_types: vec![SourceType::Files],
                ..Filter::default()
            },
        ),
        ("metadata (a seventh)", team),
    ];
    for (name, filter) in &filters {
        let (mut found, mut total) = (0, 0);
        for query in &queries {
            let truth = top_ids(&exact, query, 10, filter).await?;
            let hits = graph.vector_search(query, 10, filter).await?;
            for hit in &hits {
                let allowed = filter.source_types.is_empty()
                    || filter.source_types.contains(&hit.document.source);
                let team_ok = filter
                    .metadata
                    .get("team")
                    .is_none_or(|t| hit.document.metadata.get("team") == Some(t));
                assert!(
                    allowed && team_ok,
                    "{name}: {} breaks the filter",
                    hit.chunk.id
                );
                assert!(hit.vector.is_some());
            }
            let truth: HashSet<String> = truth.into_iter().collect();
            total += truth.len();
            found += hits.iter().filter(|h| truth.contains(&h.chunk.id)).count();
        }
        let recall = found as f64 / total as f64;
        assert!(recall >= 0.95, "{name}: recall@10 {recall}");
    }
    Ok(())
}

#[tokio::test]
async fn reopening_loads_the_saved_graph_and_deletes_stay_deleted() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(3);
    let docs = documents(0, 100, &mut rng);
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    store.upsert(&docs).await?;
    store.delete(&["files:t:d1".to_string()]).await?;
    let before = store.vector_index_info().await?;
    assert!(before.approximate && before.tombstones == CHUNKS_PER_DOC);
    drop(store);

    let reopened = EmbeddedStore::open_with(dir.path(), graph_options())?;
    let after = reopened.vector_index_info().await?;
    assert!(
        !after.rebuilt,
        "the saved file is loaded, not rebuilt: {after:?}"
    );
    assert_eq!(after.log_seq, before.log_seq);
    assert_eq!(after.chunks, 396);
    let deleted = &docs[1].vectors[0];
    let ids = top_ids(&reopened, deleted, 20, &Filter::default()).await?;
    assert!(
        ids.iter().all(|id| !id.starts_with("files:t:d1#")),
        "{ids:?}"
    );
    let kept = &docs[2].vectors[1];
    assert_eq!(
        top_ids(&reopened, kept, 1, &Filter::default()).await?,
        ["files:t:d2#1"]
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_before_saving_is_caught_up_from_the_log() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(4);
    let first = documents(0, 100, &mut rng);
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    store.upsert(&first).await?;
    let saved = store.vector_index_info().await?;
    assert_eq!(saved.saved_seq, Some(saved.log_seq));

    // Committed to SQLite but not to the index file, then the process dies
    // without running its destructors.
    let later = documents(100, 20, &mut rng);
    store.upsert(&later).await?;
    let replaced = documents(3, 1, &mut rng);
    store.upsert(&replaced).await?;
    store.delete(&["files:t:d4".to_string()]).await?;
    let crashed = store.vector_index_info().await?;
    assert!(crashed.saved_seq < Some(crashed.log_seq));
    std::mem::forget(store);

    let reopened = EmbeddedStore::open_with(dir.path(), graph_options())?;
    let info = reopened.vector_index_info().await?;
    assert!(!info.rebuilt, "caught up, not rebuilt: {info:?}");
    assert_eq!(info.log_seq, crashed.log_seq);
    assert_eq!(info.chunks, 119 * CHUNKS_PER_DOC);
    for (doc, vectors) in [(104, &later[4].vectors), (3, &replaced[0].vectors)] {
        let top = top_ids(&reopened, &vectors[2], 1, &Filter::default()).await?;
        assert_eq!(top, [format!("files:t:d{doc}#2")]);
    }
    let old_version_of_3 = &first[3].vectors[0];
    let deleted = &first[4].vectors[0];
    for query in [old_version_of_3, deleted] {
        let hits = reopened
            .vector_search(query, 30, &Filter::default())
            .await?;
        assert!(hits.iter().all(|h| h.document.id != "files:t:d4"));
        assert!(hits
            .iter()
            .all(|h| h.score < 0.9999 || h.document.id != "files:t:d3"));
    }
    Ok(())
}

#[tokio::test]
async fn a_damaged_or_foreign_index_file_is_rebuilt() -> Result<()> {
    let (dir, other) = (tempdir()?, tempdir()?);
    let mut rng = StdRng::seed_from_u64(5);
    let docs = documents(0, 60, &mut rng);
    for d in [&dir, &other] {
        EmbeddedStore::open_with(d.path(), graph_options())?
            .upsert(&docs)
            .await?;
    }
    let file = dir.path().join(INDEX_FILE);
    let mut bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&file, &bytes).map_err(|e| Error::io("write", &file, e))?;
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert!(store.vector_index_info().await?.rebuilt);
    assert_eq!(
        top_ids(&store, &docs[7].vectors[3], 1, &Filter::default()).await?,
        ["files:t:d7#3"]
    );
    drop(store);

    // Another store's file at the same sequence is not this store's index.
    std::fs::copy(other.path().join(INDEX_FILE), &file).map_err(|e| Error::io("copy", &file, e))?;
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert!(store.vector_index_info().await?.rebuilt);
    Ok(())
}

#[tokio::test]
async fn a_second_handle_follows_the_writer() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(6);
    let writer = EmbeddedStore::open_with(dir.path(), graph_options())?;
    writer.upsert(&documents(0, 80, &mut rng)).await?;
    let reader = EmbeddedStore::open_with(dir.path(), graph_options())?;
    let more = documents(80, 10, &mut rng);
    writer.upsert(&more).await?;
    writer.delete(&["files:t:d81".to_string()]).await?;
    assert_eq!(reader.chunk_count().await?, 89 * CHUNKS_PER_DOC);
    assert_eq!(
        top_ids(&reader, &more[3].vectors[0], 1, &Filter::default()).await?,
        ["files:t:d83#0"]
    );
    let hits = top_ids(&reader, &more[1].vectors[0], 10, &Filter::default()).await?;
    assert!(hits.iter().all(|id| !id.starts_with("files:t:d81#")));
    Ok(())
}
