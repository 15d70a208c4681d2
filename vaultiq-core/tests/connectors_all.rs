//! All four remote connectors end to end: a `vaultiq.toml` with one
//! `[[sources]]` entry per type (credentials from JSON files in the secret
//! shapes of the original deployment) is synced from one loopback server
//! that answers like the Confluence, Slack, Jira and GitHub REST APIs, into
//! the embedded store with the local model; queries with a source filter
//! then return only the sources asked for.
//!
//! The ignored test `throughput_of_all_four_sources` measures documents/s
//! and requests per document; run it with
//! `cargo test --release -p vaultiq-core --test connectors_all -- --ignored --nocapture`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{TimeZone, Utc};
use mock_server::{HashEmbedder, MockServer, Reply, Seen};
use serde_json::{json, Value};
use vaultiq_core::config::Config;
use vaultiq_core::embedder::{Embedder, LocalEmbedder};
use vaultiq_core::{KnowledgeBase, Query, SourceType, SyncOptions};

/// One document of the test corpus, served by every source.
struct Topic {
    title: String,
    body: String,
}

fn small_corpus() -> Vec<Topic> {
    [
        ("Database failover", "When the primary PostgreSQL database fails, promote the replica with pg_ctl promote and repoint the connection pooler."),
        ("VPN certificates", "VPN client certificates expire yearly; renew them from the self-service portal before they lapse."),
        ("Disk full on build agents", "Clear the docker image cache with docker system prune when a build agent disk is full."),
    ]
    .iter()
    .map(|(t, b)| Topic {
        title: t.to_string(),
        body: b.to_string(),
    })
    .collect()
}

fn large_corpus(n: usize) -> Vec<Topic> {
    (0..n)
        .map(|i| Topic {
            title: format!("Runbook {i}"),
            body: format!(
                "Step {i}: check the service health dashboard, read the logs of node {i}, \
                 restart the worker if the queue depth stays above {} for ten minutes, \
                 then page the owning team. Escalate to the incident commander after {} minutes.",
                i * 10,
                i % 30 + 5
            ),
        })
        .collect()
}

/// Epoch seconds of document `i`, minutes apart.
fn time_of(i: usize) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_760_000_000 + 120 * i as i64, 0)
        .unwrap()
}

fn param<'a>(seen: &'a Seen, key: &str) -> Option<&'a str> {
    seen.query.get(key).map(String::as_str)
}

fn offset(seen: &Seen, key: &str, prefix: &str) -> usize {
    param(seen, key)
        .and_then(|c| c.strip_prefix(prefix))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn auth_is(seen: &Seen, expected: &str) -> bool {
    seen.header("authorization") == Some(expected)
}

fn basic(user: &str, token: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"))
    )
}

/// Confluence Cloud v1 content search (cursor paging through `_links.next`).
fn confluence(seen: &Seen, base: &str, corpus: &[Topic]) -> Reply {
    if !auth_is(seen, &basic("ops@acme.example", "confluence-key")) {
        return Reply::status(401);
    }
    let cql = param(seen, "cql").unwrap_or("");
    if !cql.contains("space in (\"OPS\")") || !cql.ends_with("order by created asc") {
        return Reply::status(400);
    }
    let limit: usize = param(seen, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(25);
    let start = offset(seen, "cursor", "c");
    let results: Vec<Value> = corpus
        .iter()
        .enumerate()
        .skip(start)
        .take(limit)
        .map(|(i, t)| {
            let when = time_of(i).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            json!({"id": format!("{}", 1000 + i), "type": "page", "status": "current", "title": t.title,
                   "space": {"key": "OPS", "name": "Operations"},
                   "history": {"createdDate": when},
                   "version": {"number": 1, "when": when, "by": {"displayName": "Grace"}},
                   "ancestors": [{"id": "1", "title": "Runbooks"}],
                   "metadata": {"labels": {"results": [{"name": "ops"}]}},
                   "body": {"storage": {"value": format!("<h2>{}</h2><p>{}</p>", t.title, t.body), "representation": "storage"}},
                   "_links": {"webui": format!("/spaces/OPS/pages/{}", 1000 + i)}})
        })
        .collect();
    let mut links = json!({"base": format!("{base}/wiki"), "context": "/wiki"});
    if start + limit < corpus.len() {
        let cql: String = url::form_urlencoded::byte_serialize(cql.as_bytes()).collect();
        let mut next = format!(
            "/rest/api/content/search?next=true&cursor=c{}&limit={limit}&cql={cql}",
            start + limit
        );
        if let Some(expand) = param(seen, "expand") {
            next.push_str(&format!("&expand={expand}"));
        }
        links["next"] = json!(next);
    }
    Reply::json(
        json!({"results": results, "start": start, "limit": limit, "size": results.len(), "_links": links}),
    )
}

/// Slack Web API: one channel, every document a standalone message except
/// the first, which is a thread with one reply.
fn slack(seen: &Seen, corpus: &[Topic]) -> Reply {
    if !auth_is(seen, "Bearer xoxb-e2e") {
        return Reply::json(json!({"ok": false, "error": "invalid_auth"}));
    }
    let ts = |i: usize| format!("{}.000100", time_of(i).timestamp());
    let cursor_page = |field: &str, items: Vec<Value>, size: usize| {
        let start = offset(seen, "cursor", "s");
        let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
        let next = if start + size < items.len() {
            format!("s{}", start + size)
        } else {
            String::new()
        };
        let mut body = json!({"ok": true, "has_more": !next.is_empty(), "response_metadata": {"next_cursor": next}});
        body[field] = Value::Array(page);
        Reply::json(body)
    };
    match seen.path.as_str() {
        "/api/auth.test" => {
            Reply::json(json!({"ok": true, "url": "https://acme.slack.com/", "user_id": "UBOT"}))
        }
        "/api/conversations.list" => cursor_page(
            "channels",
            vec![
                json!({"id": "C1", "name": "ops", "is_member": true, "is_private": false, "is_archived": false}),
            ],
            100,
        ),
        "/api/conversations.history" => {
            let oldest: f64 = param(seen, "oldest")
                .and_then(|o| o.parse().ok())
                .unwrap_or(0.0);
            let mut items: Vec<Value> = corpus
                .iter()
                .enumerate()
                .filter(|(i, _)| ts(*i).parse::<f64>().unwrap() > oldest)
                .map(|(i, t)| {
                    let mut m = json!({"type": "message", "ts": ts(i), "user": "U1", "text": format!("*{}*: {}", t.title, t.body)});
                    if i == 0 {
                        m["thread_ts"] = json!(ts(i));
                        m["reply_count"] = json!(1);
                        m["latest_reply"] = json!(format!("{}.000200", time_of(i).timestamp()));
                    }
                    m
                })
                .collect();
            items.reverse();
            let limit = param(seen, "limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(100);
            cursor_page("messages", items, limit)
        }
        "/api/conversations.replies" => {
            let root = param(seen, "ts").unwrap_or("");
            let Some((i, t)) = corpus.iter().enumerate().find(|(i, _)| ts(*i) == root) else {
                return Reply::json(json!({"ok": false, "error": "thread_not_found"}));
            };
            cursor_page(
                "messages",
                vec![
                    json!({"type": "message", "ts": root, "user": "U1", "text": format!("*{}*: {}", t.title, t.body), "thread_ts": root, "reply_count": 1}),
                    json!({"type": "message", "ts": format!("{}.000200", time_of(i).timestamp()), "user": "U1", "text": "Confirmed, that worked.", "thread_ts": root}),
                ],
                100,
            )
        }
        "/api/users.info" => Reply::json(
            json!({"ok": true, "user": {"id": "U1", "name": "ada", "profile": {"display_name": "Ada", "real_name": "Ada L"}}}),
        ),
        _ => Reply::status(404),
    }
}

/// Jira Cloud enhanced search (`nextPageToken`), ordered and filtered by the
/// JQL's `updated >=` / `created >=` bound (every issue is created and
/// last updated at the same instant here).
fn jira(seen: &Seen, corpus: &[Topic]) -> Reply {
    if !auth_is(seen, &basic("ops@acme.example", "jira-token")) {
        return Reply::status(401);
    }
    let jql = param(seen, "jql").unwrap_or("");
    if !jql.contains("project in (OPS)") {
        return Reply::status(400);
    }
    let since = ["updated >= ", "created >= "].iter().find_map(|f| {
        jql.split_once(f)
            .and_then(|(_, r)| r.split(' ').next())
            .and_then(|ms| ms.parse::<i64>().ok())
    });
    let hits: Vec<(usize, &Topic)> = corpus
        .iter()
        .enumerate()
        .filter(|(i, _)| since.is_none_or(|s| time_of(*i).timestamp_millis() >= s))
        .collect();
    let max: usize = param(seen, "maxResults")
        .and_then(|m| m.parse().ok())
        .unwrap_or(50);
    let start = offset(seen, "nextPageToken", "j");
    let issues: Vec<Value> = hits
        .iter()
        .skip(start)
        .take(max)
        .map(|(i, t)| {
            let when = time_of(*i).format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
            json!({"id": format!("{}", 20000 + i), "key": format!("OPS-{}", i + 1), "fields": {
                "summary": t.title,
                "description": {"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": t.body}]}]},
                "status": {"name": "Done"}, "priority": {"name": "High"}, "issuetype": {"name": "Incident"},
                "assignee": null, "reporter": {"displayName": "Ada"}, "labels": ["ops"], "components": [],
                "project": {"key": "OPS"}, "created": when, "updated": when,
                "comment": {"comments": [], "total": 0, "maxResults": 0, "startAt": 0}}})
        })
        .collect();
    let mut body = json!({"issues": issues, "isLast": start + max >= hits.len()});
    if start + max < hits.len() {
        body["nextPageToken"] = json!(format!("j{}", start + max));
    }
    Reply::json(body)
}

/// GitHub REST: issues (with `since`, `Link` paging) and docs through the
/// git trees and blobs APIs.
fn github(seen: &Seen, base: &str, corpus: &[Topic]) -> Reply {
    if !auth_is(seen, "Bearer ghp_e2e") {
        return Reply::status(401);
    }
    let Some(rest) = seen.path.strip_prefix("/repos/acme/ops") else {
        return Reply::status(404);
    };
    // Issues carry the even topics, docs files the odd ones.
    match rest {
        "" => Reply::json(
            json!({"default_branch": "main", "html_url": "https://github.example/acme/ops"}),
        ),
        "/issues" => {
            let since = param(seen, "since").map(|s| {
                chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .with_timezone(&Utc)
            });
            let items: Vec<Value> = corpus
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 0 && since.is_none_or(|s| time_of(*i) >= s))
                .map(|(i, t)| {
                    let when = time_of(i).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    json!({"number": i + 1, "title": t.title, "body": t.body, "state": "open",
                           "user": {"login": "ada"}, "labels": [{"name": "ops"}], "assignees": [],
                           "created_at": when, "updated_at": when, "closed_at": null, "comments": 0,
                           "html_url": format!("https://github.example/acme/ops/issues/{}", i + 1)})
                })
                .collect();
            let per_page: usize = param(seen, "per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30);
            let page: usize = param(seen, "page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(1);
            let slice: Vec<Value> = items
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            let mut reply = Reply::json(Value::Array(slice));
            if page * per_page < items.len() {
                let mut query = seen.query.clone();
                query.insert("page".into(), (page + 1).to_string());
                let q: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query.iter())
                    .finish();
                reply = reply.header("link", &format!("<{base}{}?{q}>; rel=\"next\"", seen.path));
            }
            reply
        }
        "/git/trees/main" => {
            let tree: Vec<Value> = corpus
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(i, _)| json!({"path": format!("docs/topic-{i}.md"), "type": "blob", "sha": format!("sha{i}"), "size": 100}))
                .collect();
            Reply::json(json!({"sha": "root", "tree": tree, "truncated": false}))
        }
        other => {
            let Some(i) = other
                .strip_prefix("/git/blobs/sha")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|i| *i < corpus.len())
            else {
                return Reply::status(404);
            };
            let t = &corpus[i];
            let text = format!("# {}\n\n{}\n", t.title, t.body);
            let content = base64::engine::general_purpose::STANDARD.encode(text);
            Reply::json(json!({"sha": format!("sha{i}"), "encoding": "base64", "content": content}))
        }
    }
}

/// One loopback server answering as all four APIs, each under its own paths.
async fn start(corpus: Vec<Topic>) -> MockServer {
    let corpus = Arc::new(corpus);
    MockServer::start(Arc::new(move |seen: &Seen, base: &str| {
        let path = seen.path.as_str();
        if path.starts_with("/wiki/") {
            confluence(seen, base, &corpus)
        } else if path.starts_with("/api/") {
            slack(seen, &corpus)
        } else if path.starts_with("/rest/api/3/") {
            jira(seen, &corpus)
        } else if path.starts_with("/repos/") {
            github(seen, base, &corpus)
        } else {
            Reply::status(404)
        }
    }))
    .await
}

/// Writes `vaultiq.toml` and the credentials files into `dir`; returns the
/// parsed config.
fn write_config(dir: &std::path::Path, base: &str) -> Config {
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let files = [
        (
            "confluence.json",
            json!({"url": base, "username": "ops@acme.example", "api_key": "confluence-key"}),
        ),
        ("slack.json", json!({"bot_token": "xoxb-e2e"})),
        (
            "jira.json",
            json!({"server": base, "username": "ops@acme.example", "api_token": "jira-token"}),
        ),
        ("github.json", json!({"token": "ghp_e2e"})),
    ];
    for (name, value) in files {
        std::fs::write(secrets.join(name), value.to_string()).unwrap();
    }
    let toml = format!(
        r##"data_dir = "data"

[[sources]]
type = "confluence"
name = "wiki"
base_url = "{base}"
spaces = ["OPS"]
credentials = {{ file = "secrets/confluence.json" }}

[[sources]]
type = "slack"
name = "chat"
base_url = "{base}"
channels = ["#ops"]
credentials = {{ file = "secrets/slack.json" }}

[[sources]]
type = "jira"
name = "tracker"
base_url = "{base}"
projects = ["OPS"]
credentials = {{ file = "secrets/jira.json" }}

[[sources]]
type = "github"
name = "code"
base_url = "{base}"
repos = ["acme/ops"]
credentials = {{ file = "secrets/github.json" }}
"##
    );
    let path = dir.join("vaultiq.toml");
    std::fs::write(&path, toml).unwrap();
    Config::from_file(&path).unwrap()
}

fn knowledge_base(config: &Config, embedder: Arc<dyn Embedder>) -> KnowledgeBase {
    let mut builder = KnowledgeBase::local_builder(&config.data_dir(), embedder).unwrap();
    for connector in config.connectors().unwrap() {
        builder = builder.source(connector);
    }
    builder.build().unwrap()
}

async fn sync_all(kb: &KnowledgeBase) -> vaultiq_core::SyncReport {
    tokio::time::timeout(
        Duration::from_secs(300),
        kb.sync(&SyncOptions::default(), &|_| {}),
    )
    .await
    .expect("sync finishes within 5 minutes")
    .unwrap()
}

#[tokio::test]
async fn four_sources_from_vaultiq_toml_and_the_source_filter_restricts_hits() {
    let server = start(small_corpus()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &server.base_url);
    let embedder: Arc<dyn Embedder> = Arc::new(
        LocalEmbedder::builder()
            .build()
            .expect("model (run scripts/fetch-model)"),
    );
    let kb = knowledge_base(&config, embedder);

    let report = sync_all(&kb).await;
    // 3 pages + 3 Slack documents (one thread) + 3 issues + 2 issues and 1 doc file.
    assert_eq!(report.indexed(), 12, "{report:?}");
    let counts = kb.sources().await.unwrap();
    for source in [
        SourceType::Confluence,
        SourceType::Slack,
        SourceType::Jira,
        SourceType::Github,
    ] {
        assert_eq!(counts.get(&source), Some(&3), "{counts:?}");
    }

    let question = "how do I promote the database replica when the primary fails";
    let all = kb.search(&Query::new(question).top_k(12)).await.unwrap();
    let types: BTreeSet<SourceType> = all.hits.iter().map(|h| h.document.source).collect();
    assert!(
        types.len() >= 3,
        "unfiltered hits span the sources: {types:?}"
    );
    let top = &all.hits[0];
    assert!(
        top.document.title.contains("Database failover"),
        "{}",
        top.document.title
    );

    for wanted in [
        vec![SourceType::Jira],
        vec![SourceType::Slack, SourceType::Github],
    ] {
        let result = kb
            .search(&Query::new(question).top_k(12).source_filter(wanted.clone()))
            .await
            .unwrap();
        assert!(!result.hits.is_empty());
        assert!(
            result
                .hits
                .iter()
                .all(|h| wanted.contains(&h.document.source)),
            "{wanted:?}: {:?}",
            result
                .hits
                .iter()
                .map(|h| h.document.source)
                .collect::<Vec<_>>()
        );
        assert!(result.hits[0].document.title.contains("Database failover"));
        let answer = kb
            .ask(&Query::new(question).top_k(5).source_filter(wanted.clone()))
            .await
            .unwrap();
        assert!(answer
            .answer
            .citations
            .iter()
            .all(|c| wanted.contains(&c.source_type)));
    }
    let slack_thread = all
        .hits
        .iter()
        .find(|h| h.document.source == SourceType::Slack && h.document.title.contains("Database"));
    assert!(slack_thread.is_some(), "the Slack thread is searchable");

    // A second sync changes nothing and re-embeds nothing.
    let again = sync_all(&kb).await;
    assert_eq!(again.indexed(), 0, "{again:?}");
}

/// Documents/s and requests per document, connector + conversion only
/// (hash embedder) and with the local model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run with --ignored --nocapture (release build)"]
async fn throughput_of_all_four_sources() {
    let n: usize = std::env::var("VAULTIQ_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let local: Arc<dyn Embedder> = Arc::new(LocalEmbedder::builder().build().expect("model"));
    let hash: Arc<dyn Embedder> = Arc::new(HashEmbedder);
    for (label, embedder) in [("trivial embedder", hash), ("local embedder", local)] {
        let server = start(large_corpus(n)).await;
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &server.base_url);
        let kb = knowledge_base(&config, embedder);
        let started = Instant::now();
        let report = sync_all(&kb).await;
        let secs = started.elapsed().as_secs_f64();
        let docs = report.indexed();
        let seen = server.seen();
        let per = |prefix: &str| seen.iter().filter(|s| s.path.starts_with(prefix)).count();
        eprintln!(
            "{label}: {docs} documents in {secs:.2} s = {:.0} docs/s; {} requests = {:.3}/document \
             (confluence {}, slack {}, jira {}, github {}; list_ids included)",
            docs as f64 / secs,
            seen.len(),
            seen.len() as f64 / docs as f64,
            per("/wiki/"),
            per("/api/"),
            per("/rest/api/3/"),
            per("/repos/")
        );
        assert_eq!(docs, 4 * n);
    }
}
