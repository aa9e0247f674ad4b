//! Request and answer bodies of the users routes. The password is write-only.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::store::users::{SyncStatus, UserRecord, UserState};
use crate::sync::settings::{ConflictPolicy, SyncPreference, SyncType};
use crate::sync::user_settings::{FolderChoice, UserSettings};

/// On-premises Exchange credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsInput {
    /// The mailbox password; write-only.
    #[schema(value_type = String, format = Password, min_length = 1)]
    pub password: SecretString,
    /// The EWS endpoint, e.g. `https://mail.example.com/EWS/Exchange.asmx`.
    pub ews_url: Option<String>,
    /// The logon name, when it differs from the e-mail.
    pub username: Option<String>,
    /// The Windows domain.
    pub domain: Option<String>,
}

/// A user to activate (or reconfigure).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivateUser {
    /// The mailbox e-mail address.
    #[schema(example = "jane@acme.com")]
    pub email: String,
    /// The user's Pipeliner Client id; found by e-mail when absent.
    pub pipeliner_user_id: Option<String>,
    /// On-premises Exchange credentials; absent for Exchange Online.
    pub credentials: Option<CredentialsInput>,
    /// Sync settings.
    pub settings: UserSettings,
}

/// Changes to a user's settings; absent fields stay as they are.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// New sync type. Leaving `crm_to_exchange` drops the sync preference.
    pub sync_type: Option<SyncType>,
    /// New sync preference (only with `crm_to_exchange`).
    pub sync_preference: Option<SyncPreference>,
    /// New delete protection.
    pub delete_protection: Option<bool>,
    /// New folder.
    pub folder: Option<FolderChoice>,
    /// New conflict policy.
    pub conflict_policy: Option<ConflictPolicy>,
}

impl SettingsPatch {
    /// The settings after this patch, before validation.
    pub fn applied_to(self, current: &UserSettings) -> UserSettings {
        let sync_type = self.sync_type.unwrap_or(current.sync_type);
        let sync_preference = match (self.sync_preference, sync_type) {
            (Some(preference), _) => Some(preference),
            (None, SyncType::CrmToExchange) => current.sync_preference,
            (None, _) => None,
        };
        UserSettings {
            sync_type,
            sync_preference,
            delete_protection: self.delete_protection.unwrap_or(current.delete_protection),
            folder: self.folder.unwrap_or_else(|| current.folder.clone()),
            conflict_policy: self.conflict_policy.unwrap_or(current.conflict_policy),
        }
    }
}

/// The `?purge=` option of deactivation.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeactivateQuery {
    /// Also drop the user's contact links and journal.
    #[serde(default)]
    pub purge: bool,
}

/// On-premises credentials as answered: the password only as "set".
#[derive(Serialize, ToSchema)]
pub struct CredentialsView {
    /// Whether a password is stored.
    pub password_set: bool,
    /// The EWS endpoint.
    pub ews_url: Option<String>,
    /// The logon name.
    pub username: Option<String>,
    /// The Windows domain.
    pub domain: Option<String>,
}

/// A user with settings and status.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// The user id.
    #[schema(
        pattern = "^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}$",
        min_length = 1,
        max_length = 128
    )]
    pub id: String,
    /// The space id.
    #[schema(
        pattern = "^[A-Za-z0-9_@-][A-Za-z0-9._@-]{0,127}$",
        min_length = 1,
        max_length = 128
    )]
    pub space: String,
    /// The mailbox e-mail address.
    pub email: String,
    /// The user's Pipeliner Client id, when known.
    pub pipeliner_user_id: Option<String>,
    /// On-premises credentials, when given.
    pub credentials: Option<CredentialsView>,
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
    /// The status in one sentence, saying what to do when something needs doing.
    #[schema(example = "No sync has run yet.")]
    pub summary: String,
    /// What the sync has resolved and set up (shown for a single user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncFacts>,
}

/// What a user's sync has resolved and set up so far.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct SyncFacts {
    /// The Exchange folder that syncs, once resolved or created.
    pub folder_id: Option<String>,
    /// The user's Pipeliner Client id, once resolved.
    pub pipeliner_owner_id: Option<String>,
    /// Whether the first sync (pair by e-mail, never delete) has completed.
    pub initial_sync_done: bool,
    /// When the Graph change subscription on the folder expires (exsync renews it a day
    /// before); `null` when notifications are not set up (no `EXSYNC_PUBLIC_URL`).
    pub subscription_expires_at: Option<DateTime<Utc>>,
    /// Creates sent whose outcome is still being checked.
    pub pending_creates: usize,
    /// Records kept on one side that will never be paired or recreated again.
    pub tombstones: usize,
    /// A reconciliation after a settings change, while it is due or running; `null`
    /// otherwise. Its creates count in `pending_creates` as a first sync's do.
    pub reconciliation: Option<ReconciliationFacts>,
}

/// A reconciliation after a change of scope or mapping: both sides are read in full and
/// planned under the new settings once, then the sync continues incrementally.
#[derive(Serialize, ToSchema, Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationFacts {
    /// What changed since the contacts were last planned in full.
    pub changed: Vec<crate::sync::ScopeChange>,
    /// How far it is.
    pub stage: ReconciliationStage,
}

/// How far a reconciliation is.
#[derive(Serialize, ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReconciliationStage {
    /// Waiting for the user's next cycle (which a settings change starts at once).
    Waiting,
    /// A cycle is reading both sides and writing what the new settings ask for.
    Running,
    /// It stopped before writing: it would delete more than the mass-delete threshold
    /// allows; an admin confirms or rejects the deletes.
    NeedsConfirmation,
}

impl ReconciliationFacts {
    /// The status sentence with the reconciliation said first, for a user that syncs.
    pub fn summary(&self, status: &str) -> String {
        let changed: Vec<&str> = self.changed.iter().map(|c| c.label()).collect();
        let what = match self.stage {
            ReconciliationStage::Waiting => "waits for the next sync",
            ReconciliationStage::Running => "is running",
            ReconciliationStage::NeedsConfirmation => return status.to_owned(),
        };
        format!(
            "A reconciliation of all contacts after a change of {} {what}. {status}",
            changed.join(", ")
        )
    }

    /// The reconciliation `user`'s next cycle runs, given the scope its contacts were
    /// last planned under, or `None`.
    pub fn of(
        user: &UserRecord,
        mapping: &crate::sync::Mapping,
        planned: Option<&crate::sync::PlannedScope>,
        first_sync_done: bool,
    ) -> Option<Self> {
        let pending = crate::sync::PlannedScope::of(&user.settings, mapping, user.reconcile_epoch)
            .pending_after(planned, first_sync_done)?;
        let status = &user.status;
        let running = status
            .last_sync_started_at
            .is_some_and(|started| status.last_sync_finished_at.is_none_or(|end| end < started));
        let stage = if user.state == UserState::NeedsConfirmation {
            ReconciliationStage::NeedsConfirmation
        } else if running {
            ReconciliationStage::Running
        } else {
            ReconciliationStage::Waiting
        };
        Some(Self {
            changed: pending.changes,
            stage,
        })
    }
}

impl UserView {
    /// The view of a user of a space whose integration is on or off.
    pub fn new(user: &UserRecord, integration_enabled: bool) -> Self {
        Self {
            id: user.id.to_string(),
            space: user.space.to_string(),
            email: user.email.clone(),
            pipeliner_user_id: user.pipeliner_user_id.clone(),
            credentials: user.credentials.as_ref().map(|c| CredentialsView {
                password_set: true,
                ews_url: c.ews_url.clone(),
                username: c.username.clone(),
                domain: c.domain.clone(),
            }),
            settings: user.settings.clone(),
            state: user.state,
            activated_at: user.activated_at,
            updated_at: user.updated_at,
            status: user.status.clone(),
            summary: summary(user, integration_enabled),
            sync: None,
        }
    }
}

fn summary(user: &UserRecord, integration_enabled: bool) -> String {
    match user.state {
        UserState::Deactivated => {
            "Deactivated: nothing syncs. Activate the user again to resume.".into()
        }
        UserState::Paused => "Paused by an admin: resume the user to sync again.".into(),
        UserState::NeedsConfirmation => {
            "A sync would delete more contacts than the threshold allows: confirm or reject \
             the pending deletes."
                .into()
        }
        UserState::Error => match &user.status.last_error {
            Some(error) => format!("The last sync failed: {}", error.message),
            None => "The last sync failed.".into(),
        },
        UserState::Activated if !integration_enabled => {
            "The integration is switched off for this space: no sync runs until it is \
             switched on."
                .into()
        }
        UserState::Activated => match user.status.last_sync_finished_at {
            None => "No sync has run yet.".into(),
            Some(at) => format!("Last sync finished at {}.", at.to_rfc3339()),
        },
    }
}
