//! The in-memory vector matrix of the embedded store: an exact scan over
//! normalised vectors. Derived from SQLite on open; never the source of truth.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use crate::SourceType;

/// Row-major matrix of chunk vectors keyed by the chunk's SQLite rowid.
#[derive(Debug, Default)]
pub(super) struct VectorMatrix {
    dimension: usize,
    rowids: Vec<i64>,
    sources: Vec<SourceType>,
    data: Vec<f32>,
    slot_of: HashMap<i64, usize>,
}

/// Which rows a scan may return.
pub(super) enum RowFilter<'a> {
    All,
    Sources(&'a [SourceType]),
    Rowids(&'a HashSet<i64>),
}

impl VectorMatrix {
    pub(super) fn new(dimension: usize) -> Self {
        VectorMatrix {
            dimension,
            ..Default::default()
        }
    }

    pub(super) fn len(&self) -> usize {
        self.rowids.len()
    }

    pub(super) fn insert(&mut self, rowid: i64, source: SourceType, vector: &[f32]) {
        debug_assert_eq!(vector.len(), self.dimension);
        if self.slot_of.contains_key(&rowid) {
            self.remove(rowid);
        }
        self.slot_of.insert(rowid, self.rowids.len());
        self.rowids.push(rowid);
        self.sources.push(source);
        self.data.extend_from_slice(vector);
    }

    pub(super) fn remove(&mut self, rowid: i64) {
        let Some(slot) = self.slot_of.remove(&rowid) else {
            return;
        };
        let last = self.rowids.len() - 1;
        if slot != last {
            let moved = self.rowids[last];
            self.rowids.swap(slot, last);
            self.sources.swap(slot, last);
            let dim = self.dimension;
            let (head, tail) = self.data.split_at_mut(last * dim);
            head[slot * dim..(slot + 1) * dim].copy_from_slice(&tail[..dim]);
            self.slot_of.insert(moved, slot);
        }
        self.rowids.pop();
        self.sources.pop();
        self.data.truncate(last * self.dimension);
    }

    /// Every row, in slot order.
    pub(super) fn rows(&self) -> impl Iterator<Item = (i64, SourceType, &[f32])> {
        self.rowids
            .iter()
            .zip(&self.sources)
            .zip(self.data.chunks_exact(self.dimension.max(1)))
            .map(|((rowid, source), row)| (*rowid, *source, row))
    }

    pub(super) fn vector(&self, rowid: i64) -> Option<&[f32]> {
        let slot = *self.slot_of.get(&rowid)?;
        Some(&self.data[slot * self.dimension..(slot + 1) * self.dimension])
    }

    /// The `k` rows with the highest dot product with `query`, best first.
    pub(super) fn top_k(&self, query: &[f32], k: usize, filter: RowFilter<'_>) -> Vec<(i64, f32)> {
        if k == 0 || query.len() != self.dimension {
            return Vec::new();
        }
        let mut heap: BinaryHeap<MinScored> = BinaryHeap::with_capacity(k + 1);
        for (slot, row) in self.data.chunks_exact(self.dimension).enumerate() {
            let allowed = match &filter {
                RowFilter::All => true,
                RowFilter::Sources(sources) => sources.contains(&self.sources[slot]),
                RowFilter::Rowids(set) => set.contains(&self.rowids[slot]),
            };
            if !allowed {
                continue;
            }
            let score = dot(query, row);
            if heap.len() < k {
                heap.push(MinScored(score, self.rowids[slot]));
            } else if heap.peek().is_some_and(|worst| score > worst.0) {
                heap.pop();
                heap.push(MinScored(score, self.rowids[slot]));
            }
        }
        let mut out: Vec<(i64, f32)> = heap.into_iter().map(|m| (m.1, m.0)).collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// Dot product written as eight independent lanes so the compiler emits
/// SIMD without `unsafe`.
pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut a_chunks = a.chunks_exact(8);
    let mut b_chunks = b.chunks_exact(8);
    for (x, y) in (&mut a_chunks).zip(&mut b_chunks) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    lanes.iter().sum::<f32>() + tail
}

/// Heap entry ordered so the worst score sits on top.
#[derive(Debug, PartialEq)]
struct MinScored(f32, i64);

impl Eq for MinScored {}

impl PartialOrd for MinScored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for MinScored {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_matches_brute_force_after_removals() {
        let mut m = VectorMatrix::new(3);
        let rows = [
            (1, [1.0, 0.0, 0.0]),
            (2, [0.0, 1.0, 0.0]),
            (3, [0.6, 0.8, 0.0]),
            (4, [0.0, 0.0, 1.0]),
        ];
        for (id, v) in rows {
            m.insert(id, SourceType::Files, &v);
        }
        m.remove(2);
        assert_eq!(m.len(), 3);
        let top = m.top_k(&[0.0, 1.0, 0.0], 2, RowFilter::All);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(m.vector(4), Some(&[0.0, 0.0, 1.0][..]));
        assert_eq!(m.vector(2), None);
    }

    #[test]
    fn filters_restrict_rows() {
        let mut m = VectorMatrix::new(2);
        m.insert(1, SourceType::Slack, &[1.0, 0.0]);
        m.insert(2, SourceType::Jira, &[0.9, 0.1]);
        let only = [SourceType::Jira];
        assert_eq!(m.top_k(&[1.0, 0.0], 5, RowFilter::Sources(&only))[0].0, 2);
        let set: HashSet<i64> = [1].into_iter().collect();
        assert_eq!(m.top_k(&[1.0, 0.0], 5, RowFilter::Rowids(&set)).len(), 1);
    }

    #[test]
    fn dot_handles_tails() {
        let a: Vec<f32> = (0..11).map(|i| i as f32).collect();
        let expected: f32 = a.iter().map(|x| x * x).sum();
        assert_eq!(dot(&a, &a), expected);
    }
}
