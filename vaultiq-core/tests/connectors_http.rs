//! The shared connector HTTP client on its own: bounded retries, the
//! maximum wait, timeouts and cancellation.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mock_server::{fast_retries, MockServer, Reply, Seen};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use vaultiq_core::connector::http::{Auth, HttpClient, RetryPolicy};
use vaultiq_core::Error;

fn ok_handler() -> mock_server::Handler {
    Arc::new(|_: &Seen, _: &str| Reply::json(json!({"ok": true})))
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start(Arc::new(|_: &Seen, _: &str| Reply::status(503))).await;
    let client =
        HttpClient::with_policy("src", &server.base_url, Auth::None, fast_retries()).unwrap();
    let err = client.get("/x", &[]).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        err.to_string().contains("gave up after 4 attempts"),
        "{err}"
    );
    assert_eq!(server.count("/x"), 4);
}

#[tokio::test]
async fn a_wait_longer_than_the_maximum_fails_fast_as_retryable() {
    let server = MockServer::start(ok_handler()).await;
    server.fail_next("/x", Reply::status(429).header("retry-after", "3600"));
    let client =
        HttpClient::with_policy("src", &server.base_url, Auth::None, fast_retries()).unwrap();
    let started = Instant::now();
    let err = client.get("/x", &[]).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        err.is_retryable() && err.to_string().contains("3600"),
        "{err}"
    );
}

#[tokio::test]
async fn cancellation_stops_a_rate_limit_wait() {
    let server = MockServer::start(ok_handler()).await;
    server.fail_next("/x", Reply::status(429).header("retry-after", "4"));
    let token = CancellationToken::new();
    let client = HttpClient::with_policy("src", &server.base_url, Auth::None, fast_retries())
        .unwrap()
        .cancel_on(token.clone());
    let canceller = token.clone();
    let started = Instant::now();
    let (result, ()) = tokio::join!(client.get("/x", &[]), async move {
        // Cancel once the client has seen the 429 and started waiting.
        while server.count("/x") == 0 {
            tokio::task::yield_now().await;
        }
        canceller.cancel();
    });
    assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_times_out_and_is_retried() {
    let server = MockServer::start(Arc::new(|seen: &Seen, _: &str| {
        if seen.query.contains_key("slow") {
            // Simulates a hung upstream; the client's own timeout must fire.
            std::thread::sleep(Duration::from_millis(600));
        }
        Reply::json(json!({"ok": true}))
    }))
    .await;
    let policy = RetryPolicy {
        max_attempts: 2,
        timeout: Duration::from_millis(200),
        ..fast_retries()
    };
    let client = HttpClient::with_policy("src", &server.base_url, Auth::None, policy).unwrap();
    let err = client
        .get("/x", &[("slow", "1".to_string())])
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && err.to_string().contains("timed out"),
        "{err}"
    );
    assert_eq!(server.count("/x"), 2);
    assert!(client.get("/x", &[]).await.is_ok());
}

#[tokio::test]
async fn credentials_are_sent_but_never_shown() {
    let server = MockServer::start(Arc::new(|seen: &Seen, _: &str| {
        if seen.header("authorization") == Some("Basic dXNlckBleGFtcGxlLmNvbTpzM2NyZXQ=") {
            Reply::json(json!({"ok": true}))
        } else {
            Reply::status(403)
        }
    }))
    .await;
    let auth = Auth::Basic {
        username: "user@example.com".into(),
        token: "s3cret".into(),
    };
    let client = HttpClient::with_policy("src", &server.base_url, auth, fast_retries()).unwrap();
    assert!(client.get("/x", &[]).await.is_ok());
    assert!(!format!("{client:?}").contains("s3cret"));
    let wrong = HttpClient::with_policy(
        "src",
        &server.base_url,
        Auth::Bearer("tok-123".into()),
        fast_retries(),
    )
    .unwrap();
    let err = wrong.get("/x", &[]).await.unwrap_err();
    assert!(
        !err.is_retryable() && err.to_string().contains("403"),
        "{err}"
    );
    assert!(!err.to_string().contains("tok-123"));
}
