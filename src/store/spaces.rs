//! Registered Pipeliner spaces and the Microsoft tenant each talks to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::{space_key, Versioned};
use super::crypto::SealedSecret;
use super::error::StoreResult;
use super::Store;
use crate::ids::SpaceId;

/// How exsync reaches a Pipeliner space. The secret is sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PipelinerConnection {
    /// The space's service URL, e.g. `https://eu-central.api.pipelinersales.com`.
    pub service_url: String,
    /// Pipeliner's own id of the space.
    pub space_id: String,
    /// The API key (the user name of HTTP Basic).
    pub api_key: String,
    /// The API secret, sealed.
    pub api_secret: SealedSecret,
}

/// How exsync reaches Microsoft Graph for the space's tenant. The secret is sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MicrosoftConnection {
    /// The Entra tenant id.
    pub tenant_id: String,
    /// The app registration's client id.
    pub client_id: String,
    /// The app registration's client secret, sealed.
    pub client_secret: SealedSecret,
    /// The Graph root, e.g. `https://graph.microsoft.com/v1.0`.
    pub graph_url: String,
    /// The login root, e.g. `https://login.microsoftonline.com`.
    pub login_url: String,
}

/// A registered space.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SpaceRecord {
    /// The admin-chosen id.
    pub id: SpaceId,
    /// The display name (the Pipeliner account's name), used in default folder names.
    pub name: String,
    /// The Pipeliner side.
    pub pipeliner: PipelinerConnection,
    /// The Microsoft side.
    pub microsoft: MicrosoftConnection,
    /// Whether the integration is switched on; while off no user of the space syncs.
    pub integration_enabled: bool,
    /// Admin-defined mappings of custom fields, on top of the default table.
    #[serde(default)]
    pub custom_mappings: Vec<crate::sync::CustomMapping>,
    /// When the space was registered.
    pub created_at: DateTime<Utc>,
    /// When the space was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Versioned for SpaceRecord {
    const WHAT: &'static str = "space";
    const VERSION: u8 = 1;
}

/// The associated-data context a space's secret is sealed under.
pub fn space_secret_context(space: &SpaceId, field: &str) -> String {
    format!("space/{space}/{field}")
}

impl Store {
    /// Registers a new space; fails with `AlreadyExists` for a taken id.
    pub fn insert_space(&self, space: &SpaceRecord) -> StoreResult<()> {
        self.spaces.insert_new(&space_key(&space.id), space)
    }

    /// The space with this id.
    pub fn space(&self, id: &SpaceId) -> StoreResult<Option<SpaceRecord>> {
        self.spaces.get_memoized(&space_key(id), &self.space_memo)
    }

    /// Every space, ordered by id.
    pub fn spaces(&self) -> StoreResult<Vec<SpaceRecord>> {
        Ok(self
            .spaces
            .scan_prefix(&[])?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }

    /// Changes a space atomically.
    pub fn update_space<E: From<super::StoreError>>(
        &self,
        id: &SpaceId,
        change: impl Fn(&mut SpaceRecord) -> Result<(), E>,
    ) -> Result<SpaceRecord, E> {
        self.spaces.update(&space_key(id), change)
    }

    /// Removes a space and everything stored for its users.
    pub fn remove_space(&self, id: &SpaceId) -> StoreResult<bool> {
        for user in self.users(id)? {
            self.purge_user(id, &user.id)?;
        }
        self.spaces.remove(&space_key(id))
    }
}
