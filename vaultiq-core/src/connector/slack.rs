//! Slack: one document per thread (root + replies) or standalone message,
//! from the public and private channels the bot is a member of.
//!
//! `conversations.history` only lists top-level messages newer than
//! `oldest`, so a reply added to an old thread would be invisible. Each run
//! therefore re-scans roots over a look-back window (default 14 days) and
//! re-fetches a thread when its `latest_reply` (or an edit) is newer than
//! the channel's watermark. One fetch step is one history page of one
//! channel; the watermark moves when a channel's pass is complete. Ids:
//! `slack:{source}:{channel id}:{root ts}`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{ClientSettings, ClientSettingsBuilder};
use super::http::HttpClient;
use super::{Checkpoint, Connector, FetchBatch, SourceDocument};
use crate::convert::mrkdwn::{mentioned_users, mrkdwn_to_text};
use crate::{Document, Error, Result, SourceType};

/// The public Web API host.
pub const DEFAULT_BASE_URL: &str = "https://slack.com";

/// Subtypes that are noise, not knowledge.
const NOISE: &[&str] = &[
    "channel_join",
    "channel_leave",
    "channel_topic",
    "channel_purpose",
    "channel_name",
    "channel_archive",
    "channel_unarchive",
    "group_join",
    "group_leave",
    "bot_add",
    "bot_remove",
    "pinned_item",
    "unpinned_item",
    "bot_message",
];

/// Builds a [`SlackConnector`].
#[derive(Debug)]
pub struct SlackConnectorBuilder {
    name: String,
    base_url: String,
    channels: Vec<String>,
    lookback: Duration,
    page_size: u32,
    client: ClientSettings,
}

impl ClientSettingsBuilder for SlackConnectorBuilder {
    fn client_settings(&mut self) -> &mut ClientSettings {
        &mut self.client
    }
}

impl SlackConnectorBuilder {
    /// API host (default `https://slack.com`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Channel names (with or without `#`) or ids; default every channel
    /// the bot is a member of.
    pub fn channels(mut self, channels: Vec<String>) -> Self {
        self.channels = channels
            .into_iter()
            .map(|c| c.trim_start_matches('#').to_string())
            .collect();
        self
    }

    /// How far back roots are re-scanned for new replies (default 14 days).
    pub fn lookback(mut self, lookback: Duration) -> Self {
        self.lookback = lookback;
        self
    }

    /// Messages per history page (default 200).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 1000);
        self
    }

    /// Builds the connector.
    pub fn build(self) -> Result<SlackConnector> {
        let http = self.client.client(
            &self.name,
            &self.base_url,
            "the bot token (`credentials`) and its scopes (channels:history, groups:history, channels:read, groups:read, users:read)".into(),
        )?;
        Ok(SlackConnector {
            name: self.name,
            channels: self.channels,
            lookback_secs: self.lookback.as_secs(),
            page_size: self.page_size,
            http,
            users: Mutex::new(HashMap::new()),
        })
    }
}

/// Threads and messages of Slack channels.
#[derive(Debug)]
pub struct SlackConnector {
    name: String,
    channels: Vec<String>,
    lookback_secs: u64,
    page_size: u32,
    http: HttpClient,
    /// User id -> display name, resolved once per connector.
    users: Mutex<HashMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SlackCheckpoint {
    /// Channel id -> newest activity ts (message, reply or edit) seen by a finished pass.
    #[serde(default)]
    seen: BTreeMap<String, String>,
    #[serde(default)]
    run: Option<Pass>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Pass {
    /// Channels of this run as (id, name), fixed at its start.
    channels: Vec<(String, String)>,
    /// `https://WORKSPACE.slack.com/` for permalinks.
    workspace_url: String,
    index: usize,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    max_seen: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Channel {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    is_member: bool,
}

/// Slack timestamps (`"1712345678.123456"`) as comparable numbers.
fn ts_key(ts: &str) -> (u64, u64) {
    let (secs, micros) = ts.split_once('.').unwrap_or((ts, "0"));
    (secs.parse().unwrap_or(0), micros.parse().unwrap_or(0))
}

fn newer(a: &str, b: Option<&str>) -> bool {
    b.is_none_or(|b| ts_key(a) > ts_key(b))
}

fn ts_time(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, micros) = ts_key(ts);
    DateTime::from_timestamp(
        i64::try_from(secs).ok()?,
        u32::try_from(micros * 1000).ok()?,
    )
}

fn text_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

impl SlackConnector {
    /// Starts a builder for source `name`.
    pub fn builder(name: &str) -> SlackConnectorBuilder {
        SlackConnectorBuilder {
            name: name.to_string(),
            base_url: DEFAULT_BASE_URL.to_string(),
            channels: Vec::new(),
            lookback: Duration::from_secs(14 * 24 * 3600),
            page_size: 200,
            client: ClientSettings::default(),
        }
    }

    /// Requests sent so far (for measurements).
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    /// Calls a Web API method; `ok: false` becomes an error that says what
    /// to check (Slack answers most failures with HTTP 200).
    async fn call(&self, method: &str, query: &[(&str, String)]) -> Result<Value> {
        let (body, _) = self
            .http
            .get_json::<Value>(&format!("/api/{method}"), query)
            .await?;
        if body.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(body);
        }
        let code = text_of(&body, "error").unwrap_or("unknown_error");
        let message = match code {
            "invalid_auth" | "not_authed" | "account_inactive" | "token_revoked"
            | "token_expired" => {
                format!("{method} failed: `{code}`; check the bot token (`credentials`)")
            }
            "missing_scope" => format!(
                "{method} failed: `missing_scope` (needed: {}); add the scope to the Slack app",
                text_of(&body, "needed").unwrap_or("?")
            ),
            "not_in_channel" | "channel_not_found" => format!(
                "{method} failed: `{code}`; invite the bot to the channel or fix `channels`"
            ),
            "ratelimited" => {
                return Err(Error::Source {
                    source_name: self.name.clone(),
                    message: format!("{method} was rate limited; sync again later"),
                    retryable: true,
                })
            }
            other => format!("{method} failed: `{other}`"),
        };
        Err(self.http.error(message))
    }

    /// Pages through a cursor-paginated method, collecting `field` arrays.
    async fn all_pages(
        &self,
        method: &str,
        query: &[(&str, String)],
        field: &str,
    ) -> Result<Vec<Value>> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let mut q = query.to_vec();
            if !cursor.is_empty() {
                q.push(("cursor", cursor.clone()));
            }
            let body = self.call(method, &q).await?;
            if let Some(page) = body.get(field).and_then(Value::as_array) {
                items.extend(page.iter().cloned());
            }
            cursor = next_cursor(&body);
            if cursor.is_empty() {
                return Ok(items);
            }
        }
    }

    /// The channels to index, as (id, name).
    async fn channels(&self) -> Result<Vec<(String, String)>> {
        let query = [
            ("types", "public_channel,private_channel".to_string()),
            ("exclude_archived", "true".to_string()),
            ("limit", "200".to_string()),
        ];
        let raw = self
            .all_pages("conversations.list", &query, "channels")
            .await?;
        let mut out = Vec::new();
        for value in raw {
            let channel: Channel = serde_json::from_value(value)
                .map_err(|e| self.http.error(format!("unexpected channel shape: {e}")))?;
            let wanted = if self.channels.is_empty() {
                channel.is_member
            } else {
                self.channels
                    .iter()
                    .any(|c| *c == channel.id || *c == channel.name)
            };
            if wanted {
                out.push((channel.id, channel.name));
            }
        }
        Ok(out)
    }

    /// Resolves (and caches) the names of `ids`.
    async fn resolve_users(&self, ids: &[String]) -> Result<()> {
        for id in ids {
            let known = lock(&self.users).contains_key(id);
            if known {
                continue;
            }
            let name = match self.call("users.info", &[("user", id.clone())]).await {
                Ok(body) => body.get("user").and_then(|u| {
                    let profile = u.get("profile");
                    profile
                        .and_then(|p| text_of(p, "display_name"))
                        .filter(|n| !n.is_empty())
                        .or_else(|| profile.and_then(|p| text_of(p, "real_name")))
                        .or_else(|| text_of(u, "real_name"))
                        .or_else(|| text_of(u, "name"))
                        .map(String::from)
                }),
                // An unknown or deactivated user should not stop the sync.
                Err(e) if !e.is_retryable() => None,
                Err(e) => return Err(e),
            };
            lock(&self.users).insert(id.clone(), name.unwrap_or_else(|| id.clone()));
        }
        Ok(())
    }

    fn is_noise(message: &Value) -> bool {
        let subtype = text_of(message, "subtype").unwrap_or("");
        NOISE.contains(&subtype) || message.get("bot_id").is_some()
    }

    /// Newest activity of a top-level message: itself, its last reply, its edit.
    fn activity(message: &Value) -> String {
        let mut newest = text_of(message, "ts").unwrap_or("0").to_string();
        let edited = message.get("edited").and_then(|e| text_of(e, "ts"));
        for ts in [text_of(message, "latest_reply"), edited]
            .into_iter()
            .flatten()
        {
            if newer(ts, Some(&newest)) {
                newest = ts.to_string();
            }
        }
        newest
    }

    async fn thread_document(
        &self,
        channel: &(String, String),
        workspace_url: &str,
        root: &Value,
    ) -> Result<SourceDocument> {
        let root_ts = text_of(root, "ts").unwrap_or("0").to_string();
        let is_thread = root.get("reply_count").and_then(Value::as_u64).unwrap_or(0) > 0;
        let messages = if is_thread {
            let query = [
                ("channel", channel.0.clone()),
                ("ts", root_ts.clone()),
                ("limit", "200".to_string()),
            ];
            self.all_pages("conversations.replies", &query, "messages")
                .await?
        } else {
            vec![root.clone()]
        };
        let messages: Vec<Value> = messages
            .into_iter()
            .filter(|m| !Self::is_noise(m))
            .collect();
        let mut ids: Vec<String> = Vec::new();
        for m in &messages {
            if let Some(user) = text_of(m, "user") {
                ids.push(user.to_string());
            }
            ids.extend(mentioned_users(text_of(m, "text").unwrap_or("")));
        }
        ids.sort();
        ids.dedup();
        self.resolve_users(&ids).await?;
        let users = lock(&self.users).clone();
        let name_of = |id: &str| users.get(id).cloned();
        let mut body = String::new();
        for m in &messages {
            let who = text_of(m, "user")
                .and_then(&name_of)
                .unwrap_or_else(|| "unknown".to_string());
            let when = text_of(m, "ts")
                .and_then(ts_time)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            let text = mrkdwn_to_text(text_of(m, "text").unwrap_or(""), &name_of);
            body.push_str(&format!("**{who}** ({when}):\n{}\n\n", text.trim()));
        }
        let root_text = mrkdwn_to_text(text_of(root, "text").unwrap_or(""), &name_of);
        let first_line: String = root_text
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .chars()
            .take(80)
            .collect();
        let mut doc = Document::new(
            SourceType::Slack,
            &self.name,
            &format!("{}:{root_ts}", channel.0),
            format!("#{}: {first_line}", channel.1),
            body.trim_end().to_string(),
        );
        doc.url = format!(
            "{}archives/{}/p{}",
            workspace_url,
            channel.0,
            root_ts.replace('.', "")
        );
        doc.author = text_of(root, "user").and_then(&name_of);
        doc.created_at = ts_time(&root_ts);
        doc.updated_at = ts_time(&Self::activity(root));
        let meta = &mut doc.metadata;
        meta.insert("channel".into(), channel.1.clone());
        meta.insert("channel_id".into(), channel.0.clone());
        meta.insert("messages".into(), messages.len().to_string());
        meta.insert(
            "kind".into(),
            if is_thread { "thread" } else { "message" }.into(),
        );
        doc.content_hash = doc.compute_hash();
        Ok(SourceDocument {
            document: doc,
            raw: serde_json::json!({ "channel": channel.0, "messages": messages }),
        })
    }

    async fn start_pass(&self) -> Result<Pass> {
        let auth = self.call("auth.test", &[]).await?;
        let workspace_url = text_of(&auth, "url")
            .unwrap_or("https://slack.com/")
            .to_string();
        Ok(Pass {
            channels: self.channels().await?,
            workspace_url,
            ..Pass::default()
        })
    }

    fn parse_checkpoint(&self, checkpoint: Option<&Checkpoint>) -> Result<SlackCheckpoint> {
        match checkpoint {
            None => Ok(SlackCheckpoint::default()),
            Some(cp) => serde_json::from_value(cp.0.clone()).map_err(|e| {
                self.http.error(format!(
                    "the stored checkpoint is unreadable ({e}); reset the source's sync state"
                ))
            }),
        }
    }
}

fn next_cursor(body: &Value) -> String {
    body.get("response_metadata")
        .and_then(|m| text_of(m, "next_cursor"))
        .unwrap_or("")
        .to_string()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[async_trait]
impl Connector for SlackConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_type(&self) -> SourceType {
        SourceType::Slack
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch> {
        let mut cp = self.parse_checkpoint(checkpoint)?;
        let mut pass = match cp.run.take() {
            Some(pass) => pass,
            None => self.start_pass().await?,
        };
        let Some(channel) = pass.channels.get(pass.index).cloned() else {
            return Ok(FetchBatch {
                documents: Vec::new(),
                checkpoint: Checkpoint(serde_json::to_value(&cp)?),
                done: true,
            });
        };
        let watermark = cp.seen.get(&channel.0).cloned();
        let mut query = vec![
            ("channel", channel.0.clone()),
            ("limit", self.page_size.to_string()),
        ];
        if let Some(seen) = &watermark {
            // Re-scan roots over the look-back window (or from the watermark
            // if that is older) so replies to old threads are found.
            let lookback_start = Utc::now()
                .timestamp()
                .saturating_sub(self.lookback_secs as i64);
            let oldest = ts_key(seen).0.min(lookback_start.max(0) as u64);
            query.push(("oldest", format!("{oldest}.000000")));
        }
        if let Some(cursor) = &pass.cursor {
            query.push(("cursor", cursor.clone()));
        }
        let body = self.call("conversations.history", &query).await?;
        let messages = body
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut documents = Vec::new();
        for message in &messages {
            if Self::is_noise(message) || text_of(message, "ts").is_none() {
                continue;
            }
            let activity = Self::activity(message);
            if newer(&activity, pass.max_seen.as_deref()) {
                pass.max_seen = Some(activity.clone());
            }
            if newer(&activity, watermark.as_deref()) {
                documents.push(
                    self.thread_document(&channel, &pass.workspace_url, message)
                        .await?,
                );
            }
        }
        let cursor = next_cursor(&body);
        if cursor.is_empty() {
            if let Some(max) = pass.max_seen.take() {
                if newer(&max, watermark.as_deref()) {
                    cp.seen.insert(channel.0.clone(), max);
                }
            }
            pass.index += 1;
            pass.cursor = None;
        } else {
            pass.cursor = Some(cursor);
        }
        let done = pass.index >= pass.channels.len();
        if !done {
            cp.run = Some(pass);
        }
        Ok(FetchBatch {
            documents,
            checkpoint: Checkpoint(serde_json::to_value(&cp)?),
            done,
        })
    }

    async fn list_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for (id, _) in self.channels().await? {
            let query = [
                ("channel", id.clone()),
                ("limit", self.page_size.to_string()),
            ];
            for message in self
                .all_pages("conversations.history", &query, "messages")
                .await?
            {
                if Self::is_noise(&message) {
                    continue;
                }
                if let Some(ts) = text_of(&message, "ts") {
                    ids.push(Document::make_id(
                        SourceType::Slack,
                        &self.name,
                        &format!("{id}:{ts}"),
                    ));
                }
            }
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_numerically() {
        assert!(newer("1712345678.000100", Some("1712345678.000099")));
        assert!(!newer("1712345678.000099", Some("1712345678.000100")));
        assert!(newer("1", None));
        assert_eq!(
            ts_time("1700000000.500000").map(|t| t.timestamp_millis()),
            Some(1_700_000_000_500)
        );
    }

    #[test]
    fn activity_includes_replies_and_edits() {
        let m = serde_json::json!({"ts": "100.000001", "latest_reply": "300.000000", "edited": {"ts": "200.0"}});
        assert_eq!(SlackConnector::activity(&m), "300.000000");
        assert!(SlackConnector::is_noise(
            &serde_json::json!({"subtype": "channel_join"})
        ));
        assert!(SlackConnector::is_noise(
            &serde_json::json!({"bot_id": "B1"})
        ));
    }
}
