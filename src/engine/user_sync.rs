//! `UserSync`: the actor that owns one user's sync. It schedules cycles (ticks with
//! jitter, debounced notifications, manual requests), runs at most one at a time and
//! coalesces triggers that arrive meanwhile into one follow-up. A cycle runs in its own
//! task: when it fails or panics the actor records why and stops, and its supervisor
//! restarts it, reloading from the store after a growing pause. Other users never notice.
//! A quiet cycle may leave a lease ([`QuietLease`]): the ticks after it only ask the
//! space's Pipeliner window whether anything changed, until any other trigger, message
//! or change ends it.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use rand::rngs::StdRng;

use super::messages::{
    CrmChanged, CycleEvent, CycleOutcome, Deactivate, GetStatus, Notify, Pause, Reconfigure,
    Resume, RuntimeStatus, SyncNow, Tick,
};
use super::quiet::QuietCycles;
use super::runner::{
    CycleError, CycleReport, CycleRunner, HeldWatermark, QuietLease, StateLeft, Trigger,
};
use super::schedule::{jitter_rng, Pacing};
use super::status;
use super::storage::{on_store, on_store_inline, INLINE_STATE_BYTES};
use crate::clock::SharedClock;
use crate::ids::{SpaceId, UserId};
use crate::metrics::{CycleResult, Metrics};
use crate::store::sync_state::CRM_WATERMARK_LAG;
use crate::store::users::UserState;
use crate::store::Store;

/// What the actor needs from the engine.
#[derive(Clone)]
pub struct UserSyncDeps {
    /// The database.
    pub store: Store,
    /// Runs cycles.
    pub runner: Arc<dyn CycleRunner>,
    /// The source of "now".
    pub clock: SharedClock,
    /// Tick, debounce and restart timing.
    pub pacing: Pacing,
    /// Dropped with the actor; lets shutdown wait until no actor holds the store.
    pub held: tokio::sync::mpsc::Sender<()>,
    /// Where cycle results are announced.
    pub events: tokio::sync::broadcast::Sender<CycleEvent>,
    /// Told when a cycle wrote to Pipeliner, so the space's other users look at once
    /// (set by the registry when it starts).
    pub peers: Option<Recipient<CrmChanged>>,
    /// Where quiet cycles that write nothing leave their times for the admin API.
    pub quiet: QuietCycles,
    /// Where cycles are counted and timed.
    pub metrics: Arc<Metrics>,
}

/// The actor of one user.
pub struct UserSync {
    space: SpaceId,
    user: UserId,
    deps: UserSyncDeps,
    rng: StdRng,
    running: Option<Trigger>,
    follow_up: Option<Trigger>,
    /// The trigger of the debounced cycle waiting to start, if any.
    debounced: Option<Trigger>,
    paused: bool,
    stopping: bool,
    failures: u32,
    cycles: u64,
    tick: Option<SpawnHandle>,
    /// No cycle has completed since the actor (re)started: its next tick reads both sides
    /// in full ([`Trigger::Startup`]), since notifications may have been lost meanwhile.
    fresh: bool,
    /// The Pipeliner watermark quiet cycles reached beyond the stored one.
    held: Option<HeldWatermark>,
    /// The last quiet cycle's lease: ticks until it ends only ask Pipeliner. Ended by any
    /// other trigger or message.
    lease: Option<QuietLease>,
    /// Counts the leases ended by triggers and messages, so that a cycle running when its
    /// lease ended does not hand one back.
    leases_ended: u64,
    /// `leases_ended` when the running cycle started.
    running_since_lease_end: u64,
}

/// How a cycle task ended.
enum Outcome {
    /// The user may not sync any more (gone, deactivated, space switched off).
    Skipped,
    /// The cycle committed; its status names `next` as the wait before the next tick.
    Done {
        /// The wait before the next tick, already recorded as the next run (or held).
        next: Duration,
        /// The cycle wrote to Pipeliner, where the space's other users may see it.
        wrote_to_crm: bool,
        /// The watermark the cycle reached beyond the stored one, to read on from.
        held: Option<HeldWatermark>,
        /// The times of a quiet cycle that wrote nothing, to hold for the admin API.
        unrecorded: Option<status::CycleTimes>,
        /// What the next ticks may rely on, from a quiet cycle.
        lease: Option<QuietLease>,
        /// Run another cycle right away ([`CycleReport::follow_up`]).
        follow_up: bool,
    },
    /// The cycle failed as a whole.
    Failed(CycleError),
}

/// The two waits a cycle may choose between for the next tick, drawn from the actor's
/// jitter before the cycle runs so that its status can name the next run in the same
/// write as its result.
#[derive(Debug, Clone, Copy)]
struct NextTick {
    /// When either upstream would not notify a change.
    polled: Duration,
    /// When both upstreams notify changes.
    notified: Duration,
}

impl UserSync {
    /// An actor for this user; it starts ticking once started.
    pub fn new(space: SpaceId, user: UserId, deps: UserSyncDeps, paused: bool) -> Self {
        let rng = jitter_rng(&format!("{space}/{user}"));
        Self {
            space,
            user,
            deps,
            rng,
            running: None,
            follow_up: None,
            debounced: None,
            paused,
            stopping: false,
            failures: 0,
            cycles: 0,
            tick: None,
            fresh: true,
            held: None,
            lease: None,
            leases_ended: 0,
            running_since_lease_end: 0,
        }
    }

    /// Ends the quiet lease: the next tick runs a full cycle.
    fn end_lease(&mut self) {
        self.lease = None;
        self.leases_ended += 1;
    }

    /// Schedules the next tick and records when it is due.
    fn schedule_tick(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        self.schedule_tick_unrecorded(delay, ctx);
        let scheduled = self.deps.clock.now();
        let at = scheduled
            + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::zero());
        let (store, space, user) = (
            self.deps.store.clone(),
            self.space.clone(),
            self.user.clone(),
        );
        actix_rt::spawn(async move {
            let _ = on_store(&store, move |st| {
                status::record_next_run(st, &space, &user, at, scheduled)
            })
            .await;
        });
    }

    /// Schedules the next tick whose time the last cycle's status already names.
    fn schedule_tick_unrecorded(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        if let Some(handle) = self.tick.take() {
            ctx.cancel_future(handle);
        }
        let delay = if self.lease.is_some() {
            self.deps
                .pacing
                .leased_tick_delay(delay, self.deps.clock.now())
        } else {
            delay
        };
        self.tick = Some(ctx.run_later(delay, |act, ctx| act.start_cycle(Trigger::Tick, ctx)));
    }

    /// Runs a cycle for `trigger` once the running one ends, merged with any trigger
    /// already waiting.
    fn queue_follow_up(&mut self, trigger: Trigger) {
        self.follow_up = Some(match self.follow_up {
            Some(waiting) => waiting.merge(trigger),
            None => trigger,
        });
    }

    fn start_cycle(&mut self, trigger: Trigger, ctx: &mut Context<Self>) {
        if self.paused || self.stopping {
            return;
        }
        let trigger = match trigger {
            Trigger::Tick if self.fresh => Trigger::Startup,
            other => other,
        };
        if self.running.is_some() {
            self.queue_follow_up(trigger);
            return;
        }
        // Only a tick may rely on the lease; anything else may have changed what it assumed.
        let lease = match trigger {
            Trigger::Tick => self.lease.take(),
            _ => {
                self.end_lease();
                None
            }
        };
        self.running = Some(trigger);
        self.running_since_lease_end = self.leases_ended;
        tracing::debug!(space = %self.space, user = %self.user, ?trigger, "sync cycle starting");
        let next = NextTick {
            polled: self.deps.pacing.next_tick(&mut self.rng),
            notified: self.deps.pacing.next_notified_tick(&mut self.rng),
        };
        let Some(lease) = lease else {
            self.spawn_cycle(trigger, next, ctx);
            return;
        };
        // A small task of its own, so that most ticks neither clone the store nor move
        // a whole cycle's future; it hands over to a full cycle when it must.
        let task = actix_rt::spawn(leased_tick(
            lease,
            self.deps.clock.clone(),
            next,
            self.deps.metrics.clone(),
        ));
        ctx.spawn(
            task.into_actor(self)
                .map(move |joined, act, ctx| match joined {
                    Ok(Some(outcome)) => act.cycle_ended(Ok(outcome), ctx),
                    Ok(None) => act.spawn_cycle(trigger, next, ctx),
                    Err(panic) => act.cycle_ended(Err(panic), ctx),
                }),
        );
    }

    /// Runs a full cycle in its own task; the actor takes in its outcome when it ends.
    fn spawn_cycle(&mut self, trigger: Trigger, next: NextTick, ctx: &mut Context<Self>) {
        let (store, space, user) = (
            self.deps.store.clone(),
            self.space.clone(),
            self.user.clone(),
        );
        let (runner, clock, held) = (self.deps.runner.clone(), self.deps.clock.clone(), self.held);
        let metrics = self.deps.metrics.clone();
        let task = actix_rt::spawn(async move {
            run_cycle(
                store, space, user, runner, clock, trigger, next, held, metrics,
            )
            .await
        });
        ctx.spawn(
            task.into_actor(self)
                .map(|joined, act, ctx| act.cycle_ended(joined, ctx)),
        );
    }

    fn announce(&self, trigger: Trigger, outcome: CycleOutcome) {
        tracing::debug!(space = %self.space, user = %self.user, ?trigger, ?outcome, "sync cycle ended");
        let _ = self.deps.events.send(CycleEvent {
            space: self.space.clone(),
            user: self.user.clone(),
            trigger,
            outcome,
        });
    }

    fn cycle_ended(
        &mut self,
        joined: Result<Outcome, tokio::task::JoinError>,
        ctx: &mut Context<Self>,
    ) {
        let trigger = self.running.take().unwrap_or(Trigger::Manual);
        self.cycles += 1;
        // Announced once the actor has taken in the outcome (held times included), so
        // whoever hears of the cycle sees what it left.
        // A crashed cycle is announced by the task that records the crash.
        let (outcome, announce) = match joined {
            Ok(outcome) => (outcome, true),
            Err(panic) => {
                self.deps.metrics.cycle_ended(CycleResult::Failed, None);
                tracing::error!(space = %self.space, user = %self.user, error = %panic, "sync cycle panicked");
                let error = CycleError::new(
                    "cycle_crashed",
                    "the sync cycle crashed; it restarts after a pause and resumes from the last committed state",
                );
                let (store, space, user, now) = (
                    self.deps.store.clone(),
                    self.space.clone(),
                    self.user.clone(),
                    self.deps.clock.now(),
                );
                let (recorded, events) = (error.clone(), self.deps.events.clone());
                actix_rt::spawn(async move {
                    let (s, u) = (space.clone(), user.clone());
                    let _ = on_store(&store, move |st| {
                        status::record_failure(st, &s, &u, &recorded, now)
                    })
                    .await;
                    let _ = events.send(CycleEvent {
                        space,
                        user,
                        trigger,
                        outcome: CycleOutcome::Failed("cycle_crashed".into()),
                    });
                });
                (Outcome::Failed(error), false)
            }
        };
        let announced = announce.then(|| match &outcome {
            Outcome::Done { .. } => CycleOutcome::Done,
            Outcome::Skipped => CycleOutcome::Skipped,
            Outcome::Failed(e) => CycleOutcome::Failed(e.code.clone()),
        });
        let mut recorded_next = None;
        match outcome {
            Outcome::Failed(error) => {
                self.failures += 1;
                tracing::warn!(space = %self.space, user = %self.user, code = %error.code, failures = self.failures, "sync cycle failed; restarting the user's actor");
                if let Some(announced) = announced {
                    self.announce(trigger, announced);
                }
                ctx.stop();
                return;
            }
            Outcome::Done {
                next,
                wrote_to_crm,
                held,
                unrecorded,
                lease,
                follow_up,
            } => {
                self.failures = 0;
                if follow_up {
                    self.queue_follow_up(Trigger::Notify);
                }
                self.fresh = false;
                self.held = held;
                // A lease ended while the cycle ran (an admin change, a notification)
                // is not renewed by it.
                self.lease = lease.filter(|_| self.running_since_lease_end == self.leases_ended);
                if let Some(times) = unrecorded {
                    self.deps.quiet.hold(&self.space, &self.user, times);
                }
                recorded_next = Some(next);
                if wrote_to_crm {
                    if let Some(peers) = &self.deps.peers {
                        peers.do_send(CrmChanged {
                            space: self.space.clone(),
                            by: self.user.clone(),
                        });
                    }
                }
            }
            Outcome::Skipped => {
                self.end_lease();
                self.deps.quiet.forget(&self.space, &self.user);
            }
        }
        if let Some(announced) = announced {
            self.announce(trigger, announced);
        }
        if self.stopping {
            ctx.stop();
            return;
        }
        if let Some(trigger) = self.follow_up.take() {
            self.start_cycle(trigger, ctx);
        } else if !self.paused {
            match recorded_next {
                Some(next) => self.schedule_tick_unrecorded(next, ctx),
                None => {
                    let next = self.deps.pacing.next_tick(&mut self.rng);
                    self.schedule_tick(next, ctx);
                }
            }
        }
    }
}

/// A tick under a quiet lease: asks Pipeliner whether the space changed since the
/// watermark and, when nothing did, ends like the quiet cycle it stands for, without
/// loading the user's records. `None` when a full cycle must run: the lease ran out,
/// something changed or the probe is unsure, or the stored watermark would lag too far.
async fn leased_tick(
    lease: QuietLease,
    clock: SharedClock,
    next: NextTick,
    metrics: Arc<Metrics>,
) -> Option<Outcome> {
    let started = clock.now();
    if started >= lease.until {
        return None;
    }
    let stored = lease.watermark.stored?;
    let reached = lease
        .probe
        .unchanged_since(lease.watermark.reached, started)
        .await?;
    if reached - stored >= CRM_WATERMARK_LAG {
        return None;
    }
    let finished = clock.now();
    metrics.cycle_ended(CycleResult::Leased, seconds_between(started, finished));
    Some(Outcome::Done {
        next: next.notified,
        wrote_to_crm: false,
        held: (reached != stored).then_some(HeldWatermark {
            stored: Some(stored),
            reached,
        }),
        unrecorded: Some(status::CycleTimes {
            started,
            finished,
            next: finished
                + chrono::Duration::from_std(next.notified)
                    .unwrap_or_else(|_| chrono::Duration::zero()),
        }),
        lease: Some(lease.reaching(reached)),
        follow_up: false,
    })
}

/// One cycle, in its own task: load, run, record the result with the next run (and the
/// state a quiet cycle left to save) in one storage call. A quiet cycle that left its
/// stored state standing, for a user whose record has nothing to clear, records nothing:
/// its times are handed back to be held in memory ([`QuietCycles`]).
#[allow(clippy::too_many_arguments)]
async fn run_cycle(
    store: Store,
    space: SpaceId,
    user: UserId,
    runner: Arc<dyn CycleRunner>,
    clock: SharedClock,
    trigger: Trigger,
    next: NextTick,
    held: Option<HeldWatermark>,
    metrics: Arc<Metrics>,
) -> Outcome {
    let (s, u) = (space.clone(), user.clone());
    let started = clock.now();
    let ended = |result: CycleResult| {
        metrics.cycle_ended(result, seconds_between(started, clock.now()));
    };
    // Most cycles find a small state (a quiet user's cursors): loaded and saved inline.
    let inline = on_store_inline(&store, |st| {
        status::load_job(st, &s, &u, trigger, INLINE_STATE_BYTES)
    });
    let small = matches!(inline, Ok(status::Loaded::Job(_)));
    let loaded = match inline {
        Ok(status::Loaded::TooLarge) => {
            on_store(&store, move |st| {
                status::load_job(st, &s, &u, trigger, usize::MAX)
            })
            .await
        }
        other => other,
    };
    let mut job = match loaded {
        Ok(status::Loaded::Job(job)) => *job,
        Ok(status::Loaded::Skipped | status::Loaded::TooLarge) => return Outcome::Skipped,
        Err(e) => {
            ended(CycleResult::Failed);
            return Outcome::Failed(e);
        }
    };
    job.held = held;
    // Nothing in the record for a quiet cycle to clear: no error, no sync asked for.
    let clean = job.user.state == UserState::Activated
        && job.user.status.last_error.is_none()
        && job.user.status.sync_requested_at.is_none();
    let result: Result<CycleReport, CycleError> = runner.run(job).await;
    let finished = clock.now();
    match result {
        Ok(mut report) => {
            let result = if report.needs_confirmation.is_some() {
                CycleResult::NeedsConfirmation
            } else if report.state.quiet() {
                CycleResult::Quiet
            } else {
                CycleResult::Ok
            };
            let next = if report.notified {
                next.notified
            } else {
                next.polled
            };
            let times = status::CycleTimes {
                started,
                finished,
                next: finished
                    + chrono::Duration::from_std(next).unwrap_or_else(|_| chrono::Duration::zero()),
            };
            let wrote_to_crm = report.wrote_to_crm();
            let follow_up = report.follow_up;
            let state = std::mem::take(&mut report.state);
            let lease = report.lease.take();
            let held = match state {
                StateLeft::Unchanged(held) => held,
                StateLeft::Saved | StateLeft::Save(_) => None,
            };
            if clean && matches!(state, StateLeft::Unchanged(_)) && report.uneventful() {
                ended(result);
                return Outcome::Done {
                    next,
                    wrote_to_crm,
                    held,
                    unrecorded: Some(times),
                    lease,
                    follow_up,
                };
            }
            // A quiet cycle leaves its small state and status to save; a cycle with work
            // saved its state itself and may journal, so it keeps to the pool.
            let inline = small && state.quiet() && report.needs_confirmation.is_none();
            let record = move |st: &Store| {
                if let StateLeft::Save(state) = state {
                    st.put_sync_state(&space, &user, &state)?;
                }
                status::record_success(st, &space, &user, &report, times)
            };
            let recorded = if inline {
                on_store_inline(&store, record)
            } else {
                on_store(&store, record).await
            };
            match recorded {
                Ok(()) => {
                    ended(result);
                    Outcome::Done {
                        next,
                        wrote_to_crm,
                        held,
                        unrecorded: None,
                        lease,
                        follow_up,
                    }
                }
                Err(e) => {
                    ended(CycleResult::Failed);
                    Outcome::Failed(e)
                }
            }
        }
        Err(error) => {
            ended(CycleResult::Failed);
            let recorded = error.clone();
            let _ = on_store(&store, move |st| {
                status::record_failure(st, &space, &user, &recorded, finished)
            })
            .await;
            Outcome::Failed(error)
        }
    }
}

/// Seconds from `started` to `finished` on the injected clock (none when it went back).
fn seconds_between(
    started: chrono::DateTime<chrono::Utc>,
    finished: chrono::DateTime<chrono::Utc>,
) -> Option<f64> {
    (finished - started).to_std().ok().map(|d| d.as_secs_f64())
}

impl Actor for UserSync {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.stopping || self.paused {
            return;
        }
        let delay = if self.failures > 0 {
            self.deps.pacing.restart_delay(self.failures)
        } else {
            self.deps.pacing.first_tick(&mut self.rng)
        };
        self.schedule_tick(delay, ctx);
    }
}

impl Supervised for UserSync {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        self.running = None;
        self.debounced = None;
        self.tick = None;
        self.fresh = true;
        self.held = None;
        self.end_lease();
        tracing::info!(space = %self.space, user = %self.user, failures = self.failures, "restarting the user's actor");
    }
}

impl Handler<Tick> for UserSync {
    type Result = ();
    fn handle(&mut self, _: Tick, ctx: &mut Context<Self>) {
        self.start_cycle(Trigger::Tick, ctx);
    }
}

impl UserSync {
    /// Starts a cycle for `trigger` after the debounce, together with the triggers that
    /// arrive meanwhile.
    fn debounce(&mut self, trigger: Trigger, ctx: &mut Context<Self>) {
        self.end_lease();
        if let Some(waiting) = self.debounced {
            self.debounced = Some(waiting.merge(trigger));
            return;
        }
        self.debounced = Some(trigger);
        ctx.run_later(self.deps.pacing.debounce, |act, ctx| {
            if let Some(trigger) = act.debounced.take() {
                act.start_cycle(trigger, ctx);
            }
        });
    }
}

impl Handler<Notify> for UserSync {
    type Result = ();
    fn handle(&mut self, _: Notify, ctx: &mut Context<Self>) {
        self.debounce(Trigger::Notify, ctx);
    }
}

impl Handler<CrmChanged> for UserSync {
    type Result = ();
    /// Another user's cycle wrote to the space's Pipeliner contacts. exsync's own writes
    /// raise no webhook (they carry the skip key), so this stands in for the delivery the
    /// space's users would otherwise get.
    fn handle(&mut self, _: CrmChanged, ctx: &mut Context<Self>) {
        self.debounce(Trigger::PeerWrote, ctx);
    }
}

impl Handler<SyncNow> for UserSync {
    type Result = ();
    fn handle(&mut self, msg: SyncNow, ctx: &mut Context<Self>) {
        self.start_cycle(msg.0, ctx);
    }
}

impl Handler<Reconfigure> for UserSync {
    type Result = ();
    fn handle(&mut self, _: Reconfigure, ctx: &mut Context<Self>) {
        // Settings are loaded fresh by every cycle; run one so the change shows at once.
        self.start_cycle(Trigger::Manual, ctx);
    }
}

impl Handler<Pause> for UserSync {
    type Result = ();
    fn handle(&mut self, _: Pause, ctx: &mut Context<Self>) {
        self.paused = true;
        self.end_lease();
        self.follow_up = None;
        if let Some(handle) = self.tick.take() {
            ctx.cancel_future(handle);
        }
    }
}

impl Handler<Resume> for UserSync {
    type Result = ();
    fn handle(&mut self, _: Resume, ctx: &mut Context<Self>) {
        // The user changed in the store: what the lease assumed may no longer hold.
        self.end_lease();
        if self.paused {
            self.paused = false;
            self.start_cycle(Trigger::Manual, ctx);
        }
    }
}

impl Handler<Deactivate> for UserSync {
    type Result = ();
    fn handle(&mut self, _: Deactivate, ctx: &mut Context<Self>) {
        self.stopping = true;
        self.end_lease();
        self.deps.quiet.forget(&self.space, &self.user);
        self.follow_up = None;
        if let Some(handle) = self.tick.take() {
            ctx.cancel_future(handle);
        }
        if self.running.is_none() {
            ctx.stop();
        }
    }
}

impl Handler<GetStatus> for UserSync {
    type Result = MessageResult<GetStatus>;
    fn handle(&mut self, _: GetStatus, _: &mut Context<Self>) -> Self::Result {
        MessageResult(RuntimeStatus {
            running: self.running.is_some(),
            paused: self.paused,
            failures: self.failures,
            cycles: self.cycles,
        })
    }
}
