//! The task that works through pending removals: woken by admin changes, and otherwise
//! every tick interval for the retries; at start and then hourly it also looks for
//! orphaned registrations. Time for due attempts comes from the injected clock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use tokio::sync::{watch, Notify};

use super::{connection_for, delete_upstream, is_due, retire_orphans, settle};
use crate::clock::SharedClock;
use crate::engine::cycle::{SpaceClients, SyncCycle};
use crate::engine::storage::on_store;
use crate::store::removals::PendingRemoval;
use crate::store::Store;

/// How often the sweep also looks for orphaned registrations (besides at start).
pub const ORPHAN_SCAN_EVERY: chrono::Duration = chrono::Duration::hours(1);

/// Upstream deletes in flight at once during a sweep.
const CONCURRENCY: usize = 8;

/// What a sweep needs: the store, the clock, and the cycle runner's client settings.
#[derive(Clone, Debug)]
pub struct Remover {
    store: Store,
    clock: SharedClock,
    sync: SyncCycle,
}

impl Remover {
    /// A remover over `store`, reaching the upstreams as `sync` does.
    pub fn new(store: Store, clock: SharedClock, sync: SyncCycle) -> Self {
        Self { store, clock, sync }
    }

    /// Attempts every due removal once; with `scan`, first retires orphans.
    pub async fn sweep(&self, every: Duration, scan: bool) {
        let now = self.clock.now();
        let loaded = on_store(&self.store, move |st| {
            if scan {
                let retired = retire_orphans(st, now)?;
                if retired > 0 {
                    tracing::info!(retired, "found registrations no user or space wants");
                }
            }
            let mut spaces = HashMap::new();
            let mut due = Vec::new();
            for removal in st.pending_removals()? {
                if !is_due(&removal, now, every) {
                    continue;
                }
                if !spaces.contains_key(&removal.space) {
                    spaces.insert(removal.space.clone(), st.space(&removal.space)?);
                }
                let current = spaces.get(&removal.space).and_then(Option::as_ref);
                let connection = connection_for(&removal, current);
                due.push((removal, connection));
            }
            Ok(due)
        })
        .await;
        let due = match loaded {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the pending removals");
                return;
            }
        };
        if due.is_empty() {
            return;
        }
        // One set of clients per space and connection, so a space's removals share a
        // Graph token.
        let mut built: HashMap<String, Result<SpaceClients, String>> = HashMap::new();
        let work: Vec<(PendingRemoval, Result<SpaceClients, String>)> = due
            .into_iter()
            .map(|(removal, connection)| {
                let key = serde_json::to_string(&(&removal.space, &connection)).unwrap_or_default();
                let clients = built
                    .entry(key)
                    .or_insert_with(|| {
                        self.sync
                            .removal_clients(&removal.space, &connection)
                            .map_err(|e| e.message)
                    })
                    .clone();
                (removal, clients)
            })
            .collect();
        let outcomes = attempt_all(work, now).await;
        if let Err(e) = on_store(&self.store, move |st| settle(st, outcomes, now)).await {
            tracing::error!(error = %e, "cannot record the outcome of removals");
        }
    }
}

/// Deletes each removal upstream, a few at a time.
async fn attempt_all(
    work: Vec<(PendingRemoval, Result<SpaceClients, String>)>,
    now: DateTime<Utc>,
) -> Vec<(PendingRemoval, Result<(), String>)> {
    stream::iter(work)
        .map(|(removal, clients)| async move {
            let outcome = match &clients {
                Ok(clients) => delete_upstream(clients, &removal, now).await,
                Err(e) => Err(e.clone()),
            };
            (removal, outcome)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// The running sweep task: wake it after an admin change, stop it at shutdown.
#[derive(Debug)]
pub struct Sweeper {
    kick: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<actix_web::rt::task::JoinHandle<()>>>,
}

impl Sweeper {
    /// Starts the task in the running actix system: a sweep at once (with a scan for
    /// orphans), then one on every wake-up and every `every`.
    pub fn start(remover: Remover, every: Duration) -> Self {
        let kick = Arc::new(Notify::new());
        let (stop, mut stopped) = watch::channel(false);
        let woken = kick.clone();
        let task = actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut scanned_at: Option<DateTime<Utc>> = None;
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = woken.notified() => {}
                    _ = stopped.changed() => break,
                }
                let now = remover.clock.now();
                let scan = scanned_at.is_none_or(|at| now - at >= ORPHAN_SCAN_EVERY);
                if scan {
                    scanned_at = Some(now);
                }
                tokio::select! {
                    _ = remover.sweep(every, scan) => {}
                    _ = stopped.changed() => break,
                }
            }
        });
        Self {
            kick,
            stop,
            task: Mutex::new(Some(task)),
        }
    }

    /// Asks for a sweep as soon as the current one (if any) is done.
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Stops the task, waiting up to `grace` for a sweep under way (what it had not
    /// recorded stays pending for the next start).
    pub async fn stop(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(grace, task).await.is_err() {
                abort.abort();
            }
        }
    }
}
