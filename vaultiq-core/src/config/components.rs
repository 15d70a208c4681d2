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
        #[cfg(feature = "aws-s3")]
        "s3" => Ok(Arc::new(s3_lake(config)?)),
        other => Err(unavailable("lake.kind", other)),
    }
}

/// The sync state store of `[state]`.
pub(super) fn state(config: &Config, data_dir: &Path) -> Result<Arc<dyn StateStore>> {
    match config.state.kind.as_str() {
        "sqlite" => Ok(Arc::new(SqliteStateStore::open(data_dir)?)),
        #[cfg(feature = "aws-dynamodb")]
        "dynamodb" => Ok(Arc::new(dynamodb_state(config)?)),
        other => Err(unavailable("state.kind", other)),
    }
}

/// The S3 lake of `[lake] kind = "s3"` (bucket, prefix, sse, endpoint).
#[cfg(feature = "aws-s3")]
pub(crate) fn s3_lake(config: &Config) -> Result<crate::lake::S3Lake> {
    use crate::lake::{S3Lake, ServerSideEncryption};
    let lake = &config.lake;
    let bucket = lake.bucket.as_deref().ok_or_else(|| {
        Error::Config("`lake.bucket` is required for `lake.kind = \"s3\"`".into())
    })?;
    let sse = match lake.sse.as_deref() {
        Some(mode) => ServerSideEncryption::parse(mode, lake.kms_key_id.as_deref())?,
        None if lake.kms_key_id.is_some() => {
            return Err(Error::Config(
                "`lake.kms_key_id` needs `lake.sse = \"aws:kms\"`".into(),
            ))
        }
        None => ServerSideEncryption::BucketDefault,
    };
    S3Lake::builder(bucket)
        .prefix(lake.prefix.clone().unwrap_or_default())
        .sse(sse)
        .settings(crate::aws::AwsSettings::from_config(
            &config.aws,
            lake.endpoint_url.as_deref(),
        ))
        .build()
}

/// The DynamoDB state store of `[state] kind = "dynamodb"`; also what
/// `vaultiq init --create-table` creates the table with.
#[cfg(feature = "aws-dynamodb")]
pub(crate) fn dynamodb_state(config: &Config) -> Result<crate::state::DynamoDbStateStore> {
    let state = &config.state;
    let table = state.table.as_deref().ok_or_else(|| {
        Error::Config("`state.table` is required for `state.kind = \"dynamodb\"`".into())
    })?;
    crate::state::DynamoDbStateStore::builder(table)
        .namespace(state.namespace.clone().unwrap_or_default())
        .settings(crate::aws::AwsSettings::from_config(
            &config.aws,
            state.endpoint_url.as_deref(),
        ))
        .build()
}

/// What serves `credentials = { secret = "..." }` entries in this build:
/// AWS Secrets Manager with `[aws]` + `[secrets]` settings when the
/// `aws-secrets` feature is on.
pub(super) fn secret_provider(config: &Config) -> Option<Arc<dyn SecretProvider>> {
    #[cfg(feature = "aws-secrets")]
    {
        let mut builder = crate::connector::SecretsManagerProvider::builder().settings(
            crate::aws::AwsSettings::from_config(
                &config.aws,
                config.secrets.endpoint_url.as_deref(),
            ),
        );
        if let Some(secs) = config.secrets.ttl_seconds {
            builder = builder.ttl(std::time::Duration::from_secs(secs));
        }
        Some(Arc::new(builder.build()))
    }
    #[cfg(not(feature = "aws-secrets"))]
    {
        let _ = config;
        crate::connector::settings::default_secret_provider()
    }
}

#[cfg(feature = "aws-dynamodb")]
impl Config {
    /// Creates the DynamoDB table `[state]` names (PAY_PER_REQUEST, `pk` +
    /// `sk` string keys) and waits until it is active; true when created
    /// now, false when it already existed with that key schema.
    pub async fn create_state_table(&self) -> Result<bool> {
        dynamodb_state(self)?.create_table().await
    }
}

fn unavailable(key: &str, kind: &str) -> Error {
    Error::Config(format!(
        "`{key} = \"{kind}\"` is not available in this build of VaultIQ"
    ))
}

#[cfg(all(test, feature = "aws-s3", feature = "aws-dynamodb"))]
mod aws_tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse_with_env(text, "vaultiq.toml", &|_| None)
    }

    #[test]
    fn aws_parts_are_built_by_name_without_network() -> Result<()> {
        // Nothing listens on port 9: building must not connect.
        let config = parse(
            "[aws]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:9\"\n\
             [lake]\nkind = \"s3\"\nbucket = \"kb-lake\"\nprefix = \"kb\"\nsse = \"aws:kms\"\nkms_key_id = \"alias/kb\"\n\
             [state]\nkind = \"dynamodb\"\ntable = \"kb-state\"\nnamespace = \"one/\"\n\
             [secrets]\nttl_seconds = 60\n",
        )?;
        let dir = Path::new("unused");
        lake(&config, dir)?;
        state(&config, dir)?;
        assert_eq!(s3_lake(&config)?.prefix(), "kb/");
        assert_eq!(dynamodb_state(&config)?.table(), "kb-state");
        assert!(secret_provider(&config).is_some());
        Ok(())
    }

    #[test]
    fn aws_settings_errors_name_the_key() {
        let error = |text: &str| -> String {
            match parse(text).and_then(|c| lake(&c, Path::new(".")).map(|_| ())) {
                Err(e) => e.to_string(),
                Ok(()) => "no error".into(),
            }
        };
        assert!(error("[lake]\nkind = \"s3\"").contains("lake.bucket"));
        assert!(
            error("[lake]\nkind = \"s3\"\nbucket = \"b-1\"\nsse = \"des\"").contains("lake.sse")
        );
        assert!(
            error("[lake]\nkind = \"s3\"\nbucket = \"b-1\"\nkms_key_id = \"k\"")
                .contains("lake.kms_key_id")
        );
        assert!(error("[lake]\nkind = \"s3\"\nbucket = \"Bad_Bucket\"").contains("lake.bucket"));
        let state_error = match parse("[state]\nkind = \"dynamodb\"")
            .and_then(|c| state(&c, Path::new(".")).map(|_| ()))
        {
            Err(e) => e.to_string(),
            Ok(()) => "no error".into(),
        };
        assert!(state_error.contains("state.table"), "{state_error}");
        let ttl = parse("[secrets]\nttl_seconds = 100000")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(ttl.contains("secrets.ttl_seconds"), "{ttl}");
    }

    #[test]
    fn aws_keys_come_from_the_environment() -> Result<()> {
        let env = |name: &str| match name {
            "VAULTIQ_LAKE_KIND" => Some("s3".to_string()),
            "VAULTIQ_LAKE_BUCKET" => Some("env-bucket".to_string()),
            "VAULTIQ_STATE_TABLE" => Some("env-table".to_string()),
            "VAULTIQ_SECRETS_TTL_SECONDS" => Some("30".to_string()),
            _ => None,
        };
        let config = Config::parse_with_env("", "vaultiq.toml", &env)?;
        assert_eq!(s3_lake(&config)?.bucket(), "env-bucket");
        assert_eq!(config.state.table.as_deref(), Some("env-table"));
        assert_eq!(config.secrets.ttl_seconds, Some(30));
        Ok(())
    }
}
