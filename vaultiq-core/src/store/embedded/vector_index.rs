//! The vector side of the embedded store: an exact in-memory matrix for
//! small stores, the approximate HNSW index above a size threshold. Both
//! are derived from SQLite and follow it through the `vector_log` change
//! log that SQLite triggers fill in the same transaction as every chunk
//! write (see schema.rs): the index remembers the last log sequence it
//! reflects, so after a reopen or a crash it catches up on exactly the
//! chunks inserted or deleted since, and never serves a deleted one.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};

use super::ann::persist;
use super::ann::{AnnFilter, AnnIndex, GraphParams};
use super::snapshot::Header;
use super::vectors::{dot, RowFilter, VectorMatrix};
use crate::{Error, Result, SourceType};

/// File of the persisted approximate index, next to the SQLite file.
pub(super) const INDEX_FILE: &str = "vectors.ann";
/// Below this many chunks the exact scan is fast enough (about 0.1 ms per
/// thousand 384-d vectors) and needs no graph.
pub const DEFAULT_APPROX_THRESHOLD: usize = 20_000;
/// Beam width of an approximate search; every result of the beam is
/// rescored with its exact vector.
pub const DEFAULT_EF_SEARCH: usize = 96;
/// Change-log entries kept behind the saved index, so another handle that
/// lags a little catches up instead of rebuilding.
const LOG_KEEP: i64 = 100_000;
/// Unsaved changes that trigger a save, at least; the bar grows with the
/// index (half its size) so bulk loads write it a logarithmic number of times.
const SAVE_EVERY: i64 = 10_000;

/// Settings of the vector index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IndexSettings {
    pub approx_threshold: usize,
    pub ef_search: usize,
}

#[derive(Debug)]
enum Vectors {
    Exact(VectorMatrix),
    Approx(Box<AnnIndex>),
}

/// The derived vector index and where it stands in the change log.
#[derive(Debug)]
pub(super) struct VectorIndex {
    vectors: Vectors,
    dimension: usize,
    /// Last change-log sequence reflected in memory.
    seq: i64,
    /// Sequence of the saved file (approximate mode), or -1.
    saved_seq: i64,
    file: PathBuf,
    store_id: String,
    settings: IndexSettings,
    /// Built from SQLite by this handle rather than loaded from its file.
    rebuilt: bool,
}

/// Where the change log stands: entries up to `floor` were dropped,
/// `head` is the last one written.
pub(super) struct LogPosition {
    pub(super) floor: i64,
    pub(super) head: i64,
}

pub(super) fn log_position(conn: &Connection) -> Result<LogPosition> {
    let floor = super::schema::meta(conn, "vector_log_floor")?
        .map(|v| v.parse::<i64>())
        .transpose()
        .map_err(|_| Error::Corrupt("store meta `vector_log_floor` is not a number".into()))?
        .unwrap_or(0);
    let head: Option<i64> = conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'vector_log'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(LogPosition {
        floor,
        head: head.unwrap_or(0),
    })
}

/// The store's identity, created once, so an index file copied next to
/// another store is not mistaken for its own.
pub(super) fn store_id(conn: &Connection) -> Result<String> {
    if let Some(id) = super::schema::meta(conn, "store_id")? {
        return Ok(id);
    }
    let id = format!("{:032x}", rand::random::<u128>());
    conn.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('store_id', ?1)",
        [&id],
    )?;
    super::schema::meta(conn, "store_id")?.ok_or_else(|| Error::store("store id was not written"))
}

fn parse_source(rowid: i64, source: &str) -> Result<SourceType> {
    source
        .parse()
        .map_err(|_| Error::Corrupt(format!("chunk row {rowid} has unknown source `{source}`")))
}

fn bad_column(rowid: i64, err: rusqlite::types::FromSqlError) -> Error {
    Error::Corrupt(format!("vector of chunk row {rowid}: {err}"))
}

fn decode(rowid: i64, blob: &[u8], dimension: usize, out: &mut Vec<f32>) -> Result<()> {
    if crate::vector_blob::decode_into(blob, dimension, out) {
        Ok(())
    } else {
        Err(Error::Corrupt(format!(
            "vector of chunk row {rowid} has {} bytes, expected {}",
            blob.len(),
            dimension * 4
        )))
    }
}

impl VectorIndex {
    /// Loads the index for the store behind `conn`: the saved file when it
    /// matches this store and the log still covers what it lacks, else a
    /// fresh build from SQLite.
    pub(super) fn open(
        conn: &Connection,
        dimension: usize,
        data_dir: &Path,
        settings: IndexSettings,
    ) -> Result<Self> {
        let store_id = store_id(conn)?;
        let file = data_dir.join(INDEX_FILE);
        let chunks: i64 = conn.query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get(0))?;
        if chunks as usize >= settings.approx_threshold {
            match persist::load(&file, dimension, GraphParams::default()) {
                Ok(Some((index, header))) => {
                    let log = log_position(conn)?;
                    if header.store_id == store_id
                        && header.seq >= log.floor
                        && header.seq <= log.head
                    {
                        let mut loaded = VectorIndex {
                            vectors: Vectors::Approx(Box::new(index)),
                            dimension,
                            seq: header.seq,
                            saved_seq: header.seq,
                            file,
                            store_id,
                            settings,
                            rebuilt: false,
                        };
                        loaded.catch_up(conn)?;
                        return Ok(loaded);
                    }
                    tracing::warn!(
                        file = %file.display(),
                        "vector index belongs to another store state; rebuilding it"
                    );
                }
                Ok(None) => {}
                Err(err) => {
                    tracing::warn!(error = %err, "vector index unreadable; rebuilding it");
                }
            }
        }
        Self::build(conn, dimension, file, store_id, settings)
    }

    /// Builds from every chunk in SQLite, in one read transaction so the
    /// log sequence matches the rows read.
    fn build(
        conn: &Connection,
        dimension: usize,
        file: PathBuf,
        store_id: String,
        settings: IndexSettings,
    ) -> Result<Self> {
        let tx = conn.unchecked_transaction()?;
        let log = log_position(&tx)?;
        let chunks: i64 = tx.query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get(0))?;
        let approximate = chunks as usize >= settings.approx_threshold;
        let mut vectors = if approximate {
            Vectors::Approx(Box::new(AnnIndex::new(dimension, GraphParams::default())))
        } else {
            Vectors::Exact(VectorMatrix::new(dimension))
        };
        let mut stmt = tx.prepare(
            "SELECT c.rowid, d.source, c.vector FROM chunks c JOIN documents d ON d.id = c.document_id",
        )?;
        let mut rows = stmt.query([])?;
        let mut buffer = Vec::with_capacity(dimension);
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            let source: String = row.get(1)?;
            let source = parse_source(rowid, &source)?;
            let blob = row
                .get_ref(2)?
                .as_blob()
                .map_err(|e| bad_column(rowid, e))?;
            decode(rowid, blob, dimension, &mut buffer)?;
            match &mut vectors {
                Vectors::Exact(m) => m.insert(rowid, source, &buffer),
                Vectors::Approx(a) => a.insert(rowid, source, &buffer),
            }
        }
        drop(rows);
        drop(stmt);
        tx.finish()?;
        let mut index = VectorIndex {
            vectors,
            dimension,
            seq: log.head,
            saved_seq: -1,
            file,
            store_id,
            settings,
            rebuilt: true,
        };
        if approximate {
            index.save(conn)?;
        }
        Ok(index)
    }

    /// Applies every change logged since `self.seq`: each touched chunk
    /// is dropped, then re-added if SQLite still holds it, which is right
    /// whatever mix of inserts and deletes (and reused rowids) happened.
    pub(super) fn catch_up(&mut self, conn: &Connection) -> Result<()> {
        let tx = conn.unchecked_transaction()?;
        let log = log_position(&tx)?;
        if log.head == self.seq {
            return Ok(());
        }
        if self.seq < log.floor || self.seq > log.head {
            // The log no longer covers the gap (or the store went back in
            // time, e.g. restored from a backup): rebuild from the truth.
            tx.finish()?;
            tracing::info!(
                seq = self.seq,
                head = log.head,
                "vector index too far behind; rebuilding"
            );
            *self = Self::build(
                conn,
                self.dimension,
                self.file.clone(),
                self.store_id.clone(),
                self.settings,
            )?;
            return Ok(());
        }
        {
            let mut stmt = tx.prepare_cached(
                "SELECT l.chunk_rowid, d.source, c.vector
                 FROM (SELECT DISTINCT chunk_rowid FROM vector_log WHERE seq > ?1 AND seq <= ?2) l
                 LEFT JOIN chunks c ON c.rowid = l.chunk_rowid
                 LEFT JOIN documents d ON d.id = c.document_id",
            )?;
            let mut rows = stmt.query([self.seq, log.head])?;
            let mut buffer = Vec::with_capacity(self.dimension);
            while let Some(row) = rows.next()? {
                let rowid: i64 = row.get(0)?;
                let source: Option<String> = row.get(1)?;
                let blob = row
                    .get_ref(2)?
                    .as_blob_or_null()
                    .map_err(|e| bad_column(rowid, e))?;
                self.remove(rowid);
                if let (Some(source), Some(blob)) = (source, blob) {
                    let source = parse_source(rowid, &source)?;
                    decode(rowid, blob, self.dimension, &mut buffer)?;
                    match &mut self.vectors {
                        Vectors::Exact(m) => m.insert(rowid, source, &buffer),
                        Vectors::Approx(a) => a.insert(rowid, source, &buffer),
                    }
                }
            }
        }
        tx.finish()?;
        self.seq = log.head;
        self.reshape(conn)
    }

    fn remove(&mut self, rowid: i64) {
        match &mut self.vectors {
            Vectors::Exact(m) => m.remove(rowid),
            Vectors::Approx(a) => a.remove(rowid),
        }
    }

    /// Switches to the graph when the store outgrows the exact scan,
    /// compacts tombstones, and saves when enough changed.
    fn reshape(&mut self, conn: &Connection) -> Result<()> {
        match &self.vectors {
            Vectors::Exact(m) if m.len() >= self.settings.approx_threshold => {
                let mut index = AnnIndex::new(self.dimension, GraphParams::default());
                for (rowid, source, vector) in m.rows() {
                    index.insert(rowid, source, vector);
                }
                self.vectors = Vectors::Approx(Box::new(index));
                self.save(conn)?;
            }
            Vectors::Approx(index) => {
                if index.needs_compaction() {
                    self.vectors = Vectors::Approx(Box::new(index.compacted()));
                    self.save(conn)?;
                } else {
                    let bar = SAVE_EVERY.max(index.len() as i64 / 2);
                    if self.seq - self.saved_seq >= bar {
                        self.save(conn)?;
                    }
                }
            }
            Vectors::Exact(_) => {}
        }
        Ok(())
    }

    /// Writes the approximate index and trims the change log behind it.
    pub(super) fn save(&mut self, conn: &Connection) -> Result<()> {
        let Vectors::Approx(index) = &self.vectors else {
            return Ok(());
        };
        let header = Header {
            store_id: self.store_id.clone(),
            seq: self.seq,
        };
        persist::save(index, &header, &self.file)?;
        self.saved_seq = self.seq;
        let floor = self.seq - LOG_KEEP;
        if floor > log_position(conn)?.floor {
            let tx = conn.unchecked_transaction()?;
            tx.execute("DELETE FROM vector_log WHERE seq <= ?1", [floor])?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('vector_log_floor', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [floor.to_string()],
            )?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Whether the graph (and so a saved file) is in use.
    pub(super) fn is_approximate(&self) -> bool {
        matches!(self.vectors, Vectors::Approx(_))
    }

    /// The change-log sequence of the saved file, if one was written.
    pub(super) fn saved_seq(&self) -> Option<i64> {
        (self.saved_seq >= 0).then_some(self.saved_seq)
    }

    /// Saves if the file lags memory (on close).
    pub(super) fn save_if_behind(&mut self, conn: &Connection) -> Result<()> {
        if matches!(self.vectors, Vectors::Approx(_)) && self.saved_seq != self.seq {
            self.save(conn)?;
        }
        Ok(())
    }

    /// The `k` chunks nearest to `query` with exact scores, best first.
    pub(super) fn search(
        &self,
        conn: &Connection,
        query: &[f32],
        k: usize,
        filter: RowFilter<'_>,
    ) -> Result<Vec<(i64, f32)>> {
        match &self.vectors {
            Vectors::Exact(m) => Ok(m.top_k(query, k, filter)),
            Vectors::Approx(index) => {
                let filter = match filter {
                    RowFilter::All => AnnFilter::All,
                    RowFilter::Sources(s) => AnnFilter::Sources(s),
                    RowFilter::Rowids(set) => AnnFilter::Rowids(set),
                };
                let ef = self.settings.ef_search.max(k);
                let candidates = index.candidates(query, ef, ef, filter);
                let mut stmt = conn.prepare_cached("SELECT vector FROM chunks WHERE rowid = ?1")?;
                let mut buffer = Vec::with_capacity(self.dimension);
                let mut scored = Vec::with_capacity(candidates.len());
                for rowid in candidates {
                    let blob: Option<Vec<u8>> =
                        stmt.query_row([rowid], |row| row.get(0)).optional()?;
                    // A chunk deleted by another process since the last
                    // catch-up is skipped, never served.
                    let Some(blob) = blob else { continue };
                    decode(rowid, &blob, self.dimension, &mut buffer)?;
                    scored.push((rowid, dot(query, &buffer)));
                }
                scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                scored.truncate(k);
                Ok(scored)
            }
        }
    }

    /// The exact vector of chunk `rowid`.
    pub(super) fn vector(&self, conn: &Connection, rowid: i64) -> Result<Option<Vec<f32>>> {
        match &self.vectors {
            Vectors::Exact(m) => Ok(m.vector(rowid).map(<[f32]>::to_vec)),
            Vectors::Approx(_) => {
                let mut stmt = conn.prepare_cached("SELECT vector FROM chunks WHERE rowid = ?1")?;
                let blob: Option<Vec<u8>> = stmt.query_row([rowid], |row| row.get(0)).optional()?;
                let Some(blob) = blob else { return Ok(None) };
                let mut out = Vec::with_capacity(self.dimension);
                decode(rowid, &blob, self.dimension, &mut out)?;
                Ok(Some(out))
            }
        }
    }

    /// What the index is and where it stands.
    pub(super) fn info(&self) -> VectorIndexInfo {
        let (approximate, chunks, tombstones) = match &self.vectors {
            Vectors::Exact(m) => (false, m.len(), 0),
            Vectors::Approx(a) => (true, a.len(), a.tombstones()),
        };
        VectorIndexInfo {
            approximate,
            chunks,
            tombstones,
            log_seq: self.seq,
            saved_seq: (self.saved_seq >= 0).then_some(self.saved_seq),
            rebuilt: self.rebuilt,
        }
    }
}

/// State of the embedded store's vector index, for status output and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VectorIndexInfo {
    /// True when searches go through the HNSW graph (else an exact scan).
    pub approximate: bool,
    /// Chunks in the index.
    pub chunks: usize,
    /// Removed chunks still routing graph searches until compaction.
    pub tombstones: usize,
    /// The store change-log sequence the index reflects.
    pub log_seq: i64,
    /// The sequence of the saved index file, if one was written.
    pub saved_seq: Option<i64>,
    /// True when this handle built the index from SQLite (no usable file).
    pub rebuilt: bool,
}
