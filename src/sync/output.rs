//! What `plan()` decides: writes per side, link changes, journal entries, conflicts,
//! per-record errors and the mass-delete stop. Every action and link change carries the
//! [`PairKey`] of the pair it belongs to: the engine commits a pair's link change once all
//! of that pair's actions have succeeded, and never otherwise.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contact::{Contact, FieldKey};
use super::input::{IntentId, Refusal, Side, Tombstone};
use super::snapshot::Snapshot;

/// Groups the actions and link change of one pair within a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PairKey(pub u32);

/// A record id that is known, or will be known once the create with this intent succeeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordId {
    /// An existing record.
    Known(String),
    /// The record the create with this intent will produce.
    Created(IntentId),
}

/// A write to one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create a record. Record the intent before sending; mark the record with it.
    Create {
        /// The pair.
        pair: PairKey,
        /// Intent id to record and attach.
        intent: IntentId,
        /// All mapped values of the new record.
        contact: Box<Contact>,
    },
    /// Change only these mapped fields (`None` clears). Groups written as one property
    /// (e-mails, phones of a kind, the address) are complete.
    Update {
        /// The pair.
        pair: PairKey,
        /// The record.
        id: String,
        /// Fields to send.
        changes: BTreeMap<FieldKey, Option<String>>,
    },
    /// Delete a record.
    Delete {
        /// The pair.
        pair: PairKey,
        /// The record.
        id: String,
    },
}

impl Action {
    /// The pair this action belongs to.
    pub fn pair(&self) -> PairKey {
        match self {
            Action::Create { pair, .. } | Action::Update { pair, .. } => *pair,
            Action::Delete { pair, .. } => *pair,
        }
    }
}

/// A change to the stored links, committed after the pair's actions succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkChange {
    /// A new pair (first-sync match, create, or adopted create).
    Link {
        /// The pair.
        pair: PairKey,
        /// Exchange record.
        exchange: RecordId,
        /// Pipeliner record.
        crm: RecordId,
        /// The synced state after the actions.
        snapshot: Snapshot,
        /// A pending intent this link resolves; drop it with the commit.
        resolves: Option<IntentId>,
    },
    /// An existing pair gets a new record on one side (recreated after a delete).
    Relink {
        /// The pair.
        pair: PairKey,
        /// The stored Exchange id.
        old_exchange_id: String,
        /// The stored Pipeliner id.
        old_crm_id: String,
        /// Exchange record now.
        exchange: RecordId,
        /// Pipeliner record now.
        crm: RecordId,
        /// The synced state after the actions.
        snapshot: Snapshot,
        /// A pending intent this relink resolves; drop it with the commit.
        resolves: Option<IntentId>,
    },
    /// The pair stays; its snapshot and versions move on.
    Refresh {
        /// The pair.
        pair: PairKey,
        /// Exchange id.
        exchange_id: String,
        /// Pipeliner id.
        crm_id: String,
        /// The synced state after the actions.
        snapshot: Snapshot,
        /// Latest Graph changeKey seen (the engine replaces it with a write's result).
        exchange_version: Option<String>,
        /// Latest Pipeliner revision seen (likewise).
        crm_version: Option<String>,
    },
    /// The pair ends.
    Unlink {
        /// The pair.
        pair: PairKey,
        /// Exchange id.
        exchange_id: String,
        /// Pipeliner id.
        crm_id: String,
    },
    /// Remember a record that must not be paired or recreated.
    Tombstone {
        /// The pair.
        pair: PairKey,
        /// The tombstone.
        tombstone: Tombstone,
    },
    /// A create of an earlier cycle whose record was found and whose pair ends now: drop
    /// its pending intent with this pair's commit (and only then).
    Resolve {
        /// The pair.
        pair: PairKey,
        /// The intent to drop.
        intent: IntentId,
    },
}

impl LinkChange {
    /// The pair this change belongs to.
    pub fn pair(&self) -> PairKey {
        match self {
            LinkChange::Link { pair, .. }
            | LinkChange::Relink { pair, .. }
            | LinkChange::Refresh { pair, .. }
            | LinkChange::Unlink { pair, .. }
            | LinkChange::Tombstone { pair, .. }
            | LinkChange::Resolve { pair, .. } => *pair,
        }
    }
}

/// The same field edited differently on both sides (or a value about to be overwritten
/// that was never synced), with both values and who won.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Exchange record.
    pub exchange_id: Option<String>,
    /// Pipeliner record.
    pub crm_id: Option<String>,
    /// The field.
    pub field: FieldKey,
    /// Exchange's value.
    pub exchange_value: Option<String>,
    /// Pipeliner's value.
    pub crm_value: Option<String>,
    /// The side whose value both sides will hold (where writable).
    pub winner: Side,
}

/// What a journal entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalKind {
    /// A record is created.
    Create,
    /// A record is updated.
    Update,
    /// A record is deleted.
    Delete,
    /// Two records are paired.
    Link,
    /// A pair ends.
    Unlink,
    /// A record is tombstoned.
    Tombstone,
    /// A conflict was resolved.
    Conflict,
    /// A record was refused or skipped, with the reason.
    Skip,
    /// Something about the cycle as a whole.
    Notice,
}

/// One line of the user's journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What.
    pub kind: JournalKind,
    /// Side written or concerned, if one.
    pub side: Option<Side>,
    /// Exchange record.
    pub exchange_id: Option<String>,
    /// Pipeliner record.
    pub crm_id: Option<String>,
    /// A sentence for people.
    pub message: String,
}

/// A record that could not be synced, with a sentence saying why and what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordError {
    /// The side of the record.
    pub side: Side,
    /// Its id.
    pub id: String,
    /// The reason.
    pub message: String,
}

/// The cycle would delete too much: nothing is written until an admin confirms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsConfirmation {
    /// Exchange records the cycle would delete.
    pub exchange_deletes: usize,
    /// Pipeliner records the cycle would delete.
    pub crm_deletes: usize,
    /// Links before the cycle.
    pub links: usize,
}

/// The outcome of `plan()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Writes to the Exchange folder.
    pub exchange: Vec<Action>,
    /// Writes to Pipeliner.
    pub crm: Vec<Action>,
    /// Link changes.
    pub links: Vec<LinkChange>,
    /// Journal entries.
    pub journal: Vec<JournalEntry>,
    /// Conflicts resolved by this plan.
    pub conflicts: Vec<Conflict>,
    /// Records that cannot be synced.
    pub errors: Vec<RecordError>,
    /// Create refusals to remember (new or confirmed this cycle).
    pub refusals: Vec<Refusal>,
    /// Unlinked records that arrived as partial upserts (a delta row of a contact never
    /// synced): the engine fetches them whole and plans again with full upserts.
    pub fetch_full: Vec<(Side, String)>,
    /// Pending intents that were neither adopted nor retried; drop them.
    pub stale_intents: Vec<IntentId>,
    /// Set when the mass-delete guard stopped the cycle; then no action or link change is
    /// listed, and the engine writes nothing.
    pub stop: Option<NeedsConfirmation>,
}

impl Plan {
    /// Number of writes on both sides.
    pub fn write_count(&self) -> usize {
        self.exchange.len() + self.crm.len()
    }

    /// The actions on one side.
    pub fn actions(&self, side: Side) -> &[Action] {
        match side {
            Side::Exchange => &self.exchange,
            Side::Crm => &self.crm,
        }
    }
}
