//! Weights laid out once for the forward pass: every linear layer's matrix
//! is `[in, out]` row-major (the layout the products read fastest) and Q, K
//! and V are fused into one `[hidden, 3 * hidden]` matrix so each layer does
//! one product for all three.

use crate::{Dims, Error, Result};

/// Weight and bias of one layer norm.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    /// Per-channel scale.
    pub gamma: Vec<f32>,
    /// Per-channel shift.
    pub beta: Vec<f32>,
}

/// A linear layer `y = x W + b` with `W` stored `[in, out]`.
#[derive(Debug, Clone)]
pub struct Linear {
    pub(crate) weight: Vec<f32>,
    pub(crate) bias: Vec<f32>,
    pub(crate) inputs: usize,
    pub(crate) outputs: usize,
}

impl Linear {
    /// From PyTorch's `nn.Linear` layout, weight `[outputs, inputs]`.
    pub fn from_torch(
        weight: &[f32],
        bias: Vec<f32>,
        inputs: usize,
        outputs: usize,
    ) -> Result<Self> {
        if weight.len() != inputs * outputs || bias.len() != outputs {
            return Err(Error::model(format!(
                "linear layer {inputs}->{outputs} got {} weights and {} biases",
                weight.len(),
                bias.len()
            )));
        }
        let mut transposed = vec![0.0; inputs * outputs];
        for (o, row) in weight.chunks_exact(inputs.max(1)).enumerate() {
            for (i, value) in row.iter().enumerate() {
                transposed[i * outputs + o] = *value;
            }
        }
        Ok(Linear {
            weight: transposed,
            bias,
            inputs,
            outputs,
        })
    }

    /// Layers with the same input side by side: `[in, sum(out)]`, so one
    /// product computes all of them.
    pub fn fuse(parts: &[Linear]) -> Result<Self> {
        let inputs = parts.first().map_or(0, |p| p.inputs);
        if parts.iter().any(|p| p.inputs != inputs) {
            return Err(Error::model(
                "fused linear layers must share their input width",
            ));
        }
        let outputs: usize = parts.iter().map(|p| p.outputs).sum();
        let mut weight = Vec::with_capacity(inputs * outputs);
        for i in 0..inputs {
            for part in parts {
                weight.extend_from_slice(&part.weight[i * part.outputs..(i + 1) * part.outputs]);
            }
        }
        Ok(Linear {
            weight,
            bias: parts.iter().flat_map(|p| p.bias.iter().copied()).collect(),
            inputs,
            outputs,
        })
    }

    fn check(&self, name: &str, inputs: usize, outputs: usize) -> Result<()> {
        if self.inputs != inputs || self.outputs != outputs {
            return Err(Error::model(format!(
                "{name} is {}->{}, the dimensions need {inputs}->{outputs}",
                self.inputs, self.outputs
            )));
        }
        Ok(())
    }
}

/// One transformer block (post-norm, as BERT).
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    /// Fused query|key|value projection, `hidden -> 3 * hidden`.
    pub qkv: Linear,
    /// Attention output projection.
    pub attention_out: Linear,
    /// Norm after the attention residual.
    pub attention_norm: LayerNorm,
    /// Feed-forward expansion, followed by GELU.
    pub intermediate: Linear,
    /// Feed-forward contraction.
    pub output: Linear,
    /// Norm after the feed-forward residual.
    pub output_norm: LayerNorm,
}

/// Embedding tables and all layers.
#[derive(Debug, Clone)]
pub struct BertWeights {
    /// `[vocab, hidden]`.
    pub word_embeddings: Vec<f32>,
    /// `[max positions, hidden]`.
    pub position_embeddings: Vec<f32>,
    /// Row 0 of the token-type table: single-sentence inputs use type 0.
    pub token_type_embedding: Vec<f32>,
    /// Norm of the summed embeddings.
    pub embedding_norm: LayerNorm,
    /// The transformer blocks, in order.
    pub layers: Vec<EncoderLayer>,
}

impl BertWeights {
    /// Fails unless every tensor has the size `dims` implies, so the forward
    /// pass can index without checks failing.
    pub(crate) fn check(&self, d: &Dims) -> Result<()> {
        let h = d.hidden_size;
        let sized = |name: &str, got: usize, want: usize| {
            if got == want {
                Ok(())
            } else {
                Err(Error::model(format!(
                    "{name} has {got} values, the dimensions need {want}"
                )))
            }
        };
        sized(
            "word embeddings",
            self.word_embeddings.len(),
            d.vocab_size * h,
        )?;
        sized(
            "position embeddings",
            self.position_embeddings.len(),
            d.max_position_embeddings * h,
        )?;
        sized("token type embedding", self.token_type_embedding.len(), h)?;
        let norm = |name: &str, n: &LayerNorm| {
            sized(name, n.gamma.len(), h)?;
            sized(name, n.beta.len(), h)
        };
        norm("embedding norm", &self.embedding_norm)?;
        if self.layers.is_empty() {
            return Err(Error::model("the model has no layers"));
        }
        for layer in &self.layers {
            layer.qkv.check("qkv", h, 3 * h)?;
            layer.attention_out.check("attention output", h, h)?;
            layer
                .intermediate
                .check("intermediate", h, d.intermediate_size)?;
            layer.output.check("output", d.intermediate_size, h)?;
            norm("attention norm", &layer.attention_norm)?;
            norm("output norm", &layer.output_norm)?;
        }
        Ok(())
    }
}
