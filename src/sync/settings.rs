//! The enums of a user's sync settings (DESIGN.md section 1.3).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Which way contacts flow.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SyncType {
    /// Exchange → Pipeliner; Exchange is never written.
    ExchangeToCrm,
    /// Exchange ↔ Pipeliner.
    Bidirectional,
    /// Pipeliner → Exchange; Pipeliner is never written.
    CrmToExchange,
}

/// Which Pipeliner contacts go to Exchange in `crm_to_exchange` mode.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum SyncPreference {
    /// Contacts the user owns.
    Owned,
    /// Contacts the user can see (owned, shared as editor or watcher).
    Accessible,
}

/// How a field edited on both sides since the last sync is resolved.
#[derive(Serialize, Deserialize, ToSchema, Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The most recently modified side wins.
    #[default]
    Newest,
    /// Exchange's value wins.
    ExchangeWins,
    /// Pipeliner's value wins.
    CrmWins,
}
