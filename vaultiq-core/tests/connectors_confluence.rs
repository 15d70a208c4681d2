//! The Confluence connector against a loopback server shaped like the
//! Confluence Cloud REST API v1 content search
//! (https://developer.atlassian.com/cloud/confluence/rest/v1/api-group-search/ and
//! .../api-group-content/#api-wiki-rest-api-content-search-get: `results`,
//! `start`, `limit`, `size`, `_links{base, context, next}` with a cursor).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use mock_server::{
    checkpoint, fast_retries, indexed_ids, knowledge_base, lake_document, lock, sync, MockServer,
    Reply, Seen,
};
use serde_json::{json, Value};
use vaultiq_core::connector::ClientSettingsBuilder;
use vaultiq_core::connector::{Checkpoint, ConfluenceConnector, Connector};

/// (type, space, title, storage body, version, when, created)
type Page = (
    String,
    String,
    String,
    String,
    u64,
    DateTime<Utc>,
    DateTime<Utc>,
);

#[derive(Default)]
struct Wiki {
    /// id -> (type, space, title, storage body, version, when, created)
    pages: BTreeMap<String, Page>,
    clock: i64,
}

impl Wiki {
    fn put(&mut self, id: &str, kind: &str, space: &str, title: &str, body: &str) {
        // Minutes apart, like real edits; CQL has minute precision.
        self.clock += 120;
        let when = Utc.timestamp_opt(1_750_000_000 + self.clock, 0).unwrap();
        let version = self.pages.get(id).map_or(1, |p| p.4 + 1);
        let created = self.pages.get(id).map_or(when, |p| p.6);
        self.pages.insert(
            id.into(),
            (
                kind.into(),
                space.into(),
                title.into(),
                body.into(),
                version,
                when,
                created,
            ),
        );
    }
}

fn content_json(id: &str, p: &Page) -> Value {
    json!({
        "id": id, "type": p.0, "status": "current", "title": p.2,
        "space": {"id": 98306, "key": p.1, "name": format!("{} space", p.1), "type": "global"},
        "history": {"latest": true, "createdDate": p.6.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "createdBy": {"type": "known", "displayName": "Ada"}},
        "version": {"number": p.4, "when": p.5.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "by": {"type": "known", "accountId": "5b10", "displayName": "Grace"}, "minorEdit": false},
        "ancestors": [{"id": "1", "type": "page", "title": "Home"}, {"id": "2", "type": "page", "title": "Runbooks"}],
        "metadata": {"labels": {"results": [{"prefix": "global", "name": "ops", "id": "7"}], "start": 0, "limit": 200, "size": 1}},
        "body": {"storage": {"value": p.3, "representation": "storage"}},
        "_links": {"webui": format!("/spaces/{}/pages/{id}", p.1), "self": format!("https://x/wiki/rest/api/content/{id}")},
        "_expandable": {"children": "", "descendants": ""}
    })
}

/// The clause values the mock understands in CQL.
fn cql_filter(cql: &str) -> (bool, Vec<String>, Option<DateTime<Utc>>) {
    let blogposts = cql.contains("blogpost");
    let spaces = cql
        .split_once("space in (")
        .map(|(_, rest)| {
            rest.split(')')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect()
        })
        .unwrap_or_default();
    let since = cql.split_once("lastmodified >= \"").map(|(_, rest)| {
        let text = rest.split('"').next().unwrap();
        Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap())
    });
    (blogposts, spaces, since)
}

fn handler(wiki: Arc<Mutex<Wiki>>) -> mock_server::Handler {
    Arc::new(move |seen: &Seen, base: &str| {
        // Cloud serves the API under /wiki with basic auth; the Data Center
        // instance of these tests sits under /confluence with a bearer PAT.
        let scheme = match seen.path.as_str() {
            "/wiki/rest/api/content/search" => "Basic ",
            "/confluence/rest/api/content/search" => "Bearer ",
            _ => return Reply::status(404),
        };
        let context = if scheme == "Basic " {
            "/wiki"
        } else {
            "/confluence"
        };
        if !seen
            .header("authorization")
            .is_some_and(|a| a.starts_with(scheme))
        {
            return Reply::status(401);
        }
        let Some(cql) = seen.query.get("cql") else {
            return Reply::status(400);
        };
        if !cql.ends_with("order by created asc") {
            return Reply::status(400);
        }
        let (blogposts, spaces, since) = cql_filter(cql);
        let wiki = lock(&wiki);
        let mut hits: Vec<(&String, &Page)> = wiki
            .pages
            .iter()
            .filter(|(_, p)| p.0 == "page" || blogposts)
            .filter(|(_, p)| spaces.is_empty() || spaces.contains(&p.1))
            .filter(|(_, p)| since.is_none_or(|s| p.5 >= s))
            .collect();
        hits.sort_by_key(|(id, p)| (p.6, (*id).clone()));
        let limit: usize = seen
            .query
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(25);
        let start: usize = seen
            .query
            .get("cursor")
            .and_then(|c| c.strip_prefix("cur"))
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let expanded = seen
            .query
            .get("expand")
            .is_some_and(|e| e.contains("body.storage"));
        let results: Vec<Value> = hits
            .iter()
            .skip(start)
            .take(limit)
            .map(|(id, p)| {
                if expanded {
                    content_json(id, p)
                } else {
                    json!({"id": id, "type": p.0, "status": "current", "title": p.2})
                }
            })
            .collect();
        let mut links = json!({"base": format!("{base}{context}"), "context": context,
                               "self": format!("{base}{context}/rest/api/content/search")});
        if start + limit < hits.len() {
            let mut next = format!(
                "/rest/api/content/search?next=true&cursor=cur{}&limit={limit}&cql={}",
                start + limit,
                url::form_urlencoded::byte_serialize(cql.as_bytes()).collect::<String>()
            );
            if let Some(expand) = seen.query.get("expand") {
                next.push_str(&format!("&expand={expand}"));
            }
            links["next"] = json!(next);
        }
        Reply::json(json!({"results": results, "start": start, "limit": limit,
                           "size": results.len(), "_links": links}))
    })
}

fn seeded() -> Arc<Mutex<Wiki>> {
    let mut wiki = Wiki::default();
    wiki.put(
        "101",
        "page",
        "OPS",
        "Backups",
        "<h1>Backups</h1><p>Nightly at 02:00.</p>",
    );
    wiki.put("102", "page", "OPS", "Restore", "<ac:structured-macro ac:name=\"code\"><ac:parameter ac:name=\"language\">bash</ac:parameter><ac:plain-text-body><![CDATA[pg_restore -d prod dump.sql]]></ac:plain-text-body></ac:structured-macro>");
    wiki.put(
        "103",
        "page",
        "OPS",
        "On-call",
        "<ul><li>Page <ac:link><ri:user ri:account-id=\"abc\"/></ac:link></li></ul>",
    );
    wiki.put(
        "104",
        "blogpost",
        "OPS",
        "Release notes",
        "<p>v2 shipped</p>",
    );
    wiki.put("105", "page", "ENG", "Not in scope", "<p>other space</p>");
    wiki.put(
        "106",
        "page",
        "OPS",
        "Certificates",
        "<p>Rotate yearly.</p>",
    );
    wiki.put(
        "107",
        "page",
        "OPS",
        "DNS",
        "<table><tr><th>Zone</th></tr><tr><td>corp</td></tr></table>",
    );
    Arc::new(Mutex::new(wiki))
}

fn connector(server: &MockServer) -> Arc<dyn Connector> {
    Arc::new(
        ConfluenceConnector::builder("wiki", &server.base_url)
            .spaces(vec!["OPS".into()])
            .basic_auth("ops@acme.example", "atlassian-token")
            .page_size(2)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn confluence_syncs_every_page_then_edits_and_deletions() {
    let wiki = seeded();
    let server = MockServer::start(handler(wiki.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let c = connector(&server);

    let report = sync(&kb, &c).await.unwrap();
    assert_eq!(report.indexed(), 5, "OPS pages only, no blog post");
    let ids = indexed_ids(dir.path(), "wiki").await;
    assert_eq!(
        ids,
        ["101", "102", "103", "106", "107"].map(|i| format!("confluence:wiki:{i}"))
    );
    assert!(server.count("/content/search") >= 3, "followed _links.next");

    let restore = lake_document(dir.path(), "wiki", "confluence:wiki:102")
        .await
        .unwrap();
    assert!(
        restore
            .body
            .contains("```bash\npg_restore -d prod dump.sql\n```"),
        "{}",
        restore.body
    );
    assert_eq!(
        restore.url,
        format!("{}/wiki/spaces/OPS/pages/102", server.base_url)
    );
    assert_eq!(restore.metadata["space"], "OPS");
    assert_eq!(restore.metadata["breadcrumb"], "Home > Runbooks");
    assert_eq!(restore.metadata["labels"], "ops");
    assert_eq!(restore.metadata["version"], "1");
    assert_eq!(restore.author.as_deref(), Some("Grace"));
    let oncall = lake_document(dir.path(), "wiki", "confluence:wiki:103")
        .await
        .unwrap();
    assert!(oncall.body.contains("- Page @abc"), "{}", oncall.body);
    let dns = lake_document(dir.path(), "wiki", "confluence:wiki:107")
        .await
        .unwrap();
    assert!(dns.body.contains("| corp |"), "{}", dns.body);

    // The next run asks only for recent changes (with the overlap window).
    let cp = checkpoint(dir.path(), "wiki").await.unwrap();
    assert!(cp["since"].is_string(), "{cp}");
    server.clear_seen();
    {
        let mut w = lock(&wiki);
        w.put(
            "101",
            "page",
            "OPS",
            "Backups",
            "<p>Nightly at 03:00 now.</p>",
        );
        w.pages.remove("106");
    }
    let report = sync(&kb, &c).await.unwrap();
    assert_eq!(report.indexed(), 1, "only the edited page is re-indexed");
    assert_eq!(report.deleted(), 1);
    let first = &server.seen()[0];
    assert!(
        first.query["cql"].contains("lastmodified >= \""),
        "{}",
        first.query["cql"]
    );
    let backups = lake_document(dir.path(), "wiki", "confluence:wiki:101")
        .await
        .unwrap();
    assert!(backups.body.contains("03:00"));
    assert_eq!(backups.metadata["version"], "2");
    assert!(!indexed_ids(dir.path(), "wiki")
        .await
        .contains(&"confluence:wiki:106".to_string()));
}

#[tokio::test]
async fn confluence_honours_retry_after_and_retries_server_errors() {
    let server = MockServer::start(handler(seeded())).await;
    server.fail_next(
        "/content/search",
        Reply::status(429).header("retry-after", "1"),
    );
    server.fail_next("/content/search", Reply::status(500));
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let report = sync(&kb, &connector(&server)).await.unwrap();
    assert_eq!(report.indexed(), 5);
    let seen = server.seen();
    let waited = seen[1].at.duration_since(seen[0].at);
    assert!(
        waited >= Duration::from_millis(990),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn confluence_malformed_json_mid_pass_keeps_the_committed_position() {
    let server = MockServer::start(handler(seeded())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let c = connector(&server);
    // Page one is fine, page two is truncated JSON.
    let first = c.fetch(None).await.unwrap();
    assert!(!first.done);
    server.fail_next("/content/search", Reply::malformed());
    let err = c.fetch(Some(&first.checkpoint)).await.unwrap_err();
    assert!(err.to_string().contains("malformed JSON"), "{err}");
    assert!(!err.is_retryable());
    // Through the pipeline: nothing is committed when the first page is bad.
    server.fail_next("/content/search", Reply::malformed());
    assert!(sync(&kb, &c).await.is_err());
    assert!(checkpoint(dir.path(), "wiki").await.is_none());
    assert!(indexed_ids(dir.path(), "wiki").await.is_empty());
}

#[tokio::test]
async fn confluence_unauthorized_is_permanent() {
    let server = MockServer::start(handler(seeded())).await;
    let c: Arc<dyn Connector> = Arc::new(
        ConfluenceConnector::builder("wiki", &server.base_url)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    let err = c.fetch(None).await.unwrap_err();
    let text = err.to_string();
    assert!(!err.is_retryable());
    assert!(
        text.contains("wiki") && text.contains("401") && text.contains("API token"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn confluence_throughput_from_loopback() {
    let wiki = Arc::new(Mutex::new(Wiki::default()));
    {
        let mut w = lock(&wiki);
        for n in 0..500 {
            w.put(
                &format!("{}", 1000 + n),
                "page",
                "OPS",
                &format!("Page {n}"),
                "<h2>Steps</h2><ol><li>one</li><li>two</li></ol><p>Some text.</p>",
            );
        }
    }
    let server = MockServer::start(handler(wiki)).await;
    let c: Arc<dyn Connector> = Arc::new(
        ConfluenceConnector::builder("wiki", &server.base_url)
            .spaces(vec!["OPS".into()])
            .basic_auth("u", "t")
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let started = Instant::now();
    let report = sync(&kb, &c).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.indexed(), 500);
    let requests = server.seen().len();
    eprintln!(
        "confluence: 500 docs in {secs:.2}s = {:.0} docs/s (hash embedder), {requests} requests = {:.3} per document (incl. list_ids)",
        500.0 / secs,
        requests as f64 / 500.0
    );
}

#[tokio::test]
async fn confluence_edit_during_a_pass_skips_no_page_and_resumes_from_the_cursor() {
    let wiki = seeded();
    let server = MockServer::start(handler(wiki.clone())).await;
    let c = ConfluenceConnector::builder("wiki", &server.base_url)
        .spaces(vec!["OPS".into()])
        .basic_auth("u", "t")
        .page_size(2)
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut batch = c.fetch(None).await.unwrap();
    // 101 was read on page one; editing it must not push 103 out of the pass.
    lock(&wiki).put("101", "page", "OPS", "Backups", "<p>edited mid-pass</p>");
    let mut resumed_from_cursor = false;
    for _ in 0..10 {
        seen.extend(batch.documents.iter().map(|d| d.document.id.clone()));
        if batch.done {
            break;
        }
        // Resume from the stored checkpoint, as after a crash or a batch.
        let stored: Checkpoint =
            serde_json::from_str(&serde_json::to_string(&batch.checkpoint).unwrap()).unwrap();
        resumed_from_cursor |= stored.0["run"]["next"].is_string();
        server.clear_seen();
        batch = c.fetch(Some(&stored)).await.unwrap();
        assert!(server.seen()[0].query.contains_key("cursor"));
    }
    assert!(batch.done && resumed_from_cursor);
    let expected: std::collections::BTreeSet<String> = ["101", "102", "103", "106", "107"]
        .map(|i| format!("confluence:wiki:{i}"))
        .into();
    assert_eq!(seen, expected);
    // The edit is caught by the next pass (the overlap window reaches it).
    let next = c.fetch(Some(&batch.checkpoint)).await.unwrap();
    let edited = next
        .documents
        .iter()
        .find(|d| d.document.id == "confluence:wiki:101")
        .unwrap();
    assert!(edited.document.body.contains("edited mid-pass"));
    // The watermark never passes the server time at which the pass began.
    let since: DateTime<Utc> = serde_json::from_value(batch.checkpoint.0["since"].clone()).unwrap();
    assert!(since <= Utc::now());
}

#[tokio::test]
async fn confluence_datacenter_uses_the_bearer_token_and_its_context_root() {
    let server = MockServer::start(handler(seeded())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let dc: Arc<dyn Connector> = Arc::new(
        ConfluenceConnector::builder("wiki", &format!("{}/confluence", server.base_url))
            .deployment(vaultiq_core::connector::Deployment::DataCenter)
            .spaces(vec!["OPS".into()])
            .bearer_token("dc-personal-access-token")
            .page_size(2)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    assert_eq!(sync(&kb, &dc).await.unwrap().indexed(), 5);
    let seen = server.seen();
    assert!(seen
        .iter()
        .all(|s| s.header("authorization") == Some("Bearer dc-personal-access-token")));
    assert!(seen
        .iter()
        .all(|s| s.path == "/confluence/rest/api/content/search"));
    let page = lake_document(dir.path(), "wiki", "confluence:wiki:102")
        .await
        .unwrap();
    assert_eq!(
        page.url,
        format!("{}/confluence/spaces/OPS/pages/102", server.base_url)
    );
}
