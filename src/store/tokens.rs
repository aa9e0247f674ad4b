//! Admin API tokens, stored only as SHA-256 hashes.
//!
//! Tokens are 256 random bits, so a plain hash is enough to make the stored form useless
//! to a reader of the data directory; no password-stretching is needed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::codec::Versioned;
use super::error::StoreResult;
use super::Store;

/// Where a token came from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenOrigin {
    /// Generated on first start and printed once.
    Generated,
    /// Given in configuration (`EXSYNC_ADMIN_TOKEN`).
    Configured,
}

/// A stored token (its hash is the key).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct TokenRecord {
    /// Where it came from.
    pub origin: TokenOrigin,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl Versioned for TokenRecord {
    const WHAT: &'static str = "api token";
    const VERSION: u8 = 1;
}

/// The SHA-256 of a token, the form it is stored and compared in.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A fresh random token: 32 random bytes, URL-safe base64.
pub fn generate_token() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// What start-up did about the admin token.
#[derive(Debug)]
pub enum TokenBootstrap {
    /// The configured token is in place (older configured tokens were replaced).
    Configured,
    /// Tokens already existed; nothing changed.
    Existing,
    /// No token existed: this one was generated and must be shown to the operator once.
    Generated(SecretString),
}

impl Store {
    /// Makes sure an admin token exists: the configured one if given (replacing any
    /// earlier configured token), otherwise a generated one on first start.
    pub fn bootstrap_admin_token(
        &self,
        configured: Option<&SecretString>,
        now: DateTime<Utc>,
    ) -> StoreResult<TokenBootstrap> {
        if let Some(token) = configured {
            let hash = token_hash(token.expose_secret());
            for (key, record) in self.tokens.scan_prefix(&[])? {
                if record.origin == TokenOrigin::Configured && key.as_ref() != hash {
                    self.tokens.remove(&key)?;
                }
            }
            let record = TokenRecord {
                origin: TokenOrigin::Configured,
                created_at: now,
            };
            if self.tokens.get(&hash)?.is_none() {
                self.tokens.put(&hash, &record)?;
            }
            return Ok(TokenBootstrap::Configured);
        }
        if !self.tokens.keys_with_prefix(&[])?.is_empty() {
            return Ok(TokenBootstrap::Existing);
        }
        let token = generate_token();
        let record = TokenRecord {
            origin: TokenOrigin::Generated,
            created_at: now,
        };
        self.tokens
            .put(&token_hash(token.expose_secret()), &record)?;
        Ok(TokenBootstrap::Generated(token))
    }

    /// The hashes of every valid token.
    pub fn token_hashes(&self) -> StoreResult<Vec<[u8; 32]>> {
        Ok(self
            .tokens
            .keys_with_prefix(&[])?
            .into_iter()
            .filter_map(|k| k.as_ref().try_into().ok())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[test]
    fn first_start_generates_once_and_configured_tokens_replace_each_other() {
        let (_dir, store) = test_store();
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let TokenBootstrap::Generated(first) = store.bootstrap_admin_token(None, now).unwrap()
        else {
            panic!("first start must generate a token");
        };
        assert!(matches!(
            store.bootstrap_admin_token(None, now).unwrap(),
            TokenBootstrap::Existing
        ));
        let a = SecretString::from("configured-a".to_owned());
        let b = SecretString::from("configured-b".to_owned());
        store.bootstrap_admin_token(Some(&a), now).unwrap();
        store.bootstrap_admin_token(Some(&b), now).unwrap();
        let hashes = store.token_hashes().unwrap();
        assert!(hashes.contains(&token_hash(first.expose_secret())));
        assert!(hashes.contains(&token_hash("configured-b")));
        assert!(!hashes.contains(&token_hash("configured-a")));
    }
}
