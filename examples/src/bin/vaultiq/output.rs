//! How results are printed: for people, or as the HTTP contract's JSON.

use std::collections::BTreeMap;

use vaultiq_core::api::{timestamp, HitJson, QueryResponse, SourcesResponse};
use vaultiq_core::config::Config;
use vaultiq_core::state::SyncRun;
use vaultiq_core::{
    KnowledgeBase, QueryResult, SearchResult, SourceType, StageTimings, SyncReport,
};

fn timings(t: &StageTimings) -> String {
    format!(
        "embed {:.1} ms · search {:.1} ms · answer {:.1} ms · total {:.1} ms",
        t.embed_ms, t.search_ms, t.answer_ms, t.total_ms
    )
}

pub fn answer(result: &QueryResult, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&QueryResponse::from(&result.answer))?
        );
        return Ok(());
    }
    println!("{}\n", result.answer.text);
    if !result.answer.citations.is_empty() {
        println!("Sources:");
        for (i, c) in result.answer.citations.iter().enumerate() {
            println!(
                "  [{}] {} ({}, relevance {:.2})\n      {}\n      {}",
                i + 1,
                c.title,
                c.source_type,
                c.relevance_score,
                c.url,
                c.snippet
            );
        }
    }
    eprintln!("\n{}", timings(&result.timings));
    Ok(())
}

pub fn hits(result: &SearchResult, json: bool) -> anyhow::Result<()> {
    let hits: Vec<HitJson> = result.hits.iter().map(HitJson::from).collect();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "hits": hits }))?
        );
        return Ok(());
    }
    if hits.is_empty() {
        println!("No matching passages.");
    }
    for (i, hit) in hits.iter().enumerate() {
        println!(
            "{:>2}. {} ({}, relevance {:.2}, {})\n    {}\n    {}",
            i + 1,
            hit.title,
            hit.source_type,
            hit.relevance_score,
            hit.retrievers.join("+"),
            hit.url,
            hit.snippet
        );
    }
    eprintln!("\n{}", timings(&result.timings));
    Ok(())
}

pub fn sources(counts: &BTreeMap<SourceType, usize>, json: bool) -> anyhow::Result<()> {
    let response = SourcesResponse::new(counts);
    if json {
        println!("{}", serde_json::to_string_pretty(&response)?);
        return Ok(());
    }
    for (source, count) in &response.sources {
        println!("{source:<12} {count:>8}");
    }
    println!("{:<12} {:>8}", "total", response.total_documents);
    Ok(())
}

/// Prints any value as pretty JSON on stdout.
pub fn json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The JSON of a sync, ingest or reindex run.
pub fn run_report(report: &SyncReport) -> serde_json::Value {
    let sources: Vec<serde_json::Value> = report
        .sources
        .iter()
        .map(|p| {
            serde_json::json!({
                "source": p.source_name,
                "fetched": p.fetched,
                "indexed": p.indexed,
                "unchanged": p.unchanged,
                "chunks": p.chunks,
                "deleted": p.deleted,
                "elapsed_ms": p.elapsed.as_millis() as u64,
                "finished": p.finished,
            })
        })
        .collect();
    serde_json::json!({
        "sources": sources,
        "indexed": report.indexed(),
        "deleted": report.deleted(),
        "warnings": report.warnings,
    })
}

/// One source in `vaultiq status`.
#[derive(Debug, serde::Serialize)]
pub struct SourceStatus {
    /// Instance name.
    pub name: String,
    /// Its type when it is configured (`ingest` sources are not).
    #[serde(rename = "type")]
    pub source_type: Option<SourceType>,
    /// Whether `[[sources]]` lists it.
    pub configured: bool,
    /// Indexed documents of this source now.
    pub documents: usize,
    /// The last run, if any.
    pub last_sync: Option<LastSync>,
}

/// The last sync of a source.
#[derive(Debug, serde::Serialize)]
pub struct LastSync {
    pub started_at: String,
    pub finished_at: String,
    /// `ok`, or the error that stopped it.
    pub result: String,
    pub ok: bool,
    pub indexed: usize,
    pub deleted: usize,
}

/// Everything `vaultiq status` shows.
#[derive(Debug, serde::Serialize)]
pub struct Status {
    pub data_dir: String,
    pub sources: Vec<SourceStatus>,
    /// Per source type, as `GET /api/sources`.
    pub documents: SourcesResponse,
}

impl Status {
    /// Configured sources first (in config order), then any other source
    /// that has run (e.g. `vaultiq ingest` ones), by name.
    pub async fn gather(kb: &KnowledgeBase, config: &Config) -> anyhow::Result<Self> {
        let runs: Vec<SyncRun> = kb.last_runs().await?;
        let mut names: Vec<(String, Option<SourceType>, bool)> = config
            .sources
            .iter()
            .map(|s| (s.name.clone(), Some(s.source_type), true))
            .collect();
        let mut others: Vec<&str> = runs
            .iter()
            .map(|r| r.source_name.as_str())
            .filter(|n| !names.iter().any(|(c, _, _)| c == n))
            .collect();
        others.sort_unstable();
        others.dedup();
        names.extend(others.into_iter().map(|n| (n.to_string(), None, false)));
        let mut sources = Vec::with_capacity(names.len());
        for (name, source_type, configured) in names {
            let last_sync = runs
                .iter()
                .find(|r| r.source_name == name)
                .map(|r| LastSync {
                    started_at: timestamp(r.started_at),
                    finished_at: timestamp(r.finished_at),
                    ok: r.outcome == "ok",
                    result: r.outcome.clone(),
                    indexed: r.indexed,
                    deleted: r.deleted,
                });
            sources.push(SourceStatus {
                documents: kb.source_document_count(&name).await?,
                name,
                source_type,
                configured,
                last_sync,
            });
        }
        Ok(Status {
            data_dir: config.data_dir().display().to_string(),
            sources,
            documents: SourcesResponse::new(&kb.sources().await?),
        })
    }
}

pub fn status(status: &Status, as_json: bool) -> anyhow::Result<()> {
    if as_json {
        return json(status);
    }
    println!("Data directory: {}", status.data_dir);
    if status.sources.is_empty() {
        println!("No sources configured and no sync has run yet.");
    }
    for s in &status.sources {
        let kind = s
            .source_type
            .map(|t| t.to_string())
            .unwrap_or_else(|| "ingest".to_string());
        let last = match &s.last_sync {
            None => "never synced".to_string(),
            Some(l) => format!(
                "last sync {} {} (indexed {}, deleted {})",
                l.finished_at,
                if l.ok { "ok" } else { "FAILED" },
                l.indexed,
                l.deleted
            ),
        };
        println!(
            "{:<20} {:<10} {:>7} docs  {last}",
            s.name, kind, s.documents
        );
        if let Some(l) = s.last_sync.as_ref().filter(|l| !l.ok) {
            println!("{:<20} error: {}", "", l.result);
        }
    }
    println!("{} documents indexed", status.documents.total_documents);
    Ok(())
}
