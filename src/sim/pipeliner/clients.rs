//! `/entities/Clients` (Pipeliner users): list with filters such as
//! `filter[email]=…&filter-op[email]=ieq`, and get by id.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::api::query_pairs;
use super::auth::authorize;
use super::core::Core;
use super::envelope::{ok, page, ApiError};
use super::query::{load_only, paginate, ListQuery};
use super::state::{format_time, ClientRecord, Space};

/// A client as Pipeliner's `Client` schema describes it.
pub(crate) fn render_client(space: &Space, base: &str, c: &ClientRecord) -> Value {
    let name = [c.first_name.as_str(), c.last_name.as_str()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    json!({
        "is_delete_protected": false,
        "id": c.id,
        "is_deleted": false,
        "modified": format_time(c.created),
        "created": format_time(c.created),
        "default_unit": format!("{base}/entities/SalesUnits/{}", space.unit_id),
        "master_right": format!("{base}/entities/MasterRights/{}", space.master_right_id),
        "default_unit_id": space.unit_id,
        "email": c.email,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "middle_name": "",
        "master_right_id": space.master_right_id,
        "phone": "",
        "position": "",
        "timezone": "UTC",
        "revision": 1,
        "unit_membership": [format!("{base}/entities/ClientUnitMemberships/{}", c.id)],
        "name": name,
        "formatted_name": name,
        "unit_manager_ids": [],
        "unit_member_ids": [],
    })
}

/// `GET /entities/Clients`.
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
        .clients
        .values()
        .map(|c| (render_client(space, &base, c), c.seq))
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

/// `GET /entities/Clients/{id}`.
pub(crate) async fn get(
    core: web::Data<Core>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (space_id, id) = path.into_inner();
    let base = core.space_base(&space_id);
    let mut state = core.state();
    let space = authorize(&mut state, &req, &space_id)?;
    let client = space
        .clients
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("Client '{id}' not found.")))?;
    Ok(ok(render_client(space, &base, client)))
}
