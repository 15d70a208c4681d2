//! Runs the `vaultiq-bert` encoder for the local embedder: loads the
//! config and weights, and spreads each batch over worker threads, each
//! running whole sequences so the cores never wait on each other inside a
//! layer.

mod config;
mod weights;

use std::path::Path;
use std::sync::Mutex;

pub(crate) use config::BertConfig;
use vaultiq_bert::{Encoder, Scratch};

use crate::{Error, Result};

/// Tokens one worker packs into a pass: large enough for efficient matrix
/// products, small enough that its buffers (~11 KB per token for MiniLM)
/// stay modest whatever batch size callers pick.
const TOKENS_PER_PASS: usize = 2048;

/// A vector with the index of the sequence it belongs to.
type Indexed = (usize, Vec<f32>);

/// A BERT model plus the buffers and threads that run it.
#[derive(Debug)]
pub(crate) struct BertModel {
    encoder: Encoder,
    scratch: Mutex<Vec<Scratch>>,
    threads: usize,
}

impl BertModel {
    /// Loads `model.safetensors` from `dir`, checking it against `config`.
    pub(crate) fn load(dir: &Path, config: BertConfig, threads: usize) -> Result<Self> {
        let path = dir.join("model.safetensors");
        let weights = weights::load_weights(&path, &config)?;
        let encoder = Encoder::new(config.dims(), weights)
            .map_err(|e| Error::model(format!("model weights {}: {e}", path.display())))?;
        Ok(BertModel {
            encoder,
            scratch: Mutex::new(Vec::new()),
            threads: threads.max(1),
        })
    }

    /// One L2-normalised mean-pooled vector per token sequence, in order.
    /// Sequences are spread over the worker threads by estimated cost.
    pub(crate) fn embed(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let groups = self.assign(sequences);
        let results: Vec<Result<Vec<Indexed>>> = if groups.len() <= 1 {
            groups
                .iter()
                .map(|g| self.run_group(sequences, g))
                .collect()
        } else {
            std::thread::scope(|scope| {
                let (first, rest) = groups.split_at(1);
                let handles: Vec<_> = rest
                    .iter()
                    .map(|g| scope.spawn(move || self.run_group(sequences, g)))
                    .collect();
                let mut results: Vec<_> =
                    first.iter().map(|g| self.run_group(sequences, g)).collect();
                for handle in handles {
                    results.push(handle.join().unwrap_or_else(|_| {
                        Err(Error::model("an embedding worker thread panicked"))
                    }));
                }
                results
            })
        };
        let mut out = vec![Vec::new(); sequences.len()];
        for result in results {
            for (index, vector) in result? {
                out[index] = vector;
            }
        }
        Ok(out)
    }

    /// Splits sequence indices into at most `threads` groups of similar
    /// cost (longest first onto the least loaded worker), each sorted by
    /// length so a pass packs similar sequences.
    fn assign(&self, sequences: &[&[u32]]) -> Vec<Vec<usize>> {
        let c = self.encoder.dims();
        // Per token: the linear layers cost ~2*hidden + intermediate
        // multiply-adds per hidden unit, attention ~len.
        let per_token = 2 * c.hidden_size + c.intermediate_size;
        let cost = |i: usize| sequences[i].len() * (sequences[i].len() + per_token);
        let mut order: Vec<usize> = (0..sequences.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(sequences[i].len()));
        let workers = self.threads.min(sequences.len());
        let mut groups: Vec<(usize, Vec<usize>)> = vec![(0, Vec::new()); workers];
        for i in order {
            if let Some(group) = groups.iter_mut().min_by_key(|g| g.0) {
                group.0 += cost(i);
                group.1.push(i);
            }
        }
        groups
            .into_iter()
            .map(|g| g.1)
            .filter(|g| !g.is_empty())
            .collect()
    }

    /// Runs one worker's sequences in passes of about `TOKENS_PER_PASS`.
    fn run_group(&self, sequences: &[&[u32]], group: &[usize]) -> Result<Vec<Indexed>> {
        let mut scratch = self.take_scratch();
        let mut out = Vec::with_capacity(group.len());
        let mut start = 0;
        while start < group.len() {
            let mut end = start;
            let mut tokens = 0;
            while end < group.len()
                && (end == start || tokens + sequences[group[end]].len() <= TOKENS_PER_PASS)
            {
                tokens += sequences[group[end]].len();
                end += 1;
            }
            let pass: Vec<&[u32]> = group[start..end].iter().map(|&i| sequences[i]).collect();
            let vectors = self
                .encoder
                .encode(&pass, &mut scratch)
                .map_err(|e| Error::model(format!("embedding failed: {e}")));
            let vectors = match vectors {
                Ok(v) => v,
                Err(e) => {
                    self.return_scratch(scratch);
                    return Err(e);
                }
            };
            out.extend(group[start..end].iter().copied().zip(vectors));
            start = end;
        }
        self.return_scratch(scratch);
        Ok(out)
    }

    fn take_scratch(&self) -> Scratch {
        let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        pool.pop().unwrap_or_default()
    }

    fn return_scratch(&self, scratch: Scratch) {
        let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        // Keep one set per worker; extra ones from concurrent callers go.
        if pool.len() < self.threads {
            pool.push(scratch);
        }
    }
}
