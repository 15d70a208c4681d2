//! The evaluation harness end to end on a small generated BEIR-style set:
//! real sync pipeline, real local model, every search mode, and metrics
//! that must come out computed and sane.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;

use vaultiq_benches::beir::{BeirDataset, BeirDoc};
use vaultiq_benches::eval::{evaluate, EvalOptions};
use vaultiq_benches::synthetic::ZipfText;
use vaultiq_core::embedder::LocalEmbedder;

const DOCS: usize = 200;
const QUERIES: usize = 40;

/// Documents of Zipfian words; each query is the three rarest words of one
/// document plus a common one. That document is highly relevant (2), any
/// other holding two of the three rare words somewhat (1).
fn dataset() -> BeirDataset {
    let mut text = ZipfText::new(21);
    let corpus: Vec<BeirDoc> = (0..DOCS)
        .map(|i| BeirDoc {
            id: format!("d{i}"),
            title: text.passage(3),
            text: text.passage(20),
        })
        .collect();
    let words_of = |d: &BeirDoc| -> Vec<String> {
        format!("{} {}", d.title, d.text)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let mut df: HashMap<String, usize> = HashMap::new();
    for doc in &corpus {
        let mut words = words_of(doc);
        words.sort();
        words.dedup();
        for w in words {
            *df.entry(w).or_insert(0) += 1;
        }
    }
    let common = df
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(w, _)| w.clone())
        .unwrap();
    let mut queries = Vec::new();
    let mut qrels = HashMap::new();
    for q in 0..QUERIES {
        let target = &corpus[(q * 7) % DOCS];
        let mut words = words_of(target);
        words.sort();
        words.dedup();
        words.sort_by_key(|w| (df[w], w.clone()));
        let rare: Vec<String> = words.into_iter().take(3).collect();
        let mut judged = HashMap::from([(target.id.clone(), 2)]);
        for doc in &corpus {
            let words = words_of(doc);
            if doc.id != target.id && rare.iter().filter(|r| words.contains(r)).count() >= 2 {
                judged.insert(doc.id.clone(), 1);
            }
        }
        let id = format!("q{q}");
        queries.push((id.clone(), format!("{} {}", rare.join(" "), common)));
        qrels.insert(id, judged);
    }
    BeirDataset {
        name: "smoke".into(),
        corpus,
        queries,
        qrels,
    }
}

#[tokio::test]
async fn harness_computes_sane_metrics_on_a_small_set() {
    let dataset = dataset();
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(LocalEmbedder::builder().build().expect("local model"));
    let report = evaluate(
        &dataset,
        model,
        dir.path(),
        &EvalOptions::default(),
        &|_, _, _| {},
    )
    .await
    .expect("evaluation");

    eprintln!("{}", report.to_json());
    assert_eq!((report.docs, report.queries), (DOCS, QUERIES));
    let labels: Vec<&str> = report.modes.iter().map(|m| m.0).collect();
    assert_eq!(labels, ["keyword", "vector", "hybrid"]);
    for (label, m) in &report.modes {
        for value in [m.ndcg_at_10, m.recall_at_100, m.mrr_at_10] {
            assert!((0.0..=1.0).contains(&value), "{label}: {m:?}");
        }
        // A random ranking of 300 documents scores about 0.01.
        assert!(
            m.ndcg_at_10 > 0.2,
            "{label} is no better than chance: {m:?}"
        );
        assert!(m.recall_at_100 >= m.ndcg_at_10 * 0.5, "{label}: {m:?}");
    }
    let keyword = report.modes[0].1;
    assert!(
        keyword.ndcg_at_10 > 0.8,
        "BM25 finds rare exact words: {keyword:?}"
    );
    assert!(keyword.mrr_at_10 > 0.8, "{keyword:?}");
    let hybrid = report.modes[2].1;
    assert!(
        hybrid.ndcg_at_10 > 0.3,
        "fusion keeps most of BM25's wins: {hybrid:?}"
    );

    assert!(report.ingest_seconds > 0.0 && report.embed_seconds > 0.0);
    assert!(report.embed_seconds <= report.ingest_seconds, "{report:?}");
    assert!(report.docs_per_second() > 0.0);
    assert!(report.query_p50_ms > 0.0 && report.query_p50_ms <= report.query_p99_ms);

    let json = report.to_json();
    for key in ["keyword", "vector", "hybrid"] {
        assert!(json[key]["ndcg@10"].is_f64(), "{json}");
    }
    assert_eq!(json["docs"], DOCS);
    assert!(json["pipeline_overhead"].is_f64(), "{json}");
}

#[tokio::test]
async fn keyword_only_runs_without_the_model() {
    let dataset = dataset();
    let dir = tempfile::tempdir().unwrap();
    let options = EvalOptions {
        keyword_only: true,
        ..EvalOptions::default()
    };
    let report = evaluate(
        &dataset,
        Arc::new(vaultiq_benches::eval::NoEmbedder),
        dir.path(),
        &options,
        &|_, _, _| {},
    )
    .await
    .expect("evaluation");
    assert_eq!(report.modes.len(), 1);
    assert!(report.modes[0].1.ndcg_at_10 > 0.8, "{report:?}");
}
