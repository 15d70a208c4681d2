//! Python objects standing in for core stages: anything with
//! `embed(texts)`, `answer(question, hits)` or `chunk(document)`.
//!
//! Each adapter attaches to the interpreter only for the call itself, on a
//! blocking thread of the runtime, so the Python caller that waits (with the
//! GIL released) never deadlocks with it.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use pyo3::prelude::*;
use vaultiq_core::answerer::Answerer;
use vaultiq_core::chunker::Chunker;
use vaultiq_core::embedder::{EmbedKind, Embedder};
use vaultiq_core::{Answer, Chunk, Document, Error, Hit, Result};

use crate::errors::component_error;
use crate::results::{PyAnswer, PyDocument, PyHit};

/// Runs a Python call on a blocking thread of the shared runtime.
async fn call_python<T, F>(what: &'static str, call: F) -> Result<T>
where
    F: FnOnce(Python<'_>) -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(move || Python::attach(call))
        .await
        .map_err(|e| Error::model(format!("{what}: the Python call did not finish: {e}")))?
}

/// `obj.name` as a string, when the object has it.
fn optional_str_attr(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    match obj.getattr(name) {
        Ok(value) if !value.is_none() => Ok(Some(value.extract()?)),
        _ => Ok(None),
    }
}

/// `module.QualifiedName` of an object's class, for ids and messages.
fn class_name(obj: &Bound<'_, PyAny>) -> String {
    let class = obj.get_type();
    let module = class
        .module()
        .map(|m| m.to_string())
        .unwrap_or_else(|_| "?".into());
    let name = class
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into());
    format!("{module}.{name}")
}

/// A Python embedder: `embed(texts: list[str]) -> list[list[float]]`
/// (numpy arrays work too). Optional attributes: `dimension` (otherwise
/// measured once on a probe text), `model_id` (the embedding cache key;
/// default `python:{module}.{class}`), and `embed_query(texts)` for models
/// that embed questions differently.
#[derive(Debug)]
pub struct PyEmbedder {
    object: Arc<Py<PyAny>>,
    model_id: String,
    dimension: usize,
}

impl PyEmbedder {
    /// Checks the object's shape and finds its dimension.
    pub fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !object.hasattr("embed")? {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "embedder {} has no embed(texts) method",
                class_name(object)
            )));
        }
        let model_id = optional_str_attr(object, "model_id")?
            .unwrap_or_else(|| format!("python:{}", class_name(object)));
        let dimension = match object.getattr("dimension") {
            Ok(value) if !value.is_none() => value.extract()?,
            _ => {
                let probe = object.call_method1("embed", (vec!["dimension probe"],))?;
                let vectors: Vec<Vec<f32>> = probe.extract()?;
                vectors.first().map(Vec::len).unwrap_or(0)
            }
        };
        if dimension == 0 {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "embedder {} has dimension 0",
                class_name(object)
            )));
        }
        Ok(PyEmbedder {
            object: Arc::new(object.clone().unbind()),
            model_id,
            dimension,
        })
    }
}

#[async_trait]
impl Embedder for PyEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed(&self, texts: &[String], kind: EmbedKind) -> Result<Vec<Vec<f32>>> {
        let object = Arc::clone(&self.object);
        let texts = texts.to_vec();
        let expected = (texts.len(), self.dimension);
        call_python("Python embedder", move |py| {
            let object = object.bind(py);
            let method = match kind {
                EmbedKind::Query if object.hasattr("embed_query").unwrap_or(false) => "embed_query",
                _ => "embed",
            };
            let vectors: Vec<Vec<f32>> = object
                .call_method1(method, (texts,))
                .and_then(|v| v.extract())
                .map_err(|e| component_error(&format!("{}.{method}", class_name(object)), &e))?;
            if vectors.len() != expected.0 || vectors.iter().any(|v| v.len() != expected.1) {
                return Err(Error::model(format!(
                    "{}.{method} must return {} vectors of dimension {}",
                    class_name(object),
                    expected.0,
                    expected.1
                )));
            }
            Ok(vectors)
        })
        .await
    }
}

/// A Python answerer: `answer(question: str, hits: list[Hit])` returning a
/// `vaultiq.Answer` (citations built with `Citation.from_hit`) or a plain
/// string, which cites every hit it was given.
#[derive(Debug)]
pub struct PyAnswerer {
    object: Arc<Py<PyAny>>,
}

impl PyAnswerer {
    /// Checks that the object can answer.
    pub fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !object.hasattr("answer")? {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "answerer {} has no answer(question, hits) method",
                class_name(object)
            )));
        }
        Ok(PyAnswerer {
            object: Arc::new(object.clone().unbind()),
        })
    }
}

#[async_trait]
impl Answerer for PyAnswerer {
    async fn answer(&self, question: &str, hits: &[Hit]) -> Result<Answer> {
        let object = Arc::clone(&self.object);
        let question = question.to_string();
        let hits = hits.to_vec();
        call_python("Python answerer", move |py| {
            let object = object.bind(py);
            let who = format!("{}.answer", class_name(object));
            let py_hits: Vec<PyHit> = hits.iter().map(|h| PyHit { inner: h.clone() }).collect();
            let returned = object
                .call_method1("answer", (question.clone(), py_hits))
                .map_err(|e| component_error(&who, &e))?;
            let mut answer = if let Ok(text) = returned.extract::<String>() {
                Answer {
                    text,
                    citations: hits.iter().map(vaultiq_core::Citation::from_hit).collect(),
                    query: question.clone(),
                    timestamp: chrono::Utc::now(),
                    grounded: !hits.is_empty(),
                }
            } else {
                let answer = returned.cast::<PyAnswer>().map_err(|_| {
                    Error::model(format!("{who} must return a str or a vaultiq.Answer"))
                })?;
                answer.get().inner.clone()
            };
            // The contract of every answerer: cite only what was retrieved.
            let retrieved: HashSet<&str> = hits.iter().map(|h| h.chunk.id.as_str()).collect();
            if let Some(stray) = answer
                .citations
                .iter()
                .find(|c| !retrieved.contains(c.chunk_id.as_str()))
            {
                return Err(Error::model(format!(
                    "{who} cited `{}`, which is not one of the hits it was given",
                    stray.chunk_id
                )));
            }
            if answer.query.is_empty() {
                answer.query = question;
            }
            Ok(answer)
        })
        .await
    }
}

/// A Python chunker: `chunk(document: Document)` returning a list of
/// strings, or of `(text, char_start)` / `(text, char_start, heading_path)`
/// tuples. A plain string's offset is where it next occurs in the body.
#[derive(Debug)]
pub struct PyChunker {
    object: Py<PyAny>,
    fingerprint: String,
}

impl PyChunker {
    /// Checks that the object can chunk.
    pub fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !object.hasattr("chunk")? {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "chunker {} has no chunk(document) method",
                class_name(object)
            )));
        }
        let fingerprint = optional_str_attr(object, "fingerprint")?
            .unwrap_or_else(|| format!("python:{}", class_name(object)));
        Ok(PyChunker {
            object: object.clone().unbind(),
            fingerprint,
        })
    }
}

/// One returned piece: text with an optional offset and heading path.
#[derive(FromPyObject)]
enum Piece {
    Text(String),
    WithOffset((String, usize)),
    WithHeadings((String, usize, Vec<String>)),
}

impl Chunker for PyChunker {
    fn chunk(&self, document: &Document) -> Result<Vec<Chunk>> {
        // Called from inside the sync pipeline on a runtime worker: move
        // the worker's other tasks away while this one waits for the GIL.
        tokio::task::block_in_place(|| {
            Python::attach(|py| {
                let object = self.object.bind(py);
                let who = format!("{}.chunk", class_name(object));
                let pieces: Vec<Piece> = object
                    .call_method1(
                        "chunk",
                        (PyDocument {
                            inner: document.clone(),
                        },),
                    )
                    .and_then(|v| v.extract())
                    .map_err(|e| component_error(&who, &e))?;
                let mut chunks = Vec::with_capacity(pieces.len());
                let mut search_from = 0;
                for piece in pieces {
                    let (text, start, headings) = match piece {
                        Piece::Text(text) => {
                            let start = char_offset_of(&document.body, &text, search_from);
                            (text, start, Vec::new())
                        }
                        Piece::WithOffset((text, start)) => (text, start, Vec::new()),
                        Piece::WithHeadings((text, start, headings)) => (text, start, headings),
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    search_from = start;
                    let ordinal = u32::try_from(chunks.len())
                        .map_err(|_| Error::model(format!("{who} returned too many chunks")))?;
                    chunks.push(Chunk::new(document, ordinal, text, headings, start));
                }
                Ok(chunks)
            })
        })
    }

    fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }
}

/// Character offset of `needle` in `body` at or after character `from`
/// (`from` itself when it does not occur).
fn char_offset_of(body: &str, needle: &str, from: usize) -> usize {
    let byte_from = body
        .char_indices()
        .nth(from)
        .map(|(i, _)| i)
        .unwrap_or(body.len());
    match body[byte_from..].find(needle) {
        Some(byte) => from + body[byte_from..byte_from + byte].chars().count(),
        None => from,
    }
}
