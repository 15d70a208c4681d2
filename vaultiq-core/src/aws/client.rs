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
