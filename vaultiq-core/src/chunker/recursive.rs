//! The default chunker: LangChain-compatible recursive splitting inside
//! markdown sections, so each chunk knows the headings above it.

use std::sync::Arc;

use crate::chunker::{
    markdown_sections, CharLength, Chunker, LengthFunction, RecursiveTextSplitter,
};
use crate::{Chunk, Document, Error, Result};

/// How chunk size is measured.
#[derive(Clone)]
pub enum ChunkLength {
    /// Unicode code points (Python's `len`).
    Chars,
    /// Model tokens, counted by the given function.
    Tokens(Arc<dyn LengthFunction>),
}

impl std::fmt::Debug for ChunkLength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChunkLength::Chars => "Chars",
            ChunkLength::Tokens(_) => "Tokens",
        })
    }
}

/// Builds a [`RecursiveChunker`].
#[derive(Debug, Clone)]
pub struct RecursiveChunkerBuilder {
    chunk_size: usize,
    chunk_overlap: usize,
    length: ChunkLength,
    markdown: bool,
    separators: Option<Vec<String>>,
}

impl Default for RecursiveChunkerBuilder {
    fn default() -> Self {
        RecursiveChunkerBuilder {
            chunk_size: RecursiveChunker::DEFAULT_CHUNK_SIZE,
            chunk_overlap: RecursiveChunker::DEFAULT_CHUNK_OVERLAP,
            length: ChunkLength::Chars,
            markdown: true,
            separators: None,
        }
    }
}

impl RecursiveChunkerBuilder {
    /// Maximum chunk length (default 800 characters).
    pub fn chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size;
        self
    }

    /// Length shared by neighbouring chunks (default 160 characters).
    pub fn chunk_overlap(mut self, overlap: usize) -> Self {
        self.chunk_overlap = overlap;
        self
    }

    /// Measure length in characters or model tokens.
    pub fn length(mut self, length: ChunkLength) -> Self {
        self.length = length;
        self
    }

    /// Split markdown sections first and record heading paths (default on).
    pub fn markdown(mut self, on: bool) -> Self {
        self.markdown = on;
        self
    }

    /// Separators tried in order (default `"\n\n"`, `"\n"`, `" "`, `""`).
    pub fn separators(mut self, separators: Vec<String>) -> Self {
        self.separators = Some(separators);
        self
    }

    /// Validates the settings.
    pub fn build(self) -> Result<RecursiveChunker> {
        let mut splitter = RecursiveTextSplitter::new(self.chunk_size, self.chunk_overlap)
            .map_err(|e| Error::Config(format!("chunker: {e}")))?;
        if let Some(separators) = self.separators.clone() {
            splitter = splitter.with_separators(separators);
        }
        let length_fn: Arc<dyn LengthFunction> = match &self.length {
            ChunkLength::Chars => Arc::new(CharLength),
            ChunkLength::Tokens(f) => Arc::clone(f),
        };
        splitter = splitter.with_length_function(length_fn);
        Ok(RecursiveChunker {
            splitter,
            fingerprint: format!(
                "recursive:{:?}:{}:{}:{}",
                self.length,
                self.chunk_size,
                self.chunk_overlap,
                if self.markdown { "md" } else { "plain" }
            ),
            markdown: self.markdown,
        })
    }
}

/// Recursive character splitting with LangChain semantics, heading-aware.
#[derive(Debug)]
pub struct RecursiveChunker {
    splitter: RecursiveTextSplitter,
    markdown: bool,
    fingerprint: String,
}

impl RecursiveChunker {
    /// Default maximum chunk length in characters. About 180 word pieces of
    /// English: with the title and headings prepended it still fits the
    /// 256-token window of all-MiniLM-L6-v2, so nothing is cut before
    /// embedding, and one chunk rarely mixes several topics.
    pub const DEFAULT_CHUNK_SIZE: usize = 800;
    /// Default overlap in characters (a fifth of the size, as is usual).
    pub const DEFAULT_CHUNK_OVERLAP: usize = 160;

    /// A builder with the defaults.
    pub fn builder() -> RecursiveChunkerBuilder {
        RecursiveChunkerBuilder::default()
    }
}

impl Chunker for RecursiveChunker {
    fn chunk(&self, document: &Document) -> Result<Vec<Chunk>> {
        let sections = if self.markdown {
            markdown_sections(&document.body)
        } else {
            vec![crate::chunker::Section {
                heading_path: Vec::new(),
                text: document.body.clone(),
                char_start: 0,
            }]
        };
        let mut chunks = Vec::new();
        for section in sections {
            for (offset, text) in self.splitter.split_text_with_offsets(&section.text) {
                let ordinal = u32::try_from(chunks.len()).map_err(|_| {
                    Error::InvalidInput(format!("document `{}` has too many chunks", document.id))
                })?;
                chunks.push(Chunk::new(
                    document,
                    ordinal,
                    text,
                    section.heading_path.clone(),
                    section.char_start + offset,
                ));
            }
        }
        Ok(chunks)
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceType;

    #[test]
    fn chunks_know_their_headings_and_offsets() -> Result<()> {
        let body = "# Deploy\nUse the release pipeline.\n\n## Rollback\nRun `deploy --undo` within 30 minutes of a bad release.\n";
        let doc = Document::new(SourceType::Files, "d", "deploy.md", "Deploy guide", body);
        let chunker = RecursiveChunker::builder()
            .chunk_size(40)
            .chunk_overlap(0)
            .build()?;
        let chunks = chunker.chunk(&doc)?;
        assert!(chunks.len() >= 3);
        assert_eq!(chunks[0].heading_path, ["Deploy"]);
        assert_eq!(
            chunks.last().map(|c| c.heading_path.clone()),
            Some(vec!["Deploy".into(), "Rollback".into()])
        );
        for (i, chunk) in chunks.iter().enumerate() {
            assert_eq!(chunk.ordinal as usize, i);
            assert!(chunk.text.chars().count() <= 40);
            let at: String = body
                .chars()
                .skip(chunk.char_start)
                .take(chunk.char_end - chunk.char_start)
                .collect();
            assert_eq!(at, chunk.text);
        }
        let indexed = chunks[chunks.len() - 1].indexed_text(&doc.title);
        assert!(
            indexed.starts_with("Deploy guide\nDeploy > Rollback\n"),
            "{indexed}"
        );
        Ok(())
    }

    #[test]
    fn empty_documents_have_no_chunks() -> Result<()> {
        let doc = Document::new(SourceType::Files, "d", "e", "Empty", "  \n\n ");
        assert!(RecursiveChunker::builder().build()?.chunk(&doc)?.is_empty());
        Ok(())
    }

    #[test]
    fn overlap_larger_than_size_is_a_config_error() {
        assert!(matches!(
            RecursiveChunker::builder()
                .chunk_size(10)
                .chunk_overlap(20)
                .build(),
            Err(Error::Config(_))
        ));
    }
}
