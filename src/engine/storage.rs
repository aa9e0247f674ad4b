//! The engine's storage calls: run on blocking threads, a bounded number at a time across
//! all users and arbiters. Without the bound, thousands of users ticking together would
//! start hundreds of blocking threads (each with its own stack and allocator arena) for
//! work the database serialises anyway.
//!
//! Small calls run inline instead ([`on_store_inline`]): reading and writing a few records
//! of a few kilobytes takes sled microseconds from its page cache, less than the hand-off
//! to a pool thread and back (two thread wake-ups), which dominated a quiet tick.

use tokio::sync::Semaphore;

use super::runner::CycleError;
use crate::store::{Store, StoreError};

/// Storage calls of the engine that run at once.
pub const STORE_CONCURRENCY: usize = 4;

static SLOTS: Semaphore = Semaphore::const_new(STORE_CONCURRENCY);

/// Runs `work` against the store on a blocking thread once a slot is free; store errors
/// become a `store_failed` cycle error.
pub async fn on_store<T, F>(store: &Store, work: F) -> Result<T, CycleError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let _slot = SLOTS
        .acquire()
        .await
        .map_err(|_| CycleError::new("store_failed", "the storage slots were closed"))?;
    let store = store.clone();
    match actix_web::rt::task::spawn_blocking(move || work(&store)).await {
        Ok(result) => result.map_err(failed),
        Err(_) => Err(CycleError::new("store_failed", "a storage worker stopped")),
    }
}

/// The stored sync state size up to which a cycle loads and saves its state inline.
pub const INLINE_STATE_BYTES: usize = 16 * 1024;

/// Runs `work` against the store on the calling thread, for calls known to be small (a
/// few records of a few kilobytes); store errors become a `store_failed` cycle error.
pub fn on_store_inline<T>(
    store: &Store,
    work: impl FnOnce(&Store) -> Result<T, StoreError>,
) -> Result<T, CycleError> {
    work(store).map_err(failed)
}

fn failed(e: StoreError) -> CycleError {
    CycleError::new("store_failed", format!("exsync's data store failed: {e}"))
}
