//! Embedded store search latency at 10k and 100k chunks (synthetic
//! normalised vectors; generated text for the keyword side).

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use vaultiq_core::store::{EmbeddedStore, Filter, IndexedDocument, VectorStore};
use vaultiq_core::{Chunk, Document, SourceType};

const DIM: usize = 384;

fn unit_vector(rng: &mut StdRng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / norm).collect()
}

fn build(dir: &std::path::Path, chunks: usize, rt: &tokio::runtime::Runtime) -> Arc<EmbeddedStore> {
    let store = Arc::new(EmbeddedStore::open(dir).expect("open store"));
    let mut rng = StdRng::seed_from_u64(3);
    let texts = vaultiq_benches::passages(2000, 60);
    let per_doc = 10;
    let batch: Vec<IndexedDocument> = Vec::new();
    let mut batch = batch;
    for d in 0..chunks / per_doc {
        let doc = Document::new(
            SourceType::Files,
            "bench",
            &format!("doc{d}"),
            format!("Doc {d}"),
            "",
        );
        let doc_chunks: Vec<Chunk> = (0..per_doc)
            .map(|i| {
                Chunk::new(
                    &doc,
                    i as u32,
                    texts[(d * per_doc + i) % texts.len()].clone(),
                    vec![],
                    0,
                )
            })
            .collect();
        let vectors = (0..per_doc).map(|_| unit_vector(&mut rng)).collect();
        batch.push(IndexedDocument {
            document: doc,
            chunks: doc_chunks,
            vectors,
        });
        if batch.len() == 500 {
            rt.block_on(store.upsert(&batch)).expect("upsert");
            batch.clear();
        }
    }
    rt.block_on(store.upsert(&batch)).expect("upsert");
    store
}

fn search(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("search");
    group.sample_size(30);
    for size in [10_000usize, 100_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = build(dir.path(), size, &rt);
        let mut rng = StdRng::seed_from_u64(5);
        let queries: Vec<Vec<f32>> = (0..64).map(|_| unit_vector(&mut rng)).collect();
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("vector_top10", size), &size, |b, _| {
            b.iter(|| {
                i = (i + 1) % queries.len();
                rt.block_on(store.vector_search(&queries[i], 10, &Filter::default()))
                    .map(|h| h.len())
            })
        });
        group.bench_with_input(BenchmarkId::new("keyword_top10", size), &size, |b, _| {
            b.iter(|| {
                rt.block_on(store.keyword_search(
                    "restore the postgres backup after incident",
                    10,
                    &Filter::default(),
                ))
                .map(|h| h.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
