//! all-MiniLM-L6-v2 (or any BERT sentence-transformer with mean pooling)
//! running in process on the crate's own BERT encoder: no server, no network.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use tokenizers::{Tokenizer, TruncationParams};

use crate::chunker::LengthFunction;
use crate::embedder::bert::{BertConfig, BertModel};
use crate::embedder::{EmbedKind, Embedder};
use crate::{Error, Result};

/// The default local model.
pub const DEFAULT_MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Sentence-transformers truncates all-MiniLM-L6-v2 at 256 word pieces;
/// the bundled tokenizer.json says 128, which would silently cut passages.
const DEFAULT_MAX_TOKENS: usize = 256;
const DEFAULT_BATCH_SIZE: usize = 32;
const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Builds a [`LocalEmbedder`].
#[derive(Debug, Clone, Default)]
pub struct LocalEmbedderBuilder {
    model_dir: Option<PathBuf>,
    max_tokens: Option<usize>,
    batch_size: Option<usize>,
    threads: Option<usize>,
}

impl LocalEmbedderBuilder {
    /// Loads the model from this folder instead of searching for it.
    pub fn model_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.model_dir = Some(dir.into());
        self
    }

    /// Truncation length in word pieces (default 256, at most 512).
    pub fn max_tokens(mut self, max_tokens: usize) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Texts per forward pass (default 32).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = Some(batch_size);
        self
    }

    /// Worker threads per batch (default: every available core). Each
    /// thread runs whole texts, so a batch needs at least this many texts
    /// to use them all.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Finds and loads the model.
    pub fn build(self) -> Result<LocalEmbedder> {
        let dir = match self.model_dir {
            Some(dir) => dir,
            None => find_model_dir()?,
        };
        let threads = self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        });
        LocalEmbedder::load(
            &dir,
            self.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            self.batch_size.unwrap_or(DEFAULT_BATCH_SIZE).max(1),
            threads.max(1),
        )
    }
}

/// A BERT sentence embedder: mean pooling over each text's tokens, L2
/// normalised; batches are packed without padding.
#[derive(Clone)]
pub struct LocalEmbedder {
    model: Arc<BertModel>,
    tokenizer: Arc<Tokenizer>,
    dimension: usize,
    model_id: String,
    batch_size: usize,
    model_dir: PathBuf,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("model_id", &self.model_id)
            .field("dimension", &self.dimension)
            .field("model_dir", &self.model_dir)
            .finish()
    }
}

impl LocalEmbedder {
    /// A builder; `LocalEmbedder::builder().build()` finds the default model.
    pub fn builder() -> LocalEmbedderBuilder {
        LocalEmbedderBuilder::default()
    }

    /// The folder the model was loaded from.
    pub fn model_dir(&self) -> &Path {
        &self.model_dir
    }

    /// Counts word pieces (without special tokens), for token-sized chunks.
    pub fn token_length(&self) -> Arc<dyn LengthFunction> {
        Arc::new(TokenLength {
            tokenizer: Arc::clone(&self.tokenizer),
        })
    }

    fn load(dir: &Path, max_tokens: usize, batch_size: usize, threads: usize) -> Result<Self> {
        for file in REQUIRED_FILES {
            if !dir.join(file).is_file() {
                return Err(Error::model(format!(
                    "model folder {} has no {file}; run scripts/fetch-model or point \
                     VAULTIQ_MODEL_DIR at a sentence-transformers folder",
                    dir.display()
                )));
            }
        }
        check_pooling(dir)?;
        let config = BertConfig::from_file(&dir.join("config.json"))?;
        if max_tokens == 0 || max_tokens > config.max_position_embeddings {
            return Err(Error::Config(format!(
                "max_tokens must be 1..={}, got {max_tokens}",
                config.max_position_embeddings
            )));
        }
        let dimension = config.hidden_size;

        let tokenizer_path = dir.join("tokenizer.json");
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path).map_err(|e| {
            Error::model(format!(
                "tokenizer {} is invalid: {e}",
                tokenizer_path.display()
            ))
        })?;
        // The encoder packs texts end to end, so padding would only cost.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..TruncationParams::default()
            }))
            .map_err(|e| Error::model(format!("cannot set truncation: {e}")))?;
        let model = BertModel::load(dir, config, threads)?;
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && !n.chars().all(|c| c.is_ascii_hexdigit()))
            .unwrap_or(DEFAULT_MODEL_NAME);
        Ok(LocalEmbedder {
            model: Arc::new(model),
            tokenizer: Arc::new(tokenizer),
            dimension,
            model_id: format!("local/{name}@{max_tokens}"),
            batch_size,
            model_dir: dir.to_path_buf(),
        })
    }

    /// Embeds texts, blocking the calling thread (which runs one of the
    /// worker threads itself).
    pub fn embed_blocking(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..texts.len()).collect();
        // Similar lengths in one batch split evenly over the workers.
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.batch_size) {
            let inputs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.embed_batch(&inputs)?;
            for (&i, vector) in batch.iter().zip(vectors) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::model(format!("tokenization failed: {e}")))?;
        let ids: Vec<&[u32]> = encodings.iter().map(|e| e.get_ids()).collect();
        self.model.embed(&ids)
    }
}

#[async_trait]
impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    #[tracing::instrument(name = "embed.local", skip_all, fields(texts = texts.len()), err)]
    async fn embed(&self, texts: &[String], _kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let this = self.clone();
        let texts = texts.to_vec();
        tokio::task::spawn_blocking(move || this.embed_blocking(&texts))
            .await
            .map_err(|e| Error::model(format!("embedding task failed: {e}")))?
    }
}

/// Word-piece length of a text, as the model sees it.
struct TokenLength {
    tokenizer: Arc<Tokenizer>,
}

impl LengthFunction for TokenLength {
    fn length(&self, text: &str) -> usize {
        // Count without truncation so long pieces are still split.
        match self.tokenizer.encode_fast(text, false) {
            Ok(encoding) => {
                encoding.get_ids().len()
                    + encoding
                        .get_overflowing()
                        .iter()
                        .map(|o| o.get_ids().len())
                        .sum::<usize>()
            }
            Err(_) => text.chars().count(),
        }
    }
}

/// Refuses models whose sentence-transformers pooling is not mean pooling,
/// since their vectors would be silently wrong.
fn check_pooling(dir: &Path) -> Result<()> {
    let path = dir.join("1_Pooling").join("config.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(());
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::model(format!("pooling config {} is invalid: {e}", path.display())))?;
    if config.get("pooling_mode_mean_tokens") == Some(&serde_json::Value::Bool(false)) {
        return Err(Error::model(format!(
            "{} asks for a pooling other than mean pooling, which this embedder does not implement",
            path.display()
        )));
    }
    Ok(())
}

/// Where to look for the model when no folder is given: `VAULTIQ_MODEL_DIR`,
/// then the cache `scripts/fetch-model` fills (`VAULTIQ_MODEL_CACHE`, else
/// `~/.cache/vaultiq/models`), then the Hugging Face cache.
pub fn find_model_dir() -> Result<PathBuf> {
    let mut tried = Vec::new();
    if let Some(dir) = std::env::var_os("VAULTIQ_MODEL_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".cache")));
    // The same place scripts/fetch-model installs to.
    let model_cache = std::env::var_os("VAULTIQ_MODEL_CACHE")
        .map(PathBuf::from)
        .or_else(|| cache.as_ref().map(|c| c.join("vaultiq").join("models")));
    if let Some(models) = model_cache {
        let dir = models.join(DEFAULT_MODEL_NAME);
        if dir.join("model.safetensors").is_file() {
            return Ok(dir);
        }
        tried.push(dir);
    }
    let hub = std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
        .or_else(|| cache.as_ref().map(|c| c.join("huggingface").join("hub")));
    if let Some(hub) = hub {
        let snapshots = hub
            .join(format!(
                "models--sentence-transformers--{DEFAULT_MODEL_NAME}"
            ))
            .join("snapshots");
        if let Ok(entries) = std::fs::read_dir(&snapshots) {
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("model.safetensors").is_file())
                .collect();
            found.sort();
            if let Some(dir) = found.pop() {
                return Ok(dir);
            }
        }
        tried.push(snapshots);
    }
    let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(Error::model(format!(
        "no local embedding model found (looked in VAULTIQ_MODEL_DIR, {}); run scripts/fetch-model",
        tried.join(", ")
    )))
}
