//! Local embedding throughput: 1,000 passages of ~200 tokens, batch 32.
//! `benches/peer/peer.py` times sentence-transformers on the same texts.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vaultiq_core::embedder::LocalEmbedder;

fn embedding(c: &mut Criterion) {
    let embedder = LocalEmbedder::builder()
        .build()
        .expect("local model (run scripts/fetch-model)");
    let passages = vaultiq_benches::passages(1000, 150);
    let mut group = c.benchmark_group("embedding");
    group.sample_size(10);
    group.throughput(Throughput::Elements(passages.len() as u64));
    group.bench_function("minilm_1000x200tok", |b| {
        b.iter(|| embedder.embed_blocking(&passages).map(|v| v.len()))
    });
    group.finish();
}

criterion_group!(benches, embedding);
criterion_main!(benches);
