//! Reindex from the raw lake: re-chunk and re-embed every stored document
//! without calling any source API (after a model or chunker change).
//!
//! Documents go through the same chunk -> embed -> upsert -> record hashes
//! path as a sync, one batch at a time. Every upsert replaces all chunks of
//! its documents atomically, so a crash (or a stop) between batches leaves
//! each document either fully on the old index or fully on the new one, and
//! running the reindex again converges on the same index as a clean run.
//! Connector checkpoints are not touched: the next sync carries on from
//! where it was.

use std::time::Instant;

use tracing::Instrument;

use crate::pipeline::sync::{index_documents, SyncOptions, SyncParts, SyncProgress, SyncReport};
use crate::{Error, Result};

/// Documents read from the lake and indexed per batch (one store write each).
pub const REINDEX_BATCH: usize = 32;

/// Reindexes every source found in the lake, or only `only`.
pub(crate) async fn reindex(
    parts: &SyncParts<'_>,
    only: Option<&str>,
    options: &SyncOptions,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
) -> Result<SyncReport> {
    let mut names = parts.lake.sources().await?;
    names.sort();
    if let Some(only) = only {
        if !names.iter().any(|n| n == only) {
            return Err(Error::InvalidInput(format!(
                "the lake has no records of source `{only}`; sources in the lake: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        names.retain(|n| n == only);
    }
    let mut report = SyncReport::default();
    for name in names {
        let span = tracing::info_span!("reindex", source = %name);
        let current = reindex_source(parts, &name, options, progress)
            .instrument(span)
            .await?;
        report.sources.push(current);
    }
    Ok(report)
}

async fn reindex_source(
    parts: &SyncParts<'_>,
    name: &str,
    options: &SyncOptions,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
) -> Result<SyncProgress> {
    let started = Instant::now();
    let mut ids = parts.lake.list(name).await?;
    // A stable order makes a repeated (or resumed) run do the same batches.
    ids.sort();
    let mut current = SyncProgress {
        source_name: name.to_string(),
        total: Some(ids.len()),
        ..SyncProgress::default()
    };
    progress(&current);
    let batches = ids.len().div_ceil(REINDEX_BATCH);
    for (i, batch) in ids.chunks(REINDEX_BATCH).enumerate() {
        let mut documents = Vec::with_capacity(batch.len());
        for id in batch {
            // A record removed since the listing (a concurrent deletion) is skipped.
            let Some(record) = parts.lake.get(name, id).await? else {
                continue;
            };
            let mut document = record.document;
            if document.source_name != name || document.id != *id {
                return Err(Error::Corrupt(format!(
                    "lake record `{id}` of source `{name}` holds document `{}` of source `{}`",
                    document.id, document.source_name
                )));
            }
            document.content_hash = document.compute_hash();
            documents.push(document);
        }
        current.fetched += documents.len();
        index_documents(parts, name, documents, options, &mut current).await?;
        current.elapsed = started.elapsed();
        progress(&current);
        if options.stop_requested() && i + 1 < batches {
            return Err(Error::Cancelled);
        }
    }
    current.elapsed = started.elapsed();
    current.finished = true;
    progress(&current);
    Ok(current)
}
