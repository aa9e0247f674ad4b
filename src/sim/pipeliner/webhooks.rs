//! `/entities/Webhooks`: register (`url`, `events` such as `Contact.*`, `insecure_ssl`,
//! `signature` UUID, `options.skip_keys`), list, get and delete webhooks.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::api::{json_body, query_pairs};
use super::auth::authorize;
use super::core::Core;
use super::envelope::{created, ok, page, ApiError};
use super::query::{load_only, paginate, ListQuery};
use super::state::{format_time, WebhookRecord};

/// A webhook as Pipeliner's `Webhook` schema describes it.
pub(crate) fn render_webhook(base: &str, w: &WebhookRecord) -> Value {
    let mut v = json!({
        "is_delete_protected": false,
        "id": w.id,
        "is_deleted": w.is_deleted,
        "modified": format_time(w.modified),
        "created": format_time(w.created),
        "insecure_ssl": w.insecure_ssl,
        "options": w.options,
        "url": w.url,
        "events": w.events,
    });
    if let Some(sig) = &w.signature {
        v["signature"] = json!(sig);
    }
    if let Some(client) = &w.client_id {
        v["client_id"] = json!(client);
        v["client"] = json!(format!("{base}/entities/Clients/{client}"));
    }
    v
}

/// Checks an event name: `*`, `Entity.*` or `Entity.Action`.
fn valid_event(e: &str) -> bool {
    e == "*"
        || e.split_once('.').is_some_and(|(entity, action)| {
            !entity.is_empty()
                && entity.chars().all(|c| c.is_ascii_alphanumeric())
                && (action == "*"
                    || (!action.is_empty() && action.chars().all(|c| c.is_ascii_alphanumeric())))
        })
}

/// `POST /entities/Webhooks` (201).
pub(crate) async fn create(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
    body: Bytes,
) -> Result<HttpResponse, ApiError> {
    let Value::Object(input) = json_body(&core, &req, &path, &body)? else {
        return Err(ApiError::invalid("The body must be a JSON object."));
    };
    let url = input
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| {
            ApiError::validation("Field 'url' is required and must be an http(s) URL.")
        })?;
    let events: Vec<String> = input
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if events.is_empty() || !events.iter().all(|e| valid_event(e)) {
        return Err(ApiError::validation(
            "Field 'events' is required: a non-empty array such as [\"Contact.*\"].",
        ));
    }
    let insecure_ssl = input
        .get("insecure_ssl")
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::validation("Field 'insecure_ssl' is required (boolean)."))?;
    let signature = match input.get("signature") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok() => Some(s.clone()),
        Some(_) => return Err(ApiError::invalid("Field 'signature' must be a UUID.")),
    };
    let options: Map<String, Value> = match input.get("options") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(o)) => o.clone(),
        Some(_) => return Err(ApiError::invalid("Field 'options' must be an object.")),
    };
    let client_id = input
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let now = core.now();
    let base = core.space_base(&path);
    let mut state = core.state();
    authorize(&mut state, &req, &path)?;
    let (id, seq) = state.ids.fresh();
    let space = state
        .spaces
        .get_mut(path.as_str())
        .ok_or_else(|| ApiError::not_found("Space not found."))?;
    if client_id
        .as_ref()
        .is_some_and(|c| !space.clients.contains_key(c))
    {
        return Err(ApiError::validation(
            "Field 'client_id' refers to an unknown Client.",
        ));
    }
    let hook = WebhookRecord {
        id: id.clone(),
        seq,
        url: url.to_owned(),
        events,
        insecure_ssl,
        signature,
        options,
        client_id,
        created: now,
        modified: now,
        is_deleted: false,
    };
    let rendered = render_webhook(&base, &hook);
    space.webhooks.insert(id, hook);
    Ok(created(rendered))
}

/// `GET /entities/Webhooks`.
pub(crate) async fn list(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let q = ListQuery::parse(&query_pairs(&req)?)?;
    let base = core.space_base(&path);
    let mut state = core.state();
    let space = authorize(&mut state, &req, &path)?;
    let rows: Vec<(Value, u64)> = space
        .webhooks
        .values()
        .filter(|w| q.include_deleted || !w.is_deleted)
        .map(|w| (render_webhook(&base, w), w.seq))
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

/// `GET /entities/Webhooks/{id}`.
pub(crate) async fn get(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (space_id, id) = path.into_inner();
    let base = core.space_base(&space_id);
    let mut state = core.state();
    let space = authorize(&mut state, &req, &space_id)?;
    let hook = space
        .webhooks
        .get(&id)
        .filter(|w| !w.is_deleted)
        .ok_or_else(|| ApiError::not_found(format!("Webhook '{id}' not found.")))?;
    Ok(ok(render_webhook(&base, hook)))
}

/// `DELETE /entities/Webhooks/{id}`: `data` is the id; no further deliveries.
pub(crate) async fn delete(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (space_id, id) = path.into_inner();
    let now = core.now();
    let mut state = core.state();
    let space = authorize(&mut state, &req, &space_id)?;
    let hook = space
        .webhooks
        .get_mut(&id)
        .filter(|w| !w.is_deleted)
        .ok_or_else(|| ApiError::not_found(format!("Webhook '{id}' not found.")))?;
    hook.is_deleted = true;
    hook.modified = now;
    Ok(ok(json!(id)))
}
