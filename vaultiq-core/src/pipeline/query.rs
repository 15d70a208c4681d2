//! The query pipeline: embed the question -> keyword and vector search with
//! filters -> fuse -> answer with citations, timed per stage.

use std::time::{Duration, Instant};

use serde::Serialize;
use tracing::Instrument;

use crate::answerer::Answerer;
use crate::embedder::{EmbedKind, Embedder};
use crate::store::fusion::{fuse, DEFAULT_RRF_K};
use crate::store::{Filter, StoredHit, VectorStore};
use crate::{Answer, Error, Hit, Result, Retriever, SourceType};

/// Longest question accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 2_000;
/// Most hits one query may ask for.
pub const MAX_TOP_K: usize = 1_000;

/// Which retrievers a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25 only.
    Keyword,
    /// Embeddings only.
    Vector,
    /// Both, fused by reciprocal rank (the default).
    #[default]
    Hybrid,
}

/// A question and how to search for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The question.
    pub text: String,
    /// Hits to return (default 5).
    pub top_k: usize,
    /// Retrievers to use (default hybrid).
    pub mode: SearchMode,
    /// Restrictions on what may be returned.
    pub filter: Filter,
    /// How deep each retriever's list goes before fusion (default
    /// `max(50, 4 * top_k)`): fusion needs more than the final `top_k`.
    pub candidates: Option<usize>,
}

impl Query {
    /// A hybrid query for `text` with the defaults.
    pub fn new(text: impl Into<String>) -> Self {
        Query {
            text: text.into(),
            top_k: 5,
            mode: SearchMode::Hybrid,
            filter: Filter::default(),
            candidates: None,
        }
    }

    /// Sets how many hits to return.
    pub fn top_k(mut self, top_k: usize) -> Self {
        self.top_k = top_k;
        self
    }

    /// Sets the retrievers.
    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }

    /// Only hits from these source types.
    pub fn source_filter(mut self, sources: Vec<SourceType>) -> Self {
        self.filter.source_types = sources;
        self
    }

    /// Sets the whole filter.
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = filter;
        self
    }

    fn validate(&self) -> Result<()> {
        let chars = self.text.chars().count();
        if self.text.trim().is_empty() {
            return Err(Error::InvalidInput("the query is empty".into()));
        }
        if chars > MAX_QUERY_CHARS {
            return Err(Error::InvalidInput(format!(
                "the query has {chars} characters; at most {MAX_QUERY_CHARS} are allowed"
            )));
        }
        if self.top_k == 0 || self.top_k > MAX_TOP_K {
            return Err(Error::InvalidInput(format!(
                "top_k must be 1..={MAX_TOP_K}, got {}",
                self.top_k
            )));
        }
        Ok(())
    }
}

/// Milliseconds spent in each stage of a query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimings {
    /// Embedding the question.
    pub embed_ms: f64,
    /// Keyword + vector search and fusion.
    pub search_ms: f64,
    /// Composing the answer (0 for a plain search).
    pub answer_ms: f64,
    /// The whole query.
    pub total_ms: f64,
}

/// Hits of a search, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// The hits.
    pub hits: Vec<Hit>,
    /// Where the time went.
    pub timings: StageTimings,
}

/// An answer with the hits it was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The answer.
    pub answer: Answer,
    /// The hits given to the answerer.
    pub hits: Vec<Hit>,
    /// Where the time went.
    pub timings: StageTimings,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs the retrieval half of a query.
pub(crate) async fn search(
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    query: &Query,
) -> Result<SearchResult> {
    query.validate()?;
    let started = Instant::now();
    let vector = embedder
        .embed(std::slice::from_ref(&query.text), EmbedKind::Query)
        .instrument(tracing::info_span!("query.embed"))
        .await?
        .pop()
        .ok_or_else(|| Error::model("embedder returned no vector for the query"))?;
    let embedded = Instant::now();
    let depth = query
        .candidates
        .unwrap_or(50.max(query.top_k * 4))
        .max(query.top_k);
    let keyword = async {
        match query.mode {
            SearchMode::Vector => Ok(Vec::new()),
            _ => {
                store
                    .keyword_search(&query.text, depth, &query.filter)
                    .await
            }
        }
    };
    let nearest = async {
        match query.mode {
            SearchMode::Keyword => Ok(Vec::new()),
            _ => store.vector_search(&vector, depth, &query.filter).await,
        }
    };
    let (keyword, nearest): (Result<Vec<StoredHit>>, Result<Vec<StoredHit>>) =
        futures::join!(keyword, nearest);
    let hits = fuse(
        vec![
            (Retriever::Keyword, keyword?),
            (Retriever::Vector, nearest?),
        ],
        Some(&vector),
        DEFAULT_RRF_K,
        query.top_k,
    );
    let done = Instant::now();
    Ok(SearchResult {
        hits,
        timings: StageTimings {
            embed_ms: ms(embedded - started),
            search_ms: ms(done - embedded),
            answer_ms: 0.0,
            total_ms: ms(done - started),
        },
    })
}

/// Runs a whole query: search, then answer.
pub(crate) async fn ask(
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    answerer: &dyn Answerer,
    query: &Query,
) -> Result<QueryResult> {
    let started = Instant::now();
    let SearchResult { hits, mut timings } = search(embedder, store, query).await?;
    let answering = Instant::now();
    let answer = answerer
        .answer(&query.text, &hits)
        .instrument(tracing::info_span!("query.answer"))
        .await?;
    timings.answer_ms = ms(answering.elapsed());
    timings.total_ms = ms(started.elapsed());
    Ok(QueryResult {
        answer,
        hits,
        timings,
    })
}
