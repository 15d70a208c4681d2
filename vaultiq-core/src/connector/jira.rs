//! Jira Cloud and Data Center issues with their comments.
//!
//! Cloud: `GET /rest/api/3/search/jql?jql=...&fields=...&nextPageToken=`
//! (descriptions and comments in ADF). Data Center: `GET /rest/api/2/search`
//! with `startAt` (wiki markup). The JQL is the configured projects or JQL,
//! plus `updated >= <epoch ms>` (epoch milliseconds avoid the per-user time
//! zone that `"yyyy-MM-dd HH:mm"` dates are read in), ordered by `updated`.
//! One fetch step is one search page; comments beyond those embedded in the
//! issue are paged through `/issue/{key}/comment`. Pages are read by keyset
//! (restarting from the newest `updated` read), so an interrupted pass resumes at its last page and an
//! issue edited during the pass is read again at its end, never skipped. Ids:
//! `jira:{source}:{issue key}`; the title starts with the key so a search
//! for `OPS-123` finds it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::confluence::Deployment;

use super::client::{ClientSettings, ClientSettingsBuilder};
use super::http::HttpClient;
use super::{Checkpoint, Connector, FetchBatch, SourceDocument};
use crate::convert::adf::adf_to_text;
use crate::{Document, Error, Result, SourceType};

const FIELDS: &str = "summary,description,status,priority,issuetype,assignee,reporter,labels,components,project,created,updated,comment";

/// Builds a [`JiraConnector`].
#[derive(Debug)]
pub struct JiraConnectorBuilder {
    name: String,
    base_url: String,
    projects: Vec<String>,
    jql: Option<String>,
    deployment: Deployment,
    page_size: u32,
    overlap: Duration,
    client: ClientSettings,
}

impl ClientSettingsBuilder for JiraConnectorBuilder {
    fn client_settings(&mut self) -> &mut ClientSettings {
        &mut self.client
    }
}

impl JiraConnectorBuilder {
    /// Project keys to index.
    pub fn projects(mut self, projects: Vec<String>) -> Self {
        self.projects = projects;
        self
    }

    /// A JQL filter instead of (or narrowing) the projects.
    pub fn jql(mut self, jql: impl Into<String>) -> Self {
        self.jql = Some(jql.into());
        self
    }

    /// Cloud (default) or Data Center.
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployment = deployment;
        self
    }

    /// Issues per search page (default 50).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 100);
        self
    }

    /// How far before the watermark a new pass starts (default 5 min).
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Checks the settings and builds the connector.
    pub fn build(self) -> Result<JiraConnector> {
        if self.projects.is_empty() && self.jql.is_none() {
            return Err(Error::Config(format!(
                "source `{}`: set `projects` or `jql` (an unbounded search may be rejected)",
                self.name
            )));
        }
        for key in &self.projects {
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::Config(format!(
                    "source `{}`: project key `{key}` is not valid",
                    self.name
                )));
            }
        }
        let hint = match self.deployment {
            Deployment::Cloud => "the account e-mail and API token (`credentials`)",
            Deployment::DataCenter => "the personal access token (`credentials`)",
        };
        let http = self
            .client
            .client(
                &self.name,
                &self.base_url,
                format!("{hint} and the project permissions"),
            )?
            .header("accept", "application/json");
        Ok(JiraConnector {
            name: self.name,
            projects: self.projects,
            jql: self.jql,
            deployment: self.deployment,
            page_size: self.page_size,
            overlap_ms: i64::try_from(self.overlap.as_millis()).unwrap_or(i64::MAX),
            http,
        })
    }
}

/// Issues of Jira projects.
#[derive(Debug)]
pub struct JiraConnector {
    name: String,
    projects: Vec<String>,
    jql: Option<String>,
    deployment: Deployment,
    page_size: u32,
    overlap_ms: i64,
    http: HttpClient,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct JiraCheckpoint {
    /// Highest `updated` (epoch ms) seen by a finished pass.
    #[serde(default)]
    since_ms: Option<i64>,
    #[serde(default)]
    run: Option<Pass>,
}

/// A pagination pass in progress. Pages are read by keyset: after each
/// page the query restarts from the newest timestamp read (`from_ms`,
/// inclusive) instead of following `startAt` / the page token, because an
/// issue edited mid-pass moves to the end of an `ORDER BY updated` listing
/// and would shift an unread issue into the page already read. Only a page
/// whose issues all share one timestamp (no progress) follows the token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Pass {
    /// The JQL of the current query.
    jql: String,
    /// Lower bound (epoch ms) of the current query.
    #[serde(default)]
    from_ms: Option<i64>,
    /// Cloud: the next page token.
    #[serde(default)]
    token: Option<String>,
    /// Data Center: the next `startAt`.
    #[serde(default)]
    start_at: u64,
    #[serde(default)]
    max_seen_ms: Option<i64>,
}

/// The timestamp field a listing is ordered and resumed by.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// Changes (`fetch`): edits move an issue later, never skip one.
    Updated,
    /// Every issue (`list_ids`): creation times never change.
    Created,
}

impl Order {
    fn field(self) -> &'static str {
        match self {
            Order::Updated => "updated",
            Order::Created => "created",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchPage {
    #[serde(default)]
    issues: Vec<Value>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    start_at: u64,
    #[serde(default)]
    total: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentPage {
    #[serde(default)]
    comments: Vec<Value>,
    #[serde(default)]
    start_at: u64,
    #[serde(default)]
    total: u64,
}

impl JiraConnector {
    /// Starts a builder; `base_url` is the site (`https://acme.atlassian.net`).
    pub fn builder(name: &str, base_url: &str) -> JiraConnectorBuilder {
        JiraConnectorBuilder {
            name: name.to_string(),
            base_url: base_url.to_string(),
            projects: Vec::new(),
            jql: None,
            deployment: Deployment::Cloud,
            page_size: 50,
            overlap: Duration::from_secs(300),
            client: ClientSettings::default(),
        }
    }

    /// Requests sent so far (for measurements).
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    fn api(&self) -> &'static str {
        match self.deployment {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        }
    }

    fn jql(&self, order: Order, from_ms: Option<i64>) -> String {
        let mut parts = Vec::new();
        if !self.projects.is_empty() {
            parts.push(format!("project in ({})", self.projects.join(", ")));
        }
        if let Some(jql) = &self.jql {
            parts.push(format!("({jql})"));
        }
        let field = order.field();
        if let Some(ms) = from_ms {
            parts.push(format!("{field} >= {ms}"));
        }
        format!("{} ORDER BY {field} ASC, key ASC", parts.join(" AND "))
    }

    /// Starts a pass over `order` from `from_ms`.
    fn pass(&self, order: Order, from_ms: Option<i64>) -> Pass {
        Pass {
            jql: self.jql(order, from_ms),
            from_ms,
            ..Pass::default()
        }
    }

    /// Moves `pass` past `page`; false after the last page. `page_max` is
    /// the newest `order` timestamp on the page.
    fn next_page(
        &self,
        order: Order,
        pass: &mut Pass,
        page: &SearchPage,
        page_max: Option<i64>,
    ) -> bool {
        let more = self.advance(pass, page);
        if more && page_max.is_some() && page_max > pass.from_ms {
            // Restart from what was read; the boundary issues are read
            // again (idempotent) rather than risk skipping one.
            *pass = Pass {
                max_seen_ms: pass.max_seen_ms,
                ..self.pass(order, page_max)
            };
        }
        more
    }

    async fn search(&self, pass: &Pass, fields: &str) -> Result<SearchPage> {
        let mut query = vec![
            ("jql", pass.jql.clone()),
            ("fields", fields.to_string()),
            ("maxResults", self.page_size.to_string()),
        ];
        let path = match self.deployment {
            Deployment::Cloud => {
                if let Some(token) = &pass.token {
                    query.push(("nextPageToken", token.clone()));
                }
                "/rest/api/3/search/jql"
            }
            Deployment::DataCenter => {
                query.push(("startAt", pass.start_at.to_string()));
                "/rest/api/2/search"
            }
        };
        let (page, _) = self.http.get_json::<SearchPage>(path, &query).await?;
        Ok(page)
    }

    /// Where the next page starts, or `None` after the last page.
    fn advance(&self, pass: &mut Pass, page: &SearchPage) -> bool {
        match self.deployment {
            Deployment::Cloud => {
                pass.token = page.next_page_token.clone().filter(|t| !t.is_empty());
                pass.token.is_some()
            }
            Deployment::DataCenter => {
                pass.start_at = page.start_at + page.issues.len() as u64;
                !page.issues.is_empty() && pass.start_at < page.total
            }
        }
    }

    /// Every comment of an issue: the embedded ones, then the rest paged.
    async fn comments(&self, key: &str, fields: &Value) -> Result<Vec<Value>> {
        let embedded = fields.get("comment");
        let mut comments: Vec<Value> = embedded
            .and_then(|c| c.get("comments"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let total = embedded
            .and_then(|c| c.get("total"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if total as usize <= comments.len() {
            return Ok(comments);
        }
        comments.clear();
        let path = format!("{}/issue/{key}/comment", self.api());
        let mut start = 0u64;
        loop {
            let query = [
                ("startAt", start.to_string()),
                ("maxResults", "100".to_string()),
            ];
            let (page, _) = self.http.get_json::<CommentPage>(&path, &query).await?;
            let got = page.comments.len() as u64;
            comments.extend(page.comments);
            start = page.start_at + got;
            if got == 0 || start >= page.total {
                return Ok(comments);
            }
        }
    }

    fn rich_text(&self, value: Option<&Value>) -> String {
        match value {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(wiki)) => wiki_to_text(wiki),
            Some(adf) => adf_to_text(adf),
        }
    }

    fn document(&self, key: &str, fields: &Value, comments: &[Value]) -> Document {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(String::from);
        let name_of = |field: &str, attr: &str| {
            fields
                .get(field)
                .and_then(|f| f.get(attr))
                .and_then(Value::as_str)
                .map(String::from)
        };
        let summary = text(fields.get("summary")).unwrap_or_default();
        let mut body = format!("# {key}: {summary}\n\n");
        let description = self.rich_text(fields.get("description"));
        if !description.is_empty() {
            body.push_str(&description);
            body.push_str("\n\n");
        }
        if !comments.is_empty() {
            body.push_str("## Comments\n\n");
            for comment in comments {
                let who = comment
                    .get("author")
                    .and_then(|a| a.get("displayName"))
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                let when = comment
                    .get("created")
                    .and_then(Value::as_str)
                    .and_then(parse_time)
                    .map(|t| t.format(" (%Y-%m-%d)").to_string())
                    .unwrap_or_default();
                body.push_str(&format!(
                    "**{who}**{when}:\n{}\n\n",
                    self.rich_text(comment.get("body"))
                ));
            }
        }
        let mut doc = Document::new(
            SourceType::Jira,
            &self.name,
            key,
            format!("{key}: {summary}"),
            body.trim_end().to_string(),
        );
        doc.url = format!("{}/browse/{key}", self.http.base_url());
        doc.author = name_of("reporter", "displayName");
        doc.created_at = text(fields.get("created")).as_deref().and_then(parse_time);
        doc.updated_at = text(fields.get("updated")).as_deref().and_then(parse_time);
        let meta = &mut doc.metadata;
        meta.insert("key".into(), key.to_string());
        for (meta_key, field, attr) in [
            ("project", "project", "key"),
            ("status", "status", "name"),
            ("priority", "priority", "name"),
            ("issue_type", "issuetype", "name"),
            ("assignee", "assignee", "displayName"),
            ("reporter", "reporter", "displayName"),
        ] {
            if let Some(value) = name_of(field, attr) {
                meta.insert(meta_key.into(), value);
            }
        }
        let list = |field: &str, attr: Option<&str>| -> Vec<String> {
            fields
                .get(field)
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| match attr {
                            Some(a) => i.get(a).and_then(Value::as_str),
                            None => i.as_str(),
                        })
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        let labels = list("labels", None);
        if !labels.is_empty() {
            meta.insert("labels".into(), labels.join(","));
        }
        let components = list("components", Some("name"));
        if !components.is_empty() {
            meta.insert("components".into(), components.join(","));
        }
        meta.insert("comments".into(), comments.len().to_string());
        doc.content_hash = doc.compute_hash();
        doc
    }

    fn parse_checkpoint(&self, checkpoint: Option<&Checkpoint>) -> Result<JiraCheckpoint> {
        match checkpoint {
            None => Ok(JiraCheckpoint::default()),
            Some(cp) => serde_json::from_value(cp.0.clone()).map_err(|e| {
                self.http.error(format!(
                    "the stored checkpoint is unreadable ({e}); reset the source's sync state"
                ))
            }),
        }
    }
}

/// Jira timestamps: `2025-01-31T14:05:59.123+0000` (no colon in the offset).
fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Jira wiki markup (Data Center) -> text: headings and code blocks in the
/// shared structure; everything else is already readable text.
fn wiki_to_text(wiki: &str) -> String {
    let mut out = Vec::new();
    let mut in_code = false;
    for line in wiki.lines() {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed
            .strip_prefix("{code")
            .or_else(|| trimmed.strip_prefix("{noformat"))
        {
            let lang = rest
                .trim_start_matches(':')
                .split(['}', '|'])
                .next()
                .unwrap_or("")
                .trim();
            out.push(if in_code {
                "```".to_string()
            } else {
                format!("```{lang}")
            });
            in_code = !in_code;
            continue;
        }
        let heading = (1..=6).find_map(|n| {
            trimmed
                .strip_prefix(&format!("h{n}. "))
                .map(|t| format!("{} {t}", "#".repeat(n)))
        });
        out.push(match heading {
            Some(h) if !in_code => h,
            _ => line.to_string(),
        });
    }
    out.join("\n").trim().to_string()
}

#[async_trait]
impl Connector for JiraConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_type(&self) -> SourceType {
        SourceType::Jira
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch> {
        let mut cp = self.parse_checkpoint(checkpoint)?;
        let mut pass = cp.run.take().unwrap_or_else(|| {
            self.pass(
                Order::Updated,
                cp.since_ms.map(|s| s.saturating_sub(self.overlap_ms)),
            )
        });
        let page = self.search(&pass, FIELDS).await?;
        let mut page_max = None;
        let mut documents = Vec::with_capacity(page.issues.len());
        for raw in &page.issues {
            let key = raw.get("key").and_then(Value::as_str).ok_or_else(|| {
                self.http
                    .error("a search result has no `key`; is `fields` honoured?".to_string())
            })?;
            let fields = raw.get("fields").cloned().unwrap_or(Value::Null);
            let updated = fields
                .get("updated")
                .and_then(Value::as_str)
                .and_then(parse_time)
                .map(|t| t.timestamp_millis());
            pass.max_seen_ms = pass.max_seen_ms.max(updated);
            page_max = page_max.max(updated);
            let comments = self.comments(key, &fields).await?;
            documents.push(SourceDocument {
                document: self.document(key, &fields, &comments),
                raw: serde_json::json!({ "issue": raw, "comments": comments }),
            });
        }
        let more = self.next_page(Order::Updated, &mut pass, &page, page_max);
        if more {
            cp.run = Some(pass);
        } else {
            cp.since_ms = cp.since_ms.max(pass.max_seen_ms);
        }
        Ok(FetchBatch {
            documents,
            checkpoint: Checkpoint(serde_json::to_value(&cp)?),
            done: !more,
        })
    }

    async fn list_ids(&self) -> Result<Vec<String>> {
        // Keyset over creation time: an issue edited or deleted while the
        // listing runs cannot shift a live one out of it (a missed id would
        // be deleted from the index).
        let mut pass = self.pass(Order::Created, None);
        let mut ids = std::collections::BTreeSet::new();
        loop {
            let page = self.search(&pass, "created").await?;
            let mut page_max = None;
            for issue in &page.issues {
                let key = issue
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| self.http.error("a search result has no `key`".to_string()))?;
                let created = issue
                    .get("fields")
                    .and_then(|f| f.get("created"))
                    .and_then(Value::as_str)
                    .and_then(parse_time)
                    .map(|t| t.timestamp_millis());
                page_max = page_max.max(created);
                ids.insert(Document::make_id(SourceType::Jira, &self.name, key));
            }
            if !self.next_page(Order::Created, &mut pass, &page, page_max) {
                return Ok(ids.into_iter().collect());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_combines_projects_filter_and_watermark() {
        let Ok(c) = JiraConnector::builder("jira", "https://acme.atlassian.net")
            .projects(vec!["OPS".into(), "ENG".into()])
            .jql("labels = runbook")
            .build()
        else {
            unreachable!("valid settings")
        };
        assert_eq!(
            c.jql(Order::Updated, Some(1_700_000_000_000)),
            "project in (OPS, ENG) AND (labels = runbook) AND updated >= 1700000000000 ORDER BY updated ASC, key ASC"
        );
        assert_eq!(
            c.jql(Order::Created, None),
            "project in (OPS, ENG) AND (labels = runbook) ORDER BY created ASC, key ASC"
        );
        assert!(JiraConnector::builder("j", "https://x").build().is_err());
    }

    #[test]
    fn jira_times_and_wiki_markup() {
        assert_eq!(
            parse_time("2025-01-31T14:05:59.123+0100").map(|t| t.to_rfc3339()),
            Some("2025-01-31T13:05:59.123+00:00".to_string())
        );
        let text = wiki_to_text("h2. Steps\n{code:java}\nint x;\n{code}\n* item");
        assert_eq!(text, "## Steps\n```java\nint x;\n```\n* item");
    }
}
