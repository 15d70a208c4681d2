//! Embedders turn text into vectors.

#[cfg(feature = "aws-bedrock")]
mod bedrock;
mod bert;
mod cache;
mod local;

#[cfg(feature = "aws-bedrock")]
pub use bedrock::{
    BedrockEmbedder, BedrockEmbedderBuilder, MAX_INPUT_CHARS, MAX_INPUT_TOKENS, TITAN_V1,
    TITAN_V1_DIMENSIONS, TITAN_V2, TITAN_V2_DIMENSIONS,
};
pub use cache::CachedEmbedder;
pub use local::{find_model_dir, LocalEmbedder, LocalEmbedderBuilder, DEFAULT_MODEL_NAME};

use async_trait::async_trait;

use crate::Result;

/// Whether a text is a search query or a passage to be searched. Some
/// models embed the two differently (instruction prefixes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmbedKind {
    /// A user's question.
    Query,
    /// A chunk of a document.
    Document,
}

/// Turns texts into vectors of a fixed dimension.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Identifies the model and every setting that changes its vectors; part
    /// of the embedding cache key.
    fn model_id(&self) -> &str;

    /// Length of every vector.
    fn dimension(&self) -> usize;

    /// One vector per text, in order. Batching happens inside.
    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>>;
}
