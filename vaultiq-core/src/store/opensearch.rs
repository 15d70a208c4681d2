//! Amazon OpenSearch (Serverless or managed) and self-hosted OpenSearch as
//! the vector store, through the `opensearch` client.
//!
//! Every chunk is one record with a `knn_vector` (HNSW, faiss), a `text`
//! field analysed for BM25 and `keyword` fields for filters; every document
//! also gets one record so document counts are exact aggregations.
//!
//! Serverless vector collections refuse custom document ids in index
//! operations, so no write depends on them: each upsert writes its records
//! with a new, increasing `generation`, and only once all of them are
//! accepted removes every generation of those documents but the newest
//! (found by query, then deleted by the ids OpenSearch returned), so of
//! concurrent writers of one document the newest write wins whole. A failed batch removes its own
//! generation instead, so what was stored before stays intact. On other
//! deployments the records get deterministic ids `{chunk id}@{generation}`,
//! which makes a retried request idempotent.

mod bulk;
mod mapping;
mod query;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use opensearch::auth::Credentials;
use opensearch::http::response::Response;
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::indices::{IndicesCreateParts, IndicesGetMappingParts};
use opensearch::{CountParts, OpenSearch, SearchParts};
use serde_json::{json, Value};

use crate::aws::AwsSettings;
use crate::store::batch;
use crate::store::{Filter, IndexedDocument, StoredHit, VectorStore};
use crate::{Error, Result, SourceType};
pub use mapping::SpaceType;

/// How requests are authenticated.
#[derive(Clone)]
pub enum OpenSearchAuth {
    /// No authentication (a local or proxied cluster).
    None,
    /// HTTP basic authentication (self-hosted, or managed with a master user).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// AWS Signature V4, service `aoss` (Serverless) or `es` (managed).
    AwsSigV4 {
        /// Where the AWS credentials come from.
        credentials: SharedCredentialsProvider,
        /// AWS region, e.g. `eu-west-1`.
        region: String,
        /// True for OpenSearch Serverless (`aoss`), false for managed (`es`).
        serverless: bool,
    },
}

impl OpenSearchAuth {
    /// SigV4 with fixed keys (for example read from the environment).
    pub fn aws_static(
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<String>,
        region: &str,
        serverless: bool,
    ) -> Self {
        let credentials = aws_credential_types::Credentials::new(
            access_key_id,
            secret_access_key,
            session_token,
            None,
            "vaultiq",
        );
        OpenSearchAuth::AwsSigV4 {
            credentials: SharedCredentialsProvider::new(credentials),
            region: region.to_string(),
            serverless,
        }
    }

    /// SigV4 with the credentials of the standard AWS chain (environment,
    /// profile, container or instance role, refreshed as they expire) or
    /// the fixed keys of `settings`, in `settings`' region.
    ///
    /// Credentials are fetched once here, so a missing or broken chain is a
    /// clear error when the store connects rather than at the first
    /// signed request.
    pub async fn aws_chain(settings: &AwsSettings, serverless: bool) -> Result<Self> {
        let sdk = settings.load().await;
        let region = sdk.region().map(|r| r.to_string()).ok_or_else(|| {
            Error::Config(
                "OpenSearch SigV4 needs a region: set `store.region`, `[aws] region` or AWS_REGION"
                    .into(),
            )
        })?;
        let credentials = sdk.credentials_provider().ok_or_else(|| {
            Error::Config("OpenSearch SigV4: this build has no AWS credential chain".into())
        })?;
        if let Err(err) = credentials.provide_credentials().await {
            return Err(credentials_error(&err));
        }
        Ok(OpenSearchAuth::AwsSigV4 {
            credentials,
            region,
            serverless,
        })
    }

    fn is_serverless(&self) -> bool {
        matches!(
            self,
            OpenSearchAuth::AwsSigV4 {
                serverless: true,
                ..
            }
        )
    }
}

/// Why the chain gave no credentials, as the error a caller can act on:
/// none configured is permanent, a credentials endpoint that timed out or
/// failed may answer next time.
fn credentials_error(err: &CredentialsError) -> Error {
    match err {
        CredentialsError::CredentialsNotLoaded(_) | CredentialsError::InvalidConfiguration(_) => {
            Error::Config(format!(
                "OpenSearch SigV4: no AWS credentials ({}); set `[aws] profile`, \
                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or run with a role",
                aws_smithy_types::error::display::DisplayErrorContext(err)
            ))
        }
        _ => Error::Store {
            message: format!(
                "OpenSearch SigV4: loading AWS credentials failed: {}",
                aws_smithy_types::error::display::DisplayErrorContext(err)
            ),
            retryable: true,
        },
    }
}

impl std::fmt::Debug for OpenSearchAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets.
        match self {
            OpenSearchAuth::None => f.write_str("None"),
            OpenSearchAuth::Basic { username, .. } => write!(f, "Basic({username})"),
            OpenSearchAuth::AwsSigV4 {
                region, serverless, ..
            } => write!(
                f,
                "AwsSigV4({region}, {})",
                if *serverless { "aoss" } else { "es" }
            ),
        }
    }
}

/// Settings of an [`OpenSearchStore`]; see [`OpenSearchStore::builder`].
#[derive(Debug, Clone)]
pub struct OpenSearchStoreBuilder {
    url: String,
    index: String,
    dimension: usize,
    auth: OpenSearchAuth,
    space: SpaceType,
    m: u32,
    ef_construction: u32,
    batch: bulk::BatchLimits,
    retry: bulk::RetryPolicy,
    timeout: Duration,
}

impl OpenSearchStoreBuilder {
    /// Authentication (default none).
    pub fn auth(mut self, auth: OpenSearchAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Vector similarity (default inner product, see [`SpaceType`]).
    pub fn space_type(mut self, space: SpaceType) -> Self {
        self.space = space;
        self
    }

    /// HNSW graph degree `m` (default 16).
    pub fn hnsw_m(mut self, m: u32) -> Self {
        self.m = m;
        self
    }

    /// HNSW `ef_construction` (default 128).
    pub fn hnsw_ef_construction(mut self, ef: u32) -> Self {
        self.ef_construction = ef;
        self
    }

    /// Records per `_bulk` request at most (default 500).
    pub fn bulk_max_records(mut self, n: usize) -> Self {
        self.batch.max_records = n;
        self
    }

    /// Bytes per `_bulk` request at most (default 5 MiB; Serverless caps
    /// bulk payloads, see its collection limits).
    pub fn bulk_max_bytes(mut self, n: usize) -> Self {
        self.batch.max_bytes = n;
        self
    }

    /// Attempts for a throttled (429) or unavailable (5xx) request or bulk
    /// item before giving up (default 6), and the first back-off delay
    /// (default 200 ms, doubling, with jitter).
    pub fn retries(mut self, attempts: u32, first_backoff: Duration) -> Self {
        self.retry = bulk::RetryPolicy {
            attempts,
            first_backoff,
        };
        self
    }

    /// Timeout of one request (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects, creates the index if it does not exist (or checks its
    /// vector dimension if it does) and returns the store.
    #[tracing::instrument(name = "store.opensearch.connect", skip_all, fields(index = %self.index), err)]
    pub async fn connect(self) -> Result<OpenSearchStore> {
        validate_index_name(&self.index)?;
        if self.dimension == 0 || self.dimension > 16_000 {
            return Err(Error::Config(format!(
                "OpenSearch knn_vector dimension must be 1..=16000, got {}",
                self.dimension
            )));
        }
        if self.batch.max_records == 0 || self.batch.max_bytes < 1024 || self.retry.attempts == 0 {
            return Err(Error::Config(
                "OpenSearch bulk limits and retry attempts must be positive".into(),
            ));
        }
        let url = url::Url::parse(&self.url)
            .map_err(|e| Error::Config(format!("OpenSearch url `{}`: {e}", self.url)))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let mut transport =
            TransportBuilder::new(SingleNodeConnectionPool::new(url)).timeout(self.timeout);
        if loopback {
            transport = transport.disable_proxy();
        }
        transport = match &self.auth {
            OpenSearchAuth::None => transport,
            OpenSearchAuth::Basic { username, password } => {
                transport.auth(Credentials::Basic(username.clone(), password.clone()))
            }
            OpenSearchAuth::AwsSigV4 {
                credentials,
                region,
                serverless,
            } => transport
                .auth(Credentials::AwsSigV4(
                    credentials.clone(),
                    aws_types::region::Region::new(region.clone()),
                ))
                .service_name(if *serverless { "aoss" } else { "es" }),
        };
        let transport = transport
            .build()
            .map_err(|e| Error::Config(format!("OpenSearch client: {e}")))?;
        let store = OpenSearchStore {
            client: OpenSearch::new(transport),
            index: self.index,
            dimension: self.dimension,
            serverless: self.auth.is_serverless(),
            space: self.space,
            batch: self.batch,
            retry: self.retry,
        };
        store
            .ensure_index(mapping::Hnsw {
                space: self.space,
                m: self.m,
                ef_construction: self.ef_construction,
            })
            .await?;
        Ok(store)
    }
}

/// A [`VectorStore`] in an OpenSearch index.
#[derive(Debug, Clone)]
pub struct OpenSearchStore {
    client: OpenSearch,
    index: String,
    dimension: usize,
    serverless: bool,
    space: SpaceType,
    batch: bulk::BatchLimits,
    retry: bulk::RetryPolicy,
}

/// Which of a document's records a delete removes.
#[derive(Debug, Clone, Copy)]
enum Generations {
    /// Every record.
    All,
    /// Records older than the document's newest generation.
    Stale,
    /// The records of one generation (a failed batch).
    Exactly(i64),
}

impl OpenSearchStore {
    /// Settings for the index `index` at `url`, with vectors of `dimension`.
    pub fn builder(
        url: impl Into<String>,
        index: impl Into<String>,
        dimension: usize,
    ) -> OpenSearchStoreBuilder {
        OpenSearchStoreBuilder {
            url: url.into(),
            index: index.into(),
            dimension,
            auth: OpenSearchAuth::None,
            space: SpaceType::InnerProduct,
            m: 16,
            ef_construction: 128,
            batch: bulk::BatchLimits {
                max_records: 500,
                max_bytes: 5 * 1024 * 1024,
            },
            retry: bulk::RetryPolicy {
                attempts: 6,
                first_backoff: Duration::from_millis(200),
            },
            timeout: Duration::from_secs(30),
        }
    }

    /// The index name.
    pub fn index(&self) -> &str {
        &self.index
    }

    async fn ensure_index(&self, hnsw: mapping::Hnsw) -> Result<()> {
        let index = [self.index.as_str()];
        let indices = self.client.indices();
        let (status, body) = self
            .call("reading the index mapping", || {
                indices
                    .get_mapping(IndicesGetMappingParts::Index(&index))
                    .send()
            })
            .await?;
        if status == 200 {
            let stored = body[&self.index]["mappings"]["properties"]["embedding"]["dimension"]
                .as_u64()
                .ok_or_else(|| {
                    Error::Config(format!(
                        "OpenSearch index `{}` exists but has no knn_vector field `embedding`; \
                         choose another index name",
                        self.index
                    ))
                })?;
            if stored != self.dimension as u64 {
                return Err(Error::Config(format!(
                    "OpenSearch index `{}` holds {stored}-dimension vectors but the embedder makes {}; \
                     use another index for another model",
                    self.index, self.dimension
                )));
            }
            return Ok(());
        }
        let definition = mapping::index_body(self.dimension, hnsw);
        let (status, body) = self
            .call("creating the index", || {
                indices
                    .create(IndicesCreateParts::Index(&self.index))
                    .body(definition.clone())
                    .send()
            })
            .await?;
        let raced = status == 400
            && body["error"]["type"].as_str() == Some("resource_already_exists_exception");
        if (200..300).contains(&status) || raced {
            Ok(())
        } else {
            Err(bulk::status_error("creating the index", status, &body))
        }
    }

    /// Sends a request, retrying throttling and unavailability; returns the
    /// final status and JSON body (4xx included, for the caller to judge).
    async fn call<F, Fut>(&self, doing: &str, send: F) -> Result<(u16, Value)>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Response, opensearch::Error>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts;
            match send().await {
                Ok(response) => {
                    let status = response.status_code().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    if bulk::is_transient(status) && !last {
                        self.retry.wait(attempt, retry_after).await;
                        continue;
                    }
                    let text = response.text().await.map_err(|e| Error::Store {
                        message: format!("OpenSearch {doing}: reading the response: {e}"),
                        retryable: true,
                    })?;
                    let body = if text.trim().is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(&text).map_err(|e| Error::Store {
                            message: format!(
                                "OpenSearch {doing}: HTTP {status} with a body that is not JSON ({e})"
                            ),
                            retryable: bulk::is_transient(status),
                        })?
                    };
                    if bulk::is_transient(status) {
                        return Err(bulk::status_error(doing, status, &body));
                    }
                    return Ok((status, body));
                }
                Err(e) if !last => {
                    tracing::debug!(error = %e, attempt, "OpenSearch request failed; retrying");
                    self.retry.wait(attempt, None).await;
                }
                Err(e) => {
                    return Err(Error::Store {
                        message: format!("OpenSearch {doing}: {e}"),
                        retryable: true,
                    })
                }
            }
        }
    }

    /// Like [`Self::call`], but any non-2xx status is an error.
    async fn call_ok<F, Fut>(&self, doing: &str, send: F) -> Result<Value>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Response, opensearch::Error>>,
    {
        let (status, body) = self.call(doing, send).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(bulk::status_error(doing, status, &body))
        }
    }

    /// The OpenSearch `_id`s of the selected records of `document_ids`,
    /// paged with `search_after` (no scroll: Serverless has none).
    async fn record_ids(&self, document_ids: &[String], which: Generations) -> Result<Vec<String>> {
        const PAGE: usize = 1000;
        let mut ids = Vec::new();
        for group in document_ids.chunks(512) {
            let mut clauses = vec![json!({"terms": {"document_id": group}})];
            if let Generations::Exactly(g) = which {
                clauses.push(json!({"term": {"generation": g}}));
            }
            // (id, document id, generation) of every matching record.
            let mut found: Vec<(String, String, i64)> = Vec::new();
            let mut after: Option<Value> = None;
            loop {
                let mut body = json!({
                    "size": PAGE,
                    "_source": ["document_id", "generation"],
                    "query": {"bool": {"filter": clauses}},
                    "sort": [{"chunk_id": "asc"}, {"generation": "asc"}]
                });
                if let Some(after) = &after {
                    body["search_after"] = after.clone();
                }
                let index = [self.index.as_str()];
                let response = self
                    .call_ok("finding records to delete", || {
                        self.client
                            .search(SearchParts::Index(&index))
                            .body(body.clone())
                            .send()
                    })
                    .await?;
                let hits = query::hits_of(&response)?;
                for hit in hits {
                    let id = hit["_id"]
                        .as_str()
                        .ok_or_else(|| Error::store("OpenSearch search hit without `_id`"))?;
                    let document = hit["_source"]["document_id"].as_str().unwrap_or("");
                    let generation = hit["_source"]["generation"].as_i64().unwrap_or(0);
                    found.push((id.to_string(), document.to_string(), generation));
                }
                if hits.len() < PAGE {
                    break;
                }
                after = hits.last().map(|h| h["sort"].clone());
            }
            match which {
                Generations::All | Generations::Exactly(_) => {
                    ids.extend(found.into_iter().map(|(id, _, _)| id));
                }
                Generations::Stale => {
                    // Keep each document's newest generation only: whichever
                    // concurrent writer finishes last removes every older one.
                    let mut newest: HashMap<&str, i64> = HashMap::new();
                    for (_, document, generation) in &found {
                        let entry = newest.entry(document.as_str()).or_insert(*generation);
                        *entry = (*entry).max(*generation);
                    }
                    let stale: Vec<String> = found
                        .iter()
                        .filter(|(_, document, generation)| {
                            newest
                                .get(document.as_str())
                                .is_some_and(|n| generation < n)
                        })
                        .map(|(id, _, _)| id.clone())
                        .collect();
                    ids.extend(stale);
                }
            }
        }
        Ok(ids)
    }

    async fn delete_records(&self, document_ids: &[String], which: Generations) -> Result<()> {
        let ids = self.record_ids(document_ids, which).await?;
        let actions: Vec<bulk::Action> = ids
            .into_iter()
            .map(|id| bulk::Action {
                meta: json!({"delete": {"_index": self.index, "_id": id}}).to_string(),
                source: None,
                // A record already gone is what we wanted.
                label: String::new(),
            })
            .collect();
        bulk::send(self, actions, "deleting records").await
    }

    async fn search(&self, body: Value, doing: &str, vector: bool) -> Result<Vec<StoredHit>> {
        let index = [self.index.as_str()];
        let response = self
            .call_ok(doing, || {
                self.client
                    .search(SearchParts::Index(&index))
                    .body(body.clone())
                    .send()
            })
            .await?;
        let space = self.space;
        let mut seen = HashSet::new();
        let mut hits = Vec::new();
        for hit in query::hits_of(&response)? {
            let stored = if vector {
                query::stored_hit(hit, |s| space.similarity(s))?
            } else {
                query::stored_hit(hit, |s| s as f32)?
            };
            // A request retried after an ambiguous failure on Serverless
            // (no custom ids) may have stored a record twice: show it once.
            if seen.insert(stored.chunk.id.clone()) {
                hits.push(stored);
            }
        }
        Ok(hits)
    }
}

fn validate_index_name(index: &str) -> Result<()> {
    let valid = !index.is_empty()
        && index.len() <= 255
        && !index.starts_with(['_', '-', '+'])
        && index
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if valid && index != "." && index != ".." {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "OpenSearch index name `{index}` must be lower case letters, digits, `-`, `_` or `.`, \
             not starting with `_`, `-` or `+`"
        )))
    }
}

/// A generation strictly greater than any earlier one of this process and,
/// clocks permitting, of other writers: later writes win.
fn next_generation() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or(i64::MAX / 2);
    let mut previous = LAST.load(Ordering::Relaxed);
    loop {
        let next = now.max(previous + 1);
        match LAST.compare_exchange(previous, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return next,
            Err(actual) => previous = actual,
        }
    }
}

#[async_trait]
impl VectorStore for OpenSearchStore {
    #[tracing::instrument(name = "store.opensearch.upsert", skip_all, fields(documents = documents.len()), err)]
    async fn upsert(&self, documents: &[IndexedDocument]) -> Result<()> {
        batch::validate(documents, self.dimension)?;
        let unique = batch::last_per_document(documents);
        if unique.is_empty() {
            return Ok(());
        }
        let generation = next_generation();
        let mut actions = Vec::new();
        for indexed in &unique {
            let doc = &indexed.document;
            let mut records = vec![(
                format!("{}#document", doc.id),
                query::document_record(doc, generation),
            )];
            for (chunk, vector) in indexed.chunks.iter().zip(&indexed.vectors) {
                records.push((
                    chunk.id.clone(),
                    query::chunk_record(indexed, chunk, vector, generation),
                ));
            }
            for (label, record) in records {
                let meta = if self.serverless {
                    json!({"index": {"_index": self.index}})
                } else {
                    json!({"index": {"_index": self.index, "_id": format!("{label}@{generation}")}})
                };
                actions.push(bulk::Action {
                    meta: meta.to_string(),
                    source: Some(record.to_string()),
                    label,
                });
            }
        }
        let ids: Vec<String> = unique.iter().map(|d| d.document.id.clone()).collect();
        if let Err(err) = bulk::send(self, actions, "indexing chunks").await {
            // Take back this generation so the documents stay as they were.
            if let Err(cleanup) = self
                .delete_records(&ids, Generations::Exactly(generation))
                .await
            {
                tracing::warn!(error = %cleanup, "could not remove a failed batch's records");
            }
            return Err(err);
        }
        self.delete_records(&ids, Generations::Stale).await
    }

    #[tracing::instrument(name = "store.opensearch.delete", skip_all, fields(documents = document_ids.len()), err)]
    async fn delete(&self, document_ids: &[String]) -> Result<()> {
        if document_ids.is_empty() {
            return Ok(());
        }
        self.delete_records(document_ids, Generations::All).await
    }

    #[tracing::instrument(name = "store.opensearch.vector_search", skip_all, fields(k), err)]
    async fn vector_search(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>> {
        batch::check_query(query, self.dimension)?;
        if k == 0 {
            return Ok(Vec::new());
        }
        self.search(query::knn_body(query, k, filter), "k-NN search", true)
            .await
    }

    #[tracing::instrument(name = "store.opensearch.keyword_search", skip_all, fields(k), err)]
    async fn keyword_search(
        &self,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>> {
        if k == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        self.search(query::match_body(query, k, filter), "keyword search", false)
            .await
    }

    async fn count_by_source(&self) -> Result<BTreeMap<SourceType, usize>> {
        let index = [self.index.as_str()];
        let body = query::count_by_source_body();
        let response = self
            .call_ok("counting documents", || {
                self.client
                    .search(SearchParts::Index(&index))
                    .body(body.clone())
                    .send()
            })
            .await?;
        let buckets = response["aggregations"]["by_source"]["buckets"]
            .as_array()
            .ok_or_else(|| Error::store("OpenSearch aggregation response has no buckets"))?;
        let mut counts = BTreeMap::new();
        for bucket in buckets {
            let key = bucket["key"]
                .as_str()
                .ok_or_else(|| Error::store("OpenSearch bucket without a key"))?;
            let count = bucket["doc_count"].as_u64().unwrap_or(0);
            counts.insert(key.parse()?, usize::try_from(count).unwrap_or(usize::MAX));
        }
        Ok(counts)
    }

    async fn chunk_count(&self) -> Result<usize> {
        let index = [self.index.as_str()];
        let body = json!({"query": {"term": {"kind": query::KIND_CHUNK}}});
        let response = self
            .call_ok("counting chunks", || {
                self.client
                    .count(CountParts::Index(&index))
                    .body(body.clone())
                    .send()
            })
            .await?;
        let count = response["count"]
            .as_u64()
            .ok_or_else(|| Error::store("OpenSearch _count response has no count"))?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_follow_opensearch_rules() {
        assert!(validate_index_name("vaultiq-chunks").is_ok());
        for bad in ["", "Upper", "_x", "a b", "a/b", ".."] {
            assert!(validate_index_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generations_increase() {
        let a = next_generation();
        let b = next_generation();
        assert!(b > a);
    }
}
