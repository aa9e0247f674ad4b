//! Deciding one pair: which side is gone, edit beats delete, delete protection with a
//! tombstone, the user's scope, one-way modes, and the field merge for pairs present on
//! both sides.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::emit::Ids;
use super::merge::{merge, Merged, PairState, Rules};
use super::view::{current, Seen};
use super::Cx;
use crate::sync::contact::Contact;
use crate::sync::input::{IntentId, Presence, Side};
use crate::sync::normalize::same_key;
use crate::sync::output::{JournalKind, LinkChange, PairKey, RecordId};
use crate::sync::settings::{Access, SyncType};
use crate::sync::snapshot::Snapshot;

/// Where a pair being decided comes from.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    /// A stored link.
    Stored,
    /// A create of the last cycle, found again through its intent.
    Adopted(IntentId),
    /// First sync: paired by e-mail.
    Matched,
}

/// A pair to decide.
pub(crate) struct PairRef<'s> {
    pub exchange_id: &'s str,
    pub crm_id: &'s str,
    pub base: &'s Snapshot,
    pub exchange_version: Option<&'s str>,
    pub crm_version: Option<&'s str>,
    pub origin: Origin,
    /// For an adopted create that replaced a deleted partner: the stored link's ids.
    pub replaces: Option<(&'s str, &'s str)>,
    /// True when `base` is the stored snapshot without a new mapping's old values: the
    /// stored one is refreshed even if nothing else moved.
    pub reseeded: bool,
}

impl PairRef<'_> {
    fn ids(&self) -> Ids<'_> {
        Ids {
            exchange: Some(self.exchange_id),
            crm: Some(self.crm_id),
        }
    }
}

/// One side of a pair now.
pub(crate) struct Now<'b> {
    pub contact: Cow<'b, Contact>,
    pub changed: bool,
    pub modified: Option<DateTime<Utc>>,
    pub version: Option<String>,
    pub access: Access,
}

impl<'a> Cx<'a> {
    fn side_now<'b>(&self, side: Side, id: &str, base: &'b Contact) -> Option<Now<'b>> {
        let view = self.view(side);
        match view.seen.get(id) {
            Some(Seen::Deleted) => None,
            Some(seen) => {
                let u = seen.upsert()?;
                if u.presence == Presence::Full && u.contact == *base {
                    // A full listing of an unchanged record: nothing to rebuild.
                    return Some(Now {
                        contact: Cow::Borrowed(base),
                        changed: false,
                        modified: u.modified,
                        version: u.version.clone(),
                        access: u.access,
                    });
                }
                let contact = current(base, u, &self.keys);
                let changed = self
                    .keys
                    .iter()
                    .any(|k| !same_key(k, base.get(k), contact.get(k)));
                Some(Now {
                    contact: Cow::Owned(contact),
                    changed,
                    modified: u.modified,
                    version: u.version.clone(),
                    access: u.access,
                })
            }
            None if view.absence_is_delete => None,
            None => Some(Now {
                contact: Cow::Borrowed(base),
                changed: false,
                modified: None,
                version: None,
                access: Access::Owner,
            }),
        }
    }

    /// Whether a record holds values the other side never had (a one-way target edited by
    /// a person): deleting it would lose them, so it counts as edited.
    fn unsynced(&self, now: &Contact, other_base: &Contact) -> bool {
        self.keys
            .iter()
            .any(|k| now.get(k).is_some() && !same_key(k, now.get(k), other_base.get(k)))
    }

    /// Decides one pair.
    pub(crate) fn decide_pair(&mut self, p: PairRef<'_>) {
        let pair = self.pair_key();
        let mut e = self.side_now(Side::Exchange, p.exchange_id, &p.base.exchange);
        let mut c = self.side_now(Side::Crm, p.crm_id, &p.base.crm);
        let own = |side: Side, id: &str| {
            self.input
                .own_deletes
                .iter()
                .any(|d| d.side == side && d.id == id)
        };
        let own_exchange = e.is_none() && own(Side::Exchange, p.exchange_id);
        if own_exchange || (c.is_none() && own(Side::Crm, p.crm_id)) {
            // exsync removed it itself in a cycle that stopped before saving: that cycle's
            // decision stands and nothing is passed on. A Pipeliner contact that is back in
            // scope since gets a new Exchange copy.
            let why = "removed by exsync in a cycle that stopped before saving";
            let s = self.input.settings;
            return match c {
                Some(c)
                    if own_exchange && s.sync_type.writes_exchange() && s.in_scope(c.access) =>
                {
                    self.recreate(pair, &p, Side::Exchange, c.contact.into_owned(), why)
                }
                _ => self.end_pair(pair, &p, why),
            };
        }
        if e.is_none() || c.is_none() {
            for (now, other) in [(&mut e, &p.base.crm), (&mut c, &p.base.exchange)] {
                if let Some(n) = now.as_mut() {
                    n.changed = n.changed || self.unsynced(&n.contact, other);
                }
            }
        }
        match (e, c) {
            (None, None) => self.end_pair(pair, &p, "deleted on both sides"),
            (None, Some(c)) => self.exchange_gone(pair, &p, c),
            (Some(e), None) => self.crm_gone(pair, &p, e),
            (Some(e), Some(c)) => self.both_present(pair, &p, e, c),
        }
    }

    fn end_pair(&mut self, pair: PairKey, p: &PairRef<'_>, why: &str) {
        if let Origin::Adopted(intent) = &p.origin {
            // The created record's pair ends: its intent goes with this pair's commit, so
            // a cycle that stops first still knows the record as exsync's.
            self.used_intents.insert(intent.clone());
            self.out.links.push(LinkChange::Resolve {
                pair,
                intent: intent.clone(),
            });
        }
        if matches!(p.origin, Origin::Stored) {
            self.emit_unlink(pair, p.exchange_id, p.crm_id, why);
        } else if let Some((e, c)) = p.replaces {
            self.emit_unlink(pair, e, c, why);
        }
    }

    fn delete_and_end(&mut self, pair: PairKey, p: &PairRef<'_>, target: Side, why: &str) {
        if self.input.first_sync {
            let why = format!("{why}; a first sync never deletes");
            self.keep_and_tombstone(pair, p, target, &why);
            return;
        }
        let id = match target {
            Side::Exchange => p.exchange_id,
            Side::Crm => p.crm_id,
        };
        self.emit_delete(pair, target, id, p.ids(), why);
        self.end_pair(pair, p, why);
    }

    fn keep_and_tombstone(&mut self, pair: PairKey, p: &PairRef<'_>, kept: Side, why: &str) {
        self.end_pair(pair, p, why);
        let id = match kept {
            Side::Exchange => p.exchange_id,
            Side::Crm => p.crm_id,
        };
        self.emit_tombstone(pair, kept, id, p.ids(), why);
    }

    fn exchange_gone(&mut self, pair: PairKey, p: &PairRef<'_>, c: Now) {
        let s = self.input.settings;
        if s.sync_type != SyncType::ExchangeToCrm && !s.in_scope(c.access) {
            return self.end_pair(
                pair,
                p,
                "deleted in Exchange; the Pipeliner contact is outside your scope",
            );
        }
        match s.sync_type {
            SyncType::ExchangeToCrm if s.delete_protection => self.keep_and_tombstone(
                pair,
                p,
                Side::Crm,
                "deleted in Exchange with delete protection on",
            ),
            SyncType::ExchangeToCrm if c.changed => self.end_pair(
                pair,
                p,
                "deleted in Exchange but edited in Pipeliner, so the Pipeliner contact is kept",
            ),
            SyncType::ExchangeToCrm => {
                self.delete_and_end(pair, p, Side::Crm, "deleted in Exchange")
            }
            SyncType::Bidirectional | SyncType::CrmToExchange if c.changed => self.recreate(
                pair,
                p,
                Side::Exchange,
                c.contact.into_owned(),
                "deleted in Exchange but edited in Pipeliner; the edit wins",
            ),
            SyncType::Bidirectional if s.delete_protection => self.keep_and_tombstone(
                pair,
                p,
                Side::Crm,
                "deleted in Exchange with delete protection on",
            ),
            SyncType::Bidirectional => {
                self.delete_and_end(pair, p, Side::Crm, "deleted in Exchange")
            }
            SyncType::CrmToExchange => self.keep_and_tombstone(
                pair,
                p,
                Side::Crm,
                "deleted in Exchange, which does not sync back to Pipeliner in this mode",
            ),
        }
    }

    fn crm_gone(&mut self, pair: PairKey, p: &PairRef<'_>, e: Now) {
        match self.input.settings.sync_type {
            SyncType::ExchangeToCrm | SyncType::Bidirectional if e.changed => self.recreate(
                pair,
                p,
                Side::Crm,
                e.contact.into_owned(),
                "deleted in Pipeliner but edited in Exchange; the edit wins",
            ),
            SyncType::ExchangeToCrm => self.keep_and_tombstone(
                pair,
                p,
                Side::Exchange,
                "deleted in Pipeliner, which does not sync back to Exchange in this mode",
            ),
            SyncType::Bidirectional => {
                self.delete_and_end(pair, p, Side::Exchange, "deleted in Pipeliner")
            }
            SyncType::CrmToExchange if e.changed => self.end_pair(
                pair,
                p,
                "deleted in Pipeliner but edited in Exchange, so the Exchange contact is kept",
            ),
            SyncType::CrmToExchange => {
                self.delete_and_end(pair, p, Side::Exchange, "deleted in Pipeliner")
            }
        }
    }

    /// Edit beats delete: the surviving side's record is created again where it was deleted.
    fn recreate(
        &mut self,
        pair: PairKey,
        p: &PairRef<'_>,
        target: Side,
        contact: Contact,
        why: &str,
    ) {
        let source_id = match target {
            Side::Exchange => p.crm_id,
            Side::Crm => p.exchange_id,
        };
        let ids = p.ids();
        if target == Side::Crm && self.crm_create_refused(p.exchange_id, &contact, ids) {
            return self.end_pair(pair, p, "deleted in Pipeliner and cannot be created again");
        }
        let intent = self.emit_create(pair, target, source_id, contact.clone(), ids, why);
        let (exchange, crm) = match target {
            Side::Exchange => (
                RecordId::Created(intent),
                RecordId::Known(p.crm_id.to_owned()),
            ),
            Side::Crm => (
                RecordId::Known(p.exchange_id.to_owned()),
                RecordId::Created(intent),
            ),
        };
        let snapshot = Snapshot::agreed(contact);
        let old = match &p.origin {
            Origin::Stored => Some((p.exchange_id, p.crm_id)),
            _ => p.replaces,
        };
        let change = match old {
            Some((old_e, old_c)) => LinkChange::Relink {
                pair,
                old_exchange_id: old_e.to_owned(),
                old_crm_id: old_c.to_owned(),
                exchange,
                crm,
                snapshot,
                resolves: None,
            },
            None => LinkChange::Link {
                pair,
                exchange,
                crm,
                snapshot,
                resolves: None,
            },
        };
        self.out.links.push(change);
    }

    fn both_present(&mut self, pair: PairKey, p: &PairRef<'_>, e: Now, c: Now) {
        let s = self.input.settings;
        if s.sync_type != SyncType::ExchangeToCrm && !s.in_scope(c.access) {
            // A first sync never deletes: the Exchange contact is kept, and the Pipeliner
            // one must not be copied in again should it come back into scope.
            if e.changed || self.unsynced(&e.contact, &p.base.crm) || self.input.first_sync {
                // Removing it would lose what a person typed in Exchange: keep it, end the
                // pair, and tombstone both records so neither is paired or copied again.
                let why = "the Pipeliner contact left your scope, but the Exchange contact has edits that were never synced, so it is kept";
                self.keep_and_tombstone(pair, p, Side::Exchange, why);
                let ids = p.ids();
                self.emit_tombstone(pair, Side::Crm, p.crm_id, ids, why);
                return;
            }
            let why = "the Pipeliner contact left your scope";
            return self.delete_and_end(pair, p, Side::Exchange, why);
        }
        let rules = Rules {
            to_exchange: s.sync_type.writes_exchange(),
            to_crm: s.sync_type.writes_crm(),
            policy: s.conflict_policy,
            source: match s.sync_type {
                SyncType::ExchangeToCrm => Some(Side::Exchange),
                SyncType::CrmToExchange => Some(Side::Crm),
                SyncType::Bidirectional => None,
            },
        };
        let state = PairState {
            base: p.base,
            exchange: &e.contact,
            crm: &c.contact,
            exchange_modified: e.modified,
            crm_modified: c.modified,
        };
        // Nothing changed on either side: nothing to merge, only the snapshot may move.
        // A stored pair whose records read back with its snapshot's values stands as it
        // is, even under newer versions: exsync's own writes read back (a Pipeliner create
        // answers with an id only, so its revision is first seen here) and edits of
        // unmapped fields are not worth a store write. Versions inform; values decide.
        let quiet = !e.changed && !c.changed;
        if quiet
            && matches!(p.origin, Origin::Stored)
            && !p.reseeded
            && *e.contact == p.base.exchange
            && *c.contact == p.base.crm
        {
            return;
        }
        // A new mapping's field with two different values takes the rule's winner.
        let settled = if quiet {
            None
        } else {
            self.settle_new_fields(p.base, &e.contact, &c.contact)
        };
        let state = PairState {
            base: settled.as_ref().unwrap_or(p.base),
            ..state
        };
        let mut merged = if !quiet {
            merge(&self.keys, &state, &rules)
        } else {
            Merged {
                exchange_after: e.contact.clone().into_owned(),
                crm_after: c.contact.clone().into_owned(),
                ..Merged::default()
            }
        };
        let ids = p.ids();
        self.journal_new_fields(&mut merged, ids);
        self.emit_conflicts(merged.conflicts, ids);
        let wrote = !merged.to_exchange.is_empty() || !merged.to_crm.is_empty();
        if !merged.to_exchange.is_empty() {
            self.emit_update(pair, Side::Exchange, p.exchange_id, merged.to_exchange, ids);
        }
        if !merged.to_crm.is_empty() {
            self.emit_update(pair, Side::Crm, p.crm_id, merged.to_crm, ids);
        }
        let snapshot = Snapshot {
            exchange: merged.exchange_after,
            crm: merged.crm_after,
        };
        let exchange_version = e.version.or_else(|| p.exchange_version.map(str::to_owned));
        let crm_version = c.version.or_else(|| p.crm_version.map(str::to_owned));
        let change = match &p.origin {
            Origin::Stored => {
                let moved = wrote
                    || p.reseeded
                    || snapshot != *p.base
                    || exchange_version.as_deref() != p.exchange_version
                    || crm_version.as_deref() != p.crm_version;
                if !moved {
                    return;
                }
                LinkChange::Refresh {
                    pair,
                    exchange_id: p.exchange_id.to_owned(),
                    crm_id: p.crm_id.to_owned(),
                    snapshot,
                    exchange_version,
                    crm_version,
                }
            }
            Origin::Adopted(intent) => {
                self.used_intents.insert(intent.clone());
                self.journal(
                    JournalKind::Link,
                    None,
                    ids,
                    "Linked a contact created in the last cycle, found again by its intent.".into(),
                );
                match p.replaces {
                    Some((old_e, old_c)) => LinkChange::Relink {
                        pair,
                        old_exchange_id: old_e.to_owned(),
                        old_crm_id: old_c.to_owned(),
                        exchange: RecordId::Known(p.exchange_id.to_owned()),
                        crm: RecordId::Known(p.crm_id.to_owned()),
                        snapshot,
                        resolves: Some(intent.clone()),
                    },
                    None => self.link_known(pair, p, snapshot, Some(intent.clone())),
                }
            }
            Origin::Matched => {
                let when = if self.input.first_sync {
                    "on the first sync"
                } else {
                    "on a reconciliation after a settings change"
                };
                self.journal(
                    JournalKind::Link,
                    None,
                    ids,
                    format!("Paired by e-mail {when}."),
                );
                self.link_known(pair, p, snapshot, None)
            }
        };
        self.out.links.push(change);
    }

    fn link_known(
        &self,
        pair: PairKey,
        p: &PairRef<'_>,
        snapshot: Snapshot,
        resolves: Option<IntentId>,
    ) -> LinkChange {
        LinkChange::Link {
            pair,
            exchange: RecordId::Known(p.exchange_id.to_owned()),
            crm: RecordId::Known(p.crm_id.to_owned()),
            snapshot,
            resolves,
        }
    }
}
