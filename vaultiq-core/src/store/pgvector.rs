//! PostgreSQL + pgvector store, for Amazon Aurora PostgreSQL, RDS or any
//! PostgreSQL with the `vector` extension.
//!
//! One row per chunk carries its vector (`vector(d)`, HNSW index, cosine),
//! a generated `tsvector` (GIN index) for the keyword side and the document
//! fields filters need. A batch is one transaction: the documents' rows are
//! locked first (in id order, so concurrent writers never deadlock), their
//! old chunks deleted, and the new chunks streamed in with binary `COPY`.
//!
//! Connections use TLS as libpq would: `sslmode` (default `prefer`) and
//! `sslrootcert` in the url, or [`PgVectorStoreBuilder::tls_ca_file`]; see
//! `tls` for the checks each mode makes.

mod conninfo;
mod errors;
mod filter;
mod schema;
mod sql;
mod tls;
mod tls_connect;
mod wire;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{NoTls, Row};

use crate::store::batch;
use crate::store::{Filter, IndexedDocument, StoredHit, VectorStore};
use crate::{Chunk, DocumentSummary, Error, Result, SourceType};
use errors::{pg, pool};
use schema::{HnswSettings, Tables};
use tls_connect::MakeRustls;
use wire::{JsonbParam, VectorParam, VectorValue};

/// Columns written by `COPY`, in the order of [`PgVectorStore::copy_chunks`].
const COPY_COLUMNS: &str = "id, document_id, ordinal, text, heading_path, char_start, char_end, \
     content_hash, source, source_name, title, url, updated_at, metadata, acl, search_text, embedding";

/// A [`VectorStore`] in PostgreSQL with pgvector.
#[derive(Clone)]
pub struct PgVectorStore {
    pool: Pool,
    tables: Tables,
    dimension: usize,
    text_search_config: String,
    ef_search: u32,
}

impl std::fmt::Debug for PgVectorStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The pool holds the connection string and its password: never print it.
        f.debug_struct("PgVectorStore")
            .field("tables", &self.tables.chunks)
            .field("dimension", &self.dimension)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`PgVectorStore`]; see [`PgVectorStore::builder`].
#[derive(Clone)]
pub struct PgVectorStoreBuilder {
    url: String,
    dimension: usize,
    table_prefix: String,
    max_connections: usize,
    connect_timeout: Duration,
    text_search_config: String,
    hnsw: HnswSettings,
    ef_search: u32,
    iterative_scan: bool,
    tls_ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for PgVectorStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The url carries the password: never print it.
        f.debug_struct("PgVectorStoreBuilder")
            .field("dimension", &self.dimension)
            .field("table_prefix", &self.table_prefix)
            .field("max_connections", &self.max_connections)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish_non_exhaustive()
    }
}

impl PgVectorStoreBuilder {
    /// Prefix of the three tables (default `vaultiq`): `{prefix}_chunks`...
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// Pooled connections at most (default 8).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// PostgreSQL text search configuration of the keyword side (default
    /// `english`: stemming and stop words).
    pub fn text_search_config(mut self, config: impl Into<String>) -> Self {
        self.text_search_config = config.into();
        self
    }

    /// HNSW graph degree (default 16, pgvector's default).
    pub fn hnsw_m(mut self, m: u32) -> Self {
        self.hnsw.m = m;
        self
    }

    /// HNSW build candidate list (default 64, pgvector's default).
    pub fn hnsw_ef_construction(mut self, ef: u32) -> Self {
        self.hnsw.ef_construction = ef;
        self
    }

    /// Search candidate list (default 100; raised to `k` when `k` is larger).
    pub fn ef_search(mut self, ef: u32) -> Self {
        self.ef_search = ef;
        self
    }

    /// Keep scanning the HNSW graph until `k` rows pass the filter (pgvector
    /// 0.8 `hnsw.iterative_scan`; default on). Turn off for older pgvector.
    pub fn iterative_scan(mut self, on: bool) -> Self {
        self.iterative_scan = on;
        self
    }

    /// Root CA certificates (PEM) that the server's certificate must chain
    /// to, when the url has no `sslrootcert` (which wins). With
    /// `sslmode=verify-full` in the url this is what Aurora and RDS need:
    /// their `global-bundle.pem`. Without `sslmode`, a CA file makes the
    /// default `prefer` check the chain, as in libpq.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca_file = Some(path.into());
        self
    }

    /// Connects, migrates the schema and returns the store.
    #[tracing::instrument(name = "store.pgvector.connect", skip_all, err)]
    pub async fn connect(self) -> Result<PgVectorStore> {
        if self.dimension == 0 || self.dimension > 16_000 {
            return Err(Error::Config(format!(
                "pgvector dimension must be 1..=16000, got {}",
                self.dimension
            )));
        }
        if self.max_connections == 0 {
            return Err(Error::Config(
                "pgvector max_connections must be at least 1".into(),
            ));
        }
        let valid_config = !self.text_search_config.is_empty()
            && self
                .text_search_config
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_');
        if !valid_config {
            return Err(Error::Config(format!(
                "pgvector text search configuration `{}` must be a name like `english` or `simple`",
                self.text_search_config
            )));
        }
        if !(2..=100).contains(&self.hnsw.m) || !(4..=1000).contains(&self.hnsw.ef_construction) {
            return Err(Error::Config(format!(
                "pgvector HNSW settings out of range: m {} (2..=100), ef_construction {} (4..=1000)",
                self.hnsw.m, self.hnsw.ef_construction
            )));
        }
        let tables = Tables::new(&self.table_prefix)?;
        let url = conninfo::split(&self.url)?;
        let mut config: tokio_postgres::Config = url.rest.parse().map_err(|e| {
            Error::Config(format!(
                "pgvector url is not a PostgreSQL connection string: {e}"
            ))
        })?;
        let ca_file = self
            .tls_ca_file
            .as_ref()
            .map(|path| path.to_string_lossy().into_owned());
        let tls = tls::plan(
            url.ssl_mode,
            url.root_cert.as_deref().or(ca_file.as_deref()),
        )?;
        config.ssl_mode(tls.mode);
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("vaultiq");
        }
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match &tls.config {
            Some(client) => Manager::from_config(
                config,
                MakeRustls::new(client.clone(), &tls.trusted),
                manager_config,
            ),
            None => Manager::from_config(config, NoTls, manager_config),
        };
        let ef_search = self.ef_search.clamp(1, 1000);
        let session = session_settings(ef_search, self.iterative_scan);
        let pool = Pool::builder(manager)
            .max_size(self.max_connections)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(self.connect_timeout))
            .create_timeout(Some(self.connect_timeout))
            .post_create(Hook::async_fn(move |client, _| {
                let session = session.clone();
                Box::pin(async move {
                    client
                        .batch_execute(&session)
                        .await
                        .map_err(HookError::Backend)
                })
            }))
            .build()
            .map_err(|e| Error::Config(format!("pgvector connection pool: {e}")))?;
        let mut client = pool.get().await.map_err(pool_error)?;
        schema::migrate(
            &mut client,
            &tables,
            self.dimension,
            &self.text_search_config,
            self.hnsw,
        )
        .await?;
        drop(client);
        Ok(PgVectorStore {
            pool,
            tables,
            dimension: self.dimension,
            text_search_config: self.text_search_config,
            ef_search,
        })
    }
}

/// Search settings of every pooled connection, set once when it opens, so
/// a search needs no transaction of its own. The iterative scan (pgvector
/// 0.8) only acts when a filter rejects candidates: without it a selective
/// filter can leave fewer than `k` of the `ef_search` candidates.
fn session_settings(ef_search: u32, iterative_scan: bool) -> String {
    let mut settings = format!("SET hnsw.ef_search = {ef_search};");
    if iterative_scan {
        settings.push_str(" SET hnsw.iterative_scan = strict_order;");
    }
    settings
}

fn pool_error(err: deadpool_postgres::PoolError) -> Error {
    pool(err)
}

impl PgVectorStore {
    /// Settings for a store at `url` (`postgres://user:pass@host:5432/db`
    /// or `host=... user=...`) holding vectors of `dimension`.
    pub fn builder(url: impl Into<String>, dimension: usize) -> PgVectorStoreBuilder {
        PgVectorStoreBuilder {
            url: url.into(),
            dimension,
            table_prefix: "vaultiq".into(),
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
            text_search_config: "english".into(),
            hnsw: HnswSettings {
                m: 16,
                ef_construction: 64,
            },
            ef_search: 100,
            iterative_scan: true,
            tls_ca_file: None,
        }
    }

    /// Dimension of the stored vectors.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Drops the store's tables (tests and `reindex` into a fresh schema).
    pub async fn drop_tables(&self) -> Result<()> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let Tables {
            meta,
            documents,
            chunks,
        } = &self.tables;
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {chunks}; DROP TABLE IF EXISTS {documents}; DROP TABLE IF EXISTS {meta};"
            ))
            .await
            .map_err(|e| pg("dropping the tables", e))
    }

    async fn copy_chunks(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        documents: &[&IndexedDocument],
    ) -> Result<()> {
        // The `vector` type's OID differs per database: ask the server
        // (once per connection: the statement is cached).
        let vector_type = tx
            .prepare_cached("SELECT NULL::vector")
            .await
            .map_err(|e| pg("looking up the vector type", e))?
            .columns()
            .first()
            .map(|c| c.type_().clone())
            .ok_or_else(|| Error::store("PostgreSQL did not describe the vector type"))?;
        let types = [
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::TEXT,
            Type::TEXT_ARRAY,
            Type::INT8,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TIMESTAMPTZ,
            Type::JSONB,
            Type::TEXT_ARRAY,
            Type::TEXT,
            vector_type,
        ];
        let sink = tx
            .copy_in(&format!(
                "COPY {} ({COPY_COLUMNS}) FROM STDIN BINARY",
                self.tables.chunks
            ))
            .await
            .map_err(|e| pg("starting to copy chunks", e))?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        for indexed in documents {
            let doc = &indexed.document;
            let metadata = JsonbParam(serde_json::to_string(&doc.metadata)?);
            let source = doc.source.as_str();
            for (chunk, vector) in indexed.chunks.iter().zip(&indexed.vectors) {
                let ordinal = i32::try_from(chunk.ordinal).map_err(|_| {
                    Error::InvalidInput(format!("chunk `{}` ordinal is too large", chunk.id))
                })?;
                let char_start = chunk.char_start as i64;
                let char_end = chunk.char_end as i64;
                let search_text = chunk.indexed_text(&doc.title);
                let vector = VectorParam(vector);
                let row: [&(dyn ToSql + Sync); 17] = [
                    &chunk.id,
                    &chunk.document_id,
                    &ordinal,
                    &chunk.text,
                    &chunk.heading_path,
                    &char_start,
                    &char_end,
                    &chunk.content_hash,
                    &source,
                    &doc.source_name,
                    &doc.title,
                    &doc.url,
                    &doc.updated_at,
                    &metadata,
                    &doc.acl,
                    &search_text,
                    &vector,
                ];
                writer
                    .as_mut()
                    .write(&row)
                    .await
                    .map_err(|e| pg("copying chunks", e))?;
            }
        }
        writer
            .finish()
            .await
            .map_err(|e| pg("finishing the chunk copy", e))?;
        Ok(())
    }

    /// Runs a search statement, prepared once per connection. `settings`
    /// (rare: a `k` above the session's `ef_search`) need a transaction for
    /// `SET LOCAL`; every other search is one round trip.
    async fn search(
        &self,
        sql: String,
        params: Vec<filter::Param>,
        settings: Option<String>,
        doing: &str,
    ) -> Result<Vec<StoredHit>> {
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = match settings {
            None => {
                let statement = client
                    .prepare_cached(&sql)
                    .await
                    .map_err(|e| pg(doing, e))?;
                client
                    .query(&statement, &refs)
                    .await
                    .map_err(|e| pg(doing, e))?
            }
            Some(settings) => {
                let tx = client
                    .transaction()
                    .await
                    .map_err(|e| pg("starting a search", e))?;
                tx.batch_execute(&settings)
                    .await
                    .map_err(|e| pg("setting search options", e))?;
                let statement = tx.prepare_cached(&sql).await.map_err(|e| pg(doing, e))?;
                let rows = tx
                    .query(&statement, &refs)
                    .await
                    .map_err(|e| pg(doing, e))?;
                tx.commit().await.map_err(|e| pg("ending a search", e))?;
                rows
            }
        };
        rows.iter().map(hit_from_row).collect()
    }
}

/// Reads one row of a search statement (see `sql`): the hit columns, then the score.
fn hit_from_row(row: &Row) -> Result<StoredHit> {
    let get_err = |e: tokio_postgres::Error| Error::Corrupt(format!("PostgreSQL chunk row: {e}"));
    let source: String = row.try_get(8).map_err(get_err)?;
    let source: SourceType = source.parse().map_err(|_| {
        Error::Corrupt(format!(
            "PostgreSQL chunk row has unknown source `{source}`"
        ))
    })?;
    let metadata: String = row.try_get(13).map_err(get_err)?;
    let metadata: BTreeMap<String, String> = serde_json::from_str(&metadata)
        .map_err(|e| Error::Corrupt(format!("PostgreSQL chunk metadata: {e}")))?;
    let ordinal: i32 = row.try_get(2).map_err(get_err)?;
    let char_start: i64 = row.try_get(5).map_err(get_err)?;
    let char_end: i64 = row.try_get(6).map_err(get_err)?;
    let vector: VectorValue = row.try_get(14).map_err(get_err)?;
    let score: f64 = row.try_get(15).map_err(get_err)?;
    let updated_at: Option<DateTime<Utc>> = row.try_get(12).map_err(get_err)?;
    let document_id: String = row.try_get(1).map_err(get_err)?;
    Ok(StoredHit {
        chunk: Chunk {
            id: row.try_get(0).map_err(get_err)?,
            document_id: document_id.clone(),
            ordinal: u32::try_from(ordinal).unwrap_or(0),
            text: row.try_get(3).map_err(get_err)?,
            heading_path: row.try_get(4).map_err(get_err)?,
            char_start: usize::try_from(char_start).unwrap_or(0),
            char_end: usize::try_from(char_end).unwrap_or(0),
            content_hash: row.try_get(7).map_err(get_err)?,
        },
        document: DocumentSummary {
            id: document_id,
            source,
            source_name: row.try_get(9).map_err(get_err)?,
            title: row.try_get(10).map_err(get_err)?,
            url: row.try_get(11).map_err(get_err)?,
            updated_at,
            metadata,
        },
        score: score as f32,
        vector: Some(vector.0),
    })
}

#[async_trait]
impl VectorStore for PgVectorStore {
    #[tracing::instrument(name = "store.pgvector.upsert", skip_all, fields(documents = documents.len()), err)]
    async fn upsert(&self, documents: &[IndexedDocument]) -> Result<()> {
        batch::validate(documents, self.dimension)?;
        let mut unique = batch::last_per_document(documents);
        if unique.is_empty() {
            return Ok(());
        }
        // Row locks in one global order: concurrent batches never deadlock.
        unique.sort_by(|a, b| a.document.id.cmp(&b.document.id));
        let mut client = self.pool.get().await.map_err(pool_error)?;
        let tx = client
            .transaction()
            .await
            .map_err(|e| pg("starting an upsert", e))?;
        let ids: Vec<&str> = unique.iter().map(|d| d.document.id.as_str()).collect();
        let sources: Vec<&str> = unique.iter().map(|d| d.document.source.as_str()).collect();
        let hashes: Vec<&str> = unique
            .iter()
            .map(|d| d.document.content_hash.as_str())
            .collect();
        let documents_table = &self.tables.documents;
        tx.execute(
            &format!(
                "INSERT INTO {documents_table} (id, source, content_hash)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT (id) DO UPDATE SET source = EXCLUDED.source, content_hash = EXCLUDED.content_hash"
            ),
            &[&ids, &sources, &hashes],
        )
        .await
        .map_err(|e| pg("writing documents", e))?;
        tx.execute(
            &format!(
                "DELETE FROM {} WHERE document_id = ANY($1::text[])",
                self.tables.chunks
            ),
            &[&ids],
        )
        .await
        .map_err(|e| pg("removing replaced chunks", e))?;
        self.copy_chunks(&tx, &unique).await?;
        tx.commit().await.map_err(|e| pg("committing an upsert", e))
    }

    #[tracing::instrument(name = "store.pgvector.delete", skip_all, fields(documents = document_ids.len()), err)]
    async fn delete(&self, document_ids: &[String]) -> Result<()> {
        if document_ids.is_empty() {
            return Ok(());
        }
        let client = self.pool.get().await.map_err(pool_error)?;
        // Chunks go with their document (ON DELETE CASCADE), in one statement.
        client
            .execute(
                &format!(
                    "DELETE FROM {} WHERE id = ANY($1::text[])",
                    self.tables.documents
                ),
                &[&document_ids],
            )
            .await
            .map_err(|e| pg("deleting documents", e))?;
        Ok(())
    }

    #[tracing::instrument(name = "store.pgvector.vector_search", skip_all, fields(k), err)]
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
        let (clause, mut params) = filter::where_clause(filter, 2);
        params.insert(0, Box::new(query.to_vec()) as filter::Param);
        let limit = i64::try_from(k).unwrap_or(i64::MAX);
        let sql = sql::vector_search(&self.tables.chunks, &clause, limit);
        // The session runs with `hnsw.ef_search` and (pgvector 0.8) the
        // iterative scan set at connect (see `session_settings`); only a `k`
        // above ef_search needs more candidates for this one query.
        let wanted = u32::try_from(k).unwrap_or(u32::MAX);
        let settings = (wanted > self.ef_search)
            .then(|| format!("SET LOCAL hnsw.ef_search = {};", wanted.min(1000)));
        self.search(sql, params, settings, "vector search").await
    }

    #[tracing::instrument(name = "store.pgvector.keyword_search", skip_all, fields(k), err)]
    async fn keyword_search(
        &self,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>> {
        if k == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let (clause, mut params) = filter::where_clause(filter, 2);
        params.insert(0, Box::new(query.to_string()));
        let limit = i64::try_from(k).unwrap_or(i64::MAX);
        let sql = sql::keyword_search(
            &self.tables.chunks,
            &self.text_search_config,
            &clause,
            limit,
        );
        self.search(sql, params, None, "keyword search").await
    }

    async fn count_by_source(&self) -> Result<BTreeMap<SourceType, usize>> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                &format!(
                    "SELECT source, count(*) FROM {} GROUP BY source",
                    self.tables.documents
                ),
                &[],
            )
            .await
            .map_err(|e| pg("counting documents", e))?;
        let mut counts = BTreeMap::new();
        for row in rows {
            let source: String = row.get(0);
            let count: i64 = row.get(1);
            let source: SourceType = source.parse().map_err(|_| {
                Error::Corrupt(format!(
                    "PostgreSQL document row has unknown source `{source}`"
                ))
            })?;
            counts.insert(source, usize::try_from(count).unwrap_or(0));
        }
        Ok(counts)
    }

    async fn chunk_count(&self) -> Result<usize> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_one(&format!("SELECT count(*) FROM {}", self.tables.chunks), &[])
            .await
            .map_err(|e| pg("counting chunks", e))?;
        let count: i64 = row.get(0);
        Ok(usize::try_from(count).unwrap_or(0))
    }
}
