//! Sync state: checkpoints, per-document content hashes, run history.

#[cfg(feature = "aws-dynamodb")]
mod dynamodb;
mod sqlite;

#[cfg(feature = "aws-dynamodb")]
pub use dynamodb::{DynamoDbStateStore, DynamoDbStateStoreBuilder};
pub use sqlite::SqliteStateStore;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::connector::Checkpoint;
use crate::Result;

/// The outcome of one sync run of one source, for `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Source instance name.
    pub source_name: String,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// `ok`, or the error that stopped it.
    pub outcome: String,
    /// Documents indexed (new or changed).
    pub indexed: usize,
    /// Documents removed.
    pub deleted: usize,
}

/// Where the sync pipeline keeps what it knows about each source.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// The last committed checkpoint of a source.
    async fn checkpoint(&self, source_name: &str) -> Result<Option<Checkpoint>>;

    /// Commits a checkpoint; called only after its batch is indexed.
    async fn commit_checkpoint(&self, source_name: &str, checkpoint: &Checkpoint) -> Result<()>;

    /// Forgets a source's checkpoint so the next sync starts over.
    async fn reset_checkpoint(&self, source_name: &str) -> Result<()>;

    /// Content hashes of the given documents that are indexed.
    async fn document_hashes(
        &self,
        source_name: &str,
        document_ids: &[String],
    ) -> Result<HashMap<String, String>>;

    /// Records that documents are indexed with these content hashes.
    async fn record_documents(&self, source_name: &str, hashes: &[(String, String)]) -> Result<()>;

    /// Forgets documents that were removed from the index.
    async fn forget_documents(&self, source_name: &str, document_ids: &[String]) -> Result<()>;

    /// Every indexed document id of a source.
    async fn document_ids(&self, source_name: &str) -> Result<Vec<String>>;

    /// Appends a run to the history.
    async fn record_run(&self, run: &SyncRun) -> Result<()>;

    /// The most recent run of each source.
    async fn last_runs(&self) -> Result<Vec<SyncRun>>;
}
