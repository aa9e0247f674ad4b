//! The storage layer's error type.

/// What can go wrong reading or writing the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an I/O or corruption error.
    #[error("database error: {0}")]
    Sled(#[from] sled::Error),
    /// A stored value could not be decoded.
    #[error("stored {what} could not be decoded: {reason}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// The decoder's explanation.
        reason: String,
    },
    /// A stored value was written by a newer schema than this binary knows.
    #[error("stored {what} has schema version {found}, this binary reads up to {supported}")]
    UnsupportedVersion {
        /// Which kind of record.
        what: &'static str,
        /// Version found on disk.
        found: u8,
        /// Highest version this binary reads.
        supported: u8,
    },
    /// The data directory was written by a newer exsync.
    #[error("the data directory has schema version {found}; this exsync supports {supported}")]
    SchemaTooNew {
        /// Version found on disk.
        found: u32,
        /// Version this binary writes.
        supported: u32,
    },
    /// Encryption or decryption failed (wrong master key or tampered data).
    #[error("{0}")]
    Crypto(String),
    /// A filesystem operation around the store failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A record that must exist does not.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A record that must not exist already does.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
}

impl From<sled::transaction::TransactionError<StoreError>> for StoreError {
    fn from(err: sled::transaction::TransactionError<StoreError>) -> Self {
        match err {
            sled::transaction::TransactionError::Abort(inner) => inner,
            sled::transaction::TransactionError::Storage(e) => StoreError::Sled(e),
        }
    }
}

/// Shorthand for results of store operations.
pub type StoreResult<T> = Result<T, StoreError>;
