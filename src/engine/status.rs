//! The status the engine keeps in each user's record: when cycles start and end, what
//! they did, the last error, the next run. Blocking store work; callers run it on a
//! blocking thread.

use chrono::{DateTime, Utc};

use super::runner::{CycleError, CycleJob, CycleReport, HookRecords};
use crate::ids::{SpaceId, UserId};
use crate::store::sync_state::UserSyncState;
use crate::store::users::{SideCounts, StatusError, UserState};
use crate::store::{Store, StoreError, StoreResult};

fn add(total: &mut SideCounts, more: &SideCounts) {
    total.created += more.created;
    total.updated += more.updated;
    total.deleted += more.deleted;
}

/// What [`load_job`] found.
#[derive(Debug)]
pub enum Loaded {
    /// Everything the cycle needs.
    Job(Box<CycleJob>),
    /// The user or space is gone, or may not sync.
    Skipped,
    /// The sync state is stored in more than the limit; nothing was decoded.
    TooLarge,
}

/// Loads what a cycle needs in one storage call: the space, the user, the sync state and
/// the notification records it points at. A sync state stored in more than `state_limit`
/// bytes is not decoded, so that a caller can run small loads inline and hand large ones
/// to the storage pool.
pub fn load_job(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
    trigger: super::runner::Trigger,
    state_limit: usize,
) -> StoreResult<Loaded> {
    let (Some(space), Some(user)) = (store.space(space)?, store.user(space, user)?) else {
        return Ok(Loaded::Skipped);
    };
    let may_sync =
        space.integration_enabled && matches!(user.state, UserState::Activated | UserState::Error);
    if !may_sync {
        return Ok(Loaded::Skipped);
    }
    let Some(state) = store.sync_state_within(&space.id, &user.id, state_limit)? else {
        return Ok(Loaded::TooLarge);
    };
    let hooks = read_hooks(store, &space.id, &state)?;
    Ok(Loaded::Job(Box::new(CycleJob {
        space,
        user,
        trigger,
        state,
        hooks,
        held: None,
    })))
}

/// Reads the notification records `state` and `space` point at.
fn read_hooks(store: &Store, space: &SpaceId, state: &UserSyncState) -> StoreResult<HookRecords> {
    let subscription = match &state.subscription_id {
        Some(id) => store.subscription(id)?,
        None => None,
    };
    Ok(HookRecords {
        subscription,
        space_webhook: store.space_hook(space)?,
    })
}

/// Ignores a user that vanished meanwhile; other store errors pass.
fn tolerate_missing<T>(result: Result<T, StoreError>) -> StoreResult<()> {
    match result {
        Ok(_) | Err(StoreError::NotFound(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Records that a cycle started, for cycles with work to do: the status shows it running
/// until it ends.
pub fn mark_started(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tolerate_missing(store.update_user(space, user, |u| {
        u.status.last_sync_started_at = Some(now);
        u.status.sync_requested_at = None;
        Ok::<_, StoreError>(())
    }))
}

/// When a finished cycle ran and when the next one is due.
#[derive(Debug, Clone, Copy)]
pub struct CycleTimes {
    /// When the cycle started.
    pub started: DateTime<Utc>,
    /// When it finished.
    pub finished: DateTime<Utc>,
    /// When the next periodic cycle is due.
    pub next: DateTime<Utc>,
}

/// Records a finished cycle in one write of the user's record: when it ran, the totals,
/// the state, no error, and when the next one is due. A cycle with work to do has
/// already marked itself started ([`mark_started`]); a quiet one is recorded only here.
pub fn record_success(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
    report: &CycleReport,
    times: CycleTimes,
) -> StoreResult<()> {
    let now = times.finished;
    tolerate_missing(store.update_user(space, user, |u| {
        u.status.last_sync_started_at = Some(times.started);
        if u.status
            .sync_requested_at
            .is_some_and(|asked| asked <= times.started)
        {
            u.status.sync_requested_at = None;
        }
        u.status.next_sync_at = Some(times.next);
        add(&mut u.status.counts.exchange, &report.exchange);
        add(&mut u.status.counts.crm, &report.crm);
        u.status.counts.conflicts += report.conflicts;
        u.status.counts.record_errors += report.record_errors;
        u.status.counts.throttled += report.throttled;
        u.status.last_sync_finished_at = Some(now);
        u.status.last_error = None;
        if matches!(u.state, UserState::Activated | UserState::Error) {
            u.state = if report.needs_confirmation.is_some() {
                UserState::NeedsConfirmation
            } else {
                UserState::Activated
            };
        }
        Ok::<_, StoreError>(())
    }))?;
    if let Some(reason) = &report.needs_confirmation {
        store.append_journal(
            space,
            user,
            now,
            "needs_confirmation",
            reason.clone(),
            serde_json::Value::Null,
        )?;
    }
    Ok(())
}

/// Records a failed cycle: the error, and the `error` state.
pub fn record_failure(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
    error: &CycleError,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tolerate_missing(store.update_user(space, user, |u| {
        u.status.last_sync_finished_at = Some(now);
        u.status.last_error = Some(StatusError {
            code: error.code.clone(),
            message: error.message.clone(),
            at: now,
        });
        if u.state == UserState::Activated {
            u.state = UserState::Error;
        }
        Ok::<_, StoreError>(())
    }))?;
    store.append_journal(
        space,
        user,
        now,
        "cycle_failed",
        error.message.clone(),
        serde_json::json!({ "code": error.code }),
    )?;
    Ok(())
}

/// Records when the next tick is due, as scheduled at `scheduled`, unless a cycle that
/// started since has recorded its own next run (this write may land after it).
pub fn record_next_run(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
    at: DateTime<Utc>,
    scheduled: DateTime<Utc>,
) -> StoreResult<()> {
    tolerate_missing(store.update_user(space, user, |u| {
        if u.status
            .last_sync_started_at
            .is_none_or(|started| started < scheduled)
        {
            u.status.next_sync_at = Some(at);
        }
        Ok::<_, StoreError>(())
    }))
}
