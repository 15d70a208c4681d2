//! What `sslmode` and the root CA ask of a connection, turned into a rustls
//! client configuration with libpq's checks:
//!
//! | sslmode | no root CA | root CA given |
//! | --- | --- | --- |
//! | `disable` | plain text | plain text |
//! | `prefer` (default) | TLS if offered, unchecked | TLS if offered, chain checked |
//! | `require` | TLS, unchecked | TLS, chain checked (libpq: as `verify-ca`) |
//! | `verify-ca` | error | TLS, chain checked |
//! | `verify-full` | error | TLS, chain and host name checked |
//!
//! `sslrootcert=system` trusts the operating system's CAs and, as in libpq,
//! implies `verify-full`. "Unchecked" still encrypts and still verifies the
//! handshake signatures; it only skips whose certificate it is.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::conninfo::SslMode;
use crate::{Error, Result};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Encrypt, trust any certificate (libpq `prefer` / `require` without a CA).
    Nothing,
    /// The chain must end at a trusted CA (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndHost,
}

/// The TLS side of a connection: the mode for the client library and, unless
/// TLS is off, the rustls configuration and a description of the trusted CAs
/// for error messages.
#[derive(Debug, Clone)]
pub(crate) struct TlsPlan {
    /// What the client library does when the server declines TLS.
    pub mode: tokio_postgres::config::SslMode,
    /// `None` for `sslmode=disable`.
    pub config: Option<Arc<ClientConfig>>,
    /// `the CA file `...``, `the system's CAs` or `no CA (unchecked)`.
    pub trusted: String,
}

/// The plan for `mode` (`None`: libpq's default `prefer`) and the root CA
/// (`sslrootcert`: a PEM file or `system`).
pub(crate) fn plan(mode: Option<SslMode>, root_cert: Option<&str>) -> Result<TlsPlan> {
    let system = root_cert == Some("system");
    if system && !matches!(mode, None | Some(SslMode::VerifyFull)) {
        return Err(Error::Config(
            "pgvector: sslrootcert=system needs sslmode=verify-full (as in libpq); a weaker \
             sslmode would trust any host the system's CAs vouch for without checking its name"
                .into(),
        ));
    }
    let mode = match mode {
        Some(mode) => mode,
        None if system => SslMode::VerifyFull,
        None => SslMode::Prefer,
    };
    let client_mode = match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    };
    if mode == SslMode::Disable {
        return Ok(TlsPlan {
            mode: client_mode,
            config: None,
            trusted: "no CA (TLS disabled)".into(),
        });
    }
    let (check, roots, trusted) = match root_cert {
        None => {
            if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) {
                return Err(Error::Config(
                    "pgvector: sslmode=verify-ca and verify-full need the server's root CA: set \
                     sslrootcert=FILE in the url or `tls_ca_file` in [store] (Aurora/RDS: the \
                     global-bundle.pem of the AWS certificate authority), or sslrootcert=system"
                        .into(),
                ));
            }
            (
                Check::Nothing,
                RootCertStore::empty(),
                "no CA (unchecked)".to_string(),
            )
        }
        Some(source) => {
            let (roots, trusted) = if system {
                (system_roots()?, "the system's CAs".to_string())
            } else {
                (
                    file_roots(Path::new(source))?,
                    format!("the CA file `{source}`"),
                )
            };
            let check = if mode == SslMode::VerifyFull {
                Check::ChainAndHost
            } else {
                Check::Chain
            };
            (check, roots, trusted)
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(PgVerifier {
        check,
        roots: Arc::new(roots),
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("pgvector TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(TlsPlan {
        mode: client_mode,
        config: Some(Arc::new(config)),
        trusted,
    })
}

/// The certificates of a PEM file (e.g. the RDS global bundle).
fn file_roots(path: &Path) -> Result<RootCertStore> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| {
        Error::Config(format!(
            "pgvector TLS: cannot read the root CA file `{shown}`: {e}"
        ))
    })?;
    let mut roots = RootCertStore::empty();
    for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
        let cert = cert.map_err(|e| {
            Error::Config(format!(
                "pgvector TLS: the root CA file `{shown}` is not valid PEM (certificate {}): {e}",
                n + 1
            ))
        })?;
        roots.add(cert).map_err(|e| {
            Error::Config(format!(
                "pgvector TLS: certificate {} of the root CA file `{shown}` is not a usable CA \
                 certificate: {e}",
                n + 1
            ))
        })?;
    }
    if roots.is_empty() {
        return Err(Error::Config(format!(
            "pgvector TLS: the root CA file `{shown}` holds no PEM certificate \
             (`-----BEGIN CERTIFICATE-----`)"
        )));
    }
    Ok(roots)
}

/// The operating system's trusted CAs (`sslrootcert=system`).
fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(Error::Config(format!(
            "pgvector TLS: sslrootcert=system but no system CA certificate could be loaded{why}"
        )));
    }
    Ok(roots)
}

/// libpq's certificate checks on top of rustls' handshake verification.
#[derive(Debug)]
struct PgVerifier {
    check: Check,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PgVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        if self.check == Check::Nothing {
            return Ok(ServerCertVerified::assertion());
        }
        let cert = ParsedCertificate::try_from(end_entity)?;
        verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        if self.check == Check::ChainAndHost {
            verify_server_name(&cert, server_name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config_error(result: Result<TlsPlan>) -> String {
        match result {
            Err(Error::Config(message)) => message,
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn modes_map_like_libpq() {
        use tokio_postgres::config::SslMode as Client;
        let default = plan(None, None).unwrap();
        assert_eq!(default.mode, Client::Prefer);
        assert!(default.config.is_some());
        let off = plan(Some(SslMode::Disable), None).unwrap();
        assert_eq!(off.mode, Client::Disable);
        assert!(off.config.is_none());
        assert_eq!(
            plan(Some(SslMode::Require), None).unwrap().mode,
            Client::Require
        );
        let message = config_error(plan(Some(SslMode::VerifyFull), None));
        assert!(message.contains("sslrootcert"), "{message}");
        let message = config_error(plan(Some(SslMode::Require), Some("system")));
        assert!(message.contains("verify-full"), "{message}");
    }

    #[test]
    fn unreadable_or_garbled_ca_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let message = config_error(plan(
            Some(SslMode::VerifyFull),
            Some(missing.to_str().unwrap()),
        ));
        assert!(message.contains("cannot read") && message.contains("missing.pem"));

        let garbled = dir.path().join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let message = config_error(plan(
            Some(SslMode::VerifyCa),
            Some(garbled.to_str().unwrap()),
        ));
        assert!(message.contains("garbled.pem"), "{message}");

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just some text\n").unwrap();
        let message = config_error(plan(Some(SslMode::VerifyCa), Some(empty.to_str().unwrap())));
        assert!(message.contains("no PEM certificate"), "{message}");
    }
}
