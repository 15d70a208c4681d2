//! The index definition: one record per chunk (`kind = chunk`, with the
//! `knn_vector`) and one per document (`kind = document`, for exact counts
//! of documents, including those without chunks).

use serde_json::{json, Value};

/// Vector similarity of the k-NN field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpaceType {
    /// Cosine similarity (`cosinesimil`; faiss needs OpenSearch 2.19+).
    Cosine,
    /// Inner product (`innerproduct`): equals cosine for the normalised
    /// vectors VaultIQ's embedders produce, on every faiss version.
    InnerProduct,
}

impl SpaceType {
    /// The OpenSearch name.
    pub fn as_str(self) -> &'static str {
        match self {
            SpaceType::Cosine => "cosinesimil",
            SpaceType::InnerProduct => "innerproduct",
        }
    }

    /// Turns an OpenSearch k-NN score back into the similarity, so stored
    /// hits carry the same cosine score as the other stores. See
    /// https://docs.opensearch.org/latest/vector-search/vector-search-techniques/approximate-knn/#spaces
    pub(crate) fn similarity(self, score: f64) -> f32 {
        let similarity = match self {
            SpaceType::Cosine => 2.0 * score - 1.0,
            SpaceType::InnerProduct if score >= 1.0 => score - 1.0,
            SpaceType::InnerProduct if score > 0.0 => 1.0 - 1.0 / score,
            SpaceType::InnerProduct => -1.0,
        };
        similarity as f32
    }
}

/// HNSW settings of the k-NN field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hnsw {
    pub space: SpaceType,
    pub m: u32,
    pub ef_construction: u32,
}

/// The create-index body.
pub(crate) fn index_body(dimension: usize, hnsw: Hnsw) -> Value {
    let stored = json!({"type": "keyword", "index": false, "doc_values": false});
    json!({
        "settings": {"index": {"knn": true}},
        "mappings": {
            "dynamic_templates": [{
                "metadata_as_keywords": {
                    "path_match": "metadata.*",
                    "mapping": {"type": "keyword"}
                }
            }],
            "properties": {
                "kind": {"type": "keyword"},
                "chunk_id": {"type": "keyword"},
                "document_id": {"type": "keyword"},
                "generation": {"type": "long"},
                "source": {"type": "keyword"},
                "source_name": {"type": "keyword"},
                "updated_ms": {"type": "long"},
                "acl": {"type": "keyword"},
                "acl_public": {"type": "boolean"},
                "metadata": {"type": "object", "dynamic": true},
                "search_text": {"type": "text", "analyzer": "english"},
                "text": {"type": "text", "index": false},
                "title": {"type": "text", "index": false},
                "url": stored.clone(),
                "heading_path": stored.clone(),
                "content_hash": stored.clone(),
                "updated_at": stored,
                "ordinal": {"type": "integer"},
                "char_start": {"type": "long", "index": false},
                "char_end": {"type": "long", "index": false},
                "embedding": {
                    "type": "knn_vector",
                    "dimension": dimension,
                    "method": {
                        "name": "hnsw",
                        "engine": "faiss",
                        "space_type": hnsw.space.as_str(),
                        "parameters": {"m": hnsw.m, "ef_construction": hnsw.ef_construction}
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_map_back_to_similarity() {
        let ip = SpaceType::InnerProduct;
        assert!((ip.similarity(1.8) - 0.8).abs() < 1e-6);
        assert!((ip.similarity(1.0 / 1.5) + 0.5).abs() < 1e-6);
        assert!((SpaceType::Cosine.similarity(0.9) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn mapping_names_the_vector_method() {
        let body = index_body(
            384,
            Hnsw {
                space: SpaceType::Cosine,
                m: 16,
                ef_construction: 128,
            },
        );
        let field = &body["mappings"]["properties"]["embedding"];
        assert_eq!(field["dimension"], 384);
        assert_eq!(field["method"]["engine"], "faiss");
        assert_eq!(field["method"]["space_type"], "cosinesimil");
    }
}
