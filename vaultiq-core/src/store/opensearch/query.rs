//! Request bodies for searches and the parsing of their hits.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::store::{Filter, IndexedDocument, StoredHit};
use crate::{Chunk, Document, DocumentSummary, Error, Result};

/// Record kinds in the index.
pub(crate) const KIND_CHUNK: &str = "chunk";
pub(crate) const KIND_DOCUMENT: &str = "document";

/// The `filter` clauses of a [`Filter`], plus the record kind.
pub(crate) fn filter_clauses(filter: &Filter, kind: &str) -> Vec<Value> {
    let mut clauses = vec![json!({"term": {"kind": kind}})];
    if !filter.source_types.is_empty() {
        let sources: Vec<&str> = filter.source_types.iter().map(|s| s.as_str()).collect();
        clauses.push(json!({"terms": {"source": sources}}));
    }
    for (key, value) in &filter.metadata {
        clauses.push(json!({"term": {format!("metadata.{key}"): value}}));
    }
    if filter.updated_after.is_some() || filter.updated_before.is_some() {
        let mut range = serde_json::Map::new();
        if let Some(after) = filter.updated_after {
            range.insert("gte".into(), json!(after.timestamp_millis()));
        }
        if let Some(before) = filter.updated_before {
            range.insert("lt".into(), json!(before.timestamp_millis()));
        }
        clauses.push(json!({"range": {"updated_ms": range}}));
    }
    if let Some(principals) = &filter.principals {
        clauses.push(json!({"bool": {
            "should": [
                {"term": {"acl_public": true}},
                {"terms": {"acl": principals}}
            ],
            "minimum_should_match": 1
        }}));
    }
    clauses
}

/// A k-NN query with efficient (in-graph) filtering.
pub(crate) fn knn_body(vector: &[f32], k: usize, filter: &Filter) -> Value {
    json!({
        "size": k,
        "query": {"knn": {"embedding": {
            "vector": vector,
            "k": k,
            "filter": {"bool": {"filter": filter_clauses(filter, KIND_CHUNK)}}
        }}}
    })
}

/// A BM25 `match` query (any term), ties broken by chunk id.
pub(crate) fn match_body(text: &str, k: usize, filter: &Filter) -> Value {
    json!({
        "size": k,
        "query": {"bool": {
            "must": [{"match": {"search_text": {"query": text}}}],
            "filter": filter_clauses(filter, KIND_CHUNK)
        }},
        "sort": ["_score", {"chunk_id": "asc"}]
    })
}

/// Document counts per source, exact: one record per document.
pub(crate) fn count_by_source_body() -> Value {
    json!({
        "size": 0,
        "query": {"term": {"kind": KIND_DOCUMENT}},
        "aggs": {"by_source": {"terms": {"field": "source", "size": 64}}}
    })
}

/// The stored record of a chunk.
pub(crate) fn chunk_record(
    indexed: &IndexedDocument,
    chunk: &Chunk,
    vector: &[f32],
    generation: i64,
) -> Value {
    let doc = &indexed.document;
    let mut record = document_fields(doc, generation);
    record["kind"] = json!(KIND_CHUNK);
    record["chunk_id"] = json!(chunk.id);
    record["ordinal"] = json!(chunk.ordinal);
    record["text"] = json!(chunk.text);
    record["heading_path"] = json!(chunk.heading_path);
    record["char_start"] = json!(chunk.char_start);
    record["char_end"] = json!(chunk.char_end);
    record["content_hash"] = json!(chunk.content_hash);
    record["search_text"] = json!(chunk.indexed_text(&doc.title));
    record["embedding"] = json!(vector);
    record
}

/// The stored record of a document (counts, deletes).
pub(crate) fn document_record(doc: &Document, generation: i64) -> Value {
    let mut record = document_fields(doc, generation);
    record["kind"] = json!(KIND_DOCUMENT);
    record["chunk_id"] = json!(format!("{}#document", doc.id));
    record["content_hash"] = json!(doc.content_hash);
    record
}

fn document_fields(doc: &Document, generation: i64) -> Value {
    json!({
        "document_id": doc.id,
        "generation": generation,
        "source": doc.source.as_str(),
        "source_name": doc.source_name,
        "title": doc.title,
        "url": doc.url,
        "updated_at": doc.updated_at.map(|t| t.to_rfc3339()),
        "updated_ms": doc.updated_at.map(|t| t.timestamp_millis()),
        "metadata": doc.metadata,
        "acl": doc.acl,
        "acl_public": doc.acl.is_none(),
    })
}

/// `hits.hits` of a search response.
pub(crate) fn hits_of(response: &Value) -> Result<&Vec<Value>> {
    response["hits"]["hits"]
        .as_array()
        .ok_or_else(|| Error::store("OpenSearch search response has no hits.hits array"))
}

/// One search hit as a [`StoredHit`]; `score` maps the engine's score.
pub(crate) fn stored_hit(hit: &Value, score: impl Fn(f64) -> f32) -> Result<StoredHit> {
    let source = &hit["_source"];
    let text = |field: &str| -> Result<String> {
        source[field].as_str().map(String::from).ok_or_else(|| {
            Error::Corrupt(format!("OpenSearch record lacks the text field `{field}`"))
        })
    };
    let number = |field: &str| -> Result<u64> {
        source[field].as_u64().ok_or_else(|| {
            Error::Corrupt(format!(
                "OpenSearch record lacks the number field `{field}`"
            ))
        })
    };
    let heading_path: Vec<String> = serde_json::from_value(source["heading_path"].clone())
        .map_err(|e| Error::Corrupt(format!("OpenSearch record heading_path: {e}")))?;
    let metadata: BTreeMap<String, String> = match &source["metadata"] {
        Value::Null => BTreeMap::new(),
        other => serde_json::from_value(other.clone())
            .map_err(|e| Error::Corrupt(format!("OpenSearch record metadata: {e}")))?,
    };
    let updated_at = match source["updated_at"].as_str() {
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|e| Error::Corrupt(format!("OpenSearch record updated_at: {e}")))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let vector: Option<Vec<f32>> = match &source["embedding"] {
        Value::Null => None,
        other => Some(
            serde_json::from_value(other.clone())
                .map_err(|e| Error::Corrupt(format!("OpenSearch record embedding: {e}")))?,
        ),
    };
    let document_id = text("document_id")?;
    Ok(StoredHit {
        chunk: Chunk {
            id: text("chunk_id")?,
            document_id: document_id.clone(),
            ordinal: u32::try_from(number("ordinal")?).unwrap_or(u32::MAX),
            text: text("text")?,
            heading_path,
            char_start: usize::try_from(number("char_start")?).unwrap_or(0),
            char_end: usize::try_from(number("char_end")?).unwrap_or(0),
            content_hash: text("content_hash")?,
        },
        document: DocumentSummary {
            id: document_id,
            source: text("source")?.parse()?,
            source_name: text("source_name")?,
            title: text("title")?,
            url: text("url")?,
            updated_at,
            metadata,
        },
        score: score(hit["_score"].as_f64().unwrap_or(0.0)),
        vector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceType;

    #[test]
    fn filters_become_clauses() {
        let mut filter = Filter {
            source_types: vec![SourceType::Jira],
            principals: Some(vec!["u:1".into()]),
            ..Filter::default()
        };
        filter.metadata.insert("project".into(), "OPS".into());
        let clauses = filter_clauses(&filter, KIND_CHUNK);
        assert_eq!(clauses.len(), 4);
        assert_eq!(clauses[2], json!({"term": {"metadata.project": "OPS"}}));
        let knn = knn_body(&[0.5, 0.5], 3, &filter);
        assert_eq!(knn["query"]["knn"]["embedding"]["k"], 3);
    }
}
