//! The model's world: in-memory Exchange and Pipeliner sides with change logs (what the
//! next delta or modified-since listing returns), the engine's stored state, and the
//! bookkeeping the invariants need (record origins, values people typed).

use std::collections::{BTreeMap, BTreeSet};

use crate::sync::contact::{Contact, Field, FieldKey};
use crate::sync::input::{IntentId, Link, PendingIntent, Refusal, Side, Tombstone};
use crate::sync::mapping::{CustomMapping, Mapping};
use crate::sync::settings::{Access, Settings};

/// Fields people edit in the model (a mix of plain fields and slot groups).
pub const FIELDS: [Field; 9] = [
    Field::GivenName,
    Field::Surname,
    Field::JobTitle,
    Field::Email1,
    Field::Email2,
    Field::BusinessPhone,
    Field::BusinessPhone2,
    Field::City,
    Field::Notes,
];

/// The custom mapping the model uses besides the standard fields.
pub fn mapping() -> Mapping {
    Mapping {
        custom: vec![CustomMapping {
            name: "department".into(),
            exchange: "department".into(),
            pipeliner: "cf_department".into(),
        }],
    }
}

/// Every field people edit in the model: [`FIELDS`] and the custom one.
pub fn fields() -> Vec<FieldKey> {
    FIELDS
        .iter()
        .map(|f| FieldKey::Std(*f))
        .chain([FieldKey::Custom("department".into())])
        .collect()
}

/// A record on one side.
#[derive(Clone, Debug)]
pub struct Rec {
    pub contact: Contact,
    /// The intent exsync attached when it created the record.
    pub marker: Option<IntentId>,
    /// The person-made record this one stems from.
    pub origin: u32,
    pub modified: i64,
    /// The user's access (Pipeliner records only).
    pub access: Access,
}

/// What the next listing reports for an id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Log {
    Created,
    Changed(BTreeSet<FieldKey>),
    Deleted,
}

impl Log {
    pub fn then(self, next: Log) -> Log {
        match (self, next) {
            (_, Log::Deleted) => Log::Deleted,
            (Log::Created, _) => Log::Created,
            (Log::Changed(mut a), Log::Changed(b)) => {
                a.extend(b);
                Log::Changed(a)
            }
            (_, next) => next,
        }
    }
}

/// One side's store.
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub recs: BTreeMap<String, Rec>,
    pub log: BTreeMap<String, Log>,
    pub next_id: u32,
    /// Writes made by exsync.
    pub writes: u32,
    /// Deletes made by exsync.
    pub deletes: u32,
    /// The intents of exsync-made records a person deleted: a recovery finds a deleted
    /// record's intent too (Pipeliner lists deleted records with their `created` stamp).
    pub deleted_markers: BTreeMap<String, IntentId>,
}

impl Store {
    pub fn note(&mut self, id: &str, entry: Log) {
        let merged = match self.log.remove(id) {
            Some(prev) => prev.then(entry),
            None => entry,
        };
        self.log.insert(id.to_owned(), merged);
    }

    pub fn insert(&mut self, tag: &str, rec: Rec) -> String {
        self.next_id += 1;
        let id = format!("{tag}{}", self.next_id);
        self.recs.insert(id.clone(), rec);
        self.note(&id, Log::Created);
        id
    }

    /// Nth record (wrapping), for ops that pick one.
    pub fn pick(&self, n: usize) -> Option<String> {
        if self.recs.is_empty() {
            return None;
        }
        self.recs.keys().nth(n % self.recs.len()).cloned()
    }
}

/// Everything the model tracks.
#[derive(Clone, Debug)]
pub struct World {
    pub exchange: Store,
    pub crm: Store,
    pub links: Vec<Link>,
    pub tombstones: Vec<Tombstone>,
    pub intents: Vec<PendingIntent>,
    /// Deletes exsync sent whose pairs may not be committed yet.
    pub own_deletes: Vec<crate::sync::input::OwnDelete>,
    pub refusals: BTreeMap<String, Refusal>,
    pub settings: Settings,
    pub required: Vec<String>,
    pub first_sync_done: bool,
    pub clock: i64,
    pub next_origin: u32,
    pub next_value: u32,
    /// Values people typed that no later person action replaced or deleted, by group.
    pub live: BTreeSet<(FieldKey, String)>,
    /// Values journaled as the losing side of a conflict.
    pub journaled_losses: BTreeSet<String>,
}

/// The group a field belongs to, named by its first field.
pub fn group_of(k: &FieldKey) -> FieldKey {
    match k {
        FieldKey::Std(f) => FieldKey::Std(f.group()[0]),
        FieldKey::Custom(_) => k.clone(),
    }
}

impl World {
    pub fn new(settings: Settings, require_surname: bool) -> Self {
        World {
            exchange: Store::default(),
            crm: Store::default(),
            links: Vec::new(),
            tombstones: Vec::new(),
            intents: Vec::new(),
            own_deletes: Vec::new(),
            refusals: BTreeMap::new(),
            settings,
            required: if require_surname {
                vec!["last_name".into()]
            } else {
                Vec::new()
            },
            first_sync_done: false,
            clock: 0,
            next_origin: 0,
            next_value: 0,
            live: BTreeSet::new(),
            journaled_losses: BTreeSet::new(),
        }
    }

    pub fn store(&mut self, side: Side) -> &mut Store {
        match side {
            Side::Exchange => &mut self.exchange,
            Side::Crm => &mut self.crm,
        }
    }

    pub fn fresh_value(&mut self, k: &FieldKey) -> String {
        self.next_value += 1;
        let n = self.next_value;
        match k.kind() {
            crate::sync::contact::ValueKind::Email => format!("u{n}@x.example"),
            crate::sync::contact::ValueKind::Phone => format!("+1 {n}"),
            crate::sync::contact::ValueKind::Text => format!("v{n}"),
        }
    }

    /// A person creates a contact.
    pub fn person_create(&mut self, side: Side, fields: &[FieldKey], shared_email: Option<u8>) {
        self.clock += 1;
        let mut c = Contact::default();
        let fields: BTreeSet<&FieldKey> = fields.iter().collect();
        for k in fields {
            let v = self.fresh_value(k);
            c.set(k, Some(&v));
            self.live.insert((group_of(k), v));
        }
        if let Some(k) = shared_email {
            if let Some(old) = c.email1.take() {
                self.live.remove(&(FieldKey::Std(Field::Email1), old));
            }
            c.email1 = Some(format!("shared{k}@x.example"));
        }
        c.compact_slots();
        self.next_origin += 1;
        let rec = Rec {
            contact: c,
            marker: None,
            origin: self.next_origin,
            modified: self.clock,
            access: Access::Owner,
        };
        let tag = if side == Side::Exchange { "e" } else { "c" };
        self.store(side).insert(tag, rec);
    }

    /// A person edits some fields of a contact (a `None` value clears).
    pub fn person_edit(&mut self, side: Side, pick: usize, edits: &[(FieldKey, bool)]) {
        self.clock += 1;
        let Some(id) = self.store(side).pick(pick) else {
            return;
        };
        let mut changed = BTreeSet::new();
        for (f, clear) in edits {
            let new = (!clear).then(|| self.fresh_value(f));
            let clock = self.clock;
            let Some(rec) = self.store(side).recs.get_mut(&id) else {
                return;
            };
            if let Some(old) = rec.contact.get(f).map(str::to_owned) {
                self.live.remove(&(group_of(f), old));
            }
            let Some(rec) = self.store(side).recs.get_mut(&id) else {
                return;
            };
            rec.contact.set(f, new.as_deref());
            rec.contact.compact_slots();
            rec.modified = clock;
            if let Some(v) = new {
                self.live.insert((group_of(f), v));
            }
            match f {
                FieldKey::Std(std) => changed.extend(std.group().iter().map(|g| FieldKey::Std(*g))),
                FieldKey::Custom(_) => {
                    changed.insert(f.clone());
                }
            }
        }
        self.store(side).note(&id, Log::Changed(changed));
    }

    /// Someone changes the owner or sharing of a Pipeliner contact.
    pub fn reassign(&mut self, pick: usize, access: Access) {
        self.clock += 1;
        let clock = self.clock;
        let Some(id) = self.crm.pick(pick) else {
            return;
        };
        let Some(rec) = self.crm.recs.get_mut(&id) else {
            return;
        };
        rec.access = access;
        rec.modified = clock;
        self.crm.note(&id, Log::Changed(BTreeSet::new()));
    }

    /// A person deletes a contact.
    pub fn person_delete(&mut self, side: Side, pick: usize) {
        self.clock += 1;
        let Some(id) = self.store(side).pick(pick) else {
            return;
        };
        let Some(rec) = self.store(side).recs.remove(&id) else {
            return;
        };
        for k in mapping().keys() {
            if let Some(v) = rec.contact.get(&k) {
                self.live.remove(&(group_of(&k), v.to_owned()));
            }
        }
        if let Some(marker) = rec.marker {
            self.store(side).deleted_markers.insert(id.clone(), marker);
        }
        self.store(side).note(&id, Log::Deleted);
    }
}
