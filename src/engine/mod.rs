//! The engine: one supervised `UserSync` actor per user that may sync, a registry that
//! keeps the actors in line with the store, and the [`Engine`] handle the REST layer and
//! the webhooks use to reach them.

pub mod cycle;
pub mod messages;
pub mod quiet;
pub mod registry;
pub mod removals;
pub mod renewal;
pub mod runner;
pub mod schedule;
pub mod status;
pub mod storage;
pub mod user_sync;

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::clock::SharedClock;
use crate::ids::{SpaceId, UserId};
use crate::store::Store;
use messages::RuntimeStatus;
use registry::{CountActors, Lookup, NotifyUser, Refresh, RefreshSpace, Registry, StopAll};
use runner::CycleRunner;
use schedule::Pacing;
use user_sync::UserSyncDeps;

/// How the engine runs.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Cycle pacing.
    pub pacing: Pacing,
    /// Arbiters (threads) the actors are spread over.
    pub arbiters: usize,
    /// How long shutdown waits for running cycles to commit.
    pub shutdown_grace: Duration,
    /// Where cycles are counted and timed.
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            pacing: Pacing::default(),
            arbiters: 2,
            shutdown_grace: Duration::from_secs(30),
            metrics: Arc::default(),
        }
    }
}

/// A handle to the running engine. Cloning is cheap.
#[derive(Clone)]
pub struct Engine {
    registry: Addr<Registry>,
    arbiters: Arc<Vec<Arbiter>>,
    released: Arc<tokio::sync::Mutex<tokio::sync::mpsc::Receiver<()>>>,
    events: tokio::sync::broadcast::Sender<messages::CycleEvent>,
    quiet: quiet::QuietCycles,
    grace: Duration,
    /// Pending upstream removals are retried this often (the tick interval).
    sweep_every: Duration,
    removals: Option<Arc<removals::Sweeper>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

impl Engine {
    /// Starts the engine inside the running actix system: the registry starts an actor
    /// for every user that may sync.
    pub fn start(
        store: Store,
        runner: Arc<dyn CycleRunner>,
        clock: SharedClock,
        options: EngineOptions,
    ) -> Self {
        let (held, released) = tokio::sync::mpsc::channel(1);
        let (events, _) = tokio::sync::broadcast::channel(1024);
        let quiet = quiet::QuietCycles::default();
        let arbiters: Vec<Arbiter> = (0..options.arbiters).map(|_| Arbiter::new()).collect();
        let handles = arbiters.iter().map(Arbiter::handle).collect();
        let deps = UserSyncDeps {
            store,
            runner,
            clock,
            pacing: options.pacing,
            held,
            events: events.clone(),
            peers: None,
            quiet: quiet.clone(),
            metrics: options.metrics.clone(),
        };
        let registry = Registry::new(deps, handles).start();
        Self {
            registry,
            arbiters: Arc::new(arbiters),
            released: Arc::new(tokio::sync::Mutex::new(released)),
            events,
            quiet,
            grace: options.shutdown_grace,
            sweep_every: options.pacing.tick,
            removals: None,
        }
    }

    /// Starts the sweep of pending upstream removals with `remover`: at once, after
    /// every admin change that asks for one ([`Engine::sweep_removals`]), and every tick
    /// interval for retries.
    pub fn with_removals(mut self, remover: removals::Remover) -> Self {
        self.removals = Some(Arc::new(removals::Sweeper::start(
            remover,
            self.sweep_every,
        )));
        self
    }

    /// Asks for a sweep of pending upstream removals without waiting for it.
    pub fn sweep_removals(&self) {
        if let Some(sweeper) = &self.removals {
            sweeper.kick();
        }
    }

    /// Announcements of finished cycles, from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<messages::CycleEvent> {
        self.events.subscribe()
    }

    /// The times of quiet cycles the store does not hold, for the admin API to show.
    pub fn quiet_cycles(&self) -> &quiet::QuietCycles {
        &self.quiet
    }

    /// The user changed in the store: start, pause, resume or stop its actor. With
    /// `kick`, a user that may sync runs a cycle at once.
    pub async fn refresh_user(&self, space: &SpaceId, user: &UserId, kick: bool) {
        let _ = self
            .registry
            .send(Refresh {
                space: space.clone(),
                user: user.clone(),
                kick,
            })
            .await;
    }

    /// The space's integration switched: refresh all its users.
    pub async fn refresh_space(&self, space: &SpaceId) {
        let _ = self.registry.send(RefreshSpace(space.clone())).await;
    }

    /// Asks the user's actor for a cycle and returns once it has taken the request;
    /// `false` when no actor runs for the user.
    pub async fn sync_now(&self, space: &SpaceId, user: &UserId) -> bool {
        let Ok(Some(addr)) = self
            .registry
            .send(Lookup {
                space: space.clone(),
                user: user.clone(),
            })
            .await
        else {
            return false;
        };
        addr.send(messages::SyncNow(runner::Trigger::Manual))
            .await
            .is_ok()
    }

    /// A change notification for the user; `false` when no actor runs for it.
    pub async fn notify(&self, space: &SpaceId, user: &UserId) -> bool {
        self.registry
            .send(NotifyUser {
                space: space.clone(),
                user: user.clone(),
            })
            .await
            .unwrap_or(false)
    }

    /// What the user's actor is doing; `None` when none runs.
    pub async fn runtime(&self, space: &SpaceId, user: &UserId) -> Option<RuntimeStatus> {
        let addr = self
            .registry
            .send(Lookup {
                space: space.clone(),
                user: user.clone(),
            })
            .await
            .ok()??;
        registry::runtime_status(addr).await
    }

    /// How many user actors run.
    pub async fn actor_count(&self) -> usize {
        self.registry.send(CountActors).await.unwrap_or(0)
    }

    /// Stops every actor, letting running cycles commit (up to the grace period), then
    /// the arbiters. Afterwards no actor holds the store.
    pub async fn shutdown(&self) {
        if let Some(sweeper) = &self.removals {
            sweeper.stop(self.grace).await;
        }
        let _ = self.registry.send(StopAll).await;
        let mut released = self.released.lock().await;
        if tokio::time::timeout(self.grace, released.recv())
            .await
            .is_err()
        {
            tracing::warn!("some sync cycles did not finish within the grace period");
        }
        for arbiter in self.arbiters.iter() {
            arbiter.stop();
        }
    }
}
