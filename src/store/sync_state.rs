//! What a user's sync remembers between cycles besides its links: the resolved folder and
//! Pipeliner owner, both cursors, the subscription, and the planner's bookkeeping
//! (tombstones, pending create intents, remembered refusals).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{user_key, Versioned};
use super::error::StoreResult;
use super::Store;
use crate::ids::{SpaceId, UserId};
use crate::sync::{OwnDelete, PendingIntent, Refusal, Tombstone};

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
}

impl Versioned for UserSyncState {
    const WHAT: &'static str = "user sync state";
    const VERSION: u8 = 1;
}

impl Store {
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
        self.sync_states.put(&user_key(space, user), state)
    }

    /// Forgets a user's sync state.
    pub(super) fn remove_sync_state(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        self.sync_states.remove(&user_key(space, user))?;
        Ok(())
    }
}
