//! Turning a natural-language question into an FTS5 query.

/// English function words that carry no meaning for BM25 but make FTS5
/// OR-queries slow and noisy.
const STOP_WORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for",
    "from", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of",
    "on", "or", "our", "should", "so", "than", "that", "the", "their", "them", "then", "there",
    "these", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which", "who",
    "why", "will", "with", "would", "you", "your",
];

/// At most this many terms go into one query.
const MAX_TERMS: usize = 64;

/// The distinct meaningful terms of `text`, lower-cased, in order.
pub(super) fn query_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        let lower = word.to_lowercase();
        if STOP_WORDS.contains(&lower.as_str()) || terms.contains(&lower) {
            continue;
        }
        terms.push(lower);
        if terms.len() == MAX_TERMS {
            break;
        }
    }
    terms
}

/// An FTS5 MATCH expression that ORs the terms, each quoted so no user
/// input is read as FTS5 syntax. `None` when nothing is left to search.
pub(super) fn match_expression(text: &str) -> Option<String> {
    let terms = query_terms(text);
    if terms.is_empty() {
        return None;
    }
    let quoted: Vec<String> = terms
        .iter()
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    Some(quoted.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_stop_words_and_syntax() {
        assert_eq!(
            match_expression("How do I rotate the TLS cert? (NEAR\"x\")").as_deref(),
            Some("\"rotate\" OR \"tls\" OR \"cert\" OR \"near\" OR \"x\"")
        );
        assert_eq!(match_expression("the of ?"), None);
    }

    #[test]
    fn keeps_unicode_words() {
        assert_eq!(
            query_terms("Zürich größe 東京"),
            ["zürich", "größe", "東京"]
        );
    }
}
