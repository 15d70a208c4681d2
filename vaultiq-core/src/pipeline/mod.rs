//! The sync (ingest) and query pipelines.

pub mod collect;
pub mod failpoint;
pub mod lake_index;
pub mod query;
pub mod reindex;
pub mod stream;
pub mod sync;
