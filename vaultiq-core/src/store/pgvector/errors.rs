//! PostgreSQL and pool errors turned into [`crate::Error`], telling what a
//! retry can fix (lost connections, serialisation failures, overload) from
//! what it cannot (bad SQL, missing extension, constraint violations).

use tokio_postgres::error::SqlState;

use crate::Error;

/// A store error for a failed PostgreSQL call made while `doing`.
pub(crate) fn pg(doing: &str, err: tokio_postgres::Error) -> Error {
    let retryable = match err.code() {
        Some(code) => {
            let class = code.code().get(..2).unwrap_or("");
            // 08 connection, 40 transaction rollback (serialisation, deadlock),
            // 53 insufficient resources, 57P0x shutdown / cannot connect now.
            matches!(class, "08" | "40" | "53")
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
        }
        // No SQLSTATE: the connection broke or timed out underneath.
        None => err.is_closed() || std::error::Error::source(&err).is_some(),
    };
    let detail = match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    };
    Error::Store {
        message: format!("PostgreSQL: {doing}: {detail}"),
        retryable,
    }
}

/// A store error for a connection that could not be taken from the pool.
pub(crate) fn pool(err: deadpool_postgres::PoolError) -> Error {
    use deadpool_postgres::PoolError;
    match err {
        PoolError::Backend(e) => pg("connecting", e),
        other => Error::Store {
            message: format!("PostgreSQL connection pool: {other}"),
            retryable: matches!(other, PoolError::Timeout(_)),
        },
    }
}
