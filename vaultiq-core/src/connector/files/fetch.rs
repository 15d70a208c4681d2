//! One incremental fetch step: which files changed and what they give.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::checkpoint::{needs_look, Entry};
use super::formats::convert;
use super::scan::{scan, system_time_ns, FileInfo};
use super::Settings;
use crate::connector::{Checkpoint, FetchBatch, SourceDocument};
use crate::{Error, Result};

/// Entries whose mtime is this close to the scan time are re-hashed next time.
const RACY_WINDOW_NS: i64 = 2_000_000_000;

/// One fetch step; see the parent module docs for the checkpoint rules.
pub(super) fn fetch_blocking(
    s: &Settings,
    previous: BTreeMap<String, Entry>,
) -> Result<FetchBatch> {
    let files = scan(s)?;
    let live: std::collections::HashSet<&str> = files.iter().map(|f| f.rel.as_str()).collect();
    let mut next: BTreeMap<String, Entry> = previous
        .into_iter()
        .filter(|(path, _)| live.contains(path.as_str()))
        .collect();
    let now_ns = system_time_ns(SystemTime::now());
    let mut documents = Vec::new();
    let mut done = true;
    for file in &files {
        let old = next.get(&file.rel);
        if !needs_look(old, file, s.max_file_bytes) {
            continue;
        }
        if documents.len() >= s.batch_size {
            done = false; // a further changed file waits for the next batch
            break;
        }
        let old_hash = old.map(|e| e.hash.clone());
        let old_skipped = old.is_some_and(|e| e.skipped);
        let (hash, skipped) = match examine(s, file, old_hash.as_deref()) {
            Look::Document(doc, hash) => {
                documents.push(*doc);
                (hash, false)
            }
            Look::Unchanged(hash) => (hash, old_skipped),
            Look::Skipped(hash) => (hash, true),
            Look::Unreadable => continue,
        };
        let racy = now_ns.saturating_sub(file.mtime_ns) < RACY_WINDOW_NS;
        let entry = Entry {
            mtime_ns: file.mtime_ns,
            size: file.size,
            hash,
            skipped,
            racy,
        };
        next.insert(file.rel.clone(), entry);
    }
    let checkpoint = serde_json::to_value(&next).map_err(|err| {
        Error::InvalidInput(format!("files source `{}`: checkpoint: {err}", s.name))
    })?;
    Ok(FetchBatch {
        documents,
        checkpoint: Checkpoint(checkpoint),
        done,
    })
}

/// The result of looking at one changed file.
enum Look {
    /// A new or changed document, with the hash of the file's bytes.
    Document(Box<SourceDocument>, String),
    /// Same bytes as the checkpoint says: only the mtime moved.
    Unchanged(String),
    /// No document (bad content); warned about.
    Skipped(String),
    /// Could not be read; warned about and retried next time.
    Unreadable,
}

/// Reads, hashes and converts one file that may have changed.
fn examine(s: &Settings, file: &FileInfo, old_hash: Option<&str>) -> Look {
    let shown = file.abs.display();
    let limit = s.max_file_bytes;
    if file.size > limit {
        tracing::warn!(source = %s.name, "skipping {shown}: {} bytes is over the {limit}-byte limit", file.size);
        return Look::Skipped(String::new());
    }
    let mut bytes = Vec::new();
    // `take` guards against a file that grew after it was listed.
    let read =
        File::open(&file.abs).and_then(|f| f.take(limit.saturating_add(1)).read_to_end(&mut bytes));
    if let Err(err) = read {
        tracing::warn!(source = %s.name, "skipping unreadable {shown}: {err}");
        return Look::Unreadable;
    }
    if bytes.len() as u64 > limit {
        tracing::warn!(source = %s.name, "skipping {shown}: it grew over the {limit}-byte limit");
        return Look::Skipped(String::new());
    }
    let hash = crate::types::hex(&Sha256::digest(&bytes));
    if old_hash == Some(hash.as_str()) {
        return Look::Unchanged(hash);
    }
    match convert(s, file, &bytes) {
        Ok(document) => {
            // The body is in the document; raw only says where it came from.
            let raw = serde_json::json!({ "path": file.rel, "bytes": bytes.len() });
            Look::Document(Box::new(SourceDocument { document, raw }), hash)
        }
        Err(problem) => {
            tracing::warn!(source = %s.name, "skipping {shown}: {problem}");
            Look::Skipped(hash)
        }
    }
}
