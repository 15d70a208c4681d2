//! The GitHub connector against a loopback server shaped like the GitHub
//! REST API (https://docs.github.com/en/rest/issues/issues#list-repository-issues,
//! .../issues/comments, .../git/trees, .../git/blobs; `Link` pagination as in
//! https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::{DateTime, TimeZone, Utc};
use mock_server::{
    checkpoint, fast_retries, indexed_ids, knowledge_base, lake_document, lock, sync, MockServer,
    Reply, Seen,
};
use serde_json::{json, Value};
use vaultiq_core::connector::ClientSettingsBuilder;
use vaultiq_core::connector::{Connector, GithubConnector};
use vaultiq_core::Error;

const REPO: &str = "acme/api";

/// The test's model of one repository.
#[derive(Default)]
struct Repo {
    issues: BTreeMap<u64, Value>,
    comments: BTreeMap<u64, Vec<Value>>,
    files: BTreeMap<String, (String, String)>,
    clock: i64,
}

impl Repo {
    fn tick(&mut self) -> DateTime<Utc> {
        self.clock += 60;
        Utc.timestamp_opt(1_750_000_000 + self.clock, 0).unwrap()
    }

    fn put_issue(&mut self, number: u64, title: &str, body: &str, pull: bool) {
        let now = self.tick();
        let comments = self.comments.get(&number).map_or(0, Vec::len);
        let mut issue = json!({
            "id": 1000 + number, "number": number, "title": title, "body": body,
            "state": "open", "user": {"login": "octocat"},
            "labels": [{"name": "bug"}, {"name": "p1"}],
            "assignees": [{"login": "hubot"}],
            "comments": comments,
            "created_at": "2025-06-01T10:00:00Z",
            "updated_at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "closed_at": null,
            "html_url": format!("https://github.example/{REPO}/issues/{number}"),
        });
        if pull {
            issue["pull_request"] = json!({"merged_at": "2025-06-03T10:00:00Z", "url": "x"});
        }
        self.issues.insert(number, issue);
    }

    fn put_file(&mut self, path: &str, sha: &str, text: &str) {
        self.files
            .insert(path.to_string(), (sha.to_string(), text.to_string()));
    }
}

fn page_of<T: Clone>(items: &[T], seen: &Seen, per_page: usize) -> (Vec<T>, Option<usize>) {
    let page: usize = seen
        .query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);
    let start = (page - 1) * per_page;
    let slice: Vec<T> = items.iter().skip(start).take(per_page).cloned().collect();
    let next = (start + per_page < items.len()).then_some(page + 1);
    (slice, next)
}

fn link(base: &str, seen: &Seen, next: usize) -> String {
    let mut query = seen.query.clone();
    query.insert("page".into(), next.to_string());
    let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "<{base}{}?{}>; rel=\"next\", <{base}{}?page=99>; rel=\"last\"",
        seen.path,
        q.join("&"),
        seen.path
    )
}

fn handler(repo: Arc<Mutex<Repo>>) -> mock_server::Handler {
    Arc::new(move |seen: &Seen, base: &str| {
        let repo = lock(&repo);
        let path = seen.path.as_str();
        let prefix = format!("/repos/{REPO}");
        let Some(rest) = path.strip_prefix(&prefix) else {
            return Reply::status(404);
        };
        // The API rejects requests without the documented media type.
        if seen.header("accept") != Some("application/vnd.github+json") {
            return Reply::status(415);
        }
        let paged = |items: Vec<Value>, per_page: usize| {
            let (slice, next) = page_of(&items, seen, per_page);
            let mut reply = Reply::json(Value::Array(slice));
            if let Some(n) = next {
                reply = reply.header("link", &link(base, seen, n));
            }
            reply
        };
        match rest {
            "" => Reply::json(
                json!({"default_branch": "main", "html_url": format!("https://github.example/{REPO}")}),
            ),
            "/issues" => {
                if seen.query.get("state").map(String::as_str) != Some("all") {
                    return Reply::status(422);
                }
                let since = seen
                    .query
                    .get("since")
                    .map(|s| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc));
                let mut items: Vec<Value> = repo
                    .issues
                    .values()
                    .filter(|i| {
                        let updated =
                            DateTime::parse_from_rfc3339(i["updated_at"].as_str().unwrap())
                                .unwrap()
                                .with_timezone(&Utc);
                        since.is_none_or(|s| updated >= s)
                    })
                    .cloned()
                    .collect();
                items.sort_by_key(|i| i["updated_at"].as_str().unwrap().to_string());
                let per_page = seen
                    .query
                    .get("per_page")
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(30);
                paged(items, per_page)
            }
            "/git/trees/main" => {
                let tree: Vec<Value> = repo
                    .files
                    .iter()
                    .map(|(p, (sha, _))| json!({"path": p, "mode": "100644", "type": "blob", "sha": sha, "size": 10}))
                    .chain(std::iter::once(json!({"path": "docs", "mode": "040000", "type": "tree", "sha": "t1"})))
                    .collect();
                Reply::json(json!({"sha": "root", "tree": tree, "truncated": false}))
            }
            other => {
                if let Some(sha) = other.strip_prefix("/git/blobs/") {
                    let Some((_, text)) = repo.files.values().find(|(s, _)| s == sha) else {
                        return Reply::status(404);
                    };
                    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                    // GitHub wraps the base64 content with newlines.
                    let wrapped: Vec<String> = encoded
                        .as_bytes()
                        .chunks(60)
                        .map(|c| String::from_utf8_lossy(c).into_owned())
                        .collect();
                    return Reply::json(
                        json!({"sha": sha, "encoding": "base64", "content": wrapped.join("\n"), "size": text.len()}),
                    );
                }
                let number = other
                    .strip_prefix("/issues/")
                    .and_then(|r| r.strip_suffix("/comments"))
                    .and_then(|n| n.parse::<u64>().ok());
                match number {
                    // Two comments per page so comment paging is exercised.
                    Some(n) => paged(repo.comments.get(&n).cloned().unwrap_or_default(), 2),
                    None => Reply::status(404),
                }
            }
        }
    })
}

fn comment(who: &str, text: &str) -> Value {
    json!({"id": 1, "user": {"login": who}, "body": text, "created_at": "2025-06-02T10:00:00Z"})
}

fn seeded() -> Arc<Mutex<Repo>> {
    let mut repo = Repo::default();
    repo.comments.insert(
        3,
        vec![
            comment("alice", "first"),
            comment("bob", "second"),
            comment("carol", "third on page two"),
        ],
    );
    repo.put_issue(1, "Login fails", "Steps:\n- open\n- click", false);
    repo.put_issue(2, "Crash on start", "Stack trace here", false);
    repo.put_issue(3, "Add retries", "PR body", true);
    repo.put_issue(4, "Old question", "How?", false);
    repo.put_issue(5, "Docs typo", "Fix", false);
    repo.put_file("README.md", "sha-readme", "# API\n\nThe API service.\n");
    repo.put_file(
        "docs/guide.md",
        "sha-guide-1",
        "# Guide\n\nRotate the keys.\n",
    );
    repo.put_file("src/main.rs", "sha-main", "fn main() {}\n");
    Arc::new(Mutex::new(repo))
}

fn connector(server: &MockServer) -> Arc<dyn Connector> {
    Arc::new(
        GithubConnector::builder("gh", vec![REPO.to_string()])
            .base_url(&server.base_url)
            .bearer_token("ghp_testtoken")
            .page_size(2)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    )
}

fn id(native: &str) -> String {
    format!("github:gh:{native}")
}

#[tokio::test]
async fn github_syncs_all_pages_then_only_changes_and_deletions() {
    let repo = seeded();
    let server = MockServer::start(handler(repo.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let gh = connector(&server);

    let report = sync(&kb, &gh).await.unwrap();
    assert_eq!(report.indexed(), 7);
    let mut expected: Vec<String> = (1..=5)
        .map(|n| id(&format!("{REPO}#{n}")))
        .chain([
            id(&format!("{REPO}:README.md")),
            id(&format!("{REPO}:docs/guide.md")),
        ])
        .collect();
    expected.sort();
    assert_eq!(indexed_ids(dir.path(), "gh").await, expected);
    // Several listing requests (page size 2), each resuming from the newest
    // `updated_at` already read, so no issue can slip between pages.
    let sinces: Vec<String> = server
        .seen()
        .iter()
        .filter(|s| s.path.ends_with("/issues"))
        .filter_map(|s| s.query.get("since").cloned())
        .collect();
    assert!(sinces.len() >= 2, "{sinces:?}");
    assert!(sinces.windows(2).all(|w| w[0] < w[1]), "{sinces:?}");
    let auth = server.seen()[0].header("authorization").map(String::from);
    assert_eq!(auth.as_deref(), Some("Bearer ghp_testtoken"));
    assert_eq!(
        server.seen()[0].header("x-github-api-version"),
        Some("2022-11-28")
    );

    let pr = lake_document(dir.path(), "gh", &id(&format!("{REPO}#3")))
        .await
        .unwrap();
    assert!(pr.body.contains("third on page two"), "{}", pr.body);
    assert!(pr.body.contains("**alice**"));
    assert_eq!(pr.metadata["kind"], "pull_request");
    assert_eq!(pr.metadata["labels"], "bug,p1");
    assert_eq!(pr.metadata["repo"], REPO);
    assert!(pr.metadata.contains_key("merged_at"));
    assert_eq!(pr.url, format!("https://github.example/{REPO}/issues/3"));
    let guide = lake_document(dir.path(), "gh", &id(&format!("{REPO}:docs/guide.md")))
        .await
        .unwrap();
    assert_eq!(guide.title, "Guide");
    assert!(guide.body.contains("Rotate the keys."));
    assert!(guide.url.ends_with("/blob/main/docs/guide.md"));

    // Nothing changed: no blob is re-read and nothing is re-indexed.
    server.clear_seen();
    let report = sync(&kb, &gh).await.unwrap();
    assert_eq!(report.indexed(), 0);
    assert_eq!(server.count("/git/blobs/"), 0);
    assert!(server
        .seen()
        .iter()
        .any(|s| s.path.ends_with("/issues") && s.query.contains_key("since")));

    // Edit an issue, change one doc, delete an issue.
    {
        let mut r = lock(&repo);
        r.put_issue(2, "Crash on start", "Fixed by upgrading libssl", false);
        r.put_file(
            "docs/guide.md",
            "sha-guide-2",
            "# Guide\n\nRotate the keys monthly.\n",
        );
        r.issues.remove(&4);
    }
    server.clear_seen();
    let report = sync(&kb, &gh).await.unwrap();
    assert_eq!(report.deleted(), 1);
    assert_eq!(
        server.count("/git/blobs/"),
        1,
        "only the changed blob is read"
    );
    let ids = indexed_ids(dir.path(), "gh").await;
    assert!(!ids.contains(&id(&format!("{REPO}#4"))));
    let edited = lake_document(dir.path(), "gh", &id(&format!("{REPO}#2")))
        .await
        .unwrap();
    assert!(edited.body.contains("libssl"));
    let guide = lake_document(dir.path(), "gh", &id(&format!("{REPO}:docs/guide.md")))
        .await
        .unwrap();
    assert!(guide.body.contains("monthly"));
}

#[tokio::test]
async fn github_honours_retry_after_and_retries_server_errors() {
    let server = MockServer::start(handler(seeded())).await;
    server.fail_next("/issues", Reply::status(429).header("retry-after", "1"));
    server.fail_next("/git/trees", Reply::status(500));
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let report = sync(&kb, &connector(&server)).await.unwrap();
    assert_eq!(report.indexed(), 7);
    let issues: Vec<Seen> = server
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("/issues"))
        .collect();
    let waited = issues[1].at.duration_since(issues[0].at);
    assert!(
        waited >= Duration::from_millis(990),
        "waited only {waited:?}"
    );
    assert_eq!(
        server.count("/git/trees"),
        3,
        "500 retried (list_ids reads the tree too)"
    );
}

#[tokio::test]
async fn github_waits_for_rate_limit_reset() {
    let server = MockServer::start(handler(seeded())).await;
    let reset = Utc::now().timestamp() + 2;
    server.fail_next(
        "/issues",
        Reply::status(403)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", &reset.to_string()),
    );
    let gh = connector(&server);
    let started = Instant::now();
    let batch = gh.fetch(None).await.unwrap();
    assert_eq!(batch.documents.len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn github_malformed_json_is_a_clear_error_and_commits_nothing() {
    let server = MockServer::start(handler(seeded())).await;
    server.fail_next("/issues", Reply::malformed());
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let err = sync(&kb, &connector(&server)).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("malformed JSON") && text.contains("gh"),
        "{text}"
    );
    assert!(!err.is_retryable());
    assert!(checkpoint(dir.path(), "gh").await.is_none());
    assert!(indexed_ids(dir.path(), "gh").await.is_empty());
}

#[tokio::test]
async fn github_unauthorized_is_permanent_and_names_the_source() {
    let server = MockServer::start(handler(seeded())).await;
    server.fail_next("/issues", Reply::status(401));
    let err = connector(&server).fetch(None).await.unwrap_err();
    match &err {
        Error::Source {
            source_name,
            message,
            retryable,
        } => {
            assert_eq!(source_name, "gh");
            assert!(!retryable);
            assert!(
                message.contains("401") && message.contains("token"),
                "{message}"
            );
            assert!(!message.contains("ghp_testtoken"), "credential leaked");
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(server.count("/issues"), 1, "a 401 is not retried");
}

#[tokio::test]
async fn github_throughput_from_loopback() {
    let repo = Arc::new(Mutex::new(Repo::default()));
    {
        let mut r = lock(&repo);
        for n in 1..=400 {
            r.put_issue(
                n,
                &format!("Issue {n}"),
                "Some body text.\n\n- a\n- b",
                n % 4 == 0,
            );
        }
        for n in 0..20 {
            r.put_file(
                &format!("docs/p{n}.md"),
                &format!("sha{n}"),
                "# Page\n\nText.\n",
            );
        }
    }
    let server = MockServer::start(handler(repo)).await;
    let gh: Arc<dyn Connector> = Arc::new(
        GithubConnector::builder("gh", vec![REPO.to_string()])
            .base_url(&server.base_url)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let started = Instant::now();
    let report = sync(&kb, &gh).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.indexed(), 420);
    let requests = server.seen().len();
    eprintln!(
        "github: {} docs in {secs:.2}s = {:.0} docs/s (hash embedder), {requests} requests = {:.3} per document (incl. list_ids)",
        report.indexed(),
        report.indexed() as f64 / secs,
        requests as f64 / report.indexed() as f64
    );
}

#[tokio::test]
async fn github_update_during_a_pass_skips_no_issue() {
    let repo = seeded();
    let server = MockServer::start(handler(repo.clone())).await;
    let gh = GithubConnector::builder("gh", vec![REPO.to_string()])
        .base_url(&server.base_url)
        .include(vaultiq_core::connector::GithubInclude {
            issues: true,
            pulls: true,
            docs: false,
        })
        .page_size(2)
        .retry_policy(fast_retries())
        .build()
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut batch = gh.fetch(None).await.unwrap();
    // Issue 1 (already read) is edited: it moves to the end of the listing,
    // which shifts every later issue one position earlier.
    lock(&repo).put_issue(1, "Login fails", "edited mid-pass", false);
    for _ in 0..10 {
        for d in &batch.documents {
            seen.insert(d.document.metadata["number"].clone());
        }
        if batch.done {
            break;
        }
        batch = gh.fetch(Some(&batch.checkpoint)).await.unwrap();
    }
    assert!(batch.done);
    let expected: std::collections::BTreeSet<String> = (1..=5).map(|n| n.to_string()).collect();
    assert_eq!(seen, expected);
}
