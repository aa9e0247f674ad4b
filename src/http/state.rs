//! What every request handler can reach: the store, the admin tokens, the clock.

use std::collections::HashSet;
use std::sync::Arc;

use crate::clock::SharedClock;
use crate::store::Store;

use super::error::ApiError;

/// Shared application state, cloned into each worker.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub store: Store,
    /// SHA-256 hashes of the valid admin tokens.
    pub token_hashes: Arc<HashSet<[u8; 32]>>,
    /// The source of "now".
    pub clock: SharedClock,
    /// The sync engine, when running; webhooks and admin actions notify it.
    pub engine: Option<crate::engine::Engine>,
    /// The upstream clients of the sync cycle, for connection tests and folder lists.
    pub sync: Option<crate::engine::cycle::SyncCycle>,
    /// The process's metrics, served at `/metrics` and counting notifications.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// SHA-256 hash of the read-only metrics token, when one is configured.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// Held by every clone; when the last clone is gone the receiver in [`crate::app`]
    /// learns that no worker holds the store any more, so it can be closed.
    pub held: tokio::sync::mpsc::Sender<()>,
}

impl AppState {
    /// The times of quiet cycles the engine holds in memory (none without an engine), to
    /// show over the stored status.
    pub fn quiet_cycles(&self) -> crate::engine::quiet::QuietCycles {
        self.engine
            .as_ref()
            .map(|engine| engine.quiet_cycles().clone())
            .unwrap_or_default()
    }

    /// Runs blocking store work on a blocking thread, off the async workers.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(Store) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        actix_web::web::block(move || work(store))
            .await
            .map_err(|_| {
                ApiError::internal("worker_failed", "a storage worker stopped unexpectedly")
            })?
    }
}
