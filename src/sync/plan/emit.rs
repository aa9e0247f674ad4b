//! Writing the plan's entries: actions with their journal lines, link changes, conflicts
//! and per-record errors, in one place so every write is journaled the same way.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::merge::FieldConflict;
use super::Cx;
use crate::sync::contact::{Contact, FieldKey};
use crate::sync::input::{IntentId, Side, Tombstone};
use crate::sync::output::{
    Action, Conflict, JournalEntry, JournalKind, LinkChange, PairKey, RecordError,
};

/// A journal entry.
pub(crate) fn entry(
    at: DateTime<Utc>,
    kind: JournalKind,
    side: Option<Side>,
    exchange_id: Option<&str>,
    crm_id: Option<&str>,
    message: String,
) -> JournalEntry {
    JournalEntry {
        at,
        kind,
        side,
        exchange_id: exchange_id.map(str::to_owned),
        crm_id: crm_id.map(str::to_owned),
        message,
    }
}

/// The ids of a pair for journal lines.
#[derive(Clone, Copy)]
pub(crate) struct Ids<'s> {
    pub exchange: Option<&'s str>,
    pub crm: Option<&'s str>,
}

impl Cx<'_> {
    pub(crate) fn journal(
        &mut self,
        kind: JournalKind,
        side: Option<Side>,
        ids: Ids<'_>,
        message: String,
    ) {
        let e = entry(self.input.now, kind, side, ids.exchange, ids.crm, message);
        self.out.journal.push(e);
    }

    fn push(&mut self, side: Side, action: Action) {
        match side {
            Side::Exchange => self.out.exchange.push(action),
            Side::Crm => self.out.crm.push(action),
        }
    }

    /// Plans a create on `target` and returns its intent.
    pub(crate) fn emit_create(
        &mut self,
        pair: PairKey,
        target: Side,
        source_id: &str,
        contact: Contact,
        ids: Ids<'_>,
        why: &str,
    ) -> IntentId {
        let intent = IntentId::for_create(target, source_id);
        self.used_intents.insert(intent.clone());
        self.push(
            target,
            Action::Create {
                pair,
                intent: intent.clone(),
                contact: Box::new(contact),
            },
        );
        let message = format!(
            "Create in {} from {} contact {source_id}: {why}.",
            target.label(),
            target.other().label()
        );
        self.journal(JournalKind::Create, Some(target), ids, message);
        intent
    }

    /// Plans an update of only the changed fields.
    pub(crate) fn emit_update(
        &mut self,
        pair: PairKey,
        target: Side,
        id: &str,
        changes: BTreeMap<FieldKey, Option<String>>,
        ids: Ids<'_>,
    ) {
        let names: Vec<String> = changes.keys().map(FieldKey::label).collect();
        let message = format!("Update in {}: {}.", target.label(), names.join(", "));
        self.push(
            target,
            Action::Update {
                pair,
                id: id.to_owned(),
                changes,
            },
        );
        self.journal(JournalKind::Update, Some(target), ids, message);
    }

    /// Plans a delete.
    pub(crate) fn emit_delete(
        &mut self,
        pair: PairKey,
        target: Side,
        id: &str,
        ids: Ids<'_>,
        why: &str,
    ) {
        self.push(
            target,
            Action::Delete {
                pair,
                id: id.to_owned(),
            },
        );
        let message = format!("Delete in {}: {why}.", target.label());
        self.journal(JournalKind::Delete, Some(target), ids, message);
    }

    /// Ends a stored pair.
    pub(crate) fn emit_unlink(
        &mut self,
        pair: PairKey,
        exchange_id: &str,
        crm_id: &str,
        why: &str,
    ) {
        self.out.links.push(LinkChange::Unlink {
            pair,
            exchange_id: exchange_id.to_owned(),
            crm_id: crm_id.to_owned(),
        });
        let ids = Ids {
            exchange: Some(exchange_id),
            crm: Some(crm_id),
        };
        self.journal(JournalKind::Unlink, None, ids, format!("Unlinked: {why}."));
    }

    /// Remembers a kept record so it is never paired or recreated.
    pub(crate) fn emit_tombstone(
        &mut self,
        pair: PairKey,
        side: Side,
        id: &str,
        ids: Ids<'_>,
        why: &str,
    ) {
        self.out.links.push(LinkChange::Tombstone {
            pair,
            tombstone: Tombstone {
                side,
                id: id.to_owned(),
                at: self.input.now,
            },
        });
        let message = format!("{} contact kept and tombstoned: {why}.", side.label());
        self.journal(JournalKind::Tombstone, Some(side), ids, message);
    }

    /// Records resolved conflicts.
    pub(crate) fn emit_conflicts(&mut self, conflicts: Vec<FieldConflict>, ids: Ids<'_>) {
        for c in conflicts {
            let message = format!(
                "Conflict on {}: Exchange has {}, Pipeliner has {}; {} wins.",
                c.field.label(),
                shown(&c.exchange_value),
                shown(&c.crm_value),
                c.winner.label()
            );
            self.emit_conflict(c, ids, message);
        }
    }

    /// Records one settled conflict with its journal line.
    pub(crate) fn emit_conflict(&mut self, c: FieldConflict, ids: Ids<'_>, message: String) {
        self.journal(JournalKind::Conflict, None, ids, message);
        self.out.conflicts.push(Conflict {
            exchange_id: ids.exchange.map(str::to_owned),
            crm_id: ids.crm.map(str::to_owned),
            field: c.field,
            exchange_value: c.exchange_value,
            crm_value: c.crm_value,
            winner: c.winner,
        });
    }

    /// Reports a record that cannot be synced.
    pub(crate) fn emit_error(&mut self, side: Side, id: &str, ids: Ids<'_>, message: String) {
        self.journal(JournalKind::Skip, Some(side), ids, message.clone());
        self.out.errors.push(RecordError {
            side,
            id: id.to_owned(),
            message,
        });
    }
}

/// A conflicting value as a journal line shows it: quoted, or `(empty)`.
pub(crate) fn shown(value: &Option<String>) -> String {
    value
        .as_deref()
        .map_or("(empty)".to_owned(), |s| format!("{s:?}"))
}
