//! The store conformance suite against every real engine: the embedded
//! store always, PostgreSQL/pgvector when `VAULTIQ_TEST_PG_URL` is set
//! (`make test-stores` starts one), a real OpenSearch when
//! `VAULTIQ_TEST_OPENSEARCH_URL` is set (optionally with
//! `VAULTIQ_TEST_OPENSEARCH_USER` / `VAULTIQ_TEST_OPENSEARCH_PASSWORD`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;

use vaultiq_core::store::VectorStore;
use vaultiq_tests::store_conformance::{no_cleanup, Caps, Cleanup, DIMENSION};

type Backend = Option<(Arc<dyn VectorStore>, Caps, Cleanup)>;

/// A name unique to this run and check, valid as a table prefix or index.
fn unique(check: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    // Short enough for a table prefix (40 characters at most).
    let check: String = check.chars().take(12).collect();
    format!("t{}_{nanos}_{check}", std::process::id())
}

mod embedded {
    use super::*;
    use vaultiq_core::store::EmbeddedStore;

    async fn make(_check: &str) -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let cleanup: Cleanup = Box::pin(async move { drop(dir) });
        Some((Arc::new(store), Caps { ranking: true }, cleanup))
    }

    vaultiq_tests::conformance_suite!(make);
}

mod pgvector {
    use super::*;
    use vaultiq_core::store::PgVectorStore;

    async fn make(check: &str) -> Backend {
        let Ok(url) = std::env::var("VAULTIQ_TEST_PG_URL") else {
            eprintln!("VAULTIQ_TEST_PG_URL not set: pgvector conformance skipped (make test-stores runs it)");
            return None;
        };
        let store = PgVectorStore::builder(url, DIMENSION)
            .table_prefix(unique(check).to_lowercase())
            .connect()
            .await
            .expect("connect to PostgreSQL");
        let cleanup_store = store.clone();
        let cleanup: Cleanup = Box::pin(async move {
            cleanup_store.drop_tables().await.unwrap();
        });
        Some((Arc::new(store), Caps { ranking: true }, cleanup))
    }

    vaultiq_tests::conformance_suite!(make);
}

mod opensearch_real {
    use super::*;
    use vaultiq_core::store::{OpenSearchAuth, OpenSearchStore};

    async fn make(check: &str) -> Backend {
        let Ok(url) = std::env::var("VAULTIQ_TEST_OPENSEARCH_URL") else {
            return None;
        };
        let mut builder = OpenSearchStore::builder(
            url,
            unique(check).to_lowercase().replace('_', "-"),
            DIMENSION,
        );
        if let (Ok(username), Ok(password)) = (
            std::env::var("VAULTIQ_TEST_OPENSEARCH_USER"),
            std::env::var("VAULTIQ_TEST_OPENSEARCH_PASSWORD"),
        ) {
            builder = builder.auth(OpenSearchAuth::Basic { username, password });
        }
        let store = builder.connect().await.expect("connect to OpenSearch");
        Some((Arc::new(store), Caps { ranking: true }, no_cleanup()))
    }

    vaultiq_tests::conformance_suite!(make);
}
