//! What the AWS parts share: loading the SDK configuration from the
//! standard credential chain, clients created on first use, and turning SDK
//! errors into [`crate::Error`] without leaking SDK types.

// Each AWS feature uses its own subset of these helpers.
#![allow(dead_code, unused_imports)]

mod client;
mod failure;

pub use client::AwsSettings;
pub(crate) use client::LazyClient;
pub(crate) use failure::{classify, AwsFailure};
