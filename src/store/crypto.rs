//! Encryption at rest for secrets (client secrets, API secrets, passwords).
//!
//! Secrets are sealed with AES-256-GCM under the master key, with a fresh random nonce per
//! value and the record's context (e.g. `space/acme/microsoft.client_secret`) as associated
//! data, so a sealed value copied to another record fails to open. The master key comes
//! from configuration or from a key file generated in the data directory with owner-only
//! permissions.

use std::fmt;
use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::error::{StoreError, StoreResult};

/// The file name of the generated master key inside the data directory.
pub const MASTER_KEY_FILE: &str = "master.key";

/// A secret as stored: nonce and ciphertext, both base64.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    nonce: String,
    ciphertext: String,
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

/// Seals and opens secrets with the master key.
#[derive(Clone)]
pub struct Cipher {
    aead: Aes256Gcm,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(..)")
    }
}

impl Cipher {
    /// A cipher from a 32-byte key.
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            aead: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// A cipher from a base64-encoded 32-byte key, as given in `EXSYNC_MASTER_KEY`.
    pub fn from_base64(encoded: &str) -> StoreResult<Self> {
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|_| StoreError::Crypto("the master key is not valid base64".into()))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            StoreError::Crypto("the master key must decode to exactly 32 bytes".into())
        })?;
        Ok(Self::from_key(&key))
    }

    /// Loads the key file in `data_dir`, creating it (mode 0600) on first start.
    pub fn load_or_create_key_file(data_dir: &Path) -> StoreResult<Self> {
        let path = data_dir.join(MASTER_KEY_FILE);
        let io_err = |context: &str, source| StoreError::Io {
            context: format!("{context} {}", path.display()),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(encoded) => Self::from_base64(&encoded),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                OsRng.fill_bytes(&mut key);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(&path)
                    .map_err(|e| io_err("cannot create master key file", e))?;
                file.write_all(BASE64.encode(key).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(|e| io_err("cannot write master key file", e))?;
                Ok(Self::from_key(&key))
            }
            Err(e) => Err(io_err("cannot read master key file", e)),
        }
    }

    /// Seals `secret`, binding it to `context`.
    pub fn seal(&self, context: &str, secret: &SecretString) -> StoreResult<SealedSecret> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret.expose_secret().as_bytes(),
            aad: context.as_bytes(),
        };
        let ciphertext = self
            .aead
            .encrypt(&nonce, payload)
            .map_err(|_| StoreError::Crypto("encryption failed".into()))?;
        Ok(SealedSecret {
            nonce: BASE64.encode(nonce),
            ciphertext: BASE64.encode(ciphertext),
        })
    }

    /// Opens a value sealed for `context`; fails on a wrong key or a tampered value.
    pub fn open(&self, context: &str, sealed: &SealedSecret) -> StoreResult<SecretString> {
        let fail = || {
            StoreError::Crypto(format!(
                "cannot decrypt {context}: the master key does not match the one it was stored with"
            ))
        };
        let nonce = BASE64.decode(&sealed.nonce).map_err(|_| fail())?;
        if nonce.len() != 12 {
            return Err(fail());
        }
        let ciphertext = BASE64.decode(&sealed.ciphertext).map_err(|_| fail())?;
        let plain = self
            .aead
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| fail())?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn sealed_secrets_open_only_in_their_context_and_key() {
        let cipher = Cipher::from_key(&[7; 32]);
        let sealed = cipher.seal("space/a/x", &secret("hunter2")).unwrap();
        assert_eq!(
            cipher.open("space/a/x", &sealed).unwrap().expose_secret(),
            "hunter2"
        );
        assert!(cipher.open("space/b/x", &sealed).is_err());
        assert!(Cipher::from_key(&[8; 32])
            .open("space/a/x", &sealed)
            .is_err());
        let json = serde_json::to_string(&sealed).unwrap();
        assert!(!json.contains("hunter2"));
        assert_eq!(format!("{sealed:?}"), "SealedSecret(..)");
    }

    #[test]
    fn key_file_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let first = Cipher::load_or_create_key_file(dir.path()).unwrap();
        let sealed = first.seal("c", &secret("s")).unwrap();
        let second = Cipher::load_or_create_key_file(dir.path()).unwrap();
        assert_eq!(second.open("c", &sealed).unwrap().expose_secret(), "s");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn configured_keys_must_be_32_bytes_of_base64() {
        assert!(Cipher::from_base64(&BASE64.encode([1u8; 32])).is_ok());
        assert!(Cipher::from_base64(&BASE64.encode([1u8; 16])).is_err());
        assert!(Cipher::from_base64("not base64!").is_err());
    }
}
