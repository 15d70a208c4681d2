//! Reads BERT weights from a safetensors file into the encoder's layout,
//! checking every tensor's shape against the config.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};
use vaultiq_bert::{BertWeights, EncoderLayer, LayerNorm, Linear};

use super::config::BertConfig;
use crate::{Error, Result};

/// Reads `path` and lays the weights out for [`vaultiq_bert::Encoder`].
pub(crate) fn load_weights(path: &Path, config: &BertConfig) -> Result<BertWeights> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("cannot read model weights", path, e))?;
    let tensors = SafeTensors::deserialize(&bytes)
        .map_err(|e| Error::model(format!("model weights {} are invalid: {e}", path.display())))?;
    Loader {
        tensors: &tensors,
        prefix: detect_prefix(&tensors),
        path,
    }
    .load(config)
}

/// Checkpoints saved from `BertForXxx` heads put the encoder under `bert.`.
fn detect_prefix(tensors: &SafeTensors<'_>) -> &'static str {
    if tensors.tensor("embeddings.word_embeddings.weight").is_ok() {
        ""
    } else {
        "bert."
    }
}

struct Loader<'a, 'data> {
    tensors: &'a SafeTensors<'data>,
    prefix: &'static str,
    path: &'a Path,
}

impl Loader<'_, '_> {
    fn load(&self, c: &BertConfig) -> Result<BertWeights> {
        let h = c.hidden_size;
        let token_types = self.tensor(
            "embeddings.token_type_embeddings.weight",
            &[c.type_vocab_size, h],
        )?;
        let layers = (0..c.num_hidden_layers)
            .map(|i| self.layer(&format!("encoder.layer.{i}."), c))
            .collect::<Result<Vec<_>>>()?;
        Ok(BertWeights {
            word_embeddings: self
                .tensor("embeddings.word_embeddings.weight", &[c.vocab_size, h])?,
            position_embeddings: self.tensor(
                "embeddings.position_embeddings.weight",
                &[c.max_position_embeddings, h],
            )?,
            token_type_embedding: token_types[..h].to_vec(),
            embedding_norm: self.layer_norm("embeddings.LayerNorm", h)?,
            layers,
        })
    }

    fn layer(&self, p: &str, c: &BertConfig) -> Result<EncoderLayer> {
        let h = c.hidden_size;
        let q = self.linear(&format!("{p}attention.self.query"), h, h)?;
        let k = self.linear(&format!("{p}attention.self.key"), h, h)?;
        let v = self.linear(&format!("{p}attention.self.value"), h, h)?;
        Ok(EncoderLayer {
            qkv: Linear::fuse(&[q, k, v]).map_err(|e| self.invalid(e))?,
            attention_out: self.linear(&format!("{p}attention.output.dense"), h, h)?,
            attention_norm: self.layer_norm(&format!("{p}attention.output.LayerNorm"), h)?,
            intermediate: self.linear(&format!("{p}intermediate.dense"), h, c.intermediate_size)?,
            output: self.linear(&format!("{p}output.dense"), c.intermediate_size, h)?,
            output_norm: self.layer_norm(&format!("{p}output.LayerNorm"), h)?,
        })
    }

    fn linear(&self, name: &str, inputs: usize, outputs: usize) -> Result<Linear> {
        let weight = self.tensor(&format!("{name}.weight"), &[outputs, inputs])?;
        let bias = self.tensor(&format!("{name}.bias"), &[outputs])?;
        Linear::from_torch(&weight, bias, inputs, outputs).map_err(|e| self.invalid(e))
    }

    /// Old TensorFlow conversions name the parameters gamma/beta.
    fn layer_norm(&self, name: &str, width: usize) -> Result<LayerNorm> {
        let gamma = self
            .tensor(&format!("{name}.weight"), &[width])
            .or_else(|_| self.tensor(&format!("{name}.gamma"), &[width]))?;
        let beta = self
            .tensor(&format!("{name}.bias"), &[width])
            .or_else(|_| self.tensor(&format!("{name}.beta"), &[width]))?;
        Ok(LayerNorm { gamma, beta })
    }

    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let full = format!("{}{name}", self.prefix);
        let view = self.tensors.tensor(&full).map_err(|_| {
            Error::model(format!(
                "model weights {} have no tensor {full}",
                self.path.display()
            ))
        })?;
        if view.shape() != shape {
            return Err(Error::model(format!(
                "model weights {}: {full} has shape {:?}, the config implies {shape:?}",
                self.path.display(),
                view.shape()
            )));
        }
        let data = view.data();
        match view.dtype() {
            Dtype::F32 => Ok(data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            // bfloat16 is the top half of an f32.
            Dtype::BF16 => Ok(data
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect()),
            other => Err(Error::model(format!(
                "model weights {}: {full} is {other:?}; only F32 and BF16 are supported",
                self.path.display()
            ))),
        }
    }

    fn invalid(&self, err: vaultiq_bert::Error) -> Error {
        Error::model(format!("model weights {}: {err}", self.path.display()))
    }
}
