//! The raw lake on the local file system:
//! `{root}/{source name}/{percent-encoded id}.json`.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::connector::SourceDocument;
use crate::lake::key::{decode, encode};
use crate::lake::Lake;
use crate::{Error, Result};

/// [`Lake`] in a directory; every write is atomic (temp file + rename).
#[derive(Debug, Clone)]
pub struct FsLake {
    root: PathBuf,
}

impl FsLake {
    /// A lake rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsLake { root: root.into() }
    }

    /// The lake's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn source_dir(&self, source_name: &str) -> PathBuf {
        self.root.join(encode(source_name))
    }

    fn record_path(&self, source_name: &str, document_id: &str) -> PathBuf {
        self.source_dir(source_name)
            .join(format!("{}.json", encode(document_id)))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .ok_or_else(|| Error::store(format!("lake path {} has no parent", path.display())))?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create lake directory", dir, e))?;
    let tmp = path.with_extension("json.tmp");
    let mut file =
        std::fs::File::create(&tmp).map_err(|e| Error::io("cannot create lake file", &tmp, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("cannot write lake file", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("cannot move lake file into place", path, e))
}

#[async_trait]
impl Lake for FsLake {
    async fn put(&self, record: &SourceDocument) -> Result<()> {
        let path = self.record_path(&record.document.source_name, &record.document.id);
        let bytes = serde_json::to_vec_pretty(record)?;
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| Error::store(format!("lake task failed: {e}")))?
    }

    async fn get(&self, source_name: &str, document_id: &str) -> Result<Option<SourceDocument>> {
        let path = self.record_path(source_name, document_id);
        match tokio::fs::read(&path).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Corrupt(format!("lake record {}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("cannot read lake record", &path, e)),
        }
    }

    async fn list(&self, source_name: &str) -> Result<Vec<String>> {
        let dir = self.source_dir(source_name);
        let mut ids = list_names(&dir).await?;
        ids.retain(|name| name.ends_with(".json"));
        let mut out: Vec<String> = ids
            .iter()
            .filter_map(|name| name.strip_suffix(".json").and_then(decode))
            .collect();
        out.sort();
        Ok(out)
    }

    async fn sources(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = list_names(&self.root)
            .await?
            .iter()
            .filter_map(|n| decode(n))
            .collect();
        names.sort();
        Ok(names)
    }

    async fn delete(&self, source_name: &str, document_id: &str) -> Result<()> {
        let path = self.record_path(source_name, document_id);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("cannot delete lake record", &path, e)),
        }
    }
}

async fn list_names(dir: &Path) -> Result<Vec<String>> {
    let mut entries = match tokio::fs::read_dir(dir).await {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("cannot list lake directory", dir, e)),
    };
    let mut names = Vec::new();
    while let Some(entry) = entries
        .next_entry()
        .await
        .map_err(|e| Error::io("cannot list lake directory", dir, e))?
    {
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Document, SourceType};

    #[tokio::test]
    async fn put_get_list_delete() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", Path::new("."), e))?;
        let lake = FsLake::new(dir.path().join("lake"));
        let doc = Document::new(
            SourceType::Files,
            "my docs",
            "../etc/pass wd.md",
            "T",
            "body",
        );
        let record = SourceDocument {
            document: doc.clone(),
            raw: serde_json::json!({"k": 1}),
        };
        lake.put(&record).await?;
        lake.put(&record).await?;
        assert_eq!(lake.get("my docs", &doc.id).await?, Some(record));
        assert_eq!(lake.list("my docs").await?, std::slice::from_ref(&doc.id));
        assert_eq!(lake.sources().await?, ["my docs"]);
        // The id cannot escape the source directory.
        let file = lake.record_path("my docs", &doc.id);
        assert!(file.starts_with(dir.path().join("lake").join("my%20docs")));
        assert_eq!(
            file.parent(),
            Some(dir.path().join("lake").join("my%20docs").as_path())
        );
        lake.delete("my docs", &doc.id).await?;
        lake.delete("my docs", &doc.id).await?;
        assert!(lake.list("my docs").await?.is_empty());
        assert_eq!(lake.get("my docs", &doc.id).await?, None);
        Ok(())
    }

    #[test]
    fn dot_names_are_encoded() {
        assert_eq!(encode(".."), "%2E.");
        assert_eq!(encode("a/b"), "a%2Fb");
    }
}
