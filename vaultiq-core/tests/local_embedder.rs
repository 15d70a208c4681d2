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

/// Texts are packed end to end and split over worker threads: neither the
/// batch they share, the thread count nor truncation of long texts may
/// change a text's vector.
#[tokio::test]
async fn packing_and_threads_do_not_change_vectors() {
    let long = "The certificate rotation runbook lists every step. ".repeat(80);
    let texts: Vec<String> = [
        "short",
        "",
        long.as_str(),
        "How do I rotate the TLS certificates on the load balancer?",
        "Restart the ingest worker after changing its queue settings; the old consumer keeps its lease until it times out.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let two = LocalEmbedder::builder()
        .threads(2)
        .batch_size(8)
        .build()
        .expect("model");
    let one = LocalEmbedder::builder()
        .threads(1)
        .batch_size(1)
        .build()
        .expect("model");
    let together = two.embed_blocking(&texts).expect("embed");
    let apart = one.embed_blocking(&texts).expect("embed");
    assert_eq!(together.len(), texts.len());
    for (i, (a, b)) in together.iter().zip(&apart).enumerate() {
        assert_eq!(a.len(), 384);
        assert!(cosine(a, b) > 0.99999, "text {i}: {}", cosine(a, b));
    }
    // Different texts get clearly different vectors.
    assert!(cosine(&together[3], &together[4]) < 0.9);
    // Beyond 256 word pieces the text is truncated, not rejected.
    let longer = format!("{long}{long}");
    let truncated = one.embed_blocking(&[longer]).expect("embed long");
    assert!(cosine(&truncated[0], &together[2]) > 0.99999);
}
