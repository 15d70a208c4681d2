//! The BERT encoder forward pass behind VaultIQ's local embedder: token ids
//! in, mean-pooled L2-normalised sentence vectors out, on the CPU.
//!
//! It lives in its own crate so the workspace can build it optimised even in
//! the dev profile (as it does for `gemm` and `tokenizers`): the tests embed
//! real text, and unoptimised numeric loops would make them crawl. Loading
//! files and choosing threads stay in `vaultiq-core`; this crate only
//! computes.
//!
//! Why not a general tensor library: sentence embedding is a fixed graph,
//! and most of its time outside the matrix products went to allocating
//! tensors, padding and unfused element-wise passes. Here weights are laid
//! out once at load, activations live in reused buffers, batches are packed
//! without padding, and the element-wise work is fused and vectorised.

mod encoder;
mod kernels;
mod matmul;
mod weights;

pub use encoder::{Encoder, Scratch};
pub use weights::{BertWeights, EncoderLayer, LayerNorm, Linear};

/// What went wrong: weights that do not fit the dimensions, or input the
/// model cannot take. Permanent either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    pub(crate) fn model(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The sizes and numerics of a BERT encoder (the fields of its `config.json`).
#[derive(Debug, Clone, PartialEq)]
pub struct Dims {
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Longest sequence the position table covers.
    pub max_position_embeddings: usize,
    /// Epsilon of every layer norm.
    pub layer_norm_eps: f64,
}

impl Dims {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }
}
