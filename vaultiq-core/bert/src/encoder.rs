//! The BERT forward pass over a packed batch: the tokens of all sequences
//! are stacked into one `[tokens, hidden]` matrix, so the linear layers
//! never compute padding, and attention runs per (sequence, head) over that
//! sequence's own tokens only.

use crate::kernels::{Kernels, LayerNormParams};
use crate::matmul::{matmul, MatMut, MatRef};
use crate::weights::{BertWeights, EncoderLayer, LayerNorm, Linear};
use crate::{Dims, Error, Result};

/// Activation buffers of one worker, kept between calls so a steady stream
/// of batches does not fault in fresh pages for every pass.
#[derive(Debug, Default)]
pub struct Scratch {
    /// Hidden states `[tokens, hidden]`.
    hidden: Vec<f32>,
    /// Attention context `[tokens, hidden]`.
    context: Vec<f32>,
    /// Output of a projection before the residual `[tokens, hidden]`.
    projected: Vec<f32>,
    /// Q|K|V `[tokens, 3 * hidden]`, later the FFN's `[tokens, intermediate]`
    /// (never both alive at once).
    wide: Vec<f32>,
    /// Attention scores of one head `[len, len]`.
    scores: Vec<f32>,
}

impl Scratch {
    fn reserve(&mut self, tokens: usize, longest: usize, config: &Dims) {
        let h = config.hidden_size;
        let wide = (3 * h).max(config.intermediate_size);
        grow(&mut self.hidden, tokens * h);
        grow(&mut self.context, tokens * h);
        grow(&mut self.projected, tokens * h);
        grow(&mut self.wide, tokens * wide);
        grow(&mut self.scores, longest * longest);
    }
}

fn grow(buffer: &mut Vec<f32>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
}

/// A loaded model that turns token ids into mean-pooled, L2-normalised
/// sentence vectors.
#[derive(Debug)]
pub struct Encoder {
    config: Dims,
    weights: BertWeights,
    kernels: Kernels,
}

impl Encoder {
    /// Checks the weights against the dimensions and picks the SIMD kernels
    /// for this CPU.
    pub fn new(config: Dims, weights: BertWeights) -> Result<Self> {
        if config.num_attention_heads == 0 || config.hidden_size % config.num_attention_heads != 0 {
            return Err(Error::model(format!(
                "hidden size {} is not a multiple of {} heads",
                config.hidden_size, config.num_attention_heads
            )));
        }
        weights.check(&config)?;
        Ok(Encoder {
            config,
            weights,
            kernels: Kernels::new(),
        })
    }

    /// The dimensions the encoder was built with.
    pub fn dims(&self) -> &Dims {
        &self.config
    }

    /// One vector per sequence. Sequences must be non-empty, at most
    /// `max_position_embeddings` long, with ids inside the vocabulary.
    pub fn encode(&self, sequences: &[&[u32]], scratch: &mut Scratch) -> Result<Vec<Vec<f32>>> {
        self.check(sequences)?;
        let h = self.config.hidden_size;
        let tokens: usize = sequences.iter().map(|s| s.len()).sum();
        let longest = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        scratch.reserve(tokens, longest, &self.config);
        let Scratch {
            hidden,
            context,
            projected,
            wide,
            scores,
        } = scratch;
        let hidden = &mut hidden[..tokens * h];
        let context = &mut context[..tokens * h];
        let projected = &mut projected[..tokens * h];

        self.embed_tokens(sequences, hidden);
        for layer in &self.weights.layers {
            self.layer(layer, sequences, hidden, context, projected, wide, scores)?;
        }
        Ok(mean_pool(sequences, hidden, h))
    }

    fn check(&self, sequences: &[&[u32]]) -> Result<()> {
        let c = &self.config;
        for seq in sequences {
            if seq.is_empty() || seq.len() > c.max_position_embeddings {
                return Err(Error::model(format!(
                    "a token sequence of length {} is outside 1..={}",
                    seq.len(),
                    c.max_position_embeddings
                )));
            }
            if let Some(id) = seq.iter().find(|&&id| id as usize >= c.vocab_size) {
                return Err(Error::model(format!(
                    "token id {id} is outside the model's vocabulary of {} (tokenizer and weights do not match)",
                    c.vocab_size
                )));
            }
        }
        Ok(())
    }

    /// Word + position + token-type embeddings, then layer norm.
    fn embed_tokens(&self, sequences: &[&[u32]], hidden: &mut [f32]) {
        let h = self.config.hidden_size;
        let w = &self.weights;
        let mut rows = hidden.chunks_exact_mut(h);
        for seq in sequences {
            for (position, (&id, row)) in seq.iter().zip(&mut rows).enumerate() {
                let word = &w.word_embeddings[id as usize * h..][..h];
                let pos = &w.position_embeddings[position * h..][..h];
                for (((out, a), b), c) in row
                    .iter_mut()
                    .zip(word)
                    .zip(pos)
                    .zip(&w.token_type_embedding)
                {
                    *out = a + b + c;
                }
            }
        }
        self.kernels
            .layer_norm(hidden, &self.norm_params(&w.embedding_norm));
    }

    #[allow(clippy::too_many_arguments)]
    fn layer(
        &self,
        layer: &EncoderLayer,
        sequences: &[&[u32]],
        hidden: &mut [f32],
        context: &mut [f32],
        projected: &mut [f32],
        wide: &mut [f32],
        scores: &mut [f32],
    ) -> Result<()> {
        let h = self.config.hidden_size;
        let tokens = hidden.len() / h;

        let qkv = &mut wide[..tokens * 3 * h];
        self.linear(&layer.qkv, hidden, qkv)?;
        self.attention(sequences, qkv, context, scores)?;
        self.project(&layer.attention_out, context, projected)?;
        self.kernels.residual_layer_norm(
            hidden,
            projected,
            &layer.attention_out.bias,
            &self.norm_params(&layer.attention_norm),
        );

        let intermediate = &mut wide[..tokens * self.config.intermediate_size];
        self.project(&layer.intermediate, hidden, intermediate)?;
        self.kernels
            .bias_gelu(intermediate, &layer.intermediate.bias);
        self.project(&layer.output, intermediate, projected)?;
        self.kernels.residual_layer_norm(
            hidden,
            projected,
            &layer.output.bias,
            &self.norm_params(&layer.output_norm),
        );
        Ok(())
    }

    /// `out = input * W + b`.
    fn linear(&self, linear: &Linear, input: &[f32], out: &mut [f32]) -> Result<()> {
        self.project(linear, input, out)?;
        self.kernels.add_bias(out, &linear.bias);
        Ok(())
    }

    /// `out = input * W`; the bias is left to a fused kernel that follows.
    fn project(&self, linear: &Linear, input: &[f32], out: &mut [f32]) -> Result<()> {
        let rows = input.len() / linear.inputs;
        matmul(
            MatMut::row_major(out, rows, linear.outputs)?,
            MatRef::row_major(input, rows, linear.inputs)?,
            MatRef::row_major(&linear.weight, linear.inputs, linear.outputs)?,
            1.0,
        )
    }

    /// Scaled dot-product attention of every head of every sequence, writing
    /// each head's output into its columns of `context`.
    fn attention(
        &self,
        sequences: &[&[u32]],
        qkv: &[f32],
        context: &mut [f32],
        scores: &mut [f32],
    ) -> Result<()> {
        let h = self.config.hidden_size;
        let d = self.config.head_dim();
        let stride = 3 * h;
        let scale = 1.0 / (d as f32).sqrt();
        let mut start = 0;
        for seq in sequences {
            let len = seq.len();
            let rows = &qkv[start * stride..(start + len) * stride];
            let out = &mut context[start * h..(start + len) * h];
            let scores = &mut scores[..len * len];
            for head in 0..self.config.num_attention_heads {
                let q = MatRef::new(&rows[head * d..], len, d, stride, 1)?;
                let k = MatRef::new(&rows[h + head * d..], len, d, stride, 1)?;
                let v = MatRef::new(&rows[2 * h + head * d..], len, d, stride, 1)?;
                matmul(
                    MatMut::row_major(scores, len, len)?,
                    q,
                    k.transposed(),
                    scale,
                )?;
                self.kernels.softmax_rows(scores, len);
                matmul(
                    MatMut::new(&mut out[head * d..], len, d, h)?,
                    MatRef::row_major(scores, len, len)?,
                    v,
                    1.0,
                )?;
            }
            start += len;
        }
        Ok(())
    }

    fn norm_params<'a>(&self, norm: &'a LayerNorm) -> LayerNormParams<'a> {
        LayerNormParams {
            gamma: &norm.gamma,
            beta: &norm.beta,
            eps: self.config.layer_norm_eps as f32,
        }
    }
}

/// Mean over each sequence's tokens, then L2 normalisation.
fn mean_pool(sequences: &[&[u32]], hidden: &[f32], h: usize) -> Vec<Vec<f32>> {
    let mut start = 0;
    sequences
        .iter()
        .map(|seq| {
            let mut mean = vec![0.0f32; h];
            for row in hidden[start * h..(start + seq.len()) * h].chunks_exact(h) {
                for (m, x) in mean.iter_mut().zip(row) {
                    *m += x;
                }
            }
            start += seq.len();
            let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            // The mean's 1/len cancels in the normalisation.
            for m in &mut mean {
                *m /= norm;
            }
            mean
        })
        .collect()
}
