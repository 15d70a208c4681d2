//! `vaultiq init`: writes a commented example `vaultiq.toml` that works as
//! is (embedded everything, no sources yet) and shows every section.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::exit::usage;

/// The example. Lines starting with `## ` explain; lines starting with `# `
/// are settings to uncomment. With every `# ` setting uncommented it is
/// still a valid config (a test checks both).
pub const EXAMPLE: &str = r#"## VaultIQ configuration. Every key is optional; the values shown are the
## defaults. Any key can be overridden from the environment with
## VAULTIQ_<SECTION>_<KEY> (e.g. VAULTIQ_SERVER_ADDR, VAULTIQ_DATA_DIR).
## Relative paths resolve against this file's folder.

## Embedded store, raw lake and sync state live here.
data_dir = ".vaultiq"

[embedder]
## "local" (a BERT-style model on this machine) or "bedrock".
kind = "local"
## Folder with config.json, tokenizer.json and model.safetensors
## (default: what scripts/fetch-model downloaded).
# model_dir = "models/bge-small-en-v1.5"
# max_tokens = 512
# batch_size = 32

[chunker]
## Characters (or tokens, with length = "tokens") per chunk and overlap.
chunk_size = 800
chunk_overlap = 160
length = "chars"
markdown = true

[store]
## "embedded" (SQLite in data_dir), "opensearch" or "pgvector".
kind = "embedded"

[answerer]
## "extractive" (quotes the best passages, no model) or "bedrock".
kind = "extractive"
## Below this relevance (0..1) the answer says there is no good evidence.
# min_relevance = 0.35

[lake]
## "fs" (data_dir/lake) or "s3" (bucket, prefix).
kind = "fs"

[state]
## "sqlite" (data_dir) or "dynamodb" (table).
kind = "sqlite"

[server]
## `vaultiq serve` listens here.
addr = "127.0.0.1:8080"
## Requests served at once; more wait in a queue of max_queue, the rest get 503.
max_concurrency = 64
max_queue = 256
## Seconds a request may take before it gets 504.
request_timeout_secs = 30
## Bearer API keys (comma-separated) are read from this environment variable.
# api_keys_env = "VAULTIQ_API_KEYS"
## Browser origins allowed to call the API.
# cors_origins = ["https://intranet.example.com"]

## Sources to sync with `vaultiq sync`. Names are unique and part of every
## document id. Credentials come from environment variables (or a secret).

## A folder of markdown, text, HTML and JSON files.
# [[sources]]
# type = "files"
# name = "runbooks"
# path = "docs/runbooks"
# include = ["**/*.md", "**/*.html"]

## Confluence Cloud: the account e-mail and an API token.
# [[sources]]
# type = "confluence"
# name = "eng-wiki"
# base_url = "https://acme.atlassian.net"
# spaces = ["OPS"]
# credentials = { username_env = "CONFLUENCE_USER", token_env = "CONFLUENCE_TOKEN" }

## Slack: a bot token; channels the bot is in (default: all of them).
# [[sources]]
# type = "slack"
# name = "slack"
# channels = ["incidents"]
# lookback_days = 90
# credentials = { token_env = "SLACK_BOT_TOKEN" }

## Jira Cloud: a project list or a JQL query.
# [[sources]]
# type = "jira"
# name = "jira"
# base_url = "https://acme.atlassian.net"
# projects = ["OPS"]
# credentials = { username_env = "JIRA_USER", token_env = "JIRA_TOKEN" }

## GitHub: issues, pull requests and docs of some repositories.
# [[sources]]
# type = "github"
# name = "github"
# repos = ["acme/platform"]
# include = ["issues", "pulls", "docs"]
# credentials = { token_env = "GITHUB_TOKEN" }
"#;

/// Writes [`EXAMPLE`] to `path`; an existing file is kept unless `force`.
pub fn write_example(path: &Path, force: bool) -> anyhow::Result<()> {
    if path.exists() && !force {
        usage!(
            "{} already exists; use --force to overwrite it",
            path.display()
        );
    }
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(EXAMPLE.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// `vaultiq init --create-table`: creates the DynamoDB state table that
/// `config` names; true when it was created now.
pub async fn create_state_table(config: &vaultiq_core::config::Config) -> anyhow::Result<bool> {
    if config.state.kind != "dynamodb" {
        usage!(
            "--create-table creates the `[state] kind = \"dynamodb\"` table, but this config has `kind = \"{}\"`",
            config.state.kind
        );
    }
    #[cfg(feature = "aws")]
    {
        Ok(config.create_state_table().await?)
    }
    #[cfg(not(feature = "aws"))]
    {
        usage!("this vaultiq was built without AWS support; rebuild with `--features aws`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vaultiq_core::config::Config;

    #[test]
    fn the_example_is_a_valid_config() {
        let config = Config::parse(EXAMPLE, "vaultiq.toml").unwrap_or_else(|e| panic!("{e}"));
        assert!(config.sources.is_empty());
        assert_eq!(config.server.addr, "127.0.0.1:8080");
    }

    #[test]
    fn the_example_with_everything_uncommented_is_valid() {
        let uncommented: String = EXAMPLE
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(setting) if !line.starts_with("## ") => setting,
                _ => line,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let config = Config::parse(&uncommented, "vaultiq.toml").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = config.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["runbooks", "eng-wiki", "slack", "jira", "github"]);
        assert_eq!(
            config.server.api_keys_env.as_deref(),
            Some("VAULTIQ_API_KEYS")
        );
    }
}
