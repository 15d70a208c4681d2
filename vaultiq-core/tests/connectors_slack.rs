//! The Slack connector against a loopback server shaped like the Slack Web
//! API (https://api.slack.com/methods/conversations.list,
//! .../conversations.history, .../conversations.replies, .../users.info,
//! .../auth.test; cursor pagination through `response_metadata.next_cursor`,
//! failures as HTTP 200 `{"ok": false, "error": ...}`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod mock_server;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mock_server::{
    checkpoint, fast_retries, indexed_ids, knowledge_base, lake_document, lock, sync, MockServer,
    Reply, Seen,
};
use serde_json::{json, Value};
use vaultiq_core::connector::ClientSettingsBuilder;
use vaultiq_core::connector::{Connector, SlackConnector};

#[derive(Clone)]
struct Msg {
    ts: String,
    user: String,
    text: String,
    subtype: Option<String>,
    replies: Vec<(String, String, String)>,
}

struct Workspace {
    /// channel id -> top-level messages
    channels: BTreeMap<String, Vec<Msg>>,
    base: i64,
    step: i64,
}

impl Workspace {
    fn ts(&mut self) -> String {
        self.step += 60;
        format!("{}.{:06}", self.base + self.step, self.step)
    }

    fn post(&mut self, channel: &str, user: &str, text: &str, subtype: Option<&str>) -> String {
        let ts = self.ts();
        self.channels.entry(channel.into()).or_default().push(Msg {
            ts: ts.clone(),
            user: user.into(),
            text: text.into(),
            subtype: subtype.map(String::from),
            replies: Vec::new(),
        });
        ts
    }

    fn reply(&mut self, channel: &str, root: &str, user: &str, text: &str, ts: Option<String>) {
        let ts = ts.unwrap_or_else(|| self.ts());
        let msgs = self.channels.get_mut(channel).unwrap();
        let m = msgs.iter_mut().find(|m| m.ts == root).unwrap();
        m.replies.push((ts, user.into(), text.into()));
    }
}

fn top_level(m: &Msg) -> Value {
    let mut v = json!({"type": "message", "ts": m.ts, "user": m.user, "text": m.text});
    if let Some(s) = &m.subtype {
        v["subtype"] = json!(s);
        if s == "bot_message" {
            v["bot_id"] = json!("B1");
        }
    }
    if let Some(last) = m.replies.last() {
        v["thread_ts"] = json!(m.ts);
        v["reply_count"] = json!(m.replies.len());
        v["latest_reply"] = json!(last.0);
    }
    v
}

fn ts_num(ts: &str) -> f64 {
    ts.parse().unwrap()
}

/// Cursor paging over `items`, `size` per page.
fn paged(seen: &Seen, field: &str, items: Vec<Value>, size: usize) -> Reply {
    let start: usize = seen
        .query
        .get("cursor")
        .and_then(|c| c.strip_prefix("cur"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = items.iter().skip(start).take(size).cloned().collect();
    let next = if start + size < items.len() {
        format!("cur{}", start + size)
    } else {
        String::new()
    };
    let mut body = json!({"ok": true, "response_metadata": {"next_cursor": next}});
    body[field] = Value::Array(page);
    body["has_more"] = json!(!next.is_empty());
    Reply::json(body)
}

fn handler(ws: Arc<Mutex<Workspace>>) -> mock_server::Handler {
    Arc::new(move |seen: &Seen, _base: &str| {
        if seen.header("authorization") != Some("Bearer xoxb-test") {
            return Reply::json(json!({"ok": false, "error": "invalid_auth"}));
        }
        let ws = lock(&ws);
        match seen.path.as_str() {
            "/api/auth.test" => Reply::json(
                json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user_id": "UBOT"}),
            ),
            "/api/conversations.list" => {
                if seen.query.get("types").map(String::as_str)
                    != Some("public_channel,private_channel")
                {
                    return Reply::json(json!({"ok": false, "error": "invalid_types"}));
                }
                let channels = vec![
                    json!({"id": "C1", "name": "ops", "is_member": true, "is_private": false, "is_archived": false}),
                    json!({"id": "C2", "name": "random", "is_member": false, "is_private": false, "is_archived": false}),
                    json!({"id": "G3", "name": "secret", "is_member": true, "is_private": true, "is_archived": false}),
                ];
                paged(seen, "channels", channels, 1)
            }
            "/api/conversations.history" => {
                let channel = seen.query.get("channel").cloned().unwrap_or_default();
                if !["C1", "C2", "G3"].contains(&channel.as_str()) {
                    return Reply::json(json!({"ok": false, "error": "channel_not_found"}));
                }
                let msgs = ws.channels.get(&channel).cloned().unwrap_or_default();
                let oldest = seen.query.get("oldest").map_or(0.0, |o| ts_num(o));
                let mut items: Vec<Value> = msgs
                    .iter()
                    .filter(|m| ts_num(&m.ts) > oldest)
                    .map(top_level)
                    .collect();
                items.reverse(); // newest first, as documented
                let limit = seen
                    .query
                    .get("limit")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(100);
                paged(seen, "messages", items, limit)
            }
            "/api/conversations.replies" => {
                let channel = seen.query.get("channel").cloned().unwrap_or_default();
                let root = seen.query.get("ts").cloned().unwrap_or_default();
                let Some(m) = ws
                    .channels
                    .get(&channel)
                    .and_then(|ms| ms.iter().find(|m| m.ts == root))
                else {
                    return Reply::json(json!({"ok": false, "error": "thread_not_found"}));
                };
                let mut items = vec![top_level(m)];
                items.extend(m.replies.iter().map(|(ts, user, text)| {
                    json!({"type": "message", "ts": ts, "user": user, "text": text, "thread_ts": m.ts, "parent_user_id": m.user})
                }));
                paged(seen, "messages", items, 2)
            }
            "/api/users.info" => {
                let id = seen.query.get("user").cloned().unwrap_or_default();
                let name = match id.as_str() {
                    "U1" => "Ada",
                    "U2" => "Bob",
                    "U3" => "Cy",
                    _ => return Reply::json(json!({"ok": false, "error": "user_not_found"})),
                };
                Reply::json(
                    json!({"ok": true, "user": {"id": id, "name": name.to_lowercase(),
                    "real_name": format!("{name} Real"), "profile": {"display_name": name, "real_name": format!("{name} Real")}}}),
                )
            }
            _ => Reply::status(404),
        }
    })
}

fn seeded() -> (Arc<Mutex<Workspace>>, String, String) {
    let now = chrono::Utc::now().timestamp();
    let mut ws = Workspace {
        channels: BTreeMap::new(),
        base: now - 3 * 86_400,
        step: 0,
    };
    let thread = ws.post(
        "C1",
        "U1",
        "Deploy is stuck, <@U2> can you look? &lt;urgent&gt;",
        None,
    );
    ws.reply(
        "C1",
        &thread,
        "U2",
        "Looking, see <https://ci.example/run/1|the run>",
        None,
    );
    ws.reply("C1", &thread, "U3", "Restarted the runner", None);
    ws.reply("C1", &thread, "U1", "Thanks!", None);
    let single = ws.post("C1", "U2", "Reminder: rotate keys in <#C9|security>", None);
    ws.post(
        "C1",
        "U3",
        "<@U3> has joined the channel",
        Some("channel_join"),
    );
    ws.post("C1", "UB", "build passed", Some("bot_message"));
    ws.post("C2", "U1", "not a member here", None);
    ws.post("G3", "U1", "private plan", None);
    (Arc::new(Mutex::new(ws)), thread, single)
}

fn connector(server: &MockServer) -> Arc<dyn Connector> {
    Arc::new(
        SlackConnector::builder("chat")
            .base_url(&server.base_url)
            .bearer_token("xoxb-test")
            .page_size(2)
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn slack_threads_late_replies_and_deletions() {
    let (ws, thread, single) = seeded();
    let server = MockServer::start(handler(ws.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let slack = connector(&server);

    let report = sync(&kb, &slack).await.unwrap();
    assert_eq!(
        report.indexed(),
        3,
        "thread, message, private message; no noise"
    );
    let thread_id = format!("slack:chat:C1:{thread}");
    let doc = lake_document(dir.path(), "chat", &thread_id).await.unwrap();
    assert!(doc.body.contains("**Ada**"), "{}", doc.body);
    assert!(
        doc.body.contains("@Bob can you look? <urgent>"),
        "{}",
        doc.body
    );
    assert!(
        doc.body.contains("the run (https://ci.example/run/1)"),
        "{}",
        doc.body
    );
    assert!(
        doc.body.contains("Thanks!"),
        "the reply on the second replies page: {}",
        doc.body
    );
    assert_eq!(doc.metadata["channel"], "ops");
    assert_eq!(doc.metadata["kind"], "thread");
    assert_eq!(doc.metadata["messages"], "4");
    assert!(
        doc.title.starts_with("#ops: Deploy is stuck"),
        "{}",
        doc.title
    );
    assert_eq!(
        doc.url,
        format!(
            "https://acme.slack.com/archives/C1/p{}",
            thread.replace('.', "")
        )
    );
    let single_doc = lake_document(dir.path(), "chat", &format!("slack:chat:C1:{single}"))
        .await
        .unwrap();
    assert!(single_doc.body.contains("#security"));
    assert_eq!(server.count("users.info"), 3, "user names are cached");
    let cp = checkpoint(dir.path(), "chat").await.unwrap();
    assert!(cp["seen"]["C1"].is_string(), "{cp}");

    // A reply arrives in the old thread; the root itself is older than the watermark.
    let late = format!("{}.000001", chrono::Utc::now().timestamp() + 5);
    lock(&ws).reply("C1", &thread, "U2", "Root cause: disk full", Some(late));
    server.clear_seen();
    let report = sync(&kb, &slack).await.unwrap();
    assert_eq!(report.indexed(), 1);
    assert!(server
        .seen()
        .iter()
        .any(|s| s.path.ends_with("conversations.history") && s.query.contains_key("oldest")));
    let doc = lake_document(dir.path(), "chat", &thread_id).await.unwrap();
    assert!(doc.body.contains("Root cause: disk full"), "{}", doc.body);

    // A deleted message disappears from the index.
    lock(&ws)
        .channels
        .get_mut("C1")
        .unwrap()
        .retain(|m| m.ts != single);
    let report = sync(&kb, &slack).await.unwrap();
    assert_eq!(report.indexed(), 0);
    assert_eq!(report.deleted(), 1);
    assert!(!indexed_ids(dir.path(), "chat")
        .await
        .contains(&format!("slack:chat:C1:{single}")));
}

#[tokio::test]
async fn slack_retry_after_server_errors_bad_json_and_auth() {
    let (ws, _, _) = seeded();
    let server = MockServer::start(handler(ws)).await;
    server.fail_next(
        "conversations.history",
        Reply {
            status: 429,
            headers: vec![("retry-after".into(), "1".into())],
            body: json!({"ok": false, "error": "ratelimited"}).to_string(),
        },
    );
    server.fail_next("users.info", Reply::status(500));
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let slack = connector(&server);
    assert_eq!(sync(&kb, &slack).await.unwrap().indexed(), 3);
    let history: Vec<Seen> = server
        .seen()
        .into_iter()
        .filter(|s| s.path.ends_with("conversations.history"))
        .collect();
    assert!(history[1].at.duration_since(history[0].at) >= Duration::from_millis(990));

    let fresh = tempfile::tempdir().unwrap();
    let kb = knowledge_base(fresh.path()).unwrap();
    server.fail_next("conversations.list", Reply::malformed());
    let err = sync(&kb, &slack).await.unwrap_err();
    assert!(
        err.to_string().contains("malformed JSON") && !err.is_retryable(),
        "{err}"
    );
    assert!(checkpoint(fresh.path(), "chat").await.is_none());
    assert!(indexed_ids(fresh.path(), "chat").await.is_empty());

    server.fail_next("auth.test", Reply::status(401));
    let err = slack.fetch(None).await.unwrap_err();
    assert!(
        !err.is_retryable() && err.to_string().contains("bot token"),
        "{err}"
    );

    let wrong: Arc<dyn Connector> = Arc::new(
        SlackConnector::builder("chat")
            .base_url(&server.base_url)
            .bearer_token("xoxb-wrong")
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    let err = wrong.fetch(None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        !err.is_retryable() && text.contains("invalid_auth") && text.contains("chat"),
        "{text}"
    );
    assert!(!text.contains("xoxb-wrong"));
}

#[tokio::test]
async fn slack_throughput_from_loopback() {
    let now = chrono::Utc::now().timestamp();
    let mut ws = Workspace {
        channels: BTreeMap::new(),
        base: now - 10 * 86_400,
        step: 0,
    };
    for n in 0..300 {
        let ts = ws.post("C1", "U1", &format!("question {n} for <@U2>"), None);
        if n % 3 == 0 {
            ws.reply("C1", &ts, "U2", "answer", None);
        }
    }
    let server = MockServer::start(handler(Arc::new(Mutex::new(ws)))).await;
    let slack: Arc<dyn Connector> = Arc::new(
        SlackConnector::builder("chat")
            .base_url(&server.base_url)
            .bearer_token("xoxb-test")
            .retry_policy(fast_retries())
            .build()
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let kb = knowledge_base(dir.path()).unwrap();
    let started = std::time::Instant::now();
    let report = sync(&kb, &slack).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(report.indexed(), 300);
    let requests = server.seen().len();
    eprintln!(
        "slack: 300 docs (100 threads) in {secs:.2}s = {:.0} docs/s (hash embedder), {requests} requests = {:.3} per document (incl. list_ids)",
        300.0 / secs,
        requests as f64 / 300.0
    );
}
