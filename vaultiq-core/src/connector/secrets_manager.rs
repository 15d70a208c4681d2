//! Connector credentials from AWS Secrets Manager (`credentials = { secret
//! = "vaultiq/confluence" }`): GetSecretValue, the `SecretString` parsed as
//! the seed's JSON shapes (see [`super::credentials`]), cached for a TTL so
//! a periodic sync or a warm Lambda does not fetch on every run, yet sees a
//! rotated secret within the TTL.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;

use super::credentials::{Secret, SecretProvider};
use crate::aws::{classify, AwsSettings, LazyClient};
use crate::{Error, Result};

/// How long a fetched secret is reused by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// Builds a [`SecretsManagerProvider`].
#[derive(Debug, Clone)]
pub struct SecretsManagerProviderBuilder {
    settings: AwsSettings,
    ttl: Duration,
}

impl SecretsManagerProviderBuilder {
    /// Region, profile and endpoint override of the client.
    pub fn settings(mut self, settings: AwsSettings) -> Self {
        self.settings = settings;
        self
    }

    /// How long a fetched secret is reused (default 5 minutes; zero fetches
    /// on every request).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The provider; no network I/O (the client is built on first use).
    pub fn build(self) -> SecretsManagerProvider {
        SecretsManagerProvider {
            client: LazyClient::new(self.settings, Client::new),
            ttl: self.ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }
}

/// [`SecretProvider`] on AWS Secrets Manager. Values are never logged and
/// never part of an error; `Debug` shows the settings only.
pub struct SecretsManagerProvider {
    client: LazyClient<Client>,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Secret)>>,
}

impl std::fmt::Debug for SecretsManagerProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsManagerProvider")
            .field("client", &self.client)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsManagerProvider {
    /// A builder with the standard credential chain and a 5-minute TTL.
    pub fn builder() -> SecretsManagerProviderBuilder {
        SecretsManagerProviderBuilder {
            settings: AwsSettings::default(),
            ttl: DEFAULT_TTL,
        }
    }

    fn cached(&self, name: &str) -> Option<Secret> {
        let cache = self.cache.lock().ok()?;
        let (fetched, secret) = cache.get(name)?;
        (fetched.elapsed() < self.ttl).then(|| secret.clone())
    }

    fn store(&self, name: &str, secret: &Secret) {
        // A poisoned cache only costs a refetch next time.
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(name.to_string(), (Instant::now(), secret.clone()));
        }
    }

    /// Drops the cached copy of `name` (e.g. after the source rejected it).
    pub fn invalidate(&self, name: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(name);
        }
    }

    async fn fetch(&self, name: &str) -> Result<Secret> {
        let origin = format!("AWS Secrets Manager secret `{name}`");
        let output = self
            .client
            .get()
            .await
            .get_secret_value()
            .secret_id(name)
            .send()
            .await
            .map_err(|e| {
                let not_found = e
                    .as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception());
                let failure = classify(&e);
                if not_found {
                    Error::Config(format!(
                        "{origin} does not exist (check `credentials.secret`, the region and the account)"
                    ))
                } else if failure.retryable {
                    Error::Store {
                        message: format!("{origin}: GetSecretValue failed: {failure}"),
                        retryable: true,
                    }
                } else {
                    // Access denied, KMS decryption failure, bad name:
                    // fixing them takes a change of permissions or config.
                    Error::Config(format!("{origin}: GetSecretValue failed: {failure}"))
                }
            })?;
        match output.secret_string() {
            Some(text) => Secret::from_json(text, &origin),
            None => Err(Error::Config(format!(
                "{origin} holds binary data; VaultIQ expects a JSON object of strings in SecretString"
            ))),
        }
    }
}

#[async_trait]
impl SecretProvider for SecretsManagerProvider {
    fn kind(&self) -> &str {
        "AWS Secrets Manager"
    }

    #[tracing::instrument(name = "secrets.get", skip_all, fields(secret = %name), err)]
    async fn secret(&self, name: &str) -> Result<Secret> {
        if let Some(secret) = self.cached(name) {
            return Ok(secret);
        }
        let secret = self.fetch(name).await?;
        self.store(name, &secret);
        Ok(secret)
    }
}
