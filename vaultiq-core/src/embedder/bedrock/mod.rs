//! Amazon Titan Text Embeddings on Bedrock through `InvokeModel`.
//!
//! Titan embeds one text per call, so a batch becomes up to `concurrency`
//! calls in flight, with the results put back in input order. Throttling
//! (`ThrottlingException`, 429) and 5xx answers are retried with full-jitter
//! exponential backoff, a bounded number of times; the SDK's own retry layer
//! is off so this is the only one. An input the service finds too long
//! (`ValidationException`) is cut to the documented limit with a warning and
//! sent once more. Titan rejects empty input, so empty or blank texts are
//! refused with [`Error::InvalidInput`] before any call is made.
//!
//! [`Embedder::model_id`] names the model, the dimensions and the
//! normalisation, so the core embedding cache never mixes vectors of two
//! settings.

mod titan;

pub use titan::{
    MAX_INPUT_CHARS, MAX_INPUT_TOKENS, TITAN_V1, TITAN_V1_DIMENSIONS, TITAN_V2, TITAN_V2_DIMENSIONS,
};

use std::time::Duration;

use async_trait::async_trait;
use aws_smithy_types::Blob;
use futures::stream::{self, StreamExt, TryStreamExt};
use titan::TitanModel;

use crate::aws::{classify, runtime_client, AwsSettings, Backoff, BedrockClient, GaveUp};
use crate::embedder::{EmbedKind, Embedder};
use crate::{Error, Result};

/// Embeds texts with Amazon Titan Text Embeddings (v2 by default) on Bedrock.
#[derive(Debug)]
pub struct BedrockEmbedder {
    client: BedrockClient,
    bedrock_id: String,
    model: TitanModel,
    cache_key: String,
    concurrency: usize,
    backoff: Backoff,
}

/// Settings of a [`BedrockEmbedder`].
#[derive(Debug, Clone)]
pub struct BedrockEmbedderBuilder {
    settings: AwsSettings,
    model_id: String,
    dimensions: Option<usize>,
    normalize: Option<bool>,
    concurrency: usize,
    backoff: Backoff,
}

impl BedrockEmbedder {
    /// Calls in flight at once by default.
    pub const DEFAULT_CONCURRENCY: usize = 8;
    /// Calls per text by default, the first included. At 30% random
    /// throttling, ten attempts lose one text in about 170,000.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

    /// A builder with the defaults: Titan v2, 1024 dimensions, normalised.
    pub fn builder() -> BedrockEmbedderBuilder {
        BedrockEmbedderBuilder {
            settings: AwsSettings::default(),
            model_id: TITAN_V2.to_string(),
            dimensions: None,
            normalize: None,
            concurrency: Self::DEFAULT_CONCURRENCY,
            backoff: Backoff {
                max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
                base: Duration::from_millis(100),
                cap: Duration::from_secs(10),
            },
        }
    }

    /// The Bedrock model id called.
    pub fn bedrock_model_id(&self) -> &str {
        &self.bedrock_id
    }

    async fn embed_indexed(&self, index: usize, text: &str) -> Result<(usize, Vec<f32>)> {
        self.embed_one(index, text)
            .await
            .map(|vector| (index, vector))
    }

    /// Embeds one text, retrying throttling and 5xx and shortening it once
    /// if the service says it is too long.
    async fn embed_one(&self, index: usize, text: &str) -> Result<Vec<f32>> {
        let client = self.client.get().await;
        let mut input = titan::truncate_chars(text, MAX_INPUT_CHARS);
        if input.len() < text.len() {
            tracing::warn!(
                index,
                chars = text.chars().count(),
                limit = MAX_INPUT_CHARS,
                "text longer than Titan accepts; embedding its first {MAX_INPUT_CHARS} characters"
            );
        }
        let mut shortened = false;
        loop {
            let body = self.model.request_body(input)?;
            let sent = self
                .backoff
                .retry("Titan InvokeModel", || {
                    let request = client
                        .invoke_model()
                        .model_id(&self.bedrock_id)
                        .content_type("application/json")
                        .accept("application/json")
                        .body(Blob::new(body.clone()));
                    async move { request.send().await.map_err(|err| classify(&err)) }
                })
                .await;
            let GaveUp { failure, attempts } = match sent {
                Ok(output) => {
                    return self
                        .model
                        .parse_response(&self.bedrock_id, output.body().as_ref())
                }
                Err(gave_up) => gave_up,
            };
            if failure.is("ValidationException")
                && titan::says_too_long(&failure.message)
                && !shortened
            {
                let shorter = titan::shortened(input);
                tracing::warn!(
                    index,
                    chars = input.chars().count(),
                    kept = shorter.chars().count(),
                    reason = %failure.message,
                    "Bedrock found the text too long; embedding a truncated copy"
                );
                input = shorter;
                shortened = true;
                continue;
            }
            let tries = if failure.retryable {
                format!(" after {attempts} attempts")
            } else {
                String::new()
            };
            return Err(Error::Model {
                message: format!(
                    "Bedrock InvokeModel {} failed{tries}: {failure}",
                    self.bedrock_id
                ),
                retryable: failure.retryable,
            });
        }
    }
}

impl BedrockEmbedderBuilder {
    /// Region, profile, endpoint and credentials of the client.
    pub fn settings(mut self, settings: AwsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The Titan model (`amazon.titan-embed-text-v2:0` by default).
    pub fn model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }

    /// Vector size: 256, 512 or 1024 for v2 (default 1024); v1 has 1536 only.
    pub fn dimensions(mut self, dimensions: usize) -> Self {
        self.dimensions = Some(dimensions);
        self
    }

    /// Whether v2 returns unit-length vectors (default true; not a v1 setting).
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.normalize = Some(normalize);
        self
    }

    /// Calls in flight at once (default 8, at least 1).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Calls per text for throttling and 5xx, the first included (default 10).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.backoff.max_attempts = attempts;
        self
    }

    /// Upper bounds of the first wait between attempts and of any wait
    /// (defaults 100 ms and 10 s).
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff.base = base;
        self.backoff.cap = cap;
        self
    }

    /// Checks the settings; no network I/O happens until the first call.
    pub fn build(self) -> Result<BedrockEmbedder> {
        let model = TitanModel::resolve(&self.model_id, self.dimensions, self.normalize)?;
        if self.concurrency == 0 {
            return Err(Error::Config(
                "`embedder.concurrency` must be at least 1".into(),
            ));
        }
        if self.backoff.max_attempts == 0 {
            return Err(Error::Config(
                "Bedrock embedder max attempts must be at least 1".into(),
            ));
        }
        let cache_key = format!("bedrock:{};{}", self.model_id, model.settings_key());
        Ok(BedrockEmbedder {
            client: BedrockClient::new(self.settings, runtime_client),
            bedrock_id: self.model_id,
            model,
            cache_key,
            concurrency: self.concurrency,
            backoff: self.backoff,
        })
    }
}

#[async_trait]
impl Embedder for BedrockEmbedder {
    fn model_id(&self) -> &str {
        &self.cache_key
    }

    fn dimension(&self) -> usize {
        self.model.dimension()
    }

    // Titan embeds queries and passages alike.
    #[tracing::instrument(
        name = "embed.bedrock",
        skip_all,
        err,
        fields(model = %self.bedrock_id, texts = texts.len(), concurrency = self.concurrency)
    )]
    async fn embed(&self, texts: &[String], _kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        // Checked up front so a bad batch costs no calls at all.
        if let Some(index) = texts.iter().position(|t| t.trim().is_empty()) {
            return Err(Error::InvalidInput(format!(
                "text {index} is empty; Titan embeddings need at least one non-blank character"
            )));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; texts.len()];
        let mut results = stream::iter(0..texts.len())
            .map(|index| self.embed_indexed(index, &texts[index]))
            .buffer_unordered(self.concurrency);
        // The first failure ends the batch; calls still in flight are dropped.
        while let Some((index, vector)) = results.try_next().await? {
            if let Some(slot) = slots.get_mut(index) {
                *slot = Some(vector);
            }
        }
        slots
            .into_iter()
            .enumerate()
            .map(|(index, slot)| {
                slot.ok_or_else(|| Error::model(format!("no vector came back for text {index}")))
            })
            .collect()
    }
}
