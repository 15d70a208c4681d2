//! One description of a failed AWS call, so each part can map it onto the
//! right [`crate::Error`] variant without SDK types leaving this crate.

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes AWS services use for "slow down" or "try again later",
/// whatever the HTTP status.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "SlowDown",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalServerError",
    "InternalServerException",
    "InternalFailure",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
];

/// A failed AWS call, reduced to what callers act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AwsFailure {
    /// The service's error code (`ThrottlingException`, `NoSuchKey`, ...).
    pub code: Option<String>,
    /// HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// A message safe to show: the service's text, never request content.
    pub message: String,
    /// Whether the same call may succeed later.
    pub retryable: bool,
}

impl AwsFailure {
    /// Whether the service answered with this error code.
    #[allow(dead_code)]
    pub(crate) fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }
}

impl fmt::Display for AwsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.status) {
            (Some(code), Some(status)) => write!(f, "{code} (HTTP {status}): {}", self.message),
            (Some(code), None) => write!(f, "{code}: {}", self.message),
            (None, Some(status)) => write!(f, "HTTP {status}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Describes an SDK error: service errors by code and status, transport
/// failures and timeouts as retryable, request construction as permanent.
pub(crate) fn classify<E>(err: &SdkError<E, HttpResponse>) -> AwsFailure
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let inner = service.err();
            let code = inner.code().map(String::from);
            let retryable = status == 429
                || status >= 500
                || code
                    .as_deref()
                    .is_some_and(|c| RETRYABLE_CODES.contains(&c));
            let message = inner
                .message()
                .map(String::from)
                .unwrap_or_else(|| chain(inner));
            AwsFailure {
                code,
                status: Some(status),
                message,
                retryable,
            }
        }
        SdkError::TimeoutError(_) => AwsFailure {
            code: None,
            status: None,
            message: "the request timed out".into(),
            retryable: true,
        },
        SdkError::DispatchFailure(failure) => AwsFailure {
            code: None,
            status: None,
            message: format!("could not reach the service: {}", chain(err)),
            // Credential and configuration problems surface here too;
            // only connection-level failures are worth repeating.
            retryable: failure.is_io() || failure.is_timeout(),
        },
        SdkError::ResponseError(response) => AwsFailure {
            code: None,
            status: Some(response.raw().status().as_u16()),
            message: format!("unreadable response: {}", chain(err)),
            retryable: true,
        },
        SdkError::ConstructionFailure(_) => AwsFailure {
            code: None,
            status: None,
            message: format!("could not build the request: {}", chain(err)),
            retryable: false,
        },
        _ => AwsFailure {
            code: None,
            status: None,
            message: chain(err),
            retryable: false,
        },
    }
}

/// An error with its causes, `: `-separated (the SDK's top-level texts
/// such as "service error" say little on their own).
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
