//! Walking the root directory: the matching files and their metadata.

use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use walkdir::WalkDir;

use super::glob::glob_match;
use super::Settings;
use crate::{Error, Result};

/// A matching file found by the walk (metadata only).
#[derive(Debug)]
pub(super) struct FileInfo {
    pub(super) rel: String,
    pub(super) abs: PathBuf,
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
    pub(super) modified: Option<SystemTime>,
    pub(super) created: Option<SystemTime>,
}

/// Every file under the root that matches the include globs, sorted by path.
pub(super) fn scan(s: &Settings) -> Result<Vec<FileInfo>> {
    let walker = WalkDir::new(&s.root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    let mut files = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) if err.depth() == 0 => {
                let action = format!("files source `{}`: read root directory", s.name);
                let io = err
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("walk failed"));
                return Err(Error::io(&action, &s.root, io));
            }
            Err(err) => {
                let path = err
                    .path()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                tracing::warn!(source = %s.name, "skipping unreadable {path}: {err}");
                continue;
            }
        };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(rel) = relative_path(&s.root, entry.path()) else {
            tracing::warn!(source = %s.name, "skipping {}: the path is not valid UTF-8", entry.path().display());
            continue;
        };
        if !s.include.iter().any(|pattern| glob_match(pattern, &rel)) {
            continue;
        }
        let metadata = match entry.metadata() {
            Ok(metadata) => metadata,
            Err(err) => {
                tracing::warn!(source = %s.name, "skipping {}: cannot read metadata: {err}", entry.path().display());
                continue;
            }
        };
        let modified = metadata.modified().ok();
        files.push(FileInfo {
            rel,
            abs: entry.into_path(),
            size: metadata.len(),
            mtime_ns: modified.map_or(0, system_time_ns),
            modified,
            created: metadata.created().ok(),
        });
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(files)
}

fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = path
        .strip_prefix(root)
        .ok()?
        .components()
        .map(|c| match c {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    Some(parts?.join("/"))
}

pub(super) fn system_time_ns(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |ns| -ns),
    }
}
