//! InvokeModel for the Titan text embedding models: request validation as
//! the service does it, and a deterministic hashed bag-of-words embedding.
//!
//! Bodies from
//! https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html:
//! V2 request `{"inputText": string, "dimensions": int, "normalize":
//! boolean, "embeddingTypes": list}` (only `inputText` required; dimensions
//! 1024 (default), 512, 256; normalize defaults to true), V2 response
//! `{"embedding": [float, ...], "inputTextTokenCount": int,
//! "embeddingsByType": {"float": [float, ...]}}`; G1 request
//! `{"inputText": string}`, response `{"embedding": [float, ...],
//! "inputTextTokenCount": int}`. Limits: 8,192 tokens or 50,000 characters.
//! Rejections use the service's "Malformed input request: #/...: ..., please
//! reformat your input and try again." wording.

use axum::response::Response;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::validation;

const MAX_CHARS: usize = 50_000;
const MAX_TOKENS: usize = 8_192;

enum Family {
    V2,
    V1,
}

/// The emulator's token count: about four characters per token, the
/// usual rule of thumb for English with subword tokenizers.
pub(crate) fn token_count(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

fn malformed(detail: &str) -> Response {
    validation(&format!(
        "Malformed input request: {detail}, please reformat your input and try again."
    ))
}

/// Validates an InvokeModel body for `model_id`; returns the input text and
/// the response body.
pub(crate) fn invoke(model_id: &str, body: &Value) -> Result<(String, Value), Response> {
    let family = if model_id == "amazon.titan-embed-text-v2:0" {
        Family::V2
    } else if model_id == "amazon.titan-embed-text-v1"
        || model_id == "amazon.titan-embed-g1-text-02"
    {
        Family::V1
    } else {
        return Err(validation("The provided model identifier is invalid."));
    };
    let Some(object) = body.as_object() else {
        return Err(malformed("#: expected type: JSONObject, found: JSONArray"));
    };
    let allowed: &[&str] = match family {
        Family::V2 => &["inputText", "dimensions", "normalize", "embeddingTypes"],
        Family::V1 => &["inputText"],
    };
    if let Some(extra) = object.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(malformed(&format!(
            "#: extraneous key [{extra}] is not permitted"
        )));
    }
    let text = match object.get("inputText") {
        None => return Err(malformed("#: required key [inputText] not found")),
        Some(Value::String(text)) => text.clone(),
        Some(other) => {
            return Err(malformed(&format!(
                "#/inputText: expected type: String, found: {}",
                type_name(other)
            )))
        }
    };
    let chars = text.chars().count();
    if chars == 0 {
        return Err(malformed("#/inputText: expected minLength: 1, actual: 0"));
    }
    if chars > MAX_CHARS {
        return Err(malformed(&format!(
            "#/inputText: expected maxLength: {MAX_CHARS}, actual: {chars}"
        )));
    }
    let tokens = token_count(&text);
    if tokens > MAX_TOKENS {
        return Err(validation(&format!(
            "400 Bad Request: Too many input tokens. Max input tokens: {MAX_TOKENS}, request input token count: {tokens} "
        )));
    }
    let (dimensions, normalize) = match family {
        Family::V1 => (1536, false),
        Family::V2 => (dimensions(object)?, normalize(object)?),
    };
    if let Some(types) = object.get("embeddingTypes") {
        let valid = types.as_array().is_some_and(|items| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|t| t.as_str().is_some_and(|t| t == "float" || t == "binary"))
        });
        if !valid {
            return Err(malformed(
                "#/embeddingTypes: expected a list of \"float\" and/or \"binary\"",
            ));
        }
    }
    let embedding = embed(&text, dimensions, normalize);
    let response = match family {
        Family::V2 => json!({
            "embedding": embedding,
            "inputTextTokenCount": tokens,
            "embeddingsByType": {"float": embedding},
        }),
        Family::V1 => json!({
            "embedding": embedding,
            "inputTextTokenCount": tokens,
        }),
    };
    Ok((text, response))
}

fn dimensions(object: &Map<String, Value>) -> Result<usize, Response> {
    match object.get("dimensions") {
        None => Ok(1024),
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => {
            let d = n.as_i64().unwrap_or(-1);
            if [256, 512, 1024].contains(&d) {
                Ok(d as usize)
            } else {
                Err(malformed(&format!(
                    "#/dimensions: {d} is not a valid enum value"
                )))
            }
        }
        Some(other) => Err(malformed(&format!(
            "#/dimensions: expected type: Integer, found: {}",
            type_name(other)
        ))),
    }
}

fn normalize(object: &Map<String, Value>) -> Result<bool, Response> {
    match object.get("normalize") {
        None => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(malformed(&format!(
            "#/normalize: expected type: Boolean, found: {}",
            type_name(other)
        ))),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_f64() => "BigDecimal",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// A hashed bag of lower-cased words: each word adds ±1 to one coordinate
/// chosen by its hash, so texts sharing words point the same way.
/// Unnormalised vectors keep their raw counts (length grows with the text).
pub fn embed(text: &str, dimensions: usize, normalize: bool) -> Vec<f32> {
    let mut vector = vec![0.0f32; dimensions];
    let mut words = 0;
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let (index, sign) = slot(&word.to_lowercase(), dimensions);
        vector[index] += sign;
        words += 1;
    }
    if words == 0 {
        // Punctuation only: still a direction of its own.
        let (index, sign) = slot(text, dimensions);
        vector[index] = sign;
    }
    if normalize {
        let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            vector.iter_mut().for_each(|v| *v /= norm);
        }
    }
    vector
}

fn slot(word: &str, dimensions: usize) -> (usize, f32) {
    let digest = Sha256::digest(word.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    let hash = u64::from_le_bytes(bytes);
    let index = (hash % dimensions as u64) as usize;
    let sign = if digest[8] & 1 == 0 { 1.0 } else { -1.0 };
    (index, sign)
}
