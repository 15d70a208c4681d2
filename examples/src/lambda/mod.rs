//! AWS Lambda handlers of the serverless deployment (the seed's topology):
//!
//! - [`connector`]: an EventBridge schedule (or a manual invoke) collects
//!   one source into the raw lake within the function's time budget.
//! - [`processing`]: the lake bucket's S3 events (direct or through SQS)
//!   index, re-index or remove the documents they name.
//! - [`api`]: API Gateway (HTTP API v2 and REST v1 proxy) events run the
//!   same axum router as `vaultiq serve`.
//!
//! The handlers are plain async functions over a [`KnowledgeBase`], so
//! tests call them with recorded events; the `lambda-*` binaries add the
//! runtime loop and build the knowledge base once per container
//! ([`LazyKnowledgeBase`]) from the environment ([`config`]).
//!
//! [`KnowledgeBase`]: vaultiq_core::KnowledgeBase

pub mod api;
pub mod config;
pub mod connector;
mod container;
pub mod processing;
mod s3_event;

pub use container::LazyKnowledgeBase;

/// The error type the Lambda runtime reports for a failed invocation.
pub type HandlerError = lambda_runtime::Error;
