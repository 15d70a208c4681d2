//! AWS Lambda function: indexes the lake records named by S3 event
//! notifications, direct or through SQS (see
//! `vaultiq_examples::lambda::processing`).
//!
//! Run with: `scripts/build-lambdas` (packages it as `target/lambda/processing/bootstrap`).

use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;
use vaultiq_examples::lambda::processing::{self, ProcessingSettings};
use vaultiq_examples::lambda::{HandlerError, LazyKnowledgeBase};

static KB: LazyKnowledgeBase = LazyKnowledgeBase::new();

#[tokio::main]
async fn main() -> Result<(), HandlerError> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let (config, kb) = KB.get().await?;
        processing::handle(&kb, &ProcessingSettings::from_config(&config), event).await
    }))
    .await
}
