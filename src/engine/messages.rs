//! The messages a user's actor understands.

use actix::Message;

use super::runner::Trigger;

/// The periodic safety-net tick.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Tick;

/// A change notification arrived for the user (debounced).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Notify;

/// Run a cycle now (or right after the running one).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct SyncNow(pub Trigger);

/// The user's settings changed: the next cycle reloads them.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Reconfigure;

/// Stop scheduling cycles until resumed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Pause;

/// Schedule cycles again, starting with one now.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Resume;

/// Stop for good once the running cycle (if any) is committed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Deactivate;

/// A user's cycle wrote to Pipeliner: the space's other users sync, since exsync's own
/// writes raise no webhook (they carry the skip key) and would otherwise wait for a tick.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CrmChanged {
    /// The space written to.
    pub space: crate::ids::SpaceId,
    /// The user whose cycle wrote; it is not told.
    pub by: crate::ids::UserId,
}

/// What the actor is doing right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeStatus {
    /// A cycle is running.
    pub running: bool,
    /// Cycles are suspended.
    pub paused: bool,
    /// Consecutive failed cycles.
    pub failures: u32,
    /// Cycles finished since the actor started (across restarts).
    pub cycles: u64,
}

/// Asks for the actor's [`RuntimeStatus`].
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "RuntimeStatus")]
pub struct GetStatus;

/// What a user's actor reports after each cycle; the engine broadcasts it (tests,
/// benchmarks and metrics listen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CycleEvent {
    /// The space.
    pub space: crate::ids::SpaceId,
    /// The user.
    pub user: crate::ids::UserId,
    /// What the trigger was.
    pub trigger: Trigger,
    /// How it ended.
    pub outcome: CycleOutcome,
}

/// How a cycle ended, once its result is in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CycleOutcome {
    /// The cycle committed.
    Done,
    /// The user may not sync (gone, paused, deactivated, switched off).
    Skipped,
    /// The cycle failed with this code; the actor restarts.
    Failed(String),
}
