//! The `vaultiq` command line: ingest files, sync sources, ask and search.
//!
//! Run with: `cargo run --release --bin vaultiq -- --help`

mod commands;
mod output;
mod progress;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// VaultIQ: answers from your IT knowledge, with cited sources.
#[derive(Debug, Parser)]
#[command(name = "vaultiq", version, about)]
struct Cli {
    /// Data directory (store, lake, state); overrides `data_dir` of the config.
    #[arg(long, global = true, env = "VAULTIQ_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Config file (default: ./vaultiq.toml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,

    /// No progress output.
    #[arg(long, short, global = true)]
    quiet: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Sync every configured source, or one.
    Sync {
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
        /// Delete vanished documents even beyond the safety limit.
        #[arg(long)]
        force_delete: bool,
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
    /// Count indexed documents per source type.
    Sources {
        /// Print the `GET /api/sources` JSON.
        #[arg(long)]
        json: bool,
    },
    /// Last sync of each source.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the HTTP API (JSON request logs on stderr; Ctrl-C or SIGTERM stops it).
    Serve {
        /// Listen address, HOST:PORT (default: `[server] addr`, else 127.0.0.1:8080).
        #[arg(long)]
        addr: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
