//! `FilesConnector`: markdown, text, HTML and JSON files from a directory tree.
//!
//! # Checkpoint
//!
//! A JSON object mapping each relative path (always `/`-separated) to
//! `{"mtime_ns": i64, "size": u64, "hash": "<sha256 hex of the bytes>"}`,
//! plus two optional flags:
//!
//! - `"skipped": true` — the file was looked at but gave no document (empty,
//!   binary, invalid UTF-8, too large, malformed JSON). Recording it means a
//!   bad file is warned about once, not on every batch; it is looked at again
//!   as soon as its mtime or size changes. Oversized files are recorded with
//!   an empty hash and re-examined if the size limit is raised.
//! - `"racy": true` — the mtime was within two seconds of the scan, so a later
//!   same-size edit could keep the same (coarse) mtime. Such entries are
//!   re-hashed on the next fetch, the way git treats "racily clean" files.
//!
//! Files that could not be read (permissions, I/O errors) get no entry, so
//! they are retried on the next fetch. Entries of files that no longer exist
//! (or no longer match the include globs) are dropped.
//!
//! # Deletions
//!
//! [`Connector::list_ids`] lists every matching file without reading it. It
//! leaves out empty and oversized files (known from their size alone), so a
//! document whose file became one of those is removed; a file that turns
//! binary or invalid keeps its last good document until it is fixed or
//! deleted. Files under an unreadable subdirectory count as gone (with a
//! warning); an unreadable root is an error, so an unmounted volume never
//! wipes the index.

mod checkpoint;
mod fetch;
mod formats;
mod glob;
mod scan;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::{Checkpoint, Connector, FetchBatch};
use crate::{Document, Error, Result, SourceType};
use checkpoint::parse_checkpoint;
use fetch::fetch_blocking;
use scan::scan;

/// Globs used when none are configured.
pub const DEFAULT_INCLUDE: [&str; 6] = [
    "**/*.md",
    "**/*.markdown",
    "**/*.txt",
    "**/*.html",
    "**/*.htm",
    "**/*.json",
];
const DEFAULT_BATCH_SIZE: usize = 64;
const DEFAULT_MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// Settings for a [`FilesConnector`]; see [`FilesConnector::builder`].
#[derive(Debug, Clone)]
pub struct FilesConnectorBuilder {
    name: String,
    root: PathBuf,
    include: Vec<String>,
    batch_size: usize,
    max_file_bytes: u64,
}

impl FilesConnectorBuilder {
    /// Glob patterns on the `/`-separated relative path (`*`, `?` within one
    /// path segment, `**` across segments). Default: markdown (`.md`,
    /// `.markdown`), `.txt`, `.html`, `.htm` and `.json` files at any depth.
    pub fn include(mut self, patterns: Vec<String>) -> Self {
        self.include = patterns;
        self
    }

    /// Most documents returned by one `fetch` (default 64).
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Files larger than this are skipped with a warning (default 20 MiB).
    pub fn max_file_bytes(mut self, max_file_bytes: u64) -> Self {
        self.max_file_bytes = max_file_bytes;
        self
    }

    /// Checks the settings and canonicalises the root directory.
    pub fn build(self) -> Result<FilesConnector> {
        let name = self.name;
        let shown = self.root.display();
        if name.trim().is_empty() {
            return Err(Error::Config(format!(
                "files source for {shown}: the source name is empty"
            )));
        }
        if self.batch_size == 0 {
            return Err(Error::Config(format!(
                "files source `{name}`: batch_size must be at least 1"
            )));
        }
        let include: Vec<String> = self
            .include
            .iter()
            .map(|p| {
                p.trim()
                    .replace('\\', "/")
                    .trim_start_matches("./")
                    .trim_start_matches('/')
                    .to_string()
            })
            .filter(|p| !p.is_empty())
            .collect();
        if include.is_empty() {
            return Err(Error::Config(format!(
                "files source `{name}`: `include` has no glob patterns"
            )));
        }
        let metadata = std::fs::metadata(&self.root).map_err(|err| {
            Error::Config(format!(
                "files source `{name}`: root directory {shown} cannot be used: {err}"
            ))
        })?;
        if !metadata.is_dir() {
            return Err(Error::Config(format!(
                "files source `{name}`: root {shown} is not a directory"
            )));
        }
        let root = self.root.canonicalize().map_err(|err| {
            Error::Config(format!(
                "files source `{name}`: cannot resolve root directory {shown}: {err}"
            ))
        })?;
        let settings = Settings {
            name,
            root,
            include,
            batch_size: self.batch_size,
            max_file_bytes: self.max_file_bytes,
        };
        Ok(FilesConnector {
            settings: Arc::new(settings),
        })
    }
}

/// Documents from a local directory tree of `.md`, `.txt`, `.html` and
/// `.json` files, fetched incrementally by (mtime, size, content hash).
///
/// Hidden files and directories (names starting with `.`) are skipped and
/// symbolic links are not followed. Document ids are
/// `files:{source name}:{relative path}`.
#[derive(Debug, Clone)]
pub struct FilesConnector {
    settings: Arc<Settings>,
}

#[derive(Debug)]
struct Settings {
    name: String,
    root: PathBuf,
    include: Vec<String>,
    batch_size: usize,
    max_file_bytes: u64,
}

impl FilesConnector {
    /// A builder for a source called `name` reading the tree under `root`.
    pub fn builder(name: impl Into<String>, root: impl Into<PathBuf>) -> FilesConnectorBuilder {
        FilesConnectorBuilder {
            name: name.into(),
            root: root.into(),
            include: DEFAULT_INCLUDE.iter().map(|p| p.to_string()).collect(),
            batch_size: DEFAULT_BATCH_SIZE,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.settings.root
    }
}

#[async_trait]
impl Connector for FilesConnector {
    fn name(&self) -> &str {
        &self.settings.name
    }

    fn source_type(&self) -> SourceType {
        SourceType::Files
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch> {
        let previous = parse_checkpoint(&self.settings.name, checkpoint)?;
        let settings = Arc::clone(&self.settings);
        blocking(&self.settings.name, move || {
            fetch_blocking(&settings, previous)
        })
        .await
    }

    async fn list_ids(&self) -> Result<Vec<String>> {
        let settings = Arc::clone(&self.settings);
        blocking(&self.settings.name, move || {
            let files = scan(&settings)?;
            Ok(files
                .iter()
                .filter(|f| f.size > 0 && f.size <= settings.max_file_bytes)
                .map(|f| Document::make_id(SourceType::Files, &settings.name, &f.rel))
                .collect())
        })
        .await
    }
}

/// Runs file-system work off the async executor.
async fn blocking<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| Error::Source {
            source_name: name.to_string(),
            message: format!("file scan task failed: {err}"),
            retryable: false,
        })?
}
