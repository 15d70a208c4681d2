//! Where connector credentials come from: environment variables, a JSON
//! file, or a named secret of a pluggable [`SecretProvider`] (AWS Secrets
//! Manager behind the `aws-secrets` feature implements it).
//!
//! Secrets hold the JSON shapes of the original deployment
//! (`{url, username, api_key}` for Confluence, `{bot_token}` for Slack,
//! `{server, username, api_token}` for Jira, `{token}` for GitHub; Data
//! Center variants carry `token`). They become an [`Auth`] here, so
//! connectors never see where a secret was stored, and no secret value is
//! ever part of a `Debug` output or an error message.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use super::http::Auth;
use crate::{Error, Result, SourceType};

/// The fields of one secret (a flat JSON object of strings).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret {
    fields: BTreeMap<String, String>,
}

impl fmt::Debug for Secret {
    // Field names help debugging; values are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.fields.keys()).finish()
    }
}

impl Secret {
    /// A secret from field/value pairs.
    pub fn new<K: Into<String>, V: Into<String>>(fields: impl IntoIterator<Item = (K, V)>) -> Self {
        Secret {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Parses a secret string: a JSON object whose values are strings.
    /// `origin` names where it came from for errors (never its content).
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            Error::Config(format!(
                "{origin} is not a JSON object of strings (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let object = value
            .as_object()
            .ok_or_else(|| Error::Config(format!("{origin} is not a JSON object of strings")))?;
        let mut fields = BTreeMap::new();
        for (key, value) in object {
            if let Some(text) = value.as_str() {
                fields.insert(key.clone(), text.to_string());
            }
        }
        Ok(Secret { fields })
    }

    /// One field, if present and not blank.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// The authentication this secret gives a source of `source_type`;
    /// `origin` names the secret in errors.
    pub fn auth_for(&self, source_type: SourceType, origin: &str) -> Result<Auth> {
        let first = |names: &[&str]| names.iter().find_map(|n| self.get(n)).map(String::from);
        let missing = |expected: &str| {
            Error::Config(format!(
                "{origin} has no {expected} (fields present: {})",
                if self.fields.is_empty() {
                    "none".to_string()
                } else {
                    self.fields.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ))
        };
        match source_type {
            SourceType::Confluence | SourceType::Jira => {
                let token = first(&["api_key", "api_token"]);
                match (first(&["username", "email"]), token) {
                    (Some(username), Some(token)) => Ok(Auth::Basic { username, token }),
                    // Data Center: a personal access token alone.
                    _ => first(&["token"])
                        .map(Auth::Bearer)
                        .ok_or_else(|| missing("`username` + `api_key`/`api_token`, or `token`")),
                }
            }
            SourceType::Slack => first(&["bot_token", "token"])
                .map(Auth::Bearer)
                .ok_or_else(|| missing("`bot_token`")),
            _ => first(&["token"])
                .map(Auth::Bearer)
                .ok_or_else(|| missing("`token`")),
        }
    }
}

/// A store of named secrets (AWS Secrets Manager, Vault, a test double).
#[async_trait]
pub trait SecretProvider: Send + Sync + fmt::Debug {
    /// What the provider is, for messages (`"AWS Secrets Manager"`).
    fn kind(&self) -> &str;

    /// The secret called `name`. A missing secret is a permanent error;
    /// an unreachable store a retryable one.
    async fn secret(&self, name: &str) -> Result<Secret>;
}

/// Reads a secret from a JSON file (`credentials = { file = "..." }`),
/// the same shape a secret store would hold.
pub fn secret_from_file(path: &Path) -> Result<Secret> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::io("read credentials file", path, e))?;
    Secret::from_json(&text, &format!("credentials file {}", path.display()))
}

/// Where a configured source's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Environment variables: an optional user name and a token.
    Env {
        /// Variable holding the user name / e-mail (basic auth).
        username_env: Option<String>,
        /// Variable holding the token.
        token_env: String,
    },
    /// A JSON file holding the secret.
    File(PathBuf),
    /// A named secret of the [`SecretProvider`] of this build.
    Named(String),
}

/// A secret fetched from a [`SecretProvider`] on first use (the provider is
/// asynchronous, configuration is not), then kept for the connector's life.
pub struct DeferredAuth {
    provider: Arc<dyn SecretProvider>,
    name: String,
    source_type: SourceType,
    resolved: tokio::sync::OnceCell<Auth>,
}

impl fmt::Debug for DeferredAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} secret `{}`", self.provider.kind(), self.name)
    }
}

impl DeferredAuth {
    pub(crate) fn new(
        provider: Arc<dyn SecretProvider>,
        name: &str,
        source_type: SourceType,
    ) -> Self {
        DeferredAuth {
            provider,
            name: name.to_string(),
            source_type,
            resolved: tokio::sync::OnceCell::new(),
        }
    }

    /// The authentication, fetching the secret the first time.
    pub(crate) async fn auth(&self) -> Result<&Auth> {
        self.resolved
            .get_or_try_init(|| async {
                let secret = self.provider.secret(&self.name).await?;
                let origin = format!("{} secret `{}`", self.provider.kind(), self.name);
                secret.auth_for(self.source_type, &origin)
            })
            .await
    }
}

/// Resolves a [`CredentialSource`] into an [`Auth`]; `secrets` is the
/// provider of named secrets in this build, if any.
pub fn resolve(
    source: &CredentialSource,
    source_type: SourceType,
    secrets: Option<&Arc<dyn SecretProvider>>,
) -> Result<Auth> {
    match source {
        CredentialSource::Env {
            username_env,
            token_env,
        } => {
            let read = |name: &str| {
                std::env::var(name).map_err(|_| {
                    Error::Config(format!("the environment variable `{name}` is not set"))
                })
            };
            let token = read(token_env)?;
            match username_env {
                Some(var) => Ok(Auth::Basic {
                    username: read(var)?,
                    token,
                }),
                None => Ok(Auth::Bearer(token)),
            }
        }
        CredentialSource::File(path) => secret_from_file(path)?
            .auth_for(source_type, &format!("credentials file {}", path.display())),
        CredentialSource::Named(name) => match secrets {
            Some(provider) => Ok(Auth::Deferred(Arc::new(DeferredAuth::new(
                provider.clone(),
                name,
                source_type,
            )))),
            None => Err(Error::Config(format!(
                "secret `{name}` needs a secret store (AWS Secrets Manager, the `aws-secrets` feature), which is not available in this build; use `token_env` or `file`"
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(Secret);

    #[async_trait]
    impl SecretProvider for Fixed {
        fn kind(&self) -> &str {
            "test store"
        }
        async fn secret(&self, name: &str) -> Result<Secret> {
            if name == "vaultiq/jira" {
                Ok(self.0.clone())
            } else {
                Err(Error::Config(format!("no secret `{name}`")))
            }
        }
    }

    #[test]
    fn seed_shapes_map_to_auth() -> Result<()> {
        let confluence = Secret::new([("url", "https://x"), ("username", "a@b"), ("api_key", "k")]);
        assert!(matches!(
            confluence.auth_for(SourceType::Confluence, "s")?,
            Auth::Basic { ref username, ref token } if username == "a@b" && token == "k"
        ));
        let dc = Secret::new([("token", "pat")]);
        assert!(matches!(dc.auth_for(SourceType::Jira, "s")?, Auth::Bearer(ref t) if t == "pat"));
        let slack = Secret::new([("bot_token", "xoxb-1")]);
        assert!(
            matches!(slack.auth_for(SourceType::Slack, "s")?, Auth::Bearer(ref t) if t == "xoxb-1")
        );
        let err = Secret::new([("username", "a@b")])
            .auth_for(SourceType::Jira, "secret `x`")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("secret `x` has no") && err.contains("username"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn debug_and_errors_never_show_values() {
        let secret = Secret::new([("token", "ghp_very_secret")]);
        assert!(!format!("{secret:?}").contains("ghp_very_secret"));
        let err = Secret::from_json("{\"token\": \"ghp_very_secret\"", "file f")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("file f") && !err.contains("ghp_very"), "{err}");
    }

    #[test]
    fn named_secret_without_a_store_is_a_clear_error() {
        let err = resolve(
            &CredentialSource::Named("vaultiq/github".into()),
            SourceType::Github,
            None,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("vaultiq/github") && err.contains("not available in this build"));
    }

    #[tokio::test]
    async fn named_secret_is_fetched_from_the_provider_once() -> Result<()> {
        let provider: Arc<dyn SecretProvider> =
            Arc::new(Fixed(Secret::new([("username", "u"), ("api_token", "t")])));
        let auth = resolve(
            &CredentialSource::Named("vaultiq/jira".into()),
            SourceType::Jira,
            Some(&provider),
        )?;
        let Auth::Deferred(deferred) = auth else {
            unreachable!("a named secret is deferred")
        };
        assert!(matches!(deferred.auth().await?, Auth::Basic { .. }));
        let missing = DeferredAuth::new(provider, "vaultiq/other", SourceType::Jira);
        assert!(missing.auth().await.is_err());
        Ok(())
    }
}
