//! Collect into the lake: the fetching half of a sync, for deployments in
//! which something else indexes what lands in the lake (on AWS, a connector
//! function writes raw JSON to S3 and the bucket's events trigger the
//! processing function, see [`crate::pipeline::lake_index`]).
//!
//! checkpoint -> fetch batch -> lake put -> commit checkpoint, batch after
//! batch, until the source is done, a time budget runs out or a document
//! limit is reached; the checkpoint is committed after every batch, so the
//! next run resumes where this one stopped. Nothing is chunked or embedded.
//!
//! Documents already indexed with the same content hash are not written
//! again: a rewrite would only wake the indexer for nothing. A document the
//! indexer has not recorded yet (still queued, or failed) is written again,
//! which retries it.
//!
//! Deleted documents: after a complete pass, the source's live ids are
//! compared with the lake's listing, and lake records of vanished documents
//! are deleted (within the sync's deletion safety limit). Deleting a lake
//! record is the deletion signal: on S3 it raises an `ObjectRemoved` event
//! and the indexer removes the document from the store. The store and state
//! are not touched here, so a collector needs no access to them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::Instrument;

use crate::connector::Connector;
use crate::pipeline::sync::{
    checked_records, deletion_refused, put_records, record_run, SyncOptions, SyncParts,
};
use crate::{Error, Result};

/// Settings of a collect run.
#[derive(Debug, Clone, Default)]
pub struct CollectOptions {
    /// Deletion settings (and `stop`) as for a sync.
    pub sync: SyncOptions,
    /// No new batch is fetched after this instant, nor when the slowest
    /// batch so far would not fit before it. The first batch is always
    /// fetched, so every run makes progress.
    pub deadline: Option<Instant>,
    /// No new batch is fetched once this many documents were fetched.
    pub limit: Option<usize>,
}

/// Why a collect run stopped before the source was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectStop {
    /// The time budget ran out.
    Deadline,
    /// The document limit was reached.
    Limit,
}

/// What a collect run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectReport {
    /// The source collected.
    pub source_name: String,
    /// Batches fetched (each one's checkpoint is committed).
    pub batches: usize,
    /// Documents fetched.
    pub fetched: usize,
    /// Documents written to the lake.
    pub written: usize,
    /// Documents not written because they are indexed with the same content.
    pub unchanged: usize,
    /// Lake records deleted because their documents vanished from the source.
    pub deleted: usize,
    /// True when the source said it is done (and deletion sync ran).
    pub complete: bool,
    /// Why the run stopped early, when it did.
    pub stopped: Option<CollectStop>,
    /// Deletions refused by the safety limit, with the reason.
    pub warnings: Vec<String>,
    /// How long the run took.
    pub elapsed: Duration,
}

/// Collects one source into the lake; records the run in the state store.
pub(crate) async fn collect_source(
    parts: &SyncParts<'_>,
    connector: &Arc<dyn Connector>,
    options: &CollectOptions,
) -> Result<CollectReport> {
    let name = connector.name().to_string();
    let started_at = Utc::now();
    let mut report = CollectReport {
        source_name: name.clone(),
        ..CollectReport::default()
    };
    let outcome = run(parts, connector, options, &mut report)
        .instrument(tracing::info_span!("collect", source = %name))
        .await;
    // `written` documents are handed to the indexer, which indexes them as
    // their lake events arrive. A failed history write must not hide the
    // run's own error.
    let recorded = record_run(
        parts.state,
        name,
        started_at,
        &outcome,
        report.written,
        report.deleted,
    )
    .await;
    outcome?;
    recorded?;
    Ok(report)
}

async fn run(
    parts: &SyncParts<'_>,
    connector: &Arc<dyn Connector>,
    options: &CollectOptions,
    report: &mut CollectReport,
) -> Result<()> {
    let name = connector.name().to_string();
    let started = Instant::now();
    let mut checkpoint = parts.state.checkpoint(&name).await?;
    let mut slowest = Duration::ZERO;
    loop {
        if report.batches > 0 {
            if let Some(stop) = stop_before_batch(options, report.fetched, slowest) {
                tracing::info!(?stop, batches = report.batches, "collect stopped early");
                report.stopped = Some(stop);
                break;
            }
            if options.sync.stop_requested() {
                report.elapsed = started.elapsed();
                return Err(Error::Cancelled);
            }
        }
        let batch_started = Instant::now();
        let batch = connector
            .fetch(checkpoint.as_ref())
            .instrument(tracing::info_span!("fetch"))
            .await?;
        report.fetched += batch.documents.len();
        write_batch(parts, &name, batch.documents, report).await?;
        parts
            .state
            .commit_checkpoint(&name, &batch.checkpoint)
            .await?;
        report.batches += 1;
        slowest = slowest.max(batch_started.elapsed());
        if batch.done {
            report.complete = true;
            break;
        }
        checkpoint = Some(batch.checkpoint);
    }
    // Listing every live id can take as long as a batch; only a run that
    // finished its pass with time to spare removes what vanished.
    let time_left = stop_before_batch(options, 0, slowest).is_none();
    if report.complete && options.sync.delete_missing && time_left {
        delete_vanished(parts, connector, &options.sync, report).await?;
    }
    report.elapsed = started.elapsed();
    Ok(())
}

/// Whether the run should stop instead of fetching another batch.
fn stop_before_batch(
    options: &CollectOptions,
    fetched: usize,
    slowest: Duration,
) -> Option<CollectStop> {
    if options.limit.is_some_and(|limit| fetched >= limit) {
        return Some(CollectStop::Limit);
    }
    let deadline = options.deadline?;
    let now = Instant::now();
    if now >= deadline || deadline.duration_since(now) < slowest {
        return Some(CollectStop::Deadline);
    }
    None
}

/// Writes the changed documents of one batch to the lake.
async fn write_batch(
    parts: &SyncParts<'_>,
    source_name: &str,
    documents: Vec<crate::connector::SourceDocument>,
    report: &mut CollectReport,
) -> Result<()> {
    if documents.is_empty() {
        return Ok(());
    }
    let records = checked_records(source_name, documents)?;
    let ids: Vec<String> = records.iter().map(|r| r.document.id.clone()).collect();
    let indexed = parts.state.document_hashes(source_name, &ids).await?;
    let changed: Vec<&crate::connector::SourceDocument> = records
        .iter()
        .filter(|record| indexed.get(&record.document.id) != Some(&record.document.content_hash))
        .collect();
    report.unchanged += records.len() - changed.len();
    put_records(parts.lake, &changed).await?;
    report.written += changed.len();
    Ok(())
}

/// Deletes the lake records of documents the source no longer lists.
async fn delete_vanished(
    parts: &SyncParts<'_>,
    connector: &Arc<dyn Connector>,
    options: &SyncOptions,
    report: &mut CollectReport,
) -> Result<()> {
    let name = connector.name();
    let live: HashSet<String> = connector
        .list_ids()
        .instrument(tracing::info_span!("list_ids"))
        .await?
        .into_iter()
        .collect();
    let stored = parts.lake.list(name).await?;
    let vanished: Vec<&String> = stored.iter().filter(|id| !live.contains(*id)).collect();
    if vanished.is_empty() {
        return Ok(());
    }
    if let Some(warning) = deletion_refused(name, vanished.len(), stored.len(), options) {
        tracing::warn!("{warning}");
        report.warnings.push(warning);
        return Ok(());
    }
    async {
        for id in &vanished {
            parts.lake.delete(name, id).await?;
            report.deleted += 1;
        }
        Ok::<_, Error>(())
    }
    .instrument(tracing::info_span!("delete", documents = vanished.len()))
    .await
}
