//! What `plan()` is given: the changes seen on each side since the last cycle, the stored
//! links with their snapshots, tombstones, pending create intents, remembered create
//! refusals, the user's settings, the mapping, the space's required Pipeliner fields, and
//! `now`. Everything is a plain value; the engine builds it from the connectors and sled.

use std::collections::BTreeSet;
use std::hash::BuildHasher;

use hashbrown::HashTable;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::contact::{Contact, FieldKey};
use super::mapping::Mapping;
use super::settings::{Access, Settings};
use super::snapshot::Snapshot;

/// One of the two sides.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The user's Exchange contacts folder.
    Exchange,
    /// The Pipeliner space.
    Crm,
}

impl Side {
    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Exchange => Side::Crm,
            Side::Crm => Side::Exchange,
        }
    }

    /// The side's name in messages.
    pub fn label(self) -> &'static str {
        match self {
            Side::Exchange => "Exchange",
            Side::Crm => "Pipeliner",
        }
    }
}

/// Which mapped fields an upsert carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Presence {
    /// Every mapped field; an absent value means empty.
    Full,
    /// Only these fields (a Graph delta row); the others keep their last known value.
    Partial(BTreeSet<FieldKey>),
}

impl Presence {
    /// Whether the upsert carries this field.
    pub fn has(&self, key: &FieldKey) -> bool {
        match self {
            Presence::Full => true,
            Presence::Partial(keys) => keys.contains(key),
        }
    }
}

/// A contact created or changed on one side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upsert {
    /// The record's id on its side (Graph immutable id, Pipeliner uuid).
    pub id: String,
    /// The mapped values carried by this change.
    pub contact: Contact,
    /// Which of them the change carries.
    pub presence: Presence,
    /// Graph changeKey or Pipeliner revision, stored on the link.
    pub version: Option<String>,
    /// When the record was last modified, for the `newest` conflict policy.
    pub modified: Option<DateTime<Utc>>,
    /// The user's access to a Pipeliner contact; `Owner` for Exchange records.
    pub access: Access,
    /// The create intent this record carries, when exsync created it (Graph: the extended
    /// property; Pipeliner: found by the engine's recovery lookup).
    pub intent: Option<IntentId>,
}

impl Upsert {
    /// A full upsert of an owned record with no version, time or intent.
    pub fn full(id: impl Into<String>, contact: Contact) -> Self {
        Upsert {
            id: id.into(),
            contact,
            presence: Presence::Full,
            version: None,
            modified: None,
            access: Access::Owner,
            intent: None,
        }
    }
}

/// How much a side's listing can prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Listing {
    /// Changes since the last cursor, read to the end: explicit deletes are proof; a linked
    /// record that is absent is simply unchanged.
    Incremental,
    /// A full enumeration read to the end: a linked record that is absent was deleted.
    Full,
    /// A listing that failed part-way or cannot be trusted: nothing is inferred from absence.
    Incomplete,
}

/// Everything seen on one side this cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideChanges {
    /// Created or changed records; a later entry for the same id wins.
    pub upserts: Vec<Upsert>,
    /// Ids reported deleted (Graph `@removed`, Pipeliner `is_deleted`).
    pub deletes: Vec<String>,
    /// Deleted records found to be the result of a pending create (a create cut off
    /// before its commit whose record a person deleted since): adopted like an upsert
    /// carrying [`Upsert::intent`], so the delete is passed on instead of the create
    /// being repeated.
    #[serde(default)]
    pub deleted_creates: Vec<(String, IntentId)>,
    /// What the listing proves.
    pub listing: Listing,
}

impl SideChanges {
    /// No changes, from an incremental listing.
    pub fn none() -> Self {
        SideChanges {
            upserts: Vec::new(),
            deletes: Vec::new(),
            deleted_creates: Vec::new(),
            listing: Listing::Incremental,
        }
    }
}

/// A stored pair: the same person on both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// Exchange id.
    pub exchange_id: String,
    /// Pipeliner id.
    pub crm_id: String,
    /// What was last synced.
    pub snapshot: Snapshot,
    /// Last known Graph changeKey.
    pub exchange_version: Option<String>,
    /// Last known Pipeliner revision.
    pub crm_version: Option<String>,
}

/// The stored links, indexed by both ids. The engine builds it from sled's two link trees;
/// building it is the caller's cost, so `plan()` stays proportional to the changes.
///
/// The indexes hold positions only and find a link by hashing the id asked for and
/// comparing it with the link's own, so indexing copies no id.
#[derive(Clone, Debug, Default)]
pub struct LinkSet {
    links: Vec<Link>,
    by_exchange: HashTable<usize>,
    by_crm: HashTable<usize>,
    hasher: foldhash::fast::RandomState,
}

/// A link's id on one side.
fn id_on(side: Side, link: &Link) -> &str {
    match side {
        Side::Exchange => &link.exchange_id,
        Side::Crm => &link.crm_id,
    }
}

impl LinkSet {
    /// Indexes the links. A link that reuses an id already taken is dropped and returned.
    pub fn new(all: Vec<Link>) -> (Self, Vec<Link>) {
        let mut set = LinkSet {
            links: Vec::with_capacity(all.len()),
            by_exchange: HashTable::with_capacity(all.len()),
            by_crm: HashTable::with_capacity(all.len()),
            hasher: Default::default(),
        };
        let mut rejected = Vec::new();
        for link in all {
            if set.position(Side::Exchange, &link.exchange_id).is_some()
                || set.position(Side::Crm, &link.crm_id).is_some()
            {
                rejected.push(link);
                continue;
            }
            let i = set.links.len();
            set.links.push(link);
            let LinkSet {
                links,
                by_exchange,
                by_crm,
                hasher,
            } = &mut set;
            for (side, table) in [(Side::Exchange, by_exchange), (Side::Crm, by_crm)] {
                let rehash = |j: &usize| hasher.hash_one(id_on(side, &links[*j]));
                table.insert_unique(hasher.hash_one(id_on(side, &links[i])), i, rehash);
            }
        }
        (set, rejected)
    }

    /// Number of links.
    pub fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether there are no links.
    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// All links, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Link> {
        self.links.iter()
    }

    /// The link at a position.
    pub fn at(&self, i: usize) -> Option<&Link> {
        self.links.get(i)
    }

    /// Position of the link holding this id on this side.
    pub fn position(&self, side: Side, id: &str) -> Option<usize> {
        let table = match side {
            Side::Exchange => &self.by_exchange,
            Side::Crm => &self.by_crm,
        };
        table
            .find(self.hasher.hash_one(id), |&i| {
                id_on(side, &self.links[i]) == id
            })
            .copied()
    }
}

/// A record that must never be paired or created on the other side again (the user deleted
/// its partner and exsync kept it, by delete protection or because the other side is
/// read-only).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tombstone {
    /// The side the kept record lives on.
    pub side: Side,
    /// Its id there.
    pub id: String,
    /// When it was tombstoned.
    pub at: DateTime<Utc>,
}

/// The id of a create intent: recorded before a create, carried by the created record, so
/// a create whose result was never committed is adopted instead of repeated.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IntentId(pub String);

impl IntentId {
    /// The deterministic intent for creating on `target` a copy of `source_id`.
    pub fn for_create(target: Side, source_id: &str) -> Self {
        let tag = match target {
            Side::Exchange => "x",
            Side::Crm => "p",
        };
        IntentId(format!("{tag}:{source_id}"))
    }
}

/// A create that was about to run when the last cycle ended. The engine first looks for the
/// created record; if found, it arrives as an upsert carrying [`Upsert::intent`]. Intents
/// still listed here were looked for and not found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingIntent {
    /// The intent.
    pub id: IntentId,
    /// Where the record was to be created.
    pub target: Side,
    /// The source record on the other side.
    pub source_id: String,
    /// The values sent with the create: the merge base once the record is adopted.
    pub contact: Contact,
    /// For a Pipeliner create: the `created` time exsync sent with it (UTC, whole
    /// seconds), the fingerprint by which the record is found again whatever a person
    /// changed in it since (see [`PendingIntent::stamp_for`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stamp: Option<DateTime<Utc>>,
    /// Where the create stands in its user's order of sent creates: the engine records,
    /// before each window of writes, up to which sequence number creates may have been
    /// sent, so a recovery looks only for those. `None` (a state written before sequence
    /// numbers) counts as possibly sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl PendingIntent {
    /// The `created` stamp of a Pipeliner create decided at `now`: the time truncated to
    /// the whole second, as Pipeliner stores it.
    pub fn stamp_for(now: DateTime<Utc>) -> DateTime<Utc> {
        use chrono::{DurationRound, TimeDelta};
        now.duration_trunc(TimeDelta::seconds(1)).unwrap_or(now)
    }
}

/// A create into Pipeliner that was refused (missing required field); it is not retried
/// while the key is the same (same mapping, same required fields, same contact values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The Exchange record.
    pub exchange_id: String,
    /// Hash of what the refusal depended on.
    pub key: String,
}

/// A record exsync itself deleted in a cycle that may have stopped before saving its
/// result. Recorded before the delete is sent, like a create intent, so the next cycle
/// does not mistake exsync's own delete for a person's and pass it on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnDelete {
    /// The side the record was deleted from.
    pub side: Side,
    /// Its id there.
    pub id: String,
}

/// The whole input of one planning round.
#[derive(Clone, Debug)]
pub struct PlanInput {
    /// Changes seen in the Exchange folder.
    pub exchange: SideChanges,
    /// Changes seen in Pipeliner.
    pub crm: SideChanges,
    /// Stored links.
    pub links: LinkSet,
    /// Stored tombstones.
    pub tombstones: Vec<Tombstone>,
    /// Creates whose outcome is unknown.
    pub intents: Vec<PendingIntent>,
    /// Remembered create refusals.
    pub refusals: Vec<Refusal>,
    /// The user's settings.
    pub settings: Settings,
    /// The space's field mapping.
    pub mapping: Mapping,
    /// Pipeliner api names the space requires on a new contact.
    pub required_crm_fields: Vec<String>,
    /// True on the user's first sync: pair by e-mail before creating, never delete.
    pub first_sync: bool,
    /// Set when the settings that decide the scope or the mapping changed since the last
    /// plan and both sides were read in full: pair unlinked records by e-mail before
    /// creating, as a first sync does, and plan the new mappings' fields as never synced.
    pub reconcile: Option<super::scope::Reconciliation>,
    /// True when an admin confirmed this cycle's mass delete.
    pub deletes_confirmed: bool,
    /// Deletes exsync sent whose pairs are still stored (their commit may be missing).
    pub own_deletes: Vec<OwnDelete>,
    /// The current time.
    pub now: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(exchange_id: &str, crm_id: &str) -> Link {
        Link {
            exchange_id: exchange_id.to_owned(),
            crm_id: crm_id.to_owned(),
            snapshot: Snapshot::default(),
            exchange_version: None,
            crm_version: None,
        }
    }

    #[test]
    fn links_are_found_by_either_id_and_a_reused_id_is_turned_away() {
        let (set, rejected) = LinkSet::new(vec![
            link("e1", "c1"),
            link("e2", "c2"),
            link("e1", "c3"),
            link("e3", "c2"),
            link("e3", "c3"),
        ]);
        assert_eq!(set.len(), 3);
        let rejected: Vec<_> = rejected
            .iter()
            .map(|l| (l.exchange_id.as_str(), l.crm_id.as_str()))
            .collect();
        assert_eq!(rejected, [("e1", "c3"), ("e3", "c2")]);
        for (i, (e, c)) in [("e1", "c1"), ("e2", "c2"), ("e3", "c3")]
            .into_iter()
            .enumerate()
        {
            assert_eq!(set.position(Side::Exchange, e), Some(i));
            assert_eq!(set.position(Side::Crm, c), Some(i));
            assert_eq!(set.at(i).map(|l| l.crm_id.as_str()), Some(c));
        }
        assert_eq!(set.position(Side::Exchange, "c1"), None, "ids are per side");
        assert_eq!(set.position(Side::Crm, "e1"), None);
        assert_eq!(LinkSet::default().position(Side::Exchange, "e1"), None);
    }
}
