//! The checkpoint entry kept per file and its parsing; the format is
//! described in the parent module's docs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::formats::json_kind;
use super::scan::FileInfo;
use crate::connector::Checkpoint;
use crate::{Error, Result};

/// What the checkpoint remembers about one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Entry {
    pub(super) mtime_ns: i64,
    pub(super) size: u64,
    pub(super) hash: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) skipped: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) racy: bool,
}

/// The entries of a stored checkpoint (none for a first fetch).
pub(super) fn parse_checkpoint(
    name: &str,
    checkpoint: Option<&Checkpoint>,
) -> Result<BTreeMap<String, Entry>> {
    match checkpoint.map(|c| &c.0) {
        None | Some(serde_json::Value::Null) => Ok(BTreeMap::new()),
        Some(value @ serde_json::Value::Object(_)) => serde_json::from_value(value.clone())
            .map_err(|err| {
                Error::Corrupt(format!(
                "files source `{name}`: checkpoint entries must be {{mtime_ns, size, hash}}: {err}"
            ))
            }),
        Some(other) => Err(Error::Corrupt(format!(
            "files source `{name}`: checkpoint must be a JSON object of path -> entry, found {}",
            json_kind(other)
        ))),
    }
}

/// Whether a file must be read again: new, changed, racily clean, or an
/// oversized skip that the current limit now admits.
pub(super) fn needs_look(old: Option<&Entry>, file: &FileInfo, max_file_bytes: u64) -> bool {
    match old {
        None => true,
        Some(entry) => {
            entry.racy
                || entry.mtime_ns != file.mtime_ns
                || entry.size != file.size
                || (entry.skipped && entry.hash.is_empty() && file.size <= max_file_bytes)
        }
    }
}
