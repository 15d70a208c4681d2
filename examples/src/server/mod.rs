//! `vaultiq serve`: the HTTP API of DESIGN.md (the seed's contract plus
//! streaming, OpenAPI, request ids and JSON access logs), hardened so bad
//! input gets a 4xx JSON error and overload gets a quick 503, never a hang.

mod auth;
mod cors;
mod errors;
mod limits;
mod observe;
mod openapi;
mod request;
mod routes;
mod stream;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use vaultiq_core::config::ServerConfig;
use vaultiq_core::KnowledgeBase;

pub use auth::ApiKeys;
use errors::ApiError;
use routes::AppState;

/// Listen address when neither `--addr` nor `[server] addr` says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Requests in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;
/// Requests that may wait for a slot; beyond them the server answers 503.
pub const DEFAULT_MAX_QUEUE: usize = 256;
/// How long one request may take before it gets 504.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest accepted request body: a 2,000-character query fits many times.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// `HOST:PORT` to listen on; port 0 picks a free one.
    pub addr: String,
    /// Accepted bearer keys; none means no authentication.
    pub api_keys: ApiKeys,
    /// Allowed CORS origins (`*` for any); none means no CORS headers.
    pub cors_origins: Vec<String>,
    /// Requests served at once.
    pub max_concurrency: usize,
    /// Requests waiting for a slot (each at most `request_timeout`); the
    /// excess gets 503 `overloaded` at once.
    pub max_queue: usize,
    /// Per-request deadline; past it the request gets 504 `timeout`.
    pub request_timeout: Duration,
    /// Largest accepted body; bigger ones get 413.
    pub max_body_bytes: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            addr: DEFAULT_ADDR.to_string(),
            api_keys: ApiKeys::new([]),
            cors_origins: Vec::new(),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_queue: DEFAULT_MAX_QUEUE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

impl ServerSettings {
    /// Settings from `[server]`, reading the API keys from the environment
    /// variable `api_keys_env` names. A named but unset or empty variable is
    /// an error: silently serving without auth would be worse.
    pub fn from_config(config: &ServerConfig) -> anyhow::Result<Self> {
        let api_keys = match &config.api_keys_env {
            None => ApiKeys::new([]),
            Some(var) => {
                let value = std::env::var(var).with_context(|| {
                    format!("server.api_keys_env names `{var}`, but that environment variable is not set")
                })?;
                let keys = ApiKeys::new(value.split(','));
                if !keys.is_enabled() {
                    bail!("server.api_keys_env: `{var}` holds no keys; expected comma-separated API keys");
                }
                keys
            }
        };
        let max_concurrency = config.max_concurrency.unwrap_or(DEFAULT_MAX_CONCURRENCY);
        if max_concurrency == 0 {
            bail!("server.max_concurrency must be at least 1");
        }
        Ok(ServerSettings {
            addr: config.addr.clone(),
            api_keys,
            cors_origins: config.cors_origins.clone(),
            max_concurrency,
            max_queue: config.max_queue.unwrap_or(DEFAULT_MAX_QUEUE),
            request_timeout: config
                .request_timeout_secs
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            ..ServerSettings::default()
        })
    }
}

/// The whole application: routes, limits, auth, CORS, ids and logs.
pub fn router(kb: Arc<KnowledgeBase>, settings: &ServerSettings) -> anyhow::Result<Router> {
    let state = AppState {
        kb,
        body_limit: settings.max_body_bytes,
    };
    // Layers added later run first: auth, then a concurrency slot, then
    // the deadline around the handler (so queued work cannot pile up).
    let guarded = Router::new()
        .route("/api/query", post(routes::query))
        .route("/api/query/stream", post(stream::query_stream))
        .route("/api/sources", get(routes::sources))
        .route_layer(from_fn_with_state(
            settings.request_timeout,
            limits::deadline,
        ))
        .route_layer(from_fn_with_state(
            limits::ConcurrencyLimit::new(
                settings.max_concurrency,
                settings.max_queue,
                settings.request_timeout,
            ),
            limits::limit_concurrency,
        ))
        .route_layer(from_fn_with_state(
            settings.api_keys.clone(),
            auth::require_key,
        ));
    // Health and the API description stay open: probes and tooling have no keys.
    let app = Router::new()
        .route("/health", get(routes::health))
        .route("/api/openapi.json", get(routes::openapi_json))
        .merge(guarded)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .with_state(state)
        .layer(CatchPanicLayer::custom(panic_response));
    let app = match cors::layer(&settings.cors_origins)? {
        Some(cors) => app.layer(cors),
        None => app,
    };
    Ok(app.layer(from_fn(observe::request_id_and_log)))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(request.uri().path())
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::method_not_allowed(request.method().as_str(), request.uri().path())
}

/// A panicking handler is a bug: log it, answer a generic 500.
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::internal().into_response()
}

/// Binds `settings.addr` and serves until `shutdown` resolves.
pub async fn serve(
    kb: Arc<KnowledgeBase>,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&settings.addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.addr))?;
    serve_on(listener, kb, settings, shutdown).await
}

/// Serves on a bound listener until `shutdown` resolves, then stops
/// accepting and waits for in-flight requests (bounded by their timeout).
pub async fn serve_on(
    listener: TcpListener,
    kb: Arc<KnowledgeBase>,
    settings: ServerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = router(kb, &settings)?;
    let addr: SocketAddr = listener
        .local_addr()
        .context("cannot read the listen address")?;
    tracing::info!(addr = %addr, max_concurrency = settings.max_concurrency,
        max_queue = settings.max_queue,
        auth = settings.api_keys.is_enabled(), "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("the HTTP server failed")?;
    tracing::info!("stopped: in-flight requests finished");
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what service managers send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
