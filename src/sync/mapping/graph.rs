//! Graph v1.0 contact JSON ↔ canonical contact. Respects Graph's limits (3 e-mails,
//! 2 business phones, 2 home phones): extra entries are reported, never sent. A delta row
//! with only some properties gives a partial upsert, so absent properties are not cleared.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{custom_value, presence, Change, Mapping, MappingWarning, Read, ReadError};
use crate::sync::contact::{
    Contact, Field, FieldKey, ADDRESS_PARTS, BUSINESS_PHONE_SLOTS, EMAIL_SLOTS, HOME_PHONE_SLOTS,
};
use crate::sync::input::{IntentId, Upsert};
use crate::sync::settings::Access;

/// The single-value extended property that carries exsync's create intent on a contact.
pub const INTENT_PROPERTY: &str = "String {5c3a7f0e-3d1b-4b8e-9a57-2f6d8c41e9b3} Name exsyncIntent";

const SCALARS: [(Field, &str); 8] = [
    (Field::GivenName, "givenName"),
    (Field::MiddleName, "middleName"),
    (Field::Surname, "surname"),
    (Field::Title, "title"),
    (Field::JobTitle, "jobTitle"),
    (Field::Company, "companyName"),
    (Field::MobilePhone, "mobilePhone"),
    (Field::Notes, "personalNotes"),
];

/// The standard field a scalar Graph property holds (the inverse of [`SCALARS`]).
fn scalar_field(property: &str) -> Option<Field> {
    Some(match property {
        "givenName" => Field::GivenName,
        "middleName" => Field::MiddleName,
        "surname" => Field::Surname,
        "title" => Field::Title,
        "jobTitle" => Field::JobTitle,
        "companyName" => Field::Company,
        "mobilePhone" => Field::MobilePhone,
        "personalNotes" => Field::Notes,
        _ => return None,
    })
}

const ADDRESS_KEYS: [&str; 5] = ["street", "city", "state", "postalCode", "countryOrRegion"];

/// Where a canonical field lives on a Graph contact, e.g. `emailAddresses[1].address`.
pub fn graph_path(f: Field) -> String {
    if let Some((_, prop)) = SCALARS.iter().find(|(field, _)| *field == f) {
        return (*prop).to_owned();
    }
    let slot = |slots: &[Field]| slots.iter().position(|s| *s == f);
    if let Some(i) = slot(&EMAIL_SLOTS) {
        return format!("emailAddresses[{i}].address");
    }
    if let Some(i) = slot(&BUSINESS_PHONE_SLOTS) {
        return format!("businessPhones[{i}]");
    }
    if let Some(i) = slot(&HOME_PHONE_SLOTS) {
        return format!("homePhones[{i}]");
    }
    match slot(&ADDRESS_PARTS) {
        Some(i) => format!("businessAddress.{}", ADDRESS_KEYS[i]),
        None => f.name().to_owned(),
    }
}

/// Whether exsync reads this member of a Graph contact or delta row: its id, removal,
/// version and modification time, exsync's intent property, the default mapping's
/// properties, and every property a custom mapping may name
/// ([`GRAPH_CUSTOM_PROPERTIES`](super::GRAPH_CUSTOM_PROPERTIES)). Listed contacts are
/// kept with these members only.
pub fn is_read_member(name: &str) -> bool {
    matches!(
        name,
        "id" | "@removed"
            | "changeKey"
            | "lastModifiedDateTime"
            | "singleValueExtendedProperties"
            | "emailAddresses"
            | "businessPhones"
            | "homePhones"
            | "businessAddress"
    ) || scalar_field(name).is_some()
        || super::GRAPH_CUSTOM_PROPERTIES
            .iter()
            .any(|(property, _)| *property == name)
}

/// Reads one Graph contact (or delta row) into a change.
pub fn from_graph(v: &Value, mapping: &Mapping) -> Result<Read, ReadError> {
    let obj = v.as_object().ok_or(ReadError::NotAnObject)?;
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(ReadError::MissingId)?
        .to_owned();
    if obj.contains_key("@removed") {
        return Ok(Read {
            change: Change::Delete(id),
            warnings: Vec::new(),
        });
    }
    let mut c = Contact::default();
    let mut present = BTreeSet::new();
    let mut warnings = Vec::new();
    // One pass over the members rather than a keyed lookup per scalar property.
    for (name, val) in obj {
        if let Some(f) = scalar_field(name) {
            present.insert(FieldKey::Std(f));
            c.set(&FieldKey::Std(f), val.as_str());
        }
    }
    if let Some(val) = obj.get("emailAddresses") {
        let items: Vec<&str> = array(val)
            .iter()
            .filter_map(|e| e.get("address").and_then(Value::as_str))
            .filter(|s| !s.trim().is_empty())
            .collect();
        fill_slots(
            &mut c,
            &mut present,
            &EMAIL_SLOTS,
            &items,
            "emailAddresses",
            &mut warnings,
        );
    }
    for (prop, slots) in [
        ("businessPhones", &BUSINESS_PHONE_SLOTS[..]),
        ("homePhones", &HOME_PHONE_SLOTS[..]),
    ] {
        if let Some(val) = obj.get(prop) {
            let items: Vec<&str> = array(val)
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .collect();
            fill_slots(&mut c, &mut present, slots, &items, prop, &mut warnings);
        }
    }
    if let Some(addr) = obj.get("businessAddress") {
        for (f, key) in ADDRESS_PARTS.iter().zip(ADDRESS_KEYS) {
            present.insert(FieldKey::Std(*f));
            c.set(&FieldKey::Std(*f), addr.get(key).and_then(Value::as_str));
        }
    }
    for m in &mapping.custom {
        if let Some(val) = obj.get(&m.exchange) {
            let key = FieldKey::Custom(m.name.clone());
            let value = custom_value(m, val.as_str(), &mut warnings);
            c.set(&key, value.as_deref());
            present.insert(key);
        }
    }
    let intent = obj
        .get("singleValueExtendedProperties")
        .map(array)
        .unwrap_or_default()
        .iter()
        .find(|p| {
            p.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case(INTENT_PROPERTY))
        })
        .and_then(|p| p.get("value").and_then(Value::as_str))
        .map(|s| IntentId(s.to_owned()));
    let modified = obj
        .get("lastModifiedDateTime")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc));
    let upsert = Upsert {
        id,
        contact: c,
        presence: presence(mapping, present),
        version: obj
            .get("changeKey")
            .and_then(Value::as_str)
            .map(str::to_owned),
        modified,
        access: Access::Owner,
        intent,
    };
    Ok(Read {
        change: Change::Upsert(Box::new(upsert)),
        warnings,
    })
}

fn array(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn fill_slots(
    c: &mut Contact,
    present: &mut BTreeSet<FieldKey>,
    slots: &[Field],
    items: &[&str],
    prop: &str,
    warnings: &mut Vec<MappingWarning>,
) {
    for (i, f) in slots.iter().enumerate() {
        present.insert(FieldKey::Std(*f));
        c.set(&FieldKey::Std(*f), items.get(i).copied());
    }
    if items.len() > slots.len() {
        warnings.push(MappingWarning {
            field: prop.to_owned(),
            message: format!(
                "{} entries, Exchange allows {}; the extra ones are not synced",
                items.len(),
                slots.len()
            ),
        });
    }
}

/// The body of a Graph create: every mapped value, and the intent as extended property.
pub fn graph_create(c: &Contact, mapping: &Mapping, intent: Option<&IntentId>) -> Value {
    let std = |f: Field| Some(c.get(&FieldKey::Std(f)));
    let custom = |name: &str| Some(c.custom.get(name).map(String::as_str));
    let mut body = graph_body(std, custom, mapping);
    if let (Some(obj), Some(intent)) = (body.as_object_mut(), intent) {
        obj.insert(
            "singleValueExtendedProperties".into(),
            json!([{ "id": INTENT_PROPERTY, "value": intent.0 }]),
        );
    }
    body
}

/// The body of a Graph PATCH with only these fields (`None` clears). A slot change sends
/// its whole property, so `changes` should hold complete groups, as plans' updates do.
pub fn graph_patch(changes: &BTreeMap<FieldKey, Option<String>>, mapping: &Mapping) -> Value {
    let std = |f: Field| changes.get(&FieldKey::Std(f)).map(Option::as_deref);
    let custom = |name: &str| {
        changes
            .get(&FieldKey::Custom(name.to_owned()))
            .map(Option::as_deref)
    };
    graph_body(std, custom, mapping)
}

/// A Graph body of the fields `std` and `custom` name: `None` leaves a field out,
/// `Some(None)` clears it, `Some(Some(value))` sets it.
fn graph_body<'v>(
    std: impl Fn(Field) -> Option<Option<&'v str>>,
    custom: impl Fn(&str) -> Option<Option<&'v str>>,
    mapping: &Mapping,
) -> Value {
    let text = |v: Option<&str>| v.map_or(Value::Null, |v| Value::String(v.to_owned()));
    let has = |f: Field| std(f).is_some();
    let get = |f: Field| std(f).flatten();
    let mut out = Map::new();
    for (f, prop) in SCALARS {
        if let Some(value) = std(f) {
            out.insert(prop.into(), text(value));
        }
    }
    if EMAIL_SLOTS.iter().any(|f| has(*f)) {
        let list: Vec<Value> = EMAIL_SLOTS
            .iter()
            .filter_map(|f| get(*f))
            .map(|a| json!({ "address": a, "name": a }))
            .collect();
        out.insert("emailAddresses".into(), Value::Array(list));
    }
    for (prop, slots) in [
        ("businessPhones", &BUSINESS_PHONE_SLOTS[..]),
        ("homePhones", &HOME_PHONE_SLOTS[..]),
    ] {
        if slots.iter().any(|f| has(*f)) {
            let list = slots.iter().filter_map(|f| get(*f)).map(|v| text(Some(v)));
            out.insert(prop.into(), Value::Array(list.collect()));
        }
    }
    if ADDRESS_PARTS.iter().any(|f| has(*f)) {
        let mut addr = Map::new();
        for (f, key) in ADDRESS_PARTS.iter().zip(ADDRESS_KEYS) {
            addr.insert(key.into(), text(get(*f)));
        }
        out.insert("businessAddress".into(), Value::Object(addr));
    }
    for m in &mapping.custom {
        if let Some(value) = custom(&m.name) {
            out.insert(m.exchange.clone(), text(value));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_fields_invert_the_scalar_table() {
        for (f, property) in SCALARS {
            assert_eq!(scalar_field(property), Some(f));
        }
        assert_eq!(scalar_field("displayName"), None);
    }
}
