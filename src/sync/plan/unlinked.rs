//! Records without a link: adopting creates interrupted in the last cycle (by their intent),
//! re-deciding the stored links touched this cycle, pairing by normalised e-mail (first sync
//! and reconciliation),
//! and creates on the other side, with the required-field rule for Pipeliner.

use std::borrow::Cow;
use std::collections::{BTreeSet, VecDeque};

use foldhash::{HashMap, HashSet};

use sha2::{Digest, Sha256};

use super::emit::Ids;
use super::pair::{Origin, PairRef};
use super::view::{current, Seen};
use super::Cx;
use crate::sync::contact::Contact;
use crate::sync::input::{IntentId, Refusal, Side, Upsert};
use crate::sync::output::{LinkChange, RecordId};
use crate::sync::snapshot::{contact_hash, Snapshot};

impl<'a> Cx<'a> {
    /// Records carrying a pending intent are the result of a create whose commit was lost:
    /// they are linked to their source, never created again. A deleted one is adopted
    /// too, so that the person's delete is passed on like any delete of a linked pair.
    pub(crate) fn adopt_interrupted_creates(&mut self) {
        if self.intents.is_empty() {
            return;
        }
        for side in [Side::Exchange, Side::Crm] {
            let links = &self.input.links;
            let found = self
                .view(side)
                .in_order(|id, u| u.intent.is_some() && links.position(side, id).is_none());
            for (id, u) in found {
                if let Some(intent) = u.intent.as_ref() {
                    self.adopt(side, id, intent);
                }
            }
            let input = self.input;
            let changes = match side {
                Side::Exchange => &input.exchange,
                Side::Crm => &input.crm,
            };
            for (id, intent) in &changes.deleted_creates {
                let deleted = matches!(self.view(side).seen.get(id.as_str()), Some(Seen::Deleted));
                if deleted && self.input.links.position(side, id).is_none() {
                    self.adopt(side, id, intent);
                }
            }
        }
    }

    /// Adopts record `id` on `side` as the result of `intent`, when that intent is
    /// pending for this side.
    fn adopt(&mut self, side: Side, id: &'a str, intent: &IntentId) {
        let Some(intent) = self.intents.get(intent).copied() else {
            return;
        };
        if intent.target != side || self.consumed.contains(&(side, id)) {
            return;
        }
        let source = intent.source_id.as_str();
        let source_side = side.other();
        self.consumed.insert((side, id));
        // The source may still be linked to the partner this create replaces.
        let replaces = self
            .input
            .links
            .position(source_side, source)
            .and_then(|i| self.input.links.at(i))
            .map(|l| (l.exchange_id.as_str(), l.crm_id.as_str()));
        let partner_gone = replaces.is_some_and(|(e, c)| {
            let partner = if side == Side::Exchange { e } else { c };
            let view = self.view(side);
            match view.seen.get(partner) {
                Some(Seen::Deleted) => true,
                Some(_) => false,
                None => view.absence_is_delete,
            }
        });
        if (replaces.is_some() && !partner_gone) || self.consumed.contains(&(source_side, source)) {
            let ids = self.ids_for(side, id, source);
            let message = format!(
                "This {} contact was created by exsync for {} contact {source}, which is already linked to another record; it is left alone, please delete the duplicate.",
                side.label(),
                source_side.label()
            );
            self.emit_error(side, id, ids, message);
            return;
        }
        self.consumed.insert((source_side, source));
        if let Some((e, c)) = replaces {
            self.consumed
                .insert((side, if side == Side::Exchange { e } else { c }));
        }
        let base = Snapshot::agreed(intent.contact.clone());
        let (exchange_id, crm_id) = match side {
            Side::Exchange => (id, source),
            Side::Crm => (source, id),
        };
        self.decide_pair(PairRef {
            exchange_id,
            crm_id,
            base: &base,
            exchange_version: None,
            crm_version: None,
            origin: Origin::Adopted(intent.id.clone()),
            replaces,
            reseeded: false,
        });
    }

    /// Re-decides every stored link touched by a change or by a proven absence.
    pub(crate) fn linked_pairs(&mut self) {
        let links = &self.input.links;
        let mut touched = BTreeSet::new();
        for side in [Side::Exchange, Side::Crm] {
            let view = self.view(side);
            touched.extend(view.seen.keys().filter_map(|id| links.position(side, id)));
            if view.absence_is_delete {
                for (i, l) in links.iter().enumerate() {
                    let id = match side {
                        Side::Exchange => &l.exchange_id,
                        Side::Crm => &l.crm_id,
                    };
                    if !view.seen.contains_key(id.as_str()) {
                        touched.insert(i);
                    }
                }
            }
        }
        for i in touched {
            let Some(l) = links.at(i) else { continue };
            if self
                .consumed
                .contains(&(Side::Exchange, l.exchange_id.as_str()))
                || self.consumed.contains(&(Side::Crm, l.crm_id.as_str()))
            {
                continue;
            }
            self.consumed.insert((Side::Exchange, &l.exchange_id));
            self.consumed.insert((Side::Crm, &l.crm_id));
            let cleared = self.cleared_base(&l.snapshot);
            self.decide_pair(PairRef {
                exchange_id: &l.exchange_id,
                crm_id: &l.crm_id,
                base: cleared.as_ref().unwrap_or(&l.snapshot),
                exchange_version: l.exchange_version.as_deref(),
                crm_version: l.crm_version.as_deref(),
                origin: Origin::Stored,
                replaces: None,
                reseeded: cleared.is_some(),
            });
        }
    }

    fn fresh(&self, side: Side) -> Vec<(&'a str, Cow<'a, Upsert>)> {
        self.view(side).in_order(|id, u| {
            self.input.links.position(side, id).is_none()
                && !self.consumed.contains(&(side, id))
                && !self.tombstones.contains(&(side, id))
                && (side == Side::Exchange || self.input.settings.in_scope(u.access))
        })
    }

    /// Unlinked records: paired by e-mail on a first sync, otherwise created on the other
    /// side where the mode allows it. A partial one is fetched whole first.
    pub(crate) fn unlinked_records(&mut self) {
        let mut exchange_new = self.fresh(Side::Exchange);
        let mut crm_new = self.fresh(Side::Crm);
        for (side, list) in [
            (Side::Exchange, &mut exchange_new),
            (Side::Crm, &mut crm_new),
        ] {
            list.retain(|(id, u)| {
                let full = u.presence == crate::sync::input::Presence::Full;
                if !full {
                    self.out.fetch_full.push((side, (*id).to_owned()));
                }
                full
            });
        }
        // A first sync, and a reconciliation after a settings change (which may bring in
        // contacts already in the folder), pair by e-mail before creating.
        if self.input.first_sync || self.input.reconcile.is_some() {
            let mut by_email: HashMap<String, VecDeque<&'a str>> = HashMap::default();
            for (id, u) in &crm_new {
                if let Some(k) = u.contact.match_key() {
                    by_email.entry(k).or_default().push_back(id);
                }
            }
            let mut matched = HashSet::default();
            let mut matches = Vec::new();
            let mut rest = Vec::new();
            for (eid, eu) in exchange_new {
                let hit = eu
                    .contact
                    .match_key()
                    .and_then(|k| by_email.get_mut(&k).and_then(VecDeque::pop_front));
                match hit {
                    Some(cid) => {
                        matched.insert(cid);
                        matches.push((eid, cid));
                    }
                    None => rest.push((eid, eu)),
                }
            }
            exchange_new = rest;
            crm_new.retain(|(id, _)| !matched.contains(id));
            let base = Snapshot::default();
            for (eid, cid) in matches {
                self.decide_pair(PairRef {
                    exchange_id: eid,
                    crm_id: cid,
                    base: &base,
                    exchange_version: None,
                    crm_version: None,
                    origin: Origin::Matched,
                    replaces: None,
                    reseeded: false,
                });
            }
        }
        // Each create adds an action, a journal entry and a link: room for all of them at
        // once rather than regrowing through a first sync's thousands.
        let creates = exchange_new.len() + crm_new.len();
        self.out.links.reserve(creates);
        self.out.journal.reserve(creates);
        self.out.crm.reserve(exchange_new.len());
        self.out.exchange.reserve(crm_new.len());
        let s = self.input.settings;
        if s.sync_type.writes_crm() && s.sync_type != crate::sync::settings::SyncType::CrmToExchange
        {
            for (id, u) in exchange_new {
                self.create_new(Side::Crm, id, &u);
            }
        }
        if s.sync_type.writes_exchange() {
            for (id, u) in crm_new {
                self.create_new(Side::Exchange, id, &u);
            }
        }
    }

    fn create_new(&mut self, target: Side, source_id: &str, u: &Upsert) {
        let contact = current(&Contact::default(), u, &self.keys);
        let ids = self.ids_for(target.other(), source_id, "");
        if target == Side::Crm && self.crm_create_refused(source_id, &contact, ids) {
            return;
        }
        let pair = self.pair_key();
        let why = "new contact";
        let intent = self.emit_create(pair, target, source_id, contact.clone(), ids, why);
        let (exchange, crm) = match target {
            Side::Exchange => (
                RecordId::Created(intent),
                RecordId::Known(source_id.to_owned()),
            ),
            Side::Crm => (
                RecordId::Known(source_id.to_owned()),
                RecordId::Created(intent),
            ),
        };
        self.out.links.push(LinkChange::Link {
            pair,
            exchange,
            crm,
            snapshot: Snapshot::agreed(contact),
            resolves: None,
        });
    }

    fn ids_for<'s>(&self, side: Side, id: &'s str, other: &'s str) -> Ids<'s> {
        let other = (!other.is_empty()).then_some(other);
        match side {
            Side::Exchange => Ids {
                exchange: Some(id),
                crm: other,
            },
            Side::Crm => Ids {
                exchange: other,
                crm: Some(id),
            },
        }
    }

    /// The required-field rule: a create into Pipeliner is refused, per record and with the
    /// reason, when the space requires a field that no mapping fills or that is empty. A
    /// refusal is not repeated while mapping, required fields and contact stay the same.
    pub(crate) fn crm_create_refused(
        &mut self,
        exchange_id: &str,
        contact: &Contact,
        ids: Ids<'_>,
    ) -> bool {
        let mut reasons = Vec::new();
        for name in &self.input.required_crm_fields {
            if name == "owner_id" {
                continue;
            }
            match self.input.mapping.key_for_pipeliner(name) {
                None => reasons.push(format!("space requires field {name} that no mapping fills")),
                Some(k) if contact.get(&k).is_none() => reasons.push(format!(
                    "space requires field {name}, which is empty for this contact (mapped from {})",
                    k.label()
                )),
                Some(_) => {}
            }
        }
        if reasons.is_empty() {
            return false;
        }
        let key = self.refusal_key(contact);
        let known = self.refusals.get(exchange_id).is_some_and(|k| *k == key);
        if !known {
            let message = format!(
                "cannot create in Pipeliner: {}. Map the field or make it optional in Pipeliner; existing contacts keep updating.",
                reasons.join("; ")
            );
            self.emit_error(Side::Exchange, exchange_id, ids, message);
        }
        self.out.refusals.push(Refusal {
            exchange_id: exchange_id.to_owned(),
            key,
        });
        true
    }

    fn refusal_key(&self, contact: &Contact) -> String {
        let mut required: Vec<&str> = self
            .input
            .required_crm_fields
            .iter()
            .map(String::as_str)
            .collect();
        required.sort_unstable();
        let mut h = Sha256::new();
        h.update(self.input.mapping.fingerprint().as_bytes());
        for r in required {
            h.update((r.len() as u64).to_be_bytes());
            h.update(r.as_bytes());
        }
        h.update(contact_hash(contact).as_bytes());
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}
