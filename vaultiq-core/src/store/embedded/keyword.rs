//! The keyword side of the embedded store: which words never count, and
//! how the in-memory BM25 index ([`KeywordIndex`]) is derived from the
//! chunk rows in SQLite, the source of truth.

use std::path::Path;

use rusqlite::Connection;

use super::keyword_index::{persist, KeywordIndex};
use super::snapshot::Header;
use crate::{Chunk, Error, Result, SourceType};

/// File of the saved keyword index, next to the SQLite file.
pub(super) const KEYWORD_FILE: &str = "keywords.bm25";

/// English function words that carry no meaning for BM25 and only make
/// OR-queries slow and noisy; neither indexed nor searched. Sorted.
pub(super) const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for",
    "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of",
    "on", "or", "our", "should", "so", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your",
];

/// At most this many terms of one query are searched.
pub(super) const MAX_TERMS: usize = 64;

/// Chunk rows joined with their document, as the keyword index reads them.
const INDEXED_ROWS: &str = "SELECT c.rowid, d.source, d.title, c.heading_path, c.text
     FROM chunks c JOIN documents d ON d.id = c.document_id";

/// The text a chunk row is keyword-indexed under (title + headings + passage).
fn indexed_text(rowid: i64, title: &str, heading_path: &str, text: String) -> Result<String> {
    let heading_path: Vec<String> = serde_json::from_str(heading_path)
        .map_err(|e| Error::Corrupt(format!("heading path of chunk row {rowid}: {e}")))?;
    let chunk = Chunk {
        id: String::new(),
        document_id: String::new(),
        ordinal: 0,
        text,
        heading_path,
        char_start: 0,
        char_end: 0,
        content_hash: String::new(),
    };
    Ok(chunk.indexed_text(title))
}

/// Builds the keyword index from every chunk in the store.
pub(super) fn load_index(conn: &Connection) -> Result<KeywordIndex> {
    let _span = tracing::info_span!("keyword_index.load").entered();
    let mut index = KeywordIndex::default();
    let mut stmt = conn.prepare(&format!("{INDEXED_ROWS} ORDER BY c.rowid"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let rowid: i64 = row.get(0)?;
        let source: String = row.get(1)?;
        let source = source.parse::<SourceType>().map_err(|_| {
            Error::Corrupt(format!("chunk row {rowid} has unknown source `{source}`"))
        })?;
        let title: String = row.get(2)?;
        let headings: String = row.get(3)?;
        let text = indexed_text(rowid, &title, &headings, row.get(4)?)?;
        index.insert(rowid, source, &text);
    }
    Ok(index)
}

/// The keyword index of the store behind `conn`: the snapshot in
/// `data_dir` brought up to date from the change log when it belongs to
/// this store and the log still reaches back to it, else a rebuild.
/// Returns the index, the log sequence it reflects and the sequence of
/// the snapshot it came from (`None`: rebuilt).
pub(super) fn open_index(
    conn: &Connection,
    data_dir: &Path,
) -> Result<(KeywordIndex, i64, Option<i64>)> {
    let file = data_dir.join(KEYWORD_FILE);
    match persist::load(&file) {
        Ok(Some((mut index, header))) => {
            let log = super::vector_index::log_position(conn)?;
            if header.store_id == super::vector_index::store_id(conn)?
                && header.seq >= log.floor
                && header.seq <= log.head
            {
                let _span = tracing::info_span!("keyword_index.open", from = header.seq).entered();
                let seq = catch_up(&mut index, conn, header.seq)?;
                return Ok((index, seq, Some(header.seq)));
            }
            tracing::warn!(
                file = %file.display(),
                "keyword index belongs to another store state; rebuilding it"
            );
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(error = %err, "keyword index unreadable; rebuilding it"),
    }
    Ok((load_index(conn)?, log_head(conn)?, None))
}

/// Saves `index`, which reflects the change log up to `seq`, in `data_dir`.
pub(super) fn save_index(
    index: &KeywordIndex,
    conn: &Connection,
    seq: i64,
    data_dir: &Path,
) -> Result<()> {
    let _span = tracing::info_span!("keyword_index.save", seq).entered();
    let header = Header {
        store_id: super::vector_index::store_id(conn)?,
        seq,
    };
    persist::save(index, &header, &data_dir.join(KEYWORD_FILE))
}

/// Brings `index`, which reflects the change log up to `seq`, up to the
/// log's head and returns the head. Every chunk row the log names since
/// `seq` is dropped, then re-read if SQLite still holds it, which is right
/// whatever mix of inserts, deletes and reused rowids happened. When the
/// log no longer reaches back to `seq` the index is rebuilt.
pub(super) fn catch_up(index: &mut KeywordIndex, conn: &Connection, seq: i64) -> Result<i64> {
    let log = super::vector_index::log_position(conn)?;
    if log.head == seq {
        return Ok(seq);
    }
    if seq < log.floor || seq > log.head {
        tracing::info!(
            seq,
            head = log.head,
            "keyword index too far behind; rebuilding"
        );
        *index = load_index(conn)?;
        return Ok(log.head);
    }
    let _span = tracing::info_span!("keyword_index.catch_up", from = seq, to = log.head).entered();
    let mut touched = Vec::new();
    let mut present = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT l.chunk_rowid, d.source, d.title, c.heading_path, c.text
             FROM (SELECT DISTINCT chunk_rowid FROM vector_log WHERE seq > ?1 AND seq <= ?2) l
             LEFT JOIN chunks c ON c.rowid = l.chunk_rowid
             LEFT JOIN documents d ON d.id = c.document_id",
        )?;
        let mut rows = stmt.query([seq, log.head])?;
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            touched.push(rowid);
            let source: Option<String> = row.get(1)?;
            let (Some(source), Some(title), Some(headings), Some(text)) = (
                source,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, Option<String>>(4)?,
            ) else {
                continue;
            };
            let source = source.parse::<SourceType>().map_err(|_| {
                Error::Corrupt(format!("chunk row {rowid} has unknown source `{source}`"))
            })?;
            present.push((rowid, source, indexed_text(rowid, &title, &headings, text)?));
        }
    }
    index.remove_without_text(&touched);
    for (rowid, source, text) in &present {
        index.insert(*rowid, *source, text);
    }
    Ok(log.head)
}

/// The last change-log sequence, for an index that was just brought up to
/// date by other means (a rebuild, or this process's own commit).
pub(super) fn log_head(conn: &Connection) -> Result<i64> {
    Ok(super::vector_index::log_position(conn)?.head)
}

/// The indexed texts of one document's chunks, read before they are
/// deleted so the index can take their terms out of its statistics.
pub(super) fn indexed_texts_of_document(
    conn: &Connection,
    document_id: &str,
) -> Result<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(&format!("{INDEXED_ROWS} WHERE c.document_id = ?1"))?;
    let mut rows = stmt.query([document_id])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let rowid: i64 = row.get(0)?;
        let title: String = row.get(2)?;
        let headings: String = row.get(3)?;
        out.push((rowid, indexed_text(rowid, &title, &headings, row.get(4)?)?));
    }
    Ok(out)
}
