//! Graph v1.0 contact JSON ↔ canonical contact. Respects Graph's limits (3 e-mails,
//! 2 business phones, 2 home phones): extra entries are reported, never sent. A delta row
//! with only some properties gives a partial upsert, so absent properties are not cleared.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::listed::ListedGraphContact;
use crate::connectors::body::{to_raw, Members};
use crate::sync::contact::{
    Contact, Field, FieldKey, ADDRESS_PARTS, BUSINESS_PHONE_SLOTS, EMAIL_SLOTS, HOME_PHONE_SLOTS,
};
use crate::sync::input::{IntentId, Upsert};
use crate::sync::mapping::{
    custom_value, Change, Mapping, MappingWarning, Present, Read, ReadError,
};
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
pub(crate) fn scalar_field(property: &str) -> Option<Field> {
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

/// The members of a Graph address, in [`ADDRESS_PARTS`] order.
pub(crate) const ADDRESS_KEYS: [&str; 5] =
    ["street", "city", "state", "postalCode", "countryOrRegion"];

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

/// Reads one Graph contact (or delta row) from its JSON.
pub fn from_graph(v: &Value, mapping: &Mapping) -> Result<Read, ReadError> {
    let row = ListedGraphContact::deserialize(v).map_err(|_| ReadError::NotAnObject)?;
    from_listed_graph(&row, mapping)
}

/// Reads one Graph contact or delta row as listed ([`from_graph`] without the JSON).
pub fn from_listed_graph(row: &ListedGraphContact, mapping: &Mapping) -> Result<Read, ReadError> {
    let id = row
        .id
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(ReadError::MissingId)?
        .to_owned();
    if row.removed {
        return Ok(Read {
            change: Change::Delete(id),
            warnings: Vec::new(),
        });
    }
    let mut c = Contact::default();
    let mut present = Present::default();
    let mut warnings = Vec::new();
    for (f, text) in &row.scalars {
        present.std(*f);
        c.set(&FieldKey::Std(*f), text.as_deref());
    }
    for (entries, slots, prop) in [
        (&row.emails, &EMAIL_SLOTS[..], "emailAddresses"),
        (
            &row.business_phones,
            &BUSINESS_PHONE_SLOTS[..],
            "businessPhones",
        ),
        (&row.home_phones, &HOME_PHONE_SLOTS[..], "homePhones"),
    ] {
        if let Some(entries) = entries {
            let items: Vec<&str> = entries
                .iter()
                .map(String::as_str)
                .filter(|s| !s.trim().is_empty())
                .collect();
            fill_slots(&mut c, &mut present, slots, &items, prop, &mut warnings);
        }
    }
    if let Some(parts) = &row.business_address {
        for (f, part) in ADDRESS_PARTS.iter().zip(parts) {
            present.std(*f);
            c.set(&FieldKey::Std(*f), part.as_deref());
        }
    }
    for m in &mapping.custom {
        if let Some(text) = row.custom(&m.exchange) {
            let key = FieldKey::Custom(m.name.clone());
            let value = custom_value(m, text, &mut warnings);
            c.set(&key, value.as_deref());
            present.custom(key);
        }
    }
    let upsert = Upsert {
        id,
        contact: c,
        presence: present.into_presence(mapping),
        version: row.change_key.clone(),
        modified: row.modified,
        access: Access::Owner,
        intent: None,
    };
    Ok(Read {
        change: Change::Upsert(Box::new(upsert)),
        warnings,
    })
}

fn fill_slots(
    c: &mut Contact,
    present: &mut Present,
    slots: &[Field],
    items: &[&str],
    prop: &str,
    warnings: &mut Vec<MappingWarning>,
) {
    for (i, f) in slots.iter().enumerate() {
        present.std(*f);
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
pub fn graph_create(c: &Contact, mapping: &Mapping, intent: Option<&IntentId>) -> Box<RawValue> {
    to_raw(&GraphBody {
        std: |f: Field| Some(c.get(&FieldKey::Std(f))),
        custom: |name: &str| Some(c.custom.get(name).map(String::as_str)),
        mapping,
        intent,
    })
}

/// The body of a Graph PATCH with only these fields (`None` clears). A slot change sends
/// its whole property, so `changes` should hold complete groups, as plans' updates do.
pub fn graph_patch(
    changes: &BTreeMap<FieldKey, Option<String>>,
    mapping: &Mapping,
) -> Box<RawValue> {
    to_raw(&GraphBody {
        std: |f: Field| changes.get(&FieldKey::Std(f)).map(Option::as_deref),
        custom: |name: &str| {
            changes
                .get(&FieldKey::Custom(name.to_owned()))
                .map(Option::as_deref)
        },
        mapping,
        intent: None,
    })
}

/// A Graph body of the fields `std` and `custom` name: `None` leaves a field out,
/// `Some(None)` clears it, `Some(Some(value))` sets it; with the intent property when
/// `intent` is given.
struct GraphBody<'m, S, C> {
    std: S,
    custom: C,
    mapping: &'m Mapping,
    intent: Option<&'m IntentId>,
}

/// One entry of `emailAddresses`.
#[derive(Serialize)]
struct EmailAddress<'a> {
    address: &'a str,
    name: &'a str,
}

impl<'v, S, C> Serialize for GraphBody<'_, S, C>
where
    S: Fn(Field) -> Option<Option<&'v str>>,
    C: Fn(&str) -> Option<Option<&'v str>>,
{
    fn serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        let has = |f: &Field| (self.std)(*f).is_some();
        let get = |f: &Field| (self.std)(*f).flatten();
        let mut out = serializer.serialize_map(None)?;
        for (f, prop) in SCALARS {
            if let Some(value) = (self.std)(f) {
                out.serialize_entry(prop, &value)?;
            }
        }
        if EMAIL_SLOTS.iter().any(has) {
            let list: Vec<EmailAddress> = EMAIL_SLOTS
                .iter()
                .filter_map(get)
                .map(|a| EmailAddress {
                    address: a,
                    name: a,
                })
                .collect();
            out.serialize_entry("emailAddresses", &list)?;
        }
        for (prop, slots) in [
            ("businessPhones", &BUSINESS_PHONE_SLOTS[..]),
            ("homePhones", &HOME_PHONE_SLOTS[..]),
        ] {
            if slots.iter().any(has) {
                let list: Vec<&str> = slots.iter().filter_map(get).collect();
                out.serialize_entry(prop, &list)?;
            }
        }
        if ADDRESS_PARTS.iter().any(has) {
            let parts: [(&str, Option<&str>); 5] =
                std::array::from_fn(|i| (ADDRESS_KEYS[i], get(&ADDRESS_PARTS[i])));
            out.serialize_entry("businessAddress", &Members(&parts))?;
        }
        for m in &self.mapping.custom {
            if let Some(value) = (self.custom)(&m.name) {
                out.serialize_entry(&m.exchange, &value)?;
            }
        }
        if let Some(intent) = self.intent {
            let property = [("id", Some(INTENT_PROPERTY)), ("value", Some(&*intent.0))];
            out.serialize_entry("singleValueExtendedProperties", &[Members(&property)])?;
        }
        out.end()
    }
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
