//! SQLite schema of the embedded store and the connection settings that
//! make it crash-safe.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::{Error, Result};

/// Bumped when the layout changes; a newer file is refused, not guessed at.
pub(super) const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    source_name  TEXT NOT NULL,
    title        TEXT NOT NULL,
    url          TEXT NOT NULL,
    author       TEXT,
    created_ms   INTEGER,
    updated_ms   INTEGER,
    metadata     TEXT NOT NULL,
    acl          TEXT,
    content_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    rowid        INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    document_id  TEXT NOT NULL REFERENCES documents(id),
    ordinal      INTEGER NOT NULL,
    text         TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    char_start   INTEGER NOT NULL,
    char_end     INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    vector       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
-- Keyword search is an in-memory BM25 index derived from `chunks` (see
-- keyword_index.rs); stores written before it carried an FTS5 copy of
-- every chunk that nothing reads any more.
DROP TABLE IF EXISTS chunks_fts;
-- Change log of chunk rows for the derived vector index: the triggers write
-- it in the same transaction as the chunk, so the index (which records the
-- last sequence it reflects) can catch up after a crash without a rebuild.
-- AUTOINCREMENT keeps sequences increasing even after old entries are trimmed.
CREATE TABLE IF NOT EXISTS vector_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_rowid INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS chunks_log_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO vector_log (chunk_rowid) VALUES (new.rowid);
END;
CREATE TRIGGER IF NOT EXISTS chunks_log_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO vector_log (chunk_rowid) VALUES (old.rowid);
END;
CREATE TRIGGER IF NOT EXISTS chunks_log_update AFTER UPDATE OF rowid, document_id, vector ON chunks BEGIN
    INSERT INTO vector_log (chunk_rowid) VALUES (old.rowid);
    INSERT INTO vector_log (chunk_rowid) VALUES (new.rowid);
END;
";

/// Opens (creating if needed) the store database and checks its version.
pub(super) fn open(path: &Path) -> Result<Connection> {
    let context = |err: rusqlite::Error| -> Error {
        match Error::from(err) {
            Error::Corrupt(msg) => Error::Corrupt(format!(
                "{}: {msg}; move it away and re-sync, or restore a backup",
                path.display()
            )),
            Error::Store { message, retryable } => Error::Store {
                message: format!("{}: {message}", path.display()),
                retryable,
            },
            other => other,
        }
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(context)?;
    // Another process syncing holds the write lock for one batch at most.
    conn.busy_timeout(Duration::from_secs(10))
        .map_err(context)?;
    // WAL: readers never block the writer; FULL: a committed batch survives
    // power loss, so a checkpoint is never ahead of the index.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(context)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(context)?;
    conn.execute_batch(SCHEMA).map_err(context)?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |row| row.get(0),
        )
        .or_else(|err| match err {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(context)?;
    match version.as_deref().map(str::parse::<i64>) {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )
            .map_err(context)?;
        }
        Some(Ok(SCHEMA_VERSION)) => {}
        Some(Ok(other)) => {
            return Err(Error::Corrupt(format!(
            "{}: store schema version {other} is not supported (this build reads {SCHEMA_VERSION})",
            path.display()
        )))
        }
        Some(Err(_)) => {
            return Err(Error::Corrupt(format!(
                "{}: unreadable schema version",
                path.display()
            )))
        }
    }
    Ok(conn)
}

/// Reads a `meta` value.
pub(super) fn meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    match conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
        row.get(0)
    }) {
        Ok(value) => Ok(Some(value)),
        Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
        Err(err) => Err(err.into()),
    }
}
