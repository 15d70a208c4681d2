//! PostgreSQL and pool errors turned into [`crate::Error`], telling what a
//! retry can fix (lost connections, serialisation failures, overload) from
//! what it cannot (bad SQL, missing extension, constraint violations).

use tokio_postgres::error::SqlState;

use super::tls_connect::TlsFailure;
use crate::Error;

/// A store error for a failed PostgreSQL call made while `doing`.
pub(crate) fn pg(doing: &str, err: tokio_postgres::Error) -> Error {
    if let Some(tls) = tls_cause(&err) {
        return tls;
    }
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
        Some(db) if needs_tls(db) => format!(
            "{} ({}); the server accepts only TLS connections here: connect with \
             sslmode=require or verify-full (not disable)",
            db.message(),
            db.code().code()
        ),
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
        PoolError::PostCreateHook(deadpool_postgres::HookError::Backend(e)) => {
            pg("setting up the session", e)
        }
        other => Error::Store {
            message: format!("PostgreSQL connection pool: {other}"),
            retryable: matches!(other, PoolError::Timeout(_)),
        },
    }
}

/// Whether the server refused a plain-text connection its `pg_hba.conf`
/// admits only over TLS (`hostssl`; Aurora/RDS with `rds.force_ssl=1`).
fn needs_tls(db: &tokio_postgres::error::DbError) -> bool {
    *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        && db.message().contains("no encryption")
}

/// The error for a connection that failed in TLS: a refused certificate or
/// a server without TLS is a permanent configuration problem with a message
/// naming it; a handshake cut short by the network is worth a retry.
fn tls_cause(err: &tokio_postgres::Error) -> Option<Error> {
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        if let Some(failure) = inner.downcast_ref::<TlsFailure>() {
            let message = format!("PostgreSQL TLS: {}", failure.message);
            return Some(if failure.permanent {
                Error::Config(message)
            } else {
                Error::Store {
                    message,
                    retryable: true,
                }
            });
        }
        // The client library's own words when the server answers the TLS
        // request with "no" under sslmode=require and stricter.
        if inner.to_string() == "server does not support TLS" {
            return Some(Error::Config(
                "PostgreSQL TLS: the server does not offer TLS but sslmode is require, \
                 verify-ca or verify-full: turn on `ssl` on the server, or use sslmode=prefer"
                    .into(),
            ));
        }
        cause = inner.source();
    }
    None
}
