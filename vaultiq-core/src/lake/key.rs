//! Record names shared by every lake: a source name and a document id
//! become one safe path segment each, `{source}/{id}.json`, so any id (with
//! `/`, `..`, spaces or non-ASCII text) maps to exactly one file or object
//! and back.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but unreserved URL characters is encoded, so any id is one
/// safe file name or key segment (no `/`, no `..`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

/// Percent-encodes a name into one path segment; a leading `.` is encoded
/// too so no record is hidden or named `.`/`..`.
pub fn encode(id: &str) -> String {
    let encoded = utf8_percent_encode(id, SEGMENT).to_string();
    match encoded.strip_prefix('.') {
        Some(rest) => format!("%2E{rest}"),
        None => encoded,
    }
}

/// Reverses [`encode`]; `None` for text that is not valid UTF-8 once decoded.
pub fn decode(segment: &str) -> Option<String> {
    percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// A configured key prefix as the keys use it: empty, or ending in exactly
/// one `/` (`"kb"` and `"kb/"` both become `"kb/"`), so every part that
/// builds or parses keys agrees on it.
pub fn normalize_prefix(prefix: &str) -> String {
    let trimmed = prefix.trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}/")
    }
}

/// The object key of a record in an object-store lake:
/// `{prefix}raw/{source}/{id}.json`, both names encoded.
pub fn record_key(prefix: &str, source_name: &str, document_id: &str) -> String {
    format!(
        "{prefix}raw/{}/{}.json",
        encode(source_name),
        encode(document_id)
    )
}

/// The source name and document id of a [`record_key`], or `None` for a
/// key outside `{prefix}raw/` or not shaped like a record (e.g. an S3 event
/// for some other object in the bucket).
pub fn parse_record_key(prefix: &str, key: &str) -> Option<(String, String)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix("raw/")?;
    let (source, file) = rest.split_once('/')?;
    let id = file.strip_suffix(".json")?;
    if source.is_empty() || id.is_empty() || id.contains('/') {
        return None;
    }
    Some((decode(source)?, decode(id)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_awkward_ids() {
        for id in [
            "PROJ-1",
            "a/b c",
            "../etc/passwd",
            ".hidden",
            "é ü 日本",
            "x.json",
        ] {
            let key = record_key("kb/", "wiki", id);
            assert!(key.starts_with("kb/raw/wiki/"), "{key}");
            assert_eq!(key.matches('/').count(), 3, "{key}");
            assert_eq!(
                parse_record_key("kb/", &key),
                Some(("wiki".to_string(), id.to_string()))
            );
        }
    }

    #[test]
    fn prefixes_end_in_one_slash() {
        assert_eq!(normalize_prefix(""), "");
        assert_eq!(normalize_prefix("/"), "");
        assert_eq!(normalize_prefix("kb"), "kb/");
        assert_eq!(normalize_prefix("kb//"), "kb/");
        assert_eq!(normalize_prefix("a/b/"), "a/b/");
    }

    #[test]
    fn foreign_keys_are_not_records() {
        assert_eq!(parse_record_key("", "other/wiki/a.json"), None);
        assert_eq!(parse_record_key("", "raw/wiki/a.txt"), None);
        assert_eq!(parse_record_key("", "raw/wiki/a/b.json"), None);
        assert_eq!(parse_record_key("kb/", "raw/wiki/a.json"), None);
    }
}
