//! Checks shared by the stores before anything is written, so a bad
//! batch is rejected whole and nothing already stored is touched.
// `validate` serves every store; the rest only the remote stores (cargo
// features `pgvector`, `aws-opensearch`), so a build without either keeps
// them compiled but unused.
#![cfg_attr(
    not(any(feature = "pgvector", feature = "aws-opensearch")),
    allow(dead_code, unused_imports)
)]

use std::collections::HashMap;

use crate::store::IndexedDocument;
use crate::{Error, Result};

/// Rejects a batch that would leave an index inconsistent: chunk/vector
/// count mismatch, foreign chunks, wrong dimension, NaN or infinity.
pub(crate) fn validate(documents: &[IndexedDocument], dimension: usize) -> Result<()> {
    for indexed in documents {
        let id = &indexed.document.id;
        if id.is_empty() {
            return Err(Error::InvalidInput("a document has an empty id".into()));
        }
        if indexed.chunks.len() != indexed.vectors.len() {
            return Err(Error::InvalidInput(format!(
                "document `{id}` has {} chunks but {} vectors",
                indexed.chunks.len(),
                indexed.vectors.len()
            )));
        }
        for (chunk, vector) in indexed.chunks.iter().zip(&indexed.vectors) {
            if chunk.document_id != *id {
                return Err(Error::InvalidInput(format!(
                    "chunk `{}` does not belong to document `{id}`",
                    chunk.id
                )));
            }
            if vector.len() != dimension {
                return Err(Error::InvalidInput(format!(
                    "vector of chunk `{}` has {} dimensions, the store holds {dimension}; \
                     a different embedding model needs a new index",
                    chunk.id,
                    vector.len()
                )));
            }
            if vector.iter().any(|x| !x.is_finite()) {
                return Err(Error::InvalidInput(format!(
                    "vector of chunk `{}` holds NaN or infinity",
                    chunk.id
                )));
            }
        }
    }
    Ok(())
}

/// The batch with one entry per document id, the last one winning, as if
/// the documents had been upserted one after another.
pub(crate) fn last_per_document(documents: &[IndexedDocument]) -> Vec<&IndexedDocument> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<&IndexedDocument> = Vec::new();
    for indexed in documents {
        match position.get(indexed.document.id.as_str()) {
            Some(&at) => unique[at] = indexed,
            None => {
                position.insert(indexed.document.id.as_str(), unique.len());
                unique.push(indexed);
            }
        }
    }
    unique
}

/// Checks a query vector against the index dimension.
pub(crate) fn check_query(query: &[f32], dimension: usize) -> Result<()> {
    if query.len() != dimension {
        return Err(Error::InvalidInput(format!(
            "query vector has {} dimensions, the store holds {dimension}",
            query.len()
        )));
    }
    if query.iter().any(|x| !x.is_finite()) {
        return Err(Error::InvalidInput(
            "query vector holds NaN or infinity".into(),
        ));
    }
    Ok(())
}
