//! The Bedrock embedder and answerer with the real AWS SDK client against
//! the loopback Bedrock emulator, and the emulator's own rejections.
//!
//! Each behaviour test also runs against the real service when
//! `VAULTIQ_TEST_AWS=1` and `AWS_REGION` are set (credentials from the
//! standard chain); otherwise that variant prints why it is skipped. Tests
//! that need injected faults run against the emulator only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures::StreamExt;
use serde_json::{json, Value};
use vaultiq_core::answerer::{
    AnswerEvent, Answerer, BedrockAnswerer, BedrockAnswererBuilder, DEFAULT_SYSTEM_PROMPT,
    NO_ANSWER_TEXT,
};
use vaultiq_core::aws::AwsSettings;
use vaultiq_core::embedder::{
    BedrockEmbedder, BedrockEmbedderBuilder, EmbedKind, Embedder, TITAN_V1,
};
use vaultiq_core::{Chunk, Document, Error, Hit, SourceType};
use vaultiq_tests::bedrock_emulator::{expected_embedding, BedrockEmulator, Fault};

/// Client settings of the real service, when asked for.
fn real_bedrock(test: &str) -> Option<AwsSettings> {
    if std::env::var("VAULTIQ_TEST_AWS").as_deref() == Ok("1") {
        let region = std::env::var("AWS_REGION").expect("VAULTIQ_TEST_AWS=1 needs AWS_REGION");
        Some(AwsSettings::default().with_region(region))
    } else {
        eprintln!(
            "skipping the real-Bedrock variant of {test}: set VAULTIQ_TEST_AWS=1 and AWS_REGION"
        );
        None
    }
}

fn emulator_only(test: &str) {
    eprintln!("{test} injects faults, so it runs against the emulator only");
}

/// Short waits so retry tests stay fast.
fn embedder(settings: AwsSettings) -> BedrockEmbedderBuilder {
    BedrockEmbedder::builder()
        .settings(settings)
        .backoff(Duration::from_millis(1), Duration::from_millis(20))
}

fn answerer(settings: AwsSettings) -> BedrockAnswererBuilder {
    BedrockAnswerer::builder()
        .settings(settings)
        .backoff(Duration::from_millis(1), Duration::from_millis(20))
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn model_error(result: vaultiq_core::Result<impl std::fmt::Debug>) -> (String, bool) {
    match result {
        Err(Error::Model { message, retryable }) => (message, retryable),
        other => panic!("expected a model error, got {other:?}"),
    }
}

async fn v2_dimensions_and_normalisation(settings: AwsSettings) {
    let input = texts(&[
        "Rotate the TLS certificates with certctl rotate",
        "Clean docker images when the disk is full",
    ]);
    for dimensions in [256, 512, 1024] {
        let e = embedder(settings.clone())
            .dimensions(dimensions)
            .build()
            .unwrap();
        assert_eq!(e.dimension(), dimensions);
        assert!(e.model_id().contains(&format!("dims={dimensions}")));
        let vectors = e.embed(&input, EmbedKind::Document).await.unwrap();
        assert_eq!(vectors.len(), 2);
        for v in &vectors {
            assert_eq!(v.len(), dimensions);
            assert!((norm(v) - 1.0).abs() < 1e-3, "normalised by default");
        }
    }
    let raw = embedder(settings).normalize(false).build().unwrap();
    assert!(raw.model_id().contains("normalize=false"));
    let vectors = raw.embed(&input, EmbedKind::Query).await.unwrap();
    assert!(vectors.iter().all(|v| v.len() == 1024));
    assert!(vectors.iter().any(|v| (norm(v) - 1.0).abs() > 1e-3));
}

#[tokio::test]
async fn titan_v2_offers_three_sizes_and_normalises() {
    let emulator = BedrockEmulator::start().await;
    v2_dimensions_and_normalisation(emulator.settings()).await;
    if let Some(real) = real_bedrock("titan_v2_offers_three_sizes_and_normalises") {
        v2_dimensions_and_normalisation(real).await;
    }
}

async fn v1_fixed_size(settings: AwsSettings) {
    let e = embedder(settings.clone())
        .model_id(TITAN_V1)
        .build()
        .unwrap();
    assert_eq!(e.dimension(), 1536);
    let vectors = e
        .embed(&texts(&["VPN does not connect"]), EmbedKind::Query)
        .await
        .unwrap();
    assert_eq!(vectors[0].len(), 1536);
    for bad in [
        embedder(settings.clone())
            .model_id(TITAN_V1)
            .dimensions(1024)
            .build(),
        embedder(settings.clone())
            .model_id(TITAN_V1)
            .normalize(true)
            .build(),
        embedder(settings.clone()).dimensions(384).build(),
        embedder(settings)
            .model_id("cohere.embed-english-v3")
            .build(),
    ] {
        assert!(matches!(bad, Err(Error::Config(_))), "{bad:?}");
    }
}

#[tokio::test]
async fn titan_v1_has_one_size_and_refuses_v2_settings() {
    let emulator = BedrockEmulator::start().await;
    v1_fixed_size(emulator.settings()).await;
    if let Some(real) = real_bedrock("titan_v1_has_one_size_and_refuses_v2_settings") {
        v1_fixed_size(real).await;
    }
}

#[tokio::test]
async fn order_is_kept_under_concurrency() {
    let emulator = BedrockEmulator::start().await;
    emulator.set_latency_jitter(Duration::from_millis(15));
    let input: Vec<String> = (0..48)
        .map(|i| format!("runbook number {i} about host{i}"))
        .collect();
    let e = embedder(emulator.settings())
        .concurrency(8)
        .build()
        .unwrap();
    let vectors = e.embed(&input, EmbedKind::Document).await.unwrap();
    for (text, vector) in input.iter().zip(&vectors) {
        assert_eq!(vector, &expected_embedding(text, 1024, true), "{text}");
    }
    let stats = emulator.stats();
    assert_eq!(stats.succeeded, 48);
    assert!(
        stats.max_in_flight > 1 && stats.max_in_flight <= 8,
        "{stats:?}"
    );
    // Jittered latency: the calls finished out of order, the result did not.
    assert_ne!(emulator.invoked_inputs(), input);
    if let Some(real) = real_bedrock("order_is_kept_under_concurrency") {
        let e = embedder(real).concurrency(8).build().unwrap();
        let batch = e.embed(&input[..12], EmbedKind::Document).await.unwrap();
        for (i, text) in input[..12].iter().enumerate() {
            let alone = e
                .embed(std::slice::from_ref(text), EmbedKind::Document)
                .await
                .unwrap();
            let cosine: f32 = batch[i].iter().zip(&alone[0]).map(|(a, b)| a * b).sum();
            assert!(cosine > 0.999, "text {i} came back in another slot");
        }
    }
}

#[tokio::test]
async fn throttling_is_retried_until_every_text_is_embedded() {
    let emulator = BedrockEmulator::start().await;
    emulator.set_throttle_share(0.3);
    let input: Vec<String> = (0..60).map(|i| format!("ticket {i} printer jam")).collect();
    let e = embedder(emulator.settings())
        .concurrency(8)
        .build()
        .unwrap();
    let vectors = e.embed(&input, EmbedKind::Document).await.unwrap();
    assert_eq!(vectors.len(), 60);
    for (text, vector) in input.iter().zip(&vectors) {
        assert_eq!(vector, &expected_embedding(text, 1024, true));
    }
    let stats = emulator.stats();
    assert_eq!(stats.succeeded, 60);
    assert!(stats.throttled >= 18, "{stats:?}");
    assert_eq!(stats.calls, stats.succeeded + stats.throttled);
    emulator_only("throttling_is_retried_until_every_text_is_embedded");
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let emulator = BedrockEmulator::start().await;
    emulator.push_fault(Fault::ServerError);
    emulator.push_fault(Fault::ServerError);
    let e = embedder(emulator.settings())
        .max_attempts(3)
        .build()
        .unwrap();
    let vectors = e
        .embed(&texts(&["disk full"]), EmbedKind::Document)
        .await
        .unwrap();
    assert_eq!(vectors[0], expected_embedding("disk full", 1024, true));
    assert_eq!(emulator.stats().server_errors, 2);

    for _ in 0..3 {
        emulator.push_fault(Fault::ServerError);
    }
    let (message, retryable) =
        model_error(e.embed(&texts(&["disk full"]), EmbedKind::Document).await);
    assert!(retryable);
    assert!(
        message.contains("InternalServerException") && message.contains("after 3 attempts"),
        "{message}"
    );
    emulator_only("server_errors_are_retried_then_reported");
}

async fn long_input_is_truncated(settings: AwsSettings) -> Vec<f32> {
    let long = "lorem ipsum dolor sit amet ".repeat(2_400); // 64,800 chars
    let e = embedder(settings).build().unwrap();
    let vectors = e.embed(&[long], EmbedKind::Document).await.unwrap();
    assert_eq!(vectors[0].len(), 1024);
    vectors[0].clone()
}

#[tokio::test]
async fn too_long_input_is_truncated_with_a_warning() {
    let emulator = BedrockEmulator::start().await;
    long_input_is_truncated(emulator.settings()).await;
    let sent: Vec<usize> = emulator
        .invoked_inputs()
        .iter()
        .map(|t| t.chars().count())
        .collect();
    // Cut to the documented 50,000 characters first, then to the token
    // budget after the service's "Too many input tokens".
    assert_eq!(sent, [16_384]);
    let stats = emulator.stats();
    assert_eq!(
        (stats.calls, stats.rejected, stats.succeeded),
        (2, 1, 1),
        "{stats:?}"
    );
    if let Some(real) = real_bedrock("too_long_input_is_truncated_with_a_warning") {
        long_input_is_truncated(real).await;
    }
}

#[tokio::test]
async fn other_validation_errors_are_permanent() {
    let emulator = BedrockEmulator::start().await;
    emulator.push_fault(Fault::Validation(
        "Malformed input request: #: extraneous key [x] is not permitted, please reformat your input and try again.".into(),
    ));
    let e = embedder(emulator.settings()).build().unwrap();
    let (message, retryable) = model_error(e.embed(&texts(&["hello"]), EmbedKind::Document).await);
    assert!(!retryable);
    assert!(
        message.contains("ValidationException") && message.contains("extraneous key"),
        "{message}"
    );
    assert_eq!(emulator.stats().calls, 1);
    emulator_only("other_validation_errors_are_permanent");
}

#[tokio::test]
async fn malformed_json_is_a_clear_model_error() {
    let emulator = BedrockEmulator::start().await;
    emulator.push_fault(Fault::MalformedJson);
    let e = embedder(emulator.settings()).build().unwrap();
    let (message, retryable) = model_error(e.embed(&texts(&["hello"]), EmbedKind::Document).await);
    assert!(!retryable);
    assert!(
        message.contains("not a Titan embedding response"),
        "{message}"
    );
    emulator_only("malformed_json_is_a_clear_model_error");
}

async fn empty_text_refused(settings: AwsSettings) {
    let e = embedder(settings).build().unwrap();
    let result = e.embed(&texts(&["fine", "  "]), EmbedKind::Document).await;
    assert!(
        matches!(result, Err(Error::InvalidInput(ref m)) if m.contains("text 1")),
        "{result:?}"
    );
    assert!(e.embed(&[], EmbedKind::Document).await.unwrap().is_empty());
}

#[tokio::test]
async fn empty_text_is_refused_before_any_call() {
    let emulator = BedrockEmulator::start().await;
    empty_text_refused(emulator.settings()).await;
    assert_eq!(
        emulator.stats().calls,
        0,
        "a batch with a blank text is refused whole"
    );
    if let Some(real) = real_bedrock("empty_text_is_refused_before_any_call") {
        empty_text_refused(real).await;
    }
}

// ---- answers ----

fn hit(native: &str, title: &str, url: &str, text: &str, relevance: f32) -> Hit {
    let mut doc = Document::new(SourceType::Confluence, "wiki", native, title, text);
    doc.url = url.to_string();
    Hit {
        chunk: Chunk::new(&doc, 0, text.to_string(), vec![], 0),
        document: doc.summary(),
        retrievers: vec![],
        fused_score: 0.0,
        relevance_score: relevance,
    }
}

fn runbook_hits() -> Vec<Hit> {
    vec![
        hit(
            "tls",
            "TLS certificate rotation",
            "https://wiki.example.com/tls",
            "To rotate the TLS certificate run certctl rotate --env prod. Rotation takes five minutes.",
            0.71,
        ),
        hit(
            "disk",
            "Disk full on build hosts",
            "https://wiki.example.com/disk",
            "When the disk is full, prune docker images first. Then expand the volume.",
            0.42,
        ),
    ]
}

const TLS_QUESTION: &str = "How do I rotate the TLS certificate?";

async fn cited_answer(settings: AwsSettings, emulated: bool) {
    let a = answerer(settings)
        .max_tokens(300)
        .temperature(0.2)
        .build()
        .unwrap();
    let answer = a.answer(TLS_QUESTION, &runbook_hits()).await.unwrap();
    assert!(answer.grounded, "{answer:?}");
    assert!(answer.text.contains("[1]"), "{}", answer.text);
    assert_eq!(answer.citations[0].title, "TLS certificate rotation");
    assert_eq!(answer.citations[0].url, "https://wiki.example.com/tls");
    assert!(answer.text.contains("certctl rotate"), "{}", answer.text);
    let usage = a.usage();
    assert_eq!(usage.calls, 1);
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    if emulated {
        assert_eq!(answer.citations.len(), 1);
        assert!(answer.text.ends_with("[1]"), "{}", answer.text);
    }
}

#[tokio::test]
async fn answers_cite_the_hits() {
    let emulator = BedrockEmulator::start().await;
    cited_answer(emulator.settings(), true).await;
    // What went over the wire: the documented Converse request members.
    let sent = emulator.last_converse_request().unwrap();
    assert_eq!(sent["system"], json!([{ "text": DEFAULT_SYSTEM_PROMPT }]));
    assert_eq!(sent["inferenceConfig"]["maxTokens"], json!(300));
    assert!((sent["inferenceConfig"]["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    let user = sent["messages"][0]["content"][0]["text"].as_str().unwrap();
    assert!(
        user.contains("[1] TLS certificate rotation (https://wiki.example.com/tls)\nTo rotate"),
        "{user}"
    );
    assert!(user.contains("[2] Disk full on build hosts"), "{user}");
    assert!(
        user.ends_with(&format!("Question: {TLS_QUESTION}")),
        "{user}"
    );
    if let Some(real) = real_bedrock("answers_cite_the_hits") {
        cited_answer(real, false).await;
    }
}

#[tokio::test]
async fn unknown_citation_numbers_are_dropped() {
    let emulator = BedrockEmulator::start().await;
    emulator.set_answer_suffix(" See also [7] and [2, 9].");
    let a = answerer(emulator.settings()).build().unwrap();
    let answer = a.answer(TLS_QUESTION, &runbook_hits()).await.unwrap();
    assert!(
        !answer.text.contains('7') && !answer.text.contains('9'),
        "{}",
        answer.text
    );
    assert!(
        answer.text.ends_with("See also and [2]."),
        "{}",
        answer.text
    );
    let titles: Vec<&str> = answer.citations.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(
        titles,
        ["TLS certificate rotation", "Disk full on build hosts"]
    );
    emulator_only(
        "unknown_citation_numbers_are_dropped (the real model cannot be made to cite [7])",
    );
}

async fn dont_know(settings: AwsSettings) -> BedrockAnswerer {
    let a = answerer(settings).build().unwrap();
    let none = a.answer(TLS_QUESTION, &[]).await.unwrap();
    assert_eq!(none.text, NO_ANSWER_TEXT);
    assert!(!none.grounded && none.citations.is_empty());
    let unrelated = a
        .answer(
            "What is the best sourdough starter recipe?",
            &runbook_hits(),
        )
        .await
        .unwrap();
    assert_eq!(unrelated.text, NO_ANSWER_TEXT, "{unrelated:?}");
    assert!(!unrelated.grounded && unrelated.citations.is_empty());
    a
}

#[tokio::test]
async fn no_context_means_dont_know() {
    let emulator = BedrockEmulator::start().await;
    let a = dont_know(emulator.settings()).await;
    // No hits: no call at all; unrelated hits: one call.
    assert_eq!(emulator.stats().calls, 1);
    assert_eq!(a.usage().calls, 1);
    if let Some(real) = real_bedrock("no_context_means_dont_know") {
        dont_know(real).await;
    }
}

async fn collect(
    a: &BedrockAnswerer,
    question: &str,
    hits: &[Hit],
) -> Vec<vaultiq_core::Result<AnswerEvent>> {
    a.answer_stream(question, hits)
        .await
        .unwrap()
        .collect()
        .await
}

async fn streamed(settings: AwsSettings, emulated: bool) {
    let a = answerer(settings).build().unwrap();
    let events = collect(&a, TLS_QUESTION, &runbook_hits()).await;
    let (last, tokens) = events.split_last().unwrap();
    let tokens: Vec<String> = tokens
        .iter()
        .map(|e| match e {
            Ok(AnswerEvent::Token(t)) => t.clone(),
            other => panic!("expected a token, got {other:?}"),
        })
        .collect();
    let Ok(AnswerEvent::Done(answer)) = last else {
        panic!("expected Done last, got {last:?}");
    };
    assert!(tokens.len() > 3, "{tokens:?}");
    assert_eq!(tokens.concat(), answer.text);
    assert!(answer.grounded && answer.text.contains("[1]"), "{answer:?}");
    assert_eq!(answer.citations[0].title, "TLS certificate rotation");
    assert_eq!(a.usage().calls, 1, "the metadata event carries usage");
    if emulated {
        // The emulator sends four characters per delta, so `[1]` arrived split.
        assert!(answer.text.ends_with("[1]"));
    }

    let events = collect(
        &a,
        "What is the best sourdough starter recipe?",
        &runbook_hits(),
    )
    .await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(&events[0], Ok(AnswerEvent::Token(t)) if t == NO_ANSWER_TEXT));
    assert!(matches!(&events[1], Ok(AnswerEvent::Done(d)) if !d.grounded));
}

#[tokio::test]
async fn streaming_sends_tokens_then_done() {
    let emulator = BedrockEmulator::start().await;
    streamed(emulator.settings(), true).await;
    if let Some(real) = real_bedrock("streaming_sends_tokens_then_done") {
        streamed(real, false).await;
    }
}

#[tokio::test]
async fn streaming_retries_opening_and_reports_a_broken_stream() {
    let emulator = BedrockEmulator::start().await;
    let a = answerer(emulator.settings()).build().unwrap();
    emulator.push_fault(Fault::Throttle);
    let events = collect(&a, TLS_QUESTION, &runbook_hits()).await;
    assert!(
        matches!(events.last(), Some(Ok(AnswerEvent::Done(_)))),
        "{events:?}"
    );
    assert_eq!(emulator.stats().throttled, 1);

    emulator.push_fault(Fault::BreakStreamAfter(3));
    let events = collect(&a, TLS_QUESTION, &runbook_hits()).await;
    let last = events.last().unwrap();
    match last {
        Err(Error::Model { message, retryable }) => {
            assert!(*retryable, "{message}");
            assert!(
                message.to_lowercase().contains("throttlingexception"),
                "{message}"
            );
        }
        other => panic!("expected a model error last, got {other:?}"),
    }
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| matches!(e, Ok(AnswerEvent::Token(_)))));
    emulator_only("streaming_retries_opening_and_reports_a_broken_stream");
}

#[tokio::test]
async fn converse_faults_are_retried_or_reported() {
    let emulator = BedrockEmulator::start().await;
    let a = answerer(emulator.settings())
        .max_attempts(3)
        .build()
        .unwrap();
    emulator.push_fault(Fault::Throttle);
    emulator.push_fault(Fault::ServerError);
    let answer = a.answer(TLS_QUESTION, &runbook_hits()).await.unwrap();
    assert!(answer.grounded);

    // A 200 whose body is not JSON is not worth repeating.
    emulator.push_fault(Fault::MalformedJson);
    let (message, retryable) = model_error(a.answer(TLS_QUESTION, &runbook_hits()).await);
    assert!(!retryable, "{message}");
    assert!(
        message.contains("Converse") && message.contains("parse JSON"),
        "{message}"
    );
    assert_eq!(
        emulator.stats().calls,
        4,
        "three calls for the first answer, one here"
    );

    emulator.push_fault(Fault::Validation(
        "The provided model identifier is invalid.".into(),
    ));
    let (message, retryable) = model_error(a.answer(TLS_QUESTION, &runbook_hits()).await);
    assert!(
        !retryable && message.contains("model identifier"),
        "{message}"
    );
    emulator_only("converse_faults_are_retried_or_reported");
}

#[tokio::test]
async fn min_relevance_keeps_weak_hits_out_of_the_prompt() {
    let emulator = BedrockEmulator::start().await;
    let a = answerer(emulator.settings())
        .min_relevance(0.5)
        .build()
        .unwrap();
    a.answer(TLS_QUESTION, &runbook_hits()).await.unwrap();
    let sent = emulator.last_converse_request().unwrap();
    let user = sent["messages"][0]["content"][0]["text"].as_str().unwrap();
    assert!(user.contains("[1] TLS") && !user.contains("[2]"), "{user}");
    let weak = vec![runbook_hits().remove(1)];
    let answer = a.answer("disk full", &weak).await.unwrap();
    assert_eq!(answer.text, NO_ANSWER_TEXT);
    emulator_only("min_relevance_keeps_weak_hits_out_of_the_prompt (prompt inspection)");
}

// ---- the emulator rejects what Bedrock rejects ----

const SIGNED: &str = "AWS4-HMAC-SHA256 Credential=AKIDEMULATOR/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123";

async fn post(
    emulator: &BedrockEmulator,
    path: &str,
    auth: Option<&str>,
    body: &Value,
) -> (u16, String, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("{}{path}", emulator.url()))
        .header("content-type", "application/json")
        .header("x-amz-date", "20260101T000000Z")
        .body(body.to_string());
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let code = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().split(':').next().unwrap().to_string())
        .unwrap_or_default();
    let body: Value =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null);
    (status, code, body)
}

const V2: &str = "/model/amazon.titan-embed-text-v2:0/invoke";
const HAIKU: &str = "/model/anthropic.claude-3-haiku-20240307-v1:0/converse";

#[tokio::test]
async fn emulator_requires_a_sigv4_header_for_bedrock() {
    let emulator = BedrockEmulator::start().await;
    let body = json!({"inputText": "hi"});
    let (status, code, _) = post(&emulator, V2, None, &body).await;
    assert_eq!(
        (status, code.as_str()),
        (403, "MissingAuthenticationTokenException")
    );
    let s3_scoped = SIGNED.replace("/bedrock/", "/s3/");
    let (status, code, _) = post(&emulator, V2, Some(&s3_scoped), &body).await;
    assert_eq!((status, code.as_str()), (403, "InvalidSignatureException"));
    let (status, code, _) = post(&emulator, V2, Some("Bearer token"), &body).await;
    assert_eq!(
        (status, code.as_str()),
        (403, "IncompleteSignatureException")
    );
    let (status, _, ok) = post(&emulator, V2, Some(SIGNED), &body).await;
    assert_eq!(status, 200);
    assert_eq!(ok["embedding"].as_array().unwrap().len(), 1024);
    assert_eq!(ok["inputTextTokenCount"], json!(1));
    assert_eq!(ok["embeddingsByType"]["float"], ok["embedding"]);
}

#[tokio::test]
async fn emulator_rejects_unknown_paths_and_methods() {
    let emulator = BedrockEmulator::start().await;
    let (status, _, _) = post(
        &emulator,
        "/model/amazon.titan-embed-text-v2:0/embed",
        Some(SIGNED),
        &json!({}),
    )
    .await;
    assert_eq!(status, 404);
    let response = reqwest::get(format!("{}{V2}", emulator.url()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn emulator_rejects_bad_titan_bodies() {
    let emulator = BedrockEmulator::start().await;
    let cases = [
        (
            V2,
            json!({"inputText": "hi", "topK": 3}),
            "extraneous key [topK]",
        ),
        (V2, json!({"text": "hi"}), "extraneous key [text]"),
        (V2, json!({}), "required key [inputText] not found"),
        (V2, json!({"inputText": 42}), "expected type: String"),
        (
            V2,
            json!({"inputText": "hi", "dimensions": "256"}),
            "expected type: Integer",
        ),
        (
            V2,
            json!({"inputText": "hi", "dimensions": 384}),
            "not a valid enum value",
        ),
        (
            V2,
            json!({"inputText": "hi", "normalize": "yes"}),
            "expected type: Boolean",
        ),
        (V2, json!({"inputText": ""}), "expected minLength: 1"),
        (
            V2,
            json!({"inputText": "a".repeat(50_001)}),
            "expected maxLength: 50000",
        ),
        (
            V2,
            json!({"inputText": "word ".repeat(8_000)}),
            "Too many input tokens",
        ),
        (
            "/model/amazon.titan-embed-text-v1/invoke",
            json!({"inputText": "hi", "dimensions": 256}),
            "extraneous key [dimensions]",
        ),
        (
            "/model/amazon.titan-embed-text-v9/invoke",
            json!({"inputText": "hi"}),
            "model identifier is invalid",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, code, answer) = post(&emulator, path, Some(SIGNED), &body).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "ValidationException"),
            "{body}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message} / {expected}");
    }
    let (status, _, v1) = post(
        &emulator,
        "/model/amazon.titan-embed-text-v1/invoke",
        Some(SIGNED),
        &json!({"inputText": "hi"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v1["embedding"].as_array().unwrap().len(), 1536);
    assert!(v1.get("embeddingsByType").is_none());
}

#[tokio::test]
async fn emulator_rejects_bad_converse_bodies() {
    let emulator = BedrockEmulator::start().await;
    let user = json!({"role": "user", "content": [{"text": "Question: hi"}]});
    let cases = [
        (
            HAIKU,
            json!({"messages": [user], "stream": true}),
            "extraneous key [stream]",
        ),
        (HAIKU, json!({}), "messages"),
        (
            HAIKU,
            json!({"messages": []}),
            "length greater than or equal to 1",
        ),
        (HAIKU, json!({"messages": "hi"}), "must be a list"),
        (
            HAIKU,
            json!({"messages": [{"role": "system", "content": [{"text": "x"}]}]}),
            "enum value set",
        ),
        (
            HAIKU,
            json!({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}),
            "must start with a user message",
        ),
        (
            HAIKU,
            json!({"messages": [{"role": "user", "content": [{"text": 5}]}]}),
            "must be a string",
        ),
        (
            HAIKU,
            json!({"messages": [user], "inferenceConfig": {"temperature": 2}}),
            "between 0 and 1",
        ),
        (
            HAIKU,
            json!({"messages": [user], "inferenceConfig": {"maxTokens": "many"}}),
            "must be an integer",
        ),
        (
            HAIKU,
            json!({"messages": [user], "inferenceConfig": {"maxTokens": 100000}}),
            "exceeds the model limit",
        ),
        (
            HAIKU,
            json!({"messages": [user], "inferenceConfig": {"top_k": 5}}),
            "extraneous key [top_k]",
        ),
        (
            HAIKU,
            json!({"messages": [user], "system": "be brief"}),
            "must be a list",
        ),
        (
            "/model/amazon.titan-embed-text-v2:0/converse",
            json!({"messages": [user]}),
            "doesn't support the model",
        ),
    ];
    for (path, body, expected) in cases {
        let (status, code, answer) = post(&emulator, path, Some(SIGNED), &body).await;
        assert_eq!(
            (status, code.as_str()),
            (400, "ValidationException"),
            "{body}"
        );
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(expected), "{message} / {expected}");
    }
    let (status, _, ok) = post(&emulator, HAIKU, Some(SIGNED), &json!({"messages": [user]})).await;
    assert_eq!(status, 200);
    assert_eq!(ok["output"]["message"]["role"], json!("assistant"));
    assert_eq!(ok["stopReason"], json!("end_turn"));
    assert!(ok["usage"]["totalTokens"].as_u64().unwrap() > 0);
}

// ---- configuration ----

#[test]
fn config_checks_bedrock_settings_when_opening() {
    use vaultiq_core::config::Config;
    let dir = tempfile::tempdir().unwrap();
    let open = |text: &str, env: &[(&str, &str)]| {
        let text = format!("data_dir = \"{}\"\n{text}", dir.path().display());
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let lookup = move |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        Config::parse_with_env(&text, "vaultiq.toml", &lookup).and_then(|c| c.open())
    };
    let bedrock = "[aws]\nregion = \"us-east-1\"\n[embedder]\nkind = \"bedrock\"\n";
    // Opening builds no client: no credentials or network needed.
    let kb = open(
        bedrock,
        &[
            ("VAULTIQ_EMBEDDER_DIMENSIONS", "512"),
            ("VAULTIQ_EMBEDDER_NORMALIZE", "false"),
        ],
    )
    .unwrap();
    assert_eq!(kb.embedder().dimension(), 512);
    assert!(kb
        .embedder()
        .model_id()
        .ends_with("dims=512;normalize=false"));
    drop(kb);
    let err = open(&format!("{bedrock}dimensions = 384\n"), &[]).unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("384")),
        "{err}"
    );
    let err = open(
        &format!("{bedrock}model_id = \"amazon.titan-embed-text-v1\"\nnormalize = true\n"),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("normalize")),
        "{err}"
    );
    let err = open("[answerer]\nkind = \"bedrock\"\ntemperature = 3.0\n", &[]).unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("temperature")),
        "{err}"
    );
    let err = open("[embedder]\nkind = \"bedrock\"\nconcurrency = 0\n", &[]).unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("concurrency")),
        "{err}"
    );
    let err = open("[embedder]\nkind = \"bedrock\"\nchunker_typo = 1\n", &[]).unwrap_err();
    assert!(err.to_string().contains("chunker_typo"), "{err}");
}
