//! An answerer without a language model: it quotes the sentences of the
//! best hits that share the most (and the rarest) words with the question.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::Utc;

use crate::answerer::Answerer;
use crate::{Answer, Citation, Hit, Result};

/// What the answer says when the hits hold no good evidence.
pub const NO_ANSWER_TEXT: &str =
    "I could not find anything relevant to that question in the indexed sources.";

/// Composes answers from the best-matching sentences of the top hits.
#[derive(Debug, Clone)]
pub struct ExtractiveAnswerer {
    min_relevance: f32,
    max_sentences: usize,
    max_sources: usize,
}

impl Default for ExtractiveAnswerer {
    fn default() -> Self {
        ExtractiveAnswerer {
            min_relevance: Self::DEFAULT_MIN_RELEVANCE,
            max_sentences: 3,
            max_sources: 3,
        }
    }
}

/// A candidate sentence and where it came from.
struct Sentence {
    text: String,
    hit: usize,
    position: usize,
    terms: HashSet<String>,
}

impl ExtractiveAnswerer {
    /// Below this cosine similarity a passage is not evidence. all-MiniLM
    /// puts unrelated pairs near 0.0-0.25 and paraphrases above 0.4.
    pub const DEFAULT_MIN_RELEVANCE: f32 = 0.3;

    /// Minimum relevance score of a hit to be used (default 0.3).
    pub fn with_min_relevance(mut self, min: f32) -> Self {
        self.min_relevance = min;
        self
    }

    /// Sentences in an answer (default 3).
    pub fn with_max_sentences(mut self, n: usize) -> Self {
        self.max_sentences = n.max(1);
        self
    }

    /// Documents quoted in an answer (default 3).
    pub fn with_max_sources(mut self, n: usize) -> Self {
        self.max_sources = n.max(1);
        self
    }

    fn compose(&self, question: &str, hits: &[Hit]) -> Answer {
        let best = hits
            .iter()
            .map(|h| h.relevance_score)
            .fold(0.0f32, f32::max);
        // Evidence: relevant hits, at most one per document, best first.
        let mut seen_docs = HashSet::new();
        let evidence: Vec<&Hit> = hits
            .iter()
            .filter(|h| h.relevance_score >= self.min_relevance && h.relevance_score >= best * 0.75)
            .filter(|h| seen_docs.insert(h.document.id.clone()))
            .take(self.max_sources)
            .collect();
        if evidence.is_empty() {
            return no_answer(question);
        }

        let query_terms = terms(question);
        let sentences: Vec<Sentence> = evidence
            .iter()
            .enumerate()
            .flat_map(|(hit, h)| {
                split_sentences(&h.chunk.text).into_iter().enumerate().map(
                    move |(position, text)| Sentence {
                        terms: terms(&text),
                        text,
                        hit,
                        position,
                    },
                )
            })
            .collect();
        if sentences.is_empty() {
            // Passages of only code, tables or fragments: quote the best one.
            return quote_passage(question, evidence[0]);
        }
        let weights = idf_weights(&query_terms, &sentences);
        let total_weight: f32 = weights.values().sum::<f32>().max(f32::EPSILON);

        let mut scored: Vec<(f32, &Sentence)> = sentences
            .iter()
            .map(|s| {
                let overlap: f32 = query_terms
                    .iter()
                    .filter(|t| s.terms.contains(*t))
                    .map(|t| weights.get(t).copied().unwrap_or(0.0))
                    .sum();
                let relevance = evidence[s.hit].relevance_score;
                // Word overlap picks the sentence; the passage's relevance and
                // an early position break ties between similar ones.
                let score = overlap / total_weight + 0.5 * relevance
                    - 0.02 * s.position as f32
                    - 0.05 * s.hit as f32;
                (score, s)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));

        let mut chosen: Vec<&Sentence> = scored
            .iter()
            .take(self.max_sentences)
            .map(|(_, s)| *s)
            .collect();
        // Each citation's snippet is its source's best sentence.
        let mut best_of_hit: HashMap<usize, &str> = HashMap::new();
        for sentence in &chosen {
            best_of_hit
                .entry(sentence.hit)
                .or_insert(sentence.text.as_str());
        }
        // Read in document order: by hit rank, then position in the passage.
        chosen.sort_by_key(|s| (s.hit, s.position));

        let mut citations: Vec<Citation> = Vec::new();
        let mut number_of_hit: HashMap<usize, usize> = HashMap::new();
        let mut parts: Vec<String> = Vec::new();
        for sentence in &chosen {
            let number = *number_of_hit.entry(sentence.hit).or_insert_with(|| {
                let mut citation = Citation::from_hit(evidence[sentence.hit]);
                let best = best_of_hit
                    .get(&sentence.hit)
                    .copied()
                    .unwrap_or(&sentence.text);
                citation.snippet = crate::snippet(best, 300);
                citations.push(citation);
                citations.len()
            });
            parts.push(format!("{} [{number}]", sentence.text));
        }
        Answer {
            text: parts.join(" "),
            citations,
            query: question.to_string(),
            timestamp: Utc::now(),
            grounded: true,
        }
    }
}

fn quote_passage(question: &str, hit: &Hit) -> Answer {
    let citation = Citation::from_hit(hit);
    Answer {
        text: format!("{} [1]", citation.snippet),
        citations: vec![citation],
        query: question.to_string(),
        timestamp: Utc::now(),
        grounded: true,
    }
}

fn no_answer(question: &str) -> Answer {
    Answer {
        text: NO_ANSWER_TEXT.to_string(),
        citations: Vec::new(),
        query: question.to_string(),
        timestamp: Utc::now(),
        grounded: false,
    }
}

#[async_trait]
impl Answerer for ExtractiveAnswerer {
    #[tracing::instrument(name = "answer.extractive", skip_all, fields(hits = hits.len()))]
    async fn answer(&self, question: &str, hits: &[Hit]) -> Result<Answer> {
        Ok(self.compose(question, hits))
    }
}

/// Rarer words across the candidate sentences weigh more, like BM25's IDF.
fn idf_weights(query_terms: &HashSet<String>, sentences: &[Sentence]) -> HashMap<String, f32> {
    let n = sentences.len().max(1) as f32;
    query_terms
        .iter()
        .map(|t| {
            let df = sentences.iter().filter(|s| s.terms.contains(t)).count() as f32;
            (t.clone(), 1.0 + (n / (1.0 + df)).ln().max(0.0))
        })
        .collect()
}

const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "an", "and", "any", "are", "as", "at", "be", "been", "before",
    "but", "by", "can", "could", "did", "do", "does", "for", "from", "get", "has", "have", "how",
    "i", "if", "in", "into", "is", "it", "its", "me", "my", "need", "not", "of", "on", "or", "our",
    "should", "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
    "us", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with",
    "would", "you", "your",
];

/// Lower-cased, lightly stemmed content words.
fn terms(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

/// Folds common English suffixes so "rotating" meets "rotate".
fn stem(word: &str) -> String {
    for suffix in ["ing", "ed", "es", "s"] {
        if let Some(base) = word.strip_suffix(suffix) {
            if base.chars().count() >= 3 {
                return base.trim_end_matches('e').to_string();
            }
        }
    }
    word.trim_end_matches('e').to_string()
}

/// Sentences of a passage: lines, then sentence ends; list and heading
/// markers removed; code fences and fragments too short to read dropped.
fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || trimmed.starts_with('|') {
            continue;
        }
        let content = trimmed
            .trim_start_matches('#')
            .trim_start_matches(['-', '*', '>'])
            .trim_start();
        let content = strip_ordinal(content);
        let mut start = 0;
        let chars: Vec<(usize, char)> = content.char_indices().collect();
        for (i, &(byte, c)) in chars.iter().enumerate() {
            let next = chars.get(i + 1).map(|&(_, n)| n);
            let after = chars.get(i + 2).map(|&(_, n)| n);
            let ends = matches!(c, '.' | '?' | '!')
                && next == Some(' ')
                && after.is_some_and(|a| a.is_uppercase() || a.is_ascii_digit());
            if ends {
                push_sentence(&mut out, &content[start..=byte]);
                start = byte + 1;
            }
        }
        push_sentence(&mut out, &content[start..]);
    }
    out
}

fn strip_ordinal(line: &str) -> &str {
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && line[digits..].starts_with(". ") {
        &line[digits + 2..]
    } else {
        line
    }
}

fn push_sentence(out: &mut Vec<String>, text: &str) {
    let text = text.trim();
    if text.split_whitespace().count() >= 3 {
        out.push(crate::snippet(text, 400));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chunk, Document, SourceType};

    fn hit(native: &str, text: &str, relevance: f32) -> Hit {
        let doc = Document::new(
            SourceType::Files,
            "kb",
            native,
            format!("Doc {native}"),
            text,
        );
        Hit {
            chunk: Chunk::new(&doc, 0, text.to_string(), vec![], 0),
            document: doc.summary(),
            retrievers: vec![],
            fused_score: 0.0,
            relevance_score: relevance,
        }
    }

    #[test]
    fn quotes_matching_sentences_with_citations() {
        let hits = vec![
            hit("tls", "Certificates are issued by Vault. To rotate the TLS certificate run `certctl rotate --env prod`. Rotation takes five minutes.", 0.71),
            hit("disk", "When the disk is full, clean the docker images first. Then expand the volume.", 0.62),
            hit("noise", "Lunch is served at noon in the big kitchen area.", 0.1),
        ];
        let answer =
            ExtractiveAnswerer::default().compose("How do I rotate the TLS certificate?", &hits);
        assert!(answer.grounded);
        assert!(answer.text.contains("certctl rotate"), "{}", answer.text);
        assert!(answer.text.contains("[1]"));
        assert!(answer
            .citations
            .iter()
            .all(|c| c.document_id != "files:kb:noise"));
        assert_eq!(answer.citations[0].document_id, "files:kb:tls");
        assert!(answer.citations[0].snippet.contains("certctl"));
    }

    #[test]
    fn says_so_without_evidence() {
        let hits = vec![hit(
            "a",
            "The VPN uses WireGuard on port 51820 for all staff.",
            0.12,
        )];
        let answer = ExtractiveAnswerer::default().compose("Best sourdough recipe?", &hits);
        assert!(!answer.grounded);
        assert_eq!(answer.text, NO_ANSWER_TEXT);
        assert!(answer.citations.is_empty());
        assert!(
            !ExtractiveAnswerer::default()
                .compose("anything", &[])
                .grounded
        );
    }

    #[test]
    fn passages_without_sentences_are_quoted() {
        let hits = vec![hit(
            "deploy",
            "```sh\nrelease-cli promote --env prod\n```\n| step | owner |",
            0.6,
        )];
        let answer = ExtractiveAnswerer::default().compose("How do I deploy to production?", &hits);
        assert!(answer.grounded);
        assert!(
            answer.text.contains("release-cli promote") && answer.text.ends_with("[1]"),
            "{}",
            answer.text
        );
        assert_eq!(answer.citations.len(), 1);
    }

    #[test]
    fn sentences_drop_markup_and_code() {
        let s = split_sentences("## Steps\n1. Open the portal and sign in. Then click Reset.\n```\nrm -rf /tmp/x y z\n```\n- short\n| a | b |");
        assert_eq!(s, ["Open the portal and sign in.", "Then click Reset."]);
    }
}
