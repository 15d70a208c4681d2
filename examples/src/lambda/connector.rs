//! The connector function: collects one source into the raw lake
//! ([`KnowledgeBase::collect_source`]: fetch -> lake -> checkpoint; the
//! processing function indexes what lands there).
//!
//! Input, either
//! - an EventBridge scheduled event
//!   (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html>):
//!   the source is the function's `VAULTIQ_SOURCE`; or
//! - `{"source": "eng-wiki", "limit": 10, "force_delete": false}`, every
//!   key optional: a manual invoke (as in the seed) or a rule's constant
//!   input. `limit` caps the documents fetched by this run.
//!
//! Without a named source, a config with exactly one source uses that one.
//!
//! Time budget: no batch is started after the invocation's deadline minus
//! a margin (`VAULTIQ_TIME_MARGIN_SECS`, default 30), nor when the slowest
//! batch so far would not fit; each batch's checkpoint is committed as it
//! lands, so the next scheduled run resumes where this one stopped.

use std::time::{Duration, Instant, SystemTime};

use lambda_runtime::{Context, LambdaEvent};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vaultiq_core::pipeline::collect::{CollectOptions, CollectReport, CollectStop};
use vaultiq_core::{Error, KnowledgeBase, SyncOptions};

use super::HandlerError;

/// Variable naming the function's source.
pub const SOURCE_VAR: &str = "VAULTIQ_SOURCE";
/// Variable overriding [`DEFAULT_MARGIN`], in whole seconds.
pub const MARGIN_VAR: &str = "VAULTIQ_TIME_MARGIN_SECS";
/// Time kept back from the invocation's deadline: room to finish the batch
/// in flight, commit its checkpoint and return.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(30);

/// How the function runs.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// The source when the event names none.
    pub default_source: Option<String>,
    /// Kept back from the invocation deadline.
    pub margin: Duration,
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        ConnectorSettings {
            default_source: None,
            margin: DEFAULT_MARGIN,
        }
    }
}

impl ConnectorSettings {
    /// Settings from the variables `lookup` finds.
    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let margin = match lookup(MARGIN_VAR) {
            None => DEFAULT_MARGIN,
            Some(text) => text.trim().parse().map(Duration::from_secs).map_err(|_| {
                Error::Config(format!(
                    "{MARGIN_VAR} must be a whole number of seconds, got `{text}`"
                ))
            })?,
        };
        Ok(ConnectorSettings {
            default_source: lookup(SOURCE_VAR).filter(|s| !s.is_empty()),
            margin,
        })
    }

    /// Settings from the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }
}

/// The manual-invoke (or constant rule input) shape.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManualInvoke {
    source: Option<String>,
    limit: Option<usize>,
    #[serde(default)]
    force_delete: bool,
}

/// What the function returns.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ConnectorResponse {
    /// The source collected.
    pub source: String,
    /// Batches fetched and checkpointed.
    pub batches: usize,
    /// Documents fetched.
    pub fetched: usize,
    /// Documents written to the lake (each raises an S3 event).
    pub written: usize,
    /// Documents already indexed with the same content, not rewritten.
    pub unchanged: usize,
    /// Lake records deleted because the source no longer has them.
    pub deleted: usize,
    /// True when the source is fully synced; false when the budget or the
    /// limit stopped the run and the next one resumes.
    pub complete: bool,
    /// `deadline` or `limit` when the run stopped early.
    pub stopped: Option<String>,
    /// Refused deletions.
    pub warnings: Vec<String>,
    /// Time the run took.
    pub elapsed_ms: u64,
}

impl From<CollectReport> for ConnectorResponse {
    fn from(report: CollectReport) -> Self {
        ConnectorResponse {
            source: report.source_name,
            batches: report.batches,
            fetched: report.fetched,
            written: report.written,
            unchanged: report.unchanged,
            deleted: report.deleted,
            complete: report.complete,
            stopped: report.stopped.map(|stop| {
                match stop {
                    CollectStop::Deadline => "deadline",
                    CollectStop::Limit => "limit",
                }
                .to_string()
            }),
            warnings: report.warnings,
            elapsed_ms: u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Handles one invocation.
#[tracing::instrument(name = "connector", skip_all, fields(request_id = %event.context.request_id))]
pub async fn handle(
    kb: &KnowledgeBase,
    settings: &ConnectorSettings,
    event: LambdaEvent<Value>,
) -> Result<ConnectorResponse, HandlerError> {
    let request = read_event(event.payload)?;
    let source = match request.source.or_else(|| settings.default_source.clone()) {
        Some(source) => source,
        None => match kb.source_names().as_slice() {
            [only] => only.clone(),
            names => {
                return Err(Error::Config(format!(
                "no source named: pass {{\"source\": \"...\"}} or set {SOURCE_VAR}; configured: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
                .into())
            }
        },
    };
    if request.limit == Some(0) {
        return Err(Error::InvalidInput("`limit` must be at least 1".to_string()).into());
    }
    let options = CollectOptions {
        sync: SyncOptions {
            force_delete: request.force_delete,
            ..SyncOptions::default()
        },
        deadline: deadline(&event.context, settings.margin),
        limit: request.limit,
    };
    let report = kb.collect_source(&source, &options).await?;
    tracing::info!(?report, "collected");
    Ok(ConnectorResponse::from(report))
}

/// A scheduled event carries no parameters; anything else must be the
/// manual-invoke shape.
fn read_event(payload: Value) -> Result<ManualInvoke, Error> {
    let scheduled = payload.get("detail-type").is_some() && payload.get("source").is_some();
    if scheduled {
        let detail_type = payload
            .get("detail-type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        tracing::info!(detail_type, "EventBridge event");
        return Ok(ManualInvoke::default());
    }
    if payload.is_null() {
        return Ok(ManualInvoke::default());
    }
    serde_json::from_value(payload).map_err(|e| {
        Error::InvalidInput(format!(
            "expected an EventBridge scheduled event or {{\"source\": \"NAME\", \"limit\": N}}: {e}"
        ))
    })
}

/// The instant no new batch may start after: the invocation deadline minus
/// `margin` (none when the context has no deadline, as outside Lambda).
pub fn deadline(context: &Context, margin: Duration) -> Option<Instant> {
    if context.deadline == 0 {
        return None;
    }
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    Some(Instant::now() + left.saturating_sub(margin))
}
