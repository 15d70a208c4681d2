//! The parts of a Hugging Face BERT `config.json` the encoder needs, with
//! the checks that keep it from computing something other than the model.

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// Shape and numerics of a BERT encoder.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BertConfig {
    pub(crate) vocab_size: usize,
    pub(crate) hidden_size: usize,
    pub(crate) num_hidden_layers: usize,
    pub(crate) num_attention_heads: usize,
    pub(crate) intermediate_size: usize,
    pub(crate) max_position_embeddings: usize,
    #[serde(default = "default_type_vocab_size")]
    pub(crate) type_vocab_size: usize,
    #[serde(default = "default_layer_norm_eps")]
    pub(crate) layer_norm_eps: f64,
    #[serde(default = "default_hidden_act")]
    hidden_act: String,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

fn default_type_vocab_size() -> usize {
    2
}

fn default_layer_norm_eps() -> f64 {
    1e-12
}

fn default_hidden_act() -> String {
    "gelu".to_string()
}

impl BertConfig {
    /// Reads and validates `config.json`.
    pub(crate) fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read model config", path, e))?;
        let config: BertConfig = serde_json::from_str(&text).map_err(|e| {
            Error::model(format!("model config {} is invalid: {e}", path.display()))
        })?;
        config.validate().map_err(|message| {
            Error::model(format!("model config {}: {message}", path.display()))
        })?;
        Ok(config)
    }

    /// The sizes the encoder computes with.
    pub(crate) fn dims(&self) -> vaultiq_bert::Dims {
        vaultiq_bert::Dims {
            vocab_size: self.vocab_size,
            hidden_size: self.hidden_size,
            num_attention_heads: self.num_attention_heads,
            intermediate_size: self.intermediate_size,
            max_position_embeddings: self.max_position_embeddings,
            layer_norm_eps: self.layer_norm_eps,
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        // Only the erf GELU is implemented; a tanh-approximated model would
        // run but give subtly different vectors.
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act {:?} is not supported (only \"gelu\")",
                self.hidden_act
            ));
        }
        if let Some(kind) = &self.position_embedding_type {
            if kind != "absolute" {
                return Err(format!(
                    "position_embedding_type {kind:?} is not supported (only \"absolute\")"
                ));
            }
        }
        let sizes = [
            self.vocab_size,
            self.hidden_size,
            self.num_hidden_layers,
            self.num_attention_heads,
            self.intermediate_size,
            self.max_position_embeddings,
            self.type_vocab_size,
        ];
        if sizes.contains(&0) {
            return Err("every size must be positive".to_string());
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps < 1.0) {
            return Err(format!(
                "layer_norm_eps {} is out of range",
                self.layer_norm_eps
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(json: &str) -> std::result::Result<(), String> {
        serde_json::from_str::<BertConfig>(json).unwrap().validate()
    }

    const MINILM: &str = r#"{"vocab_size":30522,"hidden_size":384,"num_hidden_layers":6,
        "num_attention_heads":12,"intermediate_size":1536,"max_position_embeddings":512,
        "hidden_act":"gelu","layer_norm_eps":1e-12}"#;

    #[test]
    fn accepts_minilm_and_rejects_what_it_cannot_run() {
        assert!(parse(MINILM).is_ok());
        let tanh = MINILM.replace("\"gelu\"", "\"gelu_new\"");
        assert!(parse(&tanh).unwrap_err().contains("hidden_act"));
        let heads = MINILM.replace("\"num_attention_heads\":12", "\"num_attention_heads\":7");
        assert!(parse(&heads).unwrap_err().contains("multiple"));
        let zero = MINILM.replace("\"num_hidden_layers\":6", "\"num_hidden_layers\":0");
        assert!(parse(&zero).is_err());
    }
}
