//! AWS Lambda function: collects one source into the raw lake on an
//! EventBridge schedule or a manual invoke (see
//! `vaultiq_examples::lambda::connector`).
//!
//! Run with: `scripts/build-lambdas` (packages it as `target/lambda/connector/bootstrap`).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use vaultiq_examples::lambda::connector::{self, ConnectorSettings};
use vaultiq_examples::lambda::{HandlerError, LazyKnowledgeBase};

static KB: LazyKnowledgeBase = LazyKnowledgeBase::new();

#[tokio::main]
async fn main() -> Result<(), HandlerError> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = ConnectorSettings::from_env()?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let settings = &settings;
        async move {
            let (_, kb) = KB.get().await?;
            connector::handle(&kb, settings, event).await
        }
    }))
    .await
}
