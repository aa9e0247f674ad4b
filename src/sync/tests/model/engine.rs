//! The model's engine: builds the planner input from the in-memory sides, runs `plan()`,
//! executes the actions (optionally failing after some of them), and commits link changes
//! the way the real engine must: a pair's link change only once all its actions succeeded,
//! intents recorded before creates, cursors advanced only after a fully successful cycle.

use std::collections::{BTreeMap, BTreeSet};

use super::world::{Log, Rec, World};
use crate::sync::contact::Contact;
use crate::sync::input::{
    IntentId, LinkSet, Listing, PendingIntent, PlanInput, SideChanges, Upsert,
};
use crate::sync::output::{Action, LinkChange, PairKey, Plan, RecordId};
use crate::sync::settings::Access;
use crate::sync::{Link, Presence, Side};

fn upsert(id: &str, rec: &Rec, presence: Presence) -> Upsert {
    Upsert {
        id: id.to_owned(),
        contact: rec.contact.clone(),
        presence,
        version: Some(format!("{}", rec.modified)),
        modified: Some(super::super::support::t(rec.modified)),
        access: rec.access,
        intent: rec.marker.clone(),
    }
}

fn changes(w: &World, side: Side, full: bool) -> SideChanges {
    let store = match side {
        Side::Exchange => &w.exchange,
        Side::Crm => &w.crm,
    };
    if full {
        return SideChanges {
            upserts: store
                .recs
                .iter()
                .map(|(id, r)| upsert(id, r, Presence::Full))
                .collect(),
            deletes: Vec::new(),
            deleted_creates: Vec::new(),
            listing: Listing::Full,
        };
    }
    let mut out = SideChanges::none();
    for (id, entry) in &store.log {
        match (store.recs.get(id), entry) {
            (None, _) | (_, Log::Deleted) => {
                out.deletes.push(id.clone());
                if let Some(marker) = store.deleted_markers.get(id) {
                    out.deleted_creates.push((id.clone(), marker.clone()));
                }
            }
            (Some(r), Log::Changed(keys)) if side == Side::Exchange => {
                out.upserts
                    .push(upsert(id, r, Presence::Partial(keys.clone())))
            }
            (Some(r), _) => out.upserts.push(upsert(id, r, Presence::Full)),
        }
    }
    out
}

/// The source record id of a create, from the pair's link change.
fn create_sources(p: &Plan) -> BTreeMap<PairKey, String> {
    let mut out = BTreeMap::new();
    for l in &p.links {
        let (pair, e, c) = match l {
            LinkChange::Link {
                pair,
                exchange,
                crm,
                ..
            } => (pair, exchange, crm),
            LinkChange::Relink {
                pair,
                exchange,
                crm,
                ..
            } => (pair, exchange, crm),
            _ => continue,
        };
        for id in [e, c] {
            if let RecordId::Known(id) = id {
                if matches!(
                    (e, c),
                    (RecordId::Created(_), _) | (_, RecordId::Created(_))
                ) {
                    out.insert(*pair, id.clone());
                }
            }
        }
    }
    out
}

impl World {
    /// Runs one cycle; `fail_after` stops execution after that many actions.
    pub fn cycle(&mut self, fail_after: Option<usize>, full_exchange: bool) -> Plan {
        self.cycle_with(fail_after, full_exchange, false)
    }

    /// Runs one cycle, a reconciliation after a settings change when `reconcile` is set
    /// (both sides listed in full, as the engine does).
    pub fn cycle_with(
        &mut self,
        fail_after: Option<usize>,
        full_exchange: bool,
        reconcile: bool,
    ) -> Plan {
        self.clock += 1;
        let first_sync = !self.first_sync_done;
        let reconcile = reconcile && !first_sync;
        let full_exchange = full_exchange || reconcile;
        // An empty full listing while links exist proves nothing (the planner says so and
        // infers no delete); the engine then lists incrementally, as modelled here.
        let links_exist = !self.links.is_empty();
        let full_e =
            (first_sync || full_exchange) && !(self.exchange.recs.is_empty() && links_exist);
        let full_c = (first_sync || reconcile) && !(self.crm.recs.is_empty() && links_exist);
        let exchange = changes(self, Side::Exchange, full_e);
        let crm = changes(self, Side::Crm, full_c);
        let consumed = (
            std::mem::take(&mut self.exchange.log),
            std::mem::take(&mut self.crm.log),
        );
        let input = PlanInput {
            exchange,
            crm,
            links: LinkSet::new(self.links.clone()).0,
            tombstones: self.tombstones.clone(),
            intents: self.intents.clone(),
            refusals: self.refusals.values().cloned().collect(),
            settings: self.settings,
            mapping: super::world::mapping(),
            required_crm_fields: self.required.clone(),
            first_sync,
            reconcile: reconcile.then(crate::sync::Reconciliation::default),
            deletes_confirmed: true,
            own_deletes: self.own_deletes.clone(),
            now: super::super::support::t(self.clock),
        };
        let mut input = input;
        let mut plan = crate::sync::plan(&input);
        if !plan.fetch_full.is_empty() {
            // The engine fetches unlinked partial records whole and plans again.
            for (side, id) in &plan.fetch_full {
                let (store, changes) = match side {
                    Side::Exchange => (&self.exchange, &mut input.exchange),
                    Side::Crm => (&self.crm, &mut input.crm),
                };
                if let Some(rec) = store.recs.get(id) {
                    changes.upserts.retain(|u| &u.id != id);
                    changes.upserts.push(upsert(id, rec, Presence::Full));
                }
            }
            plan = crate::sync::plan(&input);
            assert!(plan.fetch_full.is_empty());
        }
        assert!(plan.stop.is_none());
        let sources = create_sources(&plan);
        let actions: Vec<(Side, &Action)> = plan
            .exchange
            .iter()
            .map(|a| (Side::Exchange, a))
            .chain(plan.crm.iter().map(|a| (Side::Crm, a)))
            .collect();
        let limit = fail_after.map_or(actions.len(), |k| k.min(actions.len()));
        let mut failed_pairs = BTreeSet::new();
        let mut created: BTreeMap<IntentId, String> = BTreeMap::new();
        for (n, (side, action)) in actions.iter().enumerate() {
            if n >= limit {
                failed_pairs.insert(action.pair());
                continue;
            }
            self.execute(*side, action, &sources, &mut created);
        }
        let failed = limit < actions.len();
        if failed && limit > 0 {
            // The crash comes right after the last remote write, before its commit.
            failed_pairs.insert(actions[limit - 1].1.pair());
        }
        self.commit(&plan, &failed_pairs, &created);
        // An own delete matters only while its pair is still stored.
        let links = &self.links;
        self.own_deletes.retain(|d| {
            links.iter().any(|l| match d.side {
                Side::Exchange => l.exchange_id == d.id,
                Side::Crm => l.crm_id == d.id,
            })
        });
        for c in &plan.conflicts {
            let loser = match c.winner {
                Side::Exchange => &c.crm_value,
                Side::Crm => &c.exchange_value,
            };
            self.journaled_losses.extend(loser.iter().cloned());
        }
        if failed {
            for (side, old) in [(Side::Exchange, consumed.0), (Side::Crm, consumed.1)] {
                let store = self.store(side);
                let newer = std::mem::take(&mut store.log);
                store.log = old;
                for (id, e) in newer {
                    store.note(&id, e);
                }
            }
        } else {
            self.first_sync_done = true;
        }
        plan
    }

    fn execute(
        &mut self,
        side: Side,
        action: &Action,
        sources: &BTreeMap<PairKey, String>,
        created: &mut BTreeMap<IntentId, String>,
    ) {
        let clock = self.clock;
        match action {
            Action::Create {
                pair,
                intent,
                contact,
            } => {
                if !self.intents.iter().any(|i| &i.id == intent) {
                    let source_id = sources.get(pair).cloned().unwrap_or_default();
                    self.intents.push(PendingIntent {
                        id: intent.clone(),
                        target: side,
                        source_id,
                        contact: (**contact).clone(),
                        stamp: None,
                        seq: None,
                    });
                }
                let source_id = sources.get(pair).cloned().unwrap_or_default();
                let origin = self
                    .store(side.other())
                    .recs
                    .get(&source_id)
                    .map_or(0, |r| r.origin);
                let mut contact: Contact = (**contact).clone();
                contact.compact_slots();
                let rec = Rec {
                    contact,
                    marker: Some(intent.clone()),
                    origin,
                    modified: clock,
                    access: Access::Owner,
                };
                let tag = if side == Side::Exchange { "e" } else { "c" };
                let store = self.store(side);
                store.writes += 1;
                let id = store.insert(tag, rec);
                created.insert(intent.clone(), id);
            }
            Action::Update { id, changes, .. } => {
                let store = self.store(side);
                store.writes += 1;
                if let Some(rec) = store.recs.get_mut(id) {
                    for (k, v) in changes {
                        rec.contact.set(k, v.as_deref());
                    }
                    rec.contact.compact_slots();
                    rec.modified = clock;
                    let keys = changes.keys().cloned().collect();
                    store.note(id, Log::Changed(keys));
                }
            }
            Action::Delete { id, .. } => {
                let own = crate::sync::input::OwnDelete {
                    side,
                    id: id.clone(),
                };
                if !self.own_deletes.contains(&own) {
                    self.own_deletes.push(own);
                }
                let store = self.store(side);
                store.writes += 1;
                store.deletes += 1;
                if store.recs.remove(id).is_some() {
                    store.note(id, Log::Deleted);
                }
            }
        }
    }

    fn resolve(created: &BTreeMap<IntentId, String>, id: &RecordId) -> Option<String> {
        match id {
            RecordId::Known(id) => Some(id.clone()),
            RecordId::Created(intent) => created.get(intent).cloned(),
        }
    }

    fn commit(
        &mut self,
        plan: &Plan,
        failed: &BTreeSet<PairKey>,
        created: &BTreeMap<IntentId, String>,
    ) {
        let mut drop_intents: BTreeSet<IntentId> = plan.stale_intents.iter().cloned().collect();
        for change in &plan.links {
            if failed.contains(&change.pair()) {
                continue;
            }
            match change {
                LinkChange::Link {
                    exchange,
                    crm,
                    snapshot,
                    resolves,
                    ..
                } => {
                    let (Some(e), Some(c)) = (
                        Self::resolve(created, exchange),
                        Self::resolve(created, crm),
                    ) else {
                        continue;
                    };
                    for id in [exchange, crm] {
                        if let RecordId::Created(i) = id {
                            drop_intents.insert(i.clone());
                        }
                    }
                    drop_intents.extend(resolves.iter().cloned());
                    self.refusals.remove(&e);
                    self.links.push(Link {
                        exchange_id: e,
                        crm_id: c,
                        snapshot: snapshot.clone(),
                        exchange_version: None,
                        crm_version: None,
                    });
                }
                LinkChange::Relink {
                    old_exchange_id,
                    old_crm_id,
                    exchange,
                    crm,
                    snapshot,
                    resolves,
                    ..
                } => {
                    drop_intents.extend(resolves.iter().cloned());
                    self.links.retain(|l| {
                        !(l.exchange_id == *old_exchange_id && l.crm_id == *old_crm_id)
                    });
                    let (Some(e), Some(c)) = (
                        Self::resolve(created, exchange),
                        Self::resolve(created, crm),
                    ) else {
                        continue;
                    };
                    for id in [exchange, crm] {
                        if let RecordId::Created(i) = id {
                            drop_intents.insert(i.clone());
                        }
                    }
                    self.links.push(Link {
                        exchange_id: e,
                        crm_id: c,
                        snapshot: snapshot.clone(),
                        exchange_version: None,
                        crm_version: None,
                    });
                }
                LinkChange::Refresh {
                    exchange_id,
                    crm_id,
                    snapshot,
                    exchange_version,
                    crm_version,
                    ..
                } => {
                    if let Some(l) = self
                        .links
                        .iter_mut()
                        .find(|l| l.exchange_id == *exchange_id && l.crm_id == *crm_id)
                    {
                        l.snapshot = snapshot.clone();
                        l.exchange_version = exchange_version.clone();
                        l.crm_version = crm_version.clone();
                    }
                }
                LinkChange::Unlink {
                    exchange_id,
                    crm_id,
                    ..
                } => {
                    self.links
                        .retain(|l| !(l.exchange_id == *exchange_id && l.crm_id == *crm_id));
                }
                LinkChange::Tombstone { tombstone, .. } => self.tombstones.push(tombstone.clone()),
                LinkChange::Resolve { intent, .. } => {
                    drop_intents.insert(intent.clone());
                }
            }
        }
        for r in &plan.refusals {
            self.refusals.insert(r.exchange_id.clone(), r.clone());
        }
        self.intents.retain(|i| !drop_intents.contains(&i.id));
    }
}
