//! What each subcommand does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use vaultiq_core::config::Config;
use vaultiq_core::connector::{Connector, FilesConnector};
use vaultiq_core::{KnowledgeBase, Query, SearchMode, SourceType, SyncOptions, SyncReport};

use crate::{output, progress, server, Cli, Command};

/// Options shared by `ask` and `search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Number of passages to use.
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Only these source types, comma-separated (confluence,slack,jira,github,files).
    #[arg(long, value_delimiter = ',')]
    source_filter: Vec<String>,
    /// Print JSON (`ask`: the `POST /api/query` response).
    #[arg(long)]
    json: bool,
}

impl SearchArgs {
    fn query(&self, question: &str) -> anyhow::Result<Query> {
        if !(1..=50).contains(&self.top_k) {
            bail!("--top-k must be 1..50, got {}", self.top_k);
        }
        let sources = self
            .source_filter
            .iter()
            .map(|s| s.trim().parse::<SourceType>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Query::new(question)
            .top_k(self.top_k)
            .source_filter(sources))
    }
}

/// Loads `--config`, or `./vaultiq.toml` when present, or the defaults.
fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None if Path::new("vaultiq.toml").is_file() => Config::from_file("vaultiq.toml")?,
        None => Config::embedded_default(),
    };
    if let Some(dir) = &cli.data_dir {
        // A command-line path is relative to where the command runs.
        config.data_dir = std::env::current_dir()
            .context("cannot read the current directory")?
            .join(dir);
    }
    Ok(config)
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = load_config(&cli)?;
    let quiet = cli.quiet;
    match cli.command {
        Command::Ingest {
            path,
            name,
            force_delete,
            batch_size,
        } => {
            let kb = config.open()?;
            let name = match name {
                Some(name) => name,
                None => default_source_name(&path)?,
            };
            let connector: Arc<dyn Connector> = Arc::new(
                FilesConnector::builder(name, path)
                    .batch_size(batch_size)
                    .build()?,
            );
            let options = SyncOptions {
                force_delete,
                ..SyncOptions::default()
            };
            let reporter = progress::Reporter::new(quiet);
            let report = kb
                .sync_connector(connector, &options, &|p| reporter.update(p))
                .await;
            reporter.finish();
            finish_sync(report?)
        }
        Command::Sync {
            source,
            force_delete,
        } => {
            let kb = config.open()?;
            if kb.source_names().is_empty() {
                bail!("no sources are configured; add [[sources]] to vaultiq.toml or use `vaultiq ingest PATH`");
            }
            let options = SyncOptions {
                force_delete,
                ..SyncOptions::default()
            };
            let reporter = progress::Reporter::new(quiet);
            let report = match source {
                Some(name) => {
                    kb.sync_source(&name, &options, &|p| reporter.update(p))
                        .await
                }
                None => kb.sync(&options, &|p| reporter.update(p)).await,
            };
            reporter.finish();
            finish_sync(report?)
        }
        Command::Ask { question, search } => {
            let query = search.query(&question)?;
            let kb = open_for_query(&config)?;
            let result = kb.ask(&query).await?;
            output::answer(&result, search.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Search {
            question,
            search,
            mode,
        } => {
            let mode = match mode.as_str() {
                "hybrid" => SearchMode::Hybrid,
                "keyword" => SearchMode::Keyword,
                "vector" => SearchMode::Vector,
                other => bail!("--mode must be hybrid, keyword or vector, got `{other}`"),
            };
            let query = search.query(&question)?.mode(mode);
            let kb = open_for_query(&config)?;
            let result = kb.search(&query).await?;
            output::hits(&result, search.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { json } => {
            let kb = open_for_query(&config)?;
            output::sources(&kb.sources().await?, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { json } => {
            let kb = open_for_query(&config)?;
            output::status(&kb.last_runs().await?, &kb.sources().await?, json)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { addr } => {
            let mut settings = server::ServerSettings::from_config(&config.server)?;
            if let Some(addr) = addr {
                settings.addr = addr;
            }
            // An empty index is fine: a `vaultiq sync` may fill it while serving.
            let kb = Arc::new(config.open()?);
            server::serve(kb, settings, server::shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Queries need an existing index: a typo in `--data-dir` should not
/// silently create an empty one.
fn open_for_query(config: &Config) -> anyhow::Result<KnowledgeBase> {
    let dir = config.data_dir();
    if !dir.join("store.sqlite").is_file() {
        bail!(
            "no index in {}; run `vaultiq ingest PATH` or `vaultiq sync` first",
            dir.display()
        );
    }
    Ok(config.open()?)
}

fn default_source_name(path: &Path) -> anyhow::Result<String> {
    let absolute: PathBuf = std::fs::canonicalize(path)
        .with_context(|| format!("cannot read directory {}", path.display()))?;
    let name: String = absolute
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("files")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(name)
}

fn finish_sync(report: SyncReport) -> anyhow::Result<ExitCode> {
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}
