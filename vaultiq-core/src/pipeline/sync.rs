//! The sync pipeline: checkpoint -> fetch batch -> raw lake -> skip
//! unchanged -> chunk -> embed -> upsert -> record hashes -> commit
//! checkpoint; then remove documents that vanished from the source.
//!
//! Each step is idempotent and the checkpoint is committed last, so a crash
//! anywhere means the next run repeats at most one batch, and repeating a
//! batch replaces chunks instead of adding them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::Instrument;

use crate::chunker::Chunker;
use crate::connector::{Connector, SourceDocument};
use crate::embedder::{EmbedKind, Embedder};
use crate::lake::Lake;
use crate::pipeline::failpoint::{self, Failpoint};
use crate::state::{StateStore, SyncRun};
use crate::store::{IndexedDocument, VectorStore};
use crate::{Error, Result};

/// Lake writes of one batch that may be in flight at once.
const LAKE_WRITES_IN_FLIGHT: usize = 16;

/// Settings of a sync run.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Remove indexed documents that the source no longer lists (default on).
    pub delete_missing: bool,
    /// Refuse to delete more than this share of a source's documents in one
    /// run (default 0.2), unless `force_delete`. A source that suddenly lists
    /// nothing is far more often a broken API or mount than a real purge.
    pub max_delete_share: f64,
    /// Deleting this many documents or fewer is always allowed (default 5),
    /// so small collections can shrink normally.
    pub delete_allowance: usize,
    /// Delete whatever vanished, whatever its share.
    pub force_delete: bool,
    /// When set, the run stops with [`Error::Cancelled`] after the batch
    /// in progress is durably indexed (how Ctrl-C stops a sync cleanly).
    pub stop: Option<Arc<AtomicBool>>,
    /// Test-only: fail at this stage boundary.
    #[cfg(feature = "failpoints")]
    pub failpoint: Option<Failpoint>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            delete_missing: true,
            max_delete_share: 0.2,
            delete_allowance: 5,
            force_delete: false,
            stop: None,
            #[cfg(feature = "failpoints")]
            failpoint: None,
        }
    }
}

impl SyncOptions {
    /// True once a stop was requested through [`SyncOptions::stop`].
    pub fn stop_requested(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::SeqCst))
    }

    pub(crate) fn failpoint(&self) -> Option<Failpoint> {
        #[cfg(feature = "failpoints")]
        {
            self.failpoint
        }
        #[cfg(not(feature = "failpoints"))]
        {
            None
        }
    }
}

/// Progress of a running sync, reported after every batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncProgress {
    /// Source being synced.
    pub source_name: String,
    /// Documents fetched so far.
    pub fetched: usize,
    /// Documents (re)indexed so far.
    pub indexed: usize,
    /// Documents skipped because their content did not change.
    pub unchanged: usize,
    /// Chunks written so far.
    pub chunks: usize,
    /// Documents removed because they vanished from the source.
    pub deleted: usize,
    /// Documents the run will go through, when known in advance (reindex
    /// knows it; a source sync does not), so progress can show an ETA.
    pub total: Option<usize>,
    /// Time since the source's sync started.
    pub elapsed: Duration,
    /// True on the last report of the source.
    pub finished: bool,
}

impl SyncProgress {
    /// Documents fetched per second so far.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.fetched as f64 / secs
        } else {
            0.0
        }
    }
}

/// What a sync did, per source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// One entry per synced source.
    pub sources: Vec<SyncProgress>,
    /// Deletions that were refused by the safety limit, with the reason.
    pub warnings: Vec<String>,
}

impl SyncReport {
    /// Documents indexed across sources.
    pub fn indexed(&self) -> usize {
        self.sources.iter().map(|s| s.indexed).sum()
    }

    /// Documents removed across sources.
    pub fn deleted(&self) -> usize {
        self.sources.iter().map(|s| s.deleted).sum()
    }
}

/// The parts a sync needs.
pub(crate) struct SyncParts<'a> {
    pub chunker: &'a dyn Chunker,
    pub embedder: &'a dyn Embedder,
    pub store: &'a dyn VectorStore,
    pub lake: &'a dyn Lake,
    pub state: &'a dyn StateStore,
}

/// Syncs one source; records the run's outcome in the state store.
pub(crate) async fn sync_source(
    parts: &SyncParts<'_>,
    connector: &Arc<dyn Connector>,
    options: &SyncOptions,
    report: &mut SyncReport,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
) -> Result<()> {
    let name = connector.name().to_string();
    let span = tracing::info_span!("sync", source = %name);
    let started_at = Utc::now();
    let mut current = SyncProgress {
        source_name: name.clone(),
        ..SyncProgress::default()
    };
    let outcome = run(parts, connector, options, report, &mut current, progress)
        .instrument(span)
        .await;
    let recorded = record_run(
        parts.state,
        name,
        started_at,
        &outcome,
        current.indexed,
        current.deleted,
    )
    .await;
    report.sources.push(current);
    // A failed history write must not hide the sync's own error.
    outcome?;
    recorded
}

/// Appends one run of a source to the state's history; `outcome` is the
/// run's result, recorded as `ok` or its error text.
pub(super) async fn record_run(
    state: &dyn StateStore,
    source_name: String,
    started_at: chrono::DateTime<Utc>,
    outcome: &Result<()>,
    indexed: usize,
    deleted: usize,
) -> Result<()> {
    let run = SyncRun {
        source_name,
        started_at,
        finished_at: Utc::now(),
        outcome: match outcome {
            Ok(()) => "ok".to_string(),
            Err(e) => e.to_string(),
        },
        indexed,
        deleted,
    };
    state.record_run(&run).await
}

async fn run(
    parts: &SyncParts<'_>,
    connector: &Arc<dyn Connector>,
    options: &SyncOptions,
    report: &mut SyncReport,
    current: &mut SyncProgress,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
) -> Result<()> {
    let name = connector.name().to_string();
    let started = Instant::now();
    let mut checkpoint = parts.state.checkpoint(&name).await?;
    // Batch N is fetched, chunked and embedded while batch N-1 is written
    // to the store and checkpointed, so the embedder (the slow stage) never
    // waits for storage. Checkpoints still commit in order, each only after
    // its own batch is durably indexed.
    let mut pending: Option<PreparedBatch> = None;
    loop {
        let batch = connector
            .fetch(checkpoint.as_ref())
            .instrument(tracing::info_span!("fetch"))
            .await?;
        current.fetched += batch.documents.len();
        let in_flight: HashMap<String, String> = pending
            .as_ref()
            .map(|p| {
                p.documents
                    .iter()
                    .map(|d| (d.document.id.clone(), d.document.content_hash.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let (prepared, stored) = tokio::join!(
            prepare_batch(parts, &name, batch.documents, &in_flight, options),
            store_batch(parts, &name, pending.take(), options),
        );
        if let Some(stored) = stored? {
            record_progress(current, &stored, started, progress);
        }
        let (documents, unchanged) = prepared?;
        current.unchanged += unchanged;
        pending = Some(PreparedBatch {
            documents,
            checkpoint: batch.checkpoint.clone(),
        });
        if batch.done {
            break;
        }
        if options.stop_requested() {
            // Store and checkpoint what is already embedded, so the next run
            // resumes after it.
            if let Some(stored) = store_batch(parts, &name, pending.take(), options).await? {
                record_progress(current, &stored, started, progress);
            }
            return Err(Error::Cancelled);
        }
        checkpoint = Some(batch.checkpoint);
    }
    if let Some(stored) = store_batch(parts, &name, pending.take(), options).await? {
        record_progress(current, &stored, started, progress);
    }
    if options.delete_missing {
        delete_vanished(parts, connector, options, report, current).await?;
    }
    current.elapsed = started.elapsed();
    current.finished = true;
    progress(current);
    Ok(())
}

/// A fetched batch, embedded and ready to be stored, with the checkpoint
/// to commit once it is.
struct PreparedBatch {
    documents: Vec<IndexedDocument>,
    checkpoint: crate::connector::Checkpoint,
}

/// What storing one batch added.
struct StoredBatch {
    documents: usize,
    chunks: usize,
}

fn record_progress(
    current: &mut SyncProgress,
    stored: &StoredBatch,
    started: Instant,
    progress: &(dyn Fn(&SyncProgress) + Send + Sync),
) {
    current.indexed += stored.documents;
    current.chunks += stored.chunks;
    current.elapsed = started.elapsed();
    progress(current);
}

/// Writes a prepared batch to the store, records its hashes, then commits
/// its checkpoint: the only order in which a crash loses nothing.
async fn store_batch(
    parts: &SyncParts<'_>,
    source_name: &str,
    batch: Option<PreparedBatch>,
    options: &SyncOptions,
) -> Result<Option<StoredBatch>> {
    let Some(batch) = batch else {
        return Ok(None);
    };
    let stored = store_documents(parts, source_name, &batch.documents, options).await?;
    failpoint::check(options.failpoint(), Failpoint::BeforeCheckpoint)?;
    parts
        .state
        .commit_checkpoint(source_name, &batch.checkpoint)
        .await?;
    Ok(Some(stored))
}

/// Upserts embedded documents, then records their hashes (after the upsert,
/// so a crash between the two re-embeds rather than skips).
async fn store_documents(
    parts: &SyncParts<'_>,
    source_name: &str,
    indexed: &[IndexedDocument],
    options: &SyncOptions,
) -> Result<StoredBatch> {
    if !indexed.is_empty() {
        parts.store.upsert(indexed).await?;
        failpoint::check(options.failpoint(), Failpoint::AfterUpsert)?;
        let hashes: Vec<(String, String)> = indexed
            .iter()
            .map(|i| (i.document.id.clone(), i.document.content_hash.clone()))
            .collect();
        parts.state.record_documents(source_name, &hashes).await?;
    }
    Ok(StoredBatch {
        documents: indexed.len(),
        chunks: indexed.iter().map(|i| i.chunks.len()).sum(),
    })
}

/// Lake write, change detection, chunking and embedding of one batch.
/// `in_flight` holds the ids and hashes of the batch being stored
/// meanwhile: for those, the recorded hash is about to change, so they are
/// compared with the in-flight version instead. Returns the documents to
/// store and how many were unchanged.
async fn prepare_batch(
    parts: &SyncParts<'_>,
    source_name: &str,
    documents: Vec<SourceDocument>,
    in_flight: &HashMap<String, String>,
    options: &SyncOptions,
) -> Result<(Vec<IndexedDocument>, usize)> {
    if documents.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let records = checked_records(source_name, documents)?;
    put_records(parts.lake, &records).await?;
    failpoint::check(options.failpoint(), Failpoint::AfterLakeWrite)?;

    let ids: Vec<String> = records.iter().map(|r| r.document.id.clone()).collect();
    let known = parts.state.document_hashes(source_name, &ids).await?;
    // A batch may hold the same document twice (overlap windows); keep the last.
    let mut seen = HashSet::new();
    let mut changed = Vec::new();
    let mut unchanged = 0;
    for record in records.into_iter().rev() {
        let doc = record.document;
        if !seen.insert(doc.id.clone()) {
            continue;
        }
        let stored_hash = in_flight.get(&doc.id).or_else(|| known.get(&doc.id));
        if stored_hash == Some(&doc.content_hash) {
            unchanged += 1;
        } else {
            changed.push(doc);
        }
    }
    changed.reverse();
    Ok((embed_documents(parts, changed, options).await?, unchanged))
}

/// The fetched records of `source_name`, each with a content hash computed
/// here; a record of another source is a connector bug and fails the batch.
pub(crate) fn checked_records(
    source_name: &str,
    mut records: Vec<SourceDocument>,
) -> Result<Vec<SourceDocument>> {
    for record in &mut records {
        if record.document.source_name != source_name {
            return Err(Error::Source {
                source_name: source_name.to_string(),
                message: format!(
                    "connector returned document `{}` of source `{}`",
                    record.document.id, record.document.source_name
                ),
                retryable: false,
            });
        }
        // Never trust a connector's hash: it decides what gets re-embedded.
        record.document.content_hash = record.document.compute_hash();
    }
    Ok(records)
}

/// Writes `records` to the lake with several writes in flight: an
/// object-store lake (S3) pays a round trip per record, which in series
/// would dominate the run. (Groups of boxed futures rather than a stream
/// combinator, which would make the caller's future lose `Send` for
/// callers that spawn it.)
pub(crate) async fn put_records<R>(lake: &dyn Lake, records: &[R]) -> Result<()>
where
    R: std::borrow::Borrow<SourceDocument> + Sync,
{
    async {
        for group in records.chunks(LAKE_WRITES_IN_FLIGHT) {
            futures::future::try_join_all(group.iter().map(|record| lake.put(record.borrow())))
                .await?;
        }
        Ok::<_, Error>(())
    }
    .instrument(tracing::info_span!("lake", documents = records.len()))
    .await
}

/// Chunks, embeds and stores documents, then records their hashes: the
/// indexing path reindex shares with sync (without the pipelining).
pub(crate) async fn index_documents(
    parts: &SyncParts<'_>,
    source_name: &str,
    documents: Vec<crate::Document>,
    options: &SyncOptions,
    current: &mut SyncProgress,
) -> Result<()> {
    let indexed = embed_documents(parts, documents, options).await?;
    let stored = store_documents(parts, source_name, &indexed, options).await?;
    current.indexed += stored.documents;
    current.chunks += stored.chunks;
    Ok(())
}

/// Chunks and embeds documents (the embedding cache sits inside the embedder).
async fn embed_documents(
    parts: &SyncParts<'_>,
    changed: Vec<crate::Document>,
    options: &SyncOptions,
) -> Result<Vec<IndexedDocument>> {
    if changed.is_empty() {
        return Ok(Vec::new());
    }

    let chunked: Vec<(crate::Document, Vec<crate::Chunk>)> = {
        let _span = tracing::info_span!("chunk", documents = changed.len()).entered();
        changed
            .into_iter()
            .map(|doc| parts.chunker.chunk(&doc).map(|chunks| (doc, chunks)))
            .collect::<Result<_>>()?
    };
    let texts: Vec<String> = chunked
        .iter()
        .flat_map(|(doc, chunks)| chunks.iter().map(|c| c.indexed_text(&doc.title)))
        .collect();
    let mut vectors = parts
        .embedder
        .embed(&texts, EmbedKind::Document)
        .instrument(tracing::info_span!("embed", chunks = texts.len()))
        .await?
        .into_iter();
    if vectors.len() != texts.len() {
        return Err(Error::model(format!(
            "embedder returned {} vectors for {} chunks",
            vectors.len(),
            texts.len()
        )));
    }
    failpoint::check(options.failpoint(), Failpoint::AfterEmbed)?;

    let indexed: Vec<IndexedDocument> = chunked
        .into_iter()
        .map(|(document, chunks)| {
            let vectors = vectors.by_ref().take(chunks.len()).collect();
            IndexedDocument {
                document,
                chunks,
                vectors,
            }
        })
        .collect();
    Ok(indexed)
}

/// The warning to give instead of deleting `vanished` of `known` documents
/// of a source when that breaks the safety limit of `options`; `None` when
/// the deletion may go ahead. Shared with the collect pipeline.
pub(crate) fn deletion_refused(
    name: &str,
    vanished: usize,
    known: usize,
    options: &SyncOptions,
) -> Option<String> {
    let share = vanished as f64 / known.max(1) as f64;
    if options.force_delete
        || vanished <= options.delete_allowance
        || share <= options.max_delete_share
    {
        return None;
    }
    Some(format!(
        "source `{name}`: {vanished} of {known} documents vanished ({:.0}%), more than the {:.0}% allowed in one run; \
         nothing was deleted. Check the source, then sync with force to delete them.",
        share * 100.0,
        options.max_delete_share * 100.0
    ))
}

async fn delete_vanished(
    parts: &SyncParts<'_>,
    connector: &Arc<dyn Connector>,
    options: &SyncOptions,
    report: &mut SyncReport,
    current: &mut SyncProgress,
) -> Result<()> {
    let name = connector.name();
    let live: HashSet<String> = connector
        .list_ids()
        .instrument(tracing::info_span!("list_ids"))
        .await?
        .into_iter()
        .collect();
    let indexed = parts.state.document_ids(name).await?;
    let vanished: Vec<String> = indexed
        .iter()
        .filter(|id| !live.contains(*id))
        .cloned()
        .collect();
    if vanished.is_empty() {
        return Ok(());
    }
    if let Some(warning) = deletion_refused(name, vanished.len(), indexed.len(), options) {
        tracing::warn!("{warning}");
        report.warnings.push(warning);
        return Ok(());
    }
    async {
        parts.store.delete(&vanished).await?;
        parts.state.forget_documents(name, &vanished).await?;
        for id in &vanished {
            parts.lake.delete(name, id).await?;
        }
        Ok::<_, Error>(())
    }
    .instrument(tracing::info_span!("delete", documents = vanished.len()))
    .await?;
    current.deleted += vanished.len();
    Ok(())
}
