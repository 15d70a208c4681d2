//! Vector stores: chunks with vectors, keyword and nearest-neighbour search.
//!
//! Stores return one ranked list per retriever; fusing them into the hybrid
//! ranking happens in [`fusion`], in core code, so every store ranks alike.

mod batch;
mod embedded;
mod from_config;
pub mod fusion;
#[cfg(feature = "aws-opensearch")]
mod opensearch;
#[cfg(feature = "pgvector")]
mod pgvector;

pub use embedded::EmbeddedStore;
pub use embedded::{EmbeddedStoreOptions, VectorIndexInfo};
pub(crate) use from_config::from_config;
#[cfg(feature = "aws-opensearch")]
pub use opensearch::{OpenSearchAuth, OpenSearchStore, OpenSearchStoreBuilder, SpaceType};
#[cfg(feature = "pgvector")]
pub use pgvector::{PgVectorStore, PgVectorStoreBuilder};

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Chunk, Document, DocumentSummary, Result, SourceType};

/// A document ready for the index: its chunks and one vector per chunk.
#[derive(Debug, Clone)]
pub struct IndexedDocument {
    /// The document.
    pub document: Document,
    /// Its chunks, in order.
    pub chunks: Vec<Chunk>,
    /// `vectors[i]` embeds `chunks[i].indexed_text(..)`.
    pub vectors: Vec<Vec<f32>>,
}

/// Restricts a search. Empty fields restrict nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only these source types.
    pub source_types: Vec<SourceType>,
    /// Only documents whose metadata has all these key/value pairs.
    pub metadata: BTreeMap<String, String>,
    /// Only documents updated at or after this time.
    pub updated_after: Option<DateTime<Utc>>,
    /// Only documents updated before this time.
    pub updated_before: Option<DateTime<Utc>>,
    /// Only documents readable by one of these principals (documents
    /// without an ACL are readable by everyone).
    pub principals: Option<Vec<String>>,
}

impl Filter {
    /// True when the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.source_types.is_empty()
            && self.metadata.is_empty()
            && self.updated_after.is_none()
            && self.updated_before.is_none()
            && self.principals.is_none()
    }
}

/// One entry of a retriever's ranked list.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredHit {
    /// The chunk.
    pub chunk: Chunk,
    /// Its document.
    pub document: DocumentSummary,
    /// The retriever's score (higher is better).
    pub score: f32,
    /// The chunk's vector, so relevance can be computed for keyword hits.
    pub vector: Option<Vec<f32>>,
}

/// Persistent index of chunks, vectors and keyword postings.
#[async_trait]
pub trait VectorStore: Send + Sync {
    /// Inserts documents, replacing every chunk a document had before, all
    /// in one atomic write.
    async fn upsert(&self, documents: &[IndexedDocument]) -> Result<()>;

    /// Removes documents and all their chunks, atomically. Unknown ids are fine.
    async fn delete(&self, document_ids: &[String]) -> Result<()>;

    /// The `k` chunks nearest to `query` (normalised), best first.
    async fn vector_search(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>>;

    /// The `k` best BM25 matches of `query`, best first.
    async fn keyword_search(
        &self,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>>;

    /// Number of documents per source type.
    async fn count_by_source(&self) -> Result<BTreeMap<SourceType, usize>>;

    /// Number of chunks in the index.
    async fn chunk_count(&self) -> Result<usize>;
}
