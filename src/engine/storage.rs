//! The engine's storage calls: run on blocking threads, a bounded number at a time across
//! all users and arbiters. Without the bound, thousands of users ticking together would
//! start hundreds of blocking threads (each with its own stack and allocator arena) for
//! work the database serialises anyway.

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
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CycleError::new(
            "store_failed",
            format!("exsync's data store failed: {e}"),
        )),
        Err(_) => Err(CycleError::new("store_failed", "a storage worker stopped")),
    }
}
