//! Ranking metrics computed the standard way (as BEIR / pytrec_eval do):
//! graded nDCG with a log2 discount and linear gains, recall at a cut-off,
//! and reciprocal rank of the first relevant document.

use std::collections::HashMap;

/// Graded relevance of documents for one query; zero grades are not relevant.
pub type Judgements = HashMap<String, u32>;

/// nDCG@k: DCG of the ranking over DCG of the ideal ranking.
pub fn ndcg_at(ranking: &[String], judged: &Judgements, k: usize) -> f64 {
    let dcg: f64 = ranking
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, doc)| f64::from(judged.get(doc).copied().unwrap_or(0)) / (i as f64 + 2.0).log2())
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|g| *g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, g)| f64::from(*g) / (i as f64 + 2.0).log2())
        .sum();
    if idcg == 0.0 {
        0.0
    } else {
        dcg / idcg
    }
}

/// Recall@k: share of the relevant documents found in the first k.
pub fn recall_at(ranking: &[String], judged: &Judgements, k: usize) -> f64 {
    let relevant = judged.values().filter(|g| **g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranking
        .iter()
        .take(k)
        .filter(|doc| judged.get(*doc).is_some_and(|g| *g > 0))
        .count();
    found as f64 / relevant as f64
}

/// MRR@k: 1 / rank of the first relevant document within the first k.
pub fn mrr_at(ranking: &[String], judged: &Judgements, k: usize) -> f64 {
    ranking
        .iter()
        .take(k)
        .position(|doc| judged.get(doc).is_some_and(|g| *g > 0))
        .map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
}

/// Mean of per-query values (0 for none).
pub fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The value at quantile `q` (0..=1) of `values`, by nearest rank.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hand_computed_example() {
        // Relevant: a (grade 2), b (grade 1). Ranking: x, a, b.
        let judged: Judgements = [
            ("a".to_string(), 2),
            ("b".to_string(), 1),
            ("z".to_string(), 0),
        ]
        .into();
        let r = ranking(&["x", "a", "b"]);
        // DCG = 2/log2(3) + 1/log2(4) = 1.261860 + 0.5; IDCG = 2/1 + 1/log2(3) = 2.630930.
        let expected = (2.0 / 3f64.log2() + 0.5) / (2.0 + 1.0 / 3f64.log2());
        assert!((ndcg_at(&r, &judged, 10) - expected).abs() < 1e-12);
        assert!((ndcg_at(&r, &judged, 10) - 0.669_672).abs() < 1e-6);
        // At k = 2 only `a` counts: DCG = 2/log2(3); IDCG = 2 + 1/log2(3).
        assert!(
            (ndcg_at(&r, &judged, 2) - (2.0 / 3f64.log2()) / (2.0 + 1.0 / 3f64.log2())).abs()
                < 1e-12
        );
        assert_eq!(recall_at(&r, &judged, 2), 0.5);
        assert_eq!(recall_at(&r, &judged, 100), 1.0);
        assert_eq!(mrr_at(&r, &judged, 10), 0.5);
        assert_eq!(mrr_at(&r, &judged, 1), 0.0);
        let perfect = ranking(&["a", "b"]);
        assert!((ndcg_at(&perfect, &judged, 10) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&[3.0], 0.99), 3.0);
    }
}
