//! `[[sources]]` entries of the remote connectors: which keys each type
//! takes, their checks, and the connector they build. Every error names the
//! key (`sources[2].repos`) and what was expected. Secrets never sit in the
//! file itself: it names environment variables, a JSON credentials file or
//! a secret of the secret store (see [`super::credentials`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::client::ClientSettingsBuilder;
use super::confluence::{ConfluenceConnector, Deployment};
use super::credentials::{resolve, CredentialSource, SecretProvider};
use super::github::{GithubConnector, GithubInclude, DEFAULT_BASE_URL as GITHUB_API};
use super::http::Auth;
use super::jira::JiraConnector;
use super::slack::{SlackConnector, DEFAULT_BASE_URL as SLACK_API};
use super::Connector;
use crate::config::SourceConfig;
use crate::{Error, Result, SourceType};

/// Keys each remote source type accepts (besides `type` and `name`).
fn allowed_keys(source_type: SourceType) -> &'static [&'static str] {
    match source_type {
        SourceType::Github => &["base_url", "repos", "include", "docs_paths", "credentials"],
        SourceType::Slack => &["base_url", "channels", "lookback_days", "credentials"],
        SourceType::Jira => &["base_url", "projects", "jql", "deployment", "credentials"],
        SourceType::Confluence => &[
            "base_url",
            "spaces",
            "include_blogposts",
            "deployment",
            "credentials",
        ],
        _ => &[],
    }
}

/// Checks a remote source entry; `key` is its `sources[i]` prefix.
pub(crate) fn validate(origin: &str, key: &str, source: &SourceConfig) -> Result<()> {
    let allowed = allowed_keys(source.source_type);
    for extra in source.settings.keys() {
        if !allowed.contains(&extra.as_str()) {
            return Err(Error::Config(format!(
                "{origin}: `{key}.{extra}` is not a setting of a {} source (expected {})",
                source.source_type,
                allowed.join(", ")
            )));
        }
    }
    let entry = Entry {
        origin,
        key,
        source,
    };
    match source.source_type {
        SourceType::Github => {
            let repos = entry.strings("repos")?.unwrap_or_default();
            if repos.is_empty() {
                return Err(entry.error("repos", "a non-empty list of `owner/name`"));
            }
            if let Some(include) = entry.strings("include")? {
                GithubInclude::parse(&include)
                    .map_err(|_| entry.error("include", "a list of issues, pulls, docs"))?;
            }
            entry.strings("docs_paths")?;
            entry.url("base_url")?;
            entry.credential_source()?;
            Ok(())
        }
        SourceType::Confluence => {
            if entry.url("base_url")?.is_none() {
                return Err(entry.error(
                    "base_url",
                    "set to the site URL, e.g. https://acme.atlassian.net",
                ));
            }
            entry.strings("spaces")?;
            entry.bool("include_blogposts")?;
            let deployment = entry.deployment()?;
            entry.credential_source()?;
            if deployment == Deployment::Cloud
                && entry.has_env_credentials()
                && !entry.has_username()
            {
                return Err(entry.error(
                    "credentials.username_env",
                    "set for Confluence Cloud (basic auth needs the account e-mail)",
                ));
            }
            Ok(())
        }
        SourceType::Slack => {
            entry.url("base_url")?;
            entry.strings("channels")?;
            entry.lookback_days()?;
            entry.credential_source()?;
            Ok(())
        }
        SourceType::Jira => {
            if entry.url("base_url")?.is_none() {
                return Err(entry.error(
                    "base_url",
                    "set to the site URL, e.g. https://acme.atlassian.net",
                ));
            }
            let projects = entry.strings("projects")?.unwrap_or_default();
            let jql = entry.string("jql")?;
            if projects.is_empty() && jql.is_none() {
                return Err(entry.error(
                    "projects",
                    "a non-empty list of project keys (or set `jql`)",
                ));
            }
            let deployment = entry.deployment()?;
            entry.credential_source()?;
            if deployment == Deployment::Cloud
                && entry.has_env_credentials()
                && !entry.has_username()
            {
                return Err(entry.error(
                    "credentials.username_env",
                    "set for Jira Cloud (basic auth needs the account e-mail)",
                ));
            }
            Ok(())
        }
        other => Err(Error::Config(format!(
            "{origin}: `{key}.type = \"{other}\"` is not available in this build of VaultIQ yet"
        ))),
    }
}

/// The store of named secrets (`credentials = { secret = "..." }`) this
/// build offers by default: AWS Secrets Manager on the standard credential
/// chain with the `aws-secrets` feature, none otherwise. A config's
/// `[aws]`/`[secrets]` sections refine it (`config::components`), which
/// then builds its own.
#[cfg_attr(feature = "aws-secrets", allow(dead_code))]
pub(crate) fn default_secret_provider() -> Option<Arc<dyn SecretProvider>> {
    #[cfg(feature = "aws-secrets")]
    {
        Some(Arc::new(
            super::secrets_manager::SecretsManagerProvider::builder().build(),
        ))
    }
    #[cfg(not(feature = "aws-secrets"))]
    {
        None
    }
}

/// Builds the connector of a validated remote source entry; `resolve_path`
/// turns a configured (relative) path into a usable one, `secrets` serves
/// named secrets.
pub(crate) fn build(
    source: &SourceConfig,
    resolve_path: &dyn Fn(&Path) -> PathBuf,
    secrets: Option<&Arc<dyn SecretProvider>>,
) -> Result<Arc<dyn Connector>> {
    let origin = "vaultiq.toml";
    let key = format!("source `{}`", source.name);
    let entry = Entry {
        origin,
        key: &key,
        source,
    };
    let auth = match entry.credential_source()? {
        None => Ok(Auth::None),
        Some(CredentialSource::File(path)) => resolve(
            &CredentialSource::File(resolve_path(&path)),
            source.source_type,
            secrets,
        ),
        Some(other) => resolve(&other, source.source_type, secrets),
    }
    .map_err(|e| match e {
        Error::Config(message) => {
            Error::Config(format!("{origin}: `{key}.credentials`: {message}"))
        }
        other => other,
    })?;
    match source.source_type {
        SourceType::Github => {
            let repos = entry.strings("repos")?.unwrap_or_default();
            let mut builder = GithubConnector::builder(&source.name, repos)
                .base_url(entry.url("base_url")?.unwrap_or_else(|| GITHUB_API.into()))
                .auth(auth);
            if let Some(include) = entry.strings("include")? {
                builder = builder.include(GithubInclude::parse(&include)?);
            }
            if let Some(globs) = entry.strings("docs_paths")? {
                builder = builder.docs_paths(globs);
            }
            Ok(Arc::new(builder.build()?))
        }
        SourceType::Confluence => {
            let base = entry.url("base_url")?.unwrap_or_default();
            let builder = ConfluenceConnector::builder(&source.name, &base)
                .spaces(entry.strings("spaces")?.unwrap_or_default())
                .include_blogposts(entry.bool("include_blogposts")?.unwrap_or(false))
                .deployment(entry.deployment()?)
                .auth(auth);
            Ok(Arc::new(builder.build()?))
        }
        SourceType::Slack => {
            let mut builder = SlackConnector::builder(&source.name)
                .base_url(entry.url("base_url")?.unwrap_or_else(|| SLACK_API.into()))
                .lookback(std::time::Duration::from_secs(
                    entry.lookback_days()? * 86_400,
                ))
                .auth(auth);
            if let Some(channels) = entry.strings("channels")? {
                builder = builder.channels(channels);
            }
            Ok(Arc::new(builder.build()?))
        }
        SourceType::Jira => {
            let base = entry.url("base_url")?.unwrap_or_default();
            let mut builder = JiraConnector::builder(&source.name, &base)
                .projects(entry.strings("projects")?.unwrap_or_default())
                .deployment(entry.deployment()?)
                .auth(auth);
            if let Some(jql) = entry.string("jql")? {
                builder = builder.jql(jql);
            }
            Ok(Arc::new(builder.build()?))
        }
        other => Err(Error::Config(format!(
            "source `{}`: type `{other}` has no remote connector",
            source.name
        ))),
    }
}

struct Entry<'a> {
    origin: &'a str,
    key: &'a str,
    source: &'a SourceConfig,
}

impl Entry<'_> {
    fn error(&self, field: &str, expected: &str) -> Error {
        Error::Config(format!(
            "{}: `{}.{field}` must be {expected}",
            self.origin, self.key
        ))
    }

    fn strings(&self, field: &str) -> Result<Option<Vec<String>>> {
        let Some(value) = self.source.settings.get(field) else {
            return Ok(None);
        };
        let items = value
            .as_array()
            .ok_or_else(|| self.error(field, "a list of strings"))?;
        items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(String::from)
                    .ok_or_else(|| self.error(field, "a list of strings"))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    fn string(&self, field: &str) -> Result<Option<String>> {
        match self.source.settings.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_str()
                .filter(|t| !t.trim().is_empty())
                .map(|t| Some(t.to_string()))
                .ok_or_else(|| self.error(field, "a non-empty string")),
        }
    }

    /// `lookback_days`: 1..=365, default 14.
    fn lookback_days(&self) -> Result<u64> {
        match self.source.settings.get("lookback_days") {
            None => Ok(14),
            Some(v) => v
                .as_integer()
                .filter(|d| (1..=365).contains(d))
                .map(|d| d as u64)
                .ok_or_else(|| self.error("lookback_days", "a whole number of days, 1 to 365")),
        }
    }

    fn bool(&self, field: &str) -> Result<Option<bool>> {
        match self.source.settings.get(field) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.error(field, "true or false")),
        }
    }

    /// `deployment`: `cloud` (default) or `datacenter`.
    fn deployment(&self) -> Result<Deployment> {
        match self.source.settings.get("deployment") {
            None => Ok(Deployment::Cloud),
            Some(v) => v
                .as_str()
                .and_then(|t| Deployment::parse(t).ok())
                .ok_or_else(|| self.error("deployment", "\"cloud\" or \"datacenter\"")),
        }
    }

    /// True when credentials come from environment variables (the only
    /// form whose shape, basic or bearer, the config itself decides).
    fn has_env_credentials(&self) -> bool {
        self.credentials_table()
            .is_some_and(|t| t.contains_key("token_env"))
    }

    fn has_username(&self) -> bool {
        self.credentials_table()
            .is_some_and(|t| t.contains_key("username_env"))
    }

    fn credentials_table(&self) -> Option<&toml::Table> {
        self.source
            .settings
            .get("credentials")
            .and_then(|c| c.as_table())
    }

    fn url(&self, field: &str) -> Result<Option<String>> {
        let Some(value) = self.source.settings.get(field) else {
            return Ok(None);
        };
        let text = value
            .as_str()
            .filter(|t| t.starts_with("http://") || t.starts_with("https://"))
            .ok_or_else(|| self.error(field, "an http(s) URL"))?;
        Ok(Some(text.trim_end_matches('/').to_string()))
    }

    /// `credentials`: `{ username_env?, token_env }`, `{ file }` or
    /// `{ secret }` — exactly one form.
    fn credential_source(&self) -> Result<Option<CredentialSource>> {
        let Some(value) = self.source.settings.get("credentials") else {
            return Ok(None);
        };
        let field = "credentials";
        let table = value.as_table().ok_or_else(|| {
            self.error(
                field,
                "a table like { token_env = \"VAR\" }, { file = \"path\" } or { secret = \"name\" }",
            )
        })?;
        for k in table.keys() {
            if !["username_env", "token_env", "secret", "file"].contains(&k.as_str()) {
                return Err(self.error(
                    &format!("credentials.{k}"),
                    "absent: allowed keys are username_env, token_env, file, secret",
                ));
            }
        }
        let text = |name: &str, expected: &str| -> Result<Option<String>> {
            match table.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_str()
                    .filter(|t| !t.trim().is_empty())
                    .map(|t| Some(t.to_string()))
                    .ok_or_else(|| self.error(&format!("credentials.{name}"), expected)),
            }
        };
        let var = "an environment variable name";
        let token_env = text("token_env", var)?;
        let username_env = text("username_env", var)?;
        let file = text("file", "a path to a JSON file")?;
        let secret = text("secret", "a secret name, e.g. \"vaultiq/jira\"")?;
        let forms = [token_env.is_some(), file.is_some(), secret.is_some()];
        if forms.iter().filter(|f| **f).count() > 1 {
            return Err(self.error(
                field,
                "one of `token_env` (with `username_env`), `file` or `secret`, not several",
            ));
        }
        if let Some(path) = file {
            return Ok(Some(CredentialSource::File(PathBuf::from(path))));
        }
        if let Some(name) = secret {
            return Ok(Some(CredentialSource::Named(name)));
        }
        let token_env = token_env.ok_or_else(|| {
            self.error(
                "credentials.token_env",
                "set (the variable holding the token), or use `file` or `secret`",
            )
        })?;
        Ok(Some(CredentialSource::Env {
            username_env,
            token_env,
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Config;

    fn error_of(text: &str) -> String {
        match Config::parse(text, "vaultiq.toml") {
            Err(e) => e.to_string(),
            Ok(_) => String::from("no error"),
        }
    }

    const WIKI: &str = "[[sources]]\ntype = \"confluence\"\nname = \"wiki\"\n";

    #[test]
    fn confluence_entry_builds_and_errors_name_keys() -> crate::Result<()> {
        let config = Config::parse(
            &format!("{WIKI}base_url = \"https://acme.atlassian.net\"\nspaces = [\"OPS\"]\ninclude_blogposts = true\ndeployment = \"cloud\"\n"),
            "vaultiq.toml",
        )?;
        assert_eq!(
            config.connectors()?[0].source_type(),
            crate::SourceType::Confluence
        );
        assert!(error_of(WIKI).contains("sources[0].base_url"));
        let base = "base_url = \"https://x\"\n";
        assert!(error_of(&format!("{WIKI}{base}deployment = \"onprem\""))
            .contains("sources[0].deployment"));
        assert!(
            error_of(&format!("{WIKI}{base}include_blogposts = \"yes\""))
                .contains("sources[0].include_blogposts")
        );
        assert!(error_of(&format!("{WIKI}{base}spaces = \"OPS\"")).contains("sources[0].spaces"));
        assert!(error_of(&format!(
            "{WIKI}{base}credentials = {{ token_env = \"T\" }}"
        ))
        .contains("sources[0].credentials.username_env"));
        assert!(
            error_of(&format!(
                "{WIKI}{base}deployment = \"datacenter\"\ncredentials = {{ token_env = \"T\" }}"
            )) == "no error"
        );
        Ok(())
    }

    #[test]
    fn jira_entry_builds_and_errors_name_keys() -> crate::Result<()> {
        let jira = "[[sources]]\ntype = \"jira\"\nname = \"jira\"\n";
        let base = "base_url = \"https://acme.atlassian.net\"\n";
        let config = Config::parse(
            &format!("{jira}{base}projects = [\"OPS\"]\n"),
            "vaultiq.toml",
        )?;
        assert_eq!(
            config.connectors()?[0].source_type(),
            crate::SourceType::Jira
        );
        let config = Config::parse(
            &format!("{jira}{base}jql = \"project = OPS\"\n"),
            "vaultiq.toml",
        )?;
        assert_eq!(config.connectors()?.len(), 1);
        assert!(error_of(&format!("{jira}{base}")).contains("sources[0].projects"));
        assert!(error_of(&format!("{jira}projects = [\"OPS\"]")).contains("sources[0].base_url"));
        assert!(error_of(&format!("{jira}{base}jql = 3")).contains("sources[0].jql"));
        Ok(())
    }

    #[test]
    fn slack_entry_builds_and_errors_name_keys() -> crate::Result<()> {
        let slack = "[[sources]]\ntype = \"slack\"\nname = \"chat\"\n";
        let config = Config::parse(
            &format!("{slack}channels = [\"#ops\", \"C123\"]\nlookback_days = 30\n"),
            "vaultiq.toml",
        )?;
        assert_eq!(
            config.connectors()?[0].source_type(),
            crate::SourceType::Slack
        );
        assert!(error_of(&format!("{slack}lookback_days = 0")).contains("sources[0].lookback_days"));
        assert!(error_of(&format!("{slack}channels = \"ops\"")).contains("sources[0].channels"));
        assert!(error_of(&format!("{slack}projects = [\"X\"]")).contains("sources[0].projects"));
        Ok(())
    }

    const GH: &str = "[[sources]]\ntype = \"github\"\nname = \"gh\"\n";

    #[test]
    fn github_entry_builds_a_connector() -> crate::Result<()> {
        let config = Config::parse(
            &format!("{GH}repos = [\"acme/api\"]\ninclude = [\"issues\", \"docs\"]\ndocs_paths = [\"**/*.md\"]\nbase_url = \"https://ghe.example/api/v3\"\n"),
            "vaultiq.toml",
        )?;
        let connectors = config.connectors()?;
        assert_eq!(connectors[0].name(), "gh");
        assert_eq!(connectors[0].source_type(), crate::SourceType::Github);
        Ok(())
    }

    #[test]
    fn github_errors_name_the_key() {
        assert!(error_of(GH).contains("sources[0].repos"));
        assert!(error_of(&format!("{GH}repos = \"acme/api\"")).contains("sources[0].repos"));
        assert!(
            error_of(&format!("{GH}repos = [\"a/b\"]\ninclude = [\"wiki\"]"))
                .contains("sources[0].include")
        );
        assert!(error_of(&format!(
            "{GH}repos = [\"a/b\"]\nbase_url = \"api.github.com\""
        ))
        .contains("sources[0].base_url"));
        assert!(
            error_of(&format!("{GH}repos = [\"a/b\"]\nspaces = [\"X\"]"))
                .contains("sources[0].spaces")
        );
        assert!(error_of(&format!(
            "{GH}repos = [\"a/b\"]\ncredentials = {{ user = \"X\" }}"
        ))
        .contains("sources[0].credentials.user"));
        assert!(error_of(&format!(
            "{GH}repos = [\"a/b\"]\ncredentials = {{ username_env = \"X\" }}"
        ))
        .contains("sources[0].credentials.token_env"));
    }

    #[test]
    fn missing_token_variable_is_named() {
        let config = Config::parse(
            &format!("{GH}repos = [\"a/b\"]\ncredentials = {{ token_env = \"VAULTIQ_TEST_SURELY_UNSET_VAR\" }}"),
            "vaultiq.toml",
        );
        let err = config.and_then(|c| c.connectors().map(|_| ()));
        let text = err.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("VAULTIQ_TEST_SURELY_UNSET_VAR"), "{text}");
    }

    #[test]
    fn secret_credentials_need_a_secret_store() -> crate::Result<()> {
        let text =
            format!("{GH}repos = [\"a/b\"]\ncredentials = {{ secret = \"vaultiq/github\" }}");
        let config = Config::parse(&text, "vaultiq.toml")?;
        if cfg!(feature = "aws-secrets") {
            // Secrets Manager serves it, fetched on first use (no I/O here).
            assert_eq!(config.connectors()?.len(), 1);
        } else {
            let err = config
                .connectors()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("vaultiq/github") && err.contains("not available in this build"),
                "{err}"
            );
        }
        #[derive(Debug)]
        struct Store;
        #[async_trait::async_trait]
        impl crate::connector::SecretProvider for Store {
            fn kind(&self) -> &str {
                "test store"
            }
            async fn secret(&self, _name: &str) -> crate::Result<crate::connector::Secret> {
                Ok(crate::connector::Secret::new([("token", "ghp_x")]))
            }
        }
        let connectors = config.connectors_with_secrets(Some(std::sync::Arc::new(Store)))?;
        assert_eq!(connectors.len(), 1);
        Ok(())
    }

    #[test]
    fn credential_forms_are_exclusive_and_files_are_read() -> crate::Result<()> {
        assert!(error_of(&format!(
            "{GH}repos = [\"a/b\"]\ncredentials = {{ token_env = \"T\", file = \"s.json\" }}"
        ))
        .contains("not several"));
        let dir =
            tempfile::tempdir().map_err(|e| crate::Error::io("tempdir", Path::new("."), e))?;
        let path = dir.path().join("jira.json");
        std::fs::write(
            &path,
            r#"{"server": "https://x", "username": "a@b", "api_token": "t"}"#,
        )
        .map_err(|e| crate::Error::io("write", &path, e))?;
        let jira = format!(
            "[[sources]]\ntype = \"jira\"\nname = \"j\"\nbase_url = \"https://x\"\nprojects = [\"OPS\"]\ncredentials = {{ file = {:?} }}\n",
            path.display().to_string()
        );
        assert_eq!(Config::parse(&jira, "vaultiq.toml")?.connectors()?.len(), 1);
        let missing = jira.replace("jira.json", "absent.json");
        let err = Config::parse(&missing, "vaultiq.toml")?
            .connectors()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("absent.json"), "{err}");
        std::fs::write(&path, r#"{"username": "a@b"}"#)
            .map_err(|e| crate::Error::io("write", &path, e))?;
        let err = Config::parse(&jira, "vaultiq.toml")?
            .connectors()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("has no") && err.contains("api_token"), "{err}");
        Ok(())
    }
}
