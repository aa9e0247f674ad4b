//! A Graph contact or delta row as exsync reads it: the members a cycle uses, read
//! straight from the answer's text into typed fields.
//!
//! A delta page carries a hundred rows of forty-odd members each, of which exsync reads
//! the id, removal, change key, modification time, the default
//! mapping's properties and the properties a custom mapping may name
//! ([`GRAPH_CUSTOM_PROPERTIES`]). Those are read here in one pass without building a JSON
//! object per row; the few nested ones (e-mail addresses, phones, the business address)
//! are small and read as JSON first. exsync's intent property is not among them: Graph
//! returns extended properties only when `$expand` asks for them, which its contact
//! delta does not take; cut-off creates are looked up by it instead
//! (`engine::cycle::adopt`). Every other member is skipped
//! in the parse, unallocated, and a member of an unexpected type reads as absent text.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::mapping::{scalar_field, ADDRESS_KEYS};
use crate::connectors::members::{MemberName, Scalar};
use crate::sync::contact::Field;
use crate::sync::mapping::GRAPH_CUSTOM_PROPERTIES;

/// One Graph contact or delta row with the members exsync reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedGraphContact {
    /// `id`, when it is text.
    pub id: Option<String>,
    /// Whether the row carries `@removed` (the contact left the folder).
    pub removed: bool,
    /// `changeKey`, when it is text.
    pub change_key: Option<String>,
    /// `lastModifiedDateTime`, when it reads as a time.
    pub modified: Option<DateTime<Utc>>,
    /// The scalar properties present, in the answer's order: each with its text, `None`
    /// for `null` or a value that is not text.
    pub scalars: Vec<(Field, Option<String>)>,
    /// The text addresses of `emailAddresses`, when present.
    pub emails: Option<Vec<String>>,
    /// The text entries of `businessPhones`, when present.
    pub business_phones: Option<Vec<String>>,
    /// The text entries of `homePhones`, when present.
    pub home_phones: Option<Vec<String>>,
    /// The parts of `businessAddress` in the order of the mapping's address keys (street, city, state, postal code, country), when present.
    pub business_address: Option<[Option<String>; 5]>,
    /// The custom-mappable properties present, by name, with their text.
    pub custom: Vec<(&'static str, Option<String>)>,
}

impl ListedGraphContact {
    /// The custom-mappable property called `name`, when present: its text or `None`.
    pub fn custom(&self, name: &str) -> Option<Option<&str>> {
        self.custom
            .iter()
            .find(|(property, _)| *property == name)
            .map(|(_, text)| text.as_deref())
    }
}

impl<'de> Deserialize<'de> for ListedGraphContact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RowVisitor)
    }
}

/// Room for the scalar properties a contact usually carries.
const SCALARS_CAPACITY: usize = 8;

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = ListedGraphContact;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a contact object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ListedGraphContact, A::Error> {
        let mut row = ListedGraphContact {
            scalars: Vec::with_capacity(SCALARS_CAPACITY),
            ..ListedGraphContact::default()
        };
        while let Some(MemberName(name)) = access.next_key()? {
            match &*name {
                "id" => row.id = access.next_value::<Scalar>()?.into_text(),
                "@removed" => {
                    access.next_value::<IgnoredAny>()?;
                    row.removed = true;
                }
                "changeKey" => row.change_key = access.next_value::<Scalar>()?.into_text(),
                "lastModifiedDateTime" => {
                    row.modified = access
                        .next_value::<Scalar>()?
                        .into_text()
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc))
                }
                "emailAddresses" => {
                    let entries: Value = access.next_value()?;
                    row.emails = Some(texts(&entries, |e| e.get("address")));
                }
                "businessPhones" => {
                    row.business_phones = Some(texts(&access.next_value()?, Some));
                }
                "homePhones" => row.home_phones = Some(texts(&access.next_value()?, Some)),
                "businessAddress" => {
                    let address: Value = access.next_value()?;
                    row.business_address =
                        Some(ADDRESS_KEYS.map(|key| {
                            address.get(key).and_then(Value::as_str).map(str::to_owned)
                        }));
                }
                other => {
                    if let Some(field) = scalar_field(other) {
                        let text = access.next_value::<Scalar>()?.into_text();
                        row.scalars.push((field, text));
                    } else if let Some((property, _)) =
                        GRAPH_CUSTOM_PROPERTIES.iter().find(|(p, _)| *p == other)
                    {
                        let text = access.next_value::<Scalar>()?.into_text();
                        row.custom.push((property, text));
                    } else {
                        access.next_value::<IgnoredAny>()?;
                    }
                }
            }
        }
        Ok(row)
    }
}

/// The text entries of an array, each found in its element by `entry`; nothing from any
/// other value.
fn texts<'v>(array: &'v Value, entry: impl Fn(&'v Value) -> Option<&'v Value>) -> Vec<String> {
    array
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| entry(item).and_then(Value::as_str))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_row_reads_into_its_members_and_skips_the_rest() {
        let page = r#"[{"@odata.etag":"W/\"ck1\"","id":"AAMk=","changeKey":"ck1",
            "lastModifiedDateTime":"2026-01-01T10:00:00Z","displayName":"Ann Lee",
            "givenName":"Ann","middleName":null,"surname":"Lee","nickName":"Annie",
            "emailAddresses":[{"name":"Ann","address":"ann@x.io"},{"name":"no address"},{"address":" "}],
            "businessPhones":["1",2,"3"],"homePhones":null,
            "businessAddress":{"street":"Main 1","city":null,"zip":"x"},
            "homeAddress":{"street":"unread"},"parentFolderId":"f",
            "singleValueExtendedProperties":[{"id":"x","value":"skipped"}]}]"#;
        let rows: Vec<ListedGraphContact> = serde_json::from_str(page).unwrap();
        let row = &rows[0];
        assert_eq!(row.id.as_deref(), Some("AAMk="));
        assert!(!row.removed);
        assert_eq!(row.change_key.as_deref(), Some("ck1"));
        assert_eq!(
            row.modified.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-01T10:00:00+00:00")
        );
        assert_eq!(
            row.scalars,
            [
                (Field::GivenName, Some("Ann".to_owned())),
                (Field::MiddleName, None),
                (Field::Surname, Some("Lee".to_owned())),
            ]
        );
        assert_eq!(row.custom("nickName"), Some(Some("Annie")));
        assert_eq!(row.custom("department"), None);
        assert_eq!(
            row.emails.as_deref(),
            Some(&["ann@x.io".to_owned(), " ".to_owned()][..])
        );
        assert_eq!(
            row.business_phones.as_deref(),
            Some(&["1".to_owned(), "3".to_owned()][..])
        );
        assert_eq!(row.home_phones.as_deref(), Some(&[][..]), "present, null");
        let street = Some("Main 1".to_owned());
        assert_eq!(row.business_address, Some([street, None, None, None, None]));
    }

    #[test]
    fn a_removed_row_and_odd_members_read_as_such() {
        let row: ListedGraphContact = serde_json::from_value(json!({
            "id": "AAMk=", "@removed": { "reason": "deleted" }
        }))
        .unwrap();
        assert!(row.removed);
        let odd: ListedGraphContact = serde_json::from_value(json!({
            "id": 5, "changeKey": ["x"], "lastModifiedDateTime": "yesterday",
            "givenName": { "text": "Ann" }, "emailAddresses": "ann@x.io",
            "singleValueExtendedProperties": { "id": "x" }
        }))
        .unwrap();
        assert_eq!(odd.id, None);
        assert_eq!(odd.change_key, None);
        assert_eq!(odd.modified, None);
        assert_eq!(odd.scalars, [(Field::GivenName, None)]);
        assert_eq!(odd.emails.as_deref(), Some(&[][..]));
    }

    #[test]
    fn a_row_that_is_not_an_object_or_is_cut_short_is_an_error() {
        assert!(serde_json::from_str::<Vec<ListedGraphContact>>(r#"["c1"]"#).is_err());
        assert!(serde_json::from_str::<Vec<ListedGraphContact>>(r#"[{"id":"c1","x":]"#).is_err());
        assert!(serde_json::from_str::<Vec<ListedGraphContact>>(r#"[{"id":"c1","x":[}]"#).is_err());
    }
}
