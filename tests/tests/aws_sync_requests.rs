//! What a sync into S3 + DynamoDB costs on the wire: 1,000 generated
//! documents synced through a counting proxy in front of moto, requests
//! counted per operation (and bounded, so a change that multiplies calls
//! fails here), then the same sync into the fs lake + SQLite state right
//! after, for the docs/s ratio. The embedder is a trivial (hashed bag of
//! words) one, so the time is the pipeline's and the stores'.
//!
//! `cargo test --test aws_sync_requests -- --nocapture` prints the figures.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use vaultiq_core::connector::{Connector, FilesConnector};
use vaultiq_core::embedder::{EmbedKind, Embedder};
use vaultiq_core::lake::{Lake, S3Lake};
use vaultiq_core::state::{DynamoDbStateStore, StateStore};
use vaultiq_core::store::EmbeddedStore;
use vaultiq_core::{KnowledgeBase, SyncOptions};
use vaultiq_tests::aws::{target, CountingProxy, Target};

const DOCUMENTS: usize = 1_000;
const DIMENSION: usize = 64;

/// Each word adds to one of 64 buckets by its hash; normalised.
struct HashedWords;

#[async_trait]
impl Embedder for HashedWords {
    fn model_id(&self) -> &str {
        "test/hashed-words-64"
    }
    fn dimension(&self) -> usize {
        DIMENSION
    }
    async fn embed(
        &self,
        texts: &[String],
        _kind: EmbedKind,
    ) -> vaultiq_core::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|text| {
                let mut v = vec![0f32; DIMENSION];
                for word in text.split_whitespace() {
                    let h = word.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    });
                    v[(h % DIMENSION as u64) as usize] += 1.0;
                }
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                v.iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}

fn write_corpus(dir: &Path) {
    for i in 0..DOCUMENTS {
        let team = i % 17;
        let body = format!(
            "# Runbook {i}\n\nService {team} restarts after a failed deploy number {i}.\n\n## Steps\n\n1. Drain node {i} from the pool.\n2. Roll back release r{i} of service {team}.\n3. Check the error budget and page the on-call of team {team}.\n"
        );
        let sub = dir.join(format!("team-{team:02}"));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("runbook-{i:04}.md")), body).unwrap();
    }
}

async fn timed_sync(
    lake: Arc<dyn Lake>,
    state: Arc<dyn StateStore>,
    data_dir: &Path,
    corpus: &Path,
) -> f64 {
    let kb = KnowledgeBase::builder()
        .embedder(Arc::new(HashedWords))
        .store(Arc::new(EmbeddedStore::open(data_dir).unwrap()))
        .lake(lake)
        .state(state)
        .build()
        .unwrap();
    let connector: Arc<dyn Connector> =
        Arc::new(FilesConnector::builder("runbooks", corpus).build().unwrap());
    let started = Instant::now();
    let report = kb
        .sync_connector(connector, &SyncOptions::default(), &|_| {})
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.indexed(), DOCUMENTS);
    secs
}

#[tokio::test]
async fn a_thousand_documents_cost_about_a_request_each() {
    let Some(target) = target("a_thousand_documents_cost_about_a_request_each") else {
        return;
    };
    let Target::Moto { url } = &target else {
        eprintln!("skipped on AWS: requests are counted through a loopback proxy");
        return;
    };
    let corpus = tempfile::tempdir().unwrap();
    write_corpus(corpus.path());
    let proxy = CountingProxy::start(url).await;
    let (bucket, prefix) = target.bucket("requests").await;
    let lake: Arc<dyn Lake> = Arc::new(
        S3Lake::builder(bucket)
            .prefix(prefix)
            .settings(target.settings_via(&proxy.url))
            .build()
            .unwrap(),
    );
    let (table, namespace) = target.table("requests").await;
    let state = DynamoDbStateStore::builder(table)
        .namespace(namespace)
        .settings(target.settings_via(&proxy.url))
        .build()
        .unwrap();
    state.create_table().await.unwrap();
    proxy.clear();

    let aws_dir = tempfile::tempdir().unwrap();
    let aws_secs = timed_sync(lake, Arc::new(state), aws_dir.path(), corpus.path()).await;
    let counts = proxy.by_operation();
    let total: usize = counts.values().sum();

    let local_dir = tempfile::tempdir().unwrap();
    let local_secs = timed_sync(
        Arc::new(vaultiq_core::lake::FsLake::new(
            local_dir.path().join("lake"),
        )),
        Arc::new(vaultiq_core::state::SqliteStateStore::open(local_dir.path()).unwrap()),
        local_dir.path(),
        corpus.path(),
    )
    .await;

    let aws_rate = DOCUMENTS as f64 / aws_secs;
    let local_rate = DOCUMENTS as f64 / local_secs;
    println!("sync of {DOCUMENTS} documents into S3 + DynamoDB (moto): {total} requests = {:.3} per document", total as f64 / DOCUMENTS as f64);
    for (operation, count) in &counts {
        println!("  {operation:<18} {count}");
    }
    println!(
        "docs/s: S3 + DynamoDB on moto {aws_rate:.0}, fs lake + SQLite {local_rate:.0} (ratio {:.2})",
        aws_rate / local_rate
    );

    // One PutObject per document; state calls are batched.
    assert_eq!(counts.get("S3 PUT").copied(), Some(DOCUMENTS), "{counts:?}");
    assert!(total <= DOCUMENTS + DOCUMENTS / 5, "{counts:?}");
    assert!(
        counts.get("PutItem").copied().unwrap_or(0) <= DOCUMENTS / 64 + 4,
        "{counts:?}"
    );
}
