//! Connectors enumerate the documents of one source instance incrementally.

pub mod client;
pub mod confluence;
pub mod credentials;
mod files;
pub mod github;
pub mod http;
pub mod jira;
#[cfg(feature = "aws-secrets")]
pub mod secrets_manager;
pub(crate) mod settings;
pub mod slack;

pub use client::{ClientSettings, ClientSettingsBuilder};
pub use confluence::{ConfluenceConnector, ConfluenceConnectorBuilder, Deployment};
pub use credentials::{CredentialSource, Secret, SecretProvider};
pub use files::{FilesConnector, FilesConnectorBuilder};
pub use github::{GithubConnector, GithubConnectorBuilder, GithubInclude};
pub use jira::{JiraConnector, JiraConnectorBuilder};
#[cfg(feature = "aws-secrets")]
pub use secrets_manager::{SecretsManagerProvider, SecretsManagerProviderBuilder};
pub use slack::{SlackConnector, SlackConnectorBuilder};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Document, Result, SourceType};

/// Opaque resume point of a connector, committed by the sync pipeline only
/// after everything fetched before it is durably indexed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Checkpoint(pub serde_json::Value);

/// A fetched document together with the payload the source sent, so the raw
/// lake can rebuild everything without calling the source again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceDocument {
    /// The normalised document.
    pub document: Document,
    /// The source's payload as received (or `null`).
    #[serde(default)]
    pub raw: serde_json::Value,
}

/// One step of an incremental fetch.
#[derive(Debug, Clone)]
pub struct FetchBatch {
    /// New or changed documents.
    pub documents: Vec<SourceDocument>,
    /// Where the next fetch resumes once this batch is indexed.
    pub checkpoint: Checkpoint,
    /// True when nothing more has changed since the checkpoint.
    pub done: bool,
}

/// A source of documents (Confluence, Slack, Jira, GitHub, files...).
#[async_trait]
pub trait Connector: Send + Sync {
    /// The configured instance name, part of every document id.
    fn name(&self) -> &str;

    /// The kind of source.
    fn source_type(&self) -> SourceType;

    /// Fetches the next batch of documents changed since `checkpoint`
    /// (everything when `None`). Called repeatedly, each time with the
    /// checkpoint of the previous batch, until a batch says `done`.
    async fn fetch(&self, checkpoint: Option<&Checkpoint>) -> Result<FetchBatch>;

    /// Every live document id, so the pipeline can remove what vanished.
    async fn list_ids(&self) -> Result<Vec<String>>;
}
