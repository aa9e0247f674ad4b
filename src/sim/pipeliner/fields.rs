//! `/entities/Fields`: the Contact field definitions of a space (standard fields plus
//! `cf_*` custom fields), with `system_required` per field, filterable by
//! `filter[entity_name]=Contact`. A space can be told to require extra fields; creates
//! that leave one empty are refused (see `contact_model`).

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::api::query_pairs;
use super::auth::authorize;
use super::core::Core;
use super::envelope::{page, ApiError};
use super::query::{load_only, paginate, ListQuery};
use super::state::{FieldRecord, IdGen};

/// The standard Contact fields a new space starts with: (api name, label, type).
const STANDARD: [(&str, &str, &str); 24] = [
    ("owner_id", "Owner", "dropdown"),
    ("title", "Title", "input"),
    ("first_name", "First Name", "input"),
    ("middle_name", "Middle Name", "input"),
    ("last_name", "Last Name", "input"),
    ("position", "Position", "input"),
    ("email1", "Email", "email"),
    ("email2", "Email 2", "email"),
    ("email3", "Email 3", "email"),
    ("email4", "Email 4", "email"),
    ("email5", "Email 5", "email"),
    ("phone1", "Phone", "phone"),
    ("phone2", "Phone 2", "phone"),
    ("phone3", "Phone 3", "phone"),
    ("phone4", "Phone 4", "phone"),
    ("phone5", "Phone 5", "phone"),
    ("address", "Address", "input"),
    ("city", "City", "input"),
    ("state_province", "State / Province", "input"),
    ("zip_code", "ZIP Code", "input"),
    ("country", "Country", "input"),
    ("comments", "Comments", "text_area"),
    ("quick_account_name", "Account Name", "input"),
    ("unit_id", "Sales Unit", "dropdown"),
];

/// The standard Contact field records for a new space.
pub(crate) fn standard_fields(ids: &mut IdGen) -> Vec<FieldRecord> {
    STANDARD
        .iter()
        .map(|(api_name, name, type_id)| {
            let (id, seq) = ids.fresh();
            FieldRecord {
                id,
                seq,
                api_name: (*api_name).into(),
                name: (*name).into(),
                type_id: (*type_id).into(),
                system_required: *api_name == "owner_id",
                custom: false,
            }
        })
        .collect()
}

fn primitive(type_id: &str) -> &'static str {
    match type_id {
        "checkbox" => "BOOL",
        "integer" => "INT",
        "float" | "currency" => "FLOAT",
        "date" | "datetime" => "DATE",
        "dropdown" | "radio" => "ENUM",
        _ => "STRING",
    }
}

/// A field as Pipeliner's `Field` schema describes it.
pub(crate) fn render_field(f: &FieldRecord) -> Value {
    json!({
        "is_delete_protected": !f.custom,
        "has_draft": false,
        "id": f.id,
        "is_deleted": false,
        "modified": "2020-01-01T00:00:00",
        "created": "2020-01-01T00:00:00",
        "entity_name": "Contact",
        "api_name": f.api_name,
        "name": f.name,
        "column_name": f.api_name,
        "system_type": if f.custom { 2 } else { 0 },
        "type_id": f.type_id,
        "default_value": "",
        "system_required": f.system_required,
        "is_published": true,
        "system_readonly": false,
        "use_in_global_search": false,
        "is_unique": false,
        "data_set": "",
        "source_field_id": "",
        "source_type_id": f.type_id,
        "use_in_interface_preview": false,
        "translated_name": f.name,
        "field_permissions": "",
        "name_translations": "",
        "name_translated": f.name,
        "primitive_type": primitive(&f.type_id),
        "is_readonly_on_recurrent_appointment": false,
        "is_available_for_webresource": true,
        "is_available_for_advanced_formula": true,
    })
}

/// `GET /entities/Fields`.
pub(crate) async fn list(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = ListQuery::parse(&query_pairs(&req)?)?;
    let mut state = core.state();
    let space = authorize(&mut state, &req, &path)?;
    let rows: Vec<(Value, u64)> = space
        .fields
        .values()
        .map(|f| (render_field(f), f.seq))
        .collect();
    let found = paginate(rows.iter().map(|(v, s)| (v, *s)), &q, |v, name| {
        v.get(name).cloned()
    })?;
    let data = found
        .items
        .iter()
        .map(|v| load_only((*v).clone(), q.load_only.as_ref()))
        .collect();
    Ok(page(data, found.total, found.page_info))
}
