//! The processing function: S3 event notifications of the lake bucket
//! (`ObjectCreated:*` and `ObjectRemoved:*` under `{prefix}raw/`), sent to
//! the function directly or through an SQS queue, index the documents they
//! name ([`KnowledgeBase::index_lake_documents`]): a record that is there is
//! chunked, embedded and indexed unless its content is already indexed; a
//! record that is gone is removed from the index. Redelivered or reordered
//! events therefore create no duplicates. Objects that are not lake records
//! are skipped with a log line.
//!
//! Failures: through SQS, the messages whose records failed are returned as
//! `batchItemFailures` (the event source mapping needs
//! `ReportBatchItemFailures`), so only they are retried and, after the
//! queue's retries, land in its dead-letter queue. A direct S3 invocation is
//! asynchronous and has no per-record report: any failure fails the whole
//! invocation so Lambda retries it (twice by default, then the function's
//! on-failure destination); records that had succeeded are skipped as
//! unchanged on the retry.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::event::sqs::SqsBatchResponse;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use vaultiq_core::config::Config;
use vaultiq_core::{Error, KnowledgeBase};

use super::s3_event::{self, Origin};
use super::HandlerError;

/// Which lake the function serves.
#[derive(Debug, Clone, Default)]
pub struct ProcessingSettings {
    /// Events of other buckets are skipped (none: every bucket is accepted).
    pub bucket: Option<String>,
    /// The lake's key prefix (records are under `{prefix}raw/`).
    pub prefix: String,
}

impl ProcessingSettings {
    /// The bucket and prefix of `[lake]`.
    pub fn from_config(config: &Config) -> Self {
        ProcessingSettings {
            bucket: config.lake.bucket.clone().filter(|b| !b.is_empty()),
            prefix: config.lake.prefix.clone().unwrap_or_default(),
        }
    }
}

/// What a direct S3 invocation did (SQS invocations answer with the
/// `batchItemFailures` shape instead).
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct ProcessingSummary {
    /// Lake records named by the event (after removing repeats).
    pub records: usize,
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Chunks written.
    pub chunks: usize,
    /// Documents whose content was already indexed.
    pub unchanged: usize,
    /// Documents removed from the index.
    pub deleted: usize,
    /// Records gone that were never indexed.
    pub absent: usize,
    /// Objects that are not lake records.
    pub skipped: usize,
    /// Records that failed.
    pub failed: usize,
}

/// Handles one invocation. Returns the summary for a direct S3 event, or
/// `{"batchItemFailures": [...]}` for an SQS batch.
#[tracing::instrument(name = "processing", skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    kb: &KnowledgeBase,
    settings: &ProcessingSettings,
    event: LambdaEvent<Value>,
) -> Result<Value, HandlerError> {
    let parsed = s3_event::parse(event.payload, settings.bucket.as_deref(), &settings.prefix)
        .map_err(Error::InvalidInput)?;
    let mut summary = ProcessingSummary {
        skipped: parsed.skipped,
        ..ProcessingSummary::default()
    };
    let mut failed: Vec<(Origin, String)> = parsed.unreadable;

    // One indexing call per source: the whole batch is embedded together.
    let mut by_source: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for record in &parsed.records {
        tracing::debug!(event = %record.event_name, source = %record.source_name,
            document = %record.document_id, "lake record event");
        let ids = by_source.entry(record.source_name.as_str()).or_default();
        if !ids.contains(&record.document_id) {
            ids.push(record.document_id.clone());
        }
    }
    for (source, ids) in &by_source {
        summary.records += ids.len();
        match kb.index_lake_documents(source, ids).await {
            Ok(report) => {
                summary.indexed += report.indexed;
                summary.chunks += report.chunks;
                summary.unchanged += report.unchanged;
                summary.deleted += report.deleted;
                summary.absent += report.absent;
                for (id, error) in report.failed {
                    tracing::error!(source = %source, document = %id, error = %error, "record failed");
                    failed.extend(origins_of(&parsed.records, source, &id, &error));
                }
            }
            Err(error) => {
                tracing::error!(source = %source, error = %error, records = ids.len(), "indexing failed");
                for id in ids {
                    failed.extend(origins_of(&parsed.records, source, id, &error));
                }
            }
        }
    }
    summary.failed = failed.len();
    tracing::info!(?summary, "processed");

    if parsed.via_sqs {
        let ids: BTreeSet<String> = failed
            .into_iter()
            .filter_map(|(origin, _)| match origin {
                Origin::Sqs(id) => Some(id),
                Origin::S3(_) => None,
            })
            .collect();
        let mut response = SqsBatchResponse::default();
        response.set_failures(ids);
        return Ok(serde_json::to_value(response)?);
    }
    if let Some((_, first)) = failed.first() {
        return Err(format!(
            "{} of the event's records failed (the invocation fails so Lambda retries it; done records are skipped then); first: {first}",
            failed.len()
        )
        .into());
    }
    Ok(serde_json::to_value(summary)?)
}

/// Every event entry that named `source`/`id`, with the error's text.
fn origins_of(
    records: &[s3_event::RecordRef],
    source: &str,
    id: &str,
    error: &Error,
) -> Vec<(Origin, String)> {
    records
        .iter()
        .filter(|r| r.source_name == source && r.document_id == id)
        .map(|r| (r.origin.clone(), format!("`{source}` / `{id}`: {error}")))
        .collect()
}
