//! Rendering a contact the way Pipeliner's `Contact` schema describes it (relations as
//! URIs, empty text as `""`, custom `cf_*` fields at top level), one field at a time for
//! filters and sorting, or whole for answers and webhook payloads.

use serde_json::{json, Map, Value};

use super::contact_model::{text, TEXT_FIELDS};
use super::state::{format_time, ContactRecord, SharingRecord, Space};

/// The display name Pipeliner builds from title, first, middle and last name.
fn formatted_name(c: &ContactRecord) -> String {
    ["title", "first_name", "middle_name", "last_name"]
        .iter()
        .map(|k| text(c, k))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One field of a rendered contact, or `None` if Contact has no such field.
pub(crate) fn field_value(
    space: &Space,
    base: &str,
    c: &ContactRecord,
    name: &str,
) -> Option<Value> {
    Some(match name {
        "id" => json!(c.id),
        "owner_id" => json!(c.owner_id),
        "unit_id" => json!(c.unit_id),
        "revision" => json!(c.revision),
        "created" => json!(format_time(c.created)),
        "modified" | "modified_by_user" => json!(format_time(c.modified)),
        "is_deleted" => json!(c.is_deleted),
        "share_mode" => json!(c.share_mode),
        "formatted_name" => json!(formatted_name(c)),
        "contact_type_id" => json!(space.contact_type_id),
        "owner" => json!(format!("{base}/entities/Clients/{}", c.owner_id)),
        "unit" => json!(format!("{base}/entities/SalesUnits/{}", c.unit_id)),
        "contact_type" => json!(format!(
            "{base}/entities/ContactTypes/{}",
            space.contact_type_id
        )),
        "is_delete_protected" | "is_favorite" => json!(false),
        "gender" => c.values.get("gender").cloned().unwrap_or(json!(0)),
        "is_archived" | "is_unsubscribed" => c.values.get(name).cloned().unwrap_or(json!(false)),
        "gapi_entity_id" => json!(""),
        "sharing_clients" => json!(c
            .sharing
            .iter()
            .map(|s| format!("{base}/entities/ContactSharingClientRelations/{}", s.id))
            .collect::<Vec<_>>()),
        "sharing_units" => json!([]),
        _ if TEXT_FIELDS.contains(&name) || space.custom_field(name).is_some() => {
            json!(text(c, name))
        }
        _ => return None,
    })
}

/// Every field the simulator returns for a contact, in the schema's order.
const RENDERED: [&str; 20] = [
    "is_delete_protected",
    "id",
    "is_deleted",
    "modified",
    "created",
    "contact_type",
    "owner",
    "unit",
    "contact_type_id",
    "gender",
    "is_archived",
    "owner_id",
    "share_mode",
    "unit_id",
    "revision",
    "formatted_name",
    "sharing_units",
    "sharing_clients",
    "is_favorite",
    "is_unsubscribed",
];

/// The contact as Pipeliner returns it. `expand` may name `sharing_clients`.
pub(crate) fn render(space: &Space, base: &str, c: &ContactRecord, expand: &[String]) -> Value {
    let mut map = Map::new();
    let names = RENDERED
        .iter()
        .copied()
        .chain(TEXT_FIELDS.iter().copied())
        .chain(["gapi_entity_id", "modified_by_user"]);
    for name in names {
        if let Some(v) = field_value(space, base, c, name) {
            map.insert(name.to_owned(), v);
        }
    }
    let mut custom: Vec<_> = space.fields.values().filter(|f| f.custom).collect();
    custom.sort_by_key(|f| f.seq);
    for f in custom {
        map.insert(f.api_name.clone(), json!(text(c, &f.api_name)));
    }
    if expand.iter().any(|e| e == "sharing_clients") {
        let shares: Vec<Value> = c
            .sharing
            .iter()
            .map(|s| render_sharing(base, c, s))
            .collect();
        map.insert("sharing_clients".into(), Value::Array(shares));
    }
    Value::Object(map)
}

/// A `ContactSharingClientRelation` as Pipeliner returns it.
pub(crate) fn render_sharing(base: &str, c: &ContactRecord, s: &SharingRecord) -> Value {
    json!({
        "is_delete_protected": false,
        "id": s.id,
        "is_deleted": false,
        "modified": format_time(s.created),
        "created": format_time(s.created),
        "client": format!("{base}/entities/Clients/{}", s.client_id),
        "contact": format!("{base}/entities/Contacts/{}", c.id),
        "client_id": s.client_id,
        "contact_id": c.id,
        "role": s.role,
        "revision": c.revision,
    })
}
