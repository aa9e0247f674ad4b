//! The registry: one `UserSync` actor per user that may sync, started under a supervisor
//! on a small pool of arbiters, and started, paused, resumed or stopped as users and
//! spaces change in the store.

use std::collections::HashMap;

use actix::prelude::*;

use super::messages::{
    CrmChanged, Deactivate, GetStatus, Notify, Pause, Resume, RuntimeStatus, SyncNow,
};
use super::runner::Trigger;
use super::user_sync::{UserSync, UserSyncDeps};
use crate::ids::{SpaceId, UserId};
use crate::store::users::UserState;

type Key = (SpaceId, UserId);

/// What a user's actor should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Desired {
    Run,
    Paused,
    Stopped,
}

/// The registry actor.
pub struct Registry {
    deps: Option<UserSyncDeps>,
    arbiters: Vec<ArbiterHandle>,
    next_arbiter: usize,
    users: HashMap<Key, Addr<UserSync>>,
}

impl Registry {
    /// A registry that spreads actors over `arbiters`.
    pub fn new(deps: UserSyncDeps, arbiters: Vec<ArbiterHandle>) -> Self {
        Self {
            deps: Some(deps),
            arbiters,
            next_arbiter: 0,
            users: HashMap::new(),
        }
    }

    fn spawn_user(&mut self, key: &Key, paused: bool) -> Option<Addr<UserSync>> {
        let deps = self.deps.clone()?;
        let (space, user) = key.clone();
        let addr = if self.arbiters.is_empty() {
            Supervisor::start(move |_| UserSync::new(space, user, deps, paused))
        } else {
            let arbiter = &self.arbiters[self.next_arbiter % self.arbiters.len()];
            self.next_arbiter += 1;
            Supervisor::start_in_arbiter(arbiter, move |_| UserSync::new(space, user, deps, paused))
        };
        self.users.insert(key.clone(), addr.clone());
        Some(addr)
    }

    fn reconcile(&mut self, key: Key, desired: Desired, kick: bool) {
        match (self.users.get(&key).cloned(), desired) {
            (Some(addr), Desired::Stopped) => {
                addr.do_send(Deactivate);
                self.users.remove(&key);
            }
            (None, Desired::Stopped) | (None, Desired::Paused) => {}
            (Some(addr), Desired::Paused) => addr.do_send(Pause),
            (Some(addr), Desired::Run) => {
                addr.do_send(Resume);
                if kick {
                    addr.do_send(SyncNow(Trigger::Manual));
                }
            }
            (None, Desired::Run) => {
                if let Some(addr) = self.spawn_user(&key, false) {
                    if kick {
                        addr.do_send(SyncNow(Trigger::Manual));
                    }
                }
            }
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(deps) = &mut self.deps {
            deps.peers = Some(ctx.address().recipient());
        }
        let Some(deps) = self.deps.clone() else {
            return;
        };
        let load = async move {
            actix_web::rt::task::spawn_blocking(move || deps.store.all_users()).await
        };
        ctx.spawn(load.into_actor(self).map(|loaded, _, ctx| match loaded {
            Ok(Ok(users)) => {
                tracing::info!(users = users.len(), "starting user actors");
                for user in users {
                    ctx.notify(Refresh {
                        space: user.space,
                        user: user.id,
                        kick: false,
                    });
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "cannot load users at start-up"),
            Err(e) => tracing::error!(error = %e, "cannot load users at start-up"),
        }));
    }
}

/// Re-reads a user from the store and starts, pauses, resumes or stops its actor to
/// match. With `kick`, a running user syncs at once.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Refresh {
    /// The space.
    pub space: SpaceId,
    /// The user.
    pub user: UserId,
    /// Sync at once if the user may sync.
    pub kick: bool,
}

fn desired(space: Option<&crate::store::spaces::SpaceRecord>, state: Option<UserState>) -> Desired {
    match (space, state) {
        (Some(space), Some(state)) if space.integration_enabled => match state {
            UserState::Activated | UserState::Error => Desired::Run,
            UserState::Paused => Desired::Paused,
            UserState::NeedsConfirmation | UserState::Deactivated => Desired::Stopped,
        },
        _ => Desired::Stopped,
    }
}

impl Handler<Refresh> for Registry {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, msg: Refresh, _: &mut Context<Self>) -> Self::Result {
        let Some(deps) = self.deps.clone() else {
            return Box::pin(fut::ready(()));
        };
        let (space, user) = (msg.space.clone(), msg.user.clone());
        let load = async move {
            actix_web::rt::task::spawn_blocking(move || {
                let space_record = deps.store.space(&space)?;
                let state = deps.store.user(&space, &user)?.map(|u| u.state);
                Ok::<_, crate::store::StoreError>(desired(space_record.as_ref(), state))
            })
            .await
        };
        Box::pin(
            load.into_actor(self)
                .map(move |loaded, act, _| match loaded {
                    Ok(Ok(wanted)) => act.reconcile((msg.space, msg.user), wanted, msg.kick),
                    Ok(Err(e)) => tracing::error!(error = %e, "cannot read a user to refresh it"),
                    Err(e) => tracing::error!(error = %e, "cannot read a user to refresh it"),
                }),
        )
    }
}

/// Refreshes every user of a space (after its integration was switched); users that
/// may sync run a cycle at once.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct RefreshSpace(pub SpaceId);

impl Handler<RefreshSpace> for Registry {
    type Result = ResponseActFuture<Self, ()>;
    fn handle(&mut self, msg: RefreshSpace, _: &mut Context<Self>) -> Self::Result {
        let Some(deps) = self.deps.clone() else {
            return Box::pin(fut::ready(()));
        };
        let space = msg.0.clone();
        let load = async move {
            actix_web::rt::task::spawn_blocking(move || {
                let record = deps.store.space(&space)?;
                let users = deps.store.users(&space)?;
                Ok::<_, crate::store::StoreError>(
                    users
                        .into_iter()
                        .map(|u| (u.id, desired(record.as_ref(), Some(u.state))))
                        .collect::<Vec<_>>(),
                )
            })
            .await
        };
        Box::pin(load.into_actor(self).map(move |loaded, act, _| {
            let wanted = match loaded {
                Ok(Ok(wanted)) => wanted,
                _ => {
                    tracing::error!(space = %msg.0, "cannot read a space's users to refresh them");
                    return;
                }
            };
            let known: Vec<UserId> = wanted.iter().map(|(u, _)| u.clone()).collect();
            let orphans: Vec<Key> = act
                .users
                .keys()
                .filter(|(s, u)| *s == msg.0 && !known.contains(u))
                .cloned()
                .collect();
            for key in orphans {
                act.reconcile(key, Desired::Stopped, false);
            }
            for (user, desired) in wanted {
                act.reconcile((msg.0.clone(), user), desired, true);
            }
        }))
    }
}

/// Passes a change notification to a user's actor.
#[derive(Message, Debug, Clone)]
#[rtype(result = "bool")]
pub struct NotifyUser {
    /// The space.
    pub space: SpaceId,
    /// The user.
    pub user: UserId,
}

impl Handler<NotifyUser> for Registry {
    type Result = bool;
    fn handle(&mut self, msg: NotifyUser, _: &mut Context<Self>) -> bool {
        match self.users.get(&(msg.space, msg.user)) {
            Some(addr) => {
                addr.do_send(Notify);
                true
            }
            None => false,
        }
    }
}

impl Handler<CrmChanged> for Registry {
    type Result = ();
    fn handle(&mut self, msg: CrmChanged, _: &mut Context<Self>) {
        for ((space, user), addr) in &self.users {
            if *space == msg.space && *user != msg.by {
                addr.do_send(msg.clone());
            }
        }
    }
}

/// Asks a user's actor what it is doing; `None` when no actor runs for the user.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Option<Addr<UserSync>>")]
pub struct Lookup {
    /// The space.
    pub space: SpaceId,
    /// The user.
    pub user: UserId,
}

impl Handler<Lookup> for Registry {
    type Result = Option<Addr<UserSync>>;
    fn handle(&mut self, msg: Lookup, _: &mut Context<Self>) -> Self::Result {
        self.users.get(&(msg.space, msg.user)).cloned()
    }
}

/// How many actors run.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "usize")]
pub struct CountActors;

impl Handler<CountActors> for Registry {
    type Result = usize;
    fn handle(&mut self, _: CountActors, _: &mut Context<Self>) -> usize {
        self.users.len()
    }
}

/// Stops every actor (each finishes its running cycle) and the registry.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct StopAll;

impl Handler<StopAll> for Registry {
    type Result = ();
    fn handle(&mut self, _: StopAll, ctx: &mut Context<Self>) {
        for (_, addr) in self.users.drain() {
            addr.do_send(Deactivate);
        }
        self.deps = None;
        ctx.stop();
    }
}

/// Fetches a runtime status through an actor address.
pub async fn runtime_status(addr: Addr<UserSync>) -> Option<RuntimeStatus> {
    addr.send(GetStatus).await.ok()
}
