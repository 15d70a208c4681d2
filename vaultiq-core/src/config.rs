//! `vaultiq.toml`: which implementation each stage uses and which sources
//! to sync. Every error names the file, the key and what was expected.

mod components;
pub mod env;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::chunker::{ChunkLength, RecursiveChunker};
use crate::connector::{Connector, FilesConnector};
use crate::embedder::LocalEmbedder;
use crate::{Error, KnowledgeBase, Result, SourceType};

/// The parsed configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the embedded store, fs lake and state live (default `.vaultiq`).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The embedder.
    #[serde(default)]
    pub embedder: EmbedderConfig,
    /// The chunker.
    #[serde(default)]
    pub chunker: ChunkerConfig,
    /// The vector store.
    #[serde(default)]
    pub store: StoreConfig,
    /// The answerer.
    #[serde(default)]
    pub answerer: AnswererConfig,
    /// The raw lake.
    #[serde(default)]
    pub lake: LakeConfig,
    /// The sync state store.
    #[serde(default)]
    pub state: StateConfig,
    /// The HTTP server.
    #[serde(default)]
    pub server: ServerConfig,
    /// AWS settings shared by the AWS parts (region, profile, endpoint).
    #[serde(default)]
    pub aws: AwsConfig,
    /// The store of named connector secrets (AWS Secrets Manager).
    #[serde(default)]
    pub secrets: SecretsConfig,
    /// Sources to sync.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// The file this was read from; relative paths resolve against its folder.
    #[serde(skip)]
    pub origin: Option<PathBuf>,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from(".vaultiq")
}

fn kind(value: &str) -> String {
    value.to_string()
}

/// `[embedder]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedderConfig {
    /// `local` (default) or `bedrock`.
    #[serde(default = "EmbedderConfig::default_kind")]
    pub kind: String,
    /// Folder of the local model.
    pub model_dir: Option<PathBuf>,
    /// Remote model id.
    pub model_id: Option<String>,
    /// Vector size for models that offer several.
    pub dimensions: Option<usize>,
    /// Truncation length of the local model in tokens.
    pub max_tokens: Option<usize>,
    /// Texts per forward pass.
    pub batch_size: Option<usize>,
    /// bedrock: endpoint override (wins over `[aws] endpoint_url`).
    pub endpoint_url: Option<String>,
    /// bedrock: unit-length vectors (Titan v2 only; default true).
    pub normalize: Option<bool>,
    /// bedrock: calls in flight at once (default 8).
    pub concurrency: Option<usize>,
    /// bedrock: calls per text on throttling and 5xx, the first included (default 10).
    pub max_attempts: Option<u32>,
}

impl EmbedderConfig {
    fn default_kind() -> String {
        kind("local")
    }
}

impl Default for EmbedderConfig {
    fn default() -> Self {
        EmbedderConfig {
            kind: Self::default_kind(),
            model_dir: None,
            model_id: None,
            dimensions: None,
            max_tokens: None,
            batch_size: None,
            endpoint_url: None,
            normalize: None,
            concurrency: None,
            max_attempts: None,
        }
    }
}

/// `[chunker]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkerConfig {
    /// Maximum chunk length (default 800).
    #[serde(default = "ChunkerConfig::default_size")]
    pub chunk_size: usize,
    /// Overlap between neighbours (default 160).
    #[serde(default = "ChunkerConfig::default_overlap")]
    pub chunk_overlap: usize,
    /// `chars` (default) or `tokens`.
    #[serde(default = "ChunkerConfig::default_length")]
    pub length: String,
    /// Split markdown sections first (default true).
    #[serde(default = "ChunkerConfig::default_markdown")]
    pub markdown: bool,
}

impl ChunkerConfig {
    fn default_size() -> usize {
        RecursiveChunker::DEFAULT_CHUNK_SIZE
    }
    fn default_overlap() -> usize {
        RecursiveChunker::DEFAULT_CHUNK_OVERLAP
    }
    fn default_length() -> String {
        kind("chars")
    }
    fn default_markdown() -> bool {
        true
    }
}

impl Default for ChunkerConfig {
    fn default() -> Self {
        ChunkerConfig {
            chunk_size: Self::default_size(),
            chunk_overlap: Self::default_overlap(),
            length: Self::default_length(),
            markdown: Self::default_markdown(),
        }
    }
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `embedded` (default), `opensearch` or `pgvector`.
    #[serde(default = "StoreConfig::default_kind")]
    pub kind: String,
    /// Endpoint of a remote store.
    pub url: Option<String>,
    /// Index or table name of a remote store.
    pub index: Option<String>,
    /// Environment variable holding the url instead (pgvector: it carries the password).
    pub url_env: Option<String>,
    /// pgvector: pooled connections at most.
    pub max_connections: Option<usize>,
    /// opensearch: `none` (default), `basic`, `aoss` (Serverless SigV4) or `es` (managed SigV4).
    pub auth: Option<String>,
    /// opensearch SigV4: AWS region (default: `[aws] region`, then the
    /// chain's, e.g. `$AWS_REGION`). Credentials come from the `[aws]` chain.
    pub region: Option<String>,
    /// opensearch basic auth: variable holding the user name (default `OPENSEARCH_USERNAME`).
    pub username_env: Option<String>,
    /// opensearch basic auth: variable holding the password (default `OPENSEARCH_PASSWORD`).
    pub password_env: Option<String>,
    /// opensearch: `innerproduct` (default) or `cosinesimil`.
    pub space_type: Option<String>,
    /// pgvector: root CA certificates (PEM) the server's certificate must
    /// chain to when the url has no `sslrootcert` (Aurora/RDS: the AWS
    /// `global-bundle.pem`; pair it with `sslmode=verify-full` in the url).
    /// A relative path is taken from the working directory.
    pub tls_ca_file: Option<PathBuf>,
}

impl StoreConfig {
    fn default_kind() -> String {
        kind("embedded")
    }
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            kind: Self::default_kind(),
            url: None,
            index: None,
            url_env: None,
            max_connections: None,
            auth: None,
            region: None,
            username_env: None,
            password_env: None,
            space_type: None,
            tls_ca_file: None,
        }
    }
}

/// `[answerer]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswererConfig {
    /// `extractive` (default) or `bedrock`.
    #[serde(default = "AnswererConfig::default_kind")]
    pub kind: String,
    /// Remote model id.
    pub model_id: Option<String>,
    /// Answer length limit of a remote model.
    pub max_tokens: Option<u32>,
    /// Evidence threshold of the extractive answerer (0..1).
    pub min_relevance: Option<f32>,
    /// bedrock: endpoint override (wins over `[aws] endpoint_url`).
    pub endpoint_url: Option<String>,
    /// bedrock: sampling temperature (0..1, default 0).
    pub temperature: Option<f32>,
    /// bedrock: replaces the built-in system prompt.
    pub system_prompt: Option<String>,
    /// bedrock: calls per answer on throttling and 5xx, the first included (default 4).
    pub max_attempts: Option<u32>,
}

impl AnswererConfig {
    fn default_kind() -> String {
        kind("extractive")
    }
}

impl Default for AnswererConfig {
    fn default() -> Self {
        AnswererConfig {
            kind: Self::default_kind(),
            model_id: None,
            max_tokens: None,
            min_relevance: None,
            endpoint_url: None,
            temperature: None,
            system_prompt: None,
            max_attempts: None,
        }
    }
}

/// `[lake]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LakeConfig {
    /// `fs` (default) or `s3`.
    #[serde(default = "LakeConfig::default_kind")]
    pub kind: String,
    /// S3 bucket.
    pub bucket: Option<String>,
    /// S3 key prefix.
    pub prefix: Option<String>,
    /// S3 endpoint override (wins over `[aws] endpoint_url`).
    pub endpoint_url: Option<String>,
    /// S3 encryption at rest: `AES256` or `aws:kms` (default: the bucket's).
    pub sse: Option<String>,
    /// KMS key id or ARN for `sse = "aws:kms"` (default: `aws/s3`).
    pub kms_key_id: Option<String>,
}

impl LakeConfig {
    fn default_kind() -> String {
        kind("fs")
    }
}

impl Default for LakeConfig {
    fn default() -> Self {
        LakeConfig {
            kind: Self::default_kind(),
            bucket: None,
            prefix: None,
            endpoint_url: None,
            sse: None,
            kms_key_id: None,
        }
    }
}

/// `[state]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateConfig {
    /// `sqlite` (default) or `dynamodb`.
    #[serde(default = "StateConfig::default_kind")]
    pub kind: String,
    /// DynamoDB table.
    pub table: Option<String>,
    /// DynamoDB endpoint override (wins over `[aws] endpoint_url`).
    pub endpoint_url: Option<String>,
    /// Prefix of every partition key, so knowledge bases can share a table.
    pub namespace: Option<String>,
}

impl StateConfig {
    fn default_kind() -> String {
        kind("sqlite")
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            kind: Self::default_kind(),
            table: None,
            endpoint_url: None,
            namespace: None,
        }
    }
}

/// `[secrets]`: where `credentials = { secret = "..." }` entries are read
/// (AWS Secrets Manager, with the `aws-secrets` feature).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// Seconds a fetched secret is reused (default 300).
    pub ttl_seconds: Option<u64>,
    /// Secrets Manager endpoint override (wins over `[aws] endpoint_url`).
    pub endpoint_url: Option<String>,
}

/// `[aws]`: what every AWS part shares. Credentials always come from the
/// standard chain (environment, profile, web identity, container or
/// instance role); nothing here holds a secret.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Region (default: the chain's, e.g. `AWS_REGION`).
    pub region: Option<String>,
    /// Named profile of the shared config files.
    pub profile: Option<String>,
    /// Endpoint for every AWS client (a VPC endpoint, or a local emulator);
    /// a part's own `endpoint_url` wins over it.
    pub endpoint_url: Option<String>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Listen address (default `127.0.0.1:8080`).
    #[serde(default = "ServerConfig::default_addr")]
    pub addr: String,
    /// Environment variable holding comma-separated API keys.
    pub api_keys_env: Option<String>,
    /// Allowed CORS origins.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Requests served at once before answering 503.
    pub max_concurrency: Option<usize>,
    /// Requests that may wait for a free slot before the excess gets 503.
    pub max_queue: Option<usize>,
    /// Seconds one request may take before it gets 504.
    pub request_timeout_secs: Option<u64>,
}

impl ServerConfig {
    fn default_addr() -> String {
        kind("127.0.0.1:8080")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: Self::default_addr(),
            api_keys_env: None,
            cors_origins: Vec::new(),
            max_concurrency: None,
            max_queue: None,
            request_timeout_secs: None,
        }
    }
}

/// One `[[sources]]` entry; type-specific keys stay in `settings`.
#[derive(Debug, Clone, Deserialize)]
pub struct SourceConfig {
    /// Kind of source.
    #[serde(rename = "type")]
    pub source_type: SourceType,
    /// Unique instance name, part of every document id.
    pub name: String,
    /// Everything else in the entry.
    #[serde(flatten)]
    pub settings: toml::Table,
}

impl Config {
    /// Reads and validates a config file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read config file", path, e))?;
        let mut config = Self::parse(&text, &path.display().to_string())?;
        config.origin = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses config text; `origin` names it in errors. Environment
    /// overrides ([`env`]) are applied on top.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        Self::parse_with_env(text, origin, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::parse`], with overrides read through `lookup` (tests
    /// pass a fixed map instead of the process environment).
    pub fn parse_with_env(
        text: &str,
        origin: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        // The file alone first, so its errors keep line and column.
        let mut config: Config =
            toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        let mut table: toml::Table =
            toml::from_str(text).map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        let applied = env::apply(&mut table, lookup)?;
        if !applied.is_empty() {
            let variables: Vec<&str> = applied.iter().map(|(v, _)| v.as_str()).collect();
            config = toml::Value::Table(table).try_into().map_err(|e| {
                Error::Config(format!(
                    "{origin} with overrides from {}: {e}",
                    variables.join(", ")
                ))
            })?;
        }
        config.validate(origin).map_err(|err| match err {
            Error::Config(message) => {
                // Name the variable when the bad value came from one.
                let from = applied
                    .iter()
                    .find(|(_, key)| message.contains(&format!("`{key}")));
                match from {
                    Some((variable, _)) => {
                        Error::Config(format!("{message} (the value comes from {variable})"))
                    }
                    None => Error::Config(message),
                }
            }
            other => other,
        })?;
        Ok(config)
    }

    /// The defaults with the environment overrides applied (no file).
    pub fn from_env() -> Result<Self> {
        Self::parse("", "the environment")
    }

    /// The default configuration (embedded everything, no sources).
    pub fn embedded_default() -> Self {
        Config {
            data_dir: default_data_dir(),
            embedder: EmbedderConfig::default(),
            chunker: ChunkerConfig::default(),
            store: StoreConfig::default(),
            answerer: AnswererConfig::default(),
            lake: LakeConfig::default(),
            state: StateConfig::default(),
            server: ServerConfig::default(),
            aws: AwsConfig::default(),
            secrets: SecretsConfig::default(),
            sources: Vec::new(),
            origin: None,
        }
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |key: &str, expected: &str, got: &str| {
            Error::Config(format!("{origin}: `{key}` must be {expected}, got `{got}`"))
        };
        let supported = |key: &str, value: &str, here: &[&str], later: &[&str]| -> Result<()> {
            if here.contains(&value) {
                Ok(())
            } else if later.contains(&value) {
                Err(Error::Config(format!(
                    "{origin}: `{key} = \"{value}\"` is not available in this build of VaultIQ; use one of: {}",
                    here.join(", ")
                )))
            } else {
                Err(bad(
                    key,
                    &format!("one of {}", [here, later].concat().join(", ")),
                    value,
                ))
            }
        };
        let stage = |key: &str, value: &str| -> Result<()> {
            let (here, all) = components::available(key);
            let later: Vec<&str> = all.iter().copied().filter(|k| !here.contains(k)).collect();
            supported(&format!("{key}.kind"), value, &here, &later)
        };
        stage("embedder", &self.embedder.kind)?;
        #[allow(unused_mut)]
        let mut stores_here = vec!["embedded"];
        #[cfg(feature = "aws-opensearch")]
        stores_here.push("opensearch");
        #[cfg(feature = "pgvector")]
        stores_here.push("pgvector");
        let stores_later: Vec<&str> = ["opensearch", "pgvector"]
            .into_iter()
            .filter(|k| !stores_here.contains(k))
            .collect();
        supported("store.kind", &self.store.kind, &stores_here, &stores_later)?;
        stage("answerer", &self.answerer.kind)?;
        stage("lake", &self.lake.kind)?;
        stage("state", &self.state.kind)?;
        if !["chars", "tokens"].contains(&self.chunker.length.as_str()) {
            return Err(bad(
                "chunker.length",
                "`chars` or `tokens`",
                &self.chunker.length,
            ));
        }
        if self.chunker.chunk_size == 0 || self.chunker.chunk_overlap > self.chunker.chunk_size {
            return Err(Error::Config(format!(
                "{origin}: `chunker.chunk_size` must be > 0 and at least `chunker.chunk_overlap` ({} / {})",
                self.chunker.chunk_size, self.chunker.chunk_overlap
            )));
        }
        self.validate_numbers(origin)?;
        if let Some(min) = self.answerer.min_relevance {
            if !(0.0..=1.0).contains(&min) {
                return Err(bad(
                    "answerer.min_relevance",
                    "between 0 and 1",
                    &min.to_string(),
                ));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            let key = format!("sources[{i}]");
            if source.name.is_empty()
                || !source
                    .name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(bad(
                    &format!("{key}.name"),
                    "a non-empty name of letters, digits, `-`, `_` or `.`",
                    &source.name,
                ));
            }
            if !names.insert(source.name.as_str()) {
                return Err(Error::Config(format!(
                    "{origin}: `{key}.name` = `{}` is used twice; source names must be unique",
                    source.name
                )));
            }
            match source.source_type {
                SourceType::Files => {
                    let path = source.settings.get("path").and_then(|v| v.as_str());
                    if path.is_none() {
                        return Err(Error::Config(format!(
                            "{origin}: `{key}.path` is required for a files source (a directory)"
                        )));
                    }
                    for extra in source.settings.keys() {
                        if !["path", "include"].contains(&extra.as_str()) {
                            return Err(Error::Config(format!(
                                "{origin}: `{key}.{extra}` is not a setting of a files source (expected path, include)"
                            )));
                        }
                    }
                }
                SourceType::Custom => {
                    return Err(Error::Config(format!(
                        "{origin}: `{key}.type = \"custom\"` sources are added in code, not in the config"
                    )))
                }
                _ => crate::connector::settings::validate(origin, &key, source)?,
            }
        }
        Ok(())
    }

    /// Limits of the numeric and address settings.
    fn validate_numbers(&self, origin: &str) -> Result<()> {
        let positive = |key: &str, value: Option<u64>, max: u64| -> Result<()> {
            match value {
                Some(v) if v == 0 || v > max => Err(Error::Config(format!(
                    "{origin}: `{key}` must be 1..{max}, got {v}"
                ))),
                _ => Ok(()),
            }
        };
        let count = |v: Option<usize>| v.map(|v| v as u64);
        positive(
            "embedder.dimensions",
            count(self.embedder.dimensions),
            65_536,
        )?;
        positive(
            "embedder.max_tokens",
            count(self.embedder.max_tokens),
            65_536,
        )?;
        positive(
            "embedder.batch_size",
            count(self.embedder.batch_size),
            4_096,
        )?;
        positive(
            "answerer.max_tokens",
            self.answerer.max_tokens.map(u64::from),
            200_000,
        )?;
        positive(
            "server.max_concurrency",
            count(self.server.max_concurrency),
            100_000,
        )?;
        positive(
            "server.request_timeout_secs",
            self.server.request_timeout_secs,
            86_400,
        )?;
        if let Some(ttl) = self.secrets.ttl_seconds {
            if ttl > 86_400 {
                return Err(Error::Config(format!(
                    "{origin}: `secrets.ttl_seconds` must be 0..86400, got {ttl}"
                )));
            }
        }
        if let Some(queue) = self.server.max_queue {
            if queue > 1_000_000 {
                return Err(Error::Config(format!(
                    "{origin}: `server.max_queue` must be 0..1000000, got {queue}"
                )));
            }
        }
        let addr = &self.server.addr;
        let port_ok = addr
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(Error::Config(format!(
                "{origin}: `server.addr` must be HOST:PORT (e.g. 127.0.0.1:8080), got `{addr}`"
            )));
        }
        if let Some(var) = &self.server.api_keys_env {
            if var.is_empty() || var.contains(['=', '\0']) {
                return Err(Error::Config(format!(
                    "{origin}: `server.api_keys_env` must name an environment variable, got `{var}`"
                )));
            }
        }
        for origin_value in &self.server.cors_origins {
            let ok = origin_value == "*"
                || origin_value.starts_with("http://")
                || origin_value.starts_with("https://");
            if !ok {
                return Err(Error::Config(format!(
                    "{origin}: `server.cors_origins` entries must be `*` or http(s)://HOST[:PORT], got `{origin_value}`"
                )));
            }
        }
        Ok(())
    }

    /// Resolves a configured path against the config file's folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.origin.as_ref().and_then(|o| o.parent()) {
            Some(base) if path.is_relative() => base.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The data directory, resolved.
    pub fn data_dir(&self) -> PathBuf {
        self.resolve(&self.data_dir)
    }

    /// The connectors of `[[sources]]`.
    pub fn connectors(&self) -> Result<Vec<Arc<dyn Connector>>> {
        self.connectors_with_secrets(components::secret_provider(self))
    }

    /// The connectors of `[[sources]]`, with `secrets` serving
    /// `credentials = { secret = "..." }` entries.
    pub fn connectors_with_secrets(
        &self,
        secrets: Option<Arc<dyn crate::connector::SecretProvider>>,
    ) -> Result<Vec<Arc<dyn Connector>>> {
        self.sources
            .iter()
            .map(|source| -> Result<Arc<dyn Connector>> {
                if source.source_type != SourceType::Files {
                    return crate::connector::settings::build(
                        source,
                        &|p| self.resolve(p),
                        secrets.as_ref(),
                    );
                }
                let path = source
                    .settings
                    .get("path")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| {
                        Error::Config(format!("source `{}` has no path", source.name))
                    })?;
                let mut builder =
                    FilesConnector::builder(&source.name, self.resolve(Path::new(path)));
                if let Some(include) = source.settings.get("include") {
                    let globs = include
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .filter_map(|i| i.as_str().map(String::from))
                                .collect::<Vec<_>>()
                        })
                        .ok_or_else(|| {
                            Error::Config(format!(
                                "source `{}`: `include` must be a list of globs",
                                source.name
                            ))
                        })?;
                    builder = builder.include(globs);
                }
                Ok(Arc::new(builder.build()?))
            })
            .collect()
    }

    /// The local embedder this config asks for.
    pub fn local_embedder(&self) -> Result<LocalEmbedder> {
        let mut builder = LocalEmbedder::builder();
        if let Some(dir) = &self.embedder.model_dir {
            builder = builder.model_dir(self.resolve(dir));
        }
        if let Some(max) = self.embedder.max_tokens {
            builder = builder.max_tokens(max);
        }
        if let Some(batch) = self.embedder.batch_size {
            builder = builder.batch_size(batch);
        }
        builder.build()
    }

    /// Opens the knowledge base this config describes, with its sources.
    /// Remote clients (AWS, databases) connect on first use, so opening
    /// does no network I/O.
    pub fn open(&self) -> Result<KnowledgeBase> {
        let data_dir = self.data_dir();
        let (embedder, tokens) = components::embedder(self)?;
        let length = match (self.chunker.length.as_str(), tokens) {
            ("tokens", Some(tokens)) => tokens,
            ("tokens", None) => {
                return Err(Error::Config(format!(
                    "`chunker.length = \"tokens\"` needs a tokenizer, and the `{}` embedder has none; use `chars`",
                    self.embedder.kind
                )))
            }
            _ => ChunkLength::Chars,
        };
        let chunker = RecursiveChunker::builder()
            .chunk_size(self.chunker.chunk_size)
            .chunk_overlap(self.chunker.chunk_overlap)
            .length(length)
            .markdown(self.chunker.markdown)
            .build()?;
        let dimension = embedder.dimension();
        let store: Arc<dyn crate::store::VectorStore> =
            match crate::store::from_config(&self.store, &self.aws, dimension)? {
                Some(remote) => remote,
                None => Arc::new(crate::store::EmbeddedStore::open(&data_dir)?),
            };
        let embedder = crate::embedder::CachedEmbedder::open(embedder, &data_dir)?;
        let mut builder = KnowledgeBase::builder()
            .embedder(Arc::new(embedder))
            .store(store)
            .chunker(Arc::new(chunker))
            .answerer(components::answerer(self)?)
            .lake(components::lake(self, &data_dir)?)
            .state(components::state(self, &data_dir)?);
        for connector in self.connectors()? {
            builder = builder.source(connector);
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        match Config::parse(text, "vaultiq.toml") {
            Err(e) => e.to_string(),
            Ok(_) => String::from("no error"),
        }
    }

    #[test]
    fn defaults_and_sources_parse() -> Result<()> {
        let config = Config::parse(
            "data_dir = \"kb\"\n[[sources]]\ntype = \"files\"\nname = \"runbooks\"\npath = \"docs\"\ninclude = [\"**/*.md\"]\n",
            "vaultiq.toml",
        )?;
        assert_eq!(config.store.kind, "embedded");
        assert_eq!(config.sources[0].source_type, SourceType::Files);
        assert_eq!(config.sources[0].name, "runbooks");
        Ok(())
    }

    #[test]
    fn errors_name_the_key() {
        assert!(error_of("[store]\nkind = \"faiss\"").contains("store.kind"));
        if !cfg!(feature = "aws-opensearch") {
            assert!(
                error_of("[store]\nkind = \"opensearch\"").contains("not available in this build")
            );
        }
        assert!(error_of("[embedder]\nkindd = \"local\"").contains("kindd"));
        assert!(error_of("[chunker]\nchunk_size = 10\nchunk_overlap = 20").contains("chunk_size"));
        assert!(error_of("[[sources]]\ntype = \"files\"\nname = \"a\"").contains("sources[0].path"));
        assert!(error_of("[[sources]]\ntype = \"wiki\"\nname = \"a\"").contains("wiki"));
        assert!(
            error_of("[[sources]]\ntype = \"files\"\nname = \"a b\"\npath = \".\"")
                .contains("sources[0].name")
        );
        assert!(error_of(
            "[[sources]]\ntype = \"files\"\nname = \"a\"\npath = \".\"\n[[sources]]\ntype = \"files\"\nname = \"a\"\npath = \".\""
        )
        .contains("used twice"));
        assert!(error_of("data_dir = [").contains("vaultiq.toml"));
    }
}
