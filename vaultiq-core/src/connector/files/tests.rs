//! Tests of the files connector: syncing, checkpoints, the walk and settings.
//! Per-format content tests are in `tests/formats.rs`.

mod formats;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::FilesConnector;
use crate::connector::{Checkpoint, Connector};
use crate::{Document, Error, SourceType};

fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, content).unwrap();
    path
}

fn set_mtime(path: &Path, time: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(time)
        .unwrap();
}

fn old_time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn connector(root: &Path) -> FilesConnector {
    FilesConnector::builder("docs", root).build().unwrap()
}

/// Fetches until done: every document, the batch count and the checkpoint.
async fn sync(c: &FilesConnector, checkpoint: Option<Checkpoint>) -> (Vec<Document>, Checkpoint) {
    let mut checkpoint = checkpoint;
    let mut docs = Vec::new();
    for _ in 0..100 {
        let batch = c.fetch(checkpoint.as_ref()).await.unwrap();
        docs.extend(batch.documents.into_iter().map(|d| d.document));
        checkpoint = Some(batch.checkpoint);
        if batch.done {
            return (docs, checkpoint.unwrap());
        }
    }
    panic!("fetch never reported done");
}

async fn only_doc(root: &Path, rel: &str, content: &str) -> Document {
    write(root, rel, content);
    let (docs, _) = sync(&connector(root), None).await;
    assert_eq!(docs.len(), 1, "{docs:#?}");
    docs.into_iter().next().unwrap()
}

fn ids(docs: &[Document]) -> Vec<&str> {
    docs.iter().map(|d| d.id.as_str()).collect()
}

#[tokio::test]
async fn incremental_sync() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (rel, text) in [
        ("a.md", "# A\n"),
        ("b.txt", "bee"),
        ("sub/c.html", "<p>see</p>"),
    ] {
        set_mtime(&write(root, rel, text), old_time(1_600_000_000));
    }
    let c = connector(root);
    let first = c.fetch(None).await.unwrap();
    assert!(first.done);
    assert_eq!(first.documents.len(), 3);
    assert_eq!(
        first.documents[0].raw,
        serde_json::json!({"path": "a.md", "bytes": 4})
    );
    let checkpoint = first.checkpoint;
    assert_eq!(
        checkpoint.0["a.md"]["mtime_ns"],
        1_600_000_000_000_000_000_i64
    );
    assert_eq!(checkpoint.0["a.md"]["size"], 4);
    assert_eq!(
        checkpoint.0["a.md"]["hash"],
        crate::types::sha256_hex("# A\n")
    );

    let (docs, checkpoint) = sync(&c, Some(checkpoint)).await;
    assert!(docs.is_empty(), "nothing changed: {docs:#?}");

    set_mtime(
        &write(root, "b.txt", "bee, edited"),
        old_time(1_600_000_100),
    );
    let (docs, checkpoint) = sync(&c, Some(checkpoint)).await;
    assert_eq!(ids(&docs), ["files:docs:b.txt"]);
    assert_eq!(docs[0].body, "bee, edited");

    set_mtime(&root.join("a.md"), old_time(1_600_000_200));
    let (docs, checkpoint) = sync(&c, Some(checkpoint)).await;
    assert!(docs.is_empty(), "touched only: {docs:#?}");
    assert_eq!(
        checkpoint.0["a.md"]["mtime_ns"],
        1_600_000_200_000_000_000_i64
    );

    fs::remove_file(root.join("sub/c.html")).unwrap();
    let live = c.list_ids().await.unwrap();
    assert_eq!(live, ["files:docs:a.md", "files:docs:b.txt"]);
    let (docs, checkpoint) = sync(&c, Some(checkpoint)).await;
    assert!(docs.is_empty());
    assert!(checkpoint.0.get("sub/c.html").is_none());
    assert!(checkpoint.0.get("a.md").is_some());
}

#[tokio::test]
async fn same_size_edit_with_same_mtime_right_after_sync_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "a.md", "AAAA");
    let c = connector(dir.path());
    let (_, checkpoint) = sync(&c, None).await;
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    fs::write(&path, "BBBB").unwrap();
    set_mtime(&path, mtime); // as on a file system with coarse timestamps
    let (docs, _) = sync(&c, Some(checkpoint)).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].body, "BBBB");
}

#[tokio::test]
async fn batches_of_two_over_five_files() {
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=5 {
        write(dir.path(), &format!("f{i}.md"), format!("# File {i}\n"));
    }
    let c = FilesConnector::builder("docs", dir.path())
        .batch_size(2)
        .build()
        .unwrap();
    let mut checkpoint: Option<Checkpoint> = None;
    let mut sizes = Vec::new();
    let mut all = Vec::new();
    loop {
        let batch = c.fetch(checkpoint.as_ref()).await.unwrap();
        sizes.push((batch.documents.len(), batch.done));
        all.extend(batch.documents.into_iter().map(|d| d.document.id));
        checkpoint = Some(batch.checkpoint);
        if batch.done || sizes.len() > 10 {
            break;
        }
    }
    assert_eq!(sizes, [(2, false), (2, false), (1, true)]);
    let expected: Vec<String> = (1..=5).map(|i| format!("files:docs:f{i}.md")).collect();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn malformed_checkpoint_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.md", "# A");
    let c = connector(dir.path());
    for bad in [
        serde_json::json!([1]),
        serde_json::json!("x"),
        serde_json::json!({"a.md": {"mtime_ns": "x"}}),
    ] {
        let err = c.fetch(Some(&Checkpoint(bad))).await.unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt(m) if m.contains("`docs`")),
            "{err}"
        );
    }
    let batch = c
        .fetch(Some(&Checkpoint(serde_json::Value::Null)))
        .await
        .unwrap();
    assert_eq!(batch.documents.len(), 1);
}

#[test]
fn builder_validates_settings() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = FilesConnector::builder("docs", &missing)
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("nope")),
        "{err}"
    );
    let file = write(dir.path(), "file.md", "x");
    let err = FilesConnector::builder("docs", &file).build().unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("not a directory")),
        "{err}"
    );
    let err = FilesConnector::builder("docs", dir.path())
        .batch_size(0)
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    let err = FilesConnector::builder("docs", dir.path())
        .include(vec![])
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    let c = FilesConnector::builder("docs", dir.path().join("."))
        .build()
        .unwrap();
    assert_eq!(c.root(), fs::canonicalize(dir.path()).unwrap());
    assert_eq!(c.name(), "docs");
    assert_eq!(c.source_type(), SourceType::Files);
}

#[tokio::test]
async fn hidden_files_symlinks_and_include_globs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for rel in [
        ".hidden.md",
        ".git/x.md",
        "docs/.secret/y.md",
        "docs/a.md",
        "docs/deep/b.md",
        "notes.rst",
        "top.md",
    ] {
        write(root, rel, "# t\n");
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("top.md"), root.join("docs/link.md")).unwrap();
    let c = connector(root);
    assert_eq!(
        c.list_ids().await.unwrap(),
        [
            "files:docs:docs/a.md",
            "files:docs:docs/deep/b.md",
            "files:docs:top.md"
        ]
    );
    let only_docs = FilesConnector::builder("docs", root)
        .include(vec!["./docs/**/*.md".into(), "*.rst".into()])
        .build()
        .unwrap();
    let (docs, _) = sync(&only_docs, None).await;
    assert_eq!(
        ids(&docs),
        [
            "files:docs:docs/a.md",
            "files:docs:docs/deep/b.md",
            "files:docs:notes.rst"
        ]
    );
    assert_eq!(docs[2].metadata["format"], "txt");
}

#[cfg(unix)]
#[tokio::test]
async fn unreadable_entries_are_skipped_not_fatal() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "ok.md", "# ok");
    write(root, "locked/x.md", "# x");
    let secret = write(root, "secret.md", "# s");
    let locked = root.join("locked");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    // Root ignores permissions, so only check the skip where it applies.
    let privileged = fs::read_dir(&locked).is_ok();
    let c = connector(root);
    let result = sync(&c, None).await;
    let live = c.list_ids().await;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o644)).unwrap();
    let (docs, checkpoint) = result;
    let live = live.unwrap();
    if privileged {
        assert_eq!(docs.len(), 3);
    } else {
        assert_eq!(ids(&docs), ["files:docs:ok.md"]);
        assert!(!live.contains(&"files:docs:locked/x.md".to_string()));
        // Unreadable files get no entry, so they are retried next time.
        assert!(checkpoint.0.get("secret.md").is_none());
        let (docs, _) = sync(&c, Some(checkpoint)).await;
        assert_eq!(
            ids(&docs),
            ["files:docs:locked/x.md", "files:docs:secret.md"]
        );
    }
}

#[tokio::test]
async fn vanished_root_is_an_error_not_an_empty_source() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("src");
    write(&root, "a.md", "# a");
    let c = connector(&root);
    fs::remove_dir_all(&root).unwrap();
    assert!(matches!(c.list_ids().await, Err(Error::Io { .. })));
    assert!(matches!(c.fetch(None).await, Err(Error::Io { .. })));
}
