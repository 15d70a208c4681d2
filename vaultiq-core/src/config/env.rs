//! Environment overrides of `vaultiq.toml`: `VAULTIQ_DATA_DIR` for the top
//! level key, `VAULTIQ_<SECTION>_<KEY>` (capitals) for the keys of the stage
//! and server sections, e.g. `VAULTIQ_SERVER_ADDR`,
//! `VAULTIQ_EMBEDDER_MODEL_DIR`, `VAULTIQ_SERVER_CORS_ORIGINS` (a
//! comma-separated list). An override wins over the file. Sources are not
//! overridable this way: their credentials already come from variables.

use std::path::PathBuf;

use toml::{Table, Value};

use crate::{Error, Result};

/// How an override's text becomes a TOML value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    /// A path; a relative one is taken relative to the working directory,
    /// as a path typed on a command line would be.
    Path,
    Count,
    Fraction,
    Flag,
    /// Comma-separated.
    List,
}

/// Every overridable key: (section, key, kind); section "" is the top level.
const KEYS: &[(&str, &str, Kind)] = &[
    ("", "data_dir", Kind::Path),
    ("embedder", "kind", Kind::Text),
    ("embedder", "model_dir", Kind::Path),
    ("embedder", "model_id", Kind::Text),
    ("embedder", "dimensions", Kind::Count),
    ("embedder", "max_tokens", Kind::Count),
    ("embedder", "batch_size", Kind::Count),
    ("embedder", "endpoint_url", Kind::Text),
    ("embedder", "normalize", Kind::Flag),
    ("embedder", "concurrency", Kind::Count),
    ("embedder", "max_attempts", Kind::Count),
    ("chunker", "chunk_size", Kind::Count),
    ("chunker", "chunk_overlap", Kind::Count),
    ("chunker", "length", Kind::Text),
    ("chunker", "markdown", Kind::Flag),
    ("store", "kind", Kind::Text),
    ("store", "url", Kind::Text),
    ("store", "index", Kind::Text),
    ("answerer", "kind", Kind::Text),
    ("answerer", "model_id", Kind::Text),
    ("answerer", "max_tokens", Kind::Count),
    ("answerer", "min_relevance", Kind::Fraction),
    ("answerer", "endpoint_url", Kind::Text),
    ("answerer", "temperature", Kind::Fraction),
    ("answerer", "system_prompt", Kind::Text),
    ("answerer", "max_attempts", Kind::Count),
    ("lake", "kind", Kind::Text),
    ("lake", "bucket", Kind::Text),
    ("lake", "prefix", Kind::Text),
    ("lake", "endpoint_url", Kind::Text),
    ("lake", "sse", Kind::Text),
    ("lake", "kms_key_id", Kind::Text),
    ("state", "kind", Kind::Text),
    ("state", "table", Kind::Text),
    ("state", "endpoint_url", Kind::Text),
    ("state", "namespace", Kind::Text),
    ("server", "addr", Kind::Text),
    ("server", "api_keys_env", Kind::Text),
    ("server", "cors_origins", Kind::List),
    ("server", "max_concurrency", Kind::Count),
    ("server", "max_queue", Kind::Count),
    ("server", "request_timeout_secs", Kind::Count),
    ("aws", "region", Kind::Text),
    ("aws", "profile", Kind::Text),
    ("aws", "endpoint_url", Kind::Text),
    ("secrets", "ttl_seconds", Kind::Count),
    ("secrets", "endpoint_url", Kind::Text),
];

/// The variable that overrides `section.key`.
pub fn variable_name(section: &str, key: &str) -> String {
    if section.is_empty() {
        format!("VAULTIQ_{}", key.to_uppercase())
    } else {
        format!("VAULTIQ_{}_{}", section.to_uppercase(), key.to_uppercase())
    }
}

/// Names of every override variable, for documentation and `--help`.
pub fn variable_names() -> Vec<String> {
    KEYS.iter()
        .map(|(section, key, _)| variable_name(section, key))
        .collect()
}

/// Writes the overrides `lookup` finds into the parsed file; returns the
/// `(variable, dotted key)` pairs applied, so later errors can name them.
pub(super) fn apply(
    table: &mut Table,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>> {
    let mut applied = Vec::new();
    for (section, key, kind) in KEYS {
        let variable = variable_name(section, key);
        let Some(text) = lookup(&variable) else {
            continue;
        };
        let dotted = if section.is_empty() {
            key.to_string()
        } else {
            format!("{section}.{key}")
        };
        let value = convert(&text, *kind).map_err(|expected| {
            Error::Config(format!(
                "environment variable {variable} (overrides `{dotted}`) must be {expected}, got `{text}`"
            ))
        })?;
        let target = if section.is_empty() {
            &mut *table
        } else {
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| Value::Table(Table::new()));
            match entry {
                Value::Table(inner) => inner,
                _ => {
                    return Err(Error::Config(format!(
                        "environment variable {variable} overrides `{dotted}`, but `{section}` in the file is not a table"
                    )))
                }
            }
        };
        target.insert(key.to_string(), value);
        applied.push((variable, dotted));
    }
    Ok(applied)
}

fn convert(text: &str, kind: Kind) -> std::result::Result<Value, &'static str> {
    let trimmed = text.trim();
    Ok(match kind {
        Kind::Text => {
            if trimmed.is_empty() {
                return Err("a non-empty value");
            }
            Value::String(trimmed.to_string())
        }
        Kind::Path => {
            if trimmed.is_empty() {
                return Err("a non-empty path");
            }
            let path = PathBuf::from(trimmed);
            let path = if path.is_relative() {
                std::env::current_dir()
                    .map(|cwd| cwd.join(&path))
                    .unwrap_or(path)
            } else {
                path
            };
            Value::String(path.to_string_lossy().into_owned())
        }
        Kind::Count => Value::Integer(
            trimmed
                .parse::<u32>()
                .map(i64::from)
                .map_err(|_| "a whole number")?,
        ),
        Kind::Fraction => Value::Float(trimmed.parse::<f64>().map_err(|_| "a number")?),
        Kind::Flag => Value::Boolean(match trimmed {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err("true or false"),
        }),
        Kind::List => Value::Array(
            trimmed
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
    })
}
