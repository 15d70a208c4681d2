//! Sync state in a SQLite file of the data directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::connector::Checkpoint;
use crate::state::{StateStore, SyncRun};
use crate::{Error, Result};

/// File name of the state database inside the data directory.
pub const STATE_FILE: &str = "state.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS checkpoints (
    source_name TEXT PRIMARY KEY,
    checkpoint  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS document_hashes (
    source_name  TEXT NOT NULL,
    document_id  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    PRIMARY KEY (source_name, document_id)
);
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    source_name TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    indexed     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL
);
";

/// [`StateStore`] on SQLite (WAL, synchronous FULL).
#[derive(Debug, Clone)]
pub struct SqliteStateStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStateStore {
    /// Opens or creates the state database in `data_dir`.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self> {
        let dir = data_dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create data directory", dir, e))?;
        let path = dir.join(STATE_FILE);
        let with_path = |err: rusqlite::Error| match Error::from(err) {
            Error::Corrupt(m) => Error::Corrupt(format!("{}: {m}", path.display())),
            Error::Store { message, retryable } => Error::Store {
                message: format!("{}: {message}", path.display()),
                retryable,
            },
            other => other,
        };
        let conn = Connection::open(&path).map_err(with_path)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(with_path)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(with_path)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(with_path)?;
        conn.execute_batch(SCHEMA).map_err(with_path)?;
        Ok(SqliteStateStore {
            path,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Path of the SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn run<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| Error::store("state lock poisoned by a panic in another thread"))?;
            work(&mut guard)
        })
        .await
        .map_err(|e| Error::store(format!("state task failed: {e}")))?
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Corrupt(format!("state timestamp `{text}`: {e}")))
}

#[async_trait]
impl StateStore for SqliteStateStore {
    async fn checkpoint(&self, source_name: &str) -> Result<Option<Checkpoint>> {
        let name = source_name.to_string();
        self.run(move |conn| {
            let text: Option<String> = conn
                .query_row(
                    "SELECT checkpoint FROM checkpoints WHERE source_name = ?1",
                    [&name],
                    |row| row.get(0),
                )
                .optional()?;
            text.map(|t| {
                serde_json::from_str(&t)
                    .map(Checkpoint)
                    .map_err(|e| Error::Corrupt(format!("checkpoint of source `{name}`: {e}")))
            })
            .transpose()
        })
        .await
    }

    async fn commit_checkpoint(&self, source_name: &str, checkpoint: &Checkpoint) -> Result<()> {
        let name = source_name.to_string();
        let text = serde_json::to_string(&checkpoint.0)?;
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO checkpoints (source_name, checkpoint, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(source_name) DO UPDATE SET checkpoint = excluded.checkpoint, updated_at = excluded.updated_at",
                params![name, text, Utc::now().to_rfc3339()],
            )?;
            Ok(())
        })
        .await
    }

    async fn reset_checkpoint(&self, source_name: &str) -> Result<()> {
        let name = source_name.to_string();
        self.run(move |conn| {
            conn.execute("DELETE FROM checkpoints WHERE source_name = ?1", [name])?;
            Ok(())
        })
        .await
    }

    async fn document_hashes(
        &self,
        source_name: &str,
        document_ids: &[String],
    ) -> Result<HashMap<String, String>> {
        let name = source_name.to_string();
        let ids = document_ids.to_vec();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT content_hash FROM document_hashes WHERE source_name = ?1 AND document_id = ?2",
            )?;
            let mut found = HashMap::new();
            for id in ids {
                if let Some(hash) = stmt
                    .query_row(params![name, id], |row| row.get::<_, String>(0))
                    .optional()?
                {
                    found.insert(id, hash);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn record_documents(&self, source_name: &str, hashes: &[(String, String)]) -> Result<()> {
        let name = source_name.to_string();
        let hashes = hashes.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO document_hashes (source_name, document_id, content_hash) VALUES (?1, ?2, ?3)
                     ON CONFLICT(source_name, document_id) DO UPDATE SET content_hash = excluded.content_hash",
                )?;
                for (id, hash) in &hashes {
                    stmt.execute(params![name, id, hash])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn forget_documents(&self, source_name: &str, document_ids: &[String]) -> Result<()> {
        let name = source_name.to_string();
        let ids = document_ids.to_vec();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "DELETE FROM document_hashes WHERE source_name = ?1 AND document_id = ?2",
                )?;
                for id in &ids {
                    stmt.execute(params![name, id])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn document_ids(&self, source_name: &str) -> Result<Vec<String>> {
        let name = source_name.to_string();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT document_id FROM document_hashes WHERE source_name = ?1 ORDER BY document_id",
            )?;
            let ids = stmt
                .query_map([name], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
        .await
    }

    async fn record_run(&self, run: &SyncRun) -> Result<()> {
        let run = run.clone();
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO runs (source_name, started_at, finished_at, outcome, indexed, deleted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run.source_name,
                    run.started_at.to_rfc3339(),
                    run.finished_at.to_rfc3339(),
                    run.outcome,
                    run.indexed as i64,
                    run.deleted as i64
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn last_runs(&self) -> Result<Vec<SyncRun>> {
        self.run(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT source_name, started_at, finished_at, outcome, indexed, deleted FROM runs
                 WHERE id IN (SELECT MAX(id) FROM runs GROUP BY source_name) ORDER BY source_name",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, i64>(5)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(
                    |(source_name, started, finished, outcome, indexed, deleted)| {
                        Ok(SyncRun {
                            source_name,
                            started_at: parse_time(&started)?,
                            finished_at: parse_time(&finished)?,
                            outcome,
                            indexed: indexed as usize,
                            deleted: deleted as usize,
                        })
                    },
                )
                .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn checkpoints_hashes_and_runs_persist() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let state = SqliteStateStore::open(dir.path())?;
        assert_eq!(state.checkpoint("docs").await?, None);
        let cp = Checkpoint(serde_json::json!({"cursor": 7}));
        state.commit_checkpoint("docs", &cp).await?;
        state
            .record_documents(
                "docs",
                &[("a".into(), "h1".into()), ("b".into(), "h2".into())],
            )
            .await?;
        state
            .record_documents("docs", &[("a".into(), "h3".into())])
            .await?;
        state.forget_documents("docs", &["b".into()]).await?;
        let now = Utc::now();
        state
            .record_run(&SyncRun {
                source_name: "docs".into(),
                started_at: now,
                finished_at: now,
                outcome: "ok".into(),
                indexed: 2,
                deleted: 0,
            })
            .await?;
        drop(state);

        let state = SqliteStateStore::open(dir.path())?;
        assert_eq!(state.checkpoint("docs").await?, Some(cp));
        let hashes = state
            .document_hashes("docs", &["a".into(), "b".into()])
            .await?;
        assert_eq!(hashes.len(), 1);
        assert_eq!(hashes.get("a").map(String::as_str), Some("h3"));
        assert_eq!(state.document_ids("docs").await?, ["a"]);
        assert_eq!(state.last_runs().await?.len(), 1);
        state.reset_checkpoint("docs").await?;
        assert_eq!(state.checkpoint("docs").await?, None);
        Ok(())
    }
}
