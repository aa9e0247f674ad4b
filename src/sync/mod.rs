//! The pure heart of exsync: the canonical contact, the field mapping, and [`plan()`],
//! which turns one cycle's changes, the stored links and the user's settings into the
//! actions to run. No I/O, no clock, no randomness: everything comes in as arguments, so
//! the rules of DESIGN.md sections 1, 3 and 5 are tested here without any network.
//!
//! - [`contact`]: the canonical contact and its fields.
//! - [`normalize`]: comparison rules (e-mails, phones, dates, empty values).
//! - [`mapping`]: Graph JSON ↔ canonical ↔ Pipeliner JSON, with custom mappings.
//! - [`snapshot`]: what was last synced for a link, and its stable hash.
//! - [`settings`]: sync type, preference, delete protection, conflict policy, thresholds.
//! - [`user_settings`]: the stored per-user settings the admin API sets, and their rules.
//! - [`input`] / [`output`]: the typed input and result of [`plan()`].
//! - [`recover`]: pairing Pipeliner records with creates cut off before their commit.
//! - [`scope`]: the settings contacts were planned under, and the reconciliation a change
//!   of them asks for.
//!
//! # What the engine owes the planner
//!
//! - **Changes.** Each side's upserts (full, or partial for Graph delta rows) and deletes
//!   since the last committed cursor, with [`Listing`] saying what the listing proves. An
//!   empty full listing while links exist proves nothing and is journaled.
//! - **Intents.** Before sending a [`Action::Create`], record a [`PendingIntent`] with the
//!   values sent, and mark the record with the intent (Graph: the extended property in
//!   [`crate::connectors::graph::mapping::INTENT_PROPERTY`]; Pipeliner: the `created` stamp, paired by
//!   [`recover::match_stamped`]). Pass records found this way with [`Upsert::intent`] set,
//!   deleted ones in [`SideChanges::deleted_creates`]; intents still listed were looked
//!   for and not found, or were never sent.
//! - **Commits.** Commit a pair's [`LinkChange`]s only after all actions with the same
//!   [`PairKey`] succeeded, replacing [`RecordId::Created`] by the created id and dropping
//!   the intents it resolves. Advance cursors only when every pair of the cycle committed.
//! - **Fetches.** Records listed in [`Plan::fetch_full`] are fetched whole and planned again.
//! - **Stop.** When [`Plan::stop`] is set, write nothing; plan again with
//!   [`PlanInput::deletes_confirmed`] once an admin confirms.
//! - **Reconciliation.** When the scope the settings give differs from the one the
//!   contacts were last planned under ([`scope::PlannedScope::pending_after`]), list both
//!   sides in full, set [`PlanInput::reconcile`], and store the new scope only when the
//!   cycle commits (with its cursors).

pub mod contact;
pub mod input;
pub mod mapping;
pub mod normalize;
pub mod output;
mod plan;
pub mod recover;
pub mod scope;
pub mod settings;
pub mod snapshot;
pub mod user_settings;

#[cfg(test)]
mod tests;

pub use contact::{Contact, Field, FieldKey};
pub use input::{
    IntentId, Link, LinkSet, Listing, OwnDelete, PendingIntent, PlanInput, Presence, Refusal, Side,
    SideChanges, Tombstone, Upsert,
};
pub use mapping::{CustomMapping, Mapping};
pub use output::{
    Action, Conflict, JournalEntry, JournalKind, LinkChange, NeedsConfirmation, PairKey, Plan,
    RecordError, RecordId,
};
pub use plan::plan;
pub use scope::{PlannedScope, Reconciliation, ScopeChange};
pub use settings::{Access, ConflictPolicy, Settings, SyncPreference, SyncType, Thresholds};
pub use snapshot::Snapshot;
