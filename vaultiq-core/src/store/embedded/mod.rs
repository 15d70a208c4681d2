//! The default store: one SQLite file (WAL) holds documents, chunks and
//! vectors, written one transaction per batch. Two indexes in memory are
//! derived from it: the BM25 keyword index and the vector index (exact
//! below a size threshold, HNSW above it). Both follow the store's change
//! log (see `vector_index`); above the threshold both are also saved to
//! files beside it, so reopening a large store loads them instead of
//! rebuilding.

mod ann;
#[cfg(test)]
mod ann_store_tests;
mod keyword;
mod keyword_analyzer;
#[cfg(test)]
mod keyword_follow_tests;
mod keyword_index;
#[cfg(test)]
mod keyword_persist_tests;
mod schema;
mod snapshot;
mod vector_index;
mod vectors;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{Filter, IndexedDocument, StoredHit, VectorStore};
use crate::{Chunk, DocumentSummary, Error, Result, SourceType};
use keyword_index::KeywordIndex;
use vector_index::{IndexSettings, VectorIndex};
pub use vector_index::{VectorIndexInfo, DEFAULT_APPROX_THRESHOLD, DEFAULT_EF_SEARCH};
use vectors::RowFilter;

/// File name of the store inside the data directory.
pub const STORE_FILE: &str = "store.sqlite";

/// Settings of an [`EmbeddedStore`]; the defaults suit any size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedStoreOptions {
    /// Chunk count from which vector search uses the HNSW index instead of
    /// an exact scan.
    pub approx_threshold: usize,
    /// Beam width of HNSW searches (higher: better recall, slower).
    pub ef_search: usize,
}

impl Default for EmbeddedStoreOptions {
    fn default() -> Self {
        EmbeddedStoreOptions {
            approx_threshold: DEFAULT_APPROX_THRESHOLD,
            ef_search: DEFAULT_EF_SEARCH,
        }
    }
}

/// The embedded, persistent, crash-safe store.
#[derive(Debug, Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    conn: Connection,
    vectors: Option<VectorIndex>,
    /// BM25 index over every chunk's indexed text.
    keywords: KeywordIndex,
    /// The change-log sequence the keyword index reflects.
    keyword_seq: i64,
    /// The sequence of the saved keyword index, if this handle knows one.
    keyword_saved_seq: Option<i64>,
    /// `PRAGMA data_version` when the indexes were last caught up: it
    /// changes when another process commits, and then they catch up.
    data_version: i64,
    data_dir: PathBuf,
    settings: IndexSettings,
}

impl Drop for Inner {
    /// Saves the approximate index if it lags, so the next open loads it
    /// instead of catching up a long log. Losing this (a crash) only costs
    /// that catch-up.
    fn drop(&mut self) {
        let Ok(mut state) = lock(&self.state) else {
            return;
        };
        let state = &mut *state;
        if let Some(vectors) = state.vectors.as_mut() {
            if let Err(err) = vectors.save_if_behind(&state.conn) {
                tracing::warn!(error = %err, "could not save the vector index on close");
            }
        }
        state.save_keywords(true);
    }
}

impl EmbeddedStore {
    /// Opens or creates the store in `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(data_dir, EmbeddedStoreOptions::default())
    }

    /// Opens or creates the store in `data_dir` with `options`.
    pub fn open_with(data_dir: impl AsRef<Path>, options: EmbeddedStoreOptions) -> Result<Self> {
        let dir = data_dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create data directory", dir, e))?;
        let path = dir.join(STORE_FILE);
        let conn = schema::open(&path)?;
        let mut state = State {
            conn,
            vectors: None,
            keywords: KeywordIndex::default(),
            keyword_seq: 0,
            keyword_saved_seq: None,
            data_version: 0,
            data_dir: dir.to_path_buf(),
            settings: IndexSettings {
                approx_threshold: options.approx_threshold.max(1),
                ef_search: options.ef_search.max(1),
            },
        };
        state.reload()?;
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                path,
                state: Mutex::new(state),
            }),
        })
    }

    /// Path of the SQLite file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// What the vector index is (exact or HNSW) and where it stands.
    pub async fn vector_index_info(&self) -> Result<VectorIndexInfo> {
        self.with_state(|state| {
            Ok(state
                .vectors
                .as_ref()
                .map(VectorIndex::info)
                .unwrap_or_default())
        })
        .await
    }

    /// Runs blocking SQLite work off the async executor.
    async fn with_state<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut State) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut state = lock(&inner.state)?;
            state.refresh_if_changed()?;
            work(&mut state)
        })
        .await
        .map_err(|e| Error::store(format!("store task failed: {e}")))?
    }
}

fn lock(state: &Mutex<State>) -> Result<MutexGuard<'_, State>> {
    state
        .lock()
        .map_err(|_| Error::store("store lock poisoned by a panic in another thread"))
}

impl State {
    fn dimension(&self) -> Result<Option<usize>> {
        match schema::meta(&self.conn, "dimension")? {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| Error::Corrupt(format!("store dimension `{text}` is not a number"))),
        }
    }

    fn current_data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |row| row.get(0))?)
    }

    fn refresh_if_changed(&mut self) -> Result<()> {
        if self.current_data_version()? != self.data_version {
            self.data_version = self.current_data_version()?;
            // Another process wrote: both indexes follow the change log.
            self.keyword_seq = keyword::catch_up(&mut self.keywords, &self.conn, self.keyword_seq)?;
            self.catch_up_vectors()?;
            self.save_keywords(false);
        }
        Ok(())
    }

    /// Saves the keyword index beside the vector index: when the vector
    /// index has just been saved at the keyword index's log position (so
    /// the two files load together, and the change log the vector save
    /// trims still reaches the keyword file), or on `closing` if the file
    /// lags. Stores small enough for the exact vector scan rebuild their
    /// keyword index in moments and save none. A failed save is only
    /// logged: the index stays correct in memory and is rebuilt next time.
    fn save_keywords(&mut self, closing: bool) {
        let Some(vectors) = self.vectors.as_ref() else {
            return;
        };
        if !vectors.is_approximate() || self.keyword_saved_seq == Some(self.keyword_seq) {
            return;
        }
        if !closing && vectors.saved_seq() != Some(self.keyword_seq) {
            return;
        }
        match keyword::save_index(&self.keywords, &self.conn, self.keyword_seq, &self.data_dir) {
            Ok(()) => self.keyword_saved_seq = Some(self.keyword_seq),
            Err(err) => tracing::warn!(error = %err, "could not save the keyword index"),
        }
    }

    /// Loads both derived indexes, each from its file when that matches
    /// the store (caught up from the change log), else from SQLite, the
    /// source of truth.
    fn reload(&mut self) -> Result<()> {
        self.data_version = self.current_data_version()?;
        {
            // One snapshot, so the index and its log position agree.
            let tx = self.conn.unchecked_transaction()?;
            let (keywords, seq, saved) = keyword::open_index(&tx, &self.data_dir)?;
            tx.finish()?;
            self.keywords = keywords;
            self.keyword_seq = seq;
            self.keyword_saved_seq = saved;
        }
        self.vectors = match self.dimension()? {
            None => None,
            Some(dimension) => Some(VectorIndex::open(
                &self.conn,
                dimension,
                &self.data_dir,
                self.settings,
            )?),
        };
        self.save_keywords(false);
        Ok(())
    }

    /// Brings the vector index up to date with SQLite's change log.
    fn catch_up_vectors(&mut self) -> Result<()> {
        match self.vectors.as_mut() {
            Some(vectors) => vectors.catch_up(&self.conn),
            None => self.reload(),
        }
    }

    /// Starts a write: takes the write lock at once, then applies whatever
    /// another process committed since the last look, so the keyword
    /// index's in-place updates below land on an index that is current
    /// and its log position can move to this commit's.
    fn write_transaction(&mut self) -> Result<rusqlite::Transaction<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        self.keyword_seq = keyword::catch_up(&mut self.keywords, &tx, self.keyword_seq)?;
        Ok(tx)
    }

    fn upsert(&mut self, documents: &[IndexedDocument]) -> Result<()> {
        let dimension = match self.dimension()? {
            Some(d) => d,
            None => match documents.iter().flat_map(|d| d.vectors.first()).next() {
                Some(v) => v.len(),
                None => 0,
            },
        };
        crate::store::batch::validate(documents, dimension)?;
        let tx = self.write_transaction()?;
        if dimension > 0 {
            tx.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('dimension', ?1)",
                [dimension.to_string()],
            )?;
        }
        let mut removed_texts = Vec::new();
        let mut added_texts = Vec::new();
        for indexed in documents {
            let doc = &indexed.document;
            removed_texts.extend(keyword::indexed_texts_of_document(&tx, &doc.id)?);
            delete_document(&tx, &doc.id)?;
            tx.execute(
                "INSERT INTO documents (id, source, source_name, title, url, author, created_ms, updated_ms, metadata, acl, content_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    doc.id,
                    doc.source.as_str(),
                    doc.source_name,
                    doc.title,
                    doc.url,
                    doc.author,
                    doc.created_at.map(|t| t.timestamp_millis()),
                    doc.updated_at.map(|t| t.timestamp_millis()),
                    serde_json::to_string(&doc.metadata)?,
                    doc.acl.as_ref().map(serde_json::to_string).transpose()?,
                    doc.content_hash,
                ],
            )?;
            let mut insert_chunk = tx.prepare_cached(
                "INSERT INTO chunks (id, document_id, ordinal, text, heading_path, char_start, char_end, content_hash, vector)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for (chunk, vector) in indexed.chunks.iter().zip(&indexed.vectors) {
                insert_chunk.execute(params![
                    chunk.id,
                    chunk.document_id,
                    chunk.ordinal,
                    chunk.text,
                    serde_json::to_string(&chunk.heading_path)?,
                    chunk.char_start as i64,
                    chunk.char_end as i64,
                    chunk.content_hash,
                    crate::vector_blob::encode(vector),
                ])?;
                let rowid = tx.last_insert_rowid();
                added_texts.push((rowid, doc.source, chunk.indexed_text(&doc.title)));
            }
        }
        let head = keyword::log_head(&tx)?;
        tx.commit()?;
        for (rowid, text) in &removed_texts {
            self.keywords.remove(*rowid, text);
        }
        for (rowid, source, text) in &added_texts {
            self.keywords.insert(*rowid, *source, text);
        }
        self.keyword_seq = head;
        // The vector index follows the change log the commit just wrote
        // (and anything another process wrote before it).
        self.catch_up_vectors()?;
        self.save_keywords(false);
        Ok(())
    }

    fn delete(&mut self, document_ids: &[String]) -> Result<()> {
        let tx = self.write_transaction()?;
        let mut removed_texts = Vec::new();
        for id in document_ids {
            removed_texts.extend(keyword::indexed_texts_of_document(&tx, id)?);
            delete_document(&tx, id)?;
        }
        let head = keyword::log_head(&tx)?;
        tx.commit()?;
        for (rowid, text) in &removed_texts {
            self.keywords.remove(*rowid, text);
        }
        self.keyword_seq = head;
        self.catch_up_vectors()?;
        self.save_keywords(false);
        Ok(())
    }

    fn vector_search(&self, query: &[f32], k: usize, filter: &Filter) -> Result<Vec<StoredHit>> {
        let Some(vectors) = self.vectors.as_ref() else {
            return Ok(Vec::new());
        };
        let dimension = self.dimension()?.unwrap_or(0);
        if query.len() != dimension {
            return Err(Error::InvalidInput(format!(
                "query vector has {} dimensions, the store holds {dimension}",
                query.len()
            )));
        }
        let only_sources = Filter {
            source_types: filter.source_types.clone(),
            ..Filter::default()
        };
        let top = if filter.is_empty() {
            vectors.search(&self.conn, query, k, RowFilter::All)?
        } else if *filter == only_sources {
            vectors.search(
                &self.conn,
                query,
                k,
                RowFilter::Sources(&filter.source_types),
            )?
        } else {
            let allowed = self.allowed_rowids(filter)?;
            vectors.search(&self.conn, query, k, RowFilter::Rowids(&allowed))?
        };
        top.into_iter()
            .map(|(rowid, score)| self.load_hit(rowid, score))
            .collect()
    }

    fn keyword_search(&self, query: &str, k: usize, filter: &Filter) -> Result<Vec<StoredHit>> {
        let only_sources = Filter {
            source_types: filter.source_types.clone(),
            ..Filter::default()
        };
        let ranked = if filter.is_empty() {
            self.keywords.search(query, k, &|_, _| true)
        } else if *filter == only_sources {
            let sources = &filter.source_types;
            self.keywords
                .search(query, k, &|_, source| sources.contains(&source))
        } else {
            let allowed = self.allowed_rowids(filter)?;
            self.keywords
                .search(query, k, &|rowid, _| allowed.contains(&rowid))
        };
        ranked
            .into_iter()
            .map(|(rowid, score)| self.load_hit(rowid, score))
            .collect()
    }

    fn allowed_rowids(&self, filter: &Filter) -> Result<HashSet<i64>> {
        let (filter_sql, values) = filter_clause(filter, 1);
        let sql = format!(
            "SELECT c.rowid FROM chunks c JOIN documents d ON d.id = c.document_id WHERE {filter_sql}"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let ids = stmt
            .query_map(rusqlite::params_from_iter(values), |row| row.get(0))?
            .collect::<rusqlite::Result<HashSet<i64>>>()?;
        Ok(ids)
    }

    fn load_hit(&self, rowid: i64, score: f32) -> Result<StoredHit> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.document_id, c.ordinal, c.text, c.heading_path, c.char_start, c.char_end, c.content_hash,
                    d.source, d.source_name, d.title, d.url, d.updated_ms, d.metadata
             FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.rowid = ?1",
        )?;
        let row = stmt
            .query_row([rowid], |row| {
                Ok((
                    Chunk {
                        id: row.get(0)?,
                        document_id: row.get(1)?,
                        ordinal: row.get(2)?,
                        text: row.get(3)?,
                        heading_path: Vec::new(),
                        char_start: row.get::<_, i64>(5)? as usize,
                        char_end: row.get::<_, i64>(6)? as usize,
                        content_hash: row.get(7)?,
                    },
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(8)?,
                    row.get::<_, String>(9)?,
                    row.get::<_, String>(10)?,
                    row.get::<_, String>(11)?,
                    row.get::<_, Option<i64>>(12)?,
                    row.get::<_, String>(13)?,
                ))
            })
            .optional()?
            .ok_or_else(|| Error::Corrupt(format!("indexed chunk row {rowid} has no chunk")))?;
        let (mut chunk, headings, source, source_name, title, url, updated_ms, metadata) = row;
        chunk.heading_path = serde_json::from_str(&headings)
            .map_err(|e| Error::Corrupt(format!("heading path of `{}`: {e}", chunk.id)))?;
        let document = DocumentSummary {
            id: chunk.document_id.clone(),
            source: source.parse()?,
            source_name,
            title,
            url,
            updated_at: updated_ms.and_then(DateTime::<Utc>::from_timestamp_millis),
            metadata: serde_json::from_str(&metadata)
                .map_err(|e| Error::Corrupt(format!("metadata of `{}`: {e}", chunk.document_id)))?,
        };
        let vector = match self.vectors.as_ref() {
            Some(vectors) => vectors.vector(&self.conn, rowid)?,
            None => None,
        };
        Ok(StoredHit {
            chunk,
            document,
            score,
            vector,
        })
    }
}

/// Deletes one document's rows inside `tx`; returns the removed chunk rowids.
fn delete_document(tx: &rusqlite::Transaction<'_>, document_id: &str) -> Result<Vec<i64>> {
    let mut select = tx.prepare_cached("SELECT rowid FROM chunks WHERE document_id = ?1")?;
    let rowids: Vec<i64> = select
        .query_map([document_id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    tx.prepare_cached("DELETE FROM chunks WHERE document_id = ?1")?
        .execute([document_id])?;
    tx.prepare_cached("DELETE FROM documents WHERE id = ?1")?
        .execute([document_id])?;
    Ok(rowids)
}

/// SQL over `d` (documents) for everything in `filter`, with its
/// parameters numbered from `?{first}` on.
fn filter_clause(filter: &Filter, first: usize) -> (String, Vec<Value>) {
    let mut clauses = Vec::new();
    let mut values = Vec::new();
    let param = |values: &mut Vec<Value>, value: Value| -> String {
        values.push(value);
        format!("?{}", first + values.len() - 1)
    };
    if !filter.source_types.is_empty() {
        let list: Vec<&str> = filter.source_types.iter().map(|s| s.as_str()).collect();
        let json = serde_json::Value::from(list).to_string();
        let p = param(&mut values, Value::Text(json));
        clauses.push(format!("d.source IN (SELECT value FROM json_each({p}))"));
    }
    for (key, value) in &filter.metadata {
        let path = format!("$.\"{}\"", key.replace('"', "\\\""));
        let p_path = param(&mut values, Value::Text(path));
        let p_value = param(&mut values, Value::Text(value.clone()));
        clauses.push(format!("json_extract(d.metadata, {p_path}) = {p_value}"));
    }
    if let Some(after) = filter.updated_after {
        let p = param(&mut values, Value::Integer(after.timestamp_millis()));
        clauses.push(format!("d.updated_ms >= {p}"));
    }
    if let Some(before) = filter.updated_before {
        let p = param(&mut values, Value::Integer(before.timestamp_millis()));
        clauses.push(format!("d.updated_ms < {p}"));
    }
    if let Some(principals) = &filter.principals {
        let json = serde_json::Value::from(principals.clone()).to_string();
        let p = param(&mut values, Value::Text(json));
        clauses.push(format!(
            "(d.acl IS NULL OR EXISTS (SELECT 1 FROM json_each(d.acl) a WHERE a.value IN (SELECT value FROM json_each({p}))))"
        ));
    }
    (clauses.join(" AND "), values)
}

#[async_trait]
impl VectorStore for EmbeddedStore {
    #[tracing::instrument(name = "store.upsert", skip_all, fields(documents = documents.len()), err)]
    async fn upsert(&self, documents: &[IndexedDocument]) -> Result<()> {
        let documents = documents.to_vec();
        self.with_state(move |state| state.upsert(&documents)).await
    }

    #[tracing::instrument(name = "store.delete", skip_all, fields(documents = document_ids.len()), err)]
    async fn delete(&self, document_ids: &[String]) -> Result<()> {
        let ids = document_ids.to_vec();
        self.with_state(move |state| state.delete(&ids)).await
    }

    #[tracing::instrument(name = "store.vector_search", skip_all, fields(k), err)]
    async fn vector_search(
        &self,
        query: &[f32],
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>> {
        let query = query.to_vec();
        let filter = filter.clone();
        self.with_state(move |state| state.vector_search(&query, k, &filter))
            .await
    }

    #[tracing::instrument(name = "store.keyword_search", skip_all, fields(k), err)]
    async fn keyword_search(
        &self,
        query: &str,
        k: usize,
        filter: &Filter,
    ) -> Result<Vec<StoredHit>> {
        let query = query.to_string();
        let filter = filter.clone();
        self.with_state(move |state| state.keyword_search(&query, k, &filter))
            .await
    }

    async fn count_by_source(&self) -> Result<BTreeMap<SourceType, usize>> {
        self.with_state(|state| {
            let mut stmt = state
                .conn
                .prepare_cached("SELECT source, COUNT(*) FROM documents GROUP BY source")?;
            let rows: Vec<(String, i64)> = stmt
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            rows.into_iter()
                .map(|(source, count)| Ok((source.parse::<SourceType>()?, count as usize)))
                .collect()
        })
        .await
    }

    async fn chunk_count(&self) -> Result<usize> {
        self.with_state(|state| Ok(state.vectors.as_ref().map_or(0, |v| v.info().chunks)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chunk, Document};

    fn indexed(native: &str, source: SourceType, texts: &[(&str, [f32; 3])]) -> IndexedDocument {
        let mut document = Document::new(source, "t", native, format!("Title {native}"), "");
        document
            .metadata
            .insert("space".into(), native.to_uppercase());
        let chunks = texts
            .iter()
            .enumerate()
            .map(|(i, (text, _))| Chunk::new(&document, i as u32, text.to_string(), vec![], 0))
            .collect();
        let vectors = texts.iter().map(|(_, v)| v.to_vec()).collect();
        IndexedDocument {
            document,
            chunks,
            vectors,
        }
    }

    fn corpus() -> Vec<IndexedDocument> {
        vec![
            indexed(
                "a",
                SourceType::Files,
                &[("rotate the tls certificates", [1.0, 0.0, 0.0])],
            ),
            indexed(
                "b",
                SourceType::Slack,
                &[("restore postgres from backup", [0.0, 1.0, 0.0])],
            ),
            indexed(
                "c",
                SourceType::Jira,
                &[
                    ("disk full on the build server", [0.0, 0.0, 1.0]),
                    ("certificates expired", [0.7, 0.0, 0.7]),
                ],
            ),
        ]
    }

    #[tokio::test]
    async fn upsert_search_delete_and_reopen() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let store = EmbeddedStore::open(dir.path())?;
        store.upsert(&corpus()).await?;
        assert_eq!(store.chunk_count().await?, 4);

        let hits = store
            .vector_search(&[1.0, 0.0, 0.0], 2, &Filter::default())
            .await?;
        assert_eq!(hits[0].chunk.id, "files:t:a#0");
        assert_eq!(hits[1].chunk.id, "jira:t:c#1");
        assert!(hits[0].vector.is_some());

        let hits = store
            .keyword_search("expired certificates?", 5, &Filter::default())
            .await?;
        let ids: Vec<&str> = hits.iter().map(|h| h.chunk.id.as_str()).collect();
        assert_eq!(ids[0], "jira:t:c#1");
        assert!(
            ids.contains(&"files:t:a#0"),
            "stemming matches certificate(s): {ids:?}"
        );

        let jira_only = Filter {
            source_types: vec![SourceType::Jira],
            ..Filter::default()
        };
        let hits = store.keyword_search("certificates", 5, &jira_only).await?;
        assert!(hits.iter().all(|h| h.document.source == SourceType::Jira));
        let mut by_space = Filter::default();
        by_space.metadata.insert("space".into(), "B".into());
        let hits = store.vector_search(&[1.0, 0.0, 0.0], 5, &by_space).await?;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].document.id, "slack:t:b");

        // Re-upserting replaces, never duplicates.
        store.upsert(&corpus()[2..]).await?;
        assert_eq!(store.chunk_count().await?, 4);
        store.delete(&["jira:t:c".to_string()]).await?;
        assert_eq!(store.chunk_count().await?, 2);
        assert!(store
            .keyword_search("disk", 5, &Filter::default())
            .await?
            .is_empty());
        drop(store);

        let reopened = EmbeddedStore::open(dir.path())?;
        assert_eq!(reopened.chunk_count().await?, 2);
        let counts = reopened.count_by_source().await?;
        assert_eq!(counts.get(&SourceType::Files), Some(&1));
        assert_eq!(counts.get(&SourceType::Jira), None);
        let hits = reopened
            .vector_search(&[0.0, 1.0, 0.0], 1, &Filter::default())
            .await?;
        assert_eq!(hits[0].document.id, "slack:t:b");
        Ok(())
    }

    #[tokio::test]
    async fn bad_batches_are_rejected_without_writing() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let store = EmbeddedStore::open(dir.path())?;
        store.upsert(&corpus()).await?;
        let mut wrong_dim = indexed("d", SourceType::Files, &[("x", [1.0, 0.0, 0.0])]);
        wrong_dim.vectors[0].push(0.0);
        assert!(matches!(
            store.upsert(&[wrong_dim]).await,
            Err(Error::InvalidInput(_))
        ));
        let mut nan = indexed("e", SourceType::Files, &[("x", [1.0, 0.0, 0.0])]);
        nan.vectors[0][1] = f32::NAN;
        assert!(store.upsert(&[nan]).await.is_err());
        assert_eq!(store.chunk_count().await?, 4);
        Ok(())
    }

    #[tokio::test]
    async fn corrupt_file_is_a_clear_error() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        std::fs::write(dir.path().join(STORE_FILE), vec![0x42u8; 8192])
            .map_err(|e| Error::io("write", dir.path(), e))?;
        match EmbeddedStore::open(dir.path()) {
            Err(Error::Corrupt(message)) => assert!(message.contains(STORE_FILE), "{message}"),
            other => panic!("expected a corrupt-data error, got {other:?}"),
        }
        Ok(())
    }

    #[tokio::test]
    async fn keyword_index_is_rebuilt_on_reopen_and_follows_other_handles() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let writer = EmbeddedStore::open(dir.path())?;
        let reader = EmbeddedStore::open(dir.path())?;
        writer.upsert(&corpus()).await?;
        // Another handle (another process, in real life) committed: the
        // reader's index catches up before it answers.
        let hits = reader
            .keyword_search("postgres backup", 5, &Filter::default())
            .await?;
        assert_eq!(hits[0].document.id, "slack:t:b");
        writer.delete(&["slack:t:b".to_string()]).await?;
        assert!(reader
            .keyword_search("postgres", 5, &Filter::default())
            .await?
            .is_empty());
        let before: Vec<(String, f32)> = writer
            .keyword_search("certificates tls", 5, &Filter::default())
            .await?
            .into_iter()
            .map(|h| (h.chunk.id, h.score))
            .collect();
        // Nothing of the in-memory index survives a crash; reopening
        // derives it again from SQLite, with the same scores.
        drop(writer);
        drop(reader);
        let reopened = EmbeddedStore::open(dir.path())?;
        let after: Vec<(String, f32)> = reopened
            .keyword_search("certificates tls", 5, &Filter::default())
            .await?
            .into_iter()
            .map(|h| (h.chunk.id, h.score))
            .collect();
        assert_eq!(before.len(), 2);
        assert_eq!(before, after);
        let mut by_space = Filter::default();
        by_space.metadata.insert("space".into(), "C".into());
        let hits = reopened
            .keyword_search("certificates", 5, &by_space)
            .await?;
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].document.id, "jira:t:c");
        Ok(())
    }

    #[tokio::test]
    async fn a_second_handle_sees_writes_of_the_first() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let writer = EmbeddedStore::open(dir.path())?;
        let reader = EmbeddedStore::open(dir.path())?;
        assert_eq!(reader.chunk_count().await?, 0);
        writer.upsert(&corpus()).await?;
        assert_eq!(reader.chunk_count().await?, 4);
        Ok(())
    }
}
