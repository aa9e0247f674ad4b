//! The control API over HTTP, under `/_sim/pipeliner`: JSON routes that call the typed
//! [`PipelinerControl`] methods (documented in `docs-sim-pipeliner.md`). Errors answer
//! `{"error": "…"}` with 400, 404 or 409. No authentication: it is a test tool.

use actix_web::web::{self, Json};
use actix_web::HttpResponse;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::control::PipelinerControl;
use super::core::Core;
use super::seeds::{ClientSeed, ControlError, FieldSeed, SpaceSeed};
use crate::sim::faults::{DeliveryFaultRule, FaultPlan, FaultRule};

/// Registers the `/_sim/pipeliner` routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim/pipeliner")
            .app_data(web::JsonConfig::default().error_handler(|err, _| {
                let body = json!({"error": format!("invalid JSON body: {err}")});
                actix_web::error::InternalError::from_response(
                    err,
                    HttpResponse::BadRequest().json(body),
                )
                .into()
            }))
            .route("/spaces", web::post().to(create_space))
            .route("/spaces/{space}", web::get().to(get_space))
            .route("/spaces/{space}/clients", web::get().to(list_clients))
            .route("/spaces/{space}/clients", web::post().to(add_client))
            .route("/spaces/{space}/fields", web::post().to(set_field))
            .route("/spaces/{space}/contacts", web::get().to(list_contacts))
            .route("/spaces/{space}/contacts", web::post().to(create_contact))
            .route("/spaces/{space}/contacts/{id}", web::get().to(get_contact))
            .route(
                "/spaces/{space}/contacts/{id}",
                web::patch().to(update_contact),
            )
            .route(
                "/spaces/{space}/contacts/{id}",
                web::delete().to(delete_contact),
            )
            .route(
                "/spaces/{space}/contacts/{id}/restore",
                web::post().to(restore_contact),
            )
            .route(
                "/spaces/{space}/contacts/{id}/sharing",
                web::post().to(share_contact),
            )
            .route("/spaces/{space}/webhooks", web::get().to(webhooks))
            .route("/deliveries", web::get().to(deliveries))
            .route("/faults", web::get().to(get_faults))
            .route("/faults", web::put().to(set_faults))
            .route("/faults", web::delete().to(clear_faults))
            .route("/faults/rules", web::post().to(add_rule))
            .route("/faults/deliveries", web::post().to(add_delivery_rule))
            .route("/normalize-on-create", web::get().to(get_normalize))
            .route("/normalize-on-create", web::put().to(set_normalize)),
    );
}

fn control(core: &web::Data<Core>) -> PipelinerControl {
    PipelinerControl {
        core: core.clone().into_inner(),
    }
}

fn answer(result: Result<Value, ControlError>) -> HttpResponse {
    match result {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => {
            let body = json!({"error": e.to_string()});
            match e {
                ControlError::UnknownSpace(_) => HttpResponse::NotFound().json(body),
                ControlError::SpaceExists(_) => HttpResponse::Conflict().json(body),
                ControlError::Rejected(api) if api.http_status == 404 => {
                    HttpResponse::NotFound().json(body)
                }
                ControlError::Rejected(_) => HttpResponse::BadRequest().json(body),
            }
        }
    }
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

async fn create_space(core: web::Data<Core>, seed: Json<SpaceSeed>) -> HttpResponse {
    answer(control(&core).create_space(seed.into_inner()).map(to_value))
}

async fn get_space(core: web::Data<Core>, space: web::Path<String>) -> HttpResponse {
    answer(control(&core).space(&space).map(to_value))
}

async fn add_client(
    core: web::Data<Core>,
    space: web::Path<String>,
    seed: Json<ClientSeed>,
) -> HttpResponse {
    answer(control(&core).add_client(&space, seed.into_inner()))
}

async fn list_clients(core: web::Data<Core>, space: web::Path<String>) -> HttpResponse {
    answer(control(&core).clients(&space).map(Value::from))
}

async fn set_field(
    core: web::Data<Core>,
    space: web::Path<String>,
    seed: Json<FieldSeed>,
) -> HttpResponse {
    answer(control(&core).set_field(&space, seed.into_inner()))
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    include_deleted: bool,
}

async fn list_contacts(
    core: web::Data<Core>,
    space: web::Path<String>,
    params: web::Query<ListParams>,
) -> HttpResponse {
    answer(
        control(&core)
            .contacts(&space, params.include_deleted)
            .map(Value::from),
    )
}

async fn create_contact(
    core: web::Data<Core>,
    space: web::Path<String>,
    fields: Json<Map<String, Value>>,
) -> HttpResponse {
    answer(control(&core).create_contact(&space, fields.into_inner()))
}

async fn get_contact(core: web::Data<Core>, path: web::Path<(String, String)>) -> HttpResponse {
    let (space, id) = path.into_inner();
    match control(&core).contact(&space, &id) {
        Ok(None) => HttpResponse::NotFound().json(json!({"error": format!("no contact '{id}'")})),
        other => answer(other.map(|c| c.unwrap_or(Value::Null))),
    }
}

async fn update_contact(
    core: web::Data<Core>,
    path: web::Path<(String, String)>,
    fields: Json<Map<String, Value>>,
) -> HttpResponse {
    let (space, id) = path.into_inner();
    answer(control(&core).update_contact(&space, &id, fields.into_inner()))
}

async fn delete_contact(core: web::Data<Core>, path: web::Path<(String, String)>) -> HttpResponse {
    let (space, id) = path.into_inner();
    answer(control(&core).delete_contact(&space, &id))
}

async fn restore_contact(core: web::Data<Core>, path: web::Path<(String, String)>) -> HttpResponse {
    let (space, id) = path.into_inner();
    answer(control(&core).restore_contact(&space, &id))
}

#[derive(Deserialize)]
struct ShareBody {
    client_id: String,
    role: i64,
}

async fn share_contact(
    core: web::Data<Core>,
    path: web::Path<(String, String)>,
    body: Json<ShareBody>,
) -> HttpResponse {
    let (space, id) = path.into_inner();
    answer(control(&core).share_contact(&space, &id, &body.client_id, body.role))
}

async fn webhooks(core: web::Data<Core>, space: web::Path<String>) -> HttpResponse {
    answer(control(&core).webhooks(&space).map(Value::from))
}

async fn deliveries(core: web::Data<Core>) -> HttpResponse {
    HttpResponse::Ok().json(control(&core).deliveries())
}

async fn get_faults(core: web::Data<Core>) -> HttpResponse {
    HttpResponse::Ok().json(control(&core).faults())
}

async fn set_faults(core: web::Data<Core>, plan: Json<FaultPlan>) -> HttpResponse {
    let c = control(&core);
    c.set_faults(plan.into_inner());
    HttpResponse::Ok().json(c.faults())
}

async fn clear_faults(core: web::Data<Core>) -> HttpResponse {
    let c = control(&core);
    c.clear_faults();
    HttpResponse::Ok().json(c.faults())
}

async fn add_rule(core: web::Data<Core>, rule: Json<FaultRule>) -> HttpResponse {
    let c = control(&core);
    c.add_fault(rule.into_inner());
    HttpResponse::Ok().json(c.faults())
}

async fn add_delivery_rule(core: web::Data<Core>, rule: Json<DeliveryFaultRule>) -> HttpResponse {
    let c = control(&core);
    c.add_delivery_fault(rule.into_inner());
    HttpResponse::Ok().json(c.faults())
}

/// The body of `PUT /normalize-on-create`, and the answer of both its routes.
#[derive(Deserialize)]
struct Switch {
    enabled: bool,
}

async fn get_normalize(core: web::Data<Core>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"enabled": control(&core).normalize_on_create()}))
}

async fn set_normalize(core: web::Data<Core>, body: Json<Switch>) -> HttpResponse {
    let c = control(&core);
    c.set_normalize_on_create(body.enabled);
    HttpResponse::Ok().json(json!({"enabled": c.normalize_on_create()}))
}
