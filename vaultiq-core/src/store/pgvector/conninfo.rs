//! The TLS keys of a libpq connection string (`sslmode`, `sslrootcert`),
//! taken out before the rest goes to the PostgreSQL client library, which
//! knows neither `verify-ca` / `verify-full` nor root certificates.
//!
//! Both libpq forms are understood: the URL
//! (`postgres://u:p@host/db?sslmode=verify-full&sslrootcert=ca.pem`) and
//! key/value pairs (`host=h sslmode=require sslrootcert='/etc/ca.pem'`).

use percent_encoding::percent_decode_str;

use crate::{Error, Result};

/// libpq's `sslmode`, as far as VaultIQ implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SslMode {
    /// Plain text only.
    Disable,
    /// TLS when the server offers it, plain text otherwise (libpq's default).
    Prefer,
    /// TLS or fail; the certificate is checked only when a root CA is given.
    Require,
    /// TLS with the certificate chain checked against the root CA.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            "allow" => {
                return Err(Error::Config(
                    "pgvector url: sslmode=allow is not supported; use prefer (TLS when offered) \
                     or disable"
                        .into(),
                ))
            }
            other => {
                return Err(Error::Config(format!(
                    "pgvector url: unknown sslmode `{other}` (disable, prefer, require, \
                     verify-ca or verify-full)"
                )))
            }
        })
    }
}

/// A connection string with its TLS keys taken out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SplitUrl {
    /// Everything else, for `tokio_postgres::Config`'s parser.
    pub rest: String,
    /// `sslmode`, when given.
    pub ssl_mode: Option<SslMode>,
    /// `sslrootcert`, when given: a file path or `system`.
    pub root_cert: Option<String>,
}

/// Keys the client library cannot honour and that must not be ignored.
const UNSUPPORTED: &[&str] = &["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

/// Takes the TLS keys out of `url` (either libpq form).
pub(crate) fn split(url: &str) -> Result<SplitUrl> {
    let trimmed = url.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        split_uri(trimmed)
    } else {
        split_key_values(trimmed)
    }
}

fn take(
    key: &str,
    value: String,
    ssl_mode: &mut Option<SslMode>,
    root_cert: &mut Option<String>,
) -> Result<bool> {
    match key {
        "sslmode" => *ssl_mode = Some(SslMode::parse(&value)?),
        "sslrootcert" => *root_cert = Some(value),
        k if UNSUPPORTED.contains(&k) => {
            return Err(Error::Config(format!(
                "pgvector url: `{k}` (client certificates, revocation lists) is not supported; \
                 authenticate with a password or an IAM token"
            )))
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn split_uri(url: &str) -> Result<SplitUrl> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let (mut ssl_mode, mut root_cert) = (None, None);
    let mut kept: Vec<&str> = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key)?;
        if !take(&key, decode(value)?, &mut ssl_mode, &mut root_cert)? {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(SplitUrl {
        rest,
        ssl_mode,
        root_cert,
    })
}

fn decode(text: &str) -> Result<String> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::Config("pgvector url: a query parameter is not valid UTF-8".into()))
}

fn split_key_values(conninfo: &str) -> Result<SplitUrl> {
    let (mut ssl_mode, mut root_cert) = (None, None);
    let mut kept: Vec<String> = Vec::new();
    for (key, value) in key_values(conninfo)? {
        if !take(&key, value.clone(), &mut ssl_mode, &mut root_cert)? {
            // Re-quoted, so values with spaces or quotes survive unchanged.
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            kept.push(format!("{key}='{quoted}'"));
        }
    }
    Ok(SplitUrl {
        rest: kept.join(" "),
        ssl_mode,
        root_cert,
    })
}

/// libpq's `key = value` pairs: values bare or single-quoted, `\` escaping
/// the next character in both.
fn key_values(conninfo: &str) -> Result<Vec<(String, String)>> {
    let bad = || {
        Error::Config(
            "pgvector url is neither a postgres:// URL nor `key=value` pairs (a key without `=`, \
             or an unterminated quote)"
                .into(),
        )
    };
    let mut pairs = Vec::new();
    let mut chars = conninfo.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| !c.is_whitespace() && *c != '=') {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') || key.is_empty() {
            return Err(bad());
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.push(chars.next().ok_or_else(bad)?),
                    Some(c) => value.push(c),
                    None => return Err(bad()),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.push(chars.next().ok_or_else(bad)?);
                } else {
                    value.push(c);
                }
            }
        }
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn uri_keys_are_taken_out_and_the_rest_kept() {
        let uri = split(
            "postgres://u:p%3Fw@db.example:5432/kb?application_name=x&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Fglobal%20bundle.pem&connect_timeout=5",
        )
        .unwrap();
        assert_eq!(
            uri.rest,
            "postgres://u:p%3Fw@db.example:5432/kb?application_name=x&connect_timeout=5"
        );
        assert_eq!(uri.ssl_mode, Some(SslMode::VerifyFull));
        assert_eq!(uri.root_cert.as_deref(), Some("/etc/global bundle.pem"));

        let plain = split_uri("postgresql://u@h/db").unwrap();
        assert_eq!(plain.rest, "postgresql://u@h/db");
        assert_eq!((plain.ssl_mode, plain.root_cert), (None, None));
        let only_tls = split("postgres://u@h/db?sslmode=disable").unwrap();
        assert_eq!(only_tls.rest, "postgres://u@h/db");
        assert_eq!(only_tls.ssl_mode, Some(SslMode::Disable));
    }

    #[test]
    fn key_value_pairs_are_parsed_like_libpq() {
        // `''` is not an escape in libpq: the quoted value ends at the second quote.
        assert!(split("host=h password='it''s' sslmode=require").is_err());
        let pairs = split_key_values(
            "host=h user = vaultiq password='it\\'s' sslmode=require \
             sslrootcert='/tmp/my ca.pem' dbname=kb\\ x",
        )
        .unwrap();
        assert_eq!(pairs.ssl_mode, Some(SslMode::Require));
        assert_eq!(pairs.root_cert.as_deref(), Some("/tmp/my ca.pem"));
        assert_eq!(
            pairs.rest,
            "host='h' user='vaultiq' password='it\\'s' dbname='kb x'"
        );
        let config: tokio_postgres::Config = pairs.rest.parse().unwrap();
        assert_eq!(config.get_password(), Some(&b"it's"[..]));
        assert_eq!(config.get_dbname(), Some("kb x"));
    }

    #[test]
    fn bad_values_are_config_errors() {
        for url in [
            "postgres://u@h/db?sslmode=verify_full",
            "postgres://u@h/db?sslmode=allow",
            "postgres://u@h/db?sslcert=client.pem",
            "host=h sslmode",
            "host='h",
        ] {
            let err = split(url).unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{url}: {err}");
        }
    }
}
