//! GitHub (and GitHub Enterprise): issues and pull requests with their
//! comments, and markdown documentation files of the repositories.
//!
//! Issues and PRs come from `/repos/{o}/{r}/issues?state=all&sort=updated&direction=asc&since=`,
//! one page per fetch step. The next page restarts from the newest
//! `updated_at` already read (page numbers shift when an issue is edited
//! mid-pass); the `Link` header's `rel="next"` is followed only when a whole
//! page shares one timestamp. The checkpoint holds that position, so an
//! interrupted sync resumes where it stopped. Docs come from the git trees API and a
//! file is re-read only when its blob sha changed. Ids:
//! `github:{source}:{owner}/{repo}#{number}` for issues and PRs,
//! `github:{source}:{owner}/{repo}:{path}` for files.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{ClientSettings, ClientSettingsBuilder};
use super::http::HttpClient;
use super::{Checkpoint, Connector, FetchBatch, SourceDocument};
use crate::{Document, Error, Result, SourceType};

/// The public API root.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";

/// What a GitHub source indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GithubInclude {
    /// Issues with their comments.
    pub issues: bool,
    /// Pull requests with their conversation comments.
    pub pulls: bool,
    /// Markdown files matching the docs globs.
    pub docs: bool,
}

impl GithubInclude {
    /// Parses `include` entries (`issues`, `pulls`, `docs`).
    pub fn parse(items: &[String]) -> Result<Self> {
        let mut include = GithubInclude {
            issues: false,
            pulls: false,
            docs: false,
        };
        for item in items {
            match item.as_str() {
                "issues" => include.issues = true,
                "pulls" => include.pulls = true,
                "docs" => include.docs = true,
                other => {
                    return Err(Error::Config(format!(
                        "`include` entry `{other}` is not one of issues, pulls, docs"
                    )))
                }
            }
        }
        Ok(include)
    }
}

impl Default for GithubInclude {
    fn default() -> Self {
        GithubInclude {
            issues: true,
            pulls: true,
            docs: true,
        }
    }
}

/// Builds a [`GithubConnector`].
#[derive(Debug)]
pub struct GithubConnectorBuilder {
    name: String,
    repos: Vec<String>,
    base_url: String,
    include: GithubInclude,
    docs_paths: Vec<String>,
    page_size: u32,
    overlap: Duration,
    client: ClientSettings,
}

impl ClientSettingsBuilder for GithubConnectorBuilder {
    fn client_settings(&mut self) -> &mut ClientSettings {
        &mut self.client
    }
}

impl GithubConnectorBuilder {
    /// API root; Enterprise uses `https://HOST/api/v3`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// What to index (default: issues, pulls and docs).
    pub fn include(mut self, include: GithubInclude) -> Self {
        self.include = include;
        self
    }

    /// Globs of documentation files (default `README.md`, `docs/**/*.md`).
    pub fn docs_paths(mut self, globs: Vec<String>) -> Self {
        self.docs_paths = globs;
        self
    }

    /// Items per page, 1..=100 (default 100).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = size.clamp(1, 100);
        self
    }

    /// How far before the checkpoint a new run starts re-reading (default
    /// 5 min), so edits racing the previous run are not missed.
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.overlap = overlap;
        self
    }

    /// Checks the settings and builds the connector.
    pub fn build(self) -> Result<GithubConnector> {
        for repo in &self.repos {
            let ok = repo
                .split_once('/')
                .is_some_and(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'));
            if !ok {
                return Err(Error::Config(format!(
                    "source `{}`: repo `{repo}` must be `owner/name`",
                    self.name
                )));
            }
        }
        if self.repos.is_empty() {
            return Err(Error::Config(format!(
                "source `{}`: `repos` must list at least one `owner/name`",
                self.name
            )));
        }
        let http = self
            .client
            .client(
                &self.name,
                &self.base_url,
                "the GitHub token (`credentials`) and its repository read scope".into(),
            )?
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        Ok(GithubConnector {
            name: self.name,
            repos: self.repos,
            include: self.include,
            docs_paths: self.docs_paths,
            page_size: self.page_size,
            overlap: chrono::Duration::from_std(self.overlap).unwrap_or(chrono::Duration::zero()),
            http,
        })
    }
}

/// Issues, pull requests and docs of GitHub repositories.
#[derive(Debug)]
pub struct GithubConnector {
    name: String,
    repos: Vec<String>,
    include: GithubInclude,
    docs_paths: Vec<String>,
    page_size: u32,
    overlap: chrono::Duration,
    http: HttpClient,
}

/// Per-repository progress kept between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct RepoState {
    /// Highest `updated_at` of an issue/PR seen by a finished pass.
    #[serde(default)]
    since: Option<DateTime<Utc>>,
    /// Blob sha per indexed docs path: unchanged sha, unchanged file.
    #[serde(default)]
    blobs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Phase {
    Issues,
    Docs,
}

/// Where a run that has not finished stands.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunPosition {
    repo: usize,
    phase: Phase,
    /// Next page of the issues listing, when the pass is mid-way.
    #[serde(default)]
    next: Option<String>,
    /// `since` of the next listing request, when the pass restarts from
    /// what it has seen rather than following a page number.
    #[serde(default)]
    since: Option<DateTime<Utc>>,
    /// Highest `updated_at` seen so far in this pass.
    #[serde(default)]
    max_seen: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GithubCheckpoint {
    #[serde(default)]
    repos: BTreeMap<String, RepoState>,
    #[serde(default)]
    run: Option<RunPosition>,
}

/// Changed docs files read per fetch step, to keep batches small.
const DOCS_PER_STEP: usize = 50;

#[derive(Debug, Deserialize)]
struct Label {
    name: String,
}

#[derive(Debug, Deserialize)]
struct Login {
    login: String,
}

#[derive(Debug, Deserialize)]
struct Issue {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    user: Option<Login>,
    #[serde(default)]
    labels: Vec<Label>,
    #[serde(default)]
    assignees: Vec<Login>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    #[serde(default)]
    closed_at: Option<DateTime<Utc>>,
    html_url: String,
    #[serde(default)]
    comments: u64,
    #[serde(default)]
    pull_request: Option<PullRef>,
}

#[derive(Debug, Deserialize)]
struct PullRef {
    #[serde(default)]
    merged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Comment {
    #[serde(default)]
    user: Option<Login>,
    #[serde(default)]
    body: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
struct Repo {
    default_branch: String,
    html_url: String,
}

#[derive(Debug, Deserialize)]
struct Tree {
    tree: Vec<TreeEntry>,
    #[serde(default)]
    truncated: bool,
}

#[derive(Debug, Deserialize)]
struct TreeEntry {
    path: String,
    #[serde(rename = "type")]
    kind: String,
    sha: String,
}

#[derive(Debug, Deserialize)]
struct Blob {
    content: String,
    #[serde(default)]
    encoding: String,
}

impl GithubConnector {
    /// Starts a builder for source `name` over `repos` (`owner/name`).
    pub fn builder(name: &str, repos: Vec<String>) -> GithubConnectorBuilder {
        GithubConnectorBuilder {
            name: name.to_string(),
            repos,
            base_url: DEFAULT_BASE_URL.to_string(),
            include: GithubInclude::default(),
            docs_paths: vec!["README.md".to_string(), "docs/**/*.md".to_string()],
            page_size: 100,
            overlap: Duration::from_secs(300),
            client: ClientSettings::default(),
        }
    }

    /// Requests sent so far (for measurements).
    pub fn requests(&self) -> u64 {
        self.http.requests()
    }

    fn wants_issue_listing(&self) -> bool {
        self.include.issues || self.include.pulls
    }

    fn first_phase(&self) -> Option<Phase> {
        if self.wants_issue_listing() {
            Some(Phase::Issues)
        } else if self.include.docs {
            Some(Phase::Docs)
        } else {
            None
        }
    }

    /// The position after finishing `phase` of repo `repo`, or `None` at the end.
    fn after(&self, repo: usize, phase: Phase) -> Option<RunPosition> {
        let (repo, phase) = match phase {
            Phase::Issues if self.include.docs => (repo, Phase::Docs),
            _ => (repo + 1, self.first_phase()?),
        };
        (repo < self.repos.len()).then_some(RunPosition {
            repo,
            phase,
            next: None,
            since: None,
            max_seen: None,
        })
    }

    fn issues_url(&self, repo: &str, since: Option<DateTime<Utc>>) -> String {
        let mut url = format!(
            "/repos/{repo}/issues?state=all&sort=updated&direction=asc&per_page={}",
            self.page_size
        );
        if let Some(since) = since {
            url.push_str("&since=");
            url.push_str(&since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        url
    }

    fn issue_id(&self, repo: &str, number: u64) -> String {
        Document::make_id(SourceType::Github, &self.name, &format!("{repo}#{number}"))
    }

    fn file_id(&self, repo: &str, path: &str) -> String {
        Document::make_id(SourceType::Github, &self.name, &format!("{repo}:{path}"))
    }

    fn wanted(&self, issue: &Issue) -> bool {
        if issue.pull_request.is_some() {
            self.include.pulls
        } else {
            self.include.issues
        }
    }

    fn is_doc(&self, path: &str) -> bool {
        self.docs_paths.iter().any(|g| glob_match(g, path))
    }

    /// One page of issues/PRs; returns documents and the position after it.
    async fn issues_step(
        &self,
        cp: &mut GithubCheckpoint,
        mut pos: RunPosition,
    ) -> Result<(Vec<SourceDocument>, Option<RunPosition>)> {
        let repo = &self.repos[pos.repo];
        let state = cp.repos.entry(repo.clone()).or_default();
        let chain_since = pos.since.or(state.since.map(|s| s - self.overlap));
        let url = match pos.next.take() {
            Some(next) => next,
            None => self.issues_url(repo, chain_since),
        };
        let (items, response) = self.http.get_json::<Vec<Value>>(&url, &[]).await?;
        let mut docs = Vec::with_capacity(items.len());
        let mut page_max: Option<DateTime<Utc>> = None;
        for raw in items {
            let issue: Issue = serde_json::from_value(raw.clone()).map_err(|e| {
                self.http
                    .error(format!("unexpected issue shape from {repo}: {e}"))
            })?;
            pos.max_seen = pos.max_seen.max(Some(issue.updated_at));
            page_max = page_max.max(Some(issue.updated_at));
            if !self.wanted(&issue) {
                continue;
            }
            let comments = if issue.comments > 0 {
                self.comments(repo, issue.number).await?
            } else {
                Vec::new()
            };
            docs.push(SourceDocument {
                document: self.issue_document(repo, &issue, &comments),
                raw,
            });
        }
        match response.link_next() {
            Some(next) => {
                // Page numbers shift when an already-read issue is updated
                // (it moves to the end), which would skip an unread one.
                // Restarting from the newest `updated_at` read cannot skip:
                // updates only move issues later. Follow the page link only
                // when a whole page shares one timestamp (no progress).
                if page_max.is_some() && page_max > chain_since {
                    pos.since = page_max;
                } else {
                    pos.next = Some(next);
                }
                Ok((docs, Some(pos)))
            }
            None => {
                // The pass is complete: only now may the watermark move.
                if pos.max_seen.is_some() {
                    state.since = pos.max_seen.max(state.since);
                }
                Ok((docs, self.after(pos.repo, Phase::Issues)))
            }
        }
    }

    async fn comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>> {
        let mut url = Some(format!(
            "/repos/{repo}/issues/{number}/comments?per_page=100"
        ));
        let mut all = Vec::new();
        while let Some(current) = url.take() {
            let (page, response) = self.http.get_json::<Vec<Comment>>(&current, &[]).await?;
            all.extend(page);
            url = response.link_next();
        }
        Ok(all)
    }

    fn issue_document(&self, repo: &str, issue: &Issue, comments: &[Comment]) -> Document {
        let kind = if issue.pull_request.is_some() {
            "pull_request"
        } else {
            "issue"
        };
        let mut body = format!("# {}\n\n", issue.title);
        if let Some(text) = issue.body.as_deref().filter(|b| !b.trim().is_empty()) {
            body.push_str(text.trim());
            body.push_str("\n\n");
        }
        if !comments.is_empty() {
            body.push_str("## Comments\n\n");
            for comment in comments {
                let who = comment
                    .user
                    .as_ref()
                    .map_or("unknown", |u| u.login.as_str());
                body.push_str(&format!(
                    "**{who}** ({}):\n{}\n\n",
                    comment.created_at.format("%Y-%m-%d"),
                    comment.body.as_deref().unwrap_or("").trim()
                ));
            }
        }
        let mut doc = Document::new(
            SourceType::Github,
            &self.name,
            &format!("{repo}#{}", issue.number),
            format!("{repo}#{}: {}", issue.number, issue.title),
            body.trim_end().to_string(),
        );
        doc.url = issue.html_url.clone();
        doc.author = issue.user.as_ref().map(|u| u.login.clone());
        doc.created_at = Some(issue.created_at);
        doc.updated_at = Some(issue.updated_at);
        let meta = &mut doc.metadata;
        meta.insert("repo".into(), repo.to_string());
        meta.insert("kind".into(), kind.into());
        meta.insert("number".into(), issue.number.to_string());
        meta.insert("state".into(), issue.state.clone());
        meta.insert("comments".into(), comments.len().to_string());
        if !issue.labels.is_empty() {
            let labels: Vec<&str> = issue.labels.iter().map(|l| l.name.as_str()).collect();
            meta.insert("labels".into(), labels.join(","));
        }
        if !issue.assignees.is_empty() {
            let names: Vec<&str> = issue.assignees.iter().map(|a| a.login.as_str()).collect();
            meta.insert("assignees".into(), names.join(","));
        }
        if let Some(closed) = issue.closed_at {
            meta.insert("closed_at".into(), closed.to_rfc3339());
        }
        if let Some(merged) = issue.pull_request.as_ref().and_then(|p| p.merged_at) {
            meta.insert("merged_at".into(), merged.to_rfc3339());
        }
        doc.content_hash = doc.compute_hash();
        doc
    }

    /// The default branch, its html URL and the docs blobs of `repo`;
    /// `None` for an empty repository (no tree yet).
    async fn docs_tree(&self, repo: &str) -> Result<Option<(Repo, Vec<TreeEntry>)>> {
        let (info, _) = self
            .http
            .get_json::<Repo>(&format!("/repos/{repo}"), &[])
            .await?;
        let url = format!(
            "/repos/{repo}/git/trees/{}?recursive=1",
            info.default_branch
        );
        let Some(response) = self.http.get_optional(&url, &[]).await? else {
            return Ok(None);
        };
        let tree: Tree = self.http.decode(&response)?;
        if tree.truncated {
            tracing::warn!(
                source = %self.name,
                repo,
                "the git tree listing is truncated; some docs files may be missed"
            );
        }
        let blobs = tree
            .tree
            .into_iter()
            .filter(|e| e.kind == "blob" && self.is_doc(&e.path))
            .collect();
        Ok(Some((info, blobs)))
    }

    /// Reads up to [`DOCS_PER_STEP`] changed docs files of the current repo.
    async fn docs_step(
        &self,
        cp: &mut GithubCheckpoint,
        pos: RunPosition,
    ) -> Result<(Vec<SourceDocument>, Option<RunPosition>)> {
        let repo = self.repos[pos.repo].clone();
        let Some((info, entries)) = self.docs_tree(&repo).await? else {
            cp.repos.entry(repo).or_default().blobs.clear();
            return Ok((Vec::new(), self.after(pos.repo, Phase::Docs)));
        };
        let state = cp.repos.entry(repo.clone()).or_default();
        let live: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        state.blobs.retain(|path, _| live.contains(path.as_str()));
        let changed: Vec<&TreeEntry> = entries
            .iter()
            .filter(|e| state.blobs.get(&e.path) != Some(&e.sha))
            .collect();
        let mut docs = Vec::new();
        for entry in changed.iter().take(DOCS_PER_STEP) {
            let (blob, _) = self
                .http
                .get_json::<Value>(&format!("/repos/{repo}/git/blobs/{}", entry.sha), &[])
                .await?;
            let parsed: Blob = serde_json::from_value(blob.clone())
                .map_err(|e| self.http.error(format!("unexpected blob shape: {e}")))?;
            let text = self.decode_blob(&parsed, &entry.path)?;
            docs.push(SourceDocument {
                document: self.file_document(&repo, &info, entry, text),
                raw: serde_json::json!({ "path": entry.path, "sha": entry.sha, "blob": blob }),
            });
            state.blobs.insert(entry.path.clone(), entry.sha.clone());
        }
        if changed.len() > DOCS_PER_STEP {
            // More to read: stay in this phase; the recorded shas skip what is done.
            return Ok((docs, Some(pos)));
        }
        Ok((docs, self.after(pos.repo, Phase::Docs)))
    }

    fn decode_blob(&self, blob: &Blob, path: &str) -> Result<String> {
        if blob.encoding != "base64" {
            return Ok(blob.content.clone());
        }
        // GitHub wraps base64 at 60 columns.
        let compact: String = blob
            .content
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| {
                self.http
                    .error(format!("blob of {path} is not valid base64: {e}"))
            })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn file_document(&self, repo: &str, info: &Repo, entry: &TreeEntry, text: String) -> Document {
        let title = crate::convert::markdown_title(&text)
            .unwrap_or_else(|| format!("{repo}: {}", entry.path));
        let mut doc = Document::new(
            SourceType::Github,
            &self.name,
            &format!("{repo}:{}", entry.path),
            title,
            text,
        );
        doc.url = format!(
            "{}/blob/{}/{}",
            info.html_url, info.default_branch, entry.path
        );
        let meta = &mut doc.metadata;
        meta.insert("repo".into(), repo.to_string());
        meta.insert("kind".into(), "file".into());
        meta.insert("path".into(), entry.path.clone());
        meta.insert("branch".into(), info.default_branch.clone());
        meta.insert("sha".into(), entry.sha.clone());
        doc.content_hash = doc.compute_hash();
        doc
    }

    fn parse_checkpoint(&self, checkpoint: Option<&Checkpoint>) -> Result<GithubCheckpoint> {
        match checkpoint {
            None => Ok(GithubCheckpoint::default()),
            Some(cp) => serde_json::from_value(cp.0.clone()).map_err(|e| {
                self.http.error(format!(
                    "the stored checkpoint is unreadable ({e}); reset the source's sync state"
                ))
            }),
        }
    }
}

#[async_trait]
impl Connector for GithubConnector {
    fn name(&self) -> &str {
        &self.name
    }

    fn source_type(&self) -> SourceType {
        SourceType::Github
    }

    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch> {
        let mut cp = self.parse_checkpoint(checkpoint)?;
        let start = self.first_phase().map(|phase| RunPosition {
            repo: 0,
            phase,
            next: None,
            since: None,
            max_seen: None,
        });
        let Some(pos) = cp.run.take().or(start) else {
            return Ok(FetchBatch {
                documents: Vec::new(),
                checkpoint: Checkpoint(serde_json::to_value(&cp)?),
                done: true,
            });
        };
        if pos.repo >= self.repos.len() {
            // The repo list shrank since the checkpoint: the run is over.
            return Ok(FetchBatch {
                documents: Vec::new(),
                checkpoint: Checkpoint(serde_json::to_value(&cp)?),
                done: true,
            });
        }
        let (documents, next) = match pos.phase {
            Phase::Issues => self.issues_step(&mut cp, pos).await?,
            Phase::Docs => self.docs_step(&mut cp, pos).await?,
        };
        let done = next.is_none();
        cp.run = next;
        Ok(FetchBatch {
            documents,
            checkpoint: Checkpoint(serde_json::to_value(&cp)?),
            done,
        })
    }

    async fn list_ids(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for repo in &self.repos {
            if self.wants_issue_listing() {
                let mut url = Some(self.issues_url(repo, None));
                while let Some(current) = url.take() {
                    let (items, response) = self.http.get_json::<Vec<Issue>>(&current, &[]).await?;
                    ids.extend(
                        items
                            .iter()
                            .filter(|i| self.wanted(i))
                            .map(|i| self.issue_id(repo, i.number)),
                    );
                    url = response.link_next();
                }
            }
            if self.include.docs {
                if let Some((_, entries)) = self.docs_tree(repo).await? {
                    ids.extend(entries.iter().map(|e| self.file_id(repo, &e.path)));
                }
            }
        }
        Ok(ids)
    }
}

/// Whether `path` matches `pattern`: `*` stays within a segment, a `**`
/// segment spans any number of segments.
fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    match_segments(&pattern, &path)
}

fn match_segments(pattern: &[&str], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((&"**", rest)) => (0..=path.len()).any(|skip| match_segments(rest, &path[skip..])),
        Some((segment, rest)) => path
            .split_first()
            .is_some_and(|(name, tail)| match_segment(segment, name) && match_segments(rest, tail)),
    }
}

fn match_segment(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len()
                && name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| {
                    name.get(head.len() + i..)
                        .is_some_and(|rest| match_segment(tail, rest))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_globs_match() {
        assert!(glob_match("README.md", "README.md"));
        assert!(!glob_match("README.md", "src/README.md"));
        assert!(glob_match("docs/**/*.md", "docs/a.md"));
        assert!(glob_match("docs/**/*.md", "docs/x/y/a.md"));
        assert!(!glob_match("docs/**/*.md", "docs/a.txt"));
        assert!(glob_match("**/*.md", "a/b/c.md"));
    }

    #[test]
    fn include_parses() {
        let inc = GithubInclude::parse(&["issues".into(), "docs".into()]).ok();
        assert_eq!(
            inc,
            Some(GithubInclude {
                issues: true,
                pulls: false,
                docs: true
            })
        );
        assert!(GithubInclude::parse(&["wiki".into()]).is_err());
    }

    #[test]
    fn repos_must_be_owner_slash_name() {
        assert!(GithubConnector::builder("gh", vec!["acme".into()])
            .build()
            .is_err());
        assert!(GithubConnector::builder("gh", vec![]).build().is_err());
        assert!(GithubConnector::builder("gh", vec!["acme/api".into()])
            .build()
            .is_ok());
    }
}
