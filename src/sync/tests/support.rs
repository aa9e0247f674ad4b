//! Builders shared by the planner tests.

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};

use crate::sync::contact::{Contact, Field, FieldKey};
use crate::sync::input::{Link, LinkSet, PlanInput, Presence, SideChanges, Upsert};
use crate::sync::mapping::Mapping;
use crate::sync::output::{Action, Plan};
use crate::sync::settings::{ConflictPolicy, Settings, SyncPreference, SyncType, Thresholds};
use crate::sync::snapshot::Snapshot;

pub fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_790_000_000 + secs, 0)
        .single()
        .unwrap_or_default()
}

pub fn person(given: &str, email: &str) -> Contact {
    let mut c = Contact::default()
        .with(Field::GivenName, given)
        .with(Field::Surname, "Doe");
    c.set(&FieldKey::Std(Field::Email1), Some(email));
    c
}

pub fn settings(sync_type: SyncType) -> Settings {
    Settings {
        sync_type,
        sync_preference: SyncPreference::Owned,
        delete_protection: false,
        conflict_policy: ConflictPolicy::Newest,
        thresholds: Thresholds::default(),
    }
}

pub fn input(settings: Settings) -> PlanInput {
    PlanInput {
        exchange: SideChanges::none(),
        crm: SideChanges::none(),
        links: LinkSet::default(),
        tombstones: Vec::new(),
        intents: Vec::new(),
        refusals: Vec::new(),
        settings,
        mapping: Mapping::default(),
        required_crm_fields: Vec::new(),
        first_sync: false,
        reconcile: None,
        deletes_confirmed: false,
        own_deletes: Vec::new(),
        now: t(1000),
    }
}

pub fn link(e: &str, c: &str, contact: &Contact) -> Link {
    Link {
        exchange_id: e.into(),
        crm_id: c.into(),
        snapshot: Snapshot::agreed(contact.clone()),
        exchange_version: None,
        crm_version: None,
    }
}

pub fn with_links(mut i: PlanInput, links: Vec<Link>) -> PlanInput {
    i.links = LinkSet::new(links).0;
    i
}

pub fn up(id: &str, c: Contact) -> Upsert {
    Upsert::full(id, c)
}

pub fn up_at(id: &str, c: Contact, secs: i64) -> Upsert {
    Upsert {
        modified: Some(t(secs)),
        ..Upsert::full(id, c)
    }
}

pub fn partial(id: &str, fields: &[(Field, Option<&str>)]) -> Upsert {
    let mut c = Contact::default();
    let mut keys = BTreeSet::new();
    for (f, v) in fields {
        c.set(&FieldKey::Std(*f), *v);
        keys.insert(FieldKey::Std(*f));
    }
    Upsert {
        presence: Presence::Partial(keys),
        ..Upsert::full(id, c)
    }
}

pub fn creates(p: &Plan, side: crate::sync::Side) -> Vec<&Contact> {
    p.actions(side)
        .iter()
        .filter_map(|a| match a {
            Action::Create { contact, .. } => Some(&**contact),
            _ => None,
        })
        .collect()
}

pub fn deletes(p: &Plan, side: crate::sync::Side) -> Vec<&str> {
    p.actions(side)
        .iter()
        .filter_map(|a| match a {
            Action::Delete { id, .. } => Some(id.as_str()),
            _ => None,
        })
        .collect()
}

pub fn updates(p: &Plan, side: crate::sync::Side) -> Vec<(&str, Vec<String>)> {
    p.actions(side)
        .iter()
        .filter_map(|a| match a {
            Action::Update { id, changes, .. } => {
                Some((id.as_str(), changes.keys().map(FieldKey::label).collect()))
            }
            _ => None,
        })
        .collect()
}
