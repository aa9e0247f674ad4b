//! Pipeliner v100 Contact JSON ↔ canonical contact. Only mapped fields are read or
//! written; `exchange_entity_id` / `o365_entity_id` are never written; `owner_id` and
//! `created` (the create's fingerprint) are set on create only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use serde_json::value::RawValue;

use super::listed::{ListedContact, Member, META_MEMBERS};
use crate::connectors::body::{to_raw, Members};
use crate::sync::contact::{Contact, Field, FieldKey};
use crate::sync::input::Upsert;
use crate::sync::mapping::{
    custom_value, pipeliner_name, Change, CustomKind, Mapping, Present, Read, ReadError,
};
use crate::sync::settings::Access;

/// Reads one Pipeliner contact as listed. `user_client_id` is the user's Pipeliner Client
/// id: a contact they own gets `Access::Owner`, any other `Access::None`, which the engine
/// raises to `Editor` or `Viewer` from sharing facts.
pub fn from_listed(
    listed: &ListedContact,
    mapping: &Mapping,
    user_client_id: &str,
) -> Result<Read, ReadError> {
    let id = listed
        .id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(ReadError::MissingId)?
        .to_owned();
    if listed.is_deleted {
        return Ok(Read {
            change: Change::Delete(id),
            warnings: Vec::new(),
        });
    }
    let mut c = Contact::default();
    let mut present = Present::default();
    let mut warnings = Vec::new();
    for (member, text) in &listed.fields {
        if let Member::Std(f) = member {
            present.std(*f);
            c.set(&FieldKey::Std(*f), text.as_deref());
        }
    }
    for m in &mapping.custom {
        if let Some(text) = listed.field(&m.pipeliner) {
            let key = FieldKey::Custom(m.name.clone());
            let value = custom_value(m, text, &mut warnings);
            c.set(&key, value.as_deref());
            present.custom(key);
        }
    }
    c.compact_slots();
    let access = if listed.owner_id.as_deref() == Some(user_client_id) {
        Access::Owner
    } else {
        Access::None
    };
    Ok(Read {
        change: Change::Upsert(Box::new(Upsert {
            id,
            contact: c,
            presence: present.into_presence(mapping),
            version: listed.version.clone(),
            modified: listed.modified,
            access,
            intent: None,
        })),
        warnings,
    })
}

/// The fields a contact list asks Pipeliner for (its `load-only` parameter): the members
/// exsync reads, with the expanded sharing relations narrowed to the user and role, the
/// default mapping's fields and this mapping's custom ones. Listing a space's contacts
/// then carries only what a cycle reads instead of every field of the entity.
pub fn listed_fields(mapping: &Mapping) -> Vec<String> {
    let sharing = ["sharing_clients.client_id", "sharing_clients.role"];
    let mut fields: Vec<String> = META_MEMBERS
        .into_iter()
        .filter(|name| *name != "sharing_clients")
        .chain(sharing)
        .chain(Field::ALL.iter().map(|f| pipeliner_name(*f)))
        .map(str::to_owned)
        .collect();
    for custom in &mapping.custom {
        if !fields.contains(&custom.pipeliner) {
            fields.push(custom.pipeliner.clone());
        }
    }
    fields
}

/// The form of Pipeliner's timestamps (UTC, no zone, whole seconds), as in its schema.
pub const PIPELINER_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// The body of a Pipeliner create: every mapped value, the owner, and `created` set to
/// `stamp`, the create's fingerprint (see [`crate::sync::PendingIntent::stamp`]).
pub fn pipeliner_create(
    c: &Contact,
    mapping: &Mapping,
    owner_id: &str,
    stamp: Option<DateTime<Utc>>,
) -> Box<RawValue> {
    let created = stamp.map(|t| t.format(PIPELINER_TIME_FORMAT).to_string());
    let mut members: Vec<(&str, Option<&str>)> =
        Vec::with_capacity(Field::ALL.len() + mapping.custom.len() + 2);
    for f in Field::ALL {
        if let Some(value) = c.get(&FieldKey::Std(f)) {
            members.push((pipeliner_name(f), Some(value)));
        }
    }
    for m in &mapping.custom {
        if let Some(value) = c.custom.get(&m.name) {
            members.push((&m.pipeliner, Some(value)));
        }
    }
    members.push(("owner_id", Some(owner_id)));
    if let Some(created) = &created {
        members.push(("created", Some(created)));
    }
    to_raw(&Members(&members))
}

/// The body of a Pipeliner update of contact `id` with only these fields. A cleared text
/// field is sent as `""` (Pipeliner's empty text); a cleared date custom field as `null`.
pub fn pipeliner_patch(
    id: &str,
    changes: &BTreeMap<FieldKey, Option<String>>,
    mapping: &Mapping,
) -> Box<RawValue> {
    let mut members: Vec<(&str, Option<&str>)> = Vec::with_capacity(changes.len() + 1);
    members.push(("id", Some(id)));
    for (key, value) in changes {
        let (name, empty) = match key {
            FieldKey::Std(f) => (pipeliner_name(*f), Some("")),
            FieldKey::Custom(n) => match mapping.custom.iter().find(|m| &m.name == n) {
                Some(m) if m.kind() == CustomKind::Date => (m.pipeliner.as_str(), None),
                Some(m) => (m.pipeliner.as_str(), Some("")),
                None => continue,
            },
        };
        members.push((name, value.as_deref().or(empty)));
    }
    to_raw(&Members(&members))
}
