//! `/entities/Contacts` handlers: list (paging, order, filters, include-deleted,
//! load-only, expand), get, create, update, soft delete, `batch-modify` and
//! `batch-delete` / `batch-restore` with `rollback-method`, and the `ContactSharingClientRelations` list.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::api::{json_body, query_pairs, skip_key};
use super::auth::authorize;
use super::contact_render::{field_value, render, render_sharing};
use super::core::Core;
use super::envelope::{created, ok, page, ApiError};
use super::query::{load_only, paginate, ListQuery};
use super::writes::{write_contacts, ContactOp, WriteOptions, WriteResult};

type Result<T> = std::result::Result<T, ApiError>;

/// `GET /entities/Contacts`.
pub(crate) async fn list(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let q = ListQuery::parse(&query_pairs(&req)?)?;
    let base = core.space_base(&path);
    let mut state = core.state();
    let space = authorize(&mut state, &req, &path)?;
    let records = space
        .contacts
        .values()
        .filter(|c| q.include_deleted || !c.is_deleted)
        .map(|c| (c, c.seq));
    let found = paginate(records, &q, |c, name| field_value(space, &base, c, name))?;
    let data = found
        .items
        .iter()
        .map(|c| load_only(render(space, &base, c, &q.expand), q.load_only.as_ref()))
        .collect();
    Ok(page(data, found.total, found.page_info))
}

/// `GET /entities/Contacts/{id}` (deleted ones only with `include-deleted=true`).
pub(crate) async fn get(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (space_id, id) = path.into_inner();
    let q = ListQuery::parse(&query_pairs(&req)?)?;
    let base = core.space_base(&space_id);
    let mut state = core.state();
    let space = authorize(&mut state, &req, &space_id)?;
    let contact = space
        .contacts
        .get(&id)
        .filter(|c| q.include_deleted || !c.is_deleted)
        .ok_or_else(|| ApiError::not_found(format!("Contact '{id}' not found.")))?;
    let data = load_only(
        render(space, &base, contact, &q.expand),
        q.load_only.as_ref(),
    );
    Ok(ok(data))
}

/// Runs `ops` for an authorised request, honouring `validation-level` and
/// `Webhook-Skip-Key`.
fn run(
    core: &Core,
    req: &HttpRequest,
    space_id: &str,
    ops: Vec<ContactOp>,
    rollback_all: bool,
) -> Result<WriteResult> {
    let level = match query_pairs(req)?
        .iter()
        .find(|(k, _)| k == "validation-level")
    {
        Some((_, v)) => v
            .parse::<i64>()
            .map_err(|_| ApiError::invalid(format!("Invalid validation-level '{v}'.")))?,
        None => 0,
    };
    let skip = skip_key(req);
    let options = WriteOptions {
        rollback_all,
        skip_key: skip.as_deref(),
        validate_all: level & (2 | 4) == 0,
    };
    let mut state = core.state();
    authorize(&mut state, req, space_id)?;
    write_contacts(core, &mut state, space_id, ops, options)
}

fn object(value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::invalid("The body must be a JSON object.")),
    }
}

fn single(mut result: WriteResult) -> Result<Value> {
    result
        .items
        .pop()
        .unwrap_or_else(|| Err(ApiError::invalid("Nothing to write.")))
}

/// `POST /entities/Contacts` (201).
pub(crate) async fn create(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse> {
    let input = object(json_body(&core, &req, &path, &body)?)?;
    let result = run(&core, &req, &path, vec![ContactOp::Create(input)], true)?;
    Ok(created(single(result)?))
}

/// `PATCH /entities/Contacts/{id}`.
pub(crate) async fn update(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> Result<HttpResponse> {
    let (space_id, id) = path.into_inner();
    let input = object(json_body(&core, &req, &space_id, &body)?)?;
    let result = run(
        &core,
        &req,
        &space_id,
        vec![ContactOp::Update(id, input)],
        true,
    )?;
    Ok(ok(single(result)?))
}

/// `DELETE /entities/Contacts/{id}`: soft delete; `data` is the id.
pub(crate) async fn delete(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (space_id, id) = path.into_inner();
    let result = run(
        &core,
        &req,
        &space_id,
        vec![ContactOp::Delete(id.clone())],
        true,
    )?;
    single(result)?;
    Ok(ok(json!(id)))
}

/// `rollback-method`: 0 (default) rolls back all, 1 only the failed items.
fn rollback_all(req: &HttpRequest) -> Result<bool> {
    let pairs = query_pairs(req)?;
    match pairs
        .iter()
        .find(|(k, _)| k == "rollback-method")
        .map(|(_, v)| v.as_str())
    {
        None | Some("0") => Ok(true),
        Some("1") => Ok(false),
        Some(other) => Err(ApiError::invalid(format!(
            "Invalid rollback-method '{other}'."
        ))),
    }
}

/// The batch answer: `data` holds per item an id or an `Error`. After a rollback-all
/// the answer is a 400 error envelope that still carries the per-item `data`.
fn batch_answer(result: WriteResult) -> HttpResponse {
    let data: Vec<Value> = result
        .items
        .iter()
        .map(|item| match item {
            Ok(contact) => contact.get("id").cloned().unwrap_or(Value::Null),
            Err(e) => e.body(),
        })
        .collect();
    if result.committed {
        return ok(Value::Array(data));
    }
    let mut body = ApiError::new(
        400,
        117,
        "ERROR_PARAMETER_INVALID",
        "Some items failed; nothing was saved (rollback-method=0).",
    )
    .body();
    body["data"] = Value::Array(data);
    HttpResponse::BadRequest().json(body)
}

/// `POST /entities/Contacts/batch-modify`: items with `id` update, others create.
pub(crate) async fn batch_modify(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse> {
    let rollback = rollback_all(&req)?;
    let Value::Array(items) = json_body(&core, &req, &path, &body)? else {
        return Err(ApiError::invalid("The body must be a JSON array."));
    };
    let mut ops = Vec::with_capacity(items.len());
    for item in items {
        let mut map = object(item)?;
        ops.push(match map.remove("id") {
            Some(Value::String(id)) => ContactOp::Update(id, map),
            _ => ContactOp::Create(map),
        });
    }
    Ok(batch_answer(run(&core, &req, &path, ops, rollback)?))
}

/// `POST /entities/Contacts/batch-delete`: a JSON array of ids.
pub(crate) async fn batch_delete(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse> {
    let rollback = rollback_all(&req)?;
    let Value::Array(items) = json_body(&core, &req, &path, &body)? else {
        return Err(ApiError::invalid("The body must be a JSON array of ids."));
    };
    let ops = items
        .into_iter()
        .map(|v| ContactOp::Delete(v.as_str().unwrap_or_default().to_owned()))
        .collect();
    Ok(batch_answer(run(&core, &req, &path, ops, rollback)?))
}

/// `POST /entities/Contacts/batch-restore`: a JSON array of ids of deleted contacts.
pub(crate) async fn batch_restore(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse> {
    let rollback = rollback_all(&req)?;
    let Value::Array(items) = json_body(&core, &req, &path, &body)? else {
        return Err(ApiError::invalid("The body must be a JSON array of ids."));
    };
    let ops = items
        .into_iter()
        .map(|v| ContactOp::Restore(v.as_str().unwrap_or_default().to_owned()))
        .collect();
    Ok(batch_answer(run(&core, &req, &path, ops, rollback)?))
}

/// `GET /entities/ContactSharingClientRelations` (filter by `client_id`, `contact_id`,
/// `role`), so a client can find the contacts a user may watch or edit.
pub(crate) async fn list_sharing(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let q = ListQuery::parse(&query_pairs(&req)?)?;
    let base = core.space_base(&path);
    let mut state = core.state();
    let space = authorize(&mut state, &req, &path)?;
    let rows: Vec<(Value, u64)> = space
        .contacts
        .values()
        .filter(|c| !c.is_deleted)
        .flat_map(|c| c.sharing.iter().map(move |s| (c, s)))
        .enumerate()
        .map(|(i, (c, s))| (render_sharing(&base, c, s), i as u64))
        .collect();
    let found = paginate(rows.iter().map(|(v, i)| (v, *i)), &q, |v, name| {
        v.get(name).cloned()
    })?;
    let data = found
        .items
        .iter()
        .map(|v| load_only((*v).clone(), q.load_only.as_ref()))
        .collect();
    Ok(page(data, found.total, found.page_info))
}
