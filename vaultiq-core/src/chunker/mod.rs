//! Chunkers split documents into passages for embedding and retrieval.

mod markdown;
mod recursive;
mod recursive_split;

pub use markdown::{markdown_sections, Section};
pub use recursive::{ChunkLength, RecursiveChunker, RecursiveChunkerBuilder};
pub use recursive_split::{CharLength, LengthFunction, RecursiveTextSplitter};

use crate::{Chunk, Document, Result};

/// Splits a document into chunks.
pub trait Chunker: Send + Sync {
    /// The chunks of `document`, in order, with ids `{document id}#{ordinal}`.
    fn chunk(&self, document: &Document) -> Result<Vec<Chunk>>;

    /// A short description of the settings; part of the reindex decision.
    fn fingerprint(&self) -> String;
}
