//! The approximate vector index of the embedded store, used above a size
//! threshold: an HNSW graph over int8 codes held in memory (about 390
//! bytes of codes and 130 bytes of links per 384-d chunk), whose candidates
//! the caller rescores with the exact f32 vectors read from SQLite.
//! Derived from SQLite like the exact matrix; persisted to its own file
//! (see [`persist`]) so reopening a large store does not rebuild it.

mod graph;
pub(super) mod persist;
mod quantise;

use std::collections::{HashMap, HashSet};

use crate::SourceType;
use graph::{Graph, Probe, Scored};

pub(crate) use graph::GraphParams;

/// Which chunks a search may return.
#[derive(Debug, Clone, Copy)]
pub(super) enum AnnFilter<'a> {
    All,
    Sources(&'a [SourceType]),
    Rowids(&'a HashSet<i64>),
}

/// Rowid-addressed HNSW index with tombstones for removed chunks.
#[derive(Debug)]
pub(super) struct AnnIndex {
    graph: Graph,
    rowids: Vec<i64>,
    sources: Vec<SourceType>,
    deleted: Vec<bool>,
    slot_of: HashMap<i64, u32>,
    live_by_source: [usize; SourceType::ALL.len()],
}

fn source_index(source: SourceType) -> usize {
    SourceType::ALL
        .iter()
        .position(|s| *s == source)
        .unwrap_or(SourceType::ALL.len() - 1)
}

impl AnnIndex {
    pub(super) fn new(dimension: usize, params: GraphParams) -> Self {
        AnnIndex {
            graph: Graph::new(dimension, params),
            rowids: Vec::new(),
            sources: Vec::new(),
            deleted: Vec::new(),
            slot_of: HashMap::new(),
            live_by_source: [0; SourceType::ALL.len()],
        }
    }

    /// Live (not removed) chunks.
    pub(super) fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Removed chunks whose nodes still route searches.
    pub(super) fn tombstones(&self) -> usize {
        self.rowids.len() - self.slot_of.len()
    }

    /// Adds (or replaces) the vector of chunk `rowid`.
    pub(super) fn insert(&mut self, rowid: i64, source: SourceType, vector: &[f32]) {
        self.remove(rowid);
        let slot = self.graph.insert(vector);
        self.track(slot, rowid, source);
    }

    fn track(&mut self, slot: u32, rowid: i64, source: SourceType) {
        debug_assert_eq!(slot as usize, self.rowids.len());
        self.rowids.push(rowid);
        self.sources.push(source);
        self.deleted.push(false);
        self.slot_of.insert(rowid, slot);
        self.live_by_source[source_index(source)] += 1;
    }

    /// Tombstones chunk `rowid`: it is never returned again.
    pub(super) fn remove(&mut self, rowid: i64) {
        if let Some(slot) = self.slot_of.remove(&rowid) {
            self.deleted[slot as usize] = true;
            self.live_by_source[source_index(self.sources[slot as usize])] -= 1;
        }
    }

    /// True when tombstones are a quarter of the nodes: searches then
    /// walk too many dead nodes and the graph is worth rebuilding.
    pub(super) fn needs_compaction(&self) -> bool {
        self.rowids.len() >= 64 && self.tombstones() * 4 >= self.rowids.len()
    }

    /// A fresh graph of the live nodes, built from the codes in memory.
    pub(super) fn compacted(&self) -> AnnIndex {
        let mut fresh = AnnIndex::new(self.graph.dimension, self.graph.params);
        for (slot, &rowid) in self.rowids.iter().enumerate() {
            if self.deleted[slot] {
                continue;
            }
            let (codes, scale) = self.graph.node(slot as u32);
            let new_slot = fresh.graph.insert_codes(codes, scale);
            fresh.track(new_slot, rowid, self.sources[slot]);
        }
        fresh
    }

    /// Up to `want` candidate rowids for `query`, best first by their
    /// approximate (int8) similarity. `ef` is the search beam width.
    pub(super) fn candidates(
        &self,
        query: &[f32],
        want: usize,
        ef: usize,
        filter: AnnFilter<'_>,
    ) -> Vec<i64> {
        if want == 0 || query.len() != self.graph.dimension {
            return Vec::new();
        }
        let probe = Probe::new(query);
        let allowed = match filter {
            AnnFilter::All => self.len(),
            AnnFilter::Sources(sources) => sources
                .iter()
                .map(|s| self.live_by_source[source_index(*s)])
                .sum(),
            AnnFilter::Rowids(set) => set.len(),
        };
        if allowed == 0 {
            return Vec::new();
        }
        let ef = ef.max(want);
        // A filtered walk visits about ef / selectivity nodes at 2m links
        // each; scanning the allowed codes costs `allowed`. The two meet at
        // allowed = sqrt(ef * 2m * live): below it the exact scan wins.
        let walk_cost = (ef * 2 * self.graph.params.m * self.len().max(1)) as f64;
        let found = if filter_is_all(&filter) || (allowed as f64) > walk_cost.sqrt() {
            let accept = |slot: u32| self.accepts(slot, &filter);
            self.graph.search(&probe, ef, &accept)
        } else {
            self.scan(&probe, want, &filter)
        };
        found
            .into_iter()
            .take(want)
            .map(|s| self.rowids[s.1 as usize])
            .collect()
    }

    fn accepts(&self, slot: u32, filter: &AnnFilter<'_>) -> bool {
        let slot = slot as usize;
        if self.deleted[slot] {
            return false;
        }
        match filter {
            AnnFilter::All => true,
            AnnFilter::Sources(sources) => sources.contains(&self.sources[slot]),
            AnnFilter::Rowids(set) => set.contains(&self.rowids[slot]),
        }
    }

    /// Exact fallback for selective filters: score every allowed code.
    fn scan(&self, probe: &Probe, want: usize, filter: &AnnFilter<'_>) -> Vec<Scored> {
        let mut scored: Vec<Scored> = match filter {
            AnnFilter::Rowids(set) => set
                .iter()
                .filter_map(|rowid| self.slot_of.get(rowid))
                .map(|&slot| Scored(self.graph.similarity(probe, slot), slot))
                .collect(),
            _ => (0..self.rowids.len() as u32)
                .filter(|&slot| self.accepts(slot, filter))
                .map(|slot| Scored(self.graph.similarity(probe, slot), slot))
                .collect(),
        };
        scored.sort_by(|a, b| b.cmp(a));
        scored.truncate(want);
        scored
    }
}

fn filter_is_all(filter: &AnnFilter<'_>) -> bool {
    matches!(filter, AnnFilter::All)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn unit(rng: &mut StdRng, dim: usize) -> Vec<f32> {
        let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect()
    }

    /// Clustered points: recall of the graph alone (no rescoring) against
    /// the exact top 10.
    #[test]
    fn graph_recall_against_exact_search() {
        let mut rng = StdRng::seed_from_u64(5);
        let dim = 48;
        let centres: Vec<Vec<f32>> = (0..20).map(|_| unit(&mut rng, dim)).collect();
        let mut index = AnnIndex::new(dim, GraphParams::default());
        let mut all = Vec::new();
        for i in 0..3000i64 {
            let c = &centres[i as usize % centres.len()];
            let noise = unit(&mut rng, dim);
            let v: Vec<f32> = c.iter().zip(&noise).map(|(a, b)| a + 0.6 * b).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            let v: Vec<f32> = v.into_iter().map(|x| x / norm).collect();
            index.insert(i, SourceType::Files, &v);
            all.push(v);
        }
        let mut hits = 0;
        for q in 0..50 {
            let query = &all[q * 37];
            let mut exact: Vec<(f32, i64)> = all
                .iter()
                .enumerate()
                .map(|(i, v)| (v.iter().zip(query).map(|(a, b)| a * b).sum(), i as i64))
                .collect();
            exact.sort_by(|a, b| b.0.total_cmp(&a.0));
            let truth: HashSet<i64> = exact.iter().take(10).map(|e| e.1).collect();
            let found = index.candidates(query, 40, 64, AnnFilter::All);
            hits += found.iter().filter(|r| truth.contains(r)).count();
        }
        let recall = hits as f64 / 500.0;
        assert!(recall >= 0.95, "recall@10 within 40 candidates: {recall}");
    }

    #[test]
    fn tombstones_filters_and_compaction() {
        let mut rng = StdRng::seed_from_u64(6);
        let mut index = AnnIndex::new(16, GraphParams::default());
        let vectors: Vec<Vec<f32>> = (0..400).map(|_| unit(&mut rng, 16)).collect();
        for (i, v) in vectors.iter().enumerate() {
            let source = if i % 10 == 0 {
                SourceType::Jira
            } else {
                SourceType::Files
            };
            index.insert(i as i64, source, v);
        }
        let query = &vectors[7];
        assert_eq!(index.candidates(query, 1, 32, AnnFilter::All), [7]);
        index.remove(7);
        assert!(!index.candidates(query, 50, 64, AnnFilter::All).contains(&7));

        let jira = index.candidates(query, 100, 64, AnnFilter::Sources(&[SourceType::Jira]));
        assert_eq!(jira.len(), 40, "selective filter falls back to a full scan");
        assert!(jira.iter().all(|r| r % 10 == 0));

        let set: HashSet<i64> = [3, 5, 7].into_iter().collect();
        let mut some = index.candidates(query, 10, 64, AnnFilter::Rowids(&set));
        some.sort();
        assert_eq!(some, [3, 5]);

        for i in 0..150 {
            index.remove(i);
        }
        assert!(index.needs_compaction());
        let fresh = index.compacted();
        assert_eq!(fresh.len(), 250);
        assert_eq!(fresh.tombstones(), 0);
        assert_eq!(
            fresh.candidates(&vectors[300], 1, 32, AnnFilter::All),
            [300]
        );
    }
}
