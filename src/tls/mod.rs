//! HTTPS: loading the PEM certificate chain and key `serve` terminates TLS with, the
//! rustls server configuration (ring, no OpenSSL), reloading the pair on SIGHUP
//! ([`reload`]), and the start-up check of a plain-HTTP public URL.
//!
//! Error messages name the file and what is wrong with it, never its content: a key file
//! is secret, and a parser's message may quote the line it stumbled on.

pub mod reload;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::ResolvesServerCert;
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

pub use reload::{reload_on_hangup, CertResolver};

/// The certificate chain and key files HTTPS is served with (`tls_cert`, `tls_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of the first certificate.
    pub key: PathBuf,
}

/// Why the certificate and key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Only one of the two files is configured.
    #[error(
        "{given} is set but {missing} is not: give both (PEM certificate chain and private \
         key) to serve HTTPS, or neither for plain HTTP"
    )]
    Incomplete {
        /// The variable that is set.
        given: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// A file cannot be read.
    #[error("cannot read the TLS {what} file {path}: {source}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file holds no usable PEM certificate.
    #[error("the TLS certificate file {path} {reason}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. `contains no PEM certificate`.
        reason: String,
    },
    /// The key file holds no usable PEM private key.
    #[error(
        "the TLS private key file {path} contains no usable PEM private key (PKCS#8, PKCS#1 \
         or SEC1; RSA, ECDSA or Ed25519)"
    )]
    Key {
        /// The file.
        path: PathBuf,
    },
    /// The key is not the key of the first certificate.
    #[error("the TLS private key {key} does not belong to the certificate {cert}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the pair for another reason.
    #[error("the TLS certificate {cert} and key {key} cannot be used: {source}")]
    Unusable {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason (it never quotes key material).
        source: rustls::Error,
    },
}

impl TlsFiles {
    /// The files to serve HTTPS with: `None` for plain HTTP when neither is given, an
    /// error when only one is.
    pub fn from_parts(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
    ) -> Result<Option<Self>, TlsError> {
        match (cert, key) {
            (Some(cert), Some(key)) => Ok(Some(Self { cert, key })),
            (None, None) => Ok(None),
            (Some(_), None) => Err(TlsError::Incomplete {
                given: "tls_cert (EXSYNC_TLS_CERT)",
                missing: "tls_key (EXSYNC_TLS_KEY)",
            }),
            (None, Some(_)) => Err(TlsError::Incomplete {
                given: "tls_key (EXSYNC_TLS_KEY)",
                missing: "tls_cert (EXSYNC_TLS_CERT)",
            }),
        }
    }

    /// Reads and checks the pair: at least one certificate, a key rustls can sign with,
    /// and the key belonging to the first certificate.
    pub fn load(&self) -> Result<CertifiedKey, TlsError> {
        let cert_pem = read(&self.cert, "certificate")?;
        let chain = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| TlsError::Certificate {
                path: self.cert.clone(),
                reason: pem_problem(&e).into(),
            })?;
        if chain.is_empty() {
            return Err(TlsError::Certificate {
                path: self.cert.clone(),
                reason: "contains no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            });
        }
        let key_pem = read(&self.key, "private key")?;
        // The parser's own error is dropped: it may quote a line of the key file.
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Key {
            path: self.key.clone(),
        })?;
        let signing_key =
            provider()
                .key_provider
                .load_private_key(key)
                .map_err(|_| TlsError::Key {
                    path: self.key.clone(),
                })?;
        let certified = CertifiedKey::new(chain, signing_key);
        match certified.keys_match() {
            Ok(()) => Ok(certified),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                Err(TlsError::Mismatch {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                })
            }
            // A key type whose public half rustls cannot derive: served, as rustls does.
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
                Ok(certified)
            }
            Err(source) => Err(TlsError::Unusable {
                cert: self.cert.clone(),
                key: self.key.clone(),
                source,
            }),
        }
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_owned(),
        source,
    })
}

/// What is wrong with a PEM file, in words that quote none of it.
fn pem_problem(error: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error;
    match error {
        Error::MissingSectionEnd { .. } => {
            "is not valid PEM: a section has no END line (is the file complete?)"
        }
        Error::IllegalSectionStart { .. } => "is not valid PEM: a BEGIN line is malformed",
        Error::Base64Decode(_) => "is not valid PEM: a section is not valid base64",
        _ => "is not valid PEM",
    }
}

/// The one crypto provider exsync's TLS uses (ring, as reqwest's does).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls server configuration: safe default protocol versions, no client
/// certificates, the certificate chosen per handshake by `resolver`. actix-web adds the
/// ALPN protocols (`h2`, `http/1.1`) itself.
pub fn server_config(resolver: Arc<dyn ResolvesServerCert>) -> ServerConfig {
    ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(resolver)
}

/// Whether `public_url` is `http://` on a host other than loopback. Graph refuses
/// subscriptions whose notification URL is not `https://`, so such a deployment gets no
/// Exchange change notifications and falls back to the periodic ticks; `serve` warns.
/// Loopback hosts (`localhost`, `127.0.0.0/8`, `::1`) are the simulators' and tests'.
pub fn is_plain_http_off_loopback(public_url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(public_url) else {
        return false;
    };
    if url.scheme() != "http" {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return !ip.is_loopback();
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name != "localhost" && !name.ends_with(".localhost")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_flagged_only_off_loopback() {
        for url in [
            "http://exsync.example.com",
            "http://exsync.example.com:8080/base",
            "http://10.0.0.5:8080",
            "http://0.0.0.0:8080",
            "http://[2001:db8::1]:8080",
            "HTTP://Exsync.Example.com",
        ] {
            assert!(is_plain_http_off_loopback(url), "{url} is flagged");
        }
        for url in [
            "https://exsync.example.com",
            "https://10.0.0.5",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://app.localhost",
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://[::1]:8080",
            "not a url",
        ] {
            assert!(!is_plain_http_off_loopback(url), "{url} is not flagged");
        }
    }

    #[test]
    fn one_file_without_the_other_is_refused_naming_both() {
        let err = TlsFiles::from_parts(Some("c.pem".into()), None).unwrap_err();
        assert!(err.to_string().contains("EXSYNC_TLS_KEY"), "{err}");
        let err = TlsFiles::from_parts(None, Some("k.pem".into())).unwrap_err();
        assert!(err.to_string().contains("EXSYNC_TLS_CERT"), "{err}");
        assert_eq!(TlsFiles::from_parts(None, None).unwrap(), None);
    }
}
