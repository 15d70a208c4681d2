//! `vaultiq.sources`: the core connectors, built with their Rust builders.
//! Each class only forwards its arguments; validation is the builder's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use vaultiq_core::connector::http::RetryPolicy;
use vaultiq_core::connector::{
    ClientSettingsBuilder, ConfluenceConnector, Connector, Deployment, FilesConnector,
    GithubConnector, GithubInclude, JiraConnector, SlackConnector,
};

use crate::errors::check;

/// Base class of every source; pass one to `KnowledgeBase.add_source`.
#[pyclass(subclass, frozen, module = "vaultiq.sources", name = "Source")]
pub struct PySource {
    pub(crate) connector: Arc<dyn Connector>,
}

impl std::fmt::Debug for PySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.connector.name())
            .finish()
    }
}

#[pymethods]
impl PySource {
    /// The instance name, part of every document id.
    #[getter]
    fn name(&self) -> &str {
        self.connector.name()
    }
    /// `confluence`, `slack`, `jira`, `github` or `files`.
    #[getter]
    fn source_type(&self) -> &'static str {
        self.connector.source_type().as_str()
    }
    fn __repr__(&self) -> String {
        format!(
            "{}(name={:?})",
            self.connector.source_type().as_str(),
            self.connector.name()
        )
    }
}

fn source(connector: impl Connector + 'static) -> PyClassInitializer<PySource> {
    PyClassInitializer::from(PySource {
        connector: Arc::new(connector),
    })
}

/// The HTTP retry bounds, with the caller's overrides.
fn retry_policy(max_attempts: Option<u32>, timeout: Option<f64>) -> PyResult<RetryPolicy> {
    let mut policy = RetryPolicy::default();
    if let Some(attempts) = max_attempts {
        policy.max_attempts = attempts.max(1);
    }
    if let Some(secs) = timeout {
        policy.timeout = Duration::try_from_secs_f64(secs).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "timeout must be a positive number of seconds, got {secs}"
            ))
        })?;
    }
    Ok(policy)
}

fn deployment(text: &str) -> PyResult<Deployment> {
    check(Deployment::parse(text))
}

/// Confluence Cloud (`username` + API `token`) or Data Center (`token` alone).
#[pyclass(extends = PySource, frozen, module = "vaultiq.sources", name = "Confluence")]
#[derive(Debug)]
pub struct PyConfluence;

#[pymethods]
impl PyConfluence {
    #[new]
    #[pyo3(signature = (name, base_url, *, spaces=None, include_blogposts=false, deployment="cloud", username=None, token=None, max_attempts=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        base_url: &str,
        spaces: Option<Vec<String>>,
        include_blogposts: bool,
        deployment: &str,
        username: Option<String>,
        token: Option<String>,
        max_attempts: Option<u32>,
        timeout: Option<f64>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut builder = ConfluenceConnector::builder(name, base_url)
            .spaces(spaces.unwrap_or_default())
            .include_blogposts(include_blogposts)
            .deployment(self::deployment(deployment)?)
            .retry_policy(retry_policy(max_attempts, timeout)?);
        builder = with_auth(builder, "Confluence", username, token)?;
        Ok(source(check(builder.build())?).add_subclass(PyConfluence))
    }
}

/// Slack channels with their threads (bot `token`, `xoxb-...`).
#[pyclass(extends = PySource, frozen, module = "vaultiq.sources", name = "Slack")]
#[derive(Debug)]
pub struct PySlack;

#[pymethods]
impl PySlack {
    #[new]
    #[pyo3(signature = (name, *, token=None, channels=None, base_url=None, lookback_days=None, max_attempts=None, timeout=None))]
    fn new(
        name: &str,
        token: Option<String>,
        channels: Option<Vec<String>>,
        base_url: Option<String>,
        lookback_days: Option<u64>,
        max_attempts: Option<u32>,
        timeout: Option<f64>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut builder =
            SlackConnector::builder(name).retry_policy(retry_policy(max_attempts, timeout)?);
        if let Some(token) = token {
            builder = builder.bearer_token(token);
        }
        if let Some(channels) = channels {
            builder = builder.channels(channels);
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(days) = lookback_days {
            builder = builder.lookback(Duration::from_secs(days.saturating_mul(86_400)));
        }
        Ok(source(check(builder.build())?).add_subclass(PySlack))
    }
}

/// Jira issues with comments, by `projects` or a `jql` query.
#[pyclass(extends = PySource, frozen, module = "vaultiq.sources", name = "Jira")]
#[derive(Debug)]
pub struct PyJira;

#[pymethods]
impl PyJira {
    #[new]
    #[pyo3(signature = (name, base_url, *, projects=None, jql=None, deployment="cloud", username=None, token=None, max_attempts=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        base_url: &str,
        projects: Option<Vec<String>>,
        jql: Option<String>,
        deployment: &str,
        username: Option<String>,
        token: Option<String>,
        max_attempts: Option<u32>,
        timeout: Option<f64>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut builder = JiraConnector::builder(name, base_url)
            .projects(projects.unwrap_or_default())
            .deployment(self::deployment(deployment)?)
            .retry_policy(retry_policy(max_attempts, timeout)?);
        if let Some(jql) = jql {
            builder = builder.jql(jql);
        }
        builder = with_auth(builder, "Jira", username, token)?;
        Ok(source(check(builder.build())?).add_subclass(PyJira))
    }
}

/// GitHub issues, pull requests and markdown docs of `repos` (`owner/name`).
#[pyclass(extends = PySource, frozen, module = "vaultiq.sources", name = "GitHub")]
#[derive(Debug)]
pub struct PyGitHub;

#[pymethods]
impl PyGitHub {
    #[new]
    #[pyo3(signature = (name, repos, *, token=None, base_url=None, include=None, docs_paths=None, max_attempts=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        repos: Vec<String>,
        token: Option<String>,
        base_url: Option<String>,
        include: Option<Vec<String>>,
        docs_paths: Option<Vec<String>>,
        max_attempts: Option<u32>,
        timeout: Option<f64>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut builder = GithubConnector::builder(name, repos)
            .retry_policy(retry_policy(max_attempts, timeout)?);
        if let Some(token) = token {
            builder = builder.bearer_token(token);
        }
        if let Some(url) = base_url {
            builder = builder.base_url(url);
        }
        if let Some(include) = include {
            builder = builder.include(check(GithubInclude::parse(&include))?);
        }
        if let Some(globs) = docs_paths {
            builder = builder.docs_paths(globs);
        }
        Ok(source(check(builder.build())?).add_subclass(PyGitHub))
    }
}

/// A directory of markdown, text, HTML and JSON files.
#[pyclass(extends = PySource, frozen, module = "vaultiq.sources", name = "Files")]
#[derive(Debug)]
pub struct PyFiles;

#[pymethods]
impl PyFiles {
    #[new]
    #[pyo3(signature = (name, path, *, include=None, batch_size=None))]
    fn new(
        name: String,
        path: PathBuf,
        include: Option<Vec<String>>,
        batch_size: Option<usize>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut builder = FilesConnector::builder(name, path);
        if let Some(globs) = include {
            builder = builder.include(globs);
        }
        if let Some(size) = batch_size {
            builder = builder.batch_size(size);
        }
        Ok(source(check(builder.build())?).add_subclass(PyFiles))
    }
}

/// Basic auth (Cloud: username + API token), a bearer token (Data Center
/// PAT) or none, shared by the Atlassian sources.
fn with_auth<B: ClientSettingsBuilder>(
    builder: B,
    source: &str,
    username: Option<String>,
    token: Option<String>,
) -> PyResult<B> {
    match (username, token) {
        (Some(user), Some(token)) => Ok(builder.basic_auth(user, token)),
        (None, Some(token)) => Ok(builder.bearer_token(token)),
        (Some(_), None) => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{source}: a username needs a token (the API token)"
        ))),
        (None, None) => Ok(builder),
    }
}
