//! Hybrid ranking: reciprocal rank fusion of keyword and vector lists.
//!
//! RRF (Cormack et al., 2009) needs no score calibration between BM25 and
//! cosine, which differ per engine; ranks are comparable everywhere.

use std::collections::HashMap;

use crate::store::StoredHit;
use crate::{Hit, Retriever, RetrieverRank};

/// The RRF constant; 60 is the value of the original paper and of most engines.
pub const DEFAULT_RRF_K: f32 = 60.0;

/// Fuses ranked lists into hits ordered by RRF score, at most `limit`.
/// `query_vector` gives every hit its relevance score (cosine, 0..=1).
pub fn fuse(
    lists: Vec<(Retriever, Vec<StoredHit>)>,
    query_vector: Option<&[f32]>,
    rrf_k: f32,
    limit: usize,
) -> Vec<Hit> {
    let mut by_chunk: HashMap<String, Hit> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for (retriever, list) in lists {
        for (index, stored) in list.into_iter().enumerate() {
            let rank = index + 1;
            let contribution = 1.0 / (rrf_k + rank as f32);
            let entry = RetrieverRank {
                retriever,
                rank,
                score: stored.score,
            };
            match by_chunk.get_mut(&stored.chunk.id) {
                Some(hit) => {
                    hit.fused_score += contribution;
                    hit.retrievers.push(entry);
                }
                None => {
                    let relevance = match (query_vector, stored.vector.as_deref()) {
                        (Some(q), Some(v)) => cosine(q, v).clamp(0.0, 1.0),
                        _ => 0.0,
                    };
                    order.push(stored.chunk.id.clone());
                    by_chunk.insert(
                        stored.chunk.id.clone(),
                        Hit {
                            chunk: stored.chunk,
                            document: stored.document,
                            retrievers: vec![entry],
                            fused_score: contribution,
                            relevance_score: relevance,
                        },
                    );
                }
            }
        }
    }
    let mut hits: Vec<Hit> = order
        .into_iter()
        .filter_map(|id| by_chunk.remove(&id))
        .collect();
    // Stable sort: ties keep first-seen order, so results are deterministic.
    hits.sort_by(|a, b| b.fused_score.total_cmp(&a.fused_score));
    hits.truncate(limit);
    hits
}

/// Cosine similarity; vectors need not be normalised.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chunk, Document, SourceType};

    fn stored(id: &str, score: f32, vector: Vec<f32>) -> StoredHit {
        let doc = Document::new(SourceType::Files, "t", id, id, "");
        StoredHit {
            chunk: Chunk::new(&doc, 0, id.to_string(), vec![], 0),
            document: doc.summary(),
            score,
            vector: Some(vector),
        }
    }

    #[test]
    fn rrf_rewards_agreement() {
        let keyword = vec![
            stored("a", 9.0, vec![1.0, 0.0]),
            stored("b", 5.0, vec![0.0, 1.0]),
        ];
        let vector = vec![
            stored("b", 0.9, vec![0.0, 1.0]),
            stored("c", 0.8, vec![0.6, 0.8]),
        ];
        let hits = fuse(
            vec![(Retriever::Keyword, keyword), (Retriever::Vector, vector)],
            Some(&[0.0, 1.0]),
            DEFAULT_RRF_K,
            10,
        );
        let ids: Vec<&str> = hits.iter().map(|h| h.document.title.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        let b = &hits[0];
        assert!((b.fused_score - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(b.retrievers.len(), 2);
        assert!((b.relevance_score - 1.0).abs() < 1e-6);
        assert_eq!(hits[1].relevance_score, 0.0);
        assert!((hits[2].relevance_score - 0.8).abs() < 1e-6);
    }

    #[test]
    fn limit_truncates() {
        let list = (0..5)
            .map(|i| stored(&i.to_string(), 1.0, vec![1.0]))
            .collect();
        assert_eq!(
            fuse(vec![(Retriever::Vector, list)], None, 60.0, 2).len(),
            2
        );
    }
}
