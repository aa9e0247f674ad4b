//! What a user's contacts were last planned under: the settings that decide which contacts
//! are in scope and which fields are mapped. A cycle compares the scope it was planned
//! under (stored with the user's sync state) with the scope the settings give now; when
//! they differ, the cycle is a *reconciliation*.
//!
//! # Rules (DESIGN section 3, settings changes)
//!
//! - A change of `sync_type`, `sync_preference`, `folder`, the space's custom mappings, or
//!   a new activation (every `PUT` of the user bumps [`PlannedScope::epoch`]) makes the
//!   next cycle a reconciliation: both sides are read in full and planned against the
//!   links under the new settings ([`Reconciliation`]), then the sync continues
//!   incrementally. `delete_protection` and `conflict_policy` apply to later changes only.
//! - A settings change during a running cycle is never lost: that cycle commits the scope
//!   it was planned under, so the next cycle still sees the difference.
//! - Fields of a custom mapping that is new (by name, Graph property and Pipeliner field)
//!   are planned as if never synced; see [`Reconciliation::new_keys`] for the rule.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::contact::FieldKey;
use super::mapping::{CustomMapping, Mapping};
use super::settings::{SyncPreference, SyncType};
use super::user_settings::{FolderChoice, UserSettings};

/// The settings a user's contacts were planned under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedScope {
    /// Which way contacts flow.
    pub sync_type: SyncType,
    /// Which Pipeliner contacts go to Exchange (`crm_to_exchange` only).
    pub sync_preference: Option<SyncPreference>,
    /// The folder choice.
    pub folder: FolderChoice,
    /// The space's custom mappings.
    pub custom: Vec<CustomMapping>,
    /// The user's activation count: every activation or re-activation asks for a
    /// reconciliation, even with unchanged settings.
    pub epoch: u64,
}

/// One reason for a reconciliation, as shown in the user's status.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ScopeChange {
    /// `sync_type` changed.
    SyncType,
    /// `sync_preference` changed.
    SyncPreference,
    /// `folder` changed.
    Folder,
    /// The space's custom mappings changed.
    FieldMappings,
    /// The user was activated again.
    Activation,
}

impl ScopeChange {
    /// The setting's name, as in the admin API.
    pub fn label(self) -> &'static str {
        match self {
            ScopeChange::SyncType => "sync_type",
            ScopeChange::SyncPreference => "sync_preference",
            ScopeChange::Folder => "folder",
            ScopeChange::FieldMappings => "field_mappings",
            ScopeChange::Activation => "activation",
        }
    }
}

impl PlannedScope {
    /// The scope the user's settings and the space's mapping give, at activation `epoch`.
    pub fn of(settings: &UserSettings, mapping: &Mapping, epoch: u64) -> Self {
        Self {
            sync_type: settings.sync_type,
            sync_preference: settings.sync_preference,
            folder: settings.folder.clone(),
            custom: mapping.custom.clone(),
            epoch,
        }
    }

    /// What differs from the scope `before`, in a stable order; empty when nothing does.
    pub fn changes_from(&self, before: &PlannedScope) -> Vec<ScopeChange> {
        let mut out = Vec::new();
        if self.sync_type != before.sync_type {
            out.push(ScopeChange::SyncType);
        }
        if self.sync_preference != before.sync_preference {
            out.push(ScopeChange::SyncPreference);
        }
        if self.folder != before.folder {
            out.push(ScopeChange::Folder);
        }
        if self.custom != before.custom {
            out.push(ScopeChange::FieldMappings);
        }
        if self.epoch != before.epoch {
            out.push(ScopeChange::Activation);
        }
        out
    }

    /// The reconciliation a user's next cycle runs: the contacts were last planned in full
    /// under `planned`, and `first_sync_done` says whether a first sync committed. `None`
    /// before the first sync (which reads everything anyway), and for a state stored
    /// before reconciliations existed (it takes this scope without one).
    pub fn pending_after(
        &self,
        planned: Option<&PlannedScope>,
        first_sync_done: bool,
    ) -> Option<Reconciliation> {
        match planned {
            Some(before) if first_sync_done => self.reconciliation_after(before),
            _ => None,
        }
    }

    /// The reconciliation this scope asks for after `before`, or `None` when the scope is
    /// the same.
    pub fn reconciliation_after(&self, before: &PlannedScope) -> Option<Reconciliation> {
        let changes = self.changes_from(before);
        if changes.is_empty() {
            return None;
        }
        let new_keys = self
            .custom
            .iter()
            .filter(|m| !before.custom.contains(m))
            .map(|m| FieldKey::Custom(m.name.clone()))
            .collect();
        Some(Reconciliation { changes, new_keys })
    }
}

/// A cycle planned after a settings change: both sides were read in full.
///
/// The planner then pairs unlinked records by e-mail before creating (as a first sync
/// does) but, unlike a first sync, removes from Exchange what left the scope (the
/// mass-delete guard applies as always).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// What changed.
    pub changes: Vec<ScopeChange>,
    /// The fields of custom mappings added since the last plan. Their values are planned
    /// as if never synced: a value on one side only crosses where the sync type allows;
    /// two different values are settled for the side the sync type makes the source
    /// (Exchange for `exchange_to_crm`, Pipeliner for `crm_to_exchange`) and for Pipeliner
    /// with `bidirectional`, and every such decision is journaled. Fields of a removed
    /// mapping are no longer read or written, so both sides keep their values.
    pub new_keys: BTreeSet<FieldKey>,
}

impl Reconciliation {
    /// The side whose value a new mapping keeps when both sides hold different values.
    pub fn new_field_winner(sync_type: SyncType) -> super::input::Side {
        match sync_type {
            SyncType::ExchangeToCrm => super::input::Side::Exchange,
            SyncType::CrmToExchange | SyncType::Bidirectional => super::input::Side::Crm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::user_settings::NewFolder;

    fn settings(sync_type: SyncType, preference: Option<SyncPreference>) -> UserSettings {
        UserSettings {
            sync_type,
            sync_preference: preference,
            delete_protection: true,
            folder: FolderChoice::Create(NewFolder::default()),
            conflict_policy: Default::default(),
        }
    }

    fn birthday(field: &str) -> CustomMapping {
        CustomMapping {
            name: "birthday".into(),
            exchange: "birthday".into(),
            pipeliner: field.into(),
        }
    }

    #[test]
    fn only_scope_settings_mappings_and_activation_ask_for_a_reconciliation() {
        let owned = settings(SyncType::CrmToExchange, Some(SyncPreference::Owned));
        let before = PlannedScope::of(&owned, &Mapping::default(), 0);
        let mut protected = owned.clone();
        protected.delete_protection = false;
        assert_eq!(
            PlannedScope::of(&protected, &Mapping::default(), 0).reconciliation_after(&before),
            None,
            "delete protection applies to later deletes only"
        );
        let accessible = settings(SyncType::CrmToExchange, Some(SyncPreference::Accessible));
        let now = PlannedScope::of(&accessible, &Mapping::default(), 1);
        assert_eq!(
            now.changes_from(&before),
            [ScopeChange::SyncPreference, ScopeChange::Activation]
        );
        let mut moved = owned.clone();
        moved.folder = FolderChoice::Existing("AAMk".into());
        assert_eq!(
            PlannedScope::of(&moved, &Mapping::default(), 0).changes_from(&before),
            [ScopeChange::Folder]
        );
    }

    #[test]
    fn new_keys_are_the_custom_mappings_added_or_changed() {
        let s = settings(SyncType::Bidirectional, None);
        let one = Mapping {
            custom: vec![birthday("cf_birthday")],
        };
        let before = PlannedScope::of(&s, &one, 0);
        let moved = Mapping {
            custom: vec![birthday("cf_born")],
        };
        let r = PlannedScope::of(&s, &moved, 0)
            .reconciliation_after(&before)
            .unwrap();
        assert_eq!(r.changes, [ScopeChange::FieldMappings]);
        assert_eq!(
            r.new_keys,
            BTreeSet::from([FieldKey::Custom("birthday".into())]),
            "a mapping to another field is a new mapping"
        );
        let removed = PlannedScope::of(&s, &Mapping::default(), 0)
            .reconciliation_after(&before)
            .unwrap();
        assert!(
            removed.new_keys.is_empty(),
            "a removed mapping adds nothing"
        );
    }

    #[test]
    fn the_source_side_keeps_its_value_and_pipeliner_when_bidirectional() {
        use crate::sync::input::Side;
        assert_eq!(
            Reconciliation::new_field_winner(SyncType::ExchangeToCrm),
            Side::Exchange
        );
        assert_eq!(
            Reconciliation::new_field_winner(SyncType::CrmToExchange),
            Side::Crm
        );
        assert_eq!(
            Reconciliation::new_field_winner(SyncType::Bidirectional),
            Side::Crm
        );
    }
}
