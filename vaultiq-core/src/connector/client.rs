//! The settings every remote connector shares — credentials, retry bounds,
//! cancellation — and the one place that turns them into an [`HttpClient`].
//! Connector builders hold a [`ClientSettings`] and get the setters from
//! [`ClientSettingsBuilder`], so each builder keeps only what is its own.

use tokio_util::sync::CancellationToken;

use super::http::{Auth, HttpClient, RetryPolicy};
use crate::Result;

/// Credentials, retry bounds and cancellation of one source instance.
#[derive(Debug, Clone, Default)]
pub struct ClientSettings {
    auth: Auth,
    policy: RetryPolicy,
    cancel: CancellationToken,
}

impl ClientSettings {
    /// No credentials, default retries, never cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// The authentication requests carry.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Retry and wait bounds.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Aborts requests and rate-limit waits once `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The client of source `source_name` at `base_url`; `auth_hint` says
    /// which settings an access-denied error should send the operator to.
    pub(crate) fn client(
        self,
        source_name: &str,
        base_url: &str,
        auth_hint: String,
    ) -> Result<HttpClient> {
        Ok(
            HttpClient::with_policy(source_name, base_url, self.auth, self.policy)?
                .cancel_on(self.cancel)
                .auth_hint(auth_hint),
        )
    }
}

/// The shared setters of every remote connector builder. A builder only
/// says where its [`ClientSettings`] live.
pub trait ClientSettingsBuilder: Sized {
    /// The builder's shared settings.
    fn client_settings(&mut self) -> &mut ClientSettings;

    /// Replaces all shared settings at once.
    fn client(mut self, settings: ClientSettings) -> Self {
        *self.client_settings() = settings;
        self
    }

    /// Any authentication (e.g. one resolved from a credential source).
    fn auth(mut self, auth: Auth) -> Self {
        let settings = self.client_settings();
        settings.auth = auth;
        self
    }

    /// `Authorization: Basic` with an account e-mail / user and API token
    /// (Atlassian Cloud).
    fn basic_auth(self, username: impl Into<String>, token: impl Into<String>) -> Self {
        self.auth(Auth::Basic {
            username: username.into(),
            token: token.into(),
        })
    }

    /// `Authorization: Bearer` (Slack bot token, GitHub token, Atlassian
    /// Data Center personal access token).
    fn bearer_token(self, token: impl Into<String>) -> Self {
        self.auth(Auth::Bearer(token.into()))
    }

    /// Retry and wait bounds of the HTTP client.
    fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.client_settings().policy = policy;
        self
    }

    /// Aborts requests and rate-limit waits (with [`crate::Error::Cancelled`])
    /// once `token` is cancelled.
    fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.client_settings().cancel = token;
        self
    }
}
