//! What one sync cycle is, seen from the actor that schedules it: a job in, a report or
//! an error out. The real cycle (pull both sides, plan, execute, commit) implements
//! [`CycleRunner`]; tests plug in their own.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;

use crate::store::hooks::{SpaceHookRecord, SubscriptionRecord};
use crate::store::spaces::SpaceRecord;
use crate::store::sync_state::UserSyncState;
use crate::store::users::{SideCounts, UserRecord};

/// Why a cycle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The periodic safety net. Where a live Graph subscription covers the folder, it
    /// reads Pipeliner only (and Exchange once the safety net is due).
    Tick,
    /// A change notification from either side.
    Notify,
    /// Another user of the space wrote to its Pipeliner contacts (exsync's own writes
    /// raise no webhook). Reads Pipeliner through the space's shared window, fetched
    /// after the write, and Exchange as a tick would.
    PeerWrote,
    /// An admin asked for it.
    Manual,
    /// The first periodic cycle since the actor (re)started: it reads both sides even
    /// where notifications are set up, since some may have been lost meanwhile.
    Startup,
}

impl Trigger {
    /// The one trigger a cycle runs for when both `self` and `other` asked for it: the
    /// same one, or one that reads both sides afresh.
    pub fn merge(self, other: Trigger) -> Trigger {
        match (self, other) {
            (a, b) if a == b => a,
            (Trigger::Manual, _) | (_, Trigger::Manual) => Trigger::Manual,
            _ => Trigger::Notify,
        }
    }
}

/// Everything a cycle needs, loaded fresh from the store by the actor.
#[derive(Debug, Clone)]
pub struct CycleJob {
    /// The user's space.
    pub space: SpaceRecord,
    /// The user, with settings and (sealed) credentials.
    pub user: UserRecord,
    /// Why this cycle runs.
    pub trigger: Trigger,
    /// The user's sync state as the last cycle committed it.
    pub state: UserSyncState,
    /// The notification records the state points at.
    pub hooks: HookRecords,
    /// The Pipeliner watermark the user's last quiet cycles reached without saving it,
    /// held by the actor; the cycle reads on from it while the stored state is the one it
    /// was reached from.
    pub held: Option<HeldWatermark>,
}

/// A Pipeliner watermark a quiet cycle reached while the stored state kept an older one.
/// Reading on from it saves the next cycles from listing again what the quiet ones
/// already found unchanged; after a restart the stored watermark serves, with a longer
/// overlap read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldWatermark {
    /// The stored watermark it was reached from; it applies while that is still stored.
    pub stored: Option<DateTime<Utc>>,
    /// The watermark reached.
    pub reached: DateTime<Utc>,
}

impl HeldWatermark {
    /// The watermark to read on from, given the one stored now.
    pub fn over(held: Option<Self>, stored: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match held {
            Some(held) if held.stored == stored => Some(held.reached),
            _ => stored,
        }
    }
}

/// A quiet cycle's word that the user's ticks until `until` have nothing to do but ask
/// Pipeliner whether the space changed: both upstreams notify exsync of the user's
/// changes, the live Graph subscription stands in for the Exchange delta until then (and
/// needs no renewal before), and the stored state is the one the quiet cycle left. A tick
/// under a lease asks `probe` instead of loading the user's job and running a cycle; any
/// other trigger, an admin change, a failure or a restart ends the lease, and so does any
/// change the probe sees.
#[derive(Clone)]
pub struct QuietLease {
    /// When the lease ends: the Exchange safety net or the subscription's renewal is due.
    pub until: DateTime<Utc>,
    /// The Pipeliner watermark the leased ticks read on from, with the stored one.
    pub watermark: HeldWatermark,
    /// Asks Pipeliner whether anything changed since the watermark.
    pub probe: Arc<dyn QuietProbe>,
}

impl QuietLease {
    /// The same lease, reading on from `reached`.
    pub fn reaching(&self, reached: DateTime<Utc>) -> Self {
        Self {
            watermark: HeldWatermark {
                stored: self.watermark.stored,
                reached,
            },
            ..self.clone()
        }
    }
}

impl std::fmt::Debug for QuietLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuietLease")
            .field("until", &self.until)
            .field("watermark", &self.watermark)
            .finish_non_exhaustive()
    }
}

impl PartialEq for QuietLease {
    fn eq(&self, other: &Self) -> bool {
        self.until == other.until
            && self.watermark == other.watermark
            && Arc::ptr_eq(&self.probe, &other.probe)
    }
}

/// Tells a leased tick whether its user's Pipeliner contacts may have changed.
pub trait QuietProbe: Send + Sync {
    /// Pipeliner's clock up to which nothing changed in the user's space after
    /// `watermark` (less the usual overlap), read at `now`; `None` when something changed
    /// or the answer is unsure (an error, a 429), so that a full cycle runs.
    fn unchanged_since(
        &self,
        watermark: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> LocalBoxFuture<'static, Option<DateTime<Utc>>>;
}

/// The notification records a cycle starts from, read with the rest of its job in one
/// storage call so that a quiet cycle does not pay a round trip per record.
#[derive(Debug, Clone, Default)]
pub struct HookRecords {
    /// The user's Graph subscription, when the sync state names one that is stored.
    pub subscription: Option<SubscriptionRecord>,
    /// The space's Pipeliner webhook, when one is registered.
    pub space_webhook: Option<SpaceHookRecord>,
}

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CycleReport {
    /// Writes to Exchange.
    pub exchange: SideCounts,
    /// Writes to Pipeliner.
    pub crm: SideCounts,
    /// Same-field conflicts resolved by policy.
    pub conflicts: u64,
    /// Records that could not be synced.
    pub record_errors: u64,
    /// 429 answers the upstreams gave during the cycle (retried after their `Retry-After`).
    pub throttled: u64,
    /// Set when the cycle stopped before writing because it would delete too much.
    pub needs_confirmation: Option<String>,
    /// Both upstreams will notify exsync of this user's changes (a live Graph
    /// subscription on the folder and the space's Pipeliner webhook): the next periodic
    /// sync is only the safety net and may wait longer.
    pub notified: bool,
    /// What is left to save of the user's sync state with the cycle's status.
    pub state: StateLeft,
    /// Granted by a quiet cycle whose next ticks may only ask Pipeliner.
    pub lease: Option<QuietLease>,
    /// Another cycle should run right away: a first sync finished without the Graph
    /// subscription it leaves to the next cycle, which sets it up and reads what changed
    /// in Exchange meanwhile.
    pub follow_up: bool,
}

/// What a cycle leaves of the user's sync state for the status write.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum StateLeft {
    /// Nothing for the status write: the cycle saved its state itself (a cycle with
    /// work), or stopped before it had anything to save (a mass delete to confirm).
    #[default]
    Saved,
    /// A quiet cycle's advanced cursors, saved with the status in one storage call.
    Save(Box<crate::store::sync_state::UserSyncState>),
    /// A quiet cycle whose stored state still stands: nothing to write. The watermark
    /// it reached, when that moved, is for the actor to hold.
    Unchanged(Option<HeldWatermark>),
}

impl StateLeft {
    /// Whether the cycle was quiet (it left its state, or nothing, to the status write).
    pub fn quiet(&self) -> bool {
        !matches!(self, Self::Saved)
    }
}

impl CycleReport {
    /// Whether the cycle wrote anything to Pipeliner, which the space's other users may
    /// see: exsync's own writes raise no webhook for them.
    pub fn wrote_to_crm(&self) -> bool {
        self.crm.created + self.crm.updated + self.crm.deleted > 0
    }

    /// Whether the cycle has nothing for the user's status but its times: no write, no
    /// conflict, no record error, no 429, nothing to confirm.
    pub fn uneventful(&self) -> bool {
        self.exchange == SideCounts::default()
            && self.crm == SideCounts::default()
            && self.conflicts == 0
            && self.record_errors == 0
            && self.throttled == 0
            && self.needs_confirmation.is_none()
    }
}

/// Why a cycle failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CycleError {
    /// A stable snake_case code.
    pub code: String,
    /// What happened and what to do, as a sentence.
    pub message: String,
}

impl CycleError {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Runs sync cycles. One runner serves every user; it must not keep per-user state in
/// memory between cycles (that lives in the store), so a restarted actor picks up where
/// the last committed cycle left off.
pub trait CycleRunner: Send + Sync + 'static {
    /// Runs one cycle for `job`.
    fn run(&self, job: CycleJob) -> LocalBoxFuture<'static, Result<CycleReport, CycleError>>;
}

#[cfg(test)]
mod tests {
    use super::Trigger;

    #[test]
    fn merged_triggers_read_at_least_what_each_asked_for() {
        use Trigger::*;
        assert_eq!(Tick.merge(Tick), Tick);
        assert_eq!(PeerWrote.merge(PeerWrote), PeerWrote);
        assert_eq!(Tick.merge(PeerWrote), Notify, "fresh on both sides");
        assert_eq!(PeerWrote.merge(Notify), Notify);
        assert_eq!(Startup.merge(Tick), Notify);
        assert_eq!(Notify.merge(Manual), Manual);
        assert_eq!(Manual.merge(Tick), Manual);
    }
}
