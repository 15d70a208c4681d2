//! Streaming answers. The search half runs to completion first, so a bad
//! query or a failing store is a plain `Err` the caller can still turn into
//! a status code; only then do the answerer's events flow, as produced.

use futures::stream::BoxStream;
use tracing::Instrument;

use crate::answerer::{AnswerEvent, Answerer};
use crate::embedder::Embedder;
use crate::pipeline::query::{self, Query, SearchResult};
use crate::store::VectorStore;
use crate::{Hit, Result};

/// A streamed answer: the hits it is built from, then its events.
pub struct AnswerStream {
    /// The hits given to the answerer, best first.
    pub hits: Vec<Hit>,
    /// [`AnswerEvent::Token`]s in order, then one [`AnswerEvent::Done`]
    /// carrying the finished answer with its citations.
    pub events: BoxStream<'static, Result<AnswerEvent>>,
}

impl std::fmt::Debug for AnswerStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerStream")
            .field("hits", &self.hits.len())
            .finish_non_exhaustive()
    }
}

/// Searches, then starts the answerer's stream over the hits.
pub(crate) async fn ask_stream(
    embedder: &dyn Embedder,
    store: &dyn VectorStore,
    answerer: &dyn Answerer,
    query: &Query,
) -> Result<AnswerStream> {
    let SearchResult { hits, .. } = query::search(embedder, store, query).await?;
    let events = answerer
        .answer_stream(&query.text, &hits)
        .instrument(tracing::info_span!("query.answer_stream"))
        .await?;
    Ok(AnswerStream { hits, events })
}
