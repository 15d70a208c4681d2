//! Builds each stage `vaultiq.toml` names. One function per stage, each a
//! `match` on its `kind`, so adding an implementation is one arm here and
//! one name in [`available`].

use std::path::Path;
use std::sync::Arc;

use super::Config;
use crate::answerer::{Answerer, ExtractiveAnswerer};
use crate::chunker::ChunkLength;
use crate::connector::SecretProvider;
use crate::embedder::Embedder;
use crate::lake::{FsLake, Lake};
use crate::state::{SqliteStateStore, StateStore};
use crate::{Error, Result};

/// The `kind`s of each stage this build offers, and every kind that exists.
pub(super) fn available(stage: &str) -> (Vec<&'static str>, &'static [&'static str]) {
    let mut here = Vec::new();
    let all: &'static [&'static str] = match stage {
        "embedder" => {
            here.push("local");
            #[cfg(feature = "aws-bedrock")]
            here.push("bedrock");
            &["local", "bedrock"]
        }
        "answerer" => {
            here.push("extractive");
            #[cfg(feature = "aws-bedrock")]
            here.push("bedrock");
            &["extractive", "bedrock"]
        }
        "lake" => {
            here.push("fs");
            #[cfg(feature = "aws-s3")]
            here.push("s3");
            &["fs", "s3"]
        }
        "state" => {
            here.push("sqlite");
            #[cfg(feature = "aws-dynamodb")]
            here.push("dynamodb");
            &["sqlite", "dynamodb"]
        }
        _ => &[],
    };
    (here, all)
}

/// The embedder of `[embedder]`, and the token counter a `length =
/// "tokens"` chunker should use with it (`None`: the model offers none).
pub(super) fn embedder(config: &Config) -> Result<(Arc<dyn Embedder>, Option<ChunkLength>)> {
    match config.embedder.kind.as_str() {
        "local" => {
            let embedder = config.local_embedder()?;
            let tokens = ChunkLength::Tokens(embedder.token_length());
            Ok((Arc::new(embedder), Some(tokens)))
        }
        #[cfg(feature = "aws-bedrock")]
        "bedrock" => Ok((Arc::new(bedrock_embedder(config)?), None)),
        other => Err(unavailable("embedder.kind", other)),
    }
}

/// The answerer of `[answerer]`.
pub(super) fn answerer(config: &Config) -> Result<Arc<dyn Answerer>> {
    match config.answerer.kind.as_str() {
        "extractive" => {
            let mut answerer = ExtractiveAnswerer::default();
            if let Some(min) = config.answerer.min_relevance {
                answerer = answerer.with_min_relevance(min);
            }
            Ok(Arc::new(answerer))
        }
        #[cfg(feature = "aws-bedrock")]
        "bedrock" => Ok(Arc::new(bedrock_answerer(config)?)),
        other => Err(unavailable("answerer.kind", other)),
    }
}

/// `[embedder] kind = "bedrock"`: Titan through the `[aws]` settings.
#[cfg(feature = "aws-bedrock")]
fn bedrock_embedder(config: &Config) -> Result<crate::embedder::BedrockEmbedder> {
    let section = &config.embedder;
    let settings =
        crate::aws::AwsSettings::from_config(&config.aws, section.endpoint_url.as_deref());
    let mut builder = crate::embedder::BedrockEmbedder::builder().settings(settings);
    if let Some(model) = &section.model_id {
        builder = builder.model_id(model);
    }
    if let Some(dimensions) = section.dimensions {
        builder = builder.dimensions(dimensions);
    }
    if let Some(normalize) = section.normalize {
        builder = builder.normalize(normalize);
    }
    if let Some(concurrency) = section.concurrency {
        builder = builder.concurrency(concurrency);
    }
    if let Some(attempts) = section.max_attempts {
        builder = builder.max_attempts(attempts);
    }
    builder.build()
}

/// `[answerer] kind = "bedrock"`: a Converse chat model through the `[aws]` settings.
#[cfg(feature = "aws-bedrock")]
fn bedrock_answerer(config: &Config) -> Result<crate::answerer::BedrockAnswerer> {
    let section = &config.answerer;
    let settings =
        crate::aws::AwsSettings::from_config(&config.aws, section.endpoint_url.as_deref());
    let mut builder = crate::answerer::BedrockAnswerer::builder().settings(settings);
    if let Some(model) = &section.model_id {
        builder = builder.model_id(model);
    }
    if let Some(max) = section.max_tokens {
        builder = builder.max_tokens(max);
    }
    if let Some(temperature) = section.temperature {
        builder = builder.temperature(temperature);
    }
    if let Some(prompt) = &section.system_prompt {
        builder = builder.system_prompt(prompt);
    }
    if let Some(min) = section.min_relevance {
        builder = builder.min_relevance(min);
    }
    if let Some(attempts) = section.max_attempts {
        builder = builder.max_attempts(attempts);
    }
    builder.build()
}

/// The raw lake of `[lake]`.
pub(super) fn lake(config: &Config, data_dir: &Path) -> Result<Arc<dyn Lake>> {
    match config.lake.kind.as_str() {
        "fs" => Ok(Arc::new(FsLake::new(data_dir.join("lake")))),
        other => Err(unavailable("lake.kind", other)),
    }
}

/// The sync state store of `[state]`.
pub(super) fn state(config: &Config, data_dir: &Path) -> Result<Arc<dyn StateStore>> {
    match config.state.kind.as_str() {
        "sqlite" => Ok(Arc::new(SqliteStateStore::open(data_dir)?)),
        other => Err(unavailable("state.kind", other)),
    }
}

/// What serves `credentials = { secret = "..." }` entries in this build.
pub(super) fn secret_provider(_config: &Config) -> Option<Arc<dyn SecretProvider>> {
    crate::connector::settings::default_secret_provider()
}

fn unavailable(key: &str, kind: &str) -> Error {
    Error::Config(format!(
        "`{key} = \"{kind}\"` is not available in this build of VaultIQ"
    ))
}
