//! Text -> index terms for the keyword index. Documents and queries go
//! through the same steps, so their terms meet: split into Unicode words,
//! lower-case, fold diacritics (`café` -> `cafe`), drop English function
//! words, stem with Snowball English (Porter 2) so plural and verb forms of
//! a word share one term — BM25 needs that for short questions.

use std::fmt;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::keyword::STOP_WORDS;

/// Stateless apart from the stemmer tables; cheap to share.
pub(super) struct Analyzer {
    stemmer: Stemmer,
}

impl fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Analyzer(snowball english)")
    }
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            stemmer: Stemmer::create(Algorithm::English),
        }
    }
}

/// The words of `text`: maximal runs of letters and digits.
pub(super) fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// Lower-cases `word` into `out` and strips its diacritics.
pub(super) fn normalise_into(word: &str, out: &mut String) {
    out.clear();
    if word.is_ascii() {
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        out.extend(
            word.nfd()
                .filter(|c| !is_combining_mark(*c))
                .flat_map(char::to_lowercase),
        );
    }
}

/// Whether a normalised word carries no meaning for ranking.
pub(super) fn is_stop_word(normalised: &str) -> bool {
    STOP_WORDS.binary_search(&normalised).is_ok()
}

impl Analyzer {
    /// The index term of an already normalised word, `None` for a stop word.
    pub(super) fn term_of_normalised(&self, normalised: &str) -> Option<String> {
        if normalised.is_empty() || is_stop_word(normalised) {
            return None;
        }
        Some(self.stemmer.stem(normalised).into_owned())
    }

    /// The distinct terms of a query, in order of first appearance.
    pub(super) fn query_terms(&self, text: &str, max_terms: usize) -> Vec<String> {
        let mut buffer = String::new();
        let mut terms: Vec<String> = Vec::new();
        for word in words(text) {
            normalise_into(word, &mut buffer);
            let Some(term) = self.term_of_normalised(&buffer) else {
                continue;
            };
            if !terms.contains(&term) {
                terms.push(term);
                if terms.len() == max_terms {
                    break;
                }
            }
        }
        terms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn folds_case_diacritics_and_inflection() {
        let analyzer = Analyzer::default();
        assert_eq!(
            analyzer.query_terms("How do I rotate the TLS certificates? (NEAR\"x\")", 64),
            ["rotat", "tls", "certif", "near", "x"]
        );
        assert_eq!(
            analyzer.query_terms("Rotating certificate", 64),
            ["rotat", "certif"]
        );
        assert_eq!(analyzer.query_terms("Café CAFÉ cafe", 64), ["cafe"]);
        assert!(analyzer.query_terms("the of ?", 64).is_empty());
    }

    #[test]
    fn keeps_unicode_words_and_caps_the_count() {
        let analyzer = Analyzer::default();
        assert_eq!(analyzer.query_terms("Zürich 東京", 64), ["zurich", "東京"]);
        assert_eq!(analyzer.query_terms("alpha beta gamma delta", 2).len(), 2);
    }
}
