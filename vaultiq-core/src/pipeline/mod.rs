//! The sync (ingest) and query pipelines.

pub mod failpoint;
pub mod query;
pub mod reindex;
pub mod stream;
pub mod sync;
