//! Where the AWS tests run: against `moto_server` on loopback
//! (`VAULTIQ_MOTO_URL`, started by `make test-aws`), or against the real
//! services with `VAULTIQ_TEST_AWS=1` (`AWS_REGION`,
//! `VAULTIQ_TEST_S3_BUCKET`, `VAULTIQ_TEST_DYNAMODB_TABLE`). With neither,
//! each test prints why it is skipped and passes.
//!
//! Every test works in names of its own (a fresh bucket and table on moto;
//! a fresh key prefix and table namespace on AWS), so tests run in
//! parallel and leave each other alone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::loopback::LoopbackServer;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use vaultiq_core::aws::AwsSettings;
use vaultiq_core::state::DynamoDbStateStore;

/// The region moto is addressed in (any works; clients must agree).
pub const MOTO_REGION: &str = "us-east-1";

/// What the AWS tests talk to.
#[derive(Debug, Clone)]
pub enum Target {
    /// A local moto server.
    Moto {
        /// Its base URL.
        url: String,
    },
    /// The real services.
    Real {
        /// An existing bucket the tests may write under fresh prefixes.
        bucket: String,
        /// A state table (created if missing) the tests use under fresh namespaces.
        table: String,
    },
}

/// The target of this run, or `None` (after printing why `test` is skipped).
pub fn target(test: &str) -> Option<Target> {
    if std::env::var("VAULTIQ_TEST_AWS").as_deref() == Ok("1") {
        let var = |name: &str| {
            std::env::var(name)
                .unwrap_or_else(|_| panic!("VAULTIQ_TEST_AWS=1 needs {name} to be set"))
        };
        var("AWS_REGION");
        return Some(Target::Real {
            bucket: var("VAULTIQ_TEST_S3_BUCKET"),
            table: var("VAULTIQ_TEST_DYNAMODB_TABLE"),
        });
    }
    match std::env::var("VAULTIQ_MOTO_URL") {
        Ok(url) if !url.is_empty() => Some(Target::Moto { url }),
        _ => {
            eprintln!(
                "skipped {test}: VAULTIQ_MOTO_URL is not set (`make test-aws` starts moto; VAULTIQ_TEST_AWS=1 runs against AWS)"
            );
            None
        }
    }
}

/// A name no other test (or earlier run) uses: lowercase, digits, `-`.
pub fn unique(stem: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    format!(
        "{stem}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

impl Target {
    /// The client settings VaultIQ's parts get.
    pub fn settings(&self) -> AwsSettings {
        match self {
            Target::Moto { url } => AwsSettings::default()
                .with_endpoint_url(url.clone())
                .with_region(MOTO_REGION),
            Target::Real { .. } => AwsSettings::default(),
        }
    }

    /// The same settings pointed at `url` instead (a counting proxy).
    pub fn settings_via(&self, url: &str) -> AwsSettings {
        self.settings().with_endpoint_url(url)
    }

    /// SDK configuration for the tests' own fixture clients.
    pub async fn sdk_config(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Target::Moto { url } = self {
            loader = loader
                .endpoint_url(url.clone())
                .region(Region::new(MOTO_REGION));
        }
        loader.load().await
    }

    /// An S3 fixture client (path-style on moto).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = self.sdk_config().await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(matches!(self, Target::Moto { .. }))
            .build();
        aws_sdk_s3::Client::from_conf(s3)
    }

    /// A DynamoDB fixture client.
    pub async fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// A Secrets Manager fixture client.
    pub async fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config().await)
    }

    /// A bucket and a key prefix of this test's own: a new bucket on moto,
    /// a fresh prefix in the given bucket on AWS.
    pub async fn bucket(&self, stem: &str) -> (String, String) {
        match self {
            Target::Moto { .. } => {
                let name = unique(stem);
                let name: String = name.chars().take(63).collect();
                self.s3()
                    .await
                    .create_bucket()
                    .bucket(&name)
                    .send()
                    .await
                    .expect("create bucket on moto");
                (name, "kb/".to_string())
            }
            Target::Real { bucket, .. } => (bucket.clone(), format!("{}/", unique(stem))),
        }
    }

    /// A state store of this test's own: a new table on moto, a fresh
    /// namespace of the given table on AWS. `page_size` makes queries page.
    pub async fn state_store(&self, stem: &str, page_size: Option<usize>) -> DynamoDbStateStore {
        let (table, namespace) = self.table(stem).await;
        let mut builder = DynamoDbStateStore::builder(table)
            .namespace(namespace)
            .settings(self.settings());
        if let Some(size) = page_size {
            builder = builder.page_size(size);
        }
        let store = builder.build().expect("state store");
        store.create_table().await.expect("create table");
        store
    }

    /// A table name and namespace of this test's own (the table may not exist yet).
    pub async fn table(&self, stem: &str) -> (String, String) {
        match self {
            Target::Moto { .. } => (unique(stem), String::new()),
            Target::Real { table, .. } => (table.clone(), format!("{}/", unique(stem))),
        }
    }
}

/// One request that passed through a [`CountingProxy`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `X-Amz-Target` (the operation of JSON protocols: DynamoDB, Secrets Manager).
    pub target: Option<String>,
}

impl SeenRequest {
    /// The operation, as far as the wire tells: the JSON target's operation
    /// name, else `METHOD` plus `?list-type=2` for S3 listings.
    pub fn operation(&self) -> String {
        match &self.target {
            Some(target) => target
                .rsplit('.')
                .next()
                .unwrap_or(target.as_str())
                .to_string(),
            None if self.path.contains("list-type=2") => "S3 ListObjectsV2".to_string(),
            None => format!("S3 {}", self.method),
        }
    }
}

/// A loopback HTTP proxy in front of moto that records every request, so
/// tests and measurements count what really went over the wire.
pub struct CountingProxy {
    /// Base URL to point clients at.
    pub url: String,
    seen: Arc<Mutex<Vec<SeenRequest>>>,
    _server: LoopbackServer,
}

impl CountingProxy {
    /// Starts a proxy forwarding to `upstream` on a free loopback port.
    pub async fn start(upstream: &str) -> CountingProxy {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("proxy client");
        let upstream = upstream.trim_end_matches('/').to_string();
        let record = Arc::clone(&seen);
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let client = client.clone();
                let upstream = upstream.clone();
                let record = Arc::clone(&record);
                async move {
                    let path = uri
                        .path_and_query()
                        .map(|p| p.as_str().to_string())
                        .unwrap_or_else(|| "/".to_string());
                    record.lock().expect("proxy log").push(SeenRequest {
                        method: method.to_string(),
                        path: path.clone(),
                        target: headers
                            .get("x-amz-target")
                            .and_then(|v| v.to_str().ok())
                            .map(String::from),
                    });
                    forward(&client, &upstream, method, &path, headers, body).await
                }
            },
        );
        let server = LoopbackServer::start(app).await;
        CountingProxy {
            url: server.url(),
            seen,
            _server: server,
        }
    }

    /// Everything seen so far.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.seen.lock().expect("proxy log").clone()
    }

    /// Forgets what was seen.
    pub fn clear(&self) {
        self.seen.lock().expect("proxy log").clear();
    }

    /// Requests seen per operation.
    pub fn by_operation(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for request in self.requests() {
            *counts.entry(request.operation()).or_insert(0) += 1;
        }
        counts
    }
}

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    method: Method,
    path: &str,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut request = client.request(method, format!("{upstream}{path}"));
    for (name, value) in &headers {
        // The client sets its own host and framing for the upstream hop.
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection"
        ) {
            request = request.header(name, value);
        }
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status = response.status();
            let mut out = HeaderMap::new();
            for (name, value) in response.headers() {
                if !matches!(
                    name.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                ) {
                    out.append(name, value.clone());
                }
            }
            let bytes = response.bytes().await.unwrap_or_default();
            (status, out, bytes)
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            HeaderMap::new(),
            Bytes::from(format!("proxy: {e}")),
        ),
    }
}
