//! An in-memory BM25 inverted index over the chunks, searched with
//! MaxScore so a top-k query touches only the postings that can still
//! change the result.
//!
//! Why not SQLite FTS5: its `bm25()` is computed for every row that matches
//! any term of an OR query, so one common word in a question makes the cost
//! grow with the corpus (see `benches/src/bin/keyword-latency.rs` for the
//! measurement). Here each term knows an upper bound of what it can add to
//! a score; once the k-th best score is above the sum of the bounds of the
//! common terms, only the rare terms' postings are walked and the common
//! lists are probed by skipping.
//!
//! The index is derived: SQLite holds every chunk's text. A large store
//! saves the index beside its vector index ([`persist`]) and loads it on
//! open, catching up from the change log; otherwise, or when the file does
//! not match the store, it is rebuilt from SQLite. It is updated after
//! each committed batch.
//! Deleted chunks become tombstones that are compacted away once they make
//! up a quarter of the slots; document frequencies and lengths are
//! corrected at deletion, so an index that replaced documents ranks exactly
//! like one built fresh.

pub(super) mod persist;

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use super::keyword_analyzer::{self, Analyzer};
use crate::SourceType;

/// BM25 term-frequency saturation (the usual Lucene / FTS5 value).
const K1: f32 = 1.2;
/// BM25 length normalisation (the usual Lucene / FTS5 value).
const B: f32 = 0.75;
/// Postings per block of the block-max bounds.
const BLOCK: usize = 128;
/// Compaction never runs for fewer dead slots than this.
const MIN_DEAD_TO_COMPACT: usize = 1024;

/// Bounds of one block of postings: a score from the block is at most the
/// BM25 part of its largest frequency in its shortest chunk.
#[derive(Debug, Clone, Copy)]
struct BlockBound {
    max_tf: u32,
    min_len: u32,
}

/// One term's postings: slots in increasing order and their frequencies.
#[derive(Debug, Default)]
struct Postings {
    slots: Vec<u32>,
    tfs: Vec<u32>,
    blocks: Vec<BlockBound>,
    /// Live chunks holding the term (the list may still hold tombstones).
    live_df: u32,
}

impl Postings {
    fn push(&mut self, slot: u32, tf: u32, len: u32) {
        if self.slots.len() % BLOCK == 0 {
            self.blocks.push(BlockBound {
                max_tf: tf,
                min_len: len,
            });
        } else if let Some(block) = self.blocks.last_mut() {
            block.max_tf = block.max_tf.max(tf);
            block.min_len = block.min_len.min(len);
        }
        self.slots.push(slot);
        self.tfs.push(tf);
        self.live_df += 1;
    }
}

/// The keyword index; see the module docs.
#[derive(Debug, Default)]
pub(super) struct KeywordIndex {
    analyzer: Analyzer,
    /// Normalised word -> term id (`None`: stop word); stems each distinct
    /// word once, however often it occurs.
    words: HashMap<String, Option<u32>>,
    /// Stemmed term -> term id.
    terms: HashMap<String, u32>,
    postings: Vec<Postings>,
    /// Per slot: chunk rowid, source, token count, whether it is live.
    rowids: Vec<i64>,
    sources: Vec<SourceType>,
    lens: Vec<u32>,
    live: Vec<bool>,
    slot_of: HashMap<i64, u32>,
    live_count: usize,
    live_tokens: u64,
}

/// A posting-list cursor during one search.
struct Cursor<'a> {
    list: &'a Postings,
    pos: usize,
    idf: f32,
    bound: f32,
}

impl Cursor<'_> {
    fn slot(&self) -> Option<u32> {
        self.list.slots.get(self.pos).copied()
    }

    /// Moves to the first posting at or after `target` (galloping search).
    fn seek(&mut self, target: u32) {
        let slots = &self.list.slots;
        if self.pos >= slots.len() || slots[self.pos] >= target {
            return;
        }
        let (mut lo, mut step) = (self.pos, 1);
        let mut hi = lo + 1;
        while hi < slots.len() && slots[hi] < target {
            lo = hi;
            step *= 2;
            hi = lo + step;
        }
        let hi = hi.min(slots.len());
        self.pos = lo + slots[lo..hi].partition_point(|&s| s < target);
    }
}

/// A scored slot, ordered by score, then by lower slot first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scored {
    score: f32,
    slot: u32,
}

impl Eq for Scored {}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.slot.cmp(&self.slot))
    }
}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl KeywordIndex {
    /// Live chunks in the index.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) fn len(&self) -> usize {
        self.live_count
    }

    /// Term ids and frequencies of `text`, and its token count; new terms
    /// get ids when `create` is set.
    fn analyse(&mut self, text: &str, create: bool) -> (Vec<(u32, u32)>, u32) {
        let mut counts: HashMap<u32, u32> = HashMap::new();
        let mut tokens = 0u32;
        let mut buffer = String::new();
        for word in keyword_analyzer::words(text) {
            tokens = tokens.saturating_add(1);
            keyword_analyzer::normalise_into(word, &mut buffer);
            let id = match self.words.get(buffer.as_str()) {
                Some(id) => *id,
                None => {
                    let id = match self.analyzer.term_of_normalised(&buffer) {
                        None => None,
                        Some(term) => match self.terms.get(&term) {
                            Some(id) => Some(*id),
                            None if create => {
                                let id = self.postings.len() as u32;
                                self.postings.push(Postings::default());
                                self.terms.insert(term, id);
                                Some(id)
                            }
                            None => continue,
                        },
                    };
                    self.words.insert(buffer.clone(), id);
                    id
                }
            };
            if let Some(id) = id {
                *counts.entry(id).or_insert(0) += 1;
            }
        }
        let mut terms: Vec<(u32, u32)> = counts.into_iter().collect();
        terms.sort_unstable();
        (terms, tokens)
    }

    /// Indexes one chunk. A rowid already present is replaced.
    pub(super) fn insert(&mut self, rowid: i64, source: SourceType, text: &str) {
        if let Some(&slot) = self.slot_of.get(&rowid) {
            self.remove_slot(slot, text);
        }
        let (terms, len) = self.analyse(text, true);
        let Ok(slot) = u32::try_from(self.rowids.len()) else {
            // Four billion slots since the last compaction: compact first.
            self.compact();
            return self.insert(rowid, source, text);
        };
        self.rowids.push(rowid);
        self.sources.push(source);
        self.lens.push(len);
        self.live.push(true);
        self.slot_of.insert(rowid, slot);
        self.live_count += 1;
        self.live_tokens += u64::from(len);
        for (term, tf) in terms {
            if let Some(list) = self.postings.get_mut(term as usize) {
                list.push(slot, tf, len);
            }
        }
    }

    /// Removes one chunk; `text` is what it was indexed with, whose terms
    /// leave the document frequencies.
    pub(super) fn remove(&mut self, rowid: i64, text: &str) {
        if let Some(&slot) = self.slot_of.get(&rowid) {
            self.remove_slot(slot, text);
        }
        let dead = self.rowids.len() - self.live_count;
        if dead >= MIN_DEAD_TO_COMPACT && dead * 4 >= self.rowids.len() {
            self.compact();
        }
    }

    /// Removes chunks whose indexed text is no longer known (another
    /// process deleted or replaced them). Their terms are found by one pass
    /// over the postings, so document frequencies stay exact; the cost is
    /// linear in the index, still far below a rebuild.
    pub(super) fn remove_without_text(&mut self, rowids: &[i64]) {
        let mut removed = vec![false; self.rowids.len()];
        let mut any = false;
        for rowid in rowids {
            let Some(slot) = self.slot_of.remove(rowid) else {
                continue;
            };
            let index = slot as usize;
            if !self.live.get(index).copied().unwrap_or(false) {
                continue;
            }
            self.live[index] = false;
            removed[index] = true;
            any = true;
            self.live_count -= 1;
            self.live_tokens -= u64::from(self.lens[index]);
        }
        if !any {
            return;
        }
        for list in &mut self.postings {
            let gone = list
                .slots
                .iter()
                .filter(|slot| removed[**slot as usize])
                .count() as u32;
            list.live_df = list.live_df.saturating_sub(gone);
        }
        let dead = self.rowids.len() - self.live_count;
        if dead >= MIN_DEAD_TO_COMPACT && dead * 4 >= self.rowids.len() {
            self.compact();
        }
    }

    fn remove_slot(&mut self, slot: u32, text: &str) {
        let index = slot as usize;
        if !self.live.get(index).copied().unwrap_or(false) {
            return;
        }
        self.live[index] = false;
        self.slot_of.remove(&self.rowids[index]);
        self.live_count -= 1;
        self.live_tokens -= u64::from(self.lens[index]);
        let (terms, _) = self.analyse(text, false);
        for (term, _) in terms {
            if let Some(list) = self.postings.get_mut(term as usize) {
                list.live_df = list.live_df.saturating_sub(1);
            }
        }
    }

    /// Drops tombstones and renumbers the live slots densely.
    fn compact(&mut self) {
        let _span = tracing::debug_span!("keyword_index.compact").entered();
        let mut new_slot = vec![u32::MAX; self.rowids.len()];
        let mut next = 0u32;
        for (old, live) in self.live.iter().enumerate() {
            if *live {
                new_slot[old] = next;
                next += 1;
            }
        }
        let keep = |values: &[i64]| -> Vec<i64> {
            values
                .iter()
                .zip(&self.live)
                .filter(|(_, l)| **l)
                .map(|(v, _)| *v)
                .collect()
        };
        let rowids = keep(&self.rowids);
        let sources: Vec<SourceType> = self
            .sources
            .iter()
            .zip(&self.live)
            .filter(|(_, l)| **l)
            .map(|(s, _)| *s)
            .collect();
        let lens: Vec<u32> = self
            .lens
            .iter()
            .zip(&self.live)
            .filter(|(_, l)| **l)
            .map(|(n, _)| *n)
            .collect();
        for list in &mut self.postings {
            let old = std::mem::take(list);
            for (slot, tf) in old.slots.iter().zip(&old.tfs) {
                let moved = new_slot[*slot as usize];
                if moved != u32::MAX {
                    list.push(moved, *tf, lens[moved as usize]);
                }
            }
        }
        self.slot_of = rowids
            .iter()
            .enumerate()
            .map(|(slot, rowid)| (*rowid, slot as u32))
            .collect();
        self.live = vec![true; rowids.len()];
        self.rowids = rowids;
        self.sources = sources;
        self.lens = lens;
    }

    /// The `k` best chunks for the terms of `query` among those `accept`
    /// lets through (given rowid and source), best first, as
    /// `(rowid, bm25 score)`.
    pub(super) fn search(
        &self,
        query: &str,
        k: usize,
        accept: &dyn Fn(i64, SourceType) -> bool,
    ) -> Vec<(i64, f32)> {
        if k == 0 || self.live_count == 0 {
            return Vec::new();
        }
        let n = self.live_count as f32;
        let avg_len = (self.live_tokens as f32 / n).max(1.0);
        let norm = |len: u32| K1 * (1.0 - B + B * len as f32 / avg_len);
        let tf_part = |tf: u32, len: u32| tf as f32 * (K1 + 1.0) / (tf as f32 + norm(len));
        let mut cursors: Vec<Cursor<'_>> = self
            .analyzer
            .query_terms(query, super::keyword::MAX_TERMS)
            .iter()
            .filter_map(|term| self.terms.get(term))
            .filter_map(|id| self.postings.get(*id as usize))
            .filter(|list| list.live_df > 0)
            .map(|list| {
                let df = list.live_df as f32;
                let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                let bound = list
                    .blocks
                    .iter()
                    .map(|b| tf_part(b.max_tf, b.min_len))
                    .fold(0.0f32, f32::max);
                Cursor {
                    list,
                    pos: 0,
                    idf,
                    bound: idf * bound,
                }
            })
            .collect();
        // MaxScore: terms by ascending bound; the first `essential` ones
        // together cannot lift a chunk above the current k-th score, so a
        // candidate must come from the others.
        cursors.sort_by(|a, b| a.bound.total_cmp(&b.bound));
        let mut prefix = Vec::with_capacity(cursors.len());
        let mut sum = 0.0f32;
        for cursor in &cursors {
            sum += cursor.bound;
            prefix.push(sum);
        }
        let mut top: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(k + 1);
        let mut threshold = 0.0f32;
        let mut essential = 0;
        while let Some(candidate) = cursors[essential..].iter().filter_map(Cursor::slot).min() {
            let index = candidate as usize;
            let wanted = self.live[index] && accept(self.rowids[index], self.sources[index]);
            let len = self.lens[index];
            let mut score = 0.0f32;
            for cursor in &mut cursors[essential..] {
                if cursor.slot() == Some(candidate) {
                    if wanted {
                        score += cursor.idf * tf_part(cursor.list.tfs[cursor.pos], len);
                    }
                    cursor.pos += 1;
                }
            }
            if !wanted {
                continue;
            }
            for i in (0..essential).rev() {
                if score + prefix[i] <= threshold {
                    break;
                }
                let cursor = &mut cursors[i];
                cursor.seek(candidate);
                if cursor.slot() == Some(candidate) {
                    score += cursor.idf * tf_part(cursor.list.tfs[cursor.pos], len);
                }
            }
            if score <= threshold {
                continue;
            }
            top.push(Reverse(Scored {
                score,
                slot: candidate,
            }));
            if top.len() > k {
                top.pop();
            }
            if top.len() == k {
                if let Some(Reverse(kth)) = top.peek() {
                    threshold = kth.score;
                }
                while essential < cursors.len() && prefix[essential] <= threshold {
                    essential += 1;
                }
                if essential == cursors.len() {
                    break;
                }
            }
        }
        let mut ranked: Vec<Scored> = top.into_iter().map(|Reverse(s)| s).collect();
        ranked.sort_by(|a, b| b.cmp(a));
        ranked
            .into_iter()
            .map(|s| (self.rowids[s.slot as usize], s.score))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXTS: &[&str] = &[
        "rotate the tls certificates every quarter",
        "restore postgres from the nightly backup",
        "certificates expired on the build server",
        "disk full on the build server again and again",
        "kubernetes pods restart after a certificate rotation",
        "the runbook for a postgres failover",
    ];

    fn index_of(texts: &[(i64, &str)]) -> KeywordIndex {
        let mut index = KeywordIndex::default();
        for (rowid, text) in texts {
            index.insert(*rowid, SourceType::Files, text);
        }
        index
    }

    fn all(_: i64, _: SourceType) -> bool {
        true
    }

    /// Scores every chunk against every query term, the slow obvious way.
    fn brute_force(texts: &[(i64, &str)], query: &str, k: usize) -> Vec<(i64, f32)> {
        let analyzer = Analyzer::default();
        let docs: Vec<(i64, Vec<String>, usize)> = texts
            .iter()
            .map(|(rowid, text)| {
                let mut buffer = String::new();
                let mut terms = Vec::new();
                let mut tokens = 0;
                for word in keyword_analyzer::words(text) {
                    tokens += 1;
                    keyword_analyzer::normalise_into(word, &mut buffer);
                    terms.extend(analyzer.term_of_normalised(&buffer));
                }
                (*rowid, terms, tokens)
            })
            .collect();
        let n = docs.len() as f32;
        let avg = docs.iter().map(|d| d.2).sum::<usize>() as f32 / n;
        let query_terms: Vec<(String, f32)> = analyzer
            .query_terms(query, 64)
            .into_iter()
            .map(|q| {
                let df = docs.iter().filter(|d| d.1.contains(&q)).count() as f32;
                (q, df)
            })
            .collect();
        let mut scored: Vec<(i64, f32)> = docs
            .iter()
            .map(|(rowid, terms, len)| {
                let mut score = 0.0;
                for (q, df) in &query_terms {
                    let df = *df;
                    let tf = terms.iter().filter(|t| *t == q).count() as f32;
                    if tf > 0.0 {
                        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
                        score +=
                            idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * *len as f32 / avg));
                    }
                }
                (*rowid, score)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored.truncate(k);
        scored
    }

    fn assert_same(got: &[(i64, f32)], want: &[(i64, f32)]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.0, w.0, "{got:?} vs {want:?}");
            assert!((g.1 - w.1).abs() < 1e-4, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn matches_brute_force_bm25() {
        let texts: Vec<(i64, &str)> = TEXTS
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 + 1, *t))
            .collect();
        let index = index_of(&texts);
        for query in [
            "expired certificates?",
            "postgres backup",
            "build server disk",
            "certificate rotation kubernetes server",
            "nothing matches zebra",
        ] {
            for k in [1, 2, 3, 10] {
                assert_same(
                    &index.search(query, k, &all),
                    &brute_force(&texts, query, k),
                );
            }
        }
    }

    #[test]
    fn maxscore_agrees_with_brute_force_on_a_larger_corpus() {
        // Skewed word frequencies so common terms become non-essential.
        let vocabulary: Vec<String> = (0..400).map(|i| format!("w{i}x")).collect();
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let owned: Vec<(i64, String)> = (0..3000)
            .map(|i| {
                let words: Vec<&str> = (0..(5 + next() % 30))
                    .map(|_| {
                        let r = next() % 1000;
                        vocabulary[(r * r / 2500) % vocabulary.len()].as_str()
                    })
                    .collect();
                (i as i64 * 3 + 1, words.join(" "))
            })
            .collect();
        let texts: Vec<(i64, &str)> = owned.iter().map(|(r, t)| (*r, t.as_str())).collect();
        let index = index_of(&texts);
        for query in ["w0x w1x w350x", "w2x w120x", "w0x w1x w2x w3x", "w399x w5x"] {
            assert_same(
                &index.search(query, 10, &all),
                &brute_force(&texts, query, 10),
            );
        }
    }

    #[test]
    fn replacing_and_deleting_ranks_like_a_fresh_build() {
        let texts: Vec<(i64, &str)> = TEXTS
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 + 1, *t))
            .collect();
        let mut index = index_of(&texts);
        index.remove(3, TEXTS[2]);
        index.remove(1, TEXTS[0]);
        index.insert(7, SourceType::Files, "certificates rotate weekly now");
        let mut expected: Vec<(i64, &str)> = texts
            .iter()
            .filter(|(r, _)| *r != 3 && *r != 1)
            .copied()
            .collect();
        expected.push((7, "certificates rotate weekly now"));
        let fresh = index_of(&expected);
        assert_eq!(index.len(), fresh.len());
        for query in ["certificates", "rotate server postgres", "build"] {
            assert_same(
                &index.search(query, 10, &all),
                &fresh.search(query, 10, &all),
            );
            assert_same(
                &index.search(query, 10, &all),
                &brute_force(&expected, query, 10),
            );
        }
        index.compact();
        assert_same(
            &index.search("certificates rotate", 10, &all),
            &fresh.search("certificates rotate", 10, &all),
        );
    }

    #[test]
    fn compaction_happens_and_keeps_results() {
        let mut index = KeywordIndex::default();
        for rowid in 0..5000i64 {
            let text = format!("alpha beta{} gamma{}", rowid % 7, rowid % 13);
            index.insert(rowid, SourceType::Files, &text);
        }
        for rowid in 0..3000i64 {
            let text = format!("alpha beta{} gamma{}", rowid % 7, rowid % 13);
            index.remove(rowid, &text);
        }
        assert!(index.rowids.len() < 5000, "tombstones were compacted");
        assert_eq!(index.len(), 2000);
        let hits = index.search("beta3 gamma5", 5, &all);
        assert_eq!(hits.len(), 5);
        assert!(hits
            .iter()
            .all(|(r, _)| *r >= 3000 && r % 7 == 3 && r % 13 == 5));
    }

    #[test]
    fn honours_the_filter() {
        let mut index = KeywordIndex::default();
        index.insert(1, SourceType::Slack, "certificates expired");
        index.insert(2, SourceType::Jira, "certificates renewed");
        index.insert(3, SourceType::Jira, "certificates everywhere certificates");
        let jira = |_: i64, s: SourceType| s == SourceType::Jira;
        let ids: Vec<i64> = index
            .search("certificates", 10, &jira)
            .iter()
            .map(|h| h.0)
            .collect();
        assert_eq!(ids, [3, 2]);
        let only_one = |r: i64, _: SourceType| r == 1;
        assert_eq!(index.search("certificates", 10, &only_one).len(), 1);
        assert!(index.search("the", 10, &all).is_empty());
    }
}
