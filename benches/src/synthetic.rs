//! Synthetic stores for latency benchmarks: random unit vectors (384-d)
//! and generated IT-flavoured text for the keyword side.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultiq_core::store::{EmbeddedStore, IndexedDocument, VectorStore};
use vaultiq_core::{Chunk, Document, SourceType};

/// Vector size of all-MiniLM-L6-v2.
pub const DIM: usize = 384;
const CHUNKS_PER_DOC: usize = 10;
const DOCS_PER_WRITE: usize = 500;

/// A random unit vector.
pub fn unit_vector(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// Opens a store in `dir` holding `chunks` chunks (10 per document).
pub async fn build_store(dir: &Path, chunks: usize) -> vaultiq_core::Result<EmbeddedStore> {
    let store = EmbeddedStore::open(dir)?;
    let mut rng = StdRng::seed_from_u64(3);
    let texts = crate::passages(2000, 60);
    let mut batch = Vec::with_capacity(DOCS_PER_WRITE);
    for d in 0..chunks.div_ceil(CHUNKS_PER_DOC) {
        let doc = Document::new(
            SourceType::Files,
            "bench",
            &format!("doc{d}"),
            format!("Doc {d}"),
            "",
        );
        let doc_chunks: Vec<Chunk> = (0..CHUNKS_PER_DOC)
            .map(|i| {
                let text = texts[(d * CHUNKS_PER_DOC + i) % texts.len()].clone();
                Chunk::new(&doc, i as u32, text, vec![], 0)
            })
            .collect();
        let vectors = (0..CHUNKS_PER_DOC).map(|_| unit_vector(&mut rng)).collect();
        batch.push(IndexedDocument {
            document: doc,
            chunks: doc_chunks,
            vectors,
        });
        if batch.len() == DOCS_PER_WRITE {
            store.upsert(&batch).await?;
            batch.clear();
        }
    }
    store.upsert(&batch).await?;
    Ok(store)
}

/// A standard normal sample (Box-Muller), so the benches need no extra crate.
fn normal(rng: &mut StdRng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn normalise(v: &mut [f32]) {
    let norm = v
        .iter()
        .map(|x| x * x)
        .sum::<f32>()
        .sqrt()
        .max(f32::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// A Gaussian mixture shaped like sentence embeddings: unit-vector cluster
/// centres, and inside each cluster a low-rank Gaussian (a few principal
/// directions, as real embeddings have a low intrinsic dimension) plus a
/// small isotropic Gaussian; every sample is normalised. Points sit at
/// cosine ~0.85 from their centre and ~0.7 from each other, as
/// all-MiniLM-L6-v2 passages on one topic do.
#[derive(Debug)]
pub struct GaussianMixture {
    centres: Vec<Vec<f32>>,
    /// `directions[k]` holds the cluster's principal directions.
    directions: Vec<Vec<Vec<f32>>>,
    spread: f32,
    noise: f32,
}

impl GaussianMixture {
    /// Principal directions per cluster.
    pub const RANK: usize = 16;

    /// `clusters` components of dimension [`DIM`], drawn from `seed`.
    pub fn new(clusters: usize, seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let unit = |rng: &mut StdRng| {
            let mut v: Vec<f32> = (0..DIM).map(|_| normal(rng)).collect();
            normalise(&mut v);
            v
        };
        let centres: Vec<Vec<f32>> = (0..clusters).map(|_| unit(&mut rng)).collect();
        let directions = (0..clusters)
            .map(|_| (0..Self::RANK).map(|_| unit(&mut rng)).collect())
            .collect();
        GaussianMixture {
            centres,
            directions,
            spread: 0.15,
            noise: 0.01,
        }
    }

    /// One normalised sample from a component chosen uniformly.
    pub fn sample(&self, rng: &mut StdRng) -> Vec<f32> {
        let k = rng.random_range(0..self.centres.len());
        let mut v = self.centres[k].clone();
        for direction in &self.directions[k] {
            let a = normal(rng) * self.spread;
            v.iter_mut().zip(direction).for_each(|(x, d)| *x += a * d);
        }
        v.iter_mut().for_each(|x| *x += normal(rng) * self.noise);
        normalise(&mut v);
        v
    }
}

/// Opens a store in `dir` (with `options`) holding `chunks` chunks drawn
/// from `mixture` with `seed`, 10 per document (document `doc{d}` holds
/// samples `10 d .. 10 d + 9`), texts from [`crate::passages`]. Calls
/// `each` with every sample in order so callers can compute exact answers
/// without keeping the vectors.
pub async fn build_mixture_store(
    dir: &Path,
    options: vaultiq_core::store::EmbeddedStoreOptions,
    chunks: usize,
    mixture: &GaussianMixture,
    seed: u64,
    mut each: impl FnMut(usize, &[f32]),
) -> vaultiq_core::Result<EmbeddedStore> {
    let store = EmbeddedStore::open_with(dir, options)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let texts = crate::passages(2000, 40);
    let mut batch = Vec::with_capacity(DOCS_PER_WRITE);
    let mut produced = 0;
    for d in 0..chunks.div_ceil(CHUNKS_PER_DOC) {
        let doc = Document::new(
            SourceType::Files,
            "bench",
            &format!("doc{d}"),
            format!("Doc {d}"),
            "",
        );
        let count = CHUNKS_PER_DOC.min(chunks - produced);
        let doc_chunks: Vec<Chunk> = (0..count)
            .map(|i| {
                let text = texts[(d * CHUNKS_PER_DOC + i) % texts.len()].clone();
                Chunk::new(&doc, i as u32, text, vec![], 0)
            })
            .collect();
        let vectors: Vec<Vec<f32>> = (0..count)
            .map(|i| {
                let v = mixture.sample(&mut rng);
                each(produced + i, &v);
                v
            })
            .collect();
        produced += count;
        batch.push(IndexedDocument {
            document: doc,
            chunks: doc_chunks,
            vectors,
        });
        if batch.len() == DOCS_PER_WRITE {
            store.upsert(&batch).await?;
            batch.clear();
        }
    }
    store.upsert(&batch).await?;
    Ok(store)
}

/// The sample index of a chunk stored by [`build_mixture_store`].
pub fn sample_index(document_id: &str, ordinal: u32) -> Option<usize> {
    let d: usize = document_id.rsplit("doc").next()?.parse().ok()?;
    Some(d * CHUNKS_PER_DOC + ordinal as usize)
}
