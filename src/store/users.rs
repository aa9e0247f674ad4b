//! Activated users: connection properties, sync settings, state and status.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codec::{space_key, user_key, Versioned};
use super::crypto::SealedSecret;
use super::error::StoreResult;
use super::Store;
use crate::ids::{SpaceId, UserId};
use crate::sync::user_settings::UserSettings;

/// Where a user is in its life cycle.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// Syncing (when the space's integration is on).
    Activated,
    /// Stopped by an admin; resumes on request.
    Paused,
    /// The last cycle failed; the status says why.
    Error,
    /// A cycle would delete more than the threshold and waits for an admin.
    NeedsConfirmation,
    /// Switched off; the record stays for its history.
    Deactivated,
}

/// On-premises Exchange credentials. The password is sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredCredentials {
    /// The mailbox password, sealed.
    pub password: SealedSecret,
    /// The EWS endpoint, when autodiscovery is not used.
    pub ews_url: Option<String>,
    /// The logon name, when it differs from the e-mail.
    pub username: Option<String>,
    /// The Windows domain.
    pub domain: Option<String>,
}

/// Counts of writes on one side.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SideCounts {
    /// Contacts created.
    pub created: u64,
    /// Contacts updated.
    pub updated: u64,
    /// Contacts deleted.
    pub deleted: u64,
}

/// What the sync has done for a user, totalled since activation.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Writes to Exchange.
    pub exchange: SideCounts,
    /// Writes to Pipeliner.
    pub crm: SideCounts,
    /// Same-field conflicts resolved by policy.
    pub conflicts: u64,
    /// Records that could not be synced.
    pub record_errors: u64,
    /// 429 answers from Graph or Pipeliner, each waited out and retried.
    #[serde(default)]
    pub throttled: u64,
}

/// An error the user's sync hit, with what to do about it.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, PartialEq, Eq)]
pub struct StatusError {
    /// A stable snake_case code.
    pub code: String,
    /// What happened and what to do, as a sentence.
    pub message: String,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// The sync status of a user.
#[derive(Serialize, Deserialize, ToSchema, Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// When the last cycle started; `null` until the first sync runs.
    pub last_sync_started_at: Option<DateTime<Utc>>,
    /// When the last cycle finished.
    pub last_sync_finished_at: Option<DateTime<Utc>>,
    /// When the next cycle is scheduled.
    pub next_sync_at: Option<DateTime<Utc>>,
    /// When an admin last asked for a sync that has not run yet.
    pub sync_requested_at: Option<DateTime<Utc>>,
    /// Totals since activation.
    pub counts: SyncCounts,
    /// The last error, cleared by a successful cycle.
    pub last_error: Option<StatusError>,
}

/// An activated (or formerly activated) user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    /// The space the user belongs to.
    pub space: SpaceId,
    /// The caller-chosen id.
    pub id: UserId,
    /// The mailbox e-mail address.
    pub email: String,
    /// The user's Pipeliner Client id, when given; otherwise found by e-mail.
    pub pipeliner_user_id: Option<String>,
    /// On-premises credentials, when given.
    pub credentials: Option<StoredCredentials>,
    /// Sync settings.
    pub settings: UserSettings,
    /// Life-cycle state.
    pub state: UserState,
    /// When the user was (last) activated.
    pub activated_at: DateTime<Utc>,
    /// When the record last changed.
    pub updated_at: DateTime<Utc>,
    /// What the sync has done.
    pub status: SyncStatus,
    /// How many times the user was activated again (`PUT` of an existing user): each time
    /// asks for a reconciliation of all its contacts ([`crate::sync::scope`]).
    #[serde(default)]
    pub reconcile_epoch: u64,
}

impl Versioned for UserRecord {
    const WHAT: &'static str = "user";
    const VERSION: u8 = 1;
}

/// The associated-data context a user's password is sealed under.
pub fn user_secret_context(space: &SpaceId, user: &UserId) -> String {
    format!("user/{space}/{user}/credentials.password")
}

impl Store {
    /// The user with this id in this space.
    pub fn user(&self, space: &SpaceId, user: &UserId) -> StoreResult<Option<UserRecord>> {
        self.users.get(&user_key(space, user))
    }

    /// Writes a user record (create or replace).
    pub fn put_user(&self, user: &UserRecord) -> StoreResult<()> {
        self.users.put(&user_key(&user.space, &user.id), user)
    }

    /// Every user of a space, ordered by id.
    pub fn users(&self, space: &SpaceId) -> StoreResult<Vec<UserRecord>> {
        Ok(self
            .users
            .scan_prefix(&space_key(space))?
            .into_iter()
            .map(|(_, u)| u)
            .collect())
    }

    /// Every user of every space.
    pub fn all_users(&self) -> StoreResult<Vec<UserRecord>> {
        Ok(self
            .users
            .scan_prefix(&[])?
            .into_iter()
            .map(|(_, u)| u)
            .collect())
    }

    /// Changes a user atomically.
    pub fn update_user<E: From<super::StoreError>>(
        &self,
        space: &SpaceId,
        user: &UserId,
        change: impl Fn(&mut UserRecord) -> Result<(), E>,
    ) -> Result<UserRecord, E> {
        self.users.update(&user_key(space, user), change)
    }

    /// Removes a user's record, links and journal.
    pub fn purge_user(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        self.purge_sync_state(space, user)?;
        self.users.remove(&user_key(space, user))?;
        Ok(())
    }

    /// Drops a user's links, cursors and journal but keeps the user record.
    pub fn purge_sync_state(&self, space: &SpaceId, user: &UserId) -> StoreResult<()> {
        self.remove_links_of(space, user)?;
        self.remove_sync_state(space, user)?;
        self.clear_journal(space, user)
    }

    /// The state of every user, reading nothing else of the records (for the metrics,
    /// read on every scrape).
    pub fn user_states(&self) -> StoreResult<Vec<UserState>> {
        #[derive(Deserialize)]
        struct StateOnly {
            state: UserState,
        }
        self.users
            .raw()
            .iter()
            .values()
            .map(|value| {
                let value = value?;
                let view: StateOnly =
                    super::codec::decode_view(&value, UserRecord::WHAT, UserRecord::VERSION)?;
                Ok(view.state)
            })
            .collect()
    }
}
