//! Embedded store search latency at 10k and 100k chunks (synthetic
//! normalised vectors; generated text for the keyword side). The
//! `search-latency` binary reports p50/p99 of the same searches.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand::rngs::StdRng;
use rand::SeedableRng;
use vaultiq_benches::synthetic::{build_store, unit_vector};
use vaultiq_core::store::{Filter, VectorStore};

fn search(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut group = c.benchmark_group("search");
    group.sample_size(30);
    for size in [10_000usize, 100_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = rt.block_on(build_store(dir.path(), size)).expect("store");
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
