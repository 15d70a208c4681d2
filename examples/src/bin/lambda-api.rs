//! AWS Lambda function: the HTTP API (`/api/query`, `/api/sources`,
//! `/health`) behind API Gateway, with the router of `vaultiq serve` (see
//! `vaultiq_examples::lambda::api`).
//!
//! Run with: `scripts/build-lambdas` (packages it as `target/lambda/api/bootstrap`).

use axum::Router;
use lambda_http::request::LambdaRequest;
use lambda_runtime::{service_fn, LambdaEvent};
use tokio::sync::OnceCell;
use vaultiq_examples::lambda::{api, HandlerError, LazyKnowledgeBase};

static KB: LazyKnowledgeBase = LazyKnowledgeBase::new();
static APP: OnceCell<Router> = OnceCell::const_new();

/// The router, built once the knowledge base opens; until then a router
/// that answers 503 (and the next request tries again).
async fn app() -> Router {
    let built = APP
        .get_or_try_init(|| async {
            let (config, kb) = KB.get().await.map_err(anyhow::Error::from)?;
            api::router(kb, &config)
        })
        .await;
    match built {
        Ok(app) => app.clone(),
        Err(err) => {
            tracing::error!(error = %err, "the knowledge base cannot be opened");
            api::unavailable("the service cannot open its knowledge base; see the function log")
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), HandlerError> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<LambdaRequest>| async move {
        api::handle(app().await, event).await
    }))
    .await
}
