//! Python views of the core's result types: answers, citations, hits,
//! documents and sync reports. Each wraps the core value unchanged; the
//! `to_dict` shapes are the core's `api` types, so Python, the CLI and the
//! HTTP server print the same JSON.

use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vaultiq_core::api::{timestamp, HitJson, QueryResponse};
use vaultiq_core::StageTimings;

/// Parses JSON produced by serde into Python objects (dict/list/str/...).
fn json_to_py<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("JSON: {e}")))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// One cited source of an answer (the seed's `sources[]` entry).
#[pyclass(frozen, module = "vaultiq", name = "Citation")]
#[derive(Debug, Clone)]
pub struct PyCitation {
    pub(crate) inner: vaultiq_core::Citation,
}

#[pymethods]
impl PyCitation {
    /// The citation of a search hit (title, url, source type, score, snippet).
    #[staticmethod]
    fn from_hit(hit: &PyHit) -> Self {
        PyCitation {
            inner: vaultiq_core::Citation::from_hit(&hit.inner),
        }
    }
    /// Document title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.title
    }
    /// Link to the original.
    #[getter]
    fn url(&self) -> &str {
        &self.inner.url
    }
    /// `confluence`, `slack`, `jira`, `github`, `files` or `custom`.
    #[getter]
    fn source_type(&self) -> &'static str {
        self.inner.source_type.as_str()
    }
    /// Cosine similarity of question and passage, 0..1.
    #[getter]
    fn relevance_score(&self) -> f32 {
        self.inner.relevance_score
    }
    /// The supporting passage.
    #[getter]
    fn snippet(&self) -> &str {
        &self.inner.snippet
    }
    /// Id of the cited document.
    #[getter]
    fn document_id(&self) -> &str {
        &self.inner.document_id
    }
    /// Id of the cited chunk.
    #[getter]
    fn chunk_id(&self) -> &str {
        &self.inner.chunk_id
    }
    fn __repr__(&self) -> String {
        format!(
            "Citation(title={:?}, url={:?}, source_type={:?}, relevance_score={:.4})",
            self.inner.title,
            self.inner.url,
            self.inner.source_type.as_str(),
            self.inner.relevance_score
        )
    }
}

/// An answer with its cited sources.
#[pyclass(frozen, module = "vaultiq", name = "Answer")]
#[derive(Debug, Clone)]
pub struct PyAnswer {
    pub(crate) inner: vaultiq_core::Answer,
    pub(crate) timings: StageTimings,
}

#[pymethods]
impl PyAnswer {
    /// An answer built by a Python answerer. Every citation must come from
    /// the hits the answerer was given.
    #[new]
    #[pyo3(signature = (answer, sources=Vec::new(), query=String::new(), grounded=true))]
    fn new(
        answer: String,
        sources: Vec<PyRef<'_, PyCitation>>,
        query: String,
        grounded: bool,
    ) -> Self {
        PyAnswer {
            inner: vaultiq_core::Answer {
                text: answer,
                citations: sources.iter().map(|c| c.inner.clone()).collect(),
                query,
                timestamp: chrono::Utc::now(),
                grounded,
            },
            timings: StageTimings::default(),
        }
    }
    /// The answer text.
    #[getter]
    fn answer(&self) -> &str {
        &self.inner.text
    }
    /// The cited sources, in citation order (`[1]` is the first).
    #[getter]
    fn sources(&self) -> Vec<PyCitation> {
        self.inner
            .citations
            .iter()
            .map(|c| PyCitation { inner: c.clone() })
            .collect()
    }
    /// The question as asked.
    #[getter]
    fn query(&self) -> &str {
        &self.inner.query
    }
    /// When the answer was produced, RFC 3339 UTC (`2024-01-15T10:30:00Z`).
    #[getter]
    fn timestamp(&self) -> String {
        timestamp(self.inner.timestamp)
    }
    /// False when no passage was relevant enough and the answer says so.
    #[getter]
    fn grounded(&self) -> bool {
        self.inner.grounded
    }
    /// Milliseconds per stage: `embed_ms`, `search_ms`, `answer_ms`, `total_ms`.
    #[getter]
    fn timings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.timings;
        let dict = PyDict::new(py);
        dict.set_item("embed_ms", t.embed_ms)?;
        dict.set_item("search_ms", t.search_ms)?;
        dict.set_item("answer_ms", t.answer_ms)?;
        dict.set_item("total_ms", t.total_ms)?;
        Ok(dict)
    }
    /// The `POST /api/query` response body:
    /// `{answer, sources[{title, url, source_type, relevance_score, snippet}], query, timestamp}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &QueryResponse::from(&self.inner))
    }
    fn __repr__(&self) -> String {
        format!(
            "Answer(answer={:?}, sources=<{} citations>)",
            self.inner.text,
            self.inner.citations.len()
        )
    }
}

/// One ranked search hit: the passage, its document and which retrievers found it.
#[pyclass(frozen, module = "vaultiq", name = "Hit")]
#[derive(Debug, Clone)]
pub struct PyHit {
    pub(crate) inner: vaultiq_core::Hit,
}

#[pymethods]
impl PyHit {
    /// Document title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.document.title
    }
    /// Link to the original.
    #[getter]
    fn url(&self) -> &str {
        &self.inner.document.url
    }
    /// Kind of source.
    #[getter]
    fn source_type(&self) -> &'static str {
        self.inner.document.source.as_str()
    }
    /// Cosine similarity of query and passage, 0..1.
    #[getter]
    fn relevance_score(&self) -> f32 {
        self.inner.relevance_score
    }
    /// Reciprocal-rank-fusion score that orders the hits.
    #[getter]
    fn fused_score(&self) -> f32 {
        self.inner.fused_score
    }
    /// The passage, whitespace collapsed, at most 300 characters.
    #[getter]
    fn snippet(&self) -> String {
        vaultiq_core::snippet(&self.inner.chunk.text, 300)
    }
    /// The whole chunk text.
    #[getter]
    fn text(&self) -> &str {
        &self.inner.chunk.text
    }
    /// Headings above the chunk, outermost first.
    #[getter]
    fn heading_path(&self) -> Vec<String> {
        self.inner.chunk.heading_path.clone()
    }
    /// Document id (`{source type}:{source name}:{native id}`).
    #[getter]
    fn document_id(&self) -> &str {
        &self.inner.document.id
    }
    /// Chunk id (`{document id}#{ordinal}`).
    #[getter]
    fn chunk_id(&self) -> &str {
        &self.inner.chunk.id
    }
    /// The configured source instance.
    #[getter]
    fn source_name(&self) -> &str {
        &self.inner.document.source_name
    }
    /// Document metadata (space, channel, project, labels...).
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.inner.document.metadata.clone()
    }
    /// `keyword` and/or `vector`.
    #[getter]
    fn retrievers(&self) -> Vec<String> {
        HitJson::from(&self.inner).retrievers
    }
    /// The `search --json` shape: the `sources[]` fields plus
    /// `document_id`, `chunk_id`, `retrievers`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json_to_py(py, &HitJson::from(&self.inner))
    }
    fn __repr__(&self) -> String {
        format!(
            "Hit(title={:?}, chunk_id={:?}, relevance_score={:.4})",
            self.inner.document.title, self.inner.chunk.id, self.inner.relevance_score
        )
    }
}

/// A normalised document, as a Python chunker receives it.
#[pyclass(frozen, module = "vaultiq", name = "Document")]
#[derive(Debug, Clone)]
pub struct PyDocument {
    pub(crate) inner: vaultiq_core::Document,
}

#[pymethods]
impl PyDocument {
    /// Stable id `{source type}:{source name}:{native id}`.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }
    /// Kind of source.
    #[getter]
    fn source_type(&self) -> &'static str {
        self.inner.source.as_str()
    }
    /// The configured source instance.
    #[getter]
    fn source_name(&self) -> &str {
        &self.inner.source_name
    }
    /// Title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.title
    }
    /// Link to the original.
    #[getter]
    fn url(&self) -> &str {
        &self.inner.url
    }
    /// Plain text body with its structure (headings, lists, code) kept.
    #[getter]
    fn body(&self) -> &str {
        &self.inner.body
    }
    /// Author, when the source names one.
    #[getter]
    fn author(&self) -> Option<&str> {
        self.inner.author.as_deref()
    }
    /// Source metadata.
    #[getter]
    fn metadata(&self) -> BTreeMap<String, String> {
        self.inner.metadata.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "Document(id={:?}, title={:?})",
            self.inner.id, self.inner.title
        )
    }
}

/// Progress of one source's sync, as passed to `sync(progress=...)`.
#[pyclass(frozen, module = "vaultiq", name = "SyncProgress")]
#[derive(Debug, Clone)]
pub struct PySyncProgress {
    pub(crate) inner: vaultiq_core::SyncProgress,
}

#[pymethods]
impl PySyncProgress {
    /// The source being synced.
    #[getter]
    fn source_name(&self) -> &str {
        &self.inner.source_name
    }
    /// Documents fetched so far.
    #[getter]
    fn fetched(&self) -> usize {
        self.inner.fetched
    }
    /// Documents (re)indexed so far.
    #[getter]
    fn indexed(&self) -> usize {
        self.inner.indexed
    }
    /// Documents skipped because their content is unchanged.
    #[getter]
    fn unchanged(&self) -> usize {
        self.inner.unchanged
    }
    /// Chunks written so far.
    #[getter]
    fn chunks(&self) -> usize {
        self.inner.chunks
    }
    /// Documents removed because they vanished from the source.
    #[getter]
    fn deleted(&self) -> usize {
        self.inner.deleted
    }
    /// Seconds since the source's sync started.
    #[getter]
    fn elapsed(&self) -> f64 {
        self.inner.elapsed.as_secs_f64()
    }
    /// Documents fetched per second.
    #[getter]
    fn rate(&self) -> f64 {
        self.inner.rate()
    }
    /// True on the last report of the source.
    #[getter]
    fn finished(&self) -> bool {
        self.inner.finished
    }
    fn __repr__(&self) -> String {
        format!(
            "SyncProgress(source_name={:?}, fetched={}, indexed={}, unchanged={}, deleted={}, finished={})",
            self.inner.source_name,
            self.inner.fetched,
            self.inner.indexed,
            self.inner.unchanged,
            self.inner.deleted,
            self.inner.finished
        )
    }
}

/// What a sync or ingest did, per source.
#[pyclass(frozen, module = "vaultiq", name = "SyncReport")]
#[derive(Debug, Clone)]
pub struct PySyncReport {
    pub(crate) inner: vaultiq_core::SyncReport,
}

#[pymethods]
impl PySyncReport {
    /// The final progress of each source synced.
    #[getter]
    fn sources(&self) -> Vec<PySyncProgress> {
        self.inner
            .sources
            .iter()
            .map(|p| PySyncProgress { inner: p.clone() })
            .collect()
    }
    /// Documents (re)indexed over all sources.
    #[getter]
    fn indexed(&self) -> usize {
        self.inner.indexed()
    }
    /// Documents deleted over all sources.
    #[getter]
    fn deleted(&self) -> usize {
        self.inner.deleted()
    }
    /// Things that need a person's attention (e.g. a deletion held back).
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.inner.warnings.clone()
    }
    fn __repr__(&self) -> String {
        format!(
            "SyncReport(indexed={}, deleted={}, sources={}, warnings={})",
            self.inner.indexed(),
            self.inner.deleted(),
            self.inner.sources.len(),
            self.inner.warnings.len()
        )
    }
}
