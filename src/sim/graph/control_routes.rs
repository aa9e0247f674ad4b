//! The control API over HTTP, under `/_sim/graph`: JSON in and out, no authentication
//! (a test tool). Each route calls the same [`GraphControl`] method a Rust caller would.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::control::GraphControl;
use super::core::Core;
use super::errors::GraphFault;
use super::state::SimSettings;
use crate::sim::faults::{DeliveryFaultRule, FaultPlan, FaultRule};

fn control(core: &web::Data<Core>) -> GraphControl {
    GraphControl {
        core: Arc::clone(core),
    }
}

fn answer<T: serde::Serialize>(result: Result<T, GraphFault>) -> HttpResponse {
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(fault) => fault.response(),
    }
}

#[derive(Deserialize)]
struct App {
    tenant: String,
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
struct NewMailbox {
    tenant: String,
    address: String,
}

#[derive(Deserialize)]
struct NewFolder {
    name: String,
}

#[derive(Deserialize)]
struct Lifecycle {
    event: String,
}

/// Registers the routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/_sim/graph")
            .route("/apps", web::post().to(|c: web::Data<Core>, b: web::Json<App>| async move {
                control(&c).add_app(&b.tenant, &b.client_id, &b.client_secret);
                HttpResponse::Ok().json(json!({ "tenant": b.tenant, "client_id": b.client_id }))
            }))
            .route("/mailboxes", web::post().to(|c: web::Data<Core>, b: web::Json<NewMailbox>| async move {
                control(&c).add_mailbox(&b.tenant, &b.address);
                HttpResponse::Ok().json(json!({ "address": b.address }))
            }))
            .route("/mailboxes/{m}/folders", web::get().to(|c: web::Data<Core>, p: web::Path<String>| async move {
                answer(control(&c).folders(&p))
            }))
            .route("/mailboxes/{m}/folders", web::post().to(
                |c: web::Data<Core>, p: web::Path<String>, b: web::Json<NewFolder>| async move {
                    answer(control(&c).create_folder(&p, &b.name))
                },
            ))
            .route("/mailboxes/{m}/folders/{f}/contacts", web::get().to(
                |c: web::Data<Core>, p: web::Path<(String, String)>| async move {
                    answer(control(&c).contacts(&p.0, &p.1))
                },
            ))
            .route("/mailboxes/{m}/folders/{f}/contacts", web::post().to(
                |c: web::Data<Core>, p: web::Path<(String, String)>, b: web::Json<Value>| async move {
                    answer(control(&c).create_contact(&p.0, &p.1, b.into_inner()))
                },
            ))
            .route("/mailboxes/{m}/contacts/{id}", web::patch().to(
                |c: web::Data<Core>, p: web::Path<(String, String)>, b: web::Json<Value>| async move {
                    answer(control(&c).update_contact(&p.0, &p.1, b.into_inner()))
                },
            ))
            .route("/mailboxes/{m}/contacts/{id}", web::delete().to(
                |c: web::Data<Core>, p: web::Path<(String, String)>| async move {
                    answer(control(&c).delete_contact(&p.0, &p.1).map(|()| json!({ "deleted": p.1 })))
                },
            ))
            .route("/mailboxes/{m}/invalidate-delta", web::post().to(
                |c: web::Data<Core>, p: web::Path<String>| async move {
                    answer(control(&c).invalidate_delta(&p).map(|()| json!({ "invalidated": true })))
                },
            ))
            .route("/subscriptions", web::get().to(|c: web::Data<Core>| async move {
                HttpResponse::Ok().json(control(&c).subscriptions())
            }))
            .route("/subscriptions/{id}/lifecycle", web::post().to(
                |c: web::Data<Core>, p: web::Path<String>, b: web::Json<Lifecycle>| async move {
                    answer(control(&c).lifecycle(&p, &b.event).map(|()| json!({ "sent": b.event })))
                },
            ))
            .route("/notifications", web::get().to(|c: web::Data<Core>| async move {
                HttpResponse::Ok().json(control(&c).notifications())
            }))
            .route("/stats", web::get().to(|c: web::Data<Core>| async move {
                HttpResponse::Ok().json(control(&c).request_counts())
            }))
            .route("/settings", web::get().to(|c: web::Data<Core>| async move {
                HttpResponse::Ok().json(control(&c).settings())
            }))
            .route("/settings", web::put().to(|c: web::Data<Core>, b: web::Json<SimSettings>| async move {
                control(&c).set_settings(b.into_inner());
                HttpResponse::Ok().json(control(&c).settings())
            }))
            .route("/faults", web::get().to(|c: web::Data<Core>| async move {
                HttpResponse::Ok().json(control(&c).faults())
            }))
            .route("/faults", web::put().to(|c: web::Data<Core>, b: web::Json<FaultPlan>| async move {
                control(&c).set_faults(b.into_inner());
                HttpResponse::Ok().json(control(&c).faults())
            }))
            .route("/faults", web::delete().to(|c: web::Data<Core>| async move {
                control(&c).clear_faults();
                HttpResponse::Ok().json(control(&c).faults())
            }))
            .route("/faults/rules", web::post().to(|c: web::Data<Core>, b: web::Json<FaultRule>| async move {
                control(&c).add_fault(b.into_inner());
                HttpResponse::Ok().json(control(&c).faults())
            }))
            .route("/faults/notifications", web::post().to(
                |c: web::Data<Core>, b: web::Json<DeliveryFaultRule>| async move {
                    control(&c).add_notification_fault(b.into_inner());
                    HttpResponse::Ok().json(control(&c).faults())
                },
            )),
    );
}
