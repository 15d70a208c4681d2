//! Answerers compose an answer with citations from search hits.

#[cfg(feature = "aws-bedrock")]
mod bedrock;
mod extractive;

#[cfg(feature = "aws-bedrock")]
pub use bedrock::{
    BedrockAnswerer, BedrockAnswererBuilder, TokenUsage, CLAUDE_3_HAIKU, DEFAULT_SYSTEM_PROMPT,
};
pub use extractive::{ExtractiveAnswerer, NO_ANSWER_TEXT};

use async_trait::async_trait;
use futures::stream::{self, BoxStream, StreamExt};

use crate::{Answer, Hit, Result};

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerEvent {
    /// A piece of answer text, in order.
    Token(String),
    /// The finished answer with its citations; always the last event.
    Done(Answer),
}

/// Question + hits -> answer with citations. Every citation must be one of
/// the hits; with no good evidence the answer says so instead of guessing.
#[async_trait]
pub trait Answerer: Send + Sync {
    /// Answers `question` from `hits`.
    async fn answer(&self, question: &str, hits: &[Hit]) -> Result<Answer>;

    /// Streams the answer. The default produces the whole text as one token.
    async fn answer_stream(
        &self,
        question: &str,
        hits: &[Hit],
    ) -> Result<BoxStream<'static, Result<AnswerEvent>>> {
        let answer = self.answer(question, hits).await?;
        let events = vec![
            Ok(AnswerEvent::Token(answer.text.clone())),
            Ok(AnswerEvent::Done(answer)),
        ];
        Ok(stream::iter(events).boxed())
    }
}
