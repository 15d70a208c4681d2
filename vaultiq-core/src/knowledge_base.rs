//! The knowledge base: any chunker, embedder, store, answerer, lake and
//! state store wired together with the sources they sync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::answerer::{Answerer, ExtractiveAnswerer};
use crate::chunker::{Chunker, RecursiveChunker};
use crate::connector::{Connector, FilesConnector};
use crate::embedder::{CachedEmbedder, Embedder, LocalEmbedder};
use crate::lake::{FsLake, Lake};
use crate::pipeline::collect::{self, CollectOptions, CollectReport};
use crate::pipeline::lake_index::{self, LakeIndexReport};
use crate::pipeline::query::{self, Query, QueryResult, SearchResult};
use crate::pipeline::sync::{self, SyncOptions, SyncParts, SyncProgress, SyncReport};
use crate::state::{SqliteStateStore, StateStore, SyncRun};
use crate::store::{EmbeddedStore, VectorStore};
use crate::{Error, Result, SourceType};

/// Wires stage implementations into a knowledge base.
#[derive(Default)]
pub struct KnowledgeBaseBuilder {
    chunker: Option<Arc<dyn Chunker>>,
    embedder: Option<Arc<dyn Embedder>>,
    store: Option<Arc<dyn VectorStore>>,
    answerer: Option<Arc<dyn Answerer>>,
    lake: Option<Arc<dyn Lake>>,
    state: Option<Arc<dyn StateStore>>,
    sources: Vec<Arc<dyn Connector>>,
}

impl std::fmt::Debug for KnowledgeBaseBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBaseBuilder")
            .field("sources", &self.sources.len())
            .finish_non_exhaustive()
    }
}

impl KnowledgeBaseBuilder {
    /// The chunker (default: [`RecursiveChunker`] with its defaults).
    pub fn chunker(mut self, chunker: Arc<dyn Chunker>) -> Self {
        self.chunker = Some(chunker);
        self
    }

    /// The embedder (required).
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }

    /// The vector store (required).
    pub fn store(mut self, store: Arc<dyn VectorStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The answerer (default: [`ExtractiveAnswerer`]).
    pub fn answerer(mut self, answerer: Arc<dyn Answerer>) -> Self {
        self.answerer = Some(answerer);
        self
    }

    /// The raw lake (required).
    pub fn lake(mut self, lake: Arc<dyn Lake>) -> Self {
        self.lake = Some(lake);
        self
    }

    /// The sync state store (required).
    pub fn state(mut self, state: Arc<dyn StateStore>) -> Self {
        self.state = Some(state);
        self
    }

    /// Adds a source to sync.
    pub fn source(mut self, connector: Arc<dyn Connector>) -> Self {
        self.sources.push(connector);
        self
    }

    /// Checks that every required part is there and source names are unique.
    pub fn build(self) -> Result<KnowledgeBase> {
        let missing = |what: &str| Error::Config(format!("knowledge base needs a {what}"));
        let chunker = match self.chunker {
            Some(c) => c,
            None => Arc::new(RecursiveChunker::builder().build()?),
        };
        let mut kb = KnowledgeBase {
            chunker,
            embedder: self.embedder.ok_or_else(|| missing("embedder"))?,
            store: self.store.ok_or_else(|| missing("store"))?,
            answerer: self
                .answerer
                .unwrap_or_else(|| Arc::new(ExtractiveAnswerer::default())),
            lake: self.lake.ok_or_else(|| missing("lake"))?,
            state: self.state.ok_or_else(|| missing("state store"))?,
            sources: Vec::new(),
        };
        for source in self.sources {
            kb.add_source(source)?;
        }
        Ok(kb)
    }
}

/// Sources, pipelines and stages of one knowledge base.
pub struct KnowledgeBase {
    chunker: Arc<dyn Chunker>,
    embedder: Arc<dyn Embedder>,
    store: Arc<dyn VectorStore>,
    answerer: Arc<dyn Answerer>,
    lake: Arc<dyn Lake>,
    state: Arc<dyn StateStore>,
    sources: Vec<Arc<dyn Connector>>,
}

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase")
            .field("embedder", &self.embedder.model_id())
            .field("sources", &self.source_names())
            .finish_non_exhaustive()
    }
}

impl KnowledgeBase {
    /// A builder to wire any implementations.
    pub fn builder() -> KnowledgeBaseBuilder {
        KnowledgeBaseBuilder::default()
    }

    /// The embedded default in one data directory: the local model (found as
    /// [`crate::embedder::find_model_dir`] says) behind the embedding cache,
    /// the embedded store, the fs lake, SQLite state, extractive answers.
    pub fn open_local(data_dir: impl AsRef<Path>) -> Result<Self> {
        Self::open_local_with(data_dir, LocalEmbedder::builder().build()?)
    }

    /// Like [`KnowledgeBase::open_local`] with an already loaded model.
    pub fn open_local_with(data_dir: impl AsRef<Path>, embedder: LocalEmbedder) -> Result<Self> {
        let dir = data_dir.as_ref();
        Self::local_builder(dir, Arc::new(embedder))?.build()
    }

    /// A builder preset with the embedded store, fs lake and SQLite state in
    /// `data_dir`, and `embedder` behind the embedding cache.
    pub fn local_builder(
        data_dir: &Path,
        embedder: Arc<dyn Embedder>,
    ) -> Result<KnowledgeBaseBuilder> {
        Ok(KnowledgeBase::builder()
            .embedder(Arc::new(CachedEmbedder::open(embedder, data_dir)?))
            .store(Arc::new(EmbeddedStore::open(data_dir)?))
            .lake(Arc::new(FsLake::new(data_dir.join("lake"))))
            .state(Arc::new(SqliteStateStore::open(data_dir)?)))
    }

    /// Adds a source; its name must be unique.
    pub fn add_source(&mut self, connector: Arc<dyn Connector>) -> Result<()> {
        if self.sources.iter().any(|s| s.name() == connector.name()) {
            return Err(Error::Config(format!(
                "two sources are named `{}`; names must be unique",
                connector.name()
            )));
        }
        self.sources.push(connector);
        Ok(())
    }

    /// Names of the configured sources.
    pub fn source_names(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.name().to_string()).collect()
    }

    /// The embedder in use.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.embedder
    }

    /// The store in use.
    pub fn store(&self) -> &Arc<dyn VectorStore> {
        &self.store
    }

    fn parts(&self) -> SyncParts<'_> {
        SyncParts {
            chunker: self.chunker.as_ref(),
            embedder: self.embedder.as_ref(),
            store: self.store.as_ref(),
            lake: self.lake.as_ref(),
            state: self.state.as_ref(),
        }
    }

    /// Syncs every source in turn. A failing source does not stop the
    /// others; the first error is returned after all have run.
    pub async fn sync(
        &self,
        options: &SyncOptions,
        progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    ) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut first_error = None;
        for source in &self.sources {
            if let Err(err) =
                sync::sync_source(&self.parts(), source, options, &mut report, progress).await
            {
                tracing::error!(source = source.name(), error = %err, "sync failed");
                let stopped = matches!(err, Error::Cancelled);
                first_error.get_or_insert(err);
                // A requested stop ends the whole run, not just this source.
                if stopped {
                    break;
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(report),
        }
    }

    /// Syncs one source by name.
    pub async fn sync_source(
        &self,
        name: &str,
        options: &SyncOptions,
        progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    ) -> Result<SyncReport> {
        let source = self
            .sources
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::Config(format!(
                    "no source named `{name}`; configured: {}",
                    self.source_names().join(", ")
                ))
            })?;
        self.sync_connector(Arc::clone(source), options, progress)
            .await
    }

    /// Syncs a directory of files as source `name` (added if not configured).
    pub async fn ingest_dir(&self, name: &str, dir: impl Into<PathBuf>) -> Result<SyncReport> {
        let connector: Arc<dyn Connector> = Arc::new(FilesConnector::builder(name, dir).build()?);
        self.sync_connector(connector, &SyncOptions::default(), &|_| {})
            .await
    }

    /// Syncs any connector once, with progress.
    pub async fn sync_connector(
        &self,
        connector: Arc<dyn Connector>,
        options: &SyncOptions,
        progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    ) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        sync::sync_source(&self.parts(), &connector, options, &mut report, progress).await?;
        Ok(report)
    }

    /// Re-chunks and re-embeds every document in the raw lake (or only
    /// those of source `only`) without calling any source API: what a model
    /// or chunker change needs. Unchanged chunks come from the embedding
    /// cache; `options.stop` stops it after the current batch.
    pub async fn reindex(
        &self,
        only: Option<&str>,
        options: &SyncOptions,
        progress: &(dyn Fn(&SyncProgress) + Send + Sync),
    ) -> Result<SyncReport> {
        crate::pipeline::reindex::reindex(&self.parts(), only, options, progress).await
    }

    /// Collects one configured source into the raw lake only (fetch ->
    /// lake -> checkpoint, nothing is embedded), within `options`' deadline
    /// and limit: the connector half of a deployment in which lake events
    /// trigger the indexing ([`KnowledgeBase::index_lake_documents`]).
    pub async fn collect_source(
        &self,
        name: &str,
        options: &CollectOptions,
    ) -> Result<CollectReport> {
        let source = self.source(name)?;
        collect::collect_source(&self.parts(), source, options).await
    }

    /// Indexes the lake records of documents `ids` of source `source_name`
    /// as they are now: present ones are indexed unless unchanged, absent
    /// ones are removed from the index. What a lake event asks for.
    pub async fn index_lake_documents(
        &self,
        source_name: &str,
        ids: &[String],
    ) -> Result<LakeIndexReport> {
        lake_index::index_lake_documents(&self.parts(), source_name, ids).await
    }

    /// The configured source named `name`.
    fn source(&self, name: &str) -> Result<&Arc<dyn Connector>> {
        self.sources
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                Error::Config(format!(
                    "no source named `{name}`; configured: {}",
                    self.source_names().join(", ")
                ))
            })
    }

    /// Ranked hits for a query.
    pub async fn search(&self, query: &Query) -> Result<SearchResult> {
        query::search(self.embedder.as_ref(), self.store.as_ref(), query).await
    }

    /// An answer with citations for a query.
    pub async fn ask(&self, query: &Query) -> Result<QueryResult> {
        query::ask(
            self.embedder.as_ref(),
            self.store.as_ref(),
            self.answerer.as_ref(),
            query,
        )
        .await
    }

    /// An answer as a stream of events, after the search has run.
    pub async fn ask_stream(&self, query: &Query) -> Result<crate::pipeline::stream::AnswerStream> {
        crate::pipeline::stream::ask_stream(
            self.embedder.as_ref(),
            self.store.as_ref(),
            self.answerer.as_ref(),
            query,
        )
        .await
    }

    /// Number of documents per source type.
    pub async fn sources(&self) -> Result<BTreeMap<SourceType, usize>> {
        self.store.count_by_source().await
    }

    /// Documents of one source instance that are indexed.
    pub async fn source_document_count(&self, source_name: &str) -> Result<usize> {
        Ok(self.state.document_ids(source_name).await?.len())
    }

    /// The last sync run of each source.
    pub async fn last_runs(&self) -> Result<Vec<SyncRun>> {
        self.state.last_runs().await
    }
}
