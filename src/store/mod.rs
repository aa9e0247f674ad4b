//! Persistence on sled: one tree per concern, typed keys (see [`codec`]), versioned
//! values, secrets sealed with the master key (see [`crypto`]).
//!
//! Trees: `spaces_by_id`, `users_by_space_user`, `link_buckets_by_exchange_id` and its
//! inverse `link_buckets_by_crm_id` (see [`link_buckets`]), `journal_by_user_seq`, `api_tokens_by_hash`, `subscriptions_by_id`,
//! `space_hooks_by_space`, `sync_state_by_user`, `create_sends_by_user`,
//! `pending_removals_by_target` (see [`removals`]), and `meta` (schema version, master-key
//! check). All calls are blocking; async callers run them on a blocking thread.

pub mod codec;
pub mod create_sends;
pub mod crypto;
mod error;
pub mod hooks;
pub mod journal;
pub mod link_buckets;
pub mod links;
mod migrate;
pub mod removals;
pub mod spaces;
pub mod sync_state;
pub mod tokens;
mod tree;
pub mod users;

use std::path::{Path, PathBuf};

use secrecy::SecretString;

pub use error::{StoreError, StoreResult};

use crypto::{Cipher, SealedSecret};
use hooks::{SpaceHookRecord, SubscriptionRecord};
use journal::JournalEvent;
use spaces::SpaceRecord;
use sync_state::UserSyncState;
use tokens::TokenRecord;
use tree::TypedTree;
use users::UserRecord;

/// The schema version this binary writes. Version 1 stored one sled entry per link and
/// index; version 2 stores links in buckets ([`link_buckets`]).
pub const SCHEMA_VERSION: u32 = 2;
/// How many journal events are kept per user by default.
pub const DEFAULT_JOURNAL_LIMIT: usize = 1000;

const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";
const KEY_CHECK_KEY: &[u8] = b"master_key_check";
const KEY_CHECK_CONTEXT: &str = "meta/master_key_check";
const KEY_CHECK_TEXT: &str = "exsync master key check";

/// The opened store. Cloning is cheap and shares the database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    cipher: Cipher,
    meta: sled::Tree,
    spaces: TypedTree<SpaceRecord>,
    users: TypedTree<UserRecord>,
    link_buckets_by_exchange: sled::Tree,
    link_buckets_by_crm: sled::Tree,
    journal: TypedTree<JournalEvent>,
    tokens: TypedTree<TokenRecord>,
    subscriptions: TypedTree<SubscriptionRecord>,
    space_hooks: TypedTree<SpaceHookRecord>,
    sync_states: TypedTree<UserSyncState>,
    create_sends: TypedTree<create_sends::CreateSends>,
    pending_removals: TypedTree<removals::PendingRemoval>,
    /// Spaces are read by every cycle of every user and rarely change.
    space_memo: tree::DecodeMemo<SpaceRecord>,
    /// The summaries of the sync states too large to scan on every status read.
    large_state_summaries: sync_state::SummaryCache,
    journal_limit: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Where the sled database lives inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("db")
}

/// Creates the data directory and its `db/` readable by the owner only (0700): the
/// database holds sealed secrets, tokens' hashes and every synced contact. `db/` is
/// exsync's own and is tightened when it exists already; a data directory made beforehand
/// (by an operator or a service manager) is left as it is, with a warning when others
/// may read it.
fn create_private_dirs(data_dir: &Path) -> std::io::Result<()> {
    let db = database_path(data_dir);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let private = || {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true).mode(0o700);
            builder
        };
        if data_dir.is_dir() {
            let mode = std::fs::metadata(data_dir)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    data_dir = %data_dir.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the data directory is open to other users; exsync keeps its database in \
                     db/ (0700), but consider chmod 700 on the data directory"
                );
            }
        } else {
            private().create(data_dir)?;
        }
        private().create(&db)?;
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(&db)
    }
}

/// How long opening waits for a previous holder of the database (a process or a store
/// that is still shutting down) to let go of its lock.
/// sled's page cache (its default is 1 GiB): enough for the hot links and states of
/// thousands of users while keeping the process small.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the database writes its buffers to disk on its own, and cleans its
/// segments (it spends up to half of each period on that). sled's default is every half
/// second, and each period costs a few hundred microseconds even when nothing changed:
/// most of a quiet engine's CPU. What must not wait is flushed where it is written
/// instead: a cycle's pending writes before they are sent and its commit, and every
/// admin change before it is acknowledged ([`Store::flush`]).
pub const BACKGROUND_FLUSH: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens sled, waiting briefly while another holder releases the database lock.
fn open_database(path: &Path) -> StoreResult<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(path)
            .mode(sled::Mode::HighThroughput)
            .cache_capacity(CACHE_BYTES)
            .flush_every_ms(Some(BACKGROUND_FLUSH.as_millis() as u64))
            .open()
        {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                return Err(StoreError::Io {
                    context: format!(
                        "the database in {} is in use by another exsync process",
                        path.display()
                    ),
                    source: e,
                })
            }
            other => return Ok(other?),
        }
    }
}

impl Store {
    /// Opens (creating on first start) the store in `data_dir`. Secrets are sealed with
    /// `master_key` (base64 of 32 bytes) or, when absent, with the key file in `data_dir`.
    pub fn open(data_dir: &Path, master_key: Option<&SecretString>) -> StoreResult<Self> {
        create_private_dirs(data_dir).map_err(|source| StoreError::Io {
            context: format!("cannot create data directory {}", data_dir.display()),
            source,
        })?;
        let cipher = match master_key {
            Some(key) => Cipher::from_base64(secrecy::ExposeSecret::expose_secret(key))?,
            None => Cipher::load_or_create_key_file(data_dir)?,
        };
        let db = open_database(&database_path(data_dir))?;
        let store = Self {
            meta: db.open_tree("meta")?,
            spaces: TypedTree::open(&db, "spaces_by_id")?,
            users: TypedTree::open(&db, "users_by_space_user")?,
            link_buckets_by_exchange: db.open_tree("link_buckets_by_exchange_id")?,
            link_buckets_by_crm: db.open_tree("link_buckets_by_crm_id")?,
            journal: TypedTree::open(&db, "journal_by_user_seq")?,
            tokens: TypedTree::open(&db, "api_tokens_by_hash")?,
            subscriptions: TypedTree::open(&db, "subscriptions_by_id")?,
            space_hooks: TypedTree::open(&db, "space_hooks_by_space")?,
            sync_states: TypedTree::open(&db, "sync_state_by_user")?,
            create_sends: TypedTree::open(&db, "create_sends_by_user")?,
            pending_removals: TypedTree::open(&db, "pending_removals_by_target")?,
            space_memo: tree::DecodeMemo::default(),
            large_state_summaries: sync_state::SummaryCache::default(),
            journal_limit: DEFAULT_JOURNAL_LIMIT,
            db,
            cipher,
        };
        store.check_schema()?;
        store.check_master_key()?;
        Ok(store)
    }

    fn check_schema(&self) -> StoreResult<()> {
        match self.meta.get(SCHEMA_VERSION_KEY)? {
            None => {
                self.write_schema_version()?;
                Ok(())
            }
            Some(bytes) => {
                let found = <[u8; 4]>::try_from(bytes.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        what: "schema version",
                        reason: "not a 4-byte integer".into(),
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::SchemaTooNew {
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                self.migrate_from(found)
            }
        }
    }

    /// Fails fast when the master key is not the one the data directory was written with.
    fn check_master_key(&self) -> StoreResult<()> {
        match self.meta.get(KEY_CHECK_KEY)? {
            Some(bytes) => {
                let sealed: SealedSecret =
                    serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                        what: "master key check",
                        reason: e.to_string(),
                    })?;
                self.cipher.open(KEY_CHECK_CONTEXT, &sealed).map_err(|_| {
                    StoreError::Crypto(
                        "the master key does not match the one this data directory was \
                         created with; set EXSYNC_MASTER_KEY to the original key"
                            .into(),
                    )
                })?;
                Ok(())
            }
            None => {
                let sealed = self.cipher.seal(
                    KEY_CHECK_CONTEXT,
                    &SecretString::from(KEY_CHECK_TEXT.to_owned()),
                )?;
                let bytes = serde_json::to_vec(&sealed).map_err(|e| StoreError::Corrupt {
                    what: "master key check",
                    reason: e.to_string(),
                })?;
                self.meta.insert(KEY_CHECK_KEY, bytes)?;
                Ok(())
            }
        }
    }

    /// Seals a secret for storage under `context`.
    pub fn seal(&self, context: &str, secret: &SecretString) -> StoreResult<SealedSecret> {
        self.cipher.seal(context, secret)
    }

    /// Opens a sealed secret stored under `context`.
    pub fn open_secret(&self, context: &str, sealed: &SealedSecret) -> StoreResult<SecretString> {
        self.cipher.open(context, sealed)
    }

    /// Whether the database answers reads.
    pub fn is_ready(&self) -> bool {
        self.meta.get(SCHEMA_VERSION_KEY).is_ok()
    }

    /// Writes everything buffered to disk.
    pub fn flush(&self) -> StoreResult<()> {
        self.db.flush()?;
        Ok(())
    }
}

/// A store in a fresh temporary directory, for unit tests.
#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), None).expect("store opens");
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_data_directory_and_its_database_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let data_dir = parent.path().join("exsync").join("data");
        drop(Store::open(&data_dir, None).unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data_dir), 0o700, "the data directory");
        assert_eq!(mode(&database_path(&data_dir)), 0o700, "db/");
        // A db/ left open by an earlier version is tightened on the next start.
        std::fs::set_permissions(
            database_path(&data_dir),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        drop(Store::open(&data_dir, None).unwrap());
        assert_eq!(
            mode(&database_path(&data_dir)),
            0o700,
            "db/ after a restart"
        );
    }

    #[test]
    fn reopening_with_another_master_key_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), None).unwrap());
        let other = SecretString::from(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            [9u8; 32],
        ));
        let err = Store::open(dir.path(), Some(&other)).unwrap_err();
        assert!(
            err.to_string().contains("master key does not match"),
            "{err}"
        );
        assert!(Store::open(dir.path(), None).is_ok());
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), None).unwrap();
            store
                .meta
                .insert(SCHEMA_VERSION_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            store.flush().unwrap();
        }
        assert!(matches!(
            Store::open(dir.path(), None),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
