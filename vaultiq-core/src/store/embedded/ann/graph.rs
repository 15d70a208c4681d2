//! A hierarchical navigable small world graph (Malkov & Yashunin, 2016)
//! over int8 codes, addressed by dense slot numbers. It knows nothing of
//! chunks: the caller maps slots to rowids and decides which slots a
//! search may return (deleted ones, filters).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use super::quantise::{dot_i8, quantise_into};

/// Construction and search settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GraphParams {
    /// Links per node on the upper layers (twice that on layer 0).
    pub m: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
}

impl Default for GraphParams {
    fn default() -> Self {
        GraphParams {
            m: 16,
            ef_construction: 128,
        }
    }
}

/// A query (or a node being inserted) in code form.
pub(super) struct Probe {
    codes: Vec<i8>,
    scale: f32,
}

impl Probe {
    pub(super) fn new(vector: &[f32]) -> Self {
        let mut codes = Vec::with_capacity(vector.len());
        let scale = quantise_into(vector, &mut codes);
        Probe { codes, scale }
    }
}

/// The graph. Slots are appended, never reused; removal is the caller's
/// business (tombstones), so links stay valid.
#[derive(Debug)]
pub(super) struct Graph {
    pub(super) dimension: usize,
    pub(super) params: GraphParams,
    pub(super) codes: Vec<i8>,
    pub(super) scales: Vec<f32>,
    pub(super) levels: Vec<u8>,
    /// Layer-0 links, `2 m` per slot; `base_len[slot]` of them are used.
    pub(super) base_links: Vec<u32>,
    pub(super) base_len: Vec<u8>,
    /// Links on layers 1..=level, for the few slots that reach them.
    pub(super) upper_links: Vec<Vec<Vec<u32>>>,
    pub(super) entry: Option<u32>,
    pub(super) rng: u64,
    visited: Mutex<Visited>,
}

/// Slots seen by one search, cleared in O(1) by bumping the epoch.
#[derive(Debug, Default)]
struct Visited {
    marks: Vec<u32>,
    epoch: u32,
}

impl Visited {
    fn start(&mut self, len: usize) {
        if self.marks.len() < len {
            self.marks.resize(len, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.epoch = 1;
        }
    }

    /// True the first time `slot` is seen in this search.
    fn first_visit(&mut self, slot: u32) -> bool {
        let mark = &mut self.marks[slot as usize];
        if *mark == self.epoch {
            false
        } else {
            *mark = self.epoch;
            true
        }
    }
}

/// A slot with its similarity to the probe; ordered by similarity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scored(pub f32, pub u32);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

/// Same as [`Scored`] with the order flipped, so the worst sits on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Worst(std::cmp::Reverse<Scored>);

impl Graph {
    pub(super) fn new(dimension: usize, params: GraphParams) -> Self {
        Graph {
            dimension,
            params,
            codes: Vec::new(),
            scales: Vec::new(),
            levels: Vec::new(),
            base_links: Vec::new(),
            base_len: Vec::new(),
            upper_links: Vec::new(),
            entry: None,
            rng: 0x9E37_79B9_7F4A_7C15,
            visited: Mutex::new(Visited::default()),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.scales.len()
    }

    fn base_capacity(&self) -> usize {
        self.params.m * 2
    }

    fn code(&self, slot: u32) -> &[i8] {
        let start = slot as usize * self.dimension;
        &self.codes[start..start + self.dimension]
    }

    pub(super) fn similarity(&self, probe: &Probe, slot: u32) -> f32 {
        dot_i8(&probe.codes, self.code(slot)) as f32 * probe.scale * self.scales[slot as usize]
    }

    fn slot_similarity(&self, a: u32, b: u32) -> f32 {
        dot_i8(self.code(a), self.code(b)) as f32
            * self.scales[a as usize]
            * self.scales[b as usize]
    }

    fn links(&self, slot: u32, layer: usize) -> &[u32] {
        if layer == 0 {
            let start = slot as usize * self.base_capacity();
            &self.base_links[start..start + self.base_len[slot as usize] as usize]
        } else {
            self.upper_links[slot as usize]
                .get(layer - 1)
                .map_or(&[][..], Vec::as_slice)
        }
    }

    fn set_links(&mut self, slot: u32, layer: usize, links: &[u32]) {
        if layer == 0 {
            let capacity = self.base_capacity();
            let start = slot as usize * capacity;
            let used = links.len().min(capacity);
            self.base_links[start..start + used].copy_from_slice(&links[..used]);
            self.base_len[slot as usize] = used as u8;
        } else if let Some(list) = self.upper_links[slot as usize].get_mut(layer - 1) {
            list.clear();
            list.extend_from_slice(links);
        }
    }

    /// Layer count of a new node: geometric with ratio 1/m, as in the paper.
    fn draw_level(&mut self) -> u8 {
        // xorshift64*: deterministic, so a rebuilt graph is the same graph.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let uniform = (bits as f64 + 1.0) / (1u64 << 53) as f64;
        let level = -uniform.ln() / (self.params.m as f64).ln();
        level.min(15.0) as u8
    }

    fn top_level(&self) -> usize {
        self.entry.map_or(0, |e| self.levels[e as usize] as usize)
    }

    /// Appends a node for `vector` and links it in; returns its slot.
    pub(super) fn insert(&mut self, vector: &[f32]) -> u32 {
        let probe = Probe::new(vector);
        self.insert_codes(&probe.codes, probe.scale)
    }

    /// Appends a node from existing codes (compaction, loading).
    pub(super) fn insert_codes(&mut self, codes: &[i8], scale: f32) -> u32 {
        let slot = self.len() as u32;
        let level = self.draw_level();
        self.codes.extend_from_slice(codes);
        self.scales.push(scale);
        self.levels.push(level);
        self.base_links
            .extend(std::iter::repeat_n(0u32, self.base_capacity()));
        self.base_len.push(0);
        self.upper_links.push(vec![Vec::new(); level as usize]);
        let Some(entry) = self.entry else {
            self.entry = Some(slot);
            return slot;
        };
        let probe = Probe {
            codes: codes.to_vec(),
            scale,
        };
        let top = self.top_level();
        let mut nearest = Scored(self.similarity(&probe, entry), entry);
        for layer in (level as usize + 1..=top).rev() {
            nearest = self.greedy(&probe, nearest, layer);
        }
        let mut entries = vec![nearest];
        for layer in (0..=(level as usize).min(top)).rev() {
            let found =
                self.search_layer(&probe, &entries, self.params.ef_construction, layer, &|s| {
                    s != slot
                });
            let cap = if layer == 0 {
                self.base_capacity()
            } else {
                self.params.m
            };
            let chosen = self.select_diverse(&found, self.params.m.min(cap));
            self.set_links(slot, layer, &chosen);
            for &neighbour in &chosen {
                self.link_back(neighbour, slot, layer, cap);
            }
            if !found.is_empty() {
                entries = found;
            }
        }
        if level as usize > top {
            self.entry = Some(slot);
        }
        slot
    }

    /// Adds `slot` to `neighbour`'s links, re-pruning when they are full.
    fn link_back(&mut self, neighbour: u32, slot: u32, layer: usize, cap: usize) {
        let current = self.links(neighbour, layer);
        if current.contains(&slot) {
            return;
        }
        if current.len() < cap {
            let mut links = current.to_vec();
            links.push(slot);
            self.set_links(neighbour, layer, &links);
            return;
        }
        let mut candidates: Vec<Scored> = current
            .iter()
            .chain(std::iter::once(&slot))
            .map(|&s| Scored(self.slot_similarity(neighbour, s), s))
            .collect();
        candidates.sort_by(|a, b| b.cmp(a));
        let chosen = self.select_diverse(&candidates, cap);
        self.set_links(neighbour, layer, &chosen);
    }

    /// The paper's neighbour heuristic: keep a candidate only if it is
    /// closer to the node than to every neighbour already kept, so links
    /// point in different directions and clusters stay connected.
    /// `candidates` are best first.
    fn select_diverse(&self, candidates: &[Scored], m: usize) -> Vec<u32> {
        let mut chosen: Vec<u32> = Vec::with_capacity(m);
        for &Scored(similarity, candidate) in candidates {
            if chosen.len() >= m {
                break;
            }
            if chosen
                .iter()
                .all(|&kept| self.slot_similarity(candidate, kept) < similarity)
            {
                chosen.push(candidate);
            }
        }
        chosen
    }

    fn greedy(&self, probe: &Probe, mut nearest: Scored, layer: usize) -> Scored {
        loop {
            let mut moved = false;
            for &next in self.links(nearest.1, layer) {
                let similarity = self.similarity(probe, next);
                if similarity > nearest.0 {
                    nearest = Scored(similarity, next);
                    moved = true;
                }
            }
            if !moved {
                return nearest;
            }
        }
    }

    /// Beam search of one layer. Every reachable slot may be walked
    /// through, but only slots `accept`s are returned: filtered traversal.
    /// Returns up to `ef` accepted slots, best first.
    fn search_layer(
        &self,
        probe: &Probe,
        entries: &[Scored],
        ef: usize,
        layer: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<Scored> {
        let mut visited = match self.visited.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        visited.start(self.len());
        let mut candidates: BinaryHeap<Scored> = BinaryHeap::new();
        let mut results: BinaryHeap<Worst> = BinaryHeap::with_capacity(ef + 1);
        for &entry in entries {
            if visited.first_visit(entry.1) {
                candidates.push(entry);
                if accept(entry.1) {
                    results.push(Worst(std::cmp::Reverse(entry)));
                    if results.len() > ef {
                        results.pop();
                    }
                }
            }
        }
        while let Some(current) = candidates.pop() {
            let worst = results.peek().map(|w| w.0 .0 .0);
            if results.len() >= ef && worst.is_some_and(|w| current.0 < w) {
                break;
            }
            for &next in self.links(current.1, layer) {
                if !visited.first_visit(next) {
                    continue;
                }
                let similarity = self.similarity(probe, next);
                let worst = results.peek().map(|w| w.0 .0 .0);
                if results.len() < ef || worst.is_some_and(|w| similarity > w) {
                    let scored = Scored(similarity, next);
                    candidates.push(scored);
                    if accept(next) {
                        results.push(Worst(std::cmp::Reverse(scored)));
                        if results.len() > ef {
                            results.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<Scored> = results.into_iter().map(|w| w.0 .0).collect();
        out.sort_by(|a, b| b.cmp(a));
        out
    }

    /// Up to `ef` accepted slots most similar to `probe`, best first.
    pub(super) fn search(
        &self,
        probe: &Probe,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<Scored> {
        let Some(entry) = self.entry else {
            return Vec::new();
        };
        let mut nearest = Scored(self.similarity(probe, entry), entry);
        for layer in (1..=self.top_level()).rev() {
            nearest = self.greedy(probe, nearest, layer);
        }
        self.search_layer(probe, &[nearest], ef, 0, accept)
    }

    /// Codes and scale of a slot, to copy it into a new graph.
    pub(super) fn node(&self, slot: u32) -> (&[i8], f32) {
        (self.code(slot), self.scales[slot as usize])
    }
}
