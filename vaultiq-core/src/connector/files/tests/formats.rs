//! How each file format becomes a document, and which files are skipped.

use std::fs;

use super::{connector, ids, only_doc, sync, write};
use crate::connector::{Connector, FilesConnector};
use crate::SourceType;

#[tokio::test]
async fn markdown_with_front_matter() {
    let dir = tempfile::tempdir().unwrap();
    let text = "---\ntitle: \"Deploy Guide\"\nowner: platform\nauthor: Ann\npath: fake\n---\n# Heading\n\nSteps.\n";
    let doc = only_doc(dir.path(), "guides/deploy.md", text).await;
    assert_eq!(doc.id, "files:docs:guides/deploy.md");
    assert_eq!(doc.source, SourceType::Files);
    assert_eq!(doc.source_name, "docs");
    assert_eq!(doc.title, "Deploy Guide");
    assert_eq!(doc.body, "# Heading\n\nSteps.\n");
    assert_eq!(doc.author.as_deref(), Some("Ann"));
    assert_eq!(doc.metadata["owner"], "platform");
    assert_eq!(doc.metadata["path"], "guides/deploy.md");
    assert_eq!(doc.metadata["format"], "md");
    assert!(!doc.metadata.contains_key("title"));
    let abs = fs::canonicalize(dir.path())
        .unwrap()
        .join("guides/deploy.md");
    assert_eq!(doc.url, url::Url::from_file_path(&abs).unwrap().to_string());
    assert!(doc.url.starts_with("file:///"));
    assert!(doc.updated_at.is_some());
    assert_eq!(doc.content_hash, doc.compute_hash());
}

#[tokio::test]
async fn markdown_title_from_heading_then_file_name() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.md", "intro\n## Second\n# First\n");
    write(
        dir.path(),
        "b.markdown",
        "text\n```\n# not this\n```\n### Only\n",
    );
    write(dir.path(), "my-runbook_v2.md", "no headings at all");
    let (docs, _) = sync(&connector(dir.path()), None).await;
    let titles: Vec<&str> = docs.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["First", "Only", "my runbook v2"]);
    assert_eq!(docs[0].body, "intro\n## Second\n# First\n");
}

#[tokio::test]
async fn text_title_rules() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.txt", "\nRelease notes\n\nBody line\n");
    write(
        dir.path(),
        "long.txt",
        format!("{}\n\nbody", "x".repeat(121)),
    );
    write(dir.path(), "no_blank.txt", "first\nsecond\n");
    let (docs, _) = sync(&connector(dir.path()), None).await;
    let titles: Vec<&str> = docs.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(titles, ["long", "no blank", "Release notes"]);
    assert_eq!(docs[2].body, "\nRelease notes\n\nBody line\n");
    assert_eq!(docs[2].metadata["format"], "txt");
}

#[tokio::test]
async fn html_files_keep_structure() {
    let dir = tempfile::tempdir().unwrap();
    let html = "<html><head><title>Ops Page</title><script>x()</script></head>\
                <body><h1>Ops</h1><ul><li>a &amp; b</li></ul></body></html>";
    write(dir.path(), "page.html", html);
    write(dir.path(), "untitled.htm", "<p>just text</p>");
    write(
        dir.path(),
        "empty.html",
        "<html><script>only()</script></html>",
    );
    let (docs, _) = sync(&connector(dir.path()), None).await;
    assert_eq!(
        ids(&docs),
        ["files:docs:page.html", "files:docs:untitled.htm"]
    );
    assert_eq!(docs[0].title, "Ops Page");
    assert_eq!(docs[0].body, "# Ops\n\n- a & b");
    assert_eq!(docs[0].metadata["format"], "html");
    assert_eq!(docs[1].title, "untitled");
    assert_eq!(docs[1].body, "just text");
}

#[tokio::test]
async fn json_documents() {
    let dir = tempfile::tempdir().unwrap();
    let full = serde_json::json!({
        "title": "Incident 42", "body": "What happened.", "url": "https://kb.example/42",
        "author": "ops", "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-02-03T04:05:06+01:00",
        "metadata": {"team": "sre", "severity": 2, "resolved": true}
    });
    write(dir.path(), "kb/full.json", full.to_string());
    write(dir.path(), "kb/min.json", r#"{"title": "T", "text": "B"}"#);
    let (docs, _) = sync(&connector(dir.path()), None).await;
    assert_eq!(docs.len(), 2);
    let (full, min) = (&docs[0], &docs[1]);
    assert_eq!(full.title, "Incident 42");
    assert_eq!(full.body, "What happened.");
    assert_eq!(full.url, "https://kb.example/42");
    assert_eq!(full.author.as_deref(), Some("ops"));
    assert_eq!(
        full.created_at.unwrap().to_rfc3339(),
        "2024-01-02T03:04:05+00:00"
    );
    assert_eq!(
        full.updated_at.unwrap().to_rfc3339(),
        "2024-02-03T03:05:06+00:00"
    );
    assert_eq!(full.metadata["severity"], "2");
    assert_eq!(full.metadata["resolved"], "true");
    assert_eq!(full.metadata["team"], "sre");
    assert_eq!(full.metadata["format"], "json");
    assert!(min.url.starts_with("file:///") && min.url.ends_with("kb/min.json"));
    assert!(min.updated_at.is_some());
    assert_eq!(min.body, "B");
}

#[tokio::test]
async fn bad_json_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "invalid.json", "{\"title\": ");
    write(dir.path(), "array.json", "[1, 2]");
    write(dir.path(), "no_title.json", r#"{"text": "x"}"#);
    write(dir.path(), "no_text.json", r#"{"title": "x"}"#);
    write(
        dir.path(),
        "bad_date.json",
        r#"{"title": "x", "text": "y", "updated_at": "yesterday"}"#,
    );
    write(
        dir.path(),
        "nested.json",
        r#"{"title": "x", "text": "y", "metadata": {"a": {"b": 1}}}"#,
    );
    write(
        dir.path(),
        "wrong_type.json",
        r#"{"title": 5, "text": "y"}"#,
    );
    write(
        dir.path(),
        "good.json",
        r#"{"title": "ok", "text": "fine"}"#,
    );
    let (docs, checkpoint) = sync(&connector(dir.path()), None).await;
    assert_eq!(ids(&docs), ["files:docs:good.json"]);
    assert_eq!(checkpoint.0["invalid.json"]["skipped"], true);
    assert!(checkpoint.0["good.json"].get("skipped").is_none());
}

#[tokio::test]
async fn empty_binary_invalid_and_oversize_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "empty.md", "");
    write(dir.path(), "blank.txt", "  \n\t\n");
    write(dir.path(), "only_front_matter.md", "---\ntitle: x\n---\n");
    write(dir.path(), "binary.md", b"abc\0def");
    write(dir.path(), "latin1.txt", b"caf\xe9 au lait");
    write(dir.path(), "big.txt", "y".repeat(2048));
    write(dir.path(), "good.md", "# Good\n");
    let small = FilesConnector::builder("docs", dir.path())
        .max_file_bytes(1024)
        .build()
        .unwrap();
    let (docs, checkpoint) = sync(&small, None).await;
    assert_eq!(ids(&docs), ["files:docs:good.md"]);
    for bad in [
        "empty.md",
        "blank.txt",
        "binary.md",
        "latin1.txt",
        "big.txt",
        "only_front_matter.md",
    ] {
        assert_eq!(checkpoint.0[bad]["skipped"], true, "{bad}");
    }
    assert_eq!(checkpoint.0["big.txt"]["hash"], "");
    // Recorded skips are not looked at (or warned about) again.
    let (again, _) = sync(&small, Some(checkpoint.clone())).await;
    assert!(again.is_empty());
    // Empty and oversized files are known from their size: not live.
    let live = small.list_ids().await.unwrap();
    assert!(live.contains(&"files:docs:good.md".to_string()));
    assert!(!live.contains(&"files:docs:empty.md".to_string()));
    assert!(!live.contains(&"files:docs:big.txt".to_string()));
    // Raising the limit brings the big file in without any edit.
    let (docs, _) = sync(&connector(dir.path()), Some(checkpoint)).await;
    assert_eq!(ids(&docs), ["files:docs:big.txt"]);
}
