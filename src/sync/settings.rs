//! The user's sync settings as the planner sees them (DESIGN.md section 1, item 3), the
//! mass-delete thresholds, and the Pipeliner access facts that decide which contacts are in
//! the user's scope. The enums are serde (snake_case) and `ToSchema` so the REST layer reuses
//! them as they are.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which way contacts flow between the Exchange folder and Pipeliner.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncType {
    /// Exchange → Pipeliner; the Exchange folder is never written.
    ExchangeToCrm,
    /// Exchange ↔ Pipeliner.
    Bidirectional,
    /// Pipeliner → Exchange; Pipeliner is never written.
    CrmToExchange,
}

impl SyncType {
    /// Whether exsync may write to the Exchange folder in this mode.
    pub fn writes_exchange(self) -> bool {
        !matches!(self, SyncType::ExchangeToCrm)
    }

    /// Whether exsync may write to Pipeliner in this mode.
    pub fn writes_crm(self) -> bool {
        !matches!(self, SyncType::CrmToExchange)
    }
}

/// Which Pipeliner contacts go to Exchange with `crm_to_exchange`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncPreference {
    /// Only contacts the user owns.
    Owned,
    /// Every contact the user can see (owner, editor or viewer).
    Accessible,
}

/// Who wins when the same field was edited differently on both sides (bidirectional only;
/// in a one-way mode the source side always wins).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The side whose record was modified last wins; a tie or a missing time goes to Exchange.
    #[default]
    Newest,
    /// Exchange's value wins.
    ExchangeWins,
    /// Pipeliner's value wins.
    CrmWins,
}

/// The user's relation to one Pipeliner contact, computed by the engine from owner, sharing
/// and unit facts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// The user owns the contact.
    Owner,
    /// The contact is shared with the user (or a unit of theirs) with the editor role.
    Editor,
    /// The user can see the contact but not edit it.
    Viewer,
    /// The user cannot see the contact.
    None,
}

/// When a cycle's deletes count as a mass delete that needs an admin's confirmation.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// Stop when the cycle would delete more than this many contacts (both sides together).
    pub max_deletes: usize,
    /// Stop when the deletes exceed this percentage of the user's links.
    pub max_delete_percent: u32,
    /// The percentage rule applies only from this many links on, so that removing one of
    /// three contacts is not a "mass" delete.
    pub percent_min_links: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_deletes: 500,
            max_delete_percent: 20,
            percent_min_links: 50,
        }
    }
}

impl Thresholds {
    /// Whether `deletes` out of `links` crosses either threshold.
    pub fn crossed(&self, deletes: usize, links: usize) -> bool {
        if deletes > self.max_deletes {
            return true;
        }
        links >= self.percent_min_links
            && links > 0
            && (deletes as u128) * 100 > (self.max_delete_percent as u128) * (links as u128)
    }
}

/// One user's settings, as far as planning a cycle is concerned.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Direction of the sync.
    pub sync_type: SyncType,
    /// Scope of Pipeliner contacts for `crm_to_exchange`; ignored by the other modes.
    pub sync_preference: SyncPreference,
    /// When on, a contact deleted in Exchange is kept in Pipeliner and tombstoned.
    pub delete_protection: bool,
    /// Who wins a same-field conflict in bidirectional mode.
    pub conflict_policy: ConflictPolicy,
    /// Mass-delete guard.
    pub thresholds: Thresholds,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sync_type: SyncType::Bidirectional,
            sync_preference: SyncPreference::Owned,
            delete_protection: true,
            conflict_policy: ConflictPolicy::Newest,
            thresholds: Thresholds::default(),
        }
    }
}

impl Settings {
    /// Whether a Pipeliner contact with this access belongs in the user's Exchange folder.
    /// With `exchange_to_crm` this answers whether exsync may pair with it (it must be
    /// writable).
    pub fn in_scope(&self, access: Access) -> bool {
        match (self.sync_type, self.sync_preference) {
            (SyncType::CrmToExchange, SyncPreference::Owned) => access == Access::Owner,
            (SyncType::CrmToExchange, SyncPreference::Accessible) => access != Access::None,
            _ => matches!(access, Access::Owner | Access::Editor),
        }
    }
}
