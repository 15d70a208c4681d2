//! The sample corpus answers its question set: every answerable question
//! finds an expected document in the top 3 hits and gets a grounded answer
//! citing it; every off-topic question gets "nothing relevant".

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde::Deserialize;
use vaultiq_core::answerer::NO_ANSWER_TEXT;
use vaultiq_core::Query;
use vaultiq_tests::{local_kb, repo_root, sample_corpus};

#[derive(Debug, Deserialize)]
struct Question {
    question: String,
    expected: Vec<String>,
}

#[tokio::test]
async fn questions_find_their_documents() {
    let text = std::fs::read_to_string(repo_root().join("tests/fixtures/sample_questions.json"))
        .expect("question file");
    let questions: Vec<Question> = serde_json::from_str(&text).expect("question JSON");
    let answerable = questions.iter().filter(|q| !q.expected.is_empty()).count();
    assert!(questions.len() >= 20 && questions.len() - answerable >= 5);

    let dir = tempfile::tempdir().expect("tempdir");
    let kb = local_kb(dir.path());
    let report = kb
        .ingest_dir("samples", sample_corpus())
        .await
        .expect("ingest");
    assert!(report.indexed() >= 30, "indexed {}", report.indexed());

    let mut failures = Vec::new();
    for q in &questions {
        let result = kb.ask(&Query::new(q.question.as_str())).await.expect("ask");
        let expected: Vec<String> = q
            .expected
            .iter()
            .map(|p| format!("files:samples:{p}"))
            .collect();
        if expected.is_empty() {
            if result.answer.grounded || result.answer.text != NO_ANSWER_TEXT {
                let best = result
                    .hits
                    .first()
                    .map(|h| (h.document.id.clone(), h.relevance_score));
                failures.push(format!(
                    "off-topic {:?} was answered (best hit {best:?})",
                    q.question
                ));
            }
            continue;
        }
        let top3: Vec<&str> = result
            .hits
            .iter()
            .take(3)
            .map(|h| h.document.id.as_str())
            .collect();
        if !top3.iter().any(|id| expected.iter().any(|e| e == id)) {
            failures.push(format!(
                "{:?}: expected {expected:?} in top 3, got {top3:?}",
                q.question
            ));
            continue;
        }
        if result.answer.text.trim().is_empty() || result.answer.citations.is_empty() {
            failures.push(format!(
                "{:?}: empty answer or no citation: {:?}",
                q.question, result.answer.text
            ));
        }
        if !result.answer.grounded {
            failures.push(format!(
                "{:?}: no answer (best relevance {:?})",
                q.question,
                result.hits.first().map(|h| h.relevance_score)
            ));
        }
        for citation in &result.answer.citations {
            assert!(
                result.hits.iter().any(|h| h.chunk.id == citation.chunk_id),
                "citation {} is not one of the hits",
                citation.chunk_id
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} questions failed:\n{}",
        failures.len(),
        questions.len(),
        failures.join("\n")
    );
}
