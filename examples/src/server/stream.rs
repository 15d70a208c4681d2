//! `POST /api/query/stream`: the answer as server-sent events — `token`
//! events with pieces of the answer text in order, one `sources` event,
//! then `done`. Concatenating the `text` of every token gives the answer.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::sse::{Event, Sse};
use futures::stream::{self, Stream, StreamExt};
use serde::Serialize;
use serde_json::json;
use vaultiq_core::answerer::AnswerEvent;
use vaultiq_core::api::QueryResponse;

use super::errors::ApiError;
use super::request::parse_query;
use super::routes::AppState;

/// An event with a JSON payload; JSON keeps leading spaces and newlines of
/// a piece intact, which raw SSE `data:` lines would not.
fn event(name: &str, data: &impl Serialize) -> Event {
    Event::default()
        .event(name)
        .json_data(data)
        .unwrap_or_else(|err| {
            tracing::error!(error = %err, "cannot encode an SSE event");
            let body = ApiError::internal().body();
            Event::default()
                .event("error")
                .json_data(body)
                .unwrap_or_default()
        })
}

/// Word-sized pieces that concatenate back to exactly `text`.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    text.split_inclusive(char::is_whitespace)
}

/// The handler. Validation and retrieval happen before the stream starts,
/// so their failures still get a proper status code and JSON error body.
//
// The answer is composed before the first event: `KnowledgeBase` has no
// public streaming entry point yet. Once `ask_stream` lands (see
// vaultiq-core/src/pipeline/stream.rs), feed its `Token` events here for
// model answerers that really stream.
pub async fn query_stream(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let query = parse_query(body, state.body_limit)?;
    let answer = state.kb.ask_stream(&query).await?;
    let events = answer.events.flat_map(|item| {
        let events = match item {
            Ok(AnswerEvent::Token(text)) => pieces(&text)
                .map(|piece| event("token", &json!({ "text": piece })))
                .collect(),
            Ok(AnswerEvent::Done(answer)) => {
                let response = QueryResponse::from(&answer);
                vec![
                    event("sources", &response.sources),
                    event(
                        "done",
                        &json!({ "query": response.query, "timestamp": response.timestamp }),
                    ),
                ]
            }
            Err(err) => vec![event("error", &ApiError::from(err).body())],
        };
        stream::iter(events.into_iter().map(Ok))
    });
    Ok(Sse::new(events))
}

#[cfg(test)]
mod tests {
    use super::pieces;

    #[test]
    fn pieces_rebuild_the_text() {
        let text = "Run  the deploy\nscript [1]. ";
        assert_eq!(pieces(text).collect::<String>(), text);
        assert!(pieces(text).count() > 3);
    }
}
