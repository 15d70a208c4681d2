//! SDK configuration and lazily created clients.
//!
//! Clients are built on their first call, not when the knowledge base is
//! opened: opening stays synchronous and cheap (a Lambda cold start pays
//! only for the clients a request uses), and loading credentials, which may
//! call an instance or container endpoint, happens inside the runtime.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use tokio::sync::OnceCell;

use crate::config::AwsConfig;

/// Where and as whom the AWS clients connect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsSettings {
    /// Region; `None` takes the chain's (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// Named profile of the shared config files.
    pub profile: Option<String>,
    /// Endpoint override (VPC endpoint, local emulator).
    pub endpoint_url: Option<String>,
    /// Fixed credentials instead of the chain's (tests against emulators,
    /// which would otherwise need the process environment changed).
    pub credentials: Option<StaticCredentials>,
}

/// An access key pair given in code rather than found by the chain.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StaticCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    // The secret never reaches logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

impl AwsSettings {
    /// The `[aws]` section with a part's own endpoint override on top.
    pub fn from_config(aws: &AwsConfig, endpoint_url: Option<&str>) -> Self {
        AwsSettings {
            region: aws.region.clone(),
            profile: aws.profile.clone(),
            endpoint_url: endpoint_url
                .map(String::from)
                .or_else(|| aws.endpoint_url.clone()),
            credentials: None,
        }
    }

    /// Sets the endpoint override.
    pub fn with_endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// Sets the region.
    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Uses these credentials instead of the standard chain.
    pub fn with_credentials(mut self, credentials: StaticCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Loads the SDK configuration: credentials and region from the
    /// standard chain, then these overrides.
    pub(crate) async fn load(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(fixed) = &self.credentials {
            loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                fixed.access_key_id.clone(),
                fixed.secret_access_key.clone(),
                fixed.session_token.clone(),
                None,
                "vaultiq-static",
            ));
        }
        loader.load().await
    }
}

/// A client of one AWS service, created on first use and then shared.
pub(crate) struct LazyClient<C> {
    settings: AwsSettings,
    make: fn(&SdkConfig) -> C,
    client: OnceCell<C>,
}

impl<C> std::fmt::Debug for LazyClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyClient")
            .field("settings", &self.settings)
            .field("created", &self.client.initialized())
            .finish()
    }
}

impl<C> LazyClient<C> {
    /// A client that `make` builds from the loaded SDK configuration.
    pub(crate) fn new(settings: AwsSettings, make: fn(&SdkConfig) -> C) -> Self {
        LazyClient {
            settings,
            make,
            client: OnceCell::new(),
        }
    }

    /// The settings the client is (or will be) built with.
    #[allow(dead_code)]
    pub(crate) fn settings(&self) -> &AwsSettings {
        &self.settings
    }

    /// The client, building it on the first call.
    pub(crate) async fn get(&self) -> &C {
        self.client
            .get_or_init(|| async {
                let config = self.settings.load().await;
                (self.make)(&config)
            })
            .await
    }
}
