//! Removing exsync's registrations upstream when a user or a space no longer needs them:
//! a deactivated user's Graph subscriptions, and on a space's deletion or integration
//! switch-off its Pipeliner webhook and every subscription of its users.
//!
//! Removal happens in two steps. First, in the same storage call as the admin change
//! that makes a registration unwanted, its record moves into a [`PendingRemoval`] that
//! keeps a copy of the space's connection (secrets still sealed), so the removal outlives
//! the space. Then the [`sweeper`] deletes it upstream (a 404 counts as done, and so does
//! a Graph subscription past its expiry) and forgets it, or keeps it with the error and
//! tries again later with a growing wait. Admin calls never wait for an upstream: they
//! wake the sweeper and answer. A cycle that stores a subscription or webhook checks
//! afterwards that its user and space still want it, so one made while an admin removed
//! the user is removed too; an hourly scan for orphans catches what a crash left between
//! the two steps.

pub mod sweeper;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::cycle::SpaceClients;
use crate::ids::{SpaceId, UserId};
use crate::store::hooks::{SpaceHookRecord, SubscriptionRecord};
use crate::store::removals::{PendingRemoval, RemovalReason, RemovalTarget, SpaceConnection};
use crate::store::spaces::SpaceRecord;
use crate::store::users::{UserRecord, UserState};
use crate::store::{Store, StoreResult};

pub use sweeper::{Remover, Sweeper};

/// The longest wait between two attempts at a removal (unless sweeps are rarer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Why the registrations of `space` (and of `user`, when given) are no longer wanted, by
/// what the store says now; `None` while they are.
pub fn unwanted(
    store: &Store,
    space: &SpaceId,
    user: Option<&UserId>,
) -> StoreResult<Option<RemovalReason>> {
    let Some(record) = store.space(space)? else {
        return Ok(Some(RemovalReason::SpaceDeleted));
    };
    if !record.integration_enabled {
        return Ok(Some(RemovalReason::IntegrationOff));
    }
    let Some(user) = user else {
        return Ok(None);
    };
    Ok(match store.user(space, user)? {
        Some(u) if u.state != UserState::Deactivated => None,
        _ => Some(RemovalReason::UserDeactivated),
    })
}

/// Moves a subscription's record into a pending removal.
pub fn retire_subscription(
    store: &Store,
    space: &SpaceRecord,
    record: &SubscriptionRecord,
    mailbox: &str,
    reason: RemovalReason,
    now: DateTime<Utc>,
) -> StoreResult<PendingRemoval> {
    let removal = PendingRemoval::new(
        space,
        Some(record.user.clone()),
        RemovalTarget::GraphSubscription {
            id: record.id.clone(),
            mailbox: mailbox.to_owned(),
            expires_at: record.expires_at,
        },
        reason,
        now,
    );
    store.add_pending_removal(&removal)?;
    store.remove_subscription(&record.id)?;
    Ok(removal)
}

/// Moves a space's webhook record into a pending removal.
fn retire_space_hook(
    store: &Store,
    space: &SpaceRecord,
    hook: &SpaceHookRecord,
    reason: RemovalReason,
    now: DateTime<Utc>,
) -> StoreResult<PendingRemoval> {
    let removal = hook_removal(space, hook, reason, now);
    store.add_pending_removal(&removal)?;
    store.remove_space_hook(&space.id)?;
    Ok(removal)
}

/// Retires every stored subscription of `user` (a user being deactivated); returns how
/// many.
pub fn retire_user(
    store: &Store,
    space: &SpaceRecord,
    user: &UserRecord,
    reason: RemovalReason,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let records = store.subscriptions_of(&space.id, Some(&user.id))?;
    for record in &records {
        retire_subscription(store, space, record, &user.email, reason, now)?;
    }
    Ok(records.len())
}

/// Retires the space's webhook and every stored subscription of its users (a space being
/// deleted or switched off); returns how many registrations.
pub fn retire_space(
    store: &Store,
    space: &SpaceRecord,
    reason: RemovalReason,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let records = store.subscriptions_of(&space.id, None)?;
    retire_space_records(store, space, &records, reason, now)
}

/// Retires `records` (subscriptions of the space's users) and the space's webhook.
fn retire_space_records(
    store: &Store,
    space: &SpaceRecord,
    records: &[SubscriptionRecord],
    reason: RemovalReason,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    let mailboxes: HashMap<UserId, String> = store
        .users(&space.id)?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    for record in records {
        let mailbox = mailboxes.get(&record.user).map_or("", String::as_str);
        retire_subscription(store, space, record, mailbox, reason, now)?;
    }
    let hook = store.space_hook(&space.id)?;
    if let Some(hook) = &hook {
        retire_space_hook(store, space, hook, reason, now)?;
    }
    Ok(records.len() + usize::from(hook.is_some()))
}

/// Stores a subscription a cycle made or renewed, then checks that its user still wants
/// it: an admin may have deactivated the user (or switched the space off) while the
/// cycle ran, after retiring what was stored then. Returns the removal when it is not
/// wanted any more.
pub fn keep_subscription(
    store: &Store,
    space: &SpaceRecord,
    mailbox: &str,
    record: &SubscriptionRecord,
    now: DateTime<Utc>,
) -> StoreResult<Option<PendingRemoval>> {
    store.put_subscription(record)?;
    match unwanted(store, &space.id, Some(&record.user))? {
        None => Ok(None),
        Some(reason) => retire_subscription(store, space, record, mailbox, reason, now).map(Some),
    }
}

/// Stores a space's webhook a cycle registered, then checks that the space still wants
/// it, as [`keep_subscription`] does. A different webhook stored before (registered at
/// another URL or with older options) becomes a pending removal.
pub fn keep_space_hook(
    store: &Store,
    space: &SpaceRecord,
    hook: &SpaceHookRecord,
    now: DateTime<Utc>,
) -> StoreResult<KeptHook> {
    let replaced = match store.space_hook(&space.id)? {
        Some(old) if old.webhook_id != hook.webhook_id => {
            let removal = hook_removal(space, &old, RemovalReason::Replaced, now);
            store.add_pending_removal(&removal)?;
            Some(removal)
        }
        _ => None,
    };
    store.put_space_hook(&space.id, hook)?;
    let unwanted = match unwanted(store, &space.id, None)? {
        None => None,
        Some(reason) => Some(retire_space_hook(store, space, hook, reason, now)?),
    };
    Ok(KeptHook { unwanted, replaced })
}

/// What [`keep_space_hook`] left to remove upstream.
#[derive(Debug)]
pub struct KeptHook {
    /// The new webhook itself, when the space no longer wants it.
    pub unwanted: Option<PendingRemoval>,
    /// The webhook stored before, which the new one replaces.
    pub replaced: Option<PendingRemoval>,
}

/// The pending removal of a space's webhook.
fn hook_removal(
    space: &SpaceRecord,
    hook: &SpaceHookRecord,
    reason: RemovalReason,
    now: DateTime<Utc>,
) -> PendingRemoval {
    PendingRemoval::new(
        space,
        None,
        RemovalTarget::PipelinerWebhook {
            id: hook.webhook_id.clone(),
        },
        reason,
        now,
    )
}

/// Retires the registrations no user or space wants any more that are still stored as
/// live ones (left by a crash between an admin change and its retirement); returns how
/// many. Those of a space that no longer exists are left alone: nothing is left to reach
/// its upstreams with.
pub fn retire_orphans(store: &Store, now: DateTime<Utc>) -> StoreResult<usize> {
    let mut by_space: HashMap<SpaceId, Vec<SubscriptionRecord>> = HashMap::new();
    for record in store.all_subscriptions()? {
        by_space
            .entry(record.space.clone())
            .or_default()
            .push(record);
    }
    let mut retired = 0;
    for space in store.spaces()? {
        let records = by_space.remove(&space.id).unwrap_or_default();
        if !space.integration_enabled {
            let reason = RemovalReason::IntegrationOff;
            retired += retire_space_records(store, &space, &records, reason, now)?;
            continue;
        }
        let users: HashMap<UserId, UserRecord> = store
            .users(&space.id)?
            .into_iter()
            .map(|u| (u.id.clone(), u))
            .collect();
        for record in records {
            let user = users.get(&record.user);
            if user.is_none_or(|u| u.state == UserState::Deactivated) {
                let mailbox = user.map_or("", |u| u.email.as_str());
                let reason = RemovalReason::UserDeactivated;
                retire_subscription(store, &space, &record, mailbox, reason, now)?;
                retired += 1;
            }
        }
    }
    Ok(retired)
}

/// Whether the space's current connection reaches the upstream the removal's copy does:
/// then the current one is used, whose secrets may have been replaced since (an expired
/// secret is a common reason for a removal to fail).
pub fn reaches_same_upstream(removal: &PendingRemoval, space: &SpaceRecord) -> bool {
    let copy = &removal.connection;
    match removal.target {
        RemovalTarget::GraphSubscription { .. } => {
            copy.microsoft.graph_url == space.microsoft.graph_url
                && copy.microsoft.tenant_id == space.microsoft.tenant_id
                && copy.microsoft.client_id == space.microsoft.client_id
        }
        RemovalTarget::PipelinerWebhook { .. } => {
            copy.pipeliner.service_url == space.pipeliner.service_url
                && copy.pipeliner.space_id == space.pipeliner.space_id
        }
    }
}

/// The connection a removal is attempted with: the space's current one when it reaches
/// the same upstream, the removal's copy otherwise (the space is gone or points
/// elsewhere now).
pub fn connection_for(removal: &PendingRemoval, current: Option<&SpaceRecord>) -> SpaceConnection {
    match current {
        Some(space) if reaches_same_upstream(removal, space) => SpaceConnection::from(space),
        _ => removal.connection.clone(),
    }
}

/// Deletes the removal's registration upstream. Done when it is gone, already was (404),
/// or is a Graph subscription past its expiry (Graph dropped it). The error is the
/// upstream's, without secrets.
pub async fn delete_upstream(
    clients: &SpaceClients,
    removal: &PendingRemoval,
    now: DateTime<Utc>,
) -> Result<(), String> {
    match &removal.target {
        RemovalTarget::GraphSubscription { expires_at, .. } if *expires_at <= now => Ok(()),
        RemovalTarget::GraphSubscription { id, mailbox, .. } => clients
            .graph
            .delete_subscription(mailbox, id)
            .await
            .map_err(|e| e.to_string()),
        RemovalTarget::PipelinerWebhook { id } => clients
            .pipeliner
            .delete_webhook(id)
            .await
            .map_err(|e| e.to_string()),
    }
}

/// Records what attempts at removals gave: done ones are forgotten, failed ones keep
/// their error for the status and the next attempt.
pub fn settle(
    store: &Store,
    outcomes: Vec<(PendingRemoval, Result<(), String>)>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for (removal, outcome) in outcomes {
        let (space, kind, id) = (&removal.space, removal.target.kind(), removal.target.id());
        match outcome {
            Ok(()) => {
                store.remove_pending_removal(&removal)?;
                tracing::info!(space = %space, ?kind, id, "removed upstream");
            }
            Err(error) => {
                tracing::warn!(space = %space, ?kind, id, %error, "cannot remove upstream yet; will retry");
                store.note_removal_attempt(&removal.failed(&error, now))?;
            }
        }
    }
    Ok(())
}

/// Whether a removal is due at `now` when sweeps run every `every`: at once when never
/// tried, then after `every`, doubling with each failure up to [`MAX_BACKOFF`].
pub fn is_due(removal: &PendingRemoval, now: DateTime<Utc>, every: Duration) -> bool {
    let Some(last) = removal.last_attempt_at else {
        return true;
    };
    let doublings = removal.attempts.saturating_sub(1).min(16);
    let wait = every
        .saturating_mul(1 << doublings)
        .min(MAX_BACKOFF.max(every));
    // A sweep that comes a little early still counts, or each wait would take one more.
    chrono::Duration::from_std(wait - every / 10)
        .ok()
        .and_then(|wait| last.checked_add_signed(wait))
        .is_some_and(|due| now >= due)
}

#[cfg(test)]
mod tests;
