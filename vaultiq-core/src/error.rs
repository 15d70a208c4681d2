//! The one error type of VaultIQ.
//!
//! Every variant says whether trying again can help ([`Error::is_retryable`]):
//! a throttled API or a busy database is worth a retry, a bad config or a
//! corrupt file is not. Errors of the libraries underneath (SQLite, safetensors,
//! HTTP clients) are turned into these variants with context, so they never
//! appear in public signatures.

use std::path::Path;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in VaultIQ.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is missing or invalid. Permanent.
    #[error("configuration error: {0}")]
    Config(String),

    /// The caller passed something unusable (empty query, bad setting). Permanent.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A data source (connector) failed.
    #[error("source `{source_name}`: {message}")]
    Source {
        /// The configured source instance name.
        source_name: String,
        /// What went wrong and what to check.
        message: String,
        /// Whether a later attempt may succeed (throttling, 5xx, timeouts).
        retryable: bool,
    },

    /// The vector store, the state store or the lake failed.
    #[error("store error: {message}")]
    Store {
        /// What went wrong.
        message: String,
        /// Whether a later attempt may succeed (a locked or busy database).
        retryable: bool,
    },

    /// The embedding or answering model failed or could not be loaded.
    #[error("model error: {message}")]
    Model {
        /// What went wrong.
        message: String,
        /// Whether a later attempt may succeed (remote model throttled).
        retryable: bool,
    },

    /// Stored data is damaged and cannot be read. Permanent.
    #[error("corrupt data: {0}")]
    Corrupt(String),

    /// The operation was cancelled by the caller.
    #[error("operation cancelled")]
    Cancelled,

    /// A fault injected by a test at a named pipeline stage boundary.
    #[error("injected failure at failpoint `{0}`")]
    Failpoint(&'static str),
}

impl Error {
    /// Whether the same operation may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Source { retryable, .. }
            | Error::Store { retryable, .. }
            | Error::Model { retryable, .. } => *retryable,
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::Interrupted
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
            ),
            Error::Config(_)
            | Error::InvalidInput(_)
            | Error::Corrupt(_)
            | Error::Cancelled
            | Error::Failpoint(_) => false,
        }
    }

    /// An I/O error with the path it concerns.
    pub fn io(action: &str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            context: format!("{action} {}", path.display()),
            source,
        }
    }

    /// A permanent store error.
    pub fn store(message: impl Into<String>) -> Self {
        Error::Store {
            message: message.into(),
            retryable: false,
        }
    }

    /// A permanent model error.
    pub fn model(message: impl Into<String>) -> Self {
        Error::Model {
            message: message.into(),
            retryable: false,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let retryable = matches!(
            err.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        );
        let corrupt = matches!(
            err.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        );
        if corrupt {
            Error::Corrupt(format!("SQLite database: {err}"))
        } else if retryable {
            Error::Store {
                message: format!(
                    "the data directory is locked by another process (a running sync?); try again ({err})"
                ),
                retryable,
            }
        } else {
            Error::Store {
                message: format!("SQLite: {err}"),
                retryable,
            }
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::InvalidInput(format!("JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_variants_are_told_apart() {
        assert!(Error::Source {
            source_name: "wiki".into(),
            message: "429".into(),
            retryable: true
        }
        .is_retryable());
        assert!(!Error::Config("bad".into()).is_retryable());
        assert!(!Error::Corrupt("x".into()).is_retryable());
        let busy = Error::Io {
            context: "read".into(),
            source: std::io::Error::from(std::io::ErrorKind::TimedOut),
        };
        assert!(busy.is_retryable());
    }
}
