//! The data model shared by every stage: documents, chunks, hits, answers.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Where a document came from. Serialised in lower case (`"confluence"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceType {
    /// Confluence pages and blog posts.
    Confluence,
    /// Slack threads and messages.
    Slack,
    /// Jira issues.
    Jira,
    /// GitHub issues, pull requests and docs.
    Github,
    /// Files from a local directory tree.
    Files,
    /// Anything a user-defined connector produces.
    Custom,
}

impl SourceType {
    /// Every source type, in a stable order.
    pub const ALL: [SourceType; 6] = [
        SourceType::Confluence,
        SourceType::Slack,
        SourceType::Jira,
        SourceType::Github,
        SourceType::Files,
        SourceType::Custom,
    ];

    /// The lower-case name used in ids, JSON and filters.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Confluence => "confluence",
            SourceType::Slack => "slack",
            SourceType::Jira => "jira",
            SourceType::Github => "github",
            SourceType::Files => "files",
            SourceType::Custom => "custom",
        }
    }
}

impl fmt::Display for SourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SourceType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        SourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let allowed: Vec<&str> = SourceType::ALL.iter().map(|t| t.as_str()).collect();
                Error::InvalidInput(format!(
                    "unknown source type `{s}`; expected one of: {}",
                    allowed.join(", ")
                ))
            })
    }
}

/// One unit of knowledge from a source: a page, a thread, an issue, a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id `{source type}:{source name}:{native id}`.
    pub id: String,
    /// The kind of source.
    pub source: SourceType,
    /// The configured source instance, e.g. `eng-wiki`.
    pub source_name: String,
    /// Human-readable title.
    pub title: String,
    /// Where a person can read the original.
    pub url: String,
    /// Author or last editor, when the source tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Creation time, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Last modification time, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Plain text that keeps structure: headings, lists, code, tables.
    pub body: String,
    /// Source-specific facts: space, channel, labels, status, repo...
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Principals allowed to read the document; `None` means everyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<Vec<String>>,
    /// SHA-256 over the indexed content; see [`Document::compute_hash`].
    #[serde(default)]
    pub content_hash: String,
}

impl Document {
    /// Builds the stable document id `{source type}:{source name}:{native id}`.
    pub fn make_id(source: SourceType, source_name: &str, native_id: &str) -> String {
        format!("{source}:{source_name}:{native_id}")
    }

    /// A document with the required fields; the hash is computed.
    pub fn new(
        source: SourceType,
        source_name: &str,
        native_id: &str,
        title: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        let mut doc = Document {
            id: Self::make_id(source, source_name, native_id),
            source,
            source_name: source_name.to_string(),
            title: title.into(),
            url: String::new(),
            author: None,
            created_at: None,
            updated_at: None,
            body: body.into(),
            metadata: BTreeMap::new(),
            acl: None,
            content_hash: String::new(),
        };
        doc.content_hash = doc.compute_hash();
        doc
    }

    /// Hash of everything that changes what is indexed or shown, so an
    /// unchanged document is never re-chunked or re-embedded.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [
            self.id.as_str(),
            self.title.as_str(),
            self.url.as_str(),
            self.author.as_deref().unwrap_or(""),
            self.body.as_str(),
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        for (key, value) in &self.metadata {
            hasher.update((key.len() as u64).to_le_bytes());
            hasher.update(key.as_bytes());
            hasher.update((value.len() as u64).to_le_bytes());
            hasher.update(value.as_bytes());
        }
        if let Some(acl) = &self.acl {
            hasher.update(b"acl");
            for principal in acl {
                hasher.update((principal.len() as u64).to_le_bytes());
                hasher.update(principal.as_bytes());
            }
        }
        let timestamp = self.updated_at.map(|t| t.timestamp_millis()).unwrap_or(0);
        hasher.update(timestamp.to_le_bytes());
        hex(&hasher.finalize())
    }

    /// The fields of this document that travel with every hit.
    pub fn summary(&self) -> DocumentSummary {
        DocumentSummary {
            id: self.id.clone(),
            source: self.source,
            source_name: self.source_name.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            updated_at: self.updated_at,
            metadata: self.metadata.clone(),
        }
    }
}

/// The document fields a hit carries (no body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentSummary {
    /// Document id.
    pub id: String,
    /// Kind of source.
    pub source: SourceType,
    /// Configured source instance.
    pub source_name: String,
    /// Title.
    pub title: String,
    /// Link to the original.
    pub url: String,
    /// Last modification time.
    pub updated_at: Option<DateTime<Utc>>,
    /// Source-specific metadata.
    pub metadata: BTreeMap<String, String>,
}

/// A passage of a document, the unit that is embedded and retrieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// `{document id}#{ordinal}`.
    pub id: String,
    /// The document this chunk belongs to.
    pub document_id: String,
    /// Position of the chunk within its document, from 0.
    pub ordinal: u32,
    /// The passage as it appears in the document body.
    pub text: String,
    /// Headings above the passage, outermost first.
    #[serde(default)]
    pub heading_path: Vec<String>,
    /// Start of the passage in the document body, in characters.
    pub char_start: usize,
    /// End (exclusive) of the passage in the document body, in characters.
    pub char_end: usize,
    /// SHA-256 of [`Chunk::indexed_text`]: the embedding cache key.
    pub content_hash: String,
}

impl Chunk {
    /// Builds a chunk and computes its hash over the text that gets indexed.
    pub fn new(
        document: &Document,
        ordinal: u32,
        text: String,
        heading_path: Vec<String>,
        char_start: usize,
    ) -> Self {
        let char_end = char_start + text.chars().count();
        let mut chunk = Chunk {
            id: format!("{}#{ordinal}", document.id),
            document_id: document.id.clone(),
            ordinal,
            text,
            heading_path,
            char_start,
            char_end,
            content_hash: String::new(),
        };
        chunk.content_hash = sha256_hex(&chunk.indexed_text(&document.title));
        chunk
    }

    /// The text that is embedded and keyword-indexed: the document title and
    /// heading path give a passage the context its own words often lack.
    pub fn indexed_text(&self, title: &str) -> String {
        let mut out = String::with_capacity(title.len() + self.text.len() + 64);
        if !title.is_empty() {
            out.push_str(title);
            out.push('\n');
        }
        let headings: Vec<&str> = self
            .heading_path
            .iter()
            .map(String::as_str)
            .filter(|h| *h != title)
            .collect();
        if !headings.is_empty() {
            out.push_str(&headings.join(" > "));
            out.push('\n');
        }
        out.push_str(&self.text);
        out
    }
}

/// Which retriever found a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Retriever {
    /// BM25 keyword search.
    Keyword,
    /// Nearest-neighbour search over embeddings.
    Vector,
}

/// The rank (from 1) and raw score a retriever gave a hit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetrieverRank {
    /// Which retriever.
    pub retriever: Retriever,
    /// 1-based rank in that retriever's list.
    pub rank: usize,
    /// The retriever's own score (BM25 or cosine).
    pub score: f32,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The matching passage.
    pub chunk: Chunk,
    /// Its document.
    pub document: DocumentSummary,
    /// The retrievers that found it, with their ranks.
    pub retrievers: Vec<RetrieverRank>,
    /// The fused (reciprocal rank) score that orders hits.
    pub fused_score: f32,
    /// Cosine similarity of query and chunk, clamped to 0..=1, for people
    /// and for the "no good evidence" threshold.
    pub relevance_score: f32,
}

/// A cited source of an answer (the seed's `sources[]` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// Document title.
    pub title: String,
    /// Link to the original.
    pub url: String,
    /// Kind of source.
    pub source_type: SourceType,
    /// Relevance of the best cited passage, 0..=1.
    pub relevance_score: f32,
    /// The passage that supports the answer.
    pub snippet: String,
    /// The cited document.
    pub document_id: String,
    /// The cited chunk.
    pub chunk_id: String,
}

impl Citation {
    /// A citation of `hit`.
    pub fn from_hit(hit: &Hit) -> Self {
        Citation {
            title: hit.document.title.clone(),
            url: hit.document.url.clone(),
            source_type: hit.document.source,
            relevance_score: hit.relevance_score,
            snippet: snippet(&hit.chunk.text, 300),
            document_id: hit.document.id.clone(),
            chunk_id: hit.chunk.id.clone(),
        }
    }
}

/// An answer with the sources it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer text; `[n]` markers refer to `citations[n-1]`.
    pub text: String,
    /// Every cited source, each one of the hits the answer was built from.
    pub citations: Vec<Citation>,
    /// The question as asked.
    pub query: String,
    /// When the answer was produced.
    pub timestamp: DateTime<Utc>,
    /// False when the hits held no good evidence and the text says so.
    pub grounded: bool,
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// SHA-256 of `text` as lower-case hex.
pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// At most `max_chars` characters of `text`, cut at a word boundary, with
/// whitespace runs collapsed so a snippet reads as one line.
pub fn snippet(text: &str, max_chars: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max_chars {
        return collapsed;
    }
    let cut: String = collapsed.chars().take(max_chars).collect();
    let trimmed = match cut.rfind(' ') {
        Some(pos) if pos > max_chars / 2 => &cut[..pos],
        _ => cut.as_str(),
    };
    format!("{}…", trimmed.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_scheme() {
        let doc = Document::new(SourceType::Files, "docs", "a/b.md", "T", "body");
        assert_eq!(doc.id, "files:docs:a/b.md");
        let chunk = Chunk::new(&doc, 3, "body".into(), vec![], 0);
        assert_eq!(chunk.id, "files:docs:a/b.md#3");
        assert_eq!(chunk.char_end, 4);
    }

    #[test]
    fn hash_changes_with_content_only() {
        let a = Document::new(SourceType::Files, "docs", "a", "T", "body");
        let b = Document::new(SourceType::Files, "docs", "a", "T", "body");
        assert_eq!(a.content_hash, b.content_hash);
        let mut c = b.clone();
        c.body.push('!');
        assert_ne!(a.content_hash, c.compute_hash());
        let mut d = b.clone();
        d.metadata.insert("space".into(), "OPS".into());
        assert_ne!(a.content_hash, d.compute_hash());
    }

    #[test]
    fn indexed_text_prepends_title_and_headings() {
        let doc = Document::new(SourceType::Files, "d", "x", "Runbook", "");
        let chunk = Chunk::new(
            &doc,
            0,
            "Do it.".into(),
            vec!["Runbook".into(), "Steps".into()],
            0,
        );
        assert_eq!(chunk.indexed_text("Runbook"), "Runbook\nSteps\nDo it.");
    }

    #[test]
    fn source_type_round_trips() {
        for t in SourceType::ALL {
            assert_eq!(t.as_str().parse::<SourceType>().ok(), Some(t));
        }
        assert!("wiki".parse::<SourceType>().is_err());
    }

    #[test]
    fn snippet_cuts_at_words() {
        let s = snippet("alpha   beta\ngamma delta epsilon", 17);
        assert_eq!(s, "alpha beta gamma…");
        assert_eq!(snippet("short", 10), "short");
    }
}
