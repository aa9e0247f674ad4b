//! What one side reported this cycle, indexed by id: the merged upsert or a delete, and
//! whether the listing proves that an absent linked record was deleted.

use std::borrow::Cow;
use std::collections::hash_map::Entry;

use foldhash::HashMap;

use crate::sync::contact::{Contact, FieldKey};
use crate::sync::input::{Listing, PlanInput, Presence, Side, SideChanges, Upsert};
use crate::sync::output::{JournalKind, Plan};

use super::emit;

/// One id's news.
pub(crate) enum Seen<'a> {
    /// Created or changed, reported once.
    Up(&'a Upsert),
    /// Created or changed, reported several times and combined.
    Combined(Box<Upsert>),
    /// Deleted.
    Deleted,
}

impl<'a> Seen<'a> {
    /// The upsert, if the record was not deleted.
    pub fn upsert(&self) -> Option<&Upsert> {
        match self {
            Seen::Up(u) => Some(u),
            Seen::Combined(u) => Some(u),
            Seen::Deleted => None,
        }
    }

    /// The upsert, borrowed from the input where possible.
    pub fn to_cow(&self) -> Option<Cow<'a, Upsert>> {
        match self {
            Seen::Up(u) => Some(Cow::Borrowed(*u)),
            Seen::Combined(u) => Some(Cow::Owned((**u).clone())),
            Seen::Deleted => None,
        }
    }
}

/// A side's changes, indexed.
pub(crate) struct SideView<'a> {
    /// Each reported id's news, hashed: a pair looks up its ids here, and only the
    /// unlinked records are walked, in the order reported ([`SideView::in_order`]).
    pub seen: HashMap<&'a str, Seen<'a>>,
    /// The upserted ids in the order the side first reported them.
    order: Vec<&'a str>,
    /// True when absence from the listing proves a delete.
    pub absence_is_delete: bool,
}

impl<'a> SideView<'a> {
    pub fn new(
        changes: &'a SideChanges,
        links: usize,
        side: Side,
        input: &PlanInput,
        out: &mut Plan,
    ) -> Self {
        let mut seen: HashMap<&'a str, Seen<'a>> =
            HashMap::with_capacity_and_hasher(changes.upserts.len(), Default::default());
        let mut order = Vec::with_capacity(changes.upserts.len());
        for u in &changes.upserts {
            match seen.entry(u.id.as_str()) {
                Entry::Vacant(slot) => {
                    order.push(u.id.as_str());
                    slot.insert(Seen::Up(u));
                }
                Entry::Occupied(mut slot) => {
                    let entry = match slot.get().to_cow() {
                        Some(prev) => Seen::Combined(Box::new(combine(prev.into_owned(), u))),
                        None => Seen::Up(u),
                    };
                    slot.insert(entry);
                }
            }
        }
        for id in &changes.deletes {
            seen.insert(id, Seen::Deleted);
        }
        let mut absence_is_delete = changes.listing == Listing::Full;
        if absence_is_delete && changes.upserts.is_empty() && links > 0 {
            absence_is_delete = false;
            out.journal.push(emit::entry(
                input.now,
                JournalKind::Notice,
                Some(side),
                None,
                None,
                format!(
                    "{} returned no contacts while {links} are linked; no delete is inferred from that listing.",
                    side.label()
                ),
            ));
        }
        SideView {
            seen,
            order,
            absence_is_delete,
        }
    }

    /// The reported upserts (not deleted since) for which `keep` holds, in the order the
    /// side first reported them, so that a plan follows its input and not the order of a
    /// hash map.
    pub fn in_order(
        &self,
        mut keep: impl FnMut(&'a str, &Upsert) -> bool,
    ) -> Vec<(&'a str, Cow<'a, Upsert>)> {
        self.order
            .iter()
            .filter_map(|id| self.seen.get(id)?.to_cow().map(|u| (*id, u)))
            .filter(|(id, u)| keep(id, u))
            .collect()
    }
}

/// A later partial upsert over an earlier one for the same id.
fn combine(mut prev: Upsert, next: &Upsert) -> Upsert {
    match &next.presence {
        Presence::Full => return next.clone(),
        Presence::Partial(keys) => {
            for k in keys {
                prev.contact.set(k, next.contact.get(k));
            }
            if let Presence::Partial(prev_keys) = &mut prev.presence {
                prev_keys.extend(keys.iter().cloned());
            }
        }
    }
    prev.version = next.version.clone().or(prev.version);
    prev.modified = next.modified.or(prev.modified);
    prev.access = next.access;
    prev.intent = next.intent.clone().or(prev.intent);
    prev
}

/// A side's current values: the last known ones with the upsert's fields laid over them.
pub(crate) fn current(base: &Contact, upsert: &Upsert, keys: &[FieldKey]) -> Contact {
    match &upsert.presence {
        Presence::Full => {
            let mut c = upsert.contact.clone();
            if !c.custom.is_empty() {
                c.custom.retain(|name, _| {
                    keys.iter()
                        .any(|k| matches!(k, FieldKey::Custom(n) if n == name))
                });
            }
            c.tidy();
            c
        }
        Presence::Partial(present) => {
            let mut c = base.clone();
            for k in present {
                if keys.contains(k) {
                    c.set(k, upsert.contact.get(k));
                }
            }
            c.compact_slots();
            c
        }
    }
}
