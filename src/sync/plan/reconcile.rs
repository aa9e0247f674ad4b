//! The planner's part of a reconciliation after a settings change (see
//! [`crate::sync::scope`]): the fields of a new custom mapping are planned as if never
//! synced, two different values of such a field are settled by the written rule
//! ([`Reconciliation::new_field_winner`]), and every decision on them is journaled.

use super::emit::{shown, Ids};
use super::merge::{FieldConflict, Merged};
use super::Cx;
use crate::sync::contact::Contact;
use crate::sync::input::Side;
use crate::sync::normalize::same_key;
use crate::sync::output::{Conflict, JournalKind};
use crate::sync::scope::Reconciliation;
use crate::sync::snapshot::Snapshot;

impl Cx<'_> {
    /// The new mappings' fields, when this round is a reconciliation that added some.
    fn new_keys(&self) -> Option<&std::collections::BTreeSet<crate::sync::FieldKey>> {
        self.input
            .reconcile
            .as_ref()
            .map(|r| &r.new_keys)
            .filter(|keys| !keys.is_empty())
    }

    /// A stored snapshot without the new mappings' fields (a mapping removed and added
    /// again may have left old values there), or `None` when it holds none of them.
    pub(crate) fn cleared_base(&self, base: &Snapshot) -> Option<Snapshot> {
        let keys = self.new_keys()?;
        let held = keys
            .iter()
            .any(|k| base.exchange.get(k).is_some() || base.crm.get(k).is_some());
        if !held {
            return None;
        }
        let mut cleared = base.clone();
        for k in keys {
            cleared.exchange.set(k, None);
            cleared.crm.set(k, None);
        }
        Some(cleared)
    }

    /// The base the merge should see so that a new field holding two different values
    /// takes the rule's winner: the loser's value counts as already synced, so the
    /// winner's flows over it (and the merge reports it as a conflict). `None` when no new
    /// field needs this.
    pub(crate) fn settle_new_fields(
        &self,
        base: &Snapshot,
        exchange: &Contact,
        crm: &Contact,
    ) -> Option<Snapshot> {
        let keys = self.new_keys()?;
        let winner = Reconciliation::new_field_winner(self.input.settings.sync_type);
        let mut settled: Option<Snapshot> = None;
        for k in keys {
            let (ev, cv) = (exchange.get(k), crm.get(k));
            if ev.is_none() || cv.is_none() || same_key(k, ev, cv) {
                continue;
            }
            let s = settled.get_or_insert_with(|| base.clone());
            match winner {
                Side::Exchange => {
                    s.exchange.set(k, None);
                    s.crm.set(k, cv);
                }
                Side::Crm => {
                    s.crm.set(k, None);
                    s.exchange.set(k, ev);
                }
            }
        }
        settled
    }

    /// Journals what the merge decided for the new mappings' fields: a value copied to
    /// the side that lacked it, or two different values settled by the rule. The merge's
    /// other conflicts are left in `merged` for the usual journal lines.
    pub(crate) fn journal_new_fields(&mut self, merged: &mut Merged, ids: Ids<'_>) {
        let Some(keys) = self.new_keys().cloned() else {
            return;
        };
        let (settled, rest): (Vec<FieldConflict>, Vec<FieldConflict>) =
            std::mem::take(&mut merged.conflicts)
                .into_iter()
                .partition(|c| keys.contains(&c.field));
        merged.conflicts = rest;
        for c in settled {
            let message = format!(
                "New mapping {}: Exchange has {}, Pipeliner has {}; {}'s value is kept on both \
                 sides (a new mapping keeps the sync type's source side, Pipeliner when \
                 bidirectional).",
                c.field.label(),
                shown(&c.exchange_value),
                shown(&c.crm_value),
                c.winner.label()
            );
            self.emit_conflict(c, ids, message);
        }
        for (target, written) in [
            (Side::Crm, &merged.to_crm),
            (Side::Exchange, &merged.to_exchange),
        ] {
            for k in written.keys().filter(|k| keys.contains(*k)) {
                let from = target.other();
                let copied = self
                    .out
                    .conflicts
                    .iter()
                    .any(|c| &c.field == k && c.winner == from && ids_match(c, ids));
                if copied {
                    continue;
                }
                let message = format!(
                    "New mapping {}: the value in {} is copied to {}, where it was empty.",
                    k.label(),
                    from.label(),
                    target.label()
                );
                self.journal(JournalKind::Update, Some(target), ids, message);
            }
        }
    }
}

/// Whether a recorded conflict is about the pair with these ids.
fn ids_match(c: &Conflict, ids: Ids<'_>) -> bool {
    c.exchange_id.as_deref() == ids.exchange && c.crm_id.as_deref() == ids.crm
}
