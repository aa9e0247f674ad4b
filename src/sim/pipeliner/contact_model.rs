//! Contact writes at field level: which fields a write may set, the rules a write must
//! pass (owner, a first or last name, space-required fields, types), and applying it.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::envelope::ApiError;
use super::state::{whole_seconds, ContactRecord, IdGen, SharingRecord, Space};

/// Standard text fields of the Contact schema that a write may set.
pub(crate) const TEXT_FIELDS: [&str; 26] = [
    "title",
    "first_name",
    "middle_name",
    "last_name",
    "position",
    "email1",
    "email2",
    "email3",
    "email4",
    "email5",
    "phone1",
    "phone2",
    "phone3",
    "phone4",
    "phone5",
    "address",
    "city",
    "state_province",
    "zip_code",
    "country",
    "comments",
    "quick_account_name",
    "account_position",
    "primary_account_relationship",
    "exchange_entity_id",
    "o365_entity_id",
];

/// Read-only fields a client may echo back; a write ignores them.
const READ_ONLY: [&str; 17] = [
    "id",
    "is_deleted",
    "is_delete_protected",
    "modified",
    "modified_by_user",
    "revision",
    "formatted_name",
    "owner",
    "unit",
    "contact_type",
    "is_favorite",
    "primary_account",
    "sharing_units",
    "social_media",
    "documents",
    "tags",
    "gapi_entity_id",
];

/// Whether a write is a create (every rule), an update validated in full
/// (`validation-level=0`: every required field must be filled, sent or not), or an
/// update validated only on the fields sent (`validation-level` with bit 2 or 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteKind {
    Create,
    Update,
    UpdateSentOnly,
}

/// Checks `input` against the space's rules and applies it to `contact`.
/// Returns whether the owner changed.
pub(crate) fn apply_write(
    space: &Space,
    ids: &mut IdGen,
    contact: &mut ContactRecord,
    input: &Map<String, Value>,
    kind: WriteKind,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let mut next = contact.clone();
    for (key, value) in input {
        let key = key.as_str();
        if TEXT_FIELDS.contains(&key) || space.custom_field(key).is_some() {
            let text = match value {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(n) if key.starts_with("cf_") => n.to_string(),
                _ => {
                    return Err(ApiError::invalid(format!(
                        "Field '{key}' must be a string."
                    )))
                }
            };
            next.values.insert(key.to_owned(), Value::String(text));
        } else if key == "owner_id" {
            let id = value.as_str().unwrap_or_default();
            if !space.clients.contains_key(id) {
                return Err(ApiError::validation(format!(
                    "Field 'owner_id' refers to an unknown Client '{id}'."
                )));
            }
            next.owner_id = id.to_owned();
        } else if key == "unit_id" {
            next.unit_id = value.as_str().unwrap_or(&space.unit_id).to_owned();
        } else if key == "share_mode" || key == "gender" {
            let n = value
                .as_i64()
                .filter(|n| (0..=3).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid(format!("Field '{key}' must be an integer 0..3."))
                })?;
            if key == "share_mode" {
                next.share_mode = n;
            } else {
                next.values.insert(key.into(), json!(n));
            }
        } else if key == "is_archived" || key == "is_unsubscribed" {
            let b = value
                .as_bool()
                .ok_or_else(|| ApiError::invalid(format!("Field '{key}' must be a boolean.")))?;
            next.values.insert(key.into(), json!(b));
        } else if key == "sharing_clients" {
            next.sharing = parse_sharing(space, ids, value, now)?;
        } else if key == "created" && kind == WriteKind::Create {
            next.created = value.as_str().and_then(parse_created).ok_or_else(|| {
                ApiError::invalid(
                    "Field 'created' must be a date-time written YYYY-MM-DDTHH:MM:SS (UTC).",
                )
            })?;
        } else if key == "contact_type_id" || READ_ONLY.contains(&key) || key == "created" {
            // Accepted and ignored, as Pipeliner ignores read-only values.
        } else {
            return Err(ApiError::invalid(format!(
                "Unknown field '{key}' for entity Contact."
            )));
        }
    }
    validate(space, &next, input, kind)?;
    let owner_changed = next.owner_id != contact.owner_id;
    *contact = next;
    Ok(owner_changed)
}

/// Reads `created` as Pipeliner documents it for a create: exactly
/// `2019-01-01T00:00:00` (UTC, whole seconds, no zone). Anything else is `None`, so the
/// stored value renders back exactly as sent.
fn parse_created(s: &str) -> Option<DateTime<Utc>> {
    const FORM: &str = "%Y-%m-%dT%H:%M:%S";
    let t = chrono::NaiveDateTime::parse_from_str(s, FORM).ok()?;
    (s.len() == 19 && t.format(FORM).to_string() == s).then(|| t.and_utc())
}

fn parse_sharing(
    space: &Space,
    ids: &mut IdGen,
    value: &Value,
    now: DateTime<Utc>,
) -> Result<Vec<SharingRecord>, ApiError> {
    let items = value
        .as_array()
        .ok_or_else(|| ApiError::invalid("Field 'sharing_clients' must be an array."))?;
    let mut out = Vec::new();
    for item in items {
        let client_id = item
            .get("client_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !space.clients.contains_key(client_id) {
            return Err(ApiError::validation(format!(
                "sharing_clients refers to an unknown Client '{client_id}'."
            )));
        }
        let role = item.get("role").and_then(Value::as_i64).unwrap_or(1);
        if !(1..=2).contains(&role) {
            return Err(ApiError::invalid(
                "Sharing role must be 1 (watcher) or 2 (editor).",
            ));
        }
        out.push(SharingRecord {
            id: ids.new_id(),
            client_id: client_id.to_owned(),
            role,
            created: whole_seconds(now),
        });
    }
    Ok(out)
}

/// A text value of a contact (`""` when unset).
pub(crate) fn text<'a>(c: &'a ContactRecord, key: &str) -> &'a str {
    c.values.get(key).and_then(Value::as_str).unwrap_or("")
}

fn validate(
    space: &Space,
    c: &ContactRecord,
    input: &Map<String, Value>,
    kind: WriteKind,
) -> Result<(), ApiError> {
    let create = kind == WriteKind::Create;
    if create && c.owner_id.is_empty() {
        return Err(ApiError::validation("Field 'owner_id' is required."));
    }
    let names_checked = kind != WriteKind::UpdateSentOnly
        || input.contains_key("first_name")
        || input.contains_key("last_name");
    if names_checked && text(c, "first_name").is_empty() && text(c, "last_name").is_empty() {
        return Err(ApiError::validation(
            "At least one of fields 'first_name' or 'last_name' is required.",
        ));
    }
    for field in space.required_fields() {
        let checked = kind != WriteKind::UpdateSentOnly || input.contains_key(&field);
        if checked && text(c, &field).is_empty() {
            return Err(ApiError::validation(format!(
                "Field '{field}' is required."
            )));
        }
    }
    Ok(())
}

/// A blank contact for a create in `space`.
pub(crate) fn blank(space: &Space, id: String, seq: u64, now: DateTime<Utc>) -> ContactRecord {
    ContactRecord {
        id,
        seq,
        owner_id: String::new(),
        unit_id: space.unit_id.clone(),
        revision: 0,
        created: whole_seconds(now),
        modified: whole_seconds(now),
        is_deleted: false,
        share_mode: 0,
        values: Map::new(),
        sharing: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_created;

    #[test]
    fn created_must_have_the_exact_documented_form() {
        let t = parse_created("2019-01-01T00:00:00").expect("documented form");
        assert_eq!(
            t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            "2019-01-01T00:00:00"
        );
        for bad in [
            "2019-01-01 00:00:00",
            "2019-01-01T00:00:00Z",
            "2019-01-01T00:00:00.5",
            " 2019-01-01T00:00:00",
            "2019-1-01T00:00:00",
            "2019-02-30T00:00:00",
            "2019-01-01",
            "",
        ] {
            assert_eq!(parse_created(bad), None, "{bad:?}");
        }
    }
}
