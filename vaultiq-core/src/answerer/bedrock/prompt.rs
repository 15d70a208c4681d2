//! The prompt: a system prompt that asks for cited answers from the
//! context only, and a user message of numbered context blocks
//! (`[1] title (url)` then the passage) followed by the question.

use crate::Hit;

/// What the model is told to reply, alone, when the context does not hold
/// the answer; the answerer turns it into the "don't know" answer.
pub(crate) const NO_ANSWER_MARKER: &str = "NO_ANSWER";

/// The built-in system prompt.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You answer questions from an IT team using only the numbered context passages in the user's message. \
Cite the passage that supports each statement with its number in square brackets, like [1] or [1, 3]; cite only passage numbers that appear in the context. \
Be concise and keep commands, paths and names exactly as written. \
If the passages do not contain the answer, reply with exactly NO_ANSWER and nothing else.";

/// The user message for `question` over `hits`.
pub(crate) fn user_message(question: &str, hits: &[Hit]) -> String {
    let mut text = String::from("Context:\n\n");
    for (i, hit) in hits.iter().enumerate() {
        let title = one_line(&hit.document.title);
        let heading = if hit.chunk.heading_path.is_empty() {
            String::new()
        } else {
            format!(" > {}", hit.chunk.heading_path.join(" > "))
        };
        if hit.document.url.is_empty() {
            text.push_str(&format!("[{}] {title}{heading}\n", i + 1));
        } else {
            text.push_str(&format!(
                "[{}] {title}{heading} ({})\n",
                i + 1,
                hit.document.url
            ));
        }
        text.push_str(hit.chunk.text.trim());
        text.push_str("\n\n");
    }
    text.push_str("Question: ");
    text.push_str(question.trim());
    text
}

/// Titles with line breaks would break the block header.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Chunk, Document, SourceType};

    #[test]
    fn blocks_are_numbered_with_title_and_url() {
        let mut doc = Document::new(SourceType::Files, "kb", "tls", "TLS\nrotation", "body");
        doc.url = "https://wiki/tls".into();
        let hit = Hit {
            chunk: Chunk::new(&doc, 0, "Run certctl rotate.".into(), vec![], 0),
            document: doc.summary(),
            retrievers: vec![],
            fused_score: 0.0,
            relevance_score: 0.9,
        };
        let text = user_message("How to rotate?", &[hit]);
        assert!(text.starts_with(
            "Context:\n\n[1] TLS rotation (https://wiki/tls)\nRun certctl rotate.\n\n"
        ));
        assert!(text.ends_with("Question: How to rotate?"));
    }
}
