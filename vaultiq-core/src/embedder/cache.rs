//! A persistent embedding cache in front of any [`Embedder`], so unchanged
//! chunks are never embedded twice (re-syncs, reindexing, two sources
//! holding the same text).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};

use crate::embedder::{EmbedKind, Embedder};
use crate::{sha256_hex, Error, Result};

/// File name of the cache inside the data directory.
pub const CACHE_FILE: &str = "embedding-cache.sqlite";

/// Caches document embeddings keyed by (model id, SHA-256 of the exact text).
/// Queries are not cached: they are rarely repeated and must stay fast.
pub struct CachedEmbedder {
    inner: Arc<dyn Embedder>,
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for CachedEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedEmbedder")
            .field("model_id", &self.inner.model_id())
            .field("path", &self.path)
            .finish()
    }
}

impl CachedEmbedder {
    /// Wraps `inner` with a cache file in `data_dir`. A damaged cache file is
    /// moved aside and started afresh: it only ever holds derived data.
    pub fn open(inner: Arc<dyn Embedder>, data_dir: impl AsRef<Path>) -> Result<Self> {
        let dir = data_dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create data directory", dir, e))?;
        let path = dir.join(CACHE_FILE);
        let conn = match open_cache(&path) {
            Ok(conn) => conn,
            Err(Error::Corrupt(reason)) => {
                let aside = path.with_extension("sqlite.corrupt");
                tracing::warn!(path = %path.display(), %reason, "embedding cache is damaged; starting a new one");
                std::fs::rename(&path, &aside)
                    .map_err(|e| Error::io("cannot move damaged cache aside", &path, e))?;
                open_cache(&path)?
            }
            Err(other) => return Err(other),
        };
        Ok(CachedEmbedder {
            inner,
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    async fn lookup(
        &self,
        model: String,
        hashes: Vec<String>,
    ) -> Result<HashMap<String, Vec<f32>>> {
        let conn = Arc::clone(&self.conn);
        let dimension = self.inner.dimension();
        tokio::task::spawn_blocking(move || {
            let conn = conn
                .lock()
                .map_err(|_| Error::store("embedding cache lock poisoned"))?;
            let mut stmt = conn.prepare_cached(
                "SELECT vector FROM embeddings WHERE model_id = ?1 AND text_hash = ?2",
            )?;
            let mut found = HashMap::new();
            for hash in hashes {
                let blob: Option<Vec<u8>> = stmt
                    .query_row(params![model, hash], |row| row.get(0))
                    .optional()?;
                // A wrong-sized entry is treated as a miss and overwritten.
                let mut vector = Vec::with_capacity(dimension);
                if blob.is_some_and(|b| crate::vector_blob::decode_into(&b, dimension, &mut vector))
                {
                    found.insert(hash, vector);
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| Error::store(format!("cache task failed: {e}")))?
    }

    async fn store(&self, model: String, entries: Vec<(String, Vec<f32>)>) -> Result<()> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| Error::store("embedding cache lock poisoned"))?;
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO embeddings (model_id, text_hash, vector) VALUES (?1, ?2, ?3)",
                )?;
                for (hash, vector) in entries {
                    stmt.execute(params![model, hash, crate::vector_blob::encode(&vector)])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
        .map_err(|e| Error::store(format!("cache task failed: {e}")))?
    }
}

fn open_cache(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // A lost cache entry costs one re-embedding, so durability is relaxed.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS embeddings (
             model_id  TEXT NOT NULL,
             text_hash TEXT NOT NULL,
             vector    BLOB NOT NULL,
             PRIMARY KEY (model_id, text_hash)
         ) WITHOUT ROWID;",
    )?;
    Ok(conn)
}

#[async_trait]
impl Embedder for CachedEmbedder {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }

    fn dimension(&self) -> usize {
        self.inner.dimension()
    }

    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        if kind == EmbedKind::Query || texts.is_empty() {
            return self.inner.embed(texts, kind).await;
        }
        let model = self.inner.model_id().to_string();
        let hashes: Vec<String> = texts.iter().map(|t| sha256_hex(t)).collect();
        let mut cached = self.lookup(model.clone(), hashes.clone()).await?;
        let mut missing_texts = Vec::new();
        let mut missing_hashes = Vec::new();
        for (text, hash) in texts.iter().zip(&hashes) {
            if !cached.contains_key(hash) && !missing_hashes.contains(hash) {
                missing_texts.push(text.clone());
                missing_hashes.push(hash.clone());
            }
        }
        tracing::debug!(
            hits = texts.len() - missing_texts.len(),
            misses = missing_texts.len(),
            "embedding cache"
        );
        if !missing_texts.is_empty() {
            let fresh = self.inner.embed(&missing_texts, kind).await?;
            if fresh.len() != missing_texts.len() {
                return Err(Error::model(format!(
                    "embedder returned {} vectors for {} texts",
                    fresh.len(),
                    missing_texts.len()
                )));
            }
            let entries: Vec<(String, Vec<f32>)> = missing_hashes.into_iter().zip(fresh).collect();
            self.store(model, entries.clone()).await?;
            cached.extend(entries);
        }
        hashes
            .iter()
            .map(|h| {
                cached
                    .get(h)
                    .cloned()
                    .ok_or_else(|| Error::model("embedding cache lost a vector it just stored"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts how many texts reach the model.
    struct Counting(AtomicUsize);

    #[async_trait]
    impl Embedder for Counting {
        fn model_id(&self) -> &str {
            "counting"
        }
        fn dimension(&self) -> usize {
            2
        }
        async fn embed(&self, texts: &[String], _kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
            self.0.fetch_add(texts.len(), Ordering::SeqCst);
            Ok(texts.iter().map(|t| vec![t.len() as f32, 1.0]).collect())
        }
    }

    #[tokio::test]
    async fn unchanged_texts_are_embedded_once() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let model = Arc::new(Counting(AtomicUsize::new(0)));
        let texts: Vec<String> = vec!["a".into(), "bb".into(), "a".into()];
        {
            let cached = CachedEmbedder::open(model.clone(), dir.path())?;
            let first = cached.embed(&texts, EmbedKind::Document).await?;
            assert_eq!(first, vec![vec![1.0, 1.0], vec![2.0, 1.0], vec![1.0, 1.0]]);
            assert_eq!(model.0.load(Ordering::SeqCst), 2);
        }
        let cached = CachedEmbedder::open(model.clone(), dir.path())?;
        let again = cached.embed(&texts, EmbedKind::Document).await?;
        assert_eq!(again.len(), 3);
        assert_eq!(
            model.0.load(Ordering::SeqCst),
            2,
            "reopened cache served every text"
        );
        cached.embed(&texts, EmbedKind::Query).await?;
        assert_eq!(
            model.0.load(Ordering::SeqCst),
            5,
            "queries bypass the cache"
        );
        Ok(())
    }

    #[tokio::test]
    async fn damaged_cache_is_replaced() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        std::fs::write(dir.path().join(CACHE_FILE), vec![7u8; 4096])
            .map_err(|e| Error::io("write", dir.path(), e))?;
        let cached = CachedEmbedder::open(Arc::new(Counting(AtomicUsize::new(0))), dir.path())?;
        assert_eq!(
            cached
                .embed(&["x".into()], EmbedKind::Document)
                .await?
                .len(),
            1
        );
        Ok(())
    }
}
