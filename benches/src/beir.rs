//! A BEIR-format data set (corpus.jsonl, queries.jsonl, qrels/test.tsv) and
//! a connector that feeds its corpus through the real sync pipeline.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use async_trait::async_trait;
use serde::Deserialize;
use vaultiq_core::connector::{Checkpoint, Connector, FetchBatch, SourceDocument};
use vaultiq_core::{Document, SourceType};

use crate::metrics::Judgements;

#[derive(Debug, Deserialize)]
struct CorpusLine {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
}

#[derive(Debug, Deserialize)]
struct QueryLine {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// One corpus document.
#[derive(Debug, Clone)]
pub struct BeirDoc {
    /// Corpus id.
    pub id: String,
    /// Title (may be empty).
    pub title: String,
    /// Body.
    pub text: String,
}

/// A loaded data set; only queries that have judgements are kept.
#[derive(Debug)]
pub struct BeirDataset {
    /// Directory name, e.g. `scifact`.
    pub name: String,
    /// The corpus, in file order.
    pub corpus: Vec<BeirDoc>,
    /// `(query id, text)` in file order.
    pub queries: Vec<(String, String)>,
    /// Judgements per query id.
    pub qrels: HashMap<String, Judgements>,
}

fn lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    std::io::BufReader::new(file)
        .lines()
        .map(|l| l.with_context(|| format!("cannot read {}", path.display())))
        .filter(|l| l.as_ref().map_or(true, |s| !s.trim().is_empty()))
        .collect()
}

impl BeirDataset {
    /// Reads `dir`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("beir")
            .to_string();
        let corpus = lines(&dir.join("corpus.jsonl"))?
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let c: CorpusLine = serde_json::from_str(l)
                    .with_context(|| format!("corpus.jsonl line {}", i + 1))?;
                Ok(BeirDoc {
                    id: c.id,
                    title: c.title,
                    text: c.text,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut qrels: HashMap<String, Judgements> = HashMap::new();
        for (i, line) in lines(&dir.join("qrels").join("test.tsv"))?
            .iter()
            .enumerate()
        {
            let fields: Vec<&str> = line.split('\t').collect();
            if i == 0 && fields.first() == Some(&"query-id") {
                continue;
            }
            let [query, doc, score] = fields[..] else {
                bail!(
                    "qrels/test.tsv line {}: expected 3 tab-separated fields",
                    i + 1
                );
            };
            let score: u32 = score
                .trim()
                .parse()
                .with_context(|| format!("qrels line {}: score", i + 1))?;
            qrels
                .entry(query.to_string())
                .or_default()
                .insert(doc.to_string(), score);
        }
        let queries = lines(&dir.join("queries.jsonl"))?
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let q: QueryLine = serde_json::from_str(l)
                    .with_context(|| format!("queries.jsonl line {}", i + 1))?;
                Ok((q.id, q.text))
            })
            .collect::<anyhow::Result<Vec<_>>>()?
            .into_iter()
            .filter(|(id, _)| qrels.contains_key(id))
            .collect();
        Ok(BeirDataset {
            name,
            corpus,
            queries,
            qrels,
        })
    }

    /// Keeps the first `queries` judged queries, the documents they judge,
    /// and the first `extra_docs` other documents: a small, still meaningful set.
    pub fn subset(mut self, queries: usize, extra_docs: usize) -> Self {
        self.queries.truncate(queries);
        let keep_queries: std::collections::HashSet<&String> =
            self.queries.iter().map(|(id, _)| id).collect();
        self.qrels.retain(|q, _| keep_queries.contains(q));
        let judged: std::collections::HashSet<String> = self
            .qrels
            .values()
            .flat_map(|j| j.keys().cloned())
            .collect();
        let mut others = 0;
        self.corpus.retain(|d| {
            if judged.contains(&d.id) {
                true
            } else {
                others += 1;
                others <= extra_docs
            }
        });
        self
    }
}

/// Feeds a corpus to the sync pipeline as a custom source.
#[derive(Debug)]
pub struct BeirConnector {
    name: String,
    docs: Arc<Vec<BeirDoc>>,
    batch_size: usize,
}

impl BeirConnector {
    /// A connector named `name` over `docs`.
    pub fn new(name: &str, docs: Vec<BeirDoc>, batch_size: usize) -> Self {
        BeirConnector {
            name: name.to_string(),
            docs: Arc::new(docs),
            batch_size: batch_size.max(1),
        }
    }
}

#[async_trait]
impl Connector for BeirConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_type(&self) -> SourceType {
        SourceType::Custom
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> vaultiq_core::Result<FetchBatch> {
        let start = checkpoint.and_then(|c| c.0.as_u64()).unwrap_or(0) as usize;
        let end = (start + self.batch_size).min(self.docs.len());
        let documents = self.docs[start.min(end)..end]
            .iter()
            .map(|d| SourceDocument {
                document: Document::new(
                    SourceType::Custom,
                    &self.name,
                    &d.id,
                    d.title.clone(),
                    d.text.clone(),
                ),
                raw: serde_json::Value::Null,
            })
            .collect();
        Ok(FetchBatch {
            documents,
            checkpoint: Checkpoint(serde_json::json!(end)),
            done: end >= self.docs.len(),
        })
    }

    async fn list_ids(&self) -> vaultiq_core::Result<Vec<String>> {
        Ok(self
            .docs
            .iter()
            .map(|d| Document::make_id(SourceType::Custom, &self.name, &d.id))
            .collect())
    }
}
