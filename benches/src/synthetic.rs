//! Synthetic stores for latency benchmarks: random unit vectors (384-d)
//! and generated IT-flavoured text for the keyword side.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultiq_core::store::{EmbeddedStore, IndexedDocument, VectorStore};
use vaultiq_core::{Chunk, Document, SourceType};

/// Vector size of all-MiniLM-L6-v2.
pub const DIM: usize = 384;
/// Chunks per synthetic document.
pub const CHUNKS_PER_DOC: usize = 10;
/// Documents per upsert when a bench fills a store.
pub const DOCS_PER_WRITE: usize = 500;

/// A random unit vector.
pub fn unit_vector(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

/// The synthetic corpus of `chunks` chunks (10 per document, real-looking
/// passages, random unit vectors), the same for every store and run.
pub fn documents(chunks: usize) -> Vec<IndexedDocument> {
    let mut rng = StdRng::seed_from_u64(3);
    let texts = crate::passages(2000, 60);
    (0..chunks.div_ceil(CHUNKS_PER_DOC))
        .map(|d| {
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
            IndexedDocument {
                document: doc,
                chunks: doc_chunks,
                vectors,
            }
        })
        .collect()
}

/// Opens a store in `dir` holding `chunks` chunks (10 per document).
pub async fn build_store(dir: &Path, chunks: usize) -> vaultiq_core::Result<EmbeddedStore> {
    let store = EmbeddedStore::open(dir)?;
    for batch in documents(chunks).chunks(DOCS_PER_WRITE) {
        store.upsert(batch).await?;
    }
    Ok(store)
}

/// Distinct words of the Zipfian keyword corpus.
pub const ZIPF_VOCABULARY: usize = 50_000;
/// Words per generated keyword chunk (an 800-character passage has ~120).
pub const ZIPF_CHUNK_WORDS: usize = 80;
/// Consonant-vowel syllables of the made-up words; no `e`, `s` or `y`, so
/// the English stemmer leaves almost every word whole.
const CONSONANTS: &[u8] = b"bdfgklmnprtvz";
const VOWELS: &[u8] = b"aiou";

/// The made-up word of frequency rank `rank` (two or more syllables).
pub fn zipf_word(rank: usize) -> String {
    let base = CONSONANTS.len() * VOWELS.len();
    let mut n = rank + base;
    let mut syllables = Vec::new();
    while n > 0 {
        let s = n % base;
        syllables.push([CONSONANTS[s / VOWELS.len()], VOWELS[s % VOWELS.len()]]);
        n /= base;
    }
    syllables
        .iter()
        .rev()
        .flatten()
        .map(|b| *b as char)
        .collect()
}

/// Text whose word frequencies follow Zipf's law (exponent 1) over
/// [`ZIPF_VOCABULARY`] words, as natural language does: a few words occur
/// in most chunks, most words in very few.
#[derive(Debug)]
pub struct ZipfText {
    words: Vec<String>,
    cumulative: Vec<f64>,
    rng: StdRng,
}

impl ZipfText {
    /// A deterministic generator.
    pub fn new(seed: u64) -> Self {
        let words = (0..ZIPF_VOCABULARY).map(zipf_word).collect();
        let mut total = 0.0;
        let cumulative = (1..=ZIPF_VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        ZipfText {
            words,
            cumulative,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// One word drawn by frequency.
    pub fn word(&mut self) -> &str {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = self.rng.random_range(0.0..total);
        let rank = self.cumulative.partition_point(|c| *c < x);
        &self.words[rank.min(self.words.len() - 1)]
    }

    /// A passage of `words` words.
    pub fn passage(&mut self, words: usize) -> String {
        let mut out = String::with_capacity(words * 8);
        for i in 0..words {
            if i > 0 {
                out.push(' ');
            }
            let word = self.word().to_string();
            out.push_str(&word);
        }
        out
    }

    /// Queries of two to five words mixing frequency bands, the way a
    /// question mixes common words with the rare one that matters: one
    /// common word (rank 10..200), one or two mid-frequency words
    /// (200..5,000) and up to two rare ones (5,000..50,000).
    pub fn mixed_queries(&mut self, count: usize) -> Vec<String> {
        (0..count)
            .map(|_| {
                let mut terms = vec![self.words[self.rng.random_range(10..200)].clone()];
                for _ in 0..self.rng.random_range(1..3) {
                    terms.push(self.words[self.rng.random_range(200..5_000)].clone());
                }
                for _ in 0..self.rng.random_range(0..3) {
                    terms.push(self.words[self.rng.random_range(5_000..ZIPF_VOCABULARY)].clone());
                }
                terms.join(" ")
            })
            .collect()
    }

    /// The worst case: four of the twenty most frequent words, each in
    /// most chunks (what the 38-word corpus of [`build_store`] measures).
    pub fn common_queries(&mut self, count: usize) -> Vec<String> {
        (0..count)
            .map(|_| {
                (0..4)
                    .map(|_| self.words[self.rng.random_range(0..20)].clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

/// Opens a store in `dir` holding `texts` as chunks (10 per document) with
/// tiny vectors: for keyword benchmarks, where the vectors only cost time.
pub async fn build_keyword_store(
    dir: &Path,
    texts: &[String],
) -> vaultiq_core::Result<EmbeddedStore> {
    let store = EmbeddedStore::open(dir)?;
    let mut batch = Vec::with_capacity(DOCS_PER_WRITE);
    for (d, doc_texts) in texts.chunks(CHUNKS_PER_DOC).enumerate() {
        let doc = Document::new(
            SourceType::Files,
            "bench",
            &format!("doc{d}"),
            String::new(),
            "",
        );
        let chunks = doc_texts
            .iter()
            .enumerate()
            .map(|(i, text)| Chunk::new(&doc, i as u32, text.clone(), vec![], 0))
            .collect();
        let vectors = doc_texts.iter().map(|_| vec![1.0, 0.0, 0.0, 0.0]).collect();
        batch.push(IndexedDocument {
            document: doc,
            chunks,
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
