//! The raw data lake: one JSON object per document, as fetched.

mod fs;
pub mod key;
#[cfg(feature = "aws-s3")]
mod s3;

pub use fs::FsLake;
#[cfg(feature = "aws-s3")]
pub use s3::{S3Lake, S3LakeBuilder, ServerSideEncryption};

use async_trait::async_trait;

use crate::connector::SourceDocument;
use crate::Result;

/// Stores the normalised document plus the source's raw payload, so the
/// index can be rebuilt (new model, new chunker) without calling sources.
#[async_trait]
pub trait Lake: Send + Sync {
    /// Writes (or replaces) the record of one document. Idempotent.
    async fn put(&self, record: &SourceDocument) -> Result<()>;

    /// Reads one document's record.
    async fn get(&self, source_name: &str, document_id: &str) -> Result<Option<SourceDocument>>;

    /// Ids of every document of one source instance.
    async fn list(&self, source_name: &str) -> Result<Vec<String>>;

    /// Names of every source instance that has records.
    async fn sources(&self) -> Result<Vec<String>>;

    /// Removes one document's record; absent records are fine.
    async fn delete(&self, source_name: &str, document_id: &str) -> Result<()>;
}
