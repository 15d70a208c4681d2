//! What each subcommand does. Every command returns its exit code (see
//! [`crate::exit`]); errors are mapped to codes in `main`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use vaultiq_core::config::Config;
use vaultiq_core::connector::{Connector, FilesConnector};
use vaultiq_core::{KnowledgeBase, Query, SearchMode, SourceType, SyncOptions, SyncReport};

use crate::exit::{self, usage};
use crate::lock::{DataDirLock, LockBusy};
use crate::schedule::StopSignal;
use crate::{init, output, progress, Cli, Command};
use vaultiq_examples::server;

/// Options shared by `ask` and `search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// Number of passages to use (1..50).
    #[arg(long, default_value_t = 5)]
    top_k: usize,
    /// Only these source types, comma-separated (confluence,slack,jira,github,files).
    #[arg(long, value_delimiter = ',')]
    source_filter: Vec<String>,
}

impl SearchArgs {
    fn query(&self, question: &str) -> anyhow::Result<Query> {
        if !(1..=50).contains(&self.top_k) {
            usage!("--top-k must be 1..50, got {}", self.top_k);
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

/// Loads `--config`, or `./vaultiq.toml` when present, or the defaults;
/// environment overrides apply in every case.
fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::from_file(path)?,
        None if Path::new("vaultiq.toml").is_file() => Config::from_file("vaultiq.toml")?,
        None => Config::from_env()?,
    };
    if let Some(dir) = &cli.data_dir {
        // A command-line path is relative to where the command runs.
        config.data_dir = std::env::current_dir()
            .context("cannot read the current directory")?
            .join(dir);
    }
    Ok(config)
}

pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    if let Command::Init {
        path,
        create_table: true,
        ..
    } = &cli.command
    {
        let config = match &cli.config {
            Some(file) => Config::from_file(file)?,
            None => Config::from_file(path)?,
        };
        let created = init::create_state_table(&config).await?;
        if cli.json {
            output::json(&serde_json::json!({ "table": config.state.table, "created": created }))?;
        } else if !cli.quiet {
            let table = config.state.table.as_deref().unwrap_or_default();
            if created {
                println!("Created DynamoDB table {table}.");
            } else {
                println!("DynamoDB table {table} already exists with the right keys.");
            }
        }
        return Ok(exit::OK);
    }
    if let Command::Init { path, force, .. } = &cli.command {
        init::write_example(path, *force)?;
        if cli.json {
            output::json(&serde_json::json!({ "written": path }))?;
        } else if !cli.quiet {
            println!(
                "Wrote {}. Add [[sources]], then run `vaultiq sync`.",
                path.display()
            );
        }
        return Ok(exit::OK);
    }
    let config = load_config(&cli)?;
    let (quiet, json) = (cli.quiet, cli.json);
    match cli.command {
        Command::Init { .. } => Ok(exit::OK),
        Command::Ingest {
            path,
            name,
            force_delete,
            batch_size,
        } => {
            let name = match name {
                Some(name) => name,
                None => default_source_name(&path)?,
            };
            let connector: Arc<dyn Connector> = Arc::new(
                FilesConnector::builder(name, path)
                    .batch_size(batch_size)
                    .build()?,
            );
            let _lock = DataDirLock::acquire(&config.data_dir(), "ingest")?;
            let kb = config.open()?;
            let stop = StopSignal::listen(quiet);
            let options = sync_options(force_delete, &stop);
            let reporter = progress::Reporter::new(quiet);
            let report = kb
                .sync_connector(connector, &options, &|p| reporter.update(p))
                .await;
            reporter.finish();
            finish_run(report?, json)
        }
        Command::Sync {
            source,
            force_delete,
            every,
        } => {
            let kb = config.open()?;
            if kb.source_names().is_empty() {
                usage!("no sources are configured; add [[sources]] to vaultiq.toml (see `vaultiq init`) or use `vaultiq ingest PATH`");
            }
            if let Some(name) = &source {
                if !kb.source_names().contains(name) {
                    usage!(
                        "no source named `{name}`; configured: {}",
                        kb.source_names().join(", ")
                    );
                }
            }
            let stop = StopSignal::listen(quiet);
            let options = sync_options(force_delete, &stop);
            let data_dir = config.data_dir();
            match every {
                None => {
                    let _lock = DataDirLock::acquire(&data_dir, "sync")?;
                    let report = sync_once(&kb, source.as_deref(), &options, quiet).await?;
                    finish_run(report, json)
                }
                Some(every) => {
                    let out = (quiet, json);
                    periodic_sync(
                        &kb,
                        &data_dir,
                        source.as_deref(),
                        &options,
                        every,
                        stop,
                        out,
                    )
                    .await
                }
            }
        }
        Command::Reindex { source } => {
            let _lock = DataDirLock::acquire(&config.data_dir(), "reindex")?;
            let kb = open_for_query(&config)?;
            let stop = StopSignal::listen(quiet);
            let options = sync_options(false, &stop);
            let reporter = progress::Reporter::new(quiet);
            let report = kb
                .reindex(source.as_deref(), &options, &|p| reporter.update(p))
                .await;
            reporter.finish();
            finish_run(report?, json)
        }
        Command::Ask { question, search } => {
            let query = search.query(&question)?;
            let kb = open_for_query(&config)?;
            let result = kb.ask(&query).await?;
            output::answer(&result, json)?;
            Ok(exit::OK)
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
                other => usage!("--mode must be hybrid, keyword or vector, got `{other}`"),
            };
            let query = search.query(&question)?.mode(mode);
            let kb = open_for_query(&config)?;
            let result = kb.search(&query).await?;
            output::hits(&result, json)?;
            Ok(exit::OK)
        }
        Command::Sources => {
            let kb = open_for_query(&config)?;
            output::sources(&kb.sources().await?, json)?;
            Ok(exit::OK)
        }
        Command::Status => {
            let kb = open_for_query(&config)?;
            let status = output::Status::gather(&kb, &config).await?;
            output::status(&status, json)?;
            Ok(exit::OK)
        }
        Command::Serve { addr } => {
            let mut settings = server::ServerSettings::from_config(&config.server)?;
            if let Some(addr) = addr {
                settings.addr = addr;
            }
            // An empty index is fine: a `vaultiq sync` may fill it while serving.
            let kb = Arc::new(config.open()?);
            server::serve(kb, settings, server::shutdown_signal()).await?;
            Ok(exit::OK)
        }
    }
}

fn sync_options(force_delete: bool, stop: &StopSignal) -> SyncOptions {
    SyncOptions {
        force_delete,
        stop: Some(stop.flag()),
        ..SyncOptions::default()
    }
}

async fn sync_once(
    kb: &KnowledgeBase,
    source: Option<&str>,
    options: &SyncOptions,
    quiet: bool,
) -> anyhow::Result<SyncReport> {
    let reporter = progress::Reporter::new(quiet);
    let report = match source {
        Some(name) => kb.sync_source(name, options, &|p| reporter.update(p)).await,
        None => kb.sync(options, &|p| reporter.update(p)).await,
    };
    reporter.finish();
    Ok(report?)
}

/// Syncs now, then every `every` (measured from the start of each run, as
/// a cron rate would; a run that overruns is followed at once, never
/// overlapped). A failed run is reported and retried at the next tick;
/// only a config problem or a stop request ends the loop.
async fn periodic_sync(
    kb: &KnowledgeBase,
    data_dir: &Path,
    source: Option<&str>,
    options: &SyncOptions,
    every: Duration,
    mut stop: StopSignal,
    (quiet, json): (bool, bool),
) -> anyhow::Result<u8> {
    loop {
        let started = Instant::now();
        let outcome = match DataDirLock::acquire(data_dir, "sync --every") {
            Ok(_lock) => sync_once(kb, source, options, quiet).await,
            Err(err) if err.downcast_ref::<LockBusy>().is_some() => {
                // Someone else is syncing this directory: skip this tick.
                eprintln!("warning: {err:#}; skipping this run");
                Err(err)
            }
            Err(err) => return Err(err),
        };
        match outcome {
            Ok(report) => {
                finish_run(report, json)?;
            }
            Err(err) => match exit::code_of(&err) {
                exit::USAGE | exit::INTERRUPTED => return Err(err),
                exit::BUSY => {}
                _ => eprintln!("error: {err:#}; retrying at the next run"),
            },
        }
        let next = every.saturating_sub(started.elapsed());
        if !quiet {
            eprintln!(
                "next sync in {}s (Ctrl-C to stop)",
                next.as_secs_f64().round()
            );
        }
        if stop.sleep(next).await {
            if !quiet {
                eprintln!("stopped between runs");
            }
            return Ok(exit::OK);
        }
    }
}

/// Queries need an existing index: a typo in `--data-dir` should not
/// silently create an empty one.
fn open_for_query(config: &Config) -> anyhow::Result<KnowledgeBase> {
    let dir = config.data_dir();
    if !dir.join("store.sqlite").is_file() {
        usage!(
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

/// Prints warnings (and the report with `--json`); warnings give exit 4.
fn finish_run(report: SyncReport, json: bool) -> anyhow::Result<u8> {
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if json {
        output::json(&output::run_report(&report))?;
    }
    Ok(if report.warnings.is_empty() {
        exit::OK
    } else {
        exit::WARNINGS
    })
}
