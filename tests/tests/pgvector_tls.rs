//! TLS between the pgvector store and a real PostgreSQL: libpq's `sslmode`
//! semantics, the root CA from the url or the builder, SCRAM channel
//! binding, and a clear error for each way it can fail.
//!
//! Needs the servers `make test-stores` starts: `scripts/start-postgres
//! --tls` (TLS only, `hostssl` in pg_hba.conf, SCRAM passwords, certificate
//! for 127.0.0.1 and localhost) and the plain `scripts/start-postgres`
//! (no TLS at all). Skipped, saying so, when their variables are not set.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use vaultiq_core::store::{PgVectorStore, VectorStore};
use vaultiq_core::Error;
use vaultiq_tests::store_conformance::{self as conformance, Caps, DIMENSION};

/// The TLS server started by `scripts/start-postgres --tls`.
struct TlsServer {
    url: String,
    port: String,
    password: String,
    ca: String,
    other_ca: String,
}

fn tls_server() -> Option<TlsServer> {
    let var = |name: &str| std::env::var(name).ok();
    let server = TlsServer {
        url: var("VAULTIQ_TEST_PG_TLS_URL")?,
        port: var("VAULTIQ_TEST_PG_TLS_PORT")?,
        password: var("VAULTIQ_TEST_PG_TLS_PASSWORD")?,
        ca: var("VAULTIQ_TEST_PG_TLS_CA")?,
        other_ca: var("VAULTIQ_TEST_PG_TLS_OTHER_CA")?,
    };
    Some(server)
}

macro_rules! tls_server_or_skip {
    () => {
        match tls_server() {
            Some(server) => server,
            None => {
                eprintln!(
                    "VAULTIQ_TEST_PG_TLS_* not set: pgvector TLS test skipped \
                     (make test-stores runs it)"
                );
                return;
            }
        }
    };
}

/// A table prefix unique to this run and test.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("tls{}_{nanos}_{test}", std::process::id())
}

async fn connect(url: &str, test: &str) -> Result<PgVectorStore, Error> {
    PgVectorStore::builder(url, DIMENSION)
        .table_prefix(prefix(test))
        .connect()
        .await
}

/// The error of a connection that must fail, checked not to show the password.
async fn refused(url: &str, server: &TlsServer) -> Error {
    let err = match connect(url, "refused").await {
        Ok(store) => {
            store.drop_tables().await.unwrap();
            panic!(
                "connecting to {} should have failed",
                url.replace(&server.password, "***")
            );
        }
        Err(err) => err,
    };
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(&server.password),
        "the error shows the password: {shown}"
    );
    assert!(
        !err.is_retryable(),
        "a TLS misconfiguration is permanent: {err}"
    );
    err
}

fn config_message(err: Error) -> String {
    match err {
        Error::Config(message) => message,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_full_with_the_right_ca_passes_the_conformance_basics() {
    let server = tls_server_or_skip!();
    // channel_binding=require: SCRAM must bind to the TLS session.
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={}&channel_binding=require",
        server.url, server.ca
    );
    let caps = Caps { ranking: true };
    for (n, check) in ["upsert", "filters", "rankings", "delete", "concurrent"]
        .into_iter()
        .enumerate()
    {
        let store = connect(&url, &format!("basics{n}"))
            .await
            .expect("TLS connect");
        match check {
            "upsert" => conformance::upsert_reads_back(&store, caps).await,
            "filters" => conformance::filters_select_exact_sets(&store, caps).await,
            "rankings" => conformance::rankings_are_clear_cut(&store, caps).await,
            "delete" => conformance::delete_removes_documents(&store, caps).await,
            _ => {
                // Several pooled TLS connections at once.
                let shared: Arc<dyn VectorStore> = Arc::new(store.clone());
                conformance::concurrent_writers(shared, caps).await
            }
        }
        store.drop_tables().await.unwrap();
    }
}

#[tokio::test]
async fn the_ca_file_can_come_from_the_builder() {
    let server = tls_server_or_skip!();
    let store = PgVectorStore::builder(format!("{}?sslmode=verify-full", server.url), DIMENSION)
        .table_prefix(prefix("builder_ca"))
        .tls_ca_file(&server.ca)
        .connect()
        .await
        .expect("verify-full with tls_ca_file");
    assert_eq!(store.chunk_count().await.unwrap(), 0);
    store.drop_tables().await.unwrap();

    // `sslrootcert` in the url wins over the builder's file.
    let url = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        server.url, server.other_ca
    );
    let err = PgVectorStore::builder(url, DIMENSION)
        .table_prefix(prefix("url_wins"))
        .tls_ca_file(&server.ca)
        .connect()
        .await
        .expect_err("the url's CA is used");
    assert!(config_message(err).contains("not signed by a trusted CA"));
}

#[tokio::test]
async fn a_wrong_ca_is_refused_clearly() {
    let server = tls_server_or_skip!();
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = format!(
            "{}?sslmode={mode}&sslrootcert={}",
            server.url, server.other_ca
        );
        let message = config_message(refused(&url, &server).await);
        assert!(
            message.contains("not signed by a trusted CA") && message.contains("other-ca.crt"),
            "{mode}: {message}"
        );
    }
}

#[tokio::test]
async fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let server = tls_server_or_skip!();
    // Connect to 127.0.0.1 but call it a name the certificate does not carry.
    let url = |mode: &str| {
        format!(
            "postgres://vaultiq:{}@db.example.invalid:{}/postgres?hostaddr=127.0.0.1\
             &sslmode={mode}&sslrootcert={}",
            server.password, server.port, server.ca
        )
    };
    let message = config_message(refused(&url("verify-full"), &server).await);
    assert!(
        message.contains("does not name `db.example.invalid`"),
        "{message}"
    );
    for mode in ["verify-ca", "require"] {
        let store = connect(&url(mode), "host_ok")
            .await
            .unwrap_or_else(|e| panic!("{mode} does not check the host name: {e}"));
        store.drop_tables().await.unwrap();
    }
    // `localhost` is on the certificate too.
    let localhost = url("verify-full").replace("db.example.invalid", "localhost");
    let store = connect(&localhost, "localhost").await.expect("localhost");
    store.drop_tables().await.unwrap();
}

#[tokio::test]
async fn require_without_a_ca_encrypts_without_checking() {
    let server = tls_server_or_skip!();
    // The server admits TLS connections only, so success means TLS was used.
    for url in [
        format!("{}?sslmode=require", server.url),
        // libpq's default is `prefer`: TLS when the server offers it.
        server.url.clone(),
    ] {
        let store = connect(&url, "unchecked").await.expect("TLS without a CA");
        assert_eq!(store.chunk_count().await.unwrap(), 0);
        store.drop_tables().await.unwrap();
    }
}

#[tokio::test]
async fn a_hostssl_only_server_refuses_plain_text() {
    let server = tls_server_or_skip!();
    let err = refused(&format!("{}?sslmode=disable", server.url), &server).await;
    let message = err.to_string();
    assert!(
        message.contains("no pg_hba.conf entry") && message.contains("sslmode=require"),
        "{message}"
    );
}

#[tokio::test]
async fn require_against_a_server_without_tls_fails_clearly() {
    let server = tls_server_or_skip!();
    let Ok(plain) = std::env::var("VAULTIQ_TEST_PG_URL") else {
        eprintln!("VAULTIQ_TEST_PG_URL not set: skipped (make test-stores runs it)");
        return;
    };
    for mode in ["require", "verify-full"] {
        let url = format!("{plain}?sslmode={mode}&sslrootcert={}", server.ca);
        let message = config_message(refused(&url, &server).await);
        assert!(message.contains("does not offer TLS"), "{mode}: {message}");
    }
    // `prefer` (the default) falls back to plain text there, as libpq does.
    let store = connect(&plain, "prefer_plain").await.expect("prefer");
    store.drop_tables().await.unwrap();
}

#[tokio::test]
async fn bad_ca_files_are_configuration_errors() {
    let server = tls_server_or_skip!();
    let dir = tempfile::tempdir().unwrap();
    let garbled = dir.path().join("garbled.pem");
    std::fs::write(
        &garbled,
        "-----BEGIN CERTIFICATE-----\nMIIBnotreally\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let missing = dir.path().join("missing.pem");
    for (file, words) in [(&garbled, "garbled.pem"), (&missing, "cannot read")] {
        let url = format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            server.url,
            file.display()
        );
        let message = config_message(refused(&url, &server).await);
        assert!(message.contains(words), "{message}");
    }
    let message =
        config_message(refused(&format!("{}?sslmode=verify-full", server.url), &server).await);
    assert!(message.contains("sslrootcert"), "{message}");
}
