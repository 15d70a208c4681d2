//! Index named lake records: what an object-store event about them asks
//! for (on AWS, the processing function runs this for the keys of each S3
//! event batch written by the collect pipeline).
//!
//! The lake's current content decides, not the kind of event: a record
//! that is present is indexed (skipped when its content hash is already
//! indexed), a record that is absent is removed from the index. So events
//! delivered twice, late or out of order (a create after the delete that
//! followed it) converge on the lake's state and never duplicate chunks.
//! Documents go through the same chunk -> embed -> upsert -> record hashes
//! path as a sync.

use std::collections::HashSet;

use tracing::Instrument;

use crate::pipeline::sync::{index_documents, SyncOptions, SyncParts, SyncProgress};
use crate::{Error, Result};

/// What indexing a set of lake records did.
#[derive(Debug, Default)]
pub struct LakeIndexReport {
    /// The source the records belong to.
    pub source_name: String,
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Chunks written for them.
    pub chunks: usize,
    /// Documents skipped because the same content is already indexed.
    pub unchanged: usize,
    /// Documents removed from the index because their record is gone.
    pub deleted: usize,
    /// Records that are gone and were not indexed either: nothing to do.
    pub absent: usize,
    /// Records that could not be read or do not hold the document their
    /// name says, with the reason; the others were still indexed.
    pub failed: Vec<(String, Error)>,
}

/// Indexes (or removes) the documents `ids` of source `source_name` from
/// their lake records. Errors of one record land in
/// [`LakeIndexReport::failed`]; an error of the embedder or the store fails
/// the whole call (nothing of the batch is recorded, so a retry redoes it).
pub(crate) async fn index_lake_documents(
    parts: &SyncParts<'_>,
    source_name: &str,
    ids: &[String],
) -> Result<LakeIndexReport> {
    let span = tracing::info_span!("lake_index", source = %source_name, records = ids.len());
    index(parts, source_name, ids).instrument(span).await
}

async fn index(
    parts: &SyncParts<'_>,
    source_name: &str,
    ids: &[String],
) -> Result<LakeIndexReport> {
    let mut report = LakeIndexReport {
        source_name: source_name.to_string(),
        ..LakeIndexReport::default()
    };
    let mut seen = HashSet::new();
    let mut present = Vec::new();
    let mut gone = Vec::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        match parts.lake.get(source_name, id).await {
            Ok(Some(record)) => {
                let mut document = record.document;
                if document.source_name != source_name || document.id != *id {
                    let error = Error::Corrupt(format!(
                        "lake record `{id}` of source `{source_name}` holds document `{}` of source `{}`",
                        document.id, document.source_name
                    ));
                    report.failed.push((id.clone(), error));
                    continue;
                }
                // The hash decides what gets re-embedded: never trust a stored one.
                document.content_hash = document.compute_hash();
                present.push(document);
            }
            Ok(None) => gone.push(id.clone()),
            Err(error) => report.failed.push((id.clone(), error)),
        }
    }

    let lookup: Vec<String> = present
        .iter()
        .map(|d| d.id.clone())
        .chain(gone.iter().cloned())
        .collect();
    let known = parts.state.document_hashes(source_name, &lookup).await?;
    let (unchanged, changed): (Vec<_>, Vec<_>) = present
        .into_iter()
        .partition(|d| known.get(&d.id) == Some(&d.content_hash));
    report.unchanged = unchanged.len();
    let mut progress = SyncProgress::default();
    index_documents(
        parts,
        source_name,
        changed,
        &SyncOptions::default(),
        &mut progress,
    )
    .await?;
    report.indexed = progress.indexed;
    report.chunks = progress.chunks;

    if !gone.is_empty() {
        let indexed_gone: Vec<String> = gone
            .iter()
            .filter(|id| known.contains_key(*id))
            .cloned()
            .collect();
        // Chunks are deleted for every absent record, recorded or not: a
        // crash between an upsert and its hash record leaves chunks behind
        // that only this can remove. Deleting nothing is harmless.
        async {
            parts.store.delete(&gone).await?;
            parts
                .state
                .forget_documents(source_name, &indexed_gone)
                .await
        }
        .instrument(tracing::info_span!("delete", documents = gone.len()))
        .await?;
        report.deleted = indexed_gone.len();
        report.absent = gone.len() - indexed_gone.len();
    }
    Ok(report)
}
