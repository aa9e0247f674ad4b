//! What a user's sync remembers between cycles besides its links: the resolved folder and
//! Pipeliner owner, both cursors, the subscription, and the planner's bookkeeping
//! (tombstones, pending create intents, remembered refusals), and the settings its contacts
//! were last planned under in full.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::codec::{decode, decode_view, encode, user_key, Versioned};
use super::error::StoreResult;
use super::Store;
use crate::ids::{SpaceId, UserId};
use crate::sync::{OwnDelete, PendingIntent, PlannedScope, Refusal, Tombstone};

/// A user's cursors and bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserSyncState {
    /// The Exchange folder that syncs, once resolved or created.
    pub folder_id: Option<String>,
    /// The user's Pipeliner Client id, once resolved.
    pub owner_id: Option<String>,
    /// Graph's `@odata.deltaLink` after the last complete round.
    pub delta_link: Option<String>,
    /// The newest Pipeliner `modified` seen in the last committed cycle.
    pub crm_watermark: Option<DateTime<Utc>>,
    /// Whether the first sync (match by e-mail, never delete) has committed.
    pub first_sync_done: bool,
    /// The Graph subscription on the folder.
    pub subscription_id: Option<String>,
    /// Records never to be paired or recreated again.
    pub tombstones: Vec<Tombstone>,
    /// Creates sent but not yet committed.
    pub intents: Vec<PendingIntent>,
    /// Creates refused by Pipeliner, not retried while nothing changed.
    pub refusals: Vec<Refusal>,
    /// Deletes exsync sent whose pairs are still stored.
    #[serde(default)]
    pub own_deletes: Vec<OwnDelete>,
    /// An admin confirmed the pending mass delete; the next cycle may run it.
    pub deletes_confirmed: bool,
    /// When the last complete Graph delta round of the folder was read (ticks of a user
    /// with a live subscription skip Graph until this is [`EXCHANGE_SAFETY_NET`] old).
    #[serde(default)]
    pub exchange_polled_at: Option<DateTime<Utc>>,
    /// The sequence number the next create gets ([`PendingIntent::seq`]): numbers only
    /// grow, so a mark of sent creates ([`super::create_sends`]) never covers a create
    /// planned after it.
    #[serde(default)]
    pub next_create_seq: u64,
    /// The settings the user's contacts were last planned under in full (a first sync or
    /// a reconciliation); a cycle whose settings give another scope is a reconciliation
    /// ([`crate::sync::scope`]). `None` before the first sync, and in states stored before
    /// reconciliations existed, which take the current scope without one.
    #[serde(default)]
    pub planned_scope: Option<PlannedScope>,
}

/// How long the periodic ticks of a user whose folder has a live Graph subscription
/// trust the subscription instead of reading the folder's delta. Graph retries a failed
/// delivery for up to four hours and then sends a `missed` lifecycle event, which syncs
/// the user at once; past that, a tick reads the delta anyway, which also keeps the
/// delta token in use.
pub const EXCHANGE_SAFETY_NET: chrono::Duration = chrono::Duration::hours(6);

/// How far the stored Pipeliner watermark of a quiet user may lag behind the one its
/// latest tick reached before the state is written again. Ticks answered from a space's
/// shared window read from the stored watermark, so it must stay well inside the window's
/// reach ([`crate::connectors::pipeliner::feed::FEED_REACH`]).
pub const CRM_WATERMARK_LAG: chrono::Duration = chrono::Duration::hours(1);

impl UserSyncState {
    /// The state without the planner's bookkeeping lists (tombstones, intents, refusals,
    /// own deletes): its cursors and ids, cheap to copy even during a large first sync.
    pub fn cursors(&self) -> Self {
        Self {
            folder_id: self.folder_id.clone(),
            owner_id: self.owner_id.clone(),
            delta_link: self.delta_link.clone(),
            crm_watermark: self.crm_watermark,
            first_sync_done: self.first_sync_done,
            subscription_id: self.subscription_id.clone(),
            tombstones: Vec::new(),
            intents: Vec::new(),
            refusals: Vec::new(),
            own_deletes: Vec::new(),
            deletes_confirmed: self.deletes_confirmed,
            exchange_polled_at: self.exchange_polled_at,
            next_create_seq: self.next_create_seq,
            planned_scope: self.planned_scope.clone(),
        }
    }
}

impl Versioned for UserSyncState {
    const WHAT: &'static str = "user sync state";
    const VERSION: u8 = 1;
}

/// The parts of a sync state the admin API shows, read without building the intents and
/// tombstones (during a large first sync the state holds thousands of pending creates).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SyncStateSummary {
    /// The Exchange folder that syncs, once resolved or created.
    #[serde(default)]
    pub folder_id: Option<String>,
    /// The user's Pipeliner Client id, once resolved.
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Whether the first sync has committed.
    #[serde(default)]
    pub first_sync_done: bool,
    /// The Graph subscription on the folder.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// How many tombstones there are.
    #[serde(default, deserialize_with = "count_items")]
    pub tombstones: usize,
    /// How many creates are pending.
    #[serde(default, deserialize_with = "count_items")]
    pub intents: usize,
    /// The settings the contacts were last planned under in full.
    #[serde(default)]
    pub planned_scope: Option<PlannedScope>,
}

/// The summaries of the sync states stored in more than [`SUMMARIZED_FROM_BYTES`], by
/// user key, kept when the state is written: reading one from the state means scanning
/// every pending create.
pub(super) type SummaryCache = Arc<Mutex<HashMap<Vec<u8>, SyncStateSummary>>>;

/// The stored size from which a sync state's summary is kept in memory (a first sync's
/// pending creates; a synced user's state is a few hundred bytes).
pub const SUMMARIZED_FROM_BYTES: usize = 64 * 1024;

impl SyncStateSummary {
    /// The summary of `state`.
    fn of(state: &UserSyncState) -> Self {
        Self {
            folder_id: state.folder_id.clone(),
            owner_id: state.owner_id.clone(),
            first_sync_done: state.first_sync_done,
            subscription_id: state.subscription_id.clone(),
            tombstones: state.tombstones.len(),
            intents: state.intents.len(),
            planned_scope: state.planned_scope.clone(),
        }
    }
}

/// Counts a JSON list's items without building them.
fn count_items<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    struct Counter;
    impl<'de> serde::de::Visitor<'de> for Counter {
        type Value = usize;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<usize, A::Error> {
            let mut n = 0;
            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                n += 1;
            }
            Ok(n)
        }
    }
    deserializer.deserialize_seq(Counter)
}

impl Store {
    /// The summary of a user's sync state (empty before the first cycle).
    pub fn sync_state_summary(
        &self,
        space: &SpaceId,
        user: &UserId,
    ) -> StoreResult<SyncStateSummary> {
        let key = user_key(space, user);
        if let Some(summary) = self.summaries().get(&key) {
            return Ok(summary.clone());
        }
        self.sync_states
            .raw()
            .get(key)?
            .map(|bytes| decode_view(&bytes, UserSyncState::WHAT, UserSyncState::VERSION))
            .transpose()
            .map(Option::unwrap_or_default)
    }

    fn summaries(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, SyncStateSummary>> {
        self.large_state_summaries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A user's sync state when it is stored in at most `limit` bytes (empty before the
    /// first cycle); `None`, without decoding it, when it is larger.
    pub fn sync_state_within(
        &self,
        space: &SpaceId,
        user: &UserId,
        limit: usize,
    ) -> StoreResult<Option<UserSyncState>> {
        match self.sync_states.raw().get(user_key(space, user))? {
            None => Ok(Some(UserSyncState::default())),
            Some(bytes) if bytes.len() <= limit => decode(&bytes).map(Some),
            Some(_) => Ok(None),
        }
    }

    /// A user's sync state (empty before the first cycle).
    pub fn sync_state(&self, space: &SpaceId, user: &UserId) -> StoreResult<UserSyncState> {
        Ok(self
            .sync_states
            .get(&user_key(space, user))?
            .unwrap_or_default())
    }

    /// Stores a user's sync state.
    pub fn put_sync_state(
        &self,
        space: &SpaceId,
        user: &UserId,
        state: &UserSyncState,
    ) -> StoreResult<()> {
        let key = user_key(space, user);
        let bytes = encode(state)?;
        let large = bytes.len() >= SUMMARIZED_FROM_BYTES;
        self.sync_states.raw().insert(key.as_slice(), bytes)?;
        // A user's state has one writer (its actor), so the summary follows the write.
        if large {
            self.summaries().insert(key, SyncStateSummary::of(state));
        } else {
            self.summaries().remove(&key);
        }
        Ok(())
    }

    /// Forgets a user's sync state.
    pub(super) fn remove_sync_state(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        let key = user_key(space, user);
        self.sync_states.remove(&key)?;
        self.summaries().remove(&key);
        self.remove_create_sends(space, user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;
    use crate::sync::{IntentId, Side};

    /// A state in folder-1 with `n` pending creates.
    fn pending(n: usize) -> UserSyncState {
        UserSyncState {
            folder_id: Some("folder-1".into()),
            intents: (0..n)
                .map(|i| PendingIntent {
                    id: IntentId(format!("x:{i}")),
                    target: Side::Exchange,
                    source_id: i.to_string(),
                    contact: Default::default(),
                    stamp: None,
                    seq: None,
                })
                .collect(),
            ..UserSyncState::default()
        }
    }

    #[test]
    fn the_cursors_are_the_state_without_its_lists() {
        let state = UserSyncState {
            delta_link: Some("delta-1".into()),
            first_sync_done: true,
            ..pending(3)
        };
        let cursors = state.cursors();
        assert!(cursors.intents.is_empty());
        assert_eq!(
            UserSyncState {
                intents: Vec::new(),
                ..state
            },
            cursors
        );
    }

    #[test]
    fn the_summary_counts_what_the_state_holds() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let user = UserId::parse("jane").unwrap();
        assert_eq!(
            store.sync_state_summary(&space, &user).unwrap(),
            SyncStateSummary::default()
        );
        let state = UserSyncState {
            first_sync_done: true,
            ..pending(3)
        };
        store.put_sync_state(&space, &user, &state).unwrap();
        let summary = store.sync_state_summary(&space, &user).unwrap();
        assert_eq!(summary.folder_id.as_deref(), Some("folder-1"));
        assert!(summary.first_sync_done);
        assert_eq!((summary.intents, summary.tombstones), (3, 0));
    }

    #[test]
    fn a_large_state_is_summarized_as_it_is_written_and_forgotten_with_it() {
        let (_dir, store) = test_store();
        let space = SpaceId::parse("acme").unwrap();
        let user = UserId::parse("jane").unwrap();
        let large = pending(2_000);
        assert!(encode(&large).unwrap().len() >= SUMMARIZED_FROM_BYTES);
        store.put_sync_state(&space, &user, &large).unwrap();
        assert_eq!(store.summaries().len(), 1, "kept in memory");
        assert_eq!(
            store.sync_state_summary(&space, &user).unwrap().intents,
            2_000
        );
        store.put_sync_state(&space, &user, &pending(1)).unwrap();
        assert!(store.summaries().is_empty(), "a small state is read");
        assert_eq!(store.sync_state_summary(&space, &user).unwrap().intents, 1);
        store.put_sync_state(&space, &user, &large).unwrap();
        store.remove_sync_state(&space, &user).unwrap();
        assert_eq!(
            store.sync_state_summary(&space, &user).unwrap(),
            SyncStateSummary::default()
        );
    }
}
