//! Turns the model's `[n]` / `[n, m]` markers, which number the context
//! blocks of the prompt, into markers that number the answer's citations:
//! only numbers that are one of the hits survive, each cited document gets
//! one citation (in order of first mention), and a marker left with no
//! valid number is removed with the space before it.
//!
//! It works on a stream of text pieces: a piece that might be the start of
//! a marker is held back until the marker closes or turns out not to be
//! one, so streamed tokens and the final text are the same text.

use std::collections::HashMap;

use crate::{Citation, Hit};

/// Longest marker text considered (`[12, 13, 14]` and a little slack).
const MAX_MARKER_CHARS: usize = 40;

/// Rewrites answer text piece by piece and collects the citations.
#[derive(Debug)]
pub(crate) struct CitationWriter {
    hits: Vec<Hit>,
    citations: Vec<Citation>,
    /// Citation number of each cited document id.
    number_of_document: HashMap<String, usize>,
    /// A possible marker being read, from its `[`.
    marker: Option<String>,
    /// Whitespace not yet written: dropped if a removed marker follows.
    space: String,
}

impl CitationWriter {
    /// A writer whose markers refer to `hits` (`[1]` is `hits[0]`).
    pub(crate) fn new(hits: Vec<Hit>) -> Self {
        CitationWriter {
            hits,
            citations: Vec::new(),
            number_of_document: HashMap::new(),
            marker: None,
            space: String::new(),
        }
    }

    /// Takes the next piece of model text; returns the text that can be
    /// shown now (possibly empty, when a marker may be starting).
    pub(crate) fn push(&mut self, piece: &str) -> String {
        let mut out = String::new();
        for c in piece.chars() {
            self.push_char(c, &mut out);
        }
        out
    }

    /// Flushes what is held back and returns the last text and the citations.
    pub(crate) fn finish(mut self) -> (String, Vec<Citation>) {
        let mut out = String::new();
        if let Some(marker) = self.marker.take() {
            out.push_str(&self.space);
            out.push_str(&marker);
        }
        // Trailing whitespace of an answer carries nothing.
        (out, self.citations)
    }

    fn push_char(&mut self, c: char, out: &mut String) {
        if let Some(mut marker) = self.marker.take() {
            if c == ']' {
                self.close_marker(&marker[1..], out);
                return;
            }
            let fits = c.is_ascii_digit() || c == ',' || c == ' ';
            if fits && marker.chars().count() < MAX_MARKER_CHARS {
                marker.push(c);
                self.marker = Some(marker);
                return;
            }
            // Not a marker after all: it is plain text.
            out.push_str(&std::mem::take(&mut self.space));
            out.push_str(&marker);
        }
        if c == '[' {
            self.marker = Some(String::from("["));
        } else if c.is_whitespace() {
            self.space.push(c);
        } else {
            out.push_str(&std::mem::take(&mut self.space));
            out.push(c);
        }
    }

    /// Rewrites the marker with inner text `inner` (between the brackets).
    fn close_marker(&mut self, inner: &str, out: &mut String) {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let all_numbers = !parts.is_empty()
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
        if !all_numbers {
            // `[]`, `[ ]`, `[1,,2]`: text that happens to use brackets.
            out.push_str(&std::mem::take(&mut self.space));
            out.push('[');
            out.push_str(inner);
            out.push(']');
            return;
        }
        let mut numbers: Vec<usize> = Vec::new();
        for part in parts {
            let Ok(n) = part.parse::<usize>() else {
                continue;
            };
            if let Some(number) = self.cite(n) {
                if !numbers.contains(&number) {
                    numbers.push(number);
                }
            }
        }
        if numbers.is_empty() {
            // Every number was unknown: drop the marker and its space.
            self.space.clear();
            return;
        }
        out.push_str(&std::mem::take(&mut self.space));
        let list: Vec<String> = numbers.iter().map(usize::to_string).collect();
        out.push('[');
        out.push_str(&list.join(", "));
        out.push(']');
    }

    /// The citation number of context block `n` (1-based), citing it on
    /// first mention; `None` if no hit has that number.
    fn cite(&mut self, n: usize) -> Option<usize> {
        let hit = self.hits.get(n.checked_sub(1)?)?;
        if let Some(number) = self.number_of_document.get(&hit.document.id) {
            return Some(*number);
        }
        self.citations.push(Citation::from_hit(hit));
        let number = self.citations.len();
        self.number_of_document
            .insert(hit.document.id.clone(), number);
        Some(number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chunk, Document, SourceType};

    fn hits(names: &[&str]) -> Vec<Hit> {
        names
            .iter()
            .map(|name| {
                let doc = Document::new(SourceType::Files, "kb", name, *name, "text");
                Hit {
                    chunk: Chunk::new(&doc, 0, "text".to_string(), vec![], 0),
                    document: doc.summary(),
                    retrievers: vec![],
                    fused_score: 0.0,
                    relevance_score: 0.5,
                }
            })
            .collect()
    }

    fn rewrite(text: &str, names: &[&str]) -> (String, Vec<String>) {
        let mut writer = CitationWriter::new(hits(names));
        let mut out = writer.push(text);
        let (rest, citations) = writer.finish();
        out.push_str(&rest);
        (out, citations.into_iter().map(|c| c.title).collect())
    }

    #[test]
    fn markers_are_renumbered_by_first_mention() {
        let (text, cited) = rewrite("Rotate it [2]. Then restart [1, 2].", &["a", "b"]);
        assert_eq!(text, "Rotate it [1]. Then restart [2, 1].");
        assert_eq!(cited, ["b", "a"]);
    }

    #[test]
    fn unknown_numbers_are_dropped() {
        let (text, cited) = rewrite("Use certctl [1] [7]. Or not [0].", &["a"]);
        assert_eq!(text, "Use certctl [1]. Or not.");
        assert_eq!(cited, ["a"]);
        let (text, _) = rewrite("Both [1, 9].", &["a"]);
        assert_eq!(text, "Both [1].");
    }

    #[test]
    fn other_brackets_stay_text() {
        let (text, cited) = rewrite("Run `ls [-la]` and [see] [ ] [1", &["a"]);
        assert_eq!(text, "Run `ls [-la]` and [see] [ ] [1");
        assert!(cited.is_empty());
    }

    #[test]
    fn pieces_split_inside_markers_give_the_same_text() {
        let mut writer = CitationWriter::new(hits(&["a", "b"]));
        let mut out = String::new();
        for piece in ["Yes ", "[", "2", ",", " 1", "]", " done", " [3", "]."] {
            out.push_str(&writer.push(piece));
        }
        let (rest, citations) = writer.finish();
        out.push_str(&rest);
        assert_eq!(out, "Yes [1, 2] done.");
        assert_eq!(citations.len(), 2);
    }

    #[test]
    fn chunks_of_one_document_share_a_citation() {
        let mut both = hits(&["a"]);
        let mut second = both[0].clone();
        second.chunk.id.push_str("-2");
        both.push(second);
        let mut writer = CitationWriter::new(both);
        let out = writer.push("x [1] y [2]");
        let (_, citations) = writer.finish();
        assert_eq!(out, "x [1] y [1]");
        assert_eq!(citations.len(), 1);
    }
}
