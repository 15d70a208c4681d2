//! The JSON shapes of the HTTP contract (`POST /api/query`,
//! `GET /api/sources`, `GET /health`), shared by the CLI, the server and
//! the Python bindings so every interface prints exactly the same fields.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::{Answer, Hit, SourceType};

/// RFC 3339 UTC with a `Z`, second precision: `2024-01-15T10:30:00Z`.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Scores are shown to people: four decimals are plenty.
fn round4(x: f32) -> f64 {
    (f64::from(x) * 10_000.0).round() / 10_000.0
}

/// One entry of `sources[]` in a query response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceJson {
    /// Document title.
    pub title: String,
    /// Link to the original.
    pub url: String,
    /// `confluence`, `slack`, `jira`, `github`, `files` or `custom`.
    pub source_type: SourceType,
    /// 0..=1.
    pub relevance_score: f64,
    /// The supporting passage.
    pub snippet: String,
}

/// Body of a `POST /api/query` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResponse {
    /// The answer text.
    pub answer: String,
    /// The cited sources.
    pub sources: Vec<SourceJson>,
    /// The question as asked.
    pub query: String,
    /// When the answer was produced.
    pub timestamp: String,
}

impl From<&Answer> for QueryResponse {
    fn from(answer: &Answer) -> Self {
        QueryResponse {
            answer: answer.text.clone(),
            sources: answer
                .citations
                .iter()
                .map(|c| SourceJson {
                    title: c.title.clone(),
                    url: c.url.clone(),
                    source_type: c.source_type,
                    relevance_score: round4(c.relevance_score),
                    snippet: c.snippet.clone(),
                })
                .collect(),
            query: answer.query.clone(),
            timestamp: timestamp(answer.timestamp),
        }
    }
}

/// Body of a `GET /api/sources` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourcesResponse {
    /// Documents per source type.
    pub sources: BTreeMap<String, usize>,
    /// Sum of the counts.
    pub total_documents: usize,
    /// When the counts were taken.
    pub timestamp: String,
}

impl SourcesResponse {
    /// The response for these counts, stamped now.
    pub fn new(counts: &BTreeMap<SourceType, usize>) -> Self {
        SourcesResponse {
            sources: counts.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            total_documents: counts.values().sum(),
            timestamp: timestamp(Utc::now()),
        }
    }
}

/// One search hit: the `sources[]` fields plus ids and retrievers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HitJson {
    /// Document title.
    pub title: String,
    /// Link to the original.
    pub url: String,
    /// Kind of source.
    pub source_type: SourceType,
    /// 0..=1.
    pub relevance_score: f64,
    /// The passage.
    pub snippet: String,
    /// Document id.
    pub document_id: String,
    /// Chunk id.
    pub chunk_id: String,
    /// `keyword` and/or `vector`.
    pub retrievers: Vec<String>,
}

impl From<&Hit> for HitJson {
    fn from(hit: &Hit) -> Self {
        HitJson {
            title: hit.document.title.clone(),
            url: hit.document.url.clone(),
            source_type: hit.document.source,
            relevance_score: round4(hit.relevance_score),
            snippet: crate::snippet(&hit.chunk.text, 300),
            document_id: hit.document.id.clone(),
            chunk_id: hit.chunk.id.clone(),
            retrievers: hit
                .retrievers
                .iter()
                .map(|r| match r.retriever {
                    crate::Retriever::Keyword => "keyword".to_string(),
                    crate::Retriever::Vector => "vector".to_string(),
                })
                .collect(),
        }
    }
}

/// The JSON error body: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorBody,
}

/// Code and message of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `invalid_request`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn shapes_match_the_contract() {
        let answer = Answer {
            text: "Use the pipeline [1]".into(),
            citations: vec![crate::Citation {
                title: "Deploy".into(),
                url: "file:///d.md".into(),
                source_type: SourceType::Files,
                relevance_score: 0.923_456,
                snippet: "Use the pipeline".into(),
                document_id: "files:d:d.md".into(),
                chunk_id: "files:d:d.md#0".into(),
            }],
            query: "How to deploy?".into(),
            timestamp: Utc
                .with_ymd_and_hms(2024, 1, 15, 10, 30, 0)
                .single()
                .unwrap_or_default(),
            grounded: true,
        };
        let json = serde_json::to_value(QueryResponse::from(&answer)).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "answer": "Use the pipeline [1]",
                "sources": [{"title": "Deploy", "url": "file:///d.md", "source_type": "files",
                             "relevance_score": 0.9235, "snippet": "Use the pipeline"}],
                "query": "How to deploy?",
                "timestamp": "2024-01-15T10:30:00Z"
            })
        );
        let counts = BTreeMap::from([(SourceType::Slack, 2), (SourceType::Jira, 3)]);
        let sources = serde_json::to_value(SourcesResponse::new(&counts)).unwrap_or_default();
        assert_eq!(
            sources["sources"],
            serde_json::json!({"jira": 3, "slack": 2})
        );
        assert_eq!(sources["total_documents"], 5);
    }
}
