//! The Bedrock runtime client the embedder and the answerer share the
//! construction of.

use aws_config::SdkConfig;
use aws_smithy_types::retry::RetryConfig;

use super::LazyClient;

/// A Bedrock runtime client built on first use.
pub(crate) type BedrockClient = LazyClient<aws_sdk_bedrockruntime::Client>;

/// The runtime client with the SDK's retries off: the Bedrock parts retry
/// throttling and 5xx themselves (bounded, jittered, one text at a time),
/// and two stacked retry layers would multiply the attempts.
pub(crate) fn runtime_client(config: &SdkConfig) -> aws_sdk_bedrockruntime::Client {
    let config = aws_sdk_bedrockruntime::config::Builder::from(config)
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_bedrockruntime::Client::from_conf(config)
}
