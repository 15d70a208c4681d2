//! `vaultiq.KnowledgeBase`: the core knowledge base behind one lock, with
//! blocking methods that release the GIL and `*_async` twins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use pyo3::prelude::*;
use tokio::sync::RwLock;
use vaultiq_core::answerer::Answerer;
use vaultiq_core::config::Config;
use vaultiq_core::connector::{Connector, FilesConnector};
use vaultiq_core::embedder::{Embedder, LocalEmbedder};
use vaultiq_core::pipeline::query::MAX_TOP_K;
use vaultiq_core::{
    Error, KnowledgeBase, Query, SearchMode, SourceType, SyncOptions, SyncProgress, SyncReport,
};

use crate::components::{PyAnswerer, PyChunker, PyEmbedder};
use crate::errors::to_py;
use crate::results::{PyAnswer, PyHit, PySyncProgress, PySyncReport};
use crate::runtime::{self, CallbackError};
use crate::sources::PySource;

/// A knowledge base: sources, an index and a question answerer in one
/// data directory.
///
/// Queries share the knowledge base (many threads may ask at once);
/// `add_source` waits for running calls to finish.
#[pyclass(frozen, module = "vaultiq", name = "KnowledgeBase")]
pub struct PyKnowledgeBase {
    kb: Arc<RwLock<KnowledgeBase>>,
}

impl std::fmt::Debug for PyKnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").finish_non_exhaustive()
    }
}

/// `embedder=`: the local model by default or by name, else a Python object.
fn embedder_of(py: Python<'_>, embedder: Option<&Bound<'_, PyAny>>) -> PyResult<Arc<dyn Embedder>> {
    match embedder {
        None => Ok(Arc::new(load_local_model(py)?)),
        Some(value) => match value.extract::<String>() {
            Ok(name) if name == "local" => Ok(Arc::new(load_local_model(py)?)),
            Ok(name) => Err(to_py(
                py,
                Error::Config(format!(
                    "embedder `{name}` is not available in this build; use \"local\" or a Python object with embed(texts)"
                )),
            )),
            Err(_) => Ok(Arc::new(PyEmbedder::new(value)?)),
        },
    }
}

fn load_local_model(py: Python<'_>) -> PyResult<LocalEmbedder> {
    py.detach(|| LocalEmbedder::builder().build())
        .map_err(|e| to_py(py, e))
}

/// `answerer=`: the extractive answerer by default or by name, else a Python object.
fn answerer_of(
    py: Python<'_>,
    answerer: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Arc<dyn Answerer>>> {
    match answerer {
        None => Ok(None),
        Some(value) => match value.extract::<String>() {
            Ok(name) if name == "extractive" => Ok(None),
            Ok(name) => Err(to_py(
                py,
                Error::Config(format!(
                    "answerer `{name}` is not available in this build; use \"extractive\" or a Python object with answer(question, hits)"
                )),
            )),
            Err(_) => Ok(Some(Arc::new(PyAnswerer::new(value)?))),
        },
    }
}

/// `store=`: only the embedded store is in this build.
fn check_store(py: Python<'_>, store: Option<&str>) -> PyResult<()> {
    match store {
        None | Some("embedded") => Ok(()),
        Some(other) => Err(to_py(
            py,
            Error::Config(format!(
                "store `{other}` is not available in this build; use \"embedded\""
            )),
        )),
    }
}

/// A query from the Python arguments.
fn query_of(
    text: String,
    top_k: i64,
    source_filter: Option<Vec<String>>,
    mode: &str,
) -> vaultiq_core::Result<Query> {
    let top_k = usize::try_from(top_k)
        .map_err(|_| Error::InvalidInput(format!("top_k must be 1..={MAX_TOP_K}, got {top_k}")))?;
    let sources = source_filter
        .unwrap_or_default()
        .iter()
        .map(|s| s.trim().parse::<SourceType>())
        .collect::<vaultiq_core::Result<Vec<_>>>()?;
    let mode = match mode {
        "hybrid" => SearchMode::Hybrid,
        "keyword" => SearchMode::Keyword,
        "vector" => SearchMode::Vector,
        other => {
            return Err(Error::InvalidInput(format!(
                "mode must be hybrid, keyword or vector, got `{other}`"
            )))
        }
    };
    Ok(Query::new(text)
        .top_k(top_k)
        .source_filter(sources)
        .mode(mode))
}

/// The source name `vaultiq ingest PATH` would use: the directory's name
/// with anything but letters, digits, `-`, `_`, `.` replaced by `-`.
fn default_source_name(path: &Path) -> vaultiq_core::Result<String> {
    let absolute =
        std::fs::canonicalize(path).map_err(|e| Error::io("cannot read directory", path, e))?;
    Ok(absolute
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("files")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect())
}

type Progress = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

/// Calls the Python `progress` callable, keeping the first exception it raises.
fn progress_of(progress: Option<Py<PyAny>>, raised: &CallbackError) -> Progress {
    match progress {
        None => Arc::new(|_: &SyncProgress| {}),
        Some(callable) => {
            let raised = raised.clone();
            Arc::new(move |p: &SyncProgress| {
                // On a runtime worker: let its other tasks move while this
                // one waits for the GIL.
                tokio::task::block_in_place(|| {
                    Python::attach(|py| {
                        let report = PySyncProgress { inner: p.clone() };
                        if let Err(err) = callable.call1(py, (report,)) {
                            raised.record(err);
                        }
                    })
                })
            })
        }
    }
}

/// Sync options whose run stops cleanly once `stop` is set (Ctrl-C).
fn stoppable(stop: Arc<AtomicBool>) -> SyncOptions {
    SyncOptions {
        stop: Some(stop),
        ..SyncOptions::default()
    }
}

impl PyKnowledgeBase {
    fn sync_work(
        &self,
        source: Option<String>,
        progress: Progress,
        stop: Arc<AtomicBool>,
    ) -> impl std::future::Future<Output = vaultiq_core::Result<PySyncReport>> + Send + 'static
    {
        let kb = Arc::clone(&self.kb);
        async move {
            let kb = kb.read_owned().await;
            let options = stoppable(stop);
            let report = match source {
                Some(name) => kb.sync_source(&name, &options, progress.as_ref()).await?,
                None => kb.sync(&options, progress.as_ref()).await?,
            };
            Ok(PySyncReport { inner: report })
        }
    }

    fn connector_work(
        &self,
        connector: Arc<dyn Connector>,
        progress: Progress,
        stop: Arc<AtomicBool>,
    ) -> impl std::future::Future<Output = vaultiq_core::Result<PySyncReport>> + Send + 'static
    {
        let kb = Arc::clone(&self.kb);
        async move {
            let kb = kb.read_owned().await;
            let report: SyncReport = kb
                .sync_connector(connector, &stoppable(stop), progress.as_ref())
                .await?;
            Ok(PySyncReport { inner: report })
        }
    }

    fn ask_work(
        &self,
        query: vaultiq_core::Result<Query>,
    ) -> impl std::future::Future<Output = vaultiq_core::Result<PyAnswer>> + Send + 'static {
        let kb = Arc::clone(&self.kb);
        async move {
            let query = query?;
            let result = kb.read().await.ask(&query).await?;
            Ok(PyAnswer {
                inner: result.answer,
                timings: result.timings,
            })
        }
    }

    fn search_work(
        &self,
        query: vaultiq_core::Result<Query>,
    ) -> impl std::future::Future<Output = vaultiq_core::Result<Vec<PyHit>>> + Send + 'static {
        let kb = Arc::clone(&self.kb);
        async move {
            let query = query?;
            let result = kb.read().await.search(&query).await?;
            Ok(result
                .hits
                .into_iter()
                .map(|inner| PyHit { inner })
                .collect())
        }
    }

    fn sources_work(
        &self,
    ) -> impl std::future::Future<Output = vaultiq_core::Result<BTreeMap<String, usize>>> + Send + 'static
    {
        let kb = Arc::clone(&self.kb);
        async move {
            let counts = kb.read().await.sources().await?;
            Ok(counts
                .into_iter()
                .map(|(source, n)| (source.to_string(), n))
                .collect())
        }
    }

    fn files_connector(
        path: PathBuf,
        name: Option<String>,
    ) -> vaultiq_core::Result<Arc<dyn Connector>> {
        let name = match name {
            Some(name) => name,
            None => default_source_name(&path)?,
        };
        Ok(Arc::new(FilesConnector::builder(name, path).build()?))
    }
}

#[pymethods]
impl PyKnowledgeBase {
    /// Opens (or creates) the knowledge base in `data_dir`: the embedded
    /// store, the fs lake and SQLite sync state live there.
    ///
    /// `embedder`: `"local"` (default, the bundled all-MiniLM-L6-v2) or an
    /// object with `embed(texts) -> list[list[float]]`. `store`:
    /// `"embedded"` (default). `answerer`: `"extractive"` (default) or an
    /// object with `answer(question, hits) -> Answer | str`. `chunker`: the
    /// recursive splitter (default) or an object with `chunk(document)`.
    #[new]
    #[pyo3(signature = (data_dir=PathBuf::from(".vaultiq"), *, embedder=None, store=None, answerer=None, chunker=None))]
    fn new(
        py: Python<'_>,
        data_dir: PathBuf,
        embedder: Option<&Bound<'_, PyAny>>,
        store: Option<&str>,
        answerer: Option<&Bound<'_, PyAny>>,
        chunker: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        check_store(py, store)?;
        let embedder = embedder_of(py, embedder)?;
        let answerer = answerer_of(py, answerer)?;
        let chunker = chunker.map(PyChunker::new).transpose()?;
        let kb = py
            .detach(|| {
                let mut builder = KnowledgeBase::local_builder(&data_dir, embedder)?;
                if let Some(answerer) = answerer {
                    builder = builder.answerer(answerer);
                }
                if let Some(chunker) = chunker {
                    builder = builder.chunker(Arc::new(chunker));
                }
                builder.build()
            })
            .map_err(|e| to_py(py, e))?;
        Ok(PyKnowledgeBase {
            kb: Arc::new(RwLock::new(kb)),
        })
    }

    /// Opens the knowledge base a `vaultiq.toml` describes, with its
    /// `[[sources]]` (relative paths resolve against the file's folder).
    #[staticmethod]
    fn from_config(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let kb = py
            .detach(|| Config::from_file(&path)?.open())
            .map_err(|e| to_py(py, e))?;
        Ok(PyKnowledgeBase {
            kb: Arc::new(RwLock::new(kb)),
        })
    }

    /// Adds a source (`vaultiq.sources.Confluence(...)`, `Slack`, `Jira`,
    /// `GitHub`, `Files`) for `sync` to pull; names must be unique.
    fn add_source(&self, py: Python<'_>, source: PyRef<'_, PySource>) -> PyResult<()> {
        let connector = Arc::clone(&source.connector);
        let kb = Arc::clone(&self.kb);
        runtime::block_on(py, async move { kb.write().await.add_source(connector) })
    }

    /// Names of the sources added so far.
    #[getter]
    fn source_names(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let kb = Arc::clone(&self.kb);
        runtime::block_on(py, async move { Ok(kb.read().await.source_names()) })
    }

    /// Indexes a directory of .md, .txt, .html and .json files as source
    /// `name` (default: the directory's name, as `vaultiq ingest` does).
    /// Incremental: unchanged files are skipped, deleted ones removed.
    #[pyo3(signature = (path, *, name=None, progress=None))]
    fn ingest(
        &self,
        py: Python<'_>,
        path: PathBuf,
        name: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PySyncReport> {
        let connector = py
            .detach(|| Self::files_connector(path, name))
            .map_err(|e| to_py(py, e))?;
        let raised = CallbackError::default();
        let stop = Arc::new(AtomicBool::new(false));
        let work = self.connector_work(connector, progress_of(progress, &raised), stop.clone());
        runtime::block_on_watching(py, work, &raised, Some(&stop))
    }

    /// Awaitable `ingest`.
    #[pyo3(signature = (path, *, name=None, progress=None))]
    fn ingest_async<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        name: Option<String>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let raised = CallbackError::default();
        let progress = progress_of(progress, &raised);
        let kb = Arc::clone(&self.kb);
        let work = async move {
            let connector = Self::files_connector(path, name)?;
            PyKnowledgeBase { kb }
                .connector_work(connector, progress, Arc::default())
                .await
        };
        runtime::awaitable_watching(py, work, raised)
    }

    /// Syncs every added source (or only `source`), calling `progress` with
    /// a `SyncProgress` after each batch; the first exception `progress`
    /// raises is re-raised when the sync has finished. Ctrl-C stops the
    /// sync once the batch in progress is stored and checkpointed, then
    /// raises `KeyboardInterrupt`; the next sync resumes from there. A
    /// second Ctrl-C while it finishes that batch stops at once.
    #[pyo3(signature = (*, progress=None, source=None))]
    fn sync(
        &self,
        py: Python<'_>,
        progress: Option<Py<PyAny>>,
        source: Option<String>,
    ) -> PyResult<PySyncReport> {
        let raised = CallbackError::default();
        let stop = Arc::new(AtomicBool::new(false));
        let work = self.sync_work(source, progress_of(progress, &raised), stop.clone());
        runtime::block_on_watching(py, work, &raised, Some(&stop))
    }

    /// Awaitable `sync`.
    #[pyo3(signature = (*, progress=None, source=None))]
    fn sync_async<'py>(
        &self,
        py: Python<'py>,
        progress: Option<Py<PyAny>>,
        source: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let raised = CallbackError::default();
        let work = self.sync_work(source, progress_of(progress, &raised), Arc::default());
        runtime::awaitable_watching(py, work, raised)
    }

    /// Answers `query` with cited sources from the `top_k` best passages,
    /// optionally only from some source types (`["confluence", "github"]`).
    #[pyo3(signature = (query, top_k=5, source_filter=None))]
    fn ask(
        &self,
        py: Python<'_>,
        query: String,
        top_k: i64,
        source_filter: Option<Vec<String>>,
    ) -> PyResult<PyAnswer> {
        runtime::block_on(
            py,
            self.ask_work(query_of(query, top_k, source_filter, "hybrid")),
        )
    }

    /// Awaitable `ask`.
    #[pyo3(signature = (query, top_k=5, source_filter=None))]
    fn ask_async<'py>(
        &self,
        py: Python<'py>,
        query: String,
        top_k: i64,
        source_filter: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(
            py,
            self.ask_work(query_of(query, top_k, source_filter, "hybrid")),
        )
    }

    /// The `top_k` best passages for `query`; `mode` is `"hybrid"`
    /// (default), `"keyword"` or `"vector"`.
    #[pyo3(signature = (query, top_k=5, source_filter=None, mode="hybrid"))]
    fn search(
        &self,
        py: Python<'_>,
        query: String,
        top_k: i64,
        source_filter: Option<Vec<String>>,
        mode: &str,
    ) -> PyResult<Vec<PyHit>> {
        runtime::block_on(
            py,
            self.search_work(query_of(query, top_k, source_filter, mode)),
        )
    }

    /// Awaitable `search`.
    #[pyo3(signature = (query, top_k=5, source_filter=None, mode="hybrid"))]
    fn search_async<'py>(
        &self,
        py: Python<'py>,
        query: String,
        top_k: i64,
        source_filter: Option<Vec<String>>,
        mode: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(
            py,
            self.search_work(query_of(query, top_k, source_filter, mode)),
        )
    }

    /// Indexed documents per source type, e.g. `{"confluence": 120, "files": 8}`.
    fn sources(&self, py: Python<'_>) -> PyResult<BTreeMap<String, usize>> {
        runtime::block_on(py, self.sources_work())
    }

    /// Awaitable `sources`.
    fn sources_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        runtime::awaitable(py, self.sources_work())
    }

    /// Benchmark support: runs `ask` `calls` times inside Rust (no Python
    /// between calls) and returns the milliseconds of each call, to compare
    /// with the same calls made from Python.
    #[pyo3(signature = (query, calls, top_k=5))]
    fn _rust_ask_timings(
        &self,
        py: Python<'_>,
        query: String,
        calls: usize,
        top_k: i64,
    ) -> PyResult<Vec<f64>> {
        let kb = Arc::clone(&self.kb);
        let query = query_of(query, top_k, None, "hybrid");
        runtime::block_on(py, async move {
            let query = query?;
            let kb = kb.read().await;
            let mut timings = Vec::with_capacity(calls);
            for _ in 0..calls {
                let started = Instant::now();
                kb.ask(&query).await?;
                timings.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(timings)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "KnowledgeBase(sources={:?})",
            self.source_names(py)?
        ))
    }
}
