//! The configuration of a Lambda function. A function has no command line,
//! so it comes from the environment:
//!
//! - `VAULTIQ_CONFIG`: path of a `vaultiq.toml` packaged with the function, or
//! - `VAULTIQ_CONFIG_TOML`: the text of one (handy for infrastructure code,
//!   which sets environment variables more easily than it ships files);
//! - on top of either (or of the defaults), the `VAULTIQ_<SECTION>_<KEY>`
//!   overrides of `vaultiq_core::config::env`, e.g. `VAULTIQ_LAKE_KIND=s3`.
//!
//! Inside Lambda only `/tmp` is writable, so a relative data directory (the
//! default `.vaultiq` included) is placed under the temporary directory.

use std::path::{Path, PathBuf};

use vaultiq_core::config::Config;
use vaultiq_core::{Error, Result};

/// Variable naming the config file.
pub const CONFIG_PATH_VAR: &str = "VAULTIQ_CONFIG";
/// Variable holding the config text.
pub const CONFIG_TEXT_VAR: &str = "VAULTIQ_CONFIG_TOML";
/// Set by the Lambda service in every function's environment.
const LAMBDA_MARKER_VAR: &str = "AWS_LAMBDA_FUNCTION_NAME";

/// Reads the configuration from the process environment.
pub fn from_env() -> Result<Config> {
    load(&|name| std::env::var(name).ok())
}

/// Reads the configuration through `lookup` (tests pass a fixed map).
pub fn load(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let path = lookup(CONFIG_PATH_VAR).filter(|p| !p.is_empty());
    let text = lookup(CONFIG_TEXT_VAR).filter(|t| !t.trim().is_empty());
    let mut config = match (path, text) {
        (Some(_), Some(_)) => {
            return Err(Error::Config(format!(
                "both {CONFIG_PATH_VAR} and {CONFIG_TEXT_VAR} are set; set only one"
            )))
        }
        (Some(path), None) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                Error::io(
                    &format!("cannot read the config file that {CONFIG_PATH_VAR} names,"),
                    &path,
                    e,
                )
            })?;
            let mut config = Config::parse_with_env(&text, &path.display().to_string(), lookup)?;
            config.origin = Some(path);
            config
        }
        (None, Some(text)) => Config::parse_with_env(&text, CONFIG_TEXT_VAR, lookup)?,
        (None, None) => Config::parse_with_env("", "the environment", lookup)?,
    };
    if lookup(LAMBDA_MARKER_VAR).is_some() {
        config.data_dir = writable_data_dir(&config.data_dir, &std::env::temp_dir());
    }
    Ok(config)
}

/// A relative data directory moved under `tmp` (the function's package
/// directory is read-only); an absolute one is kept as configured.
pub fn writable_data_dir(data_dir: &Path, tmp: &Path) -> PathBuf {
    if data_dir.is_absolute() {
        data_dir.to_path_buf()
    } else {
        tmp.join(data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_with(vars: &[(&str, &str)]) -> Result<Config> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(&|name| vars.get(name).cloned())
    }

    #[test]
    fn inline_text_and_overrides_apply() -> Result<()> {
        let config = load_with(&[
            (CONFIG_TEXT_VAR, "[answerer]\nmin_relevance = 0.5\n"),
            ("VAULTIQ_STORE_INDEX", "vaultiq-vectors"),
        ])?;
        assert_eq!(config.answerer.min_relevance, Some(0.5));
        assert_eq!(config.store.index.as_deref(), Some("vaultiq-vectors"));
        Ok(())
    }

    #[test]
    fn data_dir_moves_under_tmp_only_inside_lambda() -> Result<()> {
        let outside = load_with(&[])?;
        assert_eq!(outside.data_dir, PathBuf::from(".vaultiq"));
        let inside = load_with(&[(LAMBDA_MARKER_VAR, "vaultiq-api")])?;
        assert_eq!(inside.data_dir, std::env::temp_dir().join(".vaultiq"));
        let absolute = load_with(&[
            (LAMBDA_MARKER_VAR, "vaultiq-api"),
            ("VAULTIQ_DATA_DIR", "/mnt/efs/kb"),
        ])?;
        assert_eq!(absolute.data_dir, PathBuf::from("/mnt/efs/kb"));
        Ok(())
    }

    #[test]
    fn bad_setups_are_clear_errors() {
        let both = load_with(&[(CONFIG_PATH_VAR, "a.toml"), (CONFIG_TEXT_VAR, "x = 1")]);
        assert!(both.is_err_and(|e| e.to_string().contains("set only one")));
        let missing = load_with(&[(CONFIG_PATH_VAR, "/nonexistent/vaultiq.toml")]);
        assert!(missing.is_err_and(|e| e.to_string().contains(CONFIG_PATH_VAR)));
        let bad = load_with(&[("VAULTIQ_LAKE_KIND", "ftp")]);
        assert!(bad.is_err_and(|e| e.to_string().contains("VAULTIQ_LAKE_KIND")));
    }
}
