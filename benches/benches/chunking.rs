//! Chunking throughput on 10 MB of mixed text (LangChain defaults 1000/200).
//! `benches/peer/peer.py` times langchain-text-splitters on the same text.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vaultiq_core::chunker::{Chunker, RecursiveChunker, RecursiveTextSplitter};
use vaultiq_core::{Document, SourceType};

fn chunking(c: &mut Criterion) {
    let text = vaultiq_benches::mixed_text(10 * 1024 * 1024);
    let mut group = c.benchmark_group("chunking");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(text.len() as u64));
    let splitter = RecursiveTextSplitter::new(1000, 200).expect("valid settings");
    group.bench_function("recursive_split_10mb", |b| {
        b.iter(|| splitter.split_text(&text).len())
    });
    let chunker = RecursiveChunker::builder().build().expect("valid settings");
    let doc = Document::new(
        SourceType::Files,
        "bench",
        "mixed.md",
        "Mixed",
        text.clone(),
    );
    group.bench_function("markdown_chunker_10mb", |b| {
        b.iter(|| chunker.chunk(&doc).map(|c| c.len()))
    });
    group.finish();
}

criterion_group!(benches, chunking);
criterion_main!(benches);
