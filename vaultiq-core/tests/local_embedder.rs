//! The local embedder against sentence-transformers' own vectors
//! (tests/fixtures/minilm_reference.json, made by
//! scripts/gen_embedding_fixture.py), and its errors on bad model folders.
//! Needs the model: `scripts/fetch-model` (run by `make test`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use vaultiq_core::embedder::{EmbedKind, Embedder, LocalEmbedder};
use vaultiq_core::Error;

fn reference() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path).expect("reference fixture");
    serde_json::from_str(&text).expect("reference JSON")
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

#[tokio::test]
async fn matches_sentence_transformers() {
    let embedder = LocalEmbedder::builder()
        .build()
        .expect("model (run scripts/fetch-model)");
    assert_eq!(embedder.dimension(), 384);
    let reference = reference();
    let sentences: Vec<String> = reference["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s.as_str().expect("sentence").to_string())
        .collect();
    assert!(sentences.len() >= 20);
    let vectors = embedder
        .embed(&sentences, EmbedKind::Document)
        .await
        .expect("embed");
    for (i, (sentence, vector)) in sentences.iter().zip(&vectors).enumerate() {
        let expected: Vec<f32> = reference["embeddings"][i]
            .as_array()
            .expect("vector")
            .iter()
            .map(|x| x.as_f64().expect("float") as f32)
            .collect();
        let similarity = cosine(vector, &expected);
        assert!(
            similarity >= 0.999,
            "sentence {i} ({sentence:?}): cosine {similarity}"
        );
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "vectors are L2-normalised");
    }
    // Batch composition must not change a text's vector (padding is masked).
    let alone = embedder
        .embed(&sentences[..1], EmbedKind::Query)
        .await
        .expect("embed one");
    assert!(cosine(&alone[0], &vectors[0]) > 0.99999);
}

#[tokio::test]
async fn missing_model_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = LocalEmbedder::builder()
        .model_dir(dir.path())
        .build()
        .expect_err("no model");
    let message = err.to_string();
    assert!(matches!(err, Error::Model { .. }));
    assert!(
        message.contains("config.json") && message.contains("fetch-model"),
        "{message}"
    );
}

#[tokio::test]
async fn corrupt_weights_are_a_clear_error() {
    let source = LocalEmbedder::builder()
        .build()
        .expect("model")
        .model_dir()
        .to_path_buf();
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["config.json", "tokenizer.json"] {
        std::fs::copy(source.join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::write(
        dir.path().join("model.safetensors"),
        b"not a safetensors file",
    )
    .expect("write");
    let err = LocalEmbedder::builder()
        .model_dir(dir.path())
        .build()
        .expect_err("corrupt");
    assert!(err.to_string().contains("model.safetensors"), "{err}");

    std::fs::write(dir.path().join("tokenizer.json"), b"{broken").expect("write");
    let err = LocalEmbedder::builder()
        .model_dir(dir.path())
        .build()
        .expect_err("corrupt");
    assert!(err.to_string().contains("tokenizer"), "{err}");
}
