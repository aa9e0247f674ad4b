//! The invariants of the model-based test, checked after every step.

use std::collections::{BTreeMap, BTreeSet};

use super::world::{fields, group_of, mapping, World};
use crate::sync::input::Side;
use crate::sync::normalize::same_key;
use crate::sync::settings::SyncType;

impl World {
    /// Invariants that hold at every moment.
    pub fn check_always(&self) -> Result<(), String> {
        match self.settings.sync_type {
            SyncType::ExchangeToCrm if self.exchange.writes > 0 => {
                return Err("exchange_to_crm wrote to Exchange".into())
            }
            SyncType::CrmToExchange if self.crm.writes > 0 => {
                return Err("crm_to_exchange wrote to Pipeliner".into())
            }
            _ => {}
        }
        if self.settings.delete_protection && self.crm.deletes > 0 {
            return Err("delete protection on, yet a Pipeliner contact was deleted".into());
        }
        let mut held = BTreeSet::new();
        for store in [&self.exchange, &self.crm] {
            for rec in store.recs.values() {
                for k in mapping().keys() {
                    if let Some(v) = rec.contact.get(&k) {
                        held.insert((group_of(&k), v.to_owned()));
                    }
                }
            }
        }
        for (g, v) in &self.live {
            if !held.contains(&(g.clone(), v.clone())) && !self.journaled_losses.contains(v) {
                return Err(format!(
                    "typed value {v:?} ({g:?}) was lost without a journaled conflict"
                ));
            }
        }
        Ok(())
    }

    /// Invariants of a converged world (after a clean cycle with no new changes).
    pub fn check_converged(&self) -> Result<(), String> {
        for (side, store) in [(Side::Exchange, &self.exchange), (Side::Crm, &self.crm)] {
            let mut origins = BTreeMap::new();
            for (id, rec) in &store.recs {
                if let Some(other) = origins.insert(rec.origin, id) {
                    return Err(format!("{side:?} holds a duplicate: {other} and {id}"));
                }
            }
        }
        let mut seen_e = BTreeSet::new();
        let mut seen_c = BTreeSet::new();
        for l in &self.links {
            if !seen_e.insert(&l.exchange_id) || !seen_c.insert(&l.crm_id) {
                return Err(format!(
                    "an id is in two links: {} / {}",
                    l.exchange_id, l.crm_id
                ));
            }
            let (Some(e), Some(c)) = (
                self.exchange.recs.get(&l.exchange_id),
                self.crm.recs.get(&l.crm_id),
            ) else {
                return Err(format!(
                    "link to a missing record: {} / {}",
                    l.exchange_id, l.crm_id
                ));
            };
            let mode = self.settings.sync_type;
            if mode != SyncType::ExchangeToCrm && !self.settings.in_scope(c.access) {
                return Err(format!("{} is linked while outside the scope", l.crm_id));
            }
            if self.settings.sync_type == SyncType::Bidirectional {
                for k in fields() {
                    if !same_key(&k, e.contact.get(&k), c.contact.get(&k)) {
                        return Err(format!(
                            "linked pair {} / {} differs on {k:?}",
                            l.exchange_id, l.crm_id
                        ));
                    }
                }
            }
        }
        let tomb = |side: Side, id: &String| {
            self.tombstones
                .iter()
                .any(|t| t.side == side && &t.id == id)
        };
        let mode = self.settings.sync_type;
        if mode != SyncType::CrmToExchange {
            for id in self.exchange.recs.keys() {
                if !seen_e.contains(id)
                    && !self.refusals.contains_key(id)
                    && !tomb(Side::Exchange, id)
                {
                    return Err(format!(
                        "Exchange contact {id} is neither linked, refused nor tombstoned"
                    ));
                }
            }
        }
        if mode != SyncType::ExchangeToCrm {
            for (id, rec) in &self.crm.recs {
                let in_scope = self.settings.in_scope(rec.access);
                if in_scope && !seen_c.contains(id) && !tomb(Side::Crm, id) {
                    return Err(format!(
                        "Pipeliner contact {id} is neither linked nor tombstoned"
                    ));
                }
            }
        }
        Ok(())
    }
}
