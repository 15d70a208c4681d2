//! Confluence Cloud and Data Center: pages (and optionally blog posts) of
//! the configured spaces, through the v1 CQL content search.
//!
//! One fetch step is one page of
//! `content/search?cql=... lastmodified >= "..." order by created asc&expand=...`;
//! the checkpoint keeps the `_links.next` cursor so an interrupted run
//! resumes where it stopped, and moves its watermark only when a pass is
//! complete, never past the server time at which the pass began (a page
//! edited during the pass is read again by the next one). Results are in
//! creation order so edits made during a pass cannot shift an unread page
//! out of it. CQL dates have minute precision and are read in the calling
//! user's time zone, which the connector cannot know: a new pass therefore
//! starts a generous overlap (default 1 day, covering every UTC offset)
//! before the watermark. Re-read pages whose content did not change are
//! skipped by the pipeline's content hash, so the overlap costs requests,
//! not embeddings. Ids: `confluence:{source}:{content id}`.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{ClientSettings, ClientSettingsBuilder};
use super::http::HttpClient;
use super::{Checkpoint, Connector, FetchBatch, SourceDocument};
use crate::convert::storage::storage_to_text;
use crate::{Document, Error, Result, SourceType};

/// Where the Confluence instance runs; decides the API root and auth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// Atlassian Cloud: API under `{base}/wiki`, basic auth e-mail + API token.
    Cloud,
    /// Data Center / Server: API under `{base}`, bearer personal access token.
    DataCenter,
}

impl Deployment {
    /// Parses `cloud` / `datacenter`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "cloud" => Ok(Deployment::Cloud),
            "datacenter" => Ok(Deployment::DataCenter),
            other => Err(Error::Config(format!(
                "deployment `{other}` is not `cloud` or `datacenter`"
            ))),
        }
    }
}

/// Builds a [`ConfluenceConnector`].
#[derive(Debug)]
pub struct ConfluenceConnectorBuilder {
    name: String,
    base_url: String,
    spaces: Vec<String>,
    include_blogposts: bool,
    deployment: Deployment,
    page_size: u32,
    overlap: Duration,
    client: ClientSettings,
}

impl ClientSettingsBuilder for ConfluenceConnectorBuilder {
    fn client_settings(&mut self) -> &mut ClientSettings {
        &mut self.client
    }
}

impl ConfluenceConnectorBuilder {
    /// Space keys to index (default: every space the account can read).
    pub fn spaces(mut self, spaces: Vec<String>) -> Self {
        self.spaces = spaces;
        self
    }

    /// Also index blog posts (default off).
    pub fn include_blogposts(mut self, yes: bool) -> Self {
        self.include_blogposts = yes;
        self
    }

    /// Cloud (default) or Data Center.
    pub fn deployment(mut self, deployment: Deployment) -> Self {
        self.deployment = deployment;
        self
    }

    /// Results per search page (default 50).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 250);
        self
    }

    /// How far before the watermark a new pass starts (default 1 day).
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Checks the settings and builds the connector.
    pub fn build(self) -> Result<ConfluenceConnector> {
        let base = self.base_url.trim_end_matches('/');
        // Cloud serves the API under /wiki; accept the site URL with or without it.
        let root = match self.deployment {
            Deployment::Cloud if !base.ends_with("/wiki") => format!("{base}/wiki"),
            _ => base.to_string(),
        };
        for space in &self.spaces {
            if space.is_empty() || space.contains('"') {
                return Err(Error::Config(format!(
                    "source `{}`: space key `{space}` is not valid",
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
                &root,
                format!("{hint} and the space permissions"),
            )?
            .header("accept", "application/json");
        Ok(ConfluenceConnector {
            name: self.name,
            spaces: self.spaces,
            include_blogposts: self.include_blogposts,
            page_size: self.page_size,
            overlap: chrono::Duration::from_std(self.overlap).unwrap_or(chrono::Duration::zero()),
            http,
        })
    }
}

/// Pages and blog posts of Confluence spaces.
#[derive(Debug)]
pub struct ConfluenceConnector {
    name: String,
    spaces: Vec<String>,
    include_blogposts: bool,
    page_size: u32,
    overlap: chrono::Duration,
    http: HttpClient,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ConfluenceCheckpoint {
    /// Highest `version.when` seen by a finished pass.
    #[serde(default)]
    since: Option<DateTime<Utc>>,
    /// The pass under way, if any.
    #[serde(default)]
    run: Option<Pass>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Pass {
    /// `_links.next` of the last page read.
    next: Option<String>,
    max_seen: Option<DateTime<Utc>>,
    /// The server's clock (`Date` header) when the pass began: a page
    /// edited after it may have been read in its old version.
    #[serde(default)]
    started: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct SearchPage {
    results: Vec<Value>,
    #[serde(default, rename = "_links")]
    links: Links,
}

#[derive(Debug, Default, Deserialize)]
struct Links {
    /// The site root the `webui` links are relative to (ends in `/wiki` on Cloud).
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Content {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
    title: String,
    #[serde(default)]
    space: Option<Space>,
    #[serde(default)]
    version: Option<Version>,
    #[serde(default)]
    history: Option<History>,
    #[serde(default)]
    ancestors: Vec<Ancestor>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    body: Option<Body>,
    #[serde(default, rename = "_links")]
    links: ContentLinks,
}

#[derive(Debug, Deserialize)]
struct Space {
    key: String,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct Version {
    number: u64,
    when: DateTime<Utc>,
    #[serde(default)]
    by: Option<Person>,
}

#[derive(Debug, Deserialize)]
struct Person {
    #[serde(default, rename = "displayName")]
    display_name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct History {
    #[serde(default, rename = "createdDate")]
    created_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Ancestor {
    title: String,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    labels: Option<Labels>,
}

#[derive(Debug, Deserialize)]
struct Labels {
    #[serde(default)]
    results: Vec<Label>,
}

#[derive(Debug, Deserialize)]
struct Label {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Body {
    #[serde(default)]
    storage: Option<Storage>,
}

#[derive(Debug, Deserialize)]
struct Storage {
    value: String,
}

#[derive(Debug, Default, Deserialize)]
struct ContentLinks {
    #[serde(default)]
    webui: Option<String>,
}

const EXPAND: &str = "body.storage,version,space,metadata.labels,history,ancestors";

impl ConfluenceConnector {
    /// Starts a builder; `base_url` is the site (`https://acme.atlassian.net`)
    /// or the Data Center context root.
    pub fn builder(name: &str, base_url: &str) -> ConfluenceConnectorBuilder {
        ConfluenceConnectorBuilder {
            name: name.to_string(),
            base_url: base_url.to_string(),
            spaces: Vec::new(),
            include_blogposts: false,
            deployment: Deployment::Cloud,
            page_size: 50,
            overlap: Duration::from_secs(24 * 3600),
            client: ClientSettings::default(),
        }
    }

    /// Requests sent so far (for measurements).
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    /// The CQL scope: content types and spaces.
    fn scope(&self) -> String {
        let types = if self.include_blogposts {
            "type in (page, blogpost)"
        } else {
            "type = page"
        };
        if self.spaces.is_empty() {
            return types.to_string();
        }
        let spaces: Vec<String> = self.spaces.iter().map(|s| format!("\"{s}\"")).collect();
        format!("{types} and space in ({})", spaces.join(", "))
    }

    fn search_url(&self, since: Option<DateTime<Utc>>, expand: bool, limit: u32) -> String {
        let mut cql = self.scope();
        if let Some(since) = since {
            cql.push_str(&format!(
                " and lastmodified >= \"{}\"",
                since.format("%Y-%m-%d %H:%M")
            ));
        }
        // Creation order, not modification order: a page edited while a
        // pass pages through the results keeps its position, so no unread
        // page shifts into a page already read (with `lastmodified` order
        // the edited page jumps to the end and its successor is skipped).
        cql.push_str(" order by created asc");
        let mut url = format!(
            "/rest/api/content/search?cql={}&limit={limit}",
            encode(&cql)
        );
        if expand {
            url.push_str("&expand=");
            url.push_str(&encode(EXPAND));
        }
        url
    }

    fn document(&self, content: &Content, site: Option<&str>) -> Document {
        let body = content
            .body
            .as_ref()
            .and_then(|b| b.storage.as_ref())
            .map(|s| storage_to_text(&s.value))
            .unwrap_or_default();
        let mut doc = Document::new(
            SourceType::Confluence,
            &self.name,
            &content.id,
            content.title.clone(),
            body,
        );
        if let Some(webui) = &content.links.webui {
            let site = site.unwrap_or(self.http.base_url()).trim_end_matches('/');
            doc.url = format!("{site}{webui}");
        }
        doc.author = content
            .version
            .as_ref()
            .and_then(|v| v.by.as_ref())
            .and_then(|p| p.display_name.clone());
        doc.updated_at = content.version.as_ref().map(|v| v.when);
        doc.created_at = content.history.as_ref().and_then(|h| h.created_date);
        let meta = &mut doc.metadata;
        meta.insert("type".into(), content.kind.clone());
        if !content.status.is_empty() {
            meta.insert("status".into(), content.status.clone());
        }
        if let Some(space) = &content.space {
            meta.insert("space".into(), space.key.clone());
            if !space.name.is_empty() {
                meta.insert("space_name".into(), space.name.clone());
            }
        }
        if let Some(version) = &content.version {
            meta.insert("version".into(), version.number.to_string());
        }
        if !content.ancestors.is_empty() {
            let path: Vec<&str> = content.ancestors.iter().map(|a| a.title.as_str()).collect();
            meta.insert("breadcrumb".into(), path.join(" > "));
        }
        let labels: Vec<&str> = content
            .metadata
            .as_ref()
            .and_then(|m| m.labels.as_ref())
            .map(|l| l.results.iter().map(|x| x.name.as_str()).collect())
            .unwrap_or_default();
        if !labels.is_empty() {
            meta.insert("labels".into(), labels.join(","));
        }
        doc.content_hash = doc.compute_hash();
        doc
    }

    fn parse_checkpoint(&self, checkpoint: Option<&Checkpoint>) -> Result<ConfluenceCheckpoint> {
        match checkpoint {
            None => Ok(ConfluenceCheckpoint::default()),
            Some(cp) => serde_json::from_value(cp.0.clone()).map_err(|e| {
                self.http.error(format!(
                    "the stored checkpoint is unreadable ({e}); reset the source's sync state"
                ))
            }),
        }
    }
}

/// The server's clock from the `Date` header (local clock if absent), so
/// the watermark never depends on clock skew between the two machines.
fn server_time(response: &super::http::Response) -> DateTime<Utc> {
    response
        .header("date")
        .and_then(|d| DateTime::parse_from_rfc2822(d).ok())
        .map_or_else(Utc::now, |d| d.with_timezone(&Utc))
}

/// Percent-encodes a query value (CQL holds spaces, quotes and `>=`).
fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[async_trait]
impl Connector for ConfluenceConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_type(&self) -> SourceType {
        SourceType::Confluence
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch> {
        let mut cp = self.parse_checkpoint(checkpoint)?;
        let mut pass = cp.run.take().unwrap_or_default();
        let url = match pass.next.take() {
            Some(next) => next,
            None => self.search_url(cp.since.map(|s| s - self.overlap), true, self.page_size),
        };
        let (page, response) = self.http.get_json::<SearchPage>(&url, &[]).await?;
        if pass.started.is_none() {
            pass.started = Some(server_time(&response));
        }
        let mut documents = Vec::with_capacity(page.results.len());
        for raw in page.results {
            let content: Content = serde_json::from_value(raw.clone()).map_err(|e| {
                self.http.error(format!(
                    "unexpected content shape in the search results: {e}"
                ))
            })?;
            if let Some(version) = &content.version {
                pass.max_seen = pass.max_seen.max(Some(version.when));
            }
            documents.push(SourceDocument {
                document: self.document(&content, page.links.base.as_deref()),
                raw,
            });
        }
        let done = match page.links.next {
            Some(next) => {
                pass.next = Some(next);
                cp.run = Some(pass);
                false
            }
            None => {
                // Pages edited during the pass are newer than its start:
                // never let the watermark pass it, whatever the overlap.
                let seen = match (pass.max_seen, pass.started) {
                    (Some(seen), Some(started)) => Some(seen.min(started)),
                    (seen, _) => seen,
                };
                cp.since = cp.since.max(seen);
                true
            }
        };
        Ok(FetchBatch {
            documents,
            checkpoint: Checkpoint(serde_json::to_value(&cp)?),
            done,
        })
    }

    async fn list_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut url = Some(self.search_url(None, false, 200));
        while let Some(current) = url.take() {
            let (page, _) = self.http.get_json::<SearchPage>(&current, &[]).await?;
            for item in &page.results {
                let id = item
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| self.http.error("a search result has no `id`".to_string()))?;
                ids.push(Document::make_id(SourceType::Confluence, &self.name, id));
            }
            url = page.links.next;
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cql_scopes_spaces_types_and_time() {
        let c = ConfluenceConnector::builder("wiki", "https://acme.atlassian.net")
            .spaces(vec!["OPS".into(), "ENG".into()])
            .include_blogposts(true)
            .build();
        let Ok(c) = c else {
            unreachable!("valid settings")
        };
        assert_eq!(c.http.base_url(), "https://acme.atlassian.net/wiki");
        let since = DateTime::parse_from_rfc3339("2025-01-31T14:05:59Z")
            .map(|d| d.with_timezone(&Utc))
            .ok();
        let url = c.search_url(since, true, 25);
        let decoded = percent_encoding::percent_decode_str(&url).decode_utf8_lossy();
        assert!(decoded.contains(
            "cql=type in (page, blogpost) and space in (\"OPS\", \"ENG\") and lastmodified >= \"2025-01-31 14:05\" order by created asc"
        ), "{decoded}");
        assert!(
            decoded.contains("expand=body.storage,version,space,metadata.labels,history,ancestors")
        );
    }

    #[test]
    fn datacenter_keeps_the_context_root() {
        let c = ConfluenceConnector::builder("wiki", "https://wiki.corp/confluence/")
            .deployment(Deployment::DataCenter)
            .build();
        assert_eq!(
            c.map(|c| c.http.base_url().to_string()).ok().as_deref(),
            Some("https://wiki.corp/confluence")
        );
    }
}
