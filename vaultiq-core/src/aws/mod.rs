//! What the AWS parts share: loading the SDK configuration from the
//! standard credential chain, clients created on first use, and turning SDK
//! errors into [`crate::Error`] without leaking SDK types.

// Each AWS feature uses its own subset of these helpers.
#![allow(dead_code, unused_imports)]

mod backoff;
mod client;
mod failure;

pub(crate) use backoff::{Backoff, GaveUp};
pub(crate) use client::LazyClient;
pub use client::{AwsSettings, StaticCredentials};
pub(crate) use failure::{classify, AwsFailure};
#[cfg(feature = "aws-bedrock")]
mod bedrock;
#[cfg(feature = "aws-bedrock")]
pub(crate) use bedrock::{runtime_client, BedrockClient};
