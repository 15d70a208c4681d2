//! The embedded store's saved keyword index: a large store (one using the
//! HNSW graph; a small threshold here) loads it on reopen instead of
//! rebuilding, catches it up from the change log after a crash, and
//! rebuilds it when the file is damaged or belongs to another store; in
//! every case the ranking is exactly that of a fresh build.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::keyword::KEYWORD_FILE;
use super::vector_index::INDEX_FILE;
use super::{EmbeddedStore, EmbeddedStoreOptions};
use crate::store::{Filter, IndexedDocument, VectorStore};
use crate::{Chunk, Document, Error, Result, SourceType};

const WORDS: &[&str] = &[
    "certificate",
    "rotation",
    "postgres",
    "backup",
    "restore",
    "kafka",
    "broker",
    "disk",
    "full",
    "nginx",
    "reload",
    "vpn",
    "gateway",
    "firmware",
    "ldap",
    "password",
    "reset",
    "kubernetes",
    "pod",
    "eviction",
    "dns",
    "resolver",
    "latency",
    "alert",
];
const QUERIES: &[&str] = &[
    "certificate rotation",
    "postgres backup restore",
    "vpn gateway firmware",
    "kubernetes pod eviction alert",
];

fn graph_options() -> EmbeddedStoreOptions {
    EmbeddedStoreOptions {
        approx_threshold: 200,
        ..EmbeddedStoreOptions::default()
    }
}

/// `docs` documents of four chunks, each chunk a random run of [`WORDS`].
fn documents(first: usize, docs: usize, rng: &mut StdRng) -> Vec<IndexedDocument> {
    (first..first + docs)
        .map(|d| {
            let document = Document::new(
                SourceType::Files,
                "t",
                &format!("d{d}"),
                format!("Doc {d}"),
                "",
            );
            let chunks = (0..4)
                .map(|i| {
                    let len = rng.random_range(4..20);
                    let text: Vec<&str> = (0..len)
                        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                        .collect();
                    Chunk::new(&document, i, text.join(" "), vec![], 0)
                })
                .collect();
            let vectors = (0..4)
                .map(|_| (0..8).map(|_| rng.random_range(-1.0f32..1.0)).collect())
                .collect();
            IndexedDocument {
                document,
                chunks,
                vectors,
            }
        })
        .collect()
}

fn tempdir() -> Result<tempfile::TempDir> {
    tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))
}

/// The top 10 (chunk id, score) of every query.
async fn rankings(store: &EmbeddedStore) -> Result<Vec<Vec<(String, f32)>>> {
    let mut all = Vec::new();
    for query in QUERIES {
        let hits = store.keyword_search(query, 10, &Filter::default()).await?;
        assert!(!hits.is_empty(), "{query}");
        all.push(hits.into_iter().map(|h| (h.chunk.id, h.score)).collect());
    }
    Ok(all)
}

/// The rankings of a store opened on a copy of `dir` without the saved
/// indexes: a fresh build from SQLite.
async fn fresh_rankings(dir: &Path) -> Result<Vec<Vec<(String, f32)>>> {
    let copy = tempdir()?;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("read dir", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("read dir", dir, e))?;
        let name = entry.file_name();
        if name == KEYWORD_FILE || name == INDEX_FILE {
            continue;
        }
        let target = copy.path().join(&name);
        std::fs::copy(entry.path(), &target).map_err(|e| Error::io("copy", &target, e))?;
    }
    let store = EmbeddedStore::open_with(copy.path(), graph_options())?;
    rankings(&store).await
}

/// Rewrites one chunk's text behind the store's back (text edits are not
/// in the change log): only a rebuild from SQLite can see the new word.
fn edit_silently(dir: &Path) -> Result<()> {
    let conn = rusqlite::Connection::open(dir.join(super::STORE_FILE))?;
    conn.execute(
        "UPDATE chunks SET text = 'zeppelin' WHERE rowid = (SELECT MIN(rowid) FROM chunks)",
        [],
    )?;
    Ok(())
}

async fn finds_the_silent_edit(store: &EmbeddedStore) -> Result<bool> {
    Ok(!store
        .keyword_search("zeppelin", 5, &Filter::default())
        .await?
        .is_empty())
}

#[tokio::test]
async fn reopening_loads_the_saved_keyword_index() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(1);
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    store.upsert(&documents(0, 80, &mut rng)).await?;
    store.delete(&["files:t:d7".to_string()]).await?;
    let before = rankings(&store).await?;
    drop(store);
    assert!(dir.path().join(KEYWORD_FILE).exists());

    edit_silently(dir.path())?;
    let reopened = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert!(
        !finds_the_silent_edit(&reopened).await?,
        "the saved index is loaded, not rebuilt"
    );
    assert_eq!(rankings(&reopened).await?, before);
    drop(reopened);

    std::fs::remove_file(dir.path().join(KEYWORD_FILE))
        .map_err(|e| Error::io("remove", dir.path(), e))?;
    let rebuilt = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert!(finds_the_silent_edit(&rebuilt).await?);
    Ok(())
}

#[tokio::test]
async fn a_crash_before_saving_is_caught_up_from_the_log() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(2);
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    store.upsert(&documents(0, 80, &mut rng)).await?;
    // Committed to SQLite after the last save, then the process dies
    // without running its destructors: new, replaced and deleted documents.
    store.upsert(&documents(80, 10, &mut rng)).await?;
    store.upsert(&documents(3, 2, &mut rng)).await?;
    store
        .delete(&["files:t:d9".to_string(), "files:t:d85".to_string()])
        .await?;
    let expected = rankings(&store).await?;
    std::mem::forget(store);

    let reopened = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert_eq!(rankings(&reopened).await?, expected);
    assert_eq!(fresh_rankings(dir.path()).await?, expected);
    Ok(())
}

#[tokio::test]
async fn a_damaged_or_foreign_keyword_file_is_rebuilt() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(3);
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    store.upsert(&documents(0, 80, &mut rng)).await?;
    let expected = rankings(&store).await?;
    drop(store);
    let file = dir.path().join(KEYWORD_FILE);

    let mut bytes = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&file, &bytes).map_err(|e| Error::io("write", &file, e))?;
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert_eq!(rankings(&store).await?, expected);
    drop(store);

    // Another store's file, however intact, is not this store's index.
    let other = tempdir()?;
    let other_store = EmbeddedStore::open_with(other.path(), graph_options())?;
    other_store.upsert(&documents(0, 80, &mut rng)).await?;
    drop(other_store);
    std::fs::copy(other.path().join(KEYWORD_FILE), &file)
        .map_err(|e| Error::io("copy", &file, e))?;
    let store = EmbeddedStore::open_with(dir.path(), graph_options())?;
    assert_eq!(rankings(&store).await?, expected);
    Ok(())
}

#[tokio::test]
async fn small_stores_save_no_keyword_file() -> Result<()> {
    let dir = tempdir()?;
    let mut rng = StdRng::seed_from_u64(4);
    let store = EmbeddedStore::open_with(dir.path(), EmbeddedStoreOptions::default())?;
    store.upsert(&documents(0, 20, &mut rng)).await?;
    drop(store);
    assert!(!dir.path().join(KEYWORD_FILE).exists());
    Ok(())
}
