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
