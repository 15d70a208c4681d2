//! Answers with a chat model on Bedrock (Claude 3 Haiku by default, any
//! Converse model by id) through the Converse API, streaming through
//! ConverseStream.
//!
//! The hits go into the prompt as numbered context blocks; the model's
//! `[n]` markers are checked against them (unknown numbers dropped) and
//! renumbered to the answer's citations. With no hits, or when the model
//! replies that the context does not hold the answer, the answer is the
//! same "don't know" answer the extractive answerer gives
//! ([`NO_ANSWER_TEXT`], `grounded = false`); an answer that cites no hit is
//! kept but not `grounded`.
//!
//! Token usage: [`Answer`] has no usage field, so each call records
//! `input_tokens` / `output_tokens` in its tracing span (and an event), and
//! [`BedrockAnswerer::usage`] sums them over the answerer's lifetime.

mod citations;
mod prompt;
mod stream;

pub use prompt::DEFAULT_SYSTEM_PROMPT;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, SystemContentBlock,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::Utc;
use futures::stream::BoxStream;

use crate::answerer::{AnswerEvent, Answerer, NO_ANSWER_TEXT};
use crate::aws::{
    classify, runtime_client, AwsFailure, AwsSettings, Backoff, BedrockClient, GaveUp,
};
use crate::{Answer, Error, Hit, Result};
use citations::CitationWriter;

/// Claude 3 Haiku, the default model.
pub const CLAUDE_3_HAIKU: &str = "anthropic.claude-3-haiku-20240307-v1:0";

/// Tokens a [`BedrockAnswerer`] has used, summed over its calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    /// Calls that reported usage.
    pub calls: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
}

#[derive(Debug, Default)]
struct UsageCounter {
    calls: AtomicU64,
    input: AtomicU64,
    output: AtomicU64,
}

impl UsageCounter {
    fn add(&self, input: i32, output: i32) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.input
            .fetch_add(u64::try_from(input).unwrap_or(0), Ordering::Relaxed);
        self.output
            .fetch_add(u64::try_from(output).unwrap_or(0), Ordering::Relaxed);
    }
}

/// What one Converse call sends, shared by the plain and streaming calls.
#[derive(Debug, Clone)]
struct Request {
    model_id: String,
    system: String,
    user: String,
    inference: InferenceConfiguration,
}

/// Answers questions with a Bedrock chat model through Converse.
#[derive(Debug)]
pub struct BedrockAnswerer {
    client: Arc<BedrockClient>,
    model_id: String,
    max_tokens: u32,
    temperature: f32,
    system_prompt: String,
    min_relevance: f32,
    backoff: Backoff,
    usage: Arc<UsageCounter>,
}

/// Settings of a [`BedrockAnswerer`].
#[derive(Debug, Clone)]
pub struct BedrockAnswererBuilder {
    settings: AwsSettings,
    model_id: String,
    max_tokens: u32,
    temperature: f32,
    system_prompt: String,
    min_relevance: f32,
    backoff: Backoff,
}

impl BedrockAnswerer {
    /// Answer length limit by default.
    pub const DEFAULT_MAX_TOKENS: u32 = 1024;
    /// Calls per answer on throttling and 5xx by default, the first included.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;

    /// A builder with the defaults: Claude 3 Haiku, 1024 tokens, temperature 0.
    pub fn builder() -> BedrockAnswererBuilder {
        BedrockAnswererBuilder {
            settings: AwsSettings::default(),
            model_id: CLAUDE_3_HAIKU.to_string(),
            max_tokens: Self::DEFAULT_MAX_TOKENS,
            temperature: 0.0,
            system_prompt: DEFAULT_SYSTEM_PROMPT.to_string(),
            min_relevance: 0.0,
            backoff: Backoff {
                max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
                base: Duration::from_millis(250),
                cap: Duration::from_secs(5),
            },
        }
    }

    /// The Bedrock model id called.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Tokens used so far by this answerer.
    pub fn usage(&self) -> TokenUsage {
        TokenUsage {
            calls: self.usage.calls.load(Ordering::Relaxed),
            input_tokens: self.usage.input.load(Ordering::Relaxed),
            output_tokens: self.usage.output.load(Ordering::Relaxed),
        }
    }

    /// The hits good enough to show the model.
    fn evidence(&self, hits: &[Hit]) -> Vec<Hit> {
        hits.iter()
            .filter(|h| h.relevance_score >= self.min_relevance)
            .cloned()
            .collect()
    }

    fn request(&self, question: &str, hits: &[Hit]) -> Request {
        let inference = InferenceConfiguration::builder()
            .max_tokens(i32::try_from(self.max_tokens).unwrap_or(i32::MAX))
            .temperature(self.temperature);
        Request {
            model_id: self.model_id.clone(),
            system: self.system_prompt.clone(),
            user: prompt::user_message(question, hits),
            inference: inference.build(),
        }
    }

    /// Runs `call` under the retry policy; a call given up on becomes
    /// [`Error::Model`], retryable if its last failure was.
    async fn with_retries<T, F, Fut>(&self, what: &str, call: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, AwsFailure>>,
    {
        self.backoff
            .retry(&format!("Bedrock {what}"), call)
            .await
            .map_err(|GaveUp { failure, attempts }| Error::Model {
                message: format!(
                    "Bedrock {what} {} failed after {attempts} attempt(s): {failure}",
                    self.model_id
                ),
                retryable: failure.retryable,
            })
    }
}

/// The user message as a Converse message.
fn user_turn(text: &str) -> Result<Message> {
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.to_string()))
        .build()
        .map_err(|e| Error::model(format!("cannot build a Converse message: {e}")))
}

/// The "don't know" answer.
fn no_answer(question: &str) -> Answer {
    Answer {
        text: NO_ANSWER_TEXT.to_string(),
        citations: Vec::new(),
        query: question.to_string(),
        timestamp: Utc::now(),
        grounded: false,
    }
}

/// Whether the model's reply is the "not in the context" marker (told to
/// reply with it alone; whatever it adds after it is not an answer).
fn is_no_answer(text: &str) -> bool {
    text.trim_start().starts_with(prompt::NO_ANSWER_MARKER)
}

/// The answer for the model's complete reply `text`.
fn finish_answer(question: &str, hits: Vec<Hit>, text: &str) -> Answer {
    if is_no_answer(text) || text.trim().is_empty() {
        return no_answer(question);
    }
    let mut writer = CitationWriter::new(hits);
    let mut out = writer.push(text.trim());
    let (rest, citations) = writer.finish();
    out.push_str(&rest);
    Answer {
        grounded: !citations.is_empty(),
        text: out,
        citations,
        query: question.to_string(),
        timestamp: Utc::now(),
    }
}

#[async_trait]
impl Answerer for BedrockAnswerer {
    #[tracing::instrument(
        name = "answer.bedrock",
        skip_all,
        err,
        fields(
            model = %self.model_id,
            hits = hits.len(),
            input_tokens = tracing::field::Empty,
            output_tokens = tracing::field::Empty,
        )
    )]
    async fn answer(&self, question: &str, hits: &[Hit]) -> Result<Answer> {
        let evidence = self.evidence(hits);
        if evidence.is_empty() {
            return Ok(no_answer(question));
        }
        let request = self.request(question, &evidence);
        let message = user_turn(&request.user)?;
        let client = self.client.get().await;
        let output = self
            .with_retries("Converse", || {
                classified(
                    client
                        .converse()
                        .model_id(&request.model_id)
                        .system(SystemContentBlock::Text(request.system.clone()))
                        .messages(message.clone())
                        .inference_config(request.inference.clone())
                        .send(),
                )
            })
            .await?;
        if let Some(usage) = output.usage() {
            self.usage.add(usage.input_tokens(), usage.output_tokens());
            let span = tracing::Span::current();
            span.record("input_tokens", usage.input_tokens());
            span.record("output_tokens", usage.output_tokens());
            tracing::info!(
                input_tokens = usage.input_tokens(),
                output_tokens = usage.output_tokens(),
                "Bedrock token usage"
            );
        }
        let reply = output
            .output()
            .and_then(|o| o.as_message().ok())
            .map(|m| {
                m.content()
                    .iter()
                    .filter_map(|block| block.as_text().ok())
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join("")
            })
            .ok_or_else(|| {
                Error::model(format!(
                    "Bedrock Converse {} returned no message",
                    self.model_id
                ))
            })?;
        Ok(finish_answer(question, evidence, &reply))
    }

    #[tracing::instrument(
        name = "answer.bedrock.stream",
        skip_all,
        err,
        fields(model = %self.model_id, hits = hits.len())
    )]
    async fn answer_stream(
        &self,
        question: &str,
        hits: &[Hit],
    ) -> Result<BoxStream<'static, Result<AnswerEvent>>> {
        let evidence = self.evidence(hits);
        if evidence.is_empty() {
            let answer = no_answer(question);
            return Ok(stream::whole(answer));
        }
        let request = self.request(question, &evidence);
        let message = user_turn(&request.user)?;
        let client = self.client.get().await;
        // Only opening the stream is retried: once text has been shown, a
        // failure is reported rather than the answer started over.
        let output = self
            .with_retries("ConverseStream", || {
                classified(
                    client
                        .converse_stream()
                        .model_id(&request.model_id)
                        .system(SystemContentBlock::Text(request.system.clone()))
                        .messages(message.clone())
                        .inference_config(request.inference.clone())
                        .send(),
                )
            })
            .await?;
        Ok(stream::events(
            output.stream,
            question.to_string(),
            evidence,
            self.model_id.clone(),
            Arc::clone(&self.usage),
        ))
    }
}

/// Awaits an SDK call and describes its failure the same way for every call.
async fn classified<T, E>(
    call: impl std::future::Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
) -> std::result::Result<T, AwsFailure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    call.await.map_err(|err| classify(&err))
}

impl BedrockAnswererBuilder {
    /// Region, profile, endpoint and credentials of the client.
    pub fn settings(mut self, settings: AwsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Any Bedrock model that supports Converse (default Claude 3 Haiku).
    pub fn model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = model_id.into();
        self
    }

    /// Answer length limit in tokens (default 1024).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sampling temperature, 0..=1 (default 0: the most repeatable answers).
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = temperature;
        self
    }

    /// Replaces [`DEFAULT_SYSTEM_PROMPT`]. Keep its rules on `[n]` markers
    /// and on replying `NO_ANSWER`, or citations and "don't know" are lost.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = prompt.into();
        self
    }

    /// Hits below this relevance are not shown to the model (default 0: all).
    pub fn min_relevance(mut self, min: f32) -> Self {
        self.min_relevance = min;
        self
    }

    /// Calls per answer on throttling and 5xx, the first included (default 4).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.backoff.max_attempts = attempts;
        self
    }

    /// Upper bounds of the first wait between attempts and of any wait
    /// (defaults 250 ms and 5 s).
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff.base = base;
        self.backoff.cap = cap;
        self
    }

    /// Checks the settings; no network I/O happens until the first answer.
    pub fn build(self) -> Result<BedrockAnswerer> {
        if self.model_id.trim().is_empty() {
            return Err(Error::Config(
                "`answerer.model_id` must not be empty".into(),
            ));
        }
        if self.max_tokens == 0 || i32::try_from(self.max_tokens).is_err() {
            return Err(Error::Config(format!(
                "`answerer.max_tokens` must be a positive number, got {}",
                self.max_tokens
            )));
        }
        if !(0.0..=1.0).contains(&self.temperature) {
            return Err(Error::Config(format!(
                "`answerer.temperature` must be within 0..1, got {}",
                self.temperature
            )));
        }
        if !(0.0..=1.0).contains(&self.min_relevance) {
            return Err(Error::Config(format!(
                "`answerer.min_relevance` must be within 0..1, got {}",
                self.min_relevance
            )));
        }
        if self.system_prompt.trim().is_empty() {
            return Err(Error::Config(
                "`answerer.system_prompt` must not be empty".into(),
            ));
        }
        if self.backoff.max_attempts == 0 {
            return Err(Error::Config(
                "`answerer.max_attempts` must be at least 1".into(),
            ));
        }
        Ok(BedrockAnswerer {
            client: Arc::new(BedrockClient::new(self.settings, runtime_client)),
            model_id: self.model_id,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            system_prompt: self.system_prompt,
            min_relevance: self.min_relevance,
            backoff: self.backoff,
            usage: Arc::new(UsageCounter::default()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(BedrockAnswerer::builder().temperature(1.5).build().is_err());
        assert!(BedrockAnswerer::builder().max_tokens(0).build().is_err());
        assert!(BedrockAnswerer::builder()
            .system_prompt(" ")
            .build()
            .is_err());
        assert!(BedrockAnswerer::builder().build().is_ok());
    }

    #[test]
    fn the_marker_is_the_dont_know_answer() {
        assert!(is_no_answer(" NO_ANSWER."));
        assert!(!is_no_answer("Use NO_ANSWER as the flag [1]"));
        let answer = finish_answer("q", Vec::new(), "NO_ANSWER");
        assert_eq!(answer.text, NO_ANSWER_TEXT);
        assert!(!answer.grounded);
    }
}
