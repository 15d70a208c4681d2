//! ConverseStream events -> [`AnswerEvent`]s: one `Token` per text delta
//! (after the citation rewrite, so the tokens add up to the final text),
//! then `Done`. The reply is held back while it could still be the
//! `NO_ANSWER` marker, so a "don't know" reply never streams the marker.

use std::sync::Arc;

use aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver;
use aws_sdk_bedrockruntime::types::error::ConverseStreamOutputError;
use aws_sdk_bedrockruntime::types::{ContentBlockDelta, ConverseStreamOutput};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::Utc;
use futures::stream::{self, BoxStream, StreamExt};

use super::citations::CitationWriter;
use super::prompt::NO_ANSWER_MARKER;
use super::{no_answer, UsageCounter};
use crate::answerer::AnswerEvent;
use crate::{Answer, Error, Hit, Result};

/// A finished answer as a stream: its text as one token, then `Done`.
pub(super) fn whole(answer: Answer) -> BoxStream<'static, Result<AnswerEvent>> {
    let events = vec![
        Ok(AnswerEvent::Token(answer.text.clone())),
        Ok(AnswerEvent::Done(answer)),
    ];
    stream::iter(events).boxed()
}

/// The answer events of an open ConverseStream.
pub(super) fn events(
    receiver: EventReceiver<ConverseStreamOutput, ConverseStreamOutputError>,
    question: String,
    hits: Vec<Hit>,
    model_id: String,
    usage: Arc<UsageCounter>,
) -> BoxStream<'static, Result<AnswerEvent>> {
    let state = State {
        receiver,
        question,
        writer: Some(CitationWriter::new(hits)),
        gate: Some(String::new()),
        no_answer: false,
        text: String::new(),
        model_id,
        usage,
        finished: false,
    };
    stream::unfold(state, |mut state| async move {
        let events = state.next_events().await?;
        Some((stream::iter(events), state))
    })
    .flatten()
    .boxed()
}

struct State {
    receiver: EventReceiver<ConverseStreamOutput, ConverseStreamOutputError>,
    question: String,
    writer: Option<CitationWriter>,
    /// The reply so far while it may still be the `NO_ANSWER` marker.
    gate: Option<String>,
    no_answer: bool,
    /// Text sent as tokens so far.
    text: String,
    model_id: String,
    usage: Arc<UsageCounter>,
    finished: bool,
}

impl State {
    /// The next events to send; `None` once `Done` (or an error) was sent.
    async fn next_events(&mut self) -> Option<Vec<Result<AnswerEvent>>> {
        loop {
            if self.finished {
                return None;
            }
            match self.receiver.recv().await {
                Ok(Some(ConverseStreamOutput::ContentBlockDelta(event))) => {
                    if let Some(ContentBlockDelta::Text(piece)) = event.delta() {
                        let shown = self.feed(piece);
                        if !shown.is_empty() {
                            self.text.push_str(&shown);
                            return Some(vec![Ok(AnswerEvent::Token(shown))]);
                        }
                    }
                }
                Ok(Some(ConverseStreamOutput::Metadata(event))) => {
                    if let Some(usage) = event.usage() {
                        self.usage.add(usage.input_tokens(), usage.output_tokens());
                        tracing::info!(
                            model = %self.model_id,
                            input_tokens = usage.input_tokens(),
                            output_tokens = usage.output_tokens(),
                            "Bedrock token usage"
                        );
                    }
                }
                // messageStart, contentBlockStart/Stop, messageStop.
                Ok(Some(_)) => {}
                Ok(None) => {
                    self.finished = true;
                    return Some(self.finish());
                }
                Err(err) => {
                    self.finished = true;
                    let service = err.as_service_error();
                    // The event's `:exception-type` names the variant.
                    let code = match service {
                        Some(e) if e.is_throttling_exception() => Some("ThrottlingException"),
                        Some(e) if e.is_internal_server_exception() => {
                            Some("InternalServerException")
                        }
                        Some(e) if e.is_service_unavailable_exception() => {
                            Some("ServiceUnavailableException")
                        }
                        Some(e) if e.is_model_stream_error_exception() => {
                            Some("ModelStreamErrorException")
                        }
                        Some(e) if e.is_validation_exception() => Some("ValidationException"),
                        _ => err.code(),
                    };
                    let retryable = match service {
                        Some(e) => {
                            e.is_throttling_exception()
                                || e.is_internal_server_exception()
                                || e.is_service_unavailable_exception()
                                || e.is_model_stream_error_exception()
                        }
                        // The connection broke or timed out.
                        None => true,
                    };
                    let detail = err
                        .message()
                        .map(String::from)
                        .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
                    return Some(vec![Err(Error::Model {
                        message: format!(
                            "Bedrock ConverseStream {} failed mid-answer: {}{detail}",
                            self.model_id,
                            code.map(|c| format!("{c}: ")).unwrap_or_default()
                        ),
                        retryable,
                    })]);
                }
            }
        }
    }

    /// Text that can be shown after the model sent `piece`.
    fn feed(&mut self, piece: &str) -> String {
        if self.no_answer {
            return String::new();
        }
        if let Some(gate) = &mut self.gate {
            gate.push_str(piece);
            let head = gate.trim_start();
            if head.starts_with(NO_ANSWER_MARKER) {
                self.no_answer = true;
                self.gate = None;
                return String::new();
            }
            if NO_ANSWER_MARKER.starts_with(head) {
                return String::new();
            }
            let held = head.to_string();
            self.gate = None;
            return self.push(&held);
        }
        self.push(piece)
    }

    fn push(&mut self, piece: &str) -> String {
        self.writer
            .as_mut()
            .map(|w| w.push(piece))
            .unwrap_or_default()
    }

    /// The last token, if any, and `Done`.
    fn finish(&mut self) -> Vec<Result<AnswerEvent>> {
        if let Some(held) = self.gate.take() {
            // The reply ended while it still looked like the marker's start.
            let shown = self.push(held.trim_start());
            self.text.push_str(&shown);
        }
        if self.no_answer || self.text.trim().is_empty() {
            return whole_events(no_answer(&self.question));
        }
        let (rest, citations) = match self.writer.take() {
            Some(writer) => writer.finish(),
            None => (String::new(), Vec::new()),
        };
        let mut events = Vec::new();
        if !rest.is_empty() {
            self.text.push_str(&rest);
            events.push(Ok(AnswerEvent::Token(rest)));
        }
        events.push(Ok(AnswerEvent::Done(Answer {
            text: std::mem::take(&mut self.text),
            grounded: !citations.is_empty(),
            citations,
            query: self.question.clone(),
            timestamp: Utc::now(),
        })));
        events
    }
}

fn whole_events(answer: Answer) -> Vec<Result<AnswerEvent>> {
    vec![
        Ok(AnswerEvent::Token(answer.text.clone())),
        Ok(AnswerEvent::Done(answer)),
    ]
}
