//! The one HTTP client every remote connector goes through.
//!
//! It owns what each source API demands alike: bounded, jittered retries on
//! 5xx and timeouts; 429 / `Retry-After` and GitHub's
//! `x-ratelimit-remaining` / `x-ratelimit-reset` honoured up to a maximum
//! wait; cancellation; 401/403 turned into a permanent [`Error::Source`]
//! that names the source and what to check; malformed JSON reported as a
//! permanent error. Credentials travel in headers marked sensitive and are
//! never logged (the [`Auth`] `Debug` output is redacted).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

pub use super::credentials::DeferredAuth;
use crate::{Error, Result};

/// How requests authenticate.
#[derive(Clone, Default)]
pub enum Auth {
    /// No credentials (public APIs, tests).
    #[default]
    None,
    /// `Authorization: Basic base64(username:token)` (Atlassian Cloud).
    Basic {
        /// Account e-mail or user name.
        username: String,
        /// API token or password.
        token: String,
    },
    /// `Authorization: Bearer token` (Slack, GitHub, Atlassian Data Center PAT).
    Bearer(String),
    /// A named secret of a [`super::credentials::SecretProvider`], fetched
    /// on the first request.
    Deferred(Arc<DeferredAuth>),
}

impl fmt::Debug for Auth {
    // Secrets must never reach logs, so Debug names the scheme only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("Auth::None"),
            Auth::Basic { username, .. } => write!(f, "Auth::Basic({username}, <redacted>)"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer(<redacted>)"),
            Auth::Deferred(deferred) => write!(f, "Auth::Deferred({deferred:?})"),
        }
    }
}

impl Auth {
    /// The `Authorization` header value, fetching a deferred secret first.
    async fn header(&self) -> Result<Option<HeaderValue>> {
        match self {
            Auth::Deferred(deferred) => Ok(deferred.auth().await?.plain_header()),
            plain => Ok(plain.plain_header()),
        }
    }

    fn plain_header(&self) -> Option<HeaderValue> {
        let text = match self {
            Auth::None | Auth::Deferred(_) => return None,
            Auth::Basic { username, token } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{token}"))
            ),
            Auth::Bearer(token) => format!("Bearer {token}"),
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

/// Retry and wait bounds.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included (default 5).
    pub max_attempts: u32,
    /// First backoff step; doubles per attempt, fully jittered (default 500 ms).
    pub base_delay: Duration,
    /// Largest single backoff step (default 30 s).
    pub max_delay: Duration,
    /// Longest the client waits on one rate-limit signal; a longer demand
    /// fails the request as retryable instead of stalling the sync (default 5 min).
    pub max_wait: Duration,
    /// Timeout of one attempt, connection to last byte (default 60 s).
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_wait: Duration::from_secs(300),
            timeout: Duration::from_secs(60),
        }
    }
}

/// A successful response: status, headers and the whole body.
#[derive(Debug)]
pub struct Response {
    /// The URL that answered (after the base URL was applied).
    pub url: String,
    /// HTTP status (2xx, or a status the caller allowed).
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
}

impl Response {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `rel="next"` target of an RFC 8288 `Link` header (GitHub paging).
    pub fn link_next(&self) -> Option<String> {
        let link = self.header("link")?;
        link.split(',').find_map(|part| {
            let (target, params) = part.split_once(';')?;
            let is_next = params
                .split(';')
                .any(|p| p.trim().eq_ignore_ascii_case("rel=\"next\""));
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            is_next.then(|| target.to_string())
        })
    }
}

/// The shared client of one source instance.
#[derive(Debug)]
pub struct HttpClient {
    inner: reqwest::Client,
    source_name: String,
    base_url: String,
    auth: Auth,
    extra_headers: HeaderMap,
    /// Told in auth errors: which settings to check.
    auth_hint: String,
    policy: RetryPolicy,
    cancel: CancellationToken,
    requests: AtomicU64,
}

/// What one attempt came to.
enum Attempt {
    Done(Response),
    /// Try again after this wait (already bounded), for this reason.
    Retry(Duration, String),
}

impl HttpClient {
    /// A client for source `source_name` rooted at `base_url` (no trailing `/`).
    pub fn new(source_name: &str, base_url: &str, auth: Auth) -> Result<Self> {
        Self::with_policy(source_name, base_url, auth, RetryPolicy::default())
    }

    /// Like [`HttpClient::new`] with explicit retry bounds.
    pub fn with_policy(
        source_name: &str,
        base_url: &str,
        auth: Auth,
        policy: RetryPolicy,
    ) -> Result<Self> {
        let parsed = url::Url::parse(base_url).map_err(|e| {
            Error::Config(format!(
                "source `{source_name}`: base_url `{base_url}` is not a URL: {e}"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!(
                "source `{source_name}`: base_url `{base_url}` must be http(s)"
            )));
        }
        let inner = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("vaultiq/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("source `{source_name}`: HTTP client: {e}")))?;
        Ok(HttpClient {
            inner,
            source_name: source_name.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
            extra_headers: HeaderMap::new(),
            auth_hint: "the configured credentials".to_string(),
            policy,
            cancel: CancellationToken::new(),
            requests: AtomicU64::new(0),
        })
    }

    /// Adds a header sent with every request (API version, media type).
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.extra_headers
            .insert(name, HeaderValue::from_static(value));
        self
    }

    /// Says which settings an auth failure should send the operator to.
    pub fn auth_hint(mut self, hint: impl Into<String>) -> Self {
        self.auth_hint = hint.into();
        self
    }

    /// Cancels waits and requests in flight when `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = token;
        self
    }

    /// The base URL, without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The source this client serves.
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// Requests sent so far, retries included (for measurements).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// A permanent error of this source.
    pub fn error(&self, message: impl Into<String>) -> Error {
        Error::Source {
            source_name: self.source_name.clone(),
            message: message.into(),
            retryable: false,
        }
    }

    fn retryable(&self, message: impl Into<String>) -> Error {
        Error::Source {
            source_name: self.source_name.clone(),
            message: message.into(),
            retryable: true,
        }
    }

    /// Resolves `path_or_url`: absolute URLs (pagination links) are used as
    /// given, paths are appended to the base URL.
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.base_url, path_or_url)
        }
    }

    /// GETs and decodes JSON; see [`HttpClient::get`].
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path_or_url: &str,
        query: &[(&str, String)],
    ) -> Result<(T, Response)> {
        let response = self.get(path_or_url, query).await?;
        let value = self.decode(&response)?;
        Ok((value, response))
    }

    /// Decodes a response body as JSON; malformed JSON is a permanent error
    /// (retrying the same request would return the same bytes).
    pub fn decode<T: DeserializeOwned>(&self, response: &Response) -> Result<T> {
        serde_json::from_slice(&response.body).map_err(|e| {
            self.error(format!(
                "malformed JSON from {} ({e}); body starts with: {:?}",
                strip_query(&response.url),
                preview(&response.body)
            ))
        })
    }

    /// GETs `path_or_url` with `query`, retrying what can be retried.
    /// Non-2xx statuses other than 404 (returned as a permanent error the
    /// caller may inspect through [`HttpClient::get_optional`]) are errors.
    pub async fn get(&self, path_or_url: &str, query: &[(&str, String)]) -> Result<Response> {
        let response = self.get_optional(path_or_url, query).await?;
        match response {
            Some(r) => Ok(r),
            None => Err(self.error(format!(
                "{} was not found (HTTP 404); check the configured scope (space, project, repo, channel)",
                strip_query(&self.url(path_or_url))
            ))),
        }
    }

    /// Like [`HttpClient::get`] but a 404 is `Ok(None)` (a deleted item).
    pub async fn get_optional(
        &self,
        path_or_url: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Response>> {
        let url = self.url(path_or_url);
        let mut waited = Duration::ZERO;
        let mut last_reason = String::new();
        for attempt in 0..self.policy.max_attempts {
            if self.cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let outcome = tokio::select! {
                _ = self.cancel.cancelled() => return Err(Error::Cancelled),
                outcome = self.attempt(&url, query, attempt) => outcome?,
            };
            let (wait, reason) = match outcome {
                Attempt::Done(response) if response.status == StatusCode::NOT_FOUND => {
                    return Ok(None)
                }
                Attempt::Done(response) => return Ok(Some(response)),
                Attempt::Retry(wait, reason) => (wait, reason),
            };
            if attempt + 1 == self.policy.max_attempts {
                last_reason = reason;
                break;
            }
            waited += wait;
            if waited > self.policy.max_wait {
                return Err(self.retryable(format!(
                    "{reason}; gave up after waiting {}s in total (max wait {}s)",
                    waited.as_secs(),
                    self.policy.max_wait.as_secs()
                )));
            }
            tracing::warn!(
                source = %self.source_name,
                url = %strip_query(&url),
                wait_ms = wait.as_millis() as u64,
                "{reason}; retrying"
            );
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(Error::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
            last_reason = reason;
        }
        Err(self.retryable(format!(
            "{last_reason}; gave up after {} attempts",
            self.policy.max_attempts
        )))
    }

    async fn attempt(&self, url: &str, query: &[(&str, String)], attempt: u32) -> Result<Attempt> {
        let mut request = self.inner.get(url).headers(self.extra_headers.clone());
        if !query.is_empty() {
            request = request.query(query);
        }
        let header = self.auth.header().await.map_err(|e| match e {
            Error::Config(message) => self.error(format!("credentials: {message}")),
            other => other,
        })?;
        if let Some(value) = header {
            request = request.header(AUTHORIZATION, value);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let shown = strip_query(url);
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                // Connection resets and timeouts are worth another try.
                return Ok(Attempt::Retry(
                    self.backoff(attempt),
                    format!("GET {shown} failed: {}", describe(&e)),
                ));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let final_url = response.url().to_string();
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return match response.bytes().await {
                Ok(body) => Ok(Attempt::Done(Response {
                    url: final_url,
                    status,
                    headers,
                    body: body.to_vec(),
                })),
                Err(e) => Ok(Attempt::Retry(
                    self.backoff(attempt),
                    format!("reading the body of {shown} failed: {}", describe(&e)),
                )),
            };
        }
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        if let Some(wait) = self.rate_limit_wait(status, &headers)? {
            return Ok(Attempt::Retry(
                wait,
                format!("rate limited (HTTP {}) on {shown}", status.as_u16()),
            ));
        }
        match status.as_u16() {
            401 | 403 => Err(self.error(format!(
                "access denied (HTTP {}) on {shown}; check {} and that the account may read this resource",
                status.as_u16(),
                self.auth_hint
            ))),
            408 | 425 | 429 | 500..=599 => Ok(Attempt::Retry(
                self.backoff(attempt),
                format!("HTTP {} on {shown}", status.as_u16()),
            )),
            code => Err(self.error(format!(
                "HTTP {code} on {shown}: {}",
                preview(&body)
            ))),
        }
    }

    /// The wait a rate-limit signal asks for, bounded by `max_wait`; an
    /// error (retryable) when the demand exceeds it.
    fn rate_limit_wait(&self, status: StatusCode, headers: &HeaderMap) -> Result<Option<Duration>> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let throttling = matches!(status.as_u16(), 403 | 429 | 503);
        if !throttling {
            return Ok(None);
        }
        let demanded = if let Some(secs) = text("retry-after").and_then(retry_after_secs) {
            Some(Duration::from_secs(secs))
        } else if text("x-ratelimit-remaining") == Some("0") {
            // GitHub: wait until the window resets (epoch seconds).
            let reset = text("x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok());
            let now = chrono::Utc::now().timestamp();
            Some(Duration::from_secs(
                reset.map_or(60, |r| (r - now).max(1)) as u64
            ))
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            // 429 without a hint: GitHub's docs say wait at least a minute;
            // others get the ordinary backoff (capped below anyway).
            Some(self.policy.max_delay.min(Duration::from_secs(60)))
        } else {
            None
        };
        match demanded {
            Some(wait) if wait > self.policy.max_wait => Err(self.retryable(format!(
                "rate limited (HTTP {}): the source asks to wait {}s, more than the {}s allowed; sync again later",
                status.as_u16(),
                wait.as_secs(),
                self.policy.max_wait.as_secs()
            ))),
            other => Ok(other),
        }
    }

    /// Full-jitter exponential backoff: spreads retries of many clients.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .policy
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.policy.max_delay);
        let millis = cap.as_millis().max(1) as u64;
        Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
    }
}

/// `Retry-After` seconds (the HTTP-date form is rare in these APIs; treat
/// it as one minute rather than ignoring it).
fn retry_after_secs(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(value.parse::<u64>().unwrap_or(60))
}

/// The URL without its query, which may hold search terms worth keeping
/// out of logs and which makes messages long.
fn strip_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(head, _)| head)
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(200).collect()
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        format!("could not connect ({err})")
    } else {
        err.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_with_link(link: &str) -> Response {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(link) {
            headers.insert("link", v);
        }
        Response {
            url: String::new(),
            status: StatusCode::OK,
            headers,
            body: Vec::new(),
        }
    }

    #[test]
    fn link_header_next_is_found() {
        let r = response_with_link(
            "<https://api.github.com/repositories/1/issues?page=2>; rel=\"prev\", <https://api.github.com/repositories/1/issues?page=4>; rel=\"next\", <https://api.github.com/repositories/1/issues?page=9>; rel=\"last\"",
        );
        assert_eq!(
            r.link_next().as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=4")
        );
        assert_eq!(response_with_link("<x>; rel=\"last\"").link_next(), None);
    }

    #[test]
    fn auth_debug_is_redacted() {
        let auth = Auth::Basic {
            username: "me@example.com".into(),
            token: "s3cret".into(),
        };
        assert!(!format!("{auth:?}").contains("s3cret"));
        assert!(!format!("{:?}", Auth::Bearer("xoxb-1".into())).contains("xoxb"));
    }

    #[test]
    fn bad_base_url_is_a_config_error() {
        assert!(HttpClient::new("s", "not a url", Auth::None).is_err());
        assert!(HttpClient::new("s", "ftp://x", Auth::None).is_err());
    }
}
