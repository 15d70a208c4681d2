//! The `vaultiq` command line: set up, sync sources, reindex, ask, search
//! and serve the HTTP API.
//!
//! Run with: `cargo run --release --bin vaultiq -- --help`

mod commands;
mod exit;
mod init;
mod lock;
mod output;
mod progress;
mod schedule;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// VaultIQ: answers from your IT knowledge, with cited sources.
#[derive(Debug, Parser)]
#[command(name = "vaultiq", version, about, after_help = exit::HELP)]
struct Cli {
    /// Data directory (store, lake, state); overrides `data_dir` of the config.
    #[arg(long, global = true, env = "VAULTIQ_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Config file (default: ./vaultiq.toml when it exists).
    #[arg(long, global = true, env = "VAULTIQ_CONFIG")]
    config: Option<PathBuf>,

    /// No progress output.
    #[arg(long, short, global = true)]
    quiet: bool,

    /// Machine-readable JSON on stdout (the HTTP contract's shapes where one exists).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write a commented example vaultiq.toml.
    Init {
        /// Where to write it.
        #[arg(default_value = "vaultiq.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
        /// Instead, create the DynamoDB state table the config at PATH (or
        /// --config) names (`[state] kind = "dynamodb"`); needs the `aws` feature.
        #[arg(long)]
        create_table: bool,
    },
    /// Index a directory of .md, .txt, .html and .json files (incremental on re-run).
    Ingest {
        /// The directory.
        path: PathBuf,
        /// Source name, part of every document id (default: the directory's name).
        #[arg(long)]
        name: Option<String>,
        /// Delete vanished files even beyond the safety limit.
        #[arg(long)]
        force_delete: bool,
        /// Files per batch; the checkpoint is committed after each batch.
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
    },
    /// Sync every configured source, or one; once, or every INTERVAL.
    Sync {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Delete vanished documents even beyond the safety limit.
        #[arg(long)]
        force_delete: bool,
        /// Repeat every INTERVAL (90s, 15m, 2h, 1d; `--every` alone: 15m, the
        /// seed's schedule) until Ctrl-C or SIGTERM.
        #[arg(long, value_name = "INTERVAL", num_args = 0..=1,
              default_missing_value = schedule::DEFAULT_EVERY,
              value_parser = schedule::parse_interval)]
        every: Option<std::time::Duration>,
    },
    /// Re-chunk and re-embed everything from the raw lake (no source is called).
    Reindex {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Answer a question with cited sources.
    Ask {
        /// The question.
        question: String,
        #[command(flatten)]
        search: commands::SearchArgs,
    },
    /// Show the passages that match a question.
    Search {
        /// The question.
        question: String,
        #[command(flatten)]
        search: commands::SearchArgs,
        /// Retrievers: hybrid, keyword or vector.
        #[arg(long, default_value = "hybrid")]
        mode: String,
    },
    /// Count indexed documents per source type (`--json`: the `GET /api/sources` body).
    Sources,
    /// Last sync of each source: when, the result, and its document count.
    Status,
    /// Serve the HTTP API (JSON request logs on stderr; Ctrl-C or SIGTERM stops it).
    Serve {
        /// Listen address, HOST:PORT (default: `[server] addr`, else 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version print and succeed; usage errors exit 2.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(exit::USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A server logs every request, as JSON for log pipelines.
    let serving = matches!(cli.command, Command::Serve { .. });
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if serving { "info" } else { "warn" })
    });
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    if serving {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => exit::report(&err),
    }
}
