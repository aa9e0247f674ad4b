//! A Pipeliner contact as exsync reads it: the members a cycle uses, read straight from
//! the answer's text into typed fields.
//!
//! A contact page carries a hundred contacts of thirty to fifty members each, of which
//! exsync reads the id, version, deletion, modification time, ownership, sharing and the
//! mapped fields. Those are read here in one pass, without building a JSON object per
//! contact: a mapped field keeps only whether it was present and its text, which is all
//! a mapping reads of it. Every other member is skipped in the parse, unallocated.
//!
//! Reading is lenient per member as a JSON object would be: a member of an unexpected
//! type reads as absent text (`owner_id: 5` is no owner), never as a failed page.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::contacts::parse_time;
use crate::connectors::members::{MemberName, Scalar};
use crate::sync::contact::Field;
use crate::sync::mapping::pipeliner_field;
use crate::sync::mapping::pipeliner_name;

/// The members of a Pipeliner contact that are not fields but that exsync reads into
/// [`ListedContact`]: id, version, deletion, creation and modification times, ownership
/// and sharing.
pub const META_MEMBERS: [&str; 8] = [
    "id",
    "is_deleted",
    "revision",
    "created",
    "modified",
    "owner_id",
    "share_mode",
    "sharing_clients",
];

/// One Pipeliner contact with the members exsync reads: [`META_MEMBERS`], the default
/// mapping's fields and every custom `cf_*` field (a custom mapping may name any).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedContact {
    /// `id`, when it is text.
    pub id: Option<String>,
    /// `revision` as text (a number is written out), when present.
    pub version: Option<String>,
    /// `is_deleted: true`.
    pub is_deleted: bool,
    /// `created`, when it reads as a time: exsync sets it on the contacts it creates, and
    /// finds a create cut off before its commit by it.
    pub created: Option<DateTime<Utc>>,
    /// `modified`, when it reads as a time.
    pub modified: Option<DateTime<Utc>>,
    /// `owner_id`, when it is text.
    pub owner_id: Option<String>,
    /// `share_mode`, when it is a whole number.
    pub share_mode: Option<i64>,
    /// The expanded `sharing_clients` (empty when absent).
    pub sharing: Vec<Share>,
    /// The field members present, in the answer's order: each with its text, `None` for
    /// `null` or a value that is not text.
    pub fields: Vec<(Member, Option<String>)>,
}

/// One expanded sharing relation of a contact.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Share {
    /// The Client the contact is shared with.
    pub client_id: Option<String>,
    /// The role granted (2 edits, any other views).
    pub role: Option<i64>,
}

/// The name of a field member: a standard field of the default mapping, named without
/// allocating, or any `cf_*` custom field by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// A standard field, by its [`pipeliner_name`].
    Std(Field),
    /// A custom field.
    Custom(String),
}

impl Member {
    /// The member's Pipeliner api name.
    pub fn name(&self) -> &str {
        match self {
            Member::Std(f) => pipeliner_name(*f),
            Member::Custom(name) => name,
        }
    }
}

impl ListedContact {
    /// The revision as a number (0 when absent or not a number), for keeping the newest
    /// of two listings of one contact.
    pub fn revision(&self) -> i64 {
        self.version
            .as_deref()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// The field member called `name`, when present: its text or `None`.
    pub fn field(&self, name: &str) -> Option<Option<&str>> {
        self.fields
            .iter()
            .find(|(member, _)| member.name() == name)
            .map(|(_, text)| text.as_deref())
    }
}

impl<'de> Deserialize<'de> for ListedContact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ContactVisitor)
    }
}

/// Room for the fields a contact usually carries (the default mapping's twenty and a few
/// custom ones), so its list is not regrown field by field.
const FIELDS_CAPACITY: usize = 24;

struct ContactVisitor;

impl<'de> Visitor<'de> for ContactVisitor {
    type Value = ListedContact;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a contact object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<ListedContact, A::Error> {
        let mut contact = ListedContact {
            fields: Vec::with_capacity(FIELDS_CAPACITY),
            ..ListedContact::default()
        };
        while let Some(MemberName(name)) = access.next_key()? {
            match &*name {
                "id" => contact.id = access.next_value::<Scalar>()?.into_text(),
                "revision" => {
                    contact.version = match access.next_value::<Scalar>()? {
                        Scalar::Int(n) => Some(n.to_string()),
                        other => other.into_text(),
                    }
                }
                "is_deleted" => {
                    contact.is_deleted = matches!(access.next_value()?, Scalar::Bool(true))
                }
                "created" => {
                    contact.created = access
                        .next_value::<Scalar>()?
                        .into_text()
                        .and_then(|t| parse_time(&t))
                }
                "modified" => {
                    contact.modified = access
                        .next_value::<Scalar>()?
                        .into_text()
                        .and_then(|t| parse_time(&t))
                }
                "owner_id" => contact.owner_id = access.next_value::<Scalar>()?.into_text(),
                "share_mode" => {
                    contact.share_mode = match access.next_value()? {
                        Scalar::Int(n) => Some(n),
                        _ => None,
                    }
                }
                "sharing_clients" => contact.sharing = shares_of(&access.next_value()?),
                other => {
                    let member = match pipeliner_field(other) {
                        Some(field) => Member::Std(field),
                        None if other.starts_with("cf_") => Member::Custom(other.to_owned()),
                        None => {
                            access.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    let text = access.next_value::<Scalar>()?.into_text();
                    contact.fields.push((member, text));
                }
            }
        }
        Ok(contact)
    }
}

/// The relations of `sharing_clients`: each object of an array, nothing from any other
/// value. The list is short (narrowed to client and role), so it is read as JSON first.
fn shares_of(value: &Value) -> Vec<Share> {
    value
        .as_array()
        .map(|shares| {
            shares
                .iter()
                .filter(|share| share.is_object())
                .map(|share| Share {
                    client_id: share["client_id"].as_str().map(str::to_owned),
                    role: share["role"].as_i64(),
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_contact_reads_into_its_members_and_skips_the_rest() {
        let page = r#"[{"id":"c1","revision":7,"is_deleted":false,"modified":"2026-01-02T03:04:05",
            "created":"2026-01-01T00:00:09","owner_id":"o1","share_mode":3,"owner":{"id":"o1","name":"x"},
            "sharing_clients":[{"client_id":"u1","role":2,"client":{"id":"u1"}},{"client_id":"u2"}],
            "first_name":"Ann","middle_name":null,"email1":"","cf_birthday":"2000-01-01",
            "cf_count":3,"email4":"not read","formatted_name":"Ann"}]"#;
        let listed: Vec<ListedContact> = serde_json::from_str(page).unwrap();
        let c = &listed[0];
        assert_eq!(c.id.as_deref(), Some("c1"));
        assert_eq!(c.version.as_deref(), Some("7"));
        assert_eq!(c.revision(), 7);
        assert!(!c.is_deleted);
        assert_eq!(c.modified, parse_time("2026-01-02T03:04:05"));
        assert_eq!(c.created, parse_time("2026-01-01T00:00:09"));
        assert_eq!(c.owner_id.as_deref(), Some("o1"));
        assert_eq!(c.share_mode, Some(3));
        let shares = [("u1", Some(2)), ("u2", None)].map(|(id, role)| Share {
            client_id: Some(id.to_owned()),
            role,
        });
        assert_eq!(c.sharing, shares);
        assert_eq!(c.field("first_name"), Some(Some("Ann")));
        assert_eq!(
            c.field("middle_name"),
            Some(None),
            "a present null stays present"
        );
        assert_eq!(c.field("email1"), Some(Some("")));
        assert_eq!(c.field("cf_birthday"), Some(Some("2000-01-01")));
        assert_eq!(c.field("cf_count"), Some(None), "present, not text");
        assert_eq!(c.field("email4"), None);
        assert_eq!(c.field("formatted_name"), None);
        assert_eq!(c.fields.len(), 5);
    }

    #[test]
    fn every_member_asked_for_besides_the_fields_is_read() {
        // `listed_fields` asks Pipeliner for `META_MEMBERS`: each must land in the row.
        for name in META_MEMBERS {
            let value = match name {
                "is_deleted" => json!(true),
                "revision" | "share_mode" => json!(3),
                "created" | "modified" => json!("2026-01-02T03:04:05"),
                "sharing_clients" => json!([{ "client_id": "u1", "role": 2 }]),
                _ => json!("x"),
            };
            let c: ListedContact = serde_json::from_value(json!({ name: value })).unwrap();
            assert_ne!(c, ListedContact::default(), "{name} is not read");
        }
    }

    #[test]
    fn members_of_an_unexpected_type_read_as_absent() {
        let c: ListedContact = serde_json::from_value(json!({
            "id": 5, "revision": "r9", "is_deleted": "yes", "modified": "yesterday",
            "owner_id": ["o1"], "share_mode": 2.5, "sharing_clients": { "client_id": "u1" },
            "last_name": { "text": "Doe" }
        }))
        .unwrap();
        assert_eq!(c.id, None);
        assert_eq!(c.version.as_deref(), Some("r9"));
        assert_eq!(c.revision(), 0);
        assert!(!c.is_deleted);
        assert_eq!(c.modified, None);
        assert_eq!(c.owner_id, None);
        assert_eq!(c.share_mode, None);
        assert!(c.sharing.is_empty());
        assert_eq!(c.field("last_name"), Some(None));
        let odd: ListedContact =
            serde_json::from_value(json!({ "sharing_clients": ["u1", 2, null, [1]] })).unwrap();
        assert!(odd.sharing.is_empty());
    }

    #[test]
    fn escaped_member_names_are_read_too() {
        let c: ListedContact =
            serde_json::from_str(r#"{"\u0069d":"c1","first\u005fname":"Ann","for\u006dat":1}"#)
                .unwrap();
        assert_eq!(c.id.as_deref(), Some("c1"));
        assert_eq!(c.field("first_name"), Some(Some("Ann")));
    }

    #[test]
    fn a_contact_that_is_not_an_object_or_is_cut_short_is_an_error() {
        assert!(serde_json::from_str::<Vec<ListedContact>>(r#"["c1"]"#).is_err());
        assert!(serde_json::from_str::<Vec<ListedContact>>(r#"[{"id":"c1","x":]"#).is_err());
        assert!(serde_json::from_str::<Vec<ListedContact>>(r#"[{"id":"c1","x":[}]"#).is_err());
        assert!(serde_json::from_value::<ListedContact>(json!("c1")).is_err());
    }
}
