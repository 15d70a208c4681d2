//! Converse and ConverseStream: request validation per the API reference,
//! a deterministic "model", and the documented response shapes.
//!
//! Request members (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html):
//! `messages` (Message list: `role` user | assistant, `content` ContentBlock
//! list), `system` (SystemContentBlock list), `inferenceConfig`
//! (`maxTokens` integer >= 1, `temperature` and `topP` float 0..1,
//! `stopSequences` string list), plus `toolConfig`, `guardrailConfig`,
//! `additionalModelRequestFields`, `additionalModelResponseFieldPaths`,
//! `promptVariables`, `requestMetadata`, `performanceConfig`, `serviceTier`
//! (accepted, not interpreted). Response body (same page):
//! `{"output": {"message": {"role": "assistant", "content": [{"text": ...}]}},
//! "stopReason": "end_turn", "usage": {"inputTokens", "outputTokens",
//! "totalTokens"}, "metrics": {"latencyMs"}}`.
//!
//! ConverseStream events
//! (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html):
//! `messageStart {"role"}`, `contentBlockDelta {"contentBlockIndex",
//! "delta": {"text"}}`, `contentBlockStop {"contentBlockIndex"}`,
//! `messageStop {"stopReason"}`, `metadata {"usage", "metrics"}`, each an
//! event-stream message with `:event-type`, `:content-type` and
//! `:message-type` headers; a failure mid-stream is a message with
//! `:message-type` `exception` and `:exception-type`.

use std::collections::HashSet;

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::titan::token_count;
use super::validation;

const TOP_LEVEL: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "guardrailConfig",
    "additionalModelRequestFields",
    "additionalModelResponseFieldPaths",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
    "serviceTier",
];
const INFERENCE: &[&str] = &["maxTokens", "temperature", "topP", "stopSequences"];
/// Claude 3 Haiku's output limit.
const MAX_OUTPUT_TOKENS: i64 = 4096;

/// A chat reply with its token counts.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub text: String,
    pub input_tokens: usize,
    pub output_tokens: usize,
}

fn invalid(member: &str, expected: &str) -> Response {
    validation(&format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: {expected}"
    ))
}

/// Validates a Converse body for `model_id` and composes the reply.
pub(crate) fn reply(model_id: &str, body: &Value, suffix: &str) -> Result<Reply, Response> {
    if model_id.contains("embed") {
        return Err(validation(
            "This action doesn't support the model that you provided. Try again with a supported text or chat model.",
        ));
    }
    if !(model_id.contains("anthropic.")
        || model_id.contains("amazon.nova")
        || model_id.contains("meta.")
        || model_id.contains("mistral."))
    {
        return Err(validation("The provided model identifier is invalid."));
    }
    let object = body
        .as_object()
        .ok_or_else(|| invalid("body", "Member must be a structure"))?;
    if let Some(extra) = object.keys().find(|k| !TOP_LEVEL.contains(&k.as_str())) {
        return Err(validation(&format!(
            "Malformed input request: extraneous key [{extra}] is not permitted, please reformat your input and try again."
        )));
    }
    let messages = match object.get("messages") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) => {
            return Err(invalid(
                "messages",
                "Member must have length greater than or equal to 1",
            ))
        }
        Some(_) => return Err(invalid("messages", "Member must be a list")),
        None => return Err(invalid("messages", "Member must not be null")),
    };
    let mut input_text = String::new();
    let mut last_user = String::new();
    for (i, message) in messages.iter().enumerate() {
        let text = message_text(i, message)?;
        let role = message["role"].as_str().unwrap_or_default();
        let expected = if i % 2 == 0 { "user" } else { "assistant" };
        if role != expected {
            return Err(validation(
                "A conversation must start with a user message and alternate between user and assistant roles. Try again with a valid conversation.",
            ));
        }
        if role == "user" {
            last_user = text.clone();
        }
        input_text.push_str(&text);
    }
    if let Some(system) = object.get("system") {
        input_text.push_str(&system_text(system)?);
    }
    if let Some(config) = object.get("inferenceConfig") {
        check_inference(config)?;
    }
    let text = format!("{}{suffix}", answer(&last_user));
    Ok(Reply {
        input_tokens: token_count(&input_text),
        output_tokens: token_count(&text),
        text,
    })
}

fn message_text(i: usize, message: &Value) -> Result<String, Response> {
    let member = format!("messages.{}", i + 1);
    let object = message
        .as_object()
        .ok_or_else(|| invalid(&member, "Member must be a structure"))?;
    if let Some(extra) = object
        .keys()
        .find(|k| !["role", "content"].contains(&k.as_str()))
    {
        return Err(validation(&format!(
            "Malformed input request: extraneous key [{extra}] in {member} is not permitted, please reformat your input and try again."
        )));
    }
    match object.get("role") {
        Some(Value::String(r)) if r == "user" || r == "assistant" => {}
        Some(Value::String(_)) => {
            return Err(invalid(
                &format!("{member}.role"),
                "Member must satisfy enum value set: [user, assistant]",
            ))
        }
        Some(_) => {
            return Err(invalid(
                &format!("{member}.role"),
                "Member must be a string",
            ))
        }
        None => {
            return Err(invalid(
                &format!("{member}.role"),
                "Member must not be null",
            ))
        }
    }
    let blocks = match object.get("content") {
        Some(Value::Array(blocks)) if !blocks.is_empty() => blocks,
        Some(Value::Array(_)) => {
            return Err(invalid(
                &format!("{member}.content"),
                "Member must have length greater than or equal to 1",
            ))
        }
        Some(_) => {
            return Err(invalid(
                &format!("{member}.content"),
                "Member must be a list",
            ))
        }
        None => {
            return Err(invalid(
                &format!("{member}.content"),
                "Member must not be null",
            ))
        }
    };
    let mut text = String::new();
    for block in blocks {
        text.push_str(&text_block(&format!("{member}.content"), block)?);
    }
    Ok(text)
}

/// A `{"text": string}` block (the only kind this emulator's models read).
fn text_block(member: &str, block: &Value) -> Result<String, Response> {
    let object = block
        .as_object()
        .ok_or_else(|| invalid(member, "Member must be a union structure"))?;
    if object.len() != 1 {
        return Err(invalid(member, "Member must set exactly one union member"));
    }
    match object.get("text") {
        Some(Value::String(text)) if !text.is_empty() => Ok(text.clone()),
        Some(Value::String(_)) => Err(validation(
            "The text field in the ContentBlock object is blank. Add text to the text field, and try again.",
        )),
        Some(_) => Err(invalid(&format!("{member}.text"), "Member must be a string")),
        None => Err(validation(&format!(
            "This emulator's models accept text content only; got {}",
            object.keys().next().map(String::as_str).unwrap_or("?")
        ))),
    }
}

fn system_text(system: &Value) -> Result<String, Response> {
    let blocks = system
        .as_array()
        .ok_or_else(|| invalid("system", "Member must be a list"))?;
    let mut text = String::new();
    for block in blocks {
        text.push_str(&text_block("system", block)?);
    }
    Ok(text)
}

fn check_inference(config: &Value) -> Result<(), Response> {
    let object: &Map<String, Value> = config
        .as_object()
        .ok_or_else(|| invalid("inferenceConfig", "Member must be a structure"))?;
    if let Some(extra) = object.keys().find(|k| !INFERENCE.contains(&k.as_str())) {
        return Err(validation(&format!(
            "Malformed input request: extraneous key [{extra}] in inferenceConfig is not permitted, please reformat your input and try again."
        )));
    }
    if let Some(max) = object.get("maxTokens") {
        let Some(max) = max.as_i64().filter(|_| max.is_i64() || max.is_u64()) else {
            return Err(invalid(
                "inferenceConfig.maxTokens",
                "Member must be an integer",
            ));
        };
        if max < 1 {
            return Err(invalid(
                "inferenceConfig.maxTokens",
                "Member must have value greater than or equal to 1",
            ));
        }
        if max > MAX_OUTPUT_TOKENS {
            return Err(validation(&format!(
                "The maximum tokens you requested exceeds the model limit of {MAX_OUTPUT_TOKENS}. Try again with a maximum tokens value that is lower than {MAX_OUTPUT_TOKENS}."
            )));
        }
    }
    for member in ["temperature", "topP"] {
        if let Some(value) = object.get(member) {
            let Some(v) = value.as_f64() else {
                return Err(invalid(
                    &format!("inferenceConfig.{member}"),
                    "Member must be a number",
                ));
            };
            if !(0.0..=1.0).contains(&v) {
                return Err(invalid(
                    &format!("inferenceConfig.{member}"),
                    "Member must have value between 0 and 1",
                ));
            }
        }
    }
    if let Some(stops) = object.get("stopSequences") {
        let ok = stops
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string));
        if !ok {
            return Err(invalid(
                "inferenceConfig.stopSequences",
                "Member must be a list of strings",
            ));
        }
    }
    Ok(())
}

/// The deterministic model: the first sentence of the context block that
/// shares most words with the question, cited as `[n]`; `NO_ANSWER` when
/// no block shares a word.
fn answer(user: &str) -> String {
    let (context, question) = match user.rfind("Question:") {
        Some(at) => (&user[..at], &user[at + "Question:".len()..]),
        None => return "NO_ANSWER".into(),
    };
    let wanted = words(question);
    let mut best: Option<(usize, usize, String)> = None;
    for (number, body) in blocks(context) {
        let shared = words(&body).intersection(&wanted).count();
        if shared > 0 && best.as_ref().is_none_or(|(_, s, _)| shared > *s) {
            best = Some((number, shared, body));
        }
    }
    match best {
        Some((number, _, body)) => format!("{} [{number}]", first_sentence(&body)),
        None => "NO_ANSWER".into(),
    }
}

/// `[n] header` lines start a block; its body is the lines that follow.
fn blocks(context: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for line in context.lines() {
        let number = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
            .and_then(|(n, _)| n.parse::<usize>().ok());
        match (number, out.last_mut()) {
            (Some(n), _) => out.push((n, String::new())),
            (None, Some((_, body))) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn words(text: &str) -> HashSet<String> {
    const SKIP: &[&str] = &[
        "the", "and", "for", "how", "what", "does", "with", "can", "you", "are", "our",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !SKIP.contains(&w.as_str()))
        .collect()
}

fn first_sentence(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = flat
        .char_indices()
        .find(|&(i, c)| c == '.' && flat[i + 1..].starts_with(' '))
        .map(|(i, _)| i + 1)
        .unwrap_or(flat.len());
    flat[..end].chars().take(300).collect()
}

/// The Converse response body.
pub(crate) fn response_body(reply: &Reply) -> Value {
    json!({
        "output": {"message": {"role": "assistant", "content": [{"text": reply.text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": reply.input_tokens,
            "outputTokens": reply.output_tokens,
            "totalTokens": reply.input_tokens + reply.output_tokens,
        },
        "metrics": {"latencyMs": 42},
    })
}

/// The ConverseStream body: the reply as event-stream messages, its text
/// in deltas of a few characters (so markers arrive split); with
/// `break_after`, a throttlingException replaces the rest after that many
/// deltas.
pub(crate) fn event_stream(reply: &Reply, break_after: Option<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    event(&mut out, "messageStart", json!({"role": "assistant"}));
    let chars: Vec<char> = reply.text.chars().collect();
    for (i, piece) in chars.chunks(4).enumerate() {
        if break_after == Some(i) {
            let payload = json!({"message": "Too many requests, please wait before trying again."});
            frame(
                &mut out,
                &[
                    (":exception-type", "throttlingException"),
                    (":content-type", "application/json"),
                    (":message-type", "exception"),
                ],
                &payload,
            );
            return out;
        }
        let text: String = piece.iter().collect();
        event(
            &mut out,
            "contentBlockDelta",
            json!({"contentBlockIndex": 0, "delta": {"text": text}}),
        );
    }
    event(
        &mut out,
        "contentBlockStop",
        json!({"contentBlockIndex": 0}),
    );
    event(&mut out, "messageStop", json!({"stopReason": "end_turn"}));
    event(
        &mut out,
        "metadata",
        json!({
            "usage": {
                "inputTokens": reply.input_tokens,
                "outputTokens": reply.output_tokens,
                "totalTokens": reply.input_tokens + reply.output_tokens,
            },
            "metrics": {"latencyMs": 42},
        }),
    );
    out
}

fn event(out: &mut Vec<u8>, event_type: &str, payload: Value) {
    frame(
        out,
        &[
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        ],
        &payload,
    );
}

/// One event-stream message: prelude (lengths + CRC32), headers, payload,
/// message CRC32, as `aws-smithy-eventstream` writes them.
fn frame(out: &mut Vec<u8>, headers: &[(&str, &str)], payload: &Value) {
    let mut message = Message::new(payload.to_string().into_bytes());
    for (name, value) in headers {
        message = message.add_header(Header::new(
            name.to_string(),
            HeaderValue::String(value.to_string().into()),
        ));
    }
    write_message_to(&message, out).expect("frame event");
}
