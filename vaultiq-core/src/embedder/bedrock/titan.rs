//! The Amazon Titan Text Embeddings models: which settings each accepts,
//! their InvokeModel request and response bodies, and their input limits.
//!
//! Bodies as documented in
//! https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html
//! (V2 request `{"inputText", "dimensions", "normalize", "embeddingTypes"}`,
//! response `{"embedding", "inputTextTokenCount", "embeddingsByType"}`;
//! G1/v1 request `{"inputText"}`, response `{"embedding", "inputTextTokenCount"}`).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Titan Text Embeddings V2, the default.
pub const TITAN_V2: &str = "amazon.titan-embed-text-v2:0";
/// Titan Embeddings G1 - Text.
pub const TITAN_V1: &str = "amazon.titan-embed-text-v1";

/// Vector sizes Titan V2 offers; 1024 is its default.
pub const TITAN_V2_DIMENSIONS: [usize; 3] = [256, 512, 1024];
/// Titan V1's only vector size.
pub const TITAN_V1_DIMENSIONS: usize = 1536;

/// Documented input limit of both models in characters (the V2 page:
/// "8,192 tokens or 50,000 characters").
pub const MAX_INPUT_CHARS: usize = 50_000;
/// Documented input limit in tokens.
pub const MAX_INPUT_TOKENS: usize = 8_192;
/// Characters kept per allowed token when the service finds the input too
/// long. Prose averages about four characters per token, but code, ids and
/// non-English text run denser; two keeps the one retry from failing again.
const CHARS_PER_TOKEN_FLOOR: usize = 2;

/// A Titan model with its settings resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TitanModel {
    /// `amazon.titan-embed-text-v2:0` (or a provisioned/ARN id of it).
    V2 {
        /// 256, 512 or 1024.
        dimensions: usize,
        /// Unit-length vectors.
        normalize: bool,
    },
    /// `amazon.titan-embed-text-v1`: 1536 dims, no settings.
    V1,
}

impl TitanModel {
    /// Resolves the family of `model_id` and checks the settings against it.
    pub(crate) fn resolve(
        model_id: &str,
        dimensions: Option<usize>,
        normalize: Option<bool>,
    ) -> Result<Self> {
        if model_id.contains("titan-embed-text-v2") {
            let dimensions = dimensions.unwrap_or(1024);
            if !TITAN_V2_DIMENSIONS.contains(&dimensions) {
                return Err(Error::Config(format!(
                    "`embedder.dimensions = {dimensions}` is not offered by {model_id}; use 256, 512 or 1024"
                )));
            }
            Ok(TitanModel::V2 {
                dimensions,
                normalize: normalize.unwrap_or(true),
            })
        } else if model_id.contains("titan-embed-text-v1")
            || model_id.contains("titan-embed-g1-text")
        {
            if let Some(d) = dimensions.filter(|d| *d != TITAN_V1_DIMENSIONS) {
                return Err(Error::Config(format!(
                    "`embedder.dimensions = {d}` is not offered by {model_id}: it always returns {TITAN_V1_DIMENSIONS} dimensions"
                )));
            }
            if normalize.is_some() {
                return Err(Error::Config(format!(
                    "`embedder.normalize` is not a setting of {model_id}; only {TITAN_V2} has it"
                )));
            }
            Ok(TitanModel::V1)
        } else {
            Err(Error::Config(format!(
                "`embedder.model_id = \"{model_id}\"` is not a Titan text embedding model; use {TITAN_V2} or {TITAN_V1}"
            )))
        }
    }

    /// Length of every vector.
    pub(crate) fn dimension(&self) -> usize {
        match self {
            TitanModel::V2 { dimensions, .. } => *dimensions,
            TitanModel::V1 => TITAN_V1_DIMENSIONS,
        }
    }

    /// The settings that change the vectors, for the cache key.
    pub(crate) fn settings_key(&self) -> String {
        match self {
            TitanModel::V2 {
                dimensions,
                normalize,
            } => format!(
                "dims={dimensions};normalize={}",
                if *normalize { "true" } else { "false" }
            ),
            TitanModel::V1 => format!("dims={TITAN_V1_DIMENSIONS}"),
        }
    }

    /// The InvokeModel body for one text.
    pub(crate) fn request_body(&self, text: &str) -> Result<Vec<u8>> {
        let body = match self {
            TitanModel::V2 {
                dimensions,
                normalize,
            } => serde_json::to_vec(&V2Request {
                input_text: text,
                dimensions: *dimensions,
                normalize: *normalize,
            }),
            TitanModel::V1 => serde_json::to_vec(&V1Request { input_text: text }),
        };
        body.map_err(|e| Error::model(format!("cannot encode a Titan request: {e}")))
    }

    /// The vector in an InvokeModel response body, checked for length.
    pub(crate) fn parse_response(&self, model_id: &str, body: &[u8]) -> Result<Vec<f32>> {
        let response: TitanResponse = serde_json::from_slice(body).map_err(|e| {
            Error::model(format!(
                "{model_id} returned a body that is not a Titan embedding response ({e}): {}",
                preview(body)
            ))
        })?;
        if response.embedding.len() != self.dimension() {
            return Err(Error::model(format!(
                "{model_id} returned {} values, expected {}",
                response.embedding.len(),
                self.dimension()
            )));
        }
        if response.embedding.iter().any(|v| !v.is_finite()) {
            return Err(Error::model(format!(
                "{model_id} returned a vector with non-finite values"
            )));
        }
        Ok(response.embedding)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V2Request<'a> {
    input_text: &'a str,
    dimensions: usize,
    normalize: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct V1Request<'a> {
    input_text: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TitanResponse {
    embedding: Vec<f32>,
    // Part of both documented bodies; read so a body without it is not
    // mistaken for a Titan response.
    #[allow(dead_code)]
    input_text_token_count: u64,
}

/// The first bytes of a body, printable, for error messages.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    crate::snippet(&text, 120)
}

/// At most `max_chars` characters of `text`, cut at a character boundary.
pub(crate) fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((byte, _)) => &text[..byte],
        None => text,
    }
}

/// The shorter input to try after the service said `text` is too long:
/// the documented token limit at a conservative characters-per-token rate,
/// or half the text when it is already shorter than that.
pub(crate) fn shortened(text: &str) -> &str {
    let chars = text.chars().count();
    let budget = MAX_INPUT_TOKENS * CHARS_PER_TOKEN_FLOOR;
    truncate_chars(text, if chars > budget { budget } else { chars / 2 })
}

/// Whether a ValidationException message says the input is too long
/// (Bedrock: "Too many input tokens. Max input tokens: 8192, ...", or
/// "... expected maxLength: 50000").
pub(crate) fn says_too_long(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "too many input tokens",
        "too long",
        "maxlength",
        "max input tokens",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_per_model() {
        assert_eq!(
            TitanModel::resolve(TITAN_V2, None, None).ok(),
            Some(TitanModel::V2 {
                dimensions: 1024,
                normalize: true
            })
        );
        assert!(TitanModel::resolve(TITAN_V2, Some(384), None).is_err());
        assert_eq!(
            TitanModel::resolve(TITAN_V1, Some(1536), None).ok(),
            Some(TitanModel::V1)
        );
        assert!(TitanModel::resolve(TITAN_V1, Some(1024), None).is_err());
        assert!(TitanModel::resolve(TITAN_V1, None, Some(true)).is_err());
        assert!(TitanModel::resolve("cohere.embed-english-v3", None, None).is_err());
    }

    #[test]
    fn bodies_match_the_documented_shapes() -> Result<()> {
        let v2 = TitanModel::resolve(TITAN_V2, Some(256), Some(false))?;
        let body: serde_json::Value = serde_json::from_slice(&v2.request_body("hi")?)?;
        assert_eq!(
            body,
            serde_json::json!({"inputText": "hi", "dimensions": 256, "normalize": false})
        );
        let v1 = TitanModel::V1;
        let body: serde_json::Value = serde_json::from_slice(&v1.request_body("hi")?)?;
        assert_eq!(body, serde_json::json!({"inputText": "hi"}));
        let short = br#"{"embedding": [0.1, 0.2], "inputTextTokenCount": 1}"#;
        assert!(v1.parse_response(TITAN_V1, short).is_err());
        assert!(v1.parse_response(TITAN_V1, b"{not json").is_err());
        Ok(())
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("hi", 10), "hi");
        assert_eq!(shortened("abcdef"), "abc");
        assert!(says_too_long(
            "Too many input tokens. Max input tokens: 8192, request input token count: 9000"
        ));
        assert!(!says_too_long(
            "Malformed input request: extraneous key [x]"
        ));
    }
}
