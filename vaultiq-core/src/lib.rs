//! # vaultiq-core
//!
//! An embeddable retrieval-augmented generation engine for an IT
//! organisation's knowledge: connectors pull documents, a chunker splits
//! them, an embedder turns chunks into vectors, a store indexes them for
//! hybrid (keyword + vector) search, and an answerer replies with cited
//! sources. Every stage is a trait object, so any part can be swapped.
//!
//! ```no_run
//! use vaultiq_core::{KnowledgeBase, Query};
//!
//! # async fn demo() -> vaultiq_core::Result<()> {
//! // Local model, embedded store, extractive answerer: no cloud needed.
//! let kb = KnowledgeBase::open_local(".vaultiq")?;
//! kb.ingest_dir("runbooks", "./runbooks").await?;
//! let answer = kb.ask(&Query::new("How do I rotate the TLS certificates?")).await?;
//! println!("{}", answer.answer.text);
//! for source in &answer.answer.citations {
//!     println!("- {} ({})", source.title, source.url);
//! }
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

pub mod answerer;
pub mod api;
#[cfg(feature = "aws-common")]
pub mod aws;
pub mod chunker;
pub mod config;
pub mod connector;
pub mod convert;
pub mod embedder;
mod error;
mod knowledge_base;
pub mod lake;
pub mod pipeline;
pub mod state;
pub mod store;
mod types;
mod vector_blob;

pub use error::{Error, Result};
pub use knowledge_base::{KnowledgeBase, KnowledgeBaseBuilder};
pub use pipeline::query::{Query, QueryResult, SearchMode, SearchResult, StageTimings};
pub use pipeline::sync::{SyncOptions, SyncProgress, SyncReport};
pub use types::{
    sha256_hex, snippet, Answer, Chunk, Citation, Document, DocumentSummary, Hit, Retriever,
    RetrieverRank, SourceType,
};

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
