//! The keyword index of a second handle (another process, in practice)
//! follows the writer through the change log, and ranks exactly like an
//! index built fresh from the file, whoever wrote what.

use super::EmbeddedStore;
use crate::store::{Filter, IndexedDocument, VectorStore};
use crate::{Chunk, Document, Error, Result, SourceType};

const WORDS: &[&str] = &[
    "certificate",
    "rotate",
    "postgres",
    "backup",
    "restore",
    "kubernetes",
    "replica",
    "latency",
    "vpn",
    "token",
    "deploy",
    "rollback",
    "pipeline",
    "disk",
    "alert",
    "incident",
    "dns",
    "proxy",
];

/// A document of `chunks` passages drawn deterministically from `seed`.
fn document(native: &str, seed: usize, chunks: usize) -> IndexedDocument {
    let document = Document::new(
        SourceType::Files,
        "t",
        native,
        format!("Runbook {native}"),
        "",
    );
    let texts: Vec<String> = (0..chunks)
        .map(|c| {
            (0..6 + (seed + c) % 5)
                .map(|w| WORDS[(seed * 7 + c * 3 + w * w) % WORDS.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    IndexedDocument {
        chunks: texts
            .iter()
            .enumerate()
            .map(|(i, t)| Chunk::new(&document, i as u32, t.clone(), vec![], 0))
            .collect(),
        vectors: (0..chunks)
            .map(|c| vec![1.0, c as f32, seed as f32])
            .collect(),
        document,
    }
}

async fn ranking(store: &EmbeddedStore, query: &str) -> Result<Vec<(String, f32)>> {
    Ok(store
        .keyword_search(query, 20, &Filter::default())
        .await?
        .into_iter()
        .map(|h| (h.chunk.id, h.score))
        .collect())
}

#[tokio::test]
async fn a_second_handle_ranks_like_a_fresh_index() -> Result<()> {
    let dir =
        tempfile::tempdir().map_err(|e| Error::io("tempdir", std::path::Path::new("."), e))?;
    let writer = EmbeddedStore::open(dir.path())?;
    let first: Vec<IndexedDocument> = (0..30).map(|i| document(&format!("d{i}"), i, 3)).collect();
    writer.upsert(&first).await?;
    let reader = EmbeddedStore::open(dir.path())?;
    assert_eq!(
        ranking(&reader, "postgres backup").await?,
        ranking(&writer, "postgres backup").await?
    );

    // The writer replaces, deletes and adds; then the reader writes too,
    // on top of changes it has not looked at yet.
    let replaced: Vec<IndexedDocument> = (0..10)
        .map(|i| document(&format!("d{i}"), i + 100, 2))
        .collect();
    writer.upsert(&replaced).await?;
    writer
        .delete(
            &(20..25)
                .map(|i| format!("files:t:d{i}"))
                .collect::<Vec<_>>(),
        )
        .await?;
    writer.upsert(&[document("new", 7, 4)]).await?;
    reader.upsert(&[document("from-reader", 11, 2)]).await?;
    writer.delete(&["files:t:d3".to_string()]).await?;

    let fresh = EmbeddedStore::open(dir.path())?;
    for query in [
        "postgres backup",
        "rotate certificate",
        "vpn dns proxy token",
        "incident",
    ] {
        let want = ranking(&fresh, query).await?;
        assert!(!want.is_empty(), "{query}");
        for (who, store) in [("reader", &reader), ("writer", &writer)] {
            let got = ranking(store, query).await?;
            assert_eq!(got.len(), want.len(), "{who}: {query}");
            for ((got_id, got_score), (want_id, want_score)) in got.iter().zip(&want) {
                assert_eq!(got_id, want_id, "{who}: {query}");
                assert!(
                    (got_score - want_score).abs() < 1e-5,
                    "{who}: {query}: {got_score} vs {want_score}"
                );
            }
        }
    }
    let deleted = ranking(&reader, "postgres backup rotate certificate vpn").await?;
    assert!(deleted
        .iter()
        .all(|(id, _)| !id.starts_with("files:t:d3#") && !id.starts_with("files:t:d21#")));
    Ok(())
}
