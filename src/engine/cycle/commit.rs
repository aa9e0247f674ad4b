//! Committing a cycle to the store: link changes of the pairs whose writes all succeeded,
//! tombstones, refusals, intents, journal lines. Blocking; run on a blocking thread.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::execute::Executed;
use crate::ids::{SpaceId, UserId};
use crate::store::journal::NewEvent;
use crate::store::links::{LinkOp, LinkRecord, LinkStateJson};
use crate::store::sync_state::UserSyncState;
use crate::store::{Store, StoreResult};
use crate::sync::{IntentId, JournalKind, Link, LinkChange, Plan, RecordId, Snapshot};

/// What exsync keeps with each link besides the two ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkState {
    /// The last synced values.
    pub snapshot: Snapshot,
    /// The last known Graph changeKey.
    pub exchange_version: Option<String>,
    /// The last known Pipeliner revision.
    pub crm_version: Option<String>,
}

/// Reads a stored link into the planner's form.
pub fn to_link(record: LinkRecord) -> Link {
    let state: LinkState = record.state.read().unwrap_or_default();
    Link {
        exchange_id: record.exchange_id,
        crm_id: record.crm_id,
        snapshot: state.snapshot,
        exchange_version: state.exchange_version,
        crm_version: state.crm_version,
    }
}

/// Every link of a user, in the planner's form.
pub fn load_links(store: &Store, space: &SpaceId, user: &UserId) -> StoreResult<Vec<Link>> {
    Ok(store
        .all_links(space, user)?
        .into_iter()
        .map(to_link)
        .collect())
}

fn resolve(id: &RecordId, created: &std::collections::HashMap<IntentId, String>) -> Option<String> {
    match id {
        RecordId::Known(id) => Some(id.clone()),
        RecordId::Created(intent) => created.get(intent).cloned(),
    }
}

/// The intent of a record this cycle created.
fn created_by(id: &RecordId) -> Option<IntentId> {
    match id {
        RecordId::Created(intent) => Some(intent.clone()),
        RecordId::Known(_) => None,
    }
}

/// The stored form of a pair with its sync state.
fn link_op(
    exchange_id: String,
    crm_id: String,
    snapshot: Snapshot,
    exchange_version: Option<String>,
    crm_version: Option<String>,
    now: DateTime<Utc>,
) -> LinkOp {
    let state = LinkState {
        snapshot,
        exchange_version,
        crm_version,
    };
    LinkOp::Put(LinkRecord {
        exchange_id,
        crm_id,
        linked_at: now,
        state: LinkStateJson::of(&state).unwrap_or_default(),
    })
}

/// Applies the plan's link changes for the pairs whose writes succeeded, updates the
/// bookkeeping in `state`, and journals what happened.
#[allow(clippy::too_many_arguments)]
pub fn commit(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
    plan: &Plan,
    exchange: &Executed,
    crm: &Executed,
    state: &mut UserSyncState,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let ok = |pair| {
        exchange.pair_ok.get(&pair).copied().unwrap_or(true)
            && crm.pair_ok.get(&pair).copied().unwrap_or(true)
    };
    let mut created = exchange.created.clone();
    created.extend(crm.created.clone());
    let version = |side: &Executed, id: &str, fallback: &Option<String>| {
        side.versions.get(id).cloned().or_else(|| fallback.clone())
    };
    let mut resolved: HashSet<IntentId> = HashSet::new();
    let mut ops: Vec<LinkOp> = Vec::new();
    for change in &plan.links {
        if !ok(change.pair()) {
            continue;
        }
        match change {
            LinkChange::Link {
                exchange: x,
                crm: c,
                snapshot,
                resolves,
                ..
            } => {
                if let (Some(xid), Some(cid)) = (resolve(x, &created), resolve(c, &created)) {
                    // The versions this cycle's writes produced: reading the records
                    // back then shows them unchanged.
                    let (xv, cv) = (version(exchange, &xid, &None), version(crm, &cid, &None));
                    ops.push(link_op(xid, cid, snapshot.clone(), xv, cv, now));
                    resolved.extend(resolves.clone());
                    resolved.extend(created_by(x).into_iter().chain(created_by(c)));
                }
            }
            LinkChange::Relink {
                old_exchange_id,
                exchange: x,
                crm: c,
                snapshot,
                resolves,
                ..
            } => {
                if let (Some(xid), Some(cid)) = (resolve(x, &created), resolve(c, &created)) {
                    let (xv, cv) = (version(exchange, &xid, &None), version(crm, &cid, &None));
                    ops.push(LinkOp::Remove(old_exchange_id.clone()));
                    ops.push(link_op(xid, cid, snapshot.clone(), xv, cv, now));
                    resolved.extend(resolves.clone());
                    resolved.extend(created_by(x).into_iter().chain(created_by(c)));
                }
            }
            LinkChange::Refresh {
                exchange_id,
                crm_id,
                snapshot,
                exchange_version,
                crm_version,
                ..
            } => {
                let xv = version(exchange, exchange_id, exchange_version);
                let cv = version(crm, crm_id, crm_version);
                ops.push(link_op(
                    exchange_id.clone(),
                    crm_id.clone(),
                    snapshot.clone(),
                    xv,
                    cv,
                    now,
                ));
            }
            LinkChange::Unlink { exchange_id, .. } => {
                ops.push(LinkOp::Remove(exchange_id.clone()));
            }
            LinkChange::Resolve { intent, .. } => {
                resolved.insert(intent.clone());
            }
            LinkChange::Tombstone { tombstone, .. } => {
                if !state.tombstones.contains(tombstone) {
                    state.tombstones.push(tombstone.clone());
                }
            }
        }
    }
    store.apply_link_ops(space, user, &ops)?;
    // Intents: drop the resolved, the stale, and the creates that were refused for good;
    // keep the rest (outcome unknown, or created but not committed) for adoption.
    let refused: HashSet<&str> = exchange
        .refused
        .iter()
        .chain(&crm.refused)
        .map(|(_, id, _)| id.as_str())
        .collect();
    let stale: HashSet<&IntentId> = plan.stale_intents.iter().collect();
    state.intents.retain(|i| {
        !resolved.contains(&i.id) && !stale.contains(&i.id) && !refused.contains(&i.id.0.as_str())
    });
    // An own delete matters only while its pair is still stored.
    let mut still_linked = Vec::with_capacity(state.own_deletes.len());
    for own in state.own_deletes.drain(..) {
        let linked = match own.side {
            crate::sync::Side::Exchange => store.link_by_exchange_id(space, user, &own.id)?,
            crate::sync::Side::Crm => store.link_by_crm_id(space, user, &own.id)?,
        };
        if linked.is_some() {
            still_linked.push(own);
        }
    }
    state.own_deletes = still_linked;
    for refusal in &plan.refusals {
        state
            .refusals
            .retain(|r| r.exchange_id != refusal.exchange_id);
        state.refusals.push(refusal.clone());
    }
    // The journal keeps a user's newest events only: a first sync's thousands of entries
    // are counted, and only the ones kept are built.
    let total = plan.journal.len()
        + plan.conflicts.len()
        + plan.errors.len()
        + exchange.refused.len()
        + crm.refused.len();
    let mut passed_over = total.saturating_sub(store.journal_limit());
    let mut events: Vec<NewEvent> = Vec::with_capacity(total - passed_over);
    let mut event = |at, kind: &str, message: &dyn Fn() -> String, details: &dyn Fn() -> Value| {
        if passed_over > 0 {
            passed_over -= 1;
            return;
        }
        events.push(NewEvent {
            at,
            kind: kind.to_owned(),
            message: message(),
            details: details(),
        });
    };
    for entry in &plan.journal {
        let kind = match entry.kind {
            JournalKind::Create => "create",
            JournalKind::Update => "update",
            JournalKind::Delete => "delete",
            JournalKind::Link => "link",
            JournalKind::Unlink => "unlink",
            JournalKind::Tombstone => "tombstone",
            JournalKind::Conflict => "conflict",
            JournalKind::Skip => "skip",
            JournalKind::Notice => "notice",
        };
        event(entry.at, kind, &|| entry.message.clone(), &|| {
            json!({
                "side": entry.side,
                "exchange_id": entry.exchange_id,
                "crm_id": entry.crm_id,
            })
        });
    }
    for conflict in &plan.conflicts {
        event(
            now,
            "conflict_values",
            &|| {
                format!(
                    "{} differed on both sides; {:?} won",
                    conflict.field.label(),
                    conflict.winner
                )
            },
            &|| serde_json::to_value(conflict).unwrap_or_default(),
        );
    }
    for error in &plan.errors {
        event(
            now,
            "record_error",
            &|| error.message.clone(),
            &|| json!({ "side": error.side, "id": error.id }),
        );
    }
    for (side, id, reason) in exchange.refused.iter().chain(&crm.refused) {
        event(
            now,
            "record_error",
            &|| format!("{} refused a write: {reason}", side.label()),
            &|| json!({ "side": side, "id": id }),
        );
    }
    store.append_journal_all(space, user, events)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;
    use crate::sync::{JournalEntry, RecordError, Side};

    #[test]
    fn a_cycle_past_the_journal_bound_keeps_its_newest_entries() {
        let (_dir, store) = test_store();
        let (space, user) = (
            SpaceId::parse("acme").unwrap(),
            UserId::parse("jane").unwrap(),
        );
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let limit = store.journal_limit();
        let mut plan = Plan::default();
        for i in 0..limit + 5 {
            plan.journal.push(JournalEntry {
                at: now,
                kind: JournalKind::Create,
                side: Some(Side::Crm),
                exchange_id: Some(format!("x{i}")),
                crm_id: None,
                message: format!("created {i}"),
            });
        }
        plan.errors.push(RecordError {
            side: Side::Exchange,
            id: "x-bad".into(),
            message: "unreadable".into(),
        });
        commit(
            &store,
            &space,
            &user,
            &plan,
            &Executed::default(),
            &Executed::default(),
            &mut UserSyncState::default(),
            now,
        )
        .unwrap();
        let kept = store.journal(&space, &user, None, limit + 10).unwrap();
        assert_eq!(kept.len(), limit, "the journal holds its bound");
        assert_eq!(
            kept[0].message, "created 6",
            "the oldest ones are passed over"
        );
        assert_eq!(kept[0].details["exchange_id"], "x6");
        let last = &kept[limit - 1];
        assert_eq!(
            (last.kind.as_str(), last.message.as_str()),
            ("record_error", "unreadable")
        );
        assert_eq!(last.details["id"], "x-bad");
    }
}
