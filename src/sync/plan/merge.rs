//! Field-level three-way merge of one pair against its snapshot. A field changed on one side
//! flows to the other; the same field changed differently on both sides is a conflict
//! settled by the policy (bidirectional) or by the source side (one-way); identical edits
//! are not conflicts. Overwriting a value that was never synced is journaled as a conflict
//! too, so a value a person typed is never lost silently.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::sync::contact::{Contact, FieldKey};
use crate::sync::input::Side;
use crate::sync::normalize::same_key;
use crate::sync::settings::ConflictPolicy;
use crate::sync::snapshot::Snapshot;

/// Who may be written and who wins a same-field conflict.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    pub to_exchange: bool,
    pub to_crm: bool,
    pub policy: ConflictPolicy,
    /// In a one-way mode, the source side, which wins every conflict.
    pub source: Option<Side>,
}

/// A same-field disagreement found by the merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FieldConflict {
    pub field: FieldKey,
    pub exchange_value: Option<String>,
    pub crm_value: Option<String>,
    pub winner: Side,
}

/// The merge result: each side's values after the writes, and the writes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Merged {
    pub exchange_after: Contact,
    pub crm_after: Contact,
    pub to_exchange: BTreeMap<FieldKey, Option<String>>,
    pub to_crm: BTreeMap<FieldKey, Option<String>>,
    pub conflicts: Vec<FieldConflict>,
}

/// The current state of a pair as merge sees it.
pub(crate) struct PairState<'a> {
    pub base: &'a Snapshot,
    pub exchange: &'a Contact,
    pub crm: &'a Contact,
    pub exchange_modified: Option<DateTime<Utc>>,
    pub crm_modified: Option<DateTime<Utc>>,
}

fn policy_winner(rules: &Rules, s: &PairState<'_>) -> Side {
    if let Some(src) = rules.source {
        return src;
    }
    match rules.policy {
        ConflictPolicy::ExchangeWins => Side::Exchange,
        ConflictPolicy::CrmWins => Side::Crm,
        ConflictPolicy::Newest => match (s.exchange_modified, s.crm_modified) {
            (Some(e), Some(c)) if c > e => Side::Crm,
            (None, Some(_)) => Side::Crm,
            _ => Side::Exchange,
        },
    }
}

/// Merges one pair field by field.
pub(crate) fn merge(keys: &[FieldKey], s: &PairState<'_>, rules: &Rules) -> Merged {
    let mut e_after = s.exchange.clone();
    let mut c_after = s.crm.clone();
    let mut conflicts = Vec::new();
    for k in keys {
        let (ev, cv) = (s.exchange.get(k), s.crm.get(k));
        if same_key(k, ev, cv) {
            continue;
        }
        let e_ch = !same_key(k, s.base.exchange.get(k), ev);
        let c_ch = !same_key(k, s.base.crm.get(k), cv);
        let winner = match (e_ch, c_ch) {
            (true, true) => policy_winner(rules, s),
            (true, false) => Side::Exchange,
            (false, true) => Side::Crm,
            (false, false) => continue,
        };
        let (src, src_base, tgt, writable) = match winner {
            Side::Exchange => (ev, s.base.exchange.get(k), cv, rules.to_crm),
            Side::Crm => (cv, s.base.crm.get(k), ev, rules.to_exchange),
        };
        if !writable {
            continue;
        }
        let unsynced_target = tgt.is_some() && !same_key(k, tgt, src_base);
        if (e_ch && c_ch) || unsynced_target {
            conflicts.push(FieldConflict {
                field: k.clone(),
                exchange_value: ev.map(str::to_owned),
                crm_value: cv.map(str::to_owned),
                winner,
            });
        }
        match winner {
            Side::Exchange => c_after.set(k, src),
            Side::Crm => e_after.set(k, src),
        }
    }
    e_after.compact_slots();
    c_after.compact_slots();
    let to_exchange = writes(keys, s.exchange, &mut e_after);
    let to_crm = writes(keys, s.crm, &mut c_after);
    Merged {
        exchange_after: e_after,
        crm_after: c_after,
        to_exchange,
        to_crm,
        conflicts,
    }
}

/// The fields to send so that a side holding `current` ends up with `after`; fields that
/// already compare equal keep the side's own spelling. Whole groups are sent together.
fn writes(
    keys: &[FieldKey],
    current: &Contact,
    after: &mut Contact,
) -> BTreeMap<FieldKey, Option<String>> {
    let mut out = BTreeMap::new();
    for k in keys {
        if same_key(k, current.get(k), after.get(k)) {
            after.set(k, current.get(k));
        }
    }
    for k in keys {
        if current.get(k) == after.get(k) {
            continue;
        }
        match k {
            FieldKey::Std(f) => {
                for g in f.group() {
                    let gk = FieldKey::Std(*g);
                    out.insert(gk.clone(), after.get(&gk).map(str::to_owned));
                }
            }
            FieldKey::Custom(_) => {
                out.insert(k.clone(), after.get(k).map(str::to_owned));
            }
        }
    }
    out
}
