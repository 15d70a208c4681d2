//! The Jira connector against a loopback server shaped like the Jira Cloud
//! REST API v3 enhanced search
//! (https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-search/#api-rest-api-3-search-jql-get:
//! `issues`, `nextPageToken`, `isLast`), the issue comments resource
//! (.../api-group-issue-comments/: `comments`, `startAt`, `maxResults`, `total`)
//! and the Data Center v2 search (`issues`, `startAt`, `maxResults`, `total`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use mock_server::{
    checkpoint, fast_retries, indexed_ids, knowledge_base, lake_document, lock, sync, MockServer,
    Reply, Seen,
};
use serde_json::{json, Value};
use vaultiq_core::connector::ClientSettingsBuilder;
use vaultiq_core::connector::{Connector, Deployment, JiraConnector};

/// (summary, description (ADF or wiki string), updated, created)
type Issue = (String, Value, DateTime<Utc>, DateTime<Utc>);

#[derive(Default)]
struct Tracker {
    /// key -> (summary, description (ADF or wiki string), updated, created)
    issues: BTreeMap<String, Issue>,
    comments: BTreeMap<String, Vec<Value>>,
    clock: i64,
}

impl Tracker {
    fn put(&mut self, key: &str, summary: &str, description: Value) {
        self.clock += 90;
        let at = Utc.timestamp_opt(1_750_000_000 + self.clock, 0).unwrap();
        self.put_at(key, summary, description, at);
    }

    /// Creates or edits an issue with `updated = at` (creation time kept).
    fn put_at(&mut self, key: &str, summary: &str, description: Value, at: DateTime<Utc>) {
        let created = self.issues.get(key).map_or(at, |i| i.3);
        self.issues
            .insert(key.into(), (summary.into(), description, at, created));
    }
}

fn jira_ms(t: &DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn jira_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

fn adf(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": text}]}]})
}

fn issue_json(key: &str, issue: &Issue, comments: &[Value], fields: &str) -> Value {
    if fields == "created" {
        return json!({"id": "1", "key": key, "fields": {"created": jira_time(issue.3)}});
    }
    // Like the real API, only the first few comments are embedded.
    let embedded: Vec<Value> = comments.iter().take(2).cloned().collect();
    json!({
        "id": format!("1{}", key.len()), "key": key, "self": "https://x/rest/api/3/issue/1",
        "fields": {
            "summary": issue.0, "description": issue.1,
            "status": {"name": "In Progress"}, "priority": {"name": "High"},
            "issuetype": {"name": "Bug"}, "assignee": null,
            "reporter": {"displayName": "Ada", "accountId": "a1"},
            "labels": ["db", "outage"], "components": [{"name": "storage"}],
            "project": {"key": key.split('-').next().unwrap(), "name": "Ops"},
            "created": jira_time(issue.3), "updated": jira_time(issue.2),
            "comment": {"comments": embedded, "maxResults": 2, "total": comments.len(), "startAt": 0}
        }
    })
}

fn handler(tracker: Arc<Mutex<Tracker>>) -> mock_server::Handler {
    Arc::new(move |seen: &Seen, _base: &str| {
        let t = lock(&tracker);
        let path = seen.path.as_str();
        if let Some(key) = path
            .strip_prefix("/rest/api/3/issue/")
            .or_else(|| path.strip_prefix("/rest/api/2/issue/"))
            .and_then(|r| r.strip_suffix("/comment"))
        {
            let all = t.comments.get(key).cloned().unwrap_or_default();
            let start: usize = seen
                .query
                .get("startAt")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            // Pages of two, whatever maxResults asks, to exercise paging.
            let page: Vec<Value> = all.iter().skip(start).take(2).cloned().collect();
            return Reply::json(
                json!({"comments": page, "startAt": start, "maxResults": 2, "total": all.len()}),
            );
        }
        let cloud = path == "/rest/api/3/search/jql";
        if !cloud && path != "/rest/api/2/search" {
            return Reply::status(404);
        }
        let Some(jql) = seen.query.get("jql") else {
            return Reply::status(400);
        };
        // Ordered by `updated` (changes) or `created` (every id), then key.
        let field = if jql.ends_with("ORDER BY updated ASC, key ASC") {
            "updated"
        } else if jql.ends_with("ORDER BY created ASC, key ASC") {
            "created"
        } else {
            return Reply::status(400);
        };
        if !jql.contains("project in (OPS)") {
            return Reply::status(400);
        }
        let time = |i: &Issue| if field == "updated" { i.2 } else { i.3 };
        let since = jql
            .split_once(&format!("{field} >= "))
            .and_then(|(_, r)| r.split(' ').next())
            .and_then(|ms| ms.parse::<i64>().ok());
        let mut hits: Vec<(&String, &Issue)> = t
            .issues
            .iter()
            .filter(|(_, i)| since.is_none_or(|s| time(i).timestamp_millis() >= s))
            .collect();
        hits.sort_by_key(|(k, i)| (time(i), (*k).clone()));
        let max: usize = seen
            .query
            .get("maxResults")
            .and_then(|m| m.parse().ok())
            .unwrap_or(50);
        let start: usize = if cloud {
            seen.query
                .get("nextPageToken")
                .and_then(|t| t.strip_prefix("tok-"))
                .and_then(|t| t.parse().ok())
                .unwrap_or(0)
        } else {
            seen.query
                .get("startAt")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        let fields = seen.query.get("fields").cloned().unwrap_or_default();
        let issues: Vec<Value> = hits
            .iter()
            .skip(start)
            .take(max)
            .map(|(k, i)| {
                issue_json(
                    k,
                    i,
                    t.comments.get(*k).map_or(&[][..], Vec::as_slice),
                    &fields,
                )
            })
            .collect();
        let last = start + max >= hits.len();
        if cloud {
            let mut body = json!({"issues": issues, "isLast": last});
            if !last {
                body["nextPageToken"] = json!(format!("tok-{}", start + max));
            }
            Reply::json(body)
        } else {
            Reply::json(
                json!({"issues": issues, "startAt": start, "maxResults": max, "total": hits.len()}),
            )
        }
    })
}

fn seeded() -> Arc<Mutex<Tracker>> {
    let mut t = Tracker::default();
    for n in 1..=5 {
        t.put(
            &format!("OPS-{n}"),
            &format!("Problem {n}"),
            adf(&format!("Details of problem {n}")),
        );
    }
    t.comments.insert(
        "OPS-2".into(),
        (1..=5)
            .map(|i| json!({"id": i.to_string(), "author": {"displayName": format!("Eng {i}")},
                            "body": adf(&format!("comment number {i}")), "created": "2025-06-02T10:00:00.000+0000"}))
            .collect(),
    );
    Arc::new(Mutex::new(t))
}

fn connector(server: &MockServer, deployment: Deployment) -> Arc<dyn Connector> {
    Arc::new(
        JiraConnector::builder("jira", &server.base_url)
            .projects(vec!["OPS".into()])
            .deployment(deployment)
            .basic_auth("ops@acme.example", "jira-token")
            .page_size(2)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn jira_cloud_syncs_pages_comments_edits_and_deletions() {
    let tracker = seeded();
    let server = MockServer::start(handler(tracker.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let jira = connector(&server, Deployment::Cloud);

    let report = sync(&kb, &jira).await.unwrap();
    assert_eq!(report.indexed(), 5);
    // Several pages, each resumed from the newest `updated` read (keyset).
    let second = jira_ms(&lock(&tracker).issues["OPS-2"].2);
    assert!(server
        .seen()
        .iter()
        .any(|s| s.path == "/rest/api/3/search/jql"
            && s.query["jql"].contains(&format!("updated >= {second} "))));
    let two = lake_document(dir.path(), "jira", "jira:jira:OPS-2")
        .await
        .unwrap();
    assert_eq!(two.title, "OPS-2: Problem 2");
    assert_eq!(two.url, format!("{}/browse/OPS-2", server.base_url));
    for i in 1..=5 {
        assert!(
            two.body.contains(&format!("comment number {i}")),
            "{}",
            two.body
        );
    }
    assert!(two.body.contains("Details of problem 2"));
    assert_eq!(two.metadata["status"], "In Progress");
    assert_eq!(two.metadata["priority"], "High");
    assert_eq!(two.metadata["issue_type"], "Bug");
    assert_eq!(two.metadata["labels"], "db,outage");
    assert_eq!(two.metadata["components"], "storage");
    assert_eq!(two.metadata["project"], "OPS");
    assert!(
        !two.metadata.contains_key("assignee"),
        "null assignee is absent"
    );
    assert_eq!(two.author.as_deref(), Some("Ada"));

    let cp = checkpoint(dir.path(), "jira").await.unwrap();
    assert!(cp["since_ms"].is_i64(), "{cp}");
    {
        let mut t = lock(&tracker);
        t.put("OPS-3", "Problem 3", adf("Root cause: full disk"));
        t.issues.remove("OPS-5");
    }
    server.clear_seen();
    let report = sync(&kb, &jira).await.unwrap();
    assert_eq!(report.indexed(), 1);
    assert_eq!(report.deleted(), 1);
    assert!(server.seen()[0].query["jql"].contains("updated >= "));
    let three = lake_document(dir.path(), "jira", "jira:jira:OPS-3")
        .await
        .unwrap();
    assert!(three.body.contains("full disk"));
    assert!(!indexed_ids(dir.path(), "jira")
        .await
        .contains(&"jira:jira:OPS-5".to_string()));
}

#[tokio::test]
async fn jira_datacenter_pages_with_start_at_and_reads_wiki_markup() {
    let tracker = seeded();
    lock(&tracker).put(
        "OPS-9",
        "Wiki",
        json!("h2. Fix\n{code:sql}\nvacuum;\n{code}"),
    );
    let server = MockServer::start(handler(tracker)).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let report = sync(&kb, &connector(&server, Deployment::DataCenter))
        .await
        .unwrap();
    assert_eq!(report.indexed(), 6);
    assert!(server
        .seen()
        .iter()
        .all(|s| s.path != "/rest/api/3/search/jql"));
    assert!(server.seen().iter().any(|s| s.path == "/rest/api/2/search"
        && s.query.get("startAt").map(String::as_str) == Some("0")
        && s.query["jql"].contains("updated >= ")));
    let wiki = lake_document(dir.path(), "jira", "jira:jira:OPS-9")
        .await
        .unwrap();
    assert!(
        wiki.body.contains("## Fix\n```sql\nvacuum;\n```"),
        "{}",
        wiki.body
    );
}

#[tokio::test]
async fn jira_retries_429_and_500_then_fails_clearly_on_bad_json_and_401() {
    let server = MockServer::start(handler(seeded())).await;
    server.fail_next("/search/jql", Reply::status(429).header("retry-after", "1"));
    server.fail_next("/comment", Reply::status(500));
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let jira = connector(&server, Deployment::Cloud);
    assert_eq!(sync(&kb, &jira).await.unwrap().indexed(), 5);
    let seen = server.seen();
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(990));

    let fresh = tempfile::tempdir().unwrap();
    let kb = knowledge_base(fresh.path()).unwrap();
    server.fail_next("/search/jql", Reply::malformed());
    let err = sync(&kb, &jira).await.unwrap_err();
    assert!(
        err.to_string().contains("malformed JSON") && !err.is_retryable(),
        "{err}"
    );
    assert!(checkpoint(fresh.path(), "jira").await.is_none());

    server.fail_next("/search/jql", Reply::status(401));
    let err = jira.fetch(None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        !err.is_retryable() && text.contains("jira") && text.contains("API token"),
        "{text}"
    );
}

#[tokio::test]
async fn jira_throughput_from_loopback() {
    let tracker = Arc::new(Mutex::new(Tracker::default()));
    {
        let mut t = lock(&tracker);
        for n in 1..=300 {
            t.put(
                &format!("OPS-{n}"),
                &format!("Problem {n}"),
                adf("Steps and details."),
            );
        }
    }
    let server = MockServer::start(handler(tracker)).await;
    let jira: Arc<dyn Connector> = Arc::new(
        JiraConnector::builder("jira", &server.base_url)
            .projects(vec!["OPS".into()])
            .basic_auth("u", "t")
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let report = sync(&kb, &jira).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.indexed(), 300);
    let requests = server.seen().len();
    eprintln!(
        "jira: 300 docs in {secs:.2}s = {:.0} docs/s (hash embedder), {requests} requests = {:.3} per document (incl. list_ids)",
        300.0 / secs,
        requests as f64 / 300.0
    );
}

/// Every document seen by driving `jira` to the end of a pass, editing
/// `edit` (already read) after the first page.
async fn one_pass_with_an_edit(
    tracker: &Arc<Mutex<Tracker>>,
    jira: &JiraConnector,
    edit: &str,
) -> (
    std::collections::BTreeSet<String>,
    vaultiq_core::connector::Checkpoint,
) {
    let mut seen = std::collections::BTreeSet::new();
    let mut batch = jira.fetch(None).await.unwrap();
    lock(tracker).put(edit, "Edited", adf("edited mid-pass"));
    for _ in 0..20 {
        for d in &batch.documents {
            seen.insert(d.document.metadata["key"].clone());
        }
        if batch.done {
            break;
        }
        // Resume from the stored checkpoint, as after a crash or a batch.
        let stored: vaultiq_core::connector::Checkpoint =
            serde_json::from_str(&serde_json::to_string(&batch.checkpoint).unwrap()).unwrap();
        batch = jira.fetch(Some(&stored)).await.unwrap();
    }
    assert!(batch.done);
    (seen, batch.checkpoint)
}

#[tokio::test]
async fn jira_edit_during_a_pass_skips_no_issue_cloud_and_datacenter() {
    for deployment in [Deployment::Cloud, Deployment::DataCenter] {
        let tracker = seeded();
        let server = MockServer::start(handler(tracker.clone())).await;
        let jira = JiraConnector::builder("jira", &server.base_url)
            .projects(vec!["OPS".into()])
            .deployment(deployment)
            .page_size(2)
            .retry_policy(fast_retries())
            .build()
            .unwrap();
        // OPS-1 (read on page one) moves to the end of the `updated`
        // order; offset paging would now skip OPS-3.
        let (seen, _) = one_pass_with_an_edit(&tracker, &jira, "OPS-1").await;
        let all: std::collections::BTreeSet<String> = (1..=5).map(|n| format!("OPS-{n}")).collect();
        assert_eq!(seen, all, "{deployment:?}");
        let ids = jira.list_ids().await.unwrap();
        assert_eq!(ids.len(), 5, "{ids:?}");
    }
}

#[tokio::test]
async fn jira_issues_sharing_one_timestamp_follow_the_page_token() {
    let tracker = Arc::new(Mutex::new(Tracker::default()));
    let at = Utc.timestamp_opt(1_760_000_000, 0).unwrap();
    for n in 1..=7 {
        // A bulk edit: every issue carries the same `updated`.
        lock(&tracker).put_at(&format!("OPS-{n}"), "Bulk", adf("bulk"), at);
    }
    let server = MockServer::start(handler(tracker.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    for deployment in [Deployment::Cloud, Deployment::DataCenter] {
        let jira = JiraConnector::builder("jira", &server.base_url)
            .projects(vec!["OPS".into()])
            .deployment(deployment)
            .page_size(3)
            .retry_policy(fast_retries())
            .build()
            .unwrap();
        let mut keys = std::collections::BTreeSet::new();
        let mut batch = jira.fetch(None).await.unwrap();
        for _ in 0..10 {
            keys.extend(
                batch
                    .documents
                    .iter()
                    .map(|d| d.document.metadata["key"].clone()),
            );
            if batch.done {
                break;
            }
            batch = jira.fetch(Some(&batch.checkpoint)).await.unwrap();
        }
        assert!(batch.done && keys.len() == 7, "{deployment:?}: {keys:?}");
        assert_eq!(jira.list_ids().await.unwrap().len(), 7);
    }
    let cloud_token = server
        .seen()
        .iter()
        .any(|s| s.query.get("nextPageToken").map(String::as_str) == Some("tok-3"));
    let dc_offset = server
        .seen()
        .iter()
        .any(|s| s.query.get("startAt").map(String::as_str) == Some("6"));
    assert!(cloud_token && dc_offset);
    let jira: Arc<dyn Connector> = Arc::new(
        JiraConnector::builder("jira", &server.base_url)
            .projects(vec!["OPS".into()])
            .page_size(3)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    assert_eq!(sync(&kb, &jira).await.unwrap().indexed(), 7);
}

#[tokio::test]
async fn jira_mass_deletion_is_refused_unless_forced() {
    let tracker = Arc::new(Mutex::new(Tracker::default()));
    for n in 1..=10 {
        lock(&tracker).put(&format!("OPS-{n}"), "Issue", adf("text"));
    }
    let server = MockServer::start(handler(tracker.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let jira = connector(&server, Deployment::Cloud);
    assert_eq!(sync(&kb, &jira).await.unwrap().indexed(), 10);
    // 7 of 10 vanish at once (say, a permission change): more than 20%.
    for n in 1..=7 {
        lock(&tracker).issues.remove(&format!("OPS-{n}"));
    }
    let report = sync(&kb, &jira).await.unwrap();
    assert_eq!(report.deleted(), 0);
    assert!(
        report.warnings.iter().any(|w| w.contains("7 of 10")),
        "{:?}",
        report.warnings
    );
    assert_eq!(indexed_ids(dir.path(), "jira").await.len(), 10);
    let forced = vaultiq_core::SyncOptions {
        force_delete: true,
        ..Default::default()
    };
    let report = kb
        .sync_connector(jira.clone(), &forced, &|_| {})
        .await
        .unwrap();
    assert_eq!(report.deleted(), 7);
    assert_eq!(
        indexed_ids(dir.path(), "jira").await,
        ["OPS-10", "OPS-8", "OPS-9"].map(|k| format!("jira:jira:{k}"))
    );
}

#[tokio::test]
async fn jira_failure_mid_pass_resumes_at_the_last_page_not_from_scratch() {
    let tracker = seeded();
    let server = MockServer::start(handler(tracker.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let jira = JiraConnector::builder("jira", &server.base_url)
        .projects(vec!["OPS".into()])
        .page_size(2)
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let first = jira.fetch(None).await.unwrap();
    assert!(!first.done && first.documents.len() == 2);
    server.fail_next("/search/jql", Reply::malformed());
    let err = jira.fetch(Some(&first.checkpoint)).await.unwrap_err();
    assert!(err.to_string().contains("malformed JSON") && !err.is_retryable());
    server.clear_seen();
    let resumed = jira.fetch(Some(&first.checkpoint)).await.unwrap();
    let second = jira_ms(&lock(&tracker).issues["OPS-2"].2);
    let jql = &server.seen()[0].query["jql"];
    assert!(jql.contains(&format!("updated >= {second} ")), "{jql}");
    // OPS-2 is the inclusive boundary (read again, idempotent), then OPS-3.
    let keys: Vec<&str> = resumed
        .documents
        .iter()
        .map(|d| d.document.metadata["key"].as_str())
        .collect();
    assert_eq!(keys, ["OPS-2", "OPS-3"]);
    // Through the pipeline the whole pass still indexes each issue once.
    let jira: Arc<dyn Connector> = Arc::new(jira);
    assert_eq!(sync(&kb, &jira).await.unwrap().indexed(), 5);
}
