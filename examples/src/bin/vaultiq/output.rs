//! How results are printed: for people, or as the HTTP contract's JSON.

use std::collections::BTreeMap;

use vaultiq_core::api::{timestamp, HitJson, QueryResponse, SourcesResponse};
use vaultiq_core::state::SyncRun;
use vaultiq_core::{QueryResult, SearchResult, SourceType, StageTimings};

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

pub fn status(
    runs: &[SyncRun],
    counts: &BTreeMap<SourceType, usize>,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        let runs: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "source": r.source_name,
                    "started_at": timestamp(r.started_at),
                    "finished_at": timestamp(r.finished_at),
                    "outcome": r.outcome,
                    "indexed": r.indexed,
                    "deleted": r.deleted,
                })
            })
            .collect();
        let body = serde_json::json!({ "runs": runs, "documents": SourcesResponse::new(counts) });
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(());
    }
    if runs.is_empty() {
        println!("No sync has run yet.");
    }
    for r in runs {
        println!(
            "{:<20} {}  {}  indexed {}, deleted {}",
            r.source_name,
            timestamp(r.finished_at),
            r.outcome,
            r.indexed,
            r.deleted
        );
    }
    println!("{} documents indexed", counts.values().sum::<usize>());
    Ok(())
}
