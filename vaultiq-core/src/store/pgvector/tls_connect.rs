//! The PostgreSQL client library's TLS hook (`MakeTlsConnect`) on
//! tokio-rustls, with SCRAM channel binding (`tls-server-end-point`) and
//! handshake failures turned into messages that name the cause.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use rustls::{CertificateError, ClientConfig};
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_rustls::TlsConnector;

/// A failed TLS handshake, described for the operator.
#[derive(Debug)]
pub(crate) struct TlsFailure {
    /// What went wrong and what to check.
    pub message: String,
    /// Whether connecting again cannot help (a certificate problem).
    pub permanent: bool,
}

impl std::fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsFailure {}

/// Makes one TLS connector per connection, for the host connected to.
#[derive(Clone)]
pub(crate) struct MakeRustls {
    config: Arc<ClientConfig>,
    trusted: Arc<str>,
}

impl MakeRustls {
    /// Connections with `config`; `trusted` describes its CAs in errors.
    pub(crate) fn new(config: Arc<ClientConfig>, trusted: &str) -> Self {
        MakeRustls {
            config,
            trusted: trusted.into(),
        }
    }
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = TlsFailure;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, TlsFailure> {
        let name = ServerName::try_from(host.to_string()).map_err(|_| TlsFailure {
            message: format!("host `{host}` is not a valid TLS server name"),
            permanent: true,
        })?;
        Ok(RustlsConnect {
            connector: TlsConnector::from(self.config.clone()),
            name,
            host: host.to_string(),
            trusted: self.trusted.clone(),
        })
    }
}

/// The TLS handshake of one connection.
pub(crate) struct RustlsConnect {
    connector: TlsConnector,
    name: ServerName<'static>,
    host: String,
    trusted: Arc<str>,
}

type Handshake<S> = Pin<Box<dyn Future<Output = Result<RustlsStream<S>, TlsFailure>> + Send>>;

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = TlsFailure;
    type Future = Handshake<S>;

    fn connect(self, stream: S) -> Handshake<S> {
        Box::pin(async move {
            let RustlsConnect {
                connector,
                name,
                host,
                trusted,
            } = self;
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|e| describe(e, &host, &trusted))?;
            let end_point = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(|cert| server_end_point(cert.as_ref()));
            Ok(RustlsStream { stream, end_point })
        })
    }
}

/// A TLS connection to the server.
pub(crate) struct RustlsStream<S> {
    stream: tokio_rustls::client::TlsStream<S>,
    end_point: Option<Vec<u8>>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        match &self.end_point {
            Some(hash) => ChannelBinding::tls_server_end_point(hash.clone()),
            None => ChannelBinding::none(),
        }
    }
}

/// A handshake error as a message naming the cause.
fn describe(err: io::Error, host: &str, trusted: &str) -> TlsFailure {
    let permanent = |message: String| TlsFailure {
        message,
        permanent: true,
    };
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return TlsFailure {
            message: format!("TLS handshake with `{host}` failed: {err}"),
            permanent: false,
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(cert) => permanent(match cert {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "the certificate of `{host}` is not signed by a trusted CA (trusted: {trusted}); \
                 is sslrootcert the CA that issued the server's certificate?"
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the certificate of the server does not name `{host}` (sslmode=verify-full \
                     checks the host name: connect with a name the certificate carries, e.g. the \
                     instance endpoint, not an IP address or alias)"
                )
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the certificate of `{host}` has expired")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the certificate of `{host}` is not valid yet (check the clock)")
            }
            other => format!("the certificate of `{host}` was rejected: {other:?}"),
        }),
        other => permanent(format!("TLS handshake with `{host}` failed: {other}")),
    }
}

/// RFC 5929 `tls-server-end-point`: the certificate's hash with the hash
/// function of its signature (SHA-256 for MD5 and SHA-1). `None` for
/// algorithms without a defined hash (RSASSA-PSS, EdDSA): SCRAM then runs
/// without channel binding, as libpq does.
fn server_end_point(cert: &[u8]) -> Option<Vec<u8>> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, ... }
    let (certificate, _) = der(cert, 0x30)?;
    let (_tbs, rest) = der(certificate, 0x30)?;
    let (algorithm, _) = der(rest, 0x30)?;
    let (oid, _) = der(algorithm, 0x06)?;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    let hash = match oid {
        o if o == ECDSA_SHA1 => 256,
        [prefix @ .., last] if prefix == RSA => match last {
            4 | 5 | 11 => 256, // md5, sha1, sha256WithRSAEncryption
            12 => 384,
            13 => 512,
            _ => return None,
        },
        [prefix @ .., last] if prefix == ECDSA_SHA2 => match last {
            2 => 256,
            3 => 384,
            4 => 512,
            _ => return None,
        },
        _ => return None,
    };
    Some(match hash {
        256 => Sha256::digest(cert).to_vec(),
        384 => Sha384::digest(cert).to_vec(),
        _ => Sha512::digest(cert).to_vec(),
    })
}

/// The contents of the DER element with `tag` at the start of `input`, and
/// what follows it.
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let bytes = usize::from(first & 0x7f);
        if bytes == 0 || bytes > 4 || rest.len() < bytes {
            return None;
        }
        let (len, after) = rest.split_at(bytes);
        rest = after;
        len.iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A certificate-shaped DER value: SEQUENCE { SEQUENCE {..tbs..},
    /// SEQUENCE { OID }, BIT STRING }, long-form lengths included.
    fn cert_with(oid: &[u8]) -> Vec<u8> {
        let tbs = [vec![0x30, 0x81, 0x80], vec![0u8; 0x80]].concat();
        let alg = [
            vec![0x30, oid.len() as u8 + 2, 0x06, oid.len() as u8],
            oid.to_vec(),
        ]
        .concat();
        let sig = vec![0x03, 0x02, 0x00, 0xff];
        let body = [tbs, alg, sig].concat();
        [vec![0x30, 0x82, 0x00, body.len() as u8], body].concat()
    }

    #[test]
    fn end_point_hash_follows_the_signature_algorithm() {
        let sha256_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 11];
        let cert = cert_with(&sha256_rsa);
        assert_eq!(
            server_end_point(&cert).unwrap(),
            Sha256::digest(&cert).to_vec()
        );
        let sha1_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 5];
        assert_eq!(server_end_point(&cert_with(&sha1_rsa)).unwrap().len(), 32);
        let ecdsa_sha384 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
        let cert = cert_with(&ecdsa_sha384);
        assert_eq!(
            server_end_point(&cert).unwrap(),
            Sha384::digest(&cert).to_vec()
        );
        let rsa_pss = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 10];
        assert!(server_end_point(&cert_with(&rsa_pss)).is_none());
        assert!(server_end_point(&[0x30, 0x05, 0x01]).is_none());
        assert!(server_end_point(&[]).is_none());
    }
}
