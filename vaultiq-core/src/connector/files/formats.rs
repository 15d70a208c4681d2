//! Turning the bytes of a markdown, text, HTML or JSON file into a document.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::scan::FileInfo;
use super::Settings;
use crate::convert::{html_to_text, markdown_title, split_front_matter};
use crate::{Document, SourceType};

/// A NUL byte this early means a binary file, as git and grep decide it.
const BINARY_SNIFF_BYTES: usize = 8 * 1024;

/// How a file's content is read, from its extension; anything else a custom
/// glob lets in is read as plain text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Markdown,
    Text,
    Html,
    Json,
}

impl Format {
    fn of(rel: &str) -> Format {
        let ext = Path::new(rel)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "md" | "markdown" | "mdown" | "mkd" => Format::Markdown,
            "html" | "htm" | "xhtml" => Format::Html,
            "json" => Format::Json,
            _ => Format::Text,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Text => "txt",
            Format::Html => "html",
            Format::Json => "json",
        }
    }
}

/// The document of one file, or why there is none.
pub(super) fn convert(
    s: &Settings,
    file: &FileInfo,
    bytes: &[u8],
) -> std::result::Result<Document, String> {
    if bytes.iter().take(BINARY_SNIFF_BYTES).any(|b| *b == 0) {
        return Err("looks binary (NUL byte in the first 8 KiB)".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|err| {
        format!(
            "not valid UTF-8 (invalid byte at offset {})",
            err.valid_up_to()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err("the file is empty".into());
    }
    let format = Format::of(&file.rel);
    let mut doc = match format {
        Format::Markdown => markdown_document(s, file, text)?,
        Format::Text => {
            let title = text_title(text).unwrap_or_else(|| title_from_file_name(&file.rel));
            new_document(s, file, title, text.to_string())
        }
        Format::Html => {
            let (title, body) = html_to_text(text);
            if body.trim().is_empty() {
                return Err("the HTML has no text content".into());
            }
            let title = title.unwrap_or_else(|| title_from_file_name(&file.rel));
            new_document(s, file, title, body)
        }
        Format::Json => json_document(s, file, text)?,
    };
    // Set last so front matter or JSON metadata cannot hide them.
    doc.metadata.insert("path".into(), file.rel.clone());
    doc.metadata.insert("format".into(), format.as_str().into());
    doc.content_hash = doc.compute_hash();
    Ok(doc)
}

fn new_document(s: &Settings, file: &FileInfo, title: String, body: String) -> Document {
    let mut doc = Document::new(SourceType::Files, &s.name, &file.rel, title, body);
    doc.url = file_url(&file.abs);
    doc.updated_at = file.modified.map(DateTime::<Utc>::from);
    doc.created_at = file.created.map(DateTime::<Utc>::from);
    doc
}

fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path)
        .map(String::from)
        .unwrap_or_else(|()| format!("file://{}", path.display()))
}

fn markdown_document(
    s: &Settings,
    file: &FileInfo,
    text: &str,
) -> std::result::Result<Document, String> {
    let (fields, body) = split_front_matter(text);
    if body.trim().is_empty() {
        return Err("no content after the front matter".into());
    }
    let is_title = |key: &str| key.eq_ignore_ascii_case("title");
    let title = fields
        .iter()
        .find(|(key, value)| is_title(key) && !value.trim().is_empty())
        .map(|(_, value)| value.trim().to_string())
        .or_else(|| markdown_title(body))
        .unwrap_or_else(|| title_from_file_name(&file.rel));
    let mut doc = new_document(s, file, title, body.to_string());
    for (key, value) in fields {
        if key.eq_ignore_ascii_case("author") {
            doc.author = Some(value.clone());
        }
        if !is_title(&key) {
            doc.metadata.insert(key, value);
        }
    }
    Ok(doc)
}

/// A plain-text file's title: a short first line set off by a blank line.
fn text_title(text: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|line| line.trim().is_empty());
    let first = lines.next()?.trim();
    let blank_after = lines.next()?.trim().is_empty();
    (blank_after && first.chars().count() <= 120).then(|| first.to_string())
}

/// `deploy-runbook_v2.md` -> `deploy runbook v2`.
fn title_from_file_name(rel: &str) -> String {
    let path = Path::new(rel);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or(rel);
    let title = stem.replace(['-', '_'], " ").trim().to_string();
    if title.is_empty() {
        path.file_name()
            .and_then(|s| s.to_str())
            .unwrap_or(rel)
            .to_string()
    } else {
        title
    }
}

/// A `.json` file: one object with `title`, `text` (or `body`) and optional
/// `url`, `author`, `created_at`, `updated_at` (RFC 3339) and `metadata`.
fn json_document(
    s: &Settings,
    file: &FileInfo,
    text: &str,
) -> std::result::Result<Document, String> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(text).map_err(|err| format!("invalid JSON: {err}"))?;
    let Value::Object(object) = value else {
        return Err(format!(
            "expected one JSON object, found {}",
            json_kind(&value)
        ));
    };
    let string = |key: &str| -> std::result::Result<Option<String>, String> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(format!(
                "`{key}` must be a string, found {}",
                json_kind(other)
            )),
        }
    };
    let title = string("title")?
        .filter(|t| !t.trim().is_empty())
        .ok_or("missing or empty `title`")?;
    let body = match string("text")? {
        Some(body) => body,
        None => string("body")?.ok_or("missing `text` (or `body`)")?,
    };
    if body.trim().is_empty() {
        return Err("`text` is empty".into());
    }
    let mut doc = new_document(s, file, title.trim().to_string(), body);
    if let Some(url) = string("url")?.filter(|u| !u.trim().is_empty()) {
        doc.url = url;
    }
    doc.author = string("author")?;
    if let Some(time) = string("created_at")? {
        doc.created_at = Some(parse_time("created_at", &time)?);
    }
    if let Some(time) = string("updated_at")? {
        doc.updated_at = Some(parse_time("updated_at", &time)?);
    }
    match object.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (key, value) in map {
                let value = match value {
                    Value::String(text) => text.clone(),
                    Value::Number(number) => number.to_string(),
                    Value::Bool(flag) => flag.to_string(),
                    other => {
                        return Err(format!(
                            "metadata `{key}` must be a string, number or boolean, found {}",
                            json_kind(other)
                        ))
                    }
                };
                doc.metadata.insert(key.clone(), value);
            }
        }
        Some(other) => {
            return Err(format!(
                "`metadata` must be an object, found {}",
                json_kind(other)
            ))
        }
    }
    Ok(doc)
}

fn parse_time(field: &str, text: &str) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|err| format!("`{field}` is not an RFC 3339 timestamp ({text:?}): {err}"))
}

/// How a JSON value is named in error messages.
pub(super) fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
