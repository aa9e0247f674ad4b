//! Certificate reload without a restart: [`CertResolver`] hands rustls the current pair
//! for each handshake and swaps it when [`reload_on_hangup`] sees SIGHUP. Connections
//! already established keep the session they negotiated, so requests in flight finish;
//! handshakes after the swap get the new certificate. A reload that fails (a file half
//! written, a key that does not match) keeps the previous pair and logs a warning.

use std::future::Future;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::{TlsError, TlsFiles};

/// The certificate exsync serves, reloadable from its files.
pub struct CertResolver {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl std::fmt::Debug for CertResolver {
    // The pair itself holds the private key: show where it comes from only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertResolver")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl CertResolver {
    /// Loads the pair from `files`; fails as [`TlsFiles::load`] does.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let pair = files.load()?;
        Ok(Self {
            files,
            current: RwLock::new(Arc::new(pair)),
        })
    }

    /// Reads the files again and serves the new pair to later handshakes; on an error the
    /// current pair stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = Arc::new(self.files.load()?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = pair;
        Ok(())
    }

    /// The pair new handshakes get.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The files the pair is read from.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// Reloads `resolver` on every SIGHUP (`systemctl reload`, or a certbot / acme.sh deploy
/// hook running `kill -HUP`) while the returned future runs. The signal is taken over at
/// the call, so a SIGHUP arriving before the future is first polled reloads rather than
/// ending the process. Does nothing on platforms without signals.
pub fn reload_on_hangup(resolver: Arc<CertResolver>) -> impl Future<Output = ()> {
    #[cfg(unix)]
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
    async move {
        #[cfg(unix)]
        {
            let mut hangup = match hangup {
                Ok(hangup) => hangup,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGHUP; a new TLS certificate needs a restart");
                    return;
                }
            };
            while hangup.recv().await.is_some() {
                let reloading = resolver.clone();
                match actix_web::web::block(move || reloading.reload()).await {
                    Ok(Ok(())) => tracing::info!(
                        cert = %resolver.files().cert.display(),
                        "SIGHUP: reloaded the TLS certificate; new connections use it"
                    ),
                    Ok(Err(e)) => tracing::warn!(
                        error = %e,
                        "SIGHUP: the TLS certificate was not reloaded; still serving the previous one"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "SIGHUP: the TLS certificate reload failed")
                    }
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = resolver;
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &std::path::Path) -> (TlsFiles, Vec<u8>) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("certificate generated");
        let files = TlsFiles {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.cert, generated.cert.pem()).unwrap();
        std::fs::write(&files.key, generated.signing_key.serialize_pem()).unwrap();
        (files, generated.cert.der().to_vec())
    }

    fn served(resolver: &CertResolver) -> Vec<u8> {
        resolver.current().cert[0].to_vec()
    }

    #[test]
    fn a_reload_swaps_the_pair_and_a_failed_one_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let (files, first) = write_pair(dir.path());
        let resolver = CertResolver::load(files.clone()).expect("loads");
        assert_eq!(served(&resolver), first);

        let (_, second) = write_pair(dir.path());
        resolver.reload().expect("reloads");
        assert_eq!(served(&resolver), second);

        // A key that belongs to another certificate: refused, the second pair stays.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(&files.key, other.signing_key.serialize_pem()).unwrap();
        let err = resolver.reload().unwrap_err();
        assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
        std::fs::write(&files.cert, "half written").unwrap();
        let err = resolver.reload().unwrap_err();
        assert!(matches!(err, TlsError::Certificate { .. }), "{err}");
        assert_eq!(served(&resolver), second);
    }

    #[test]
    fn errors_name_the_file_and_never_quote_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let (files, _) = write_pair(dir.path());
        let secret_line = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSECRETSECRET";
        std::fs::write(
            &files.key,
            format!("-----BEGIN PRIVATE KEY-----\n{secret_line}\n"),
        )
        .unwrap();
        let err = files.load().unwrap_err().to_string();
        assert!(err.contains(&files.key.display().to_string()), "{err}");
        assert!(!err.contains("SECRET"), "{err}");

        std::fs::remove_file(&files.key).unwrap();
        let err = files.load().unwrap_err().to_string();
        assert!(
            err.contains("cannot read the TLS private key file"),
            "{err}"
        );
        assert!(err.contains(&files.key.display().to_string()), "{err}");
    }
}
