//! The REST app: routes under `/api/v100/rest/spaces/{space_id}`, the fault-injection
//! middleware in front of them, and helpers every handler shares (query pairs, JSON
//! bodies, the `Webhook-Skip-Key` header).

use std::time::Duration;

use actix_web::body::{to_bytes, BoxBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, DATE, RETRY_AFTER};
use actix_web::middleware::{from_fn, Next};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::auth::authorize;
use super::core::{lock, Core};
use super::envelope::ApiError;
use super::{clients, contacts, fields, webhooks};
use crate::sim::faults::FaultKind;

/// The prefix of every REST route.
pub const API_PREFIX: &str = "/api/v100/rest/spaces";

/// Header that suppresses webhooks listing the same key in `options.skip_keys`.
pub const SKIP_KEY_HEADER: &str = "Webhook-Skip-Key";

/// Registers the REST routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v100/rest/spaces/{space_id}/entities")
            .wrap(from_fn(inject_faults))
            .route("/Contacts", web::get().to(contacts::list))
            .route("/Contacts", web::post().to(contacts::create))
            .route(
                "/Contacts/batch-modify",
                web::post().to(contacts::batch_modify),
            )
            .route(
                "/Contacts/batch-delete",
                web::post().to(contacts::batch_delete),
            )
            .route(
                "/Contacts/batch-restore",
                web::post().to(contacts::batch_restore),
            )
            .route("/Contacts/{id}", web::get().to(contacts::get))
            .route("/Contacts/{id}", web::patch().to(contacts::update))
            .route("/Contacts/{id}", web::delete().to(contacts::delete))
            .route(
                "/ContactSharingClientRelations",
                web::get().to(contacts::list_sharing),
            )
            .route("/Clients", web::get().to(clients::list))
            .route("/Clients/{id}", web::get().to(clients::get))
            .route("/Fields", web::get().to(fields::list))
            .route("/Webhooks", web::get().to(webhooks::list))
            .route("/Webhooks", web::post().to(webhooks::create))
            .route("/Webhooks/{id}", web::get().to(webhooks::get))
            .route("/Webhooks/{id}", web::delete().to(webhooks::delete))
            .default_service(web::to(unknown_route)),
    );
}

async fn unknown_route(req: HttpRequest) -> HttpResponse {
    ApiError::not_found(format!("No such endpoint: {} {}", req.method(), req.path())).response()
}

/// The query string as ordered pairs (`filter[email]`, …).
pub(crate) fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| ApiError::invalid(format!("Invalid query string: {e}")))
}

/// The request body as JSON, after checking the credentials (so a caller with wrong
/// keys learns that first, as from Pipeliner).
pub(crate) fn json_body(
    core: &Core,
    req: &HttpRequest,
    space_id: &str,
    body: &Bytes,
) -> Result<Value, ApiError> {
    authorize(&mut core.state(), req, space_id)?;
    serde_json::from_slice(body).map_err(|e| ApiError::invalid(format!("Malformed JSON body: {e}")))
}

/// The `Webhook-Skip-Key` header, if sent.
pub(crate) fn skip_key(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(SKIP_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Applies the fault plan to one REST request.
async fn inject_faults(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(core) = req.app_data::<web::Data<Core>>().cloned() else {
        return next.call(req).await;
    };
    let path = req.path().to_owned();
    let rest = path
        .strip_prefix(API_PREFIX)
        .and_then(|p| p.trim_start_matches('/').split_once('/'))
        .map(|(_, rest)| rest.to_owned())
        .unwrap_or_default();
    let route = route_name(req.method().as_str(), &rest);
    *lock(&core.requests).entry(route.clone()).or_insert(0) += 1;
    let decision = lock(&core.faults).decide(&route);
    if decision.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.latency_ms)).await;
    }
    let now = core.now();
    match decision.outcome {
        None => next.call(req).await.map(|res| with_date(res, now)),
        Some(FaultKind::Stall { millis }) => {
            // The handler has applied the write and released the state lock; only this
            // answer waits.
            let res = next.call(req).await?;
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(with_date(res, now))
        }
        Some(FaultKind::Error {
            status,
            retry_after_secs,
        }) => {
            let name = if status == 503 {
                "ERROR_SERVICE_UNAVAILABLE"
            } else {
                "ERROR_INTERNAL"
            };
            let err = ApiError::new(status, i64::from(status), name, "Simulated server error.");
            Ok(req.into_response(with_retry_after(err.response(), retry_after_secs)))
        }
        Some(FaultKind::TooManyRequests { retry_after_secs }) => {
            *lock(&core.requests).entry("throttled".into()).or_insert(0) += 1;
            let err = ApiError::new(429, 429, "ERROR_TOO_MANY_REQUESTS", "Too many requests.");
            Ok(req.into_response(with_retry_after(err.response(), Some(retry_after_secs))))
        }
        Some(FaultKind::MalformedJson) => {
            let res = next.call(req).await?;
            let (req, resp) = res.into_parts();
            let status = resp.status();
            let body = to_bytes(resp.into_body()).await.unwrap_or_default();
            let cut = body.len() / 2;
            let broken = HttpResponse::build(status)
                .insert_header((CONTENT_TYPE, "application/json"))
                .body(body.slice(..cut.max(1).min(body.len())));
            Ok(ServiceResponse::new(req, broken))
        }
        Some(FaultKind::DropConnection) => {
            let res = next.call(req).await?;
            let (req, _) = res.into_parts();
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
            });
            let dropped = HttpResponse::Ok()
                .insert_header((CONTENT_TYPE, "application/json"))
                .streaming(stream);
            Ok(ServiceResponse::new(req, dropped.map_into_boxed_body()))
        }
        Some(FaultKind::Latency { .. }) => next.call(req).await,
    }
}

/// Sets `Date` to Pipeliner's clock, as the real service sends it; clients start their
/// next pull from it.
fn with_date(mut res: ServiceResponse<BoxBody>, now: DateTime<Utc>) -> ServiceResponse<BoxBody> {
    let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = HeaderValue::from_str(&date) {
        res.headers_mut().insert(DATE, value);
    }
    res
}

fn with_retry_after(mut resp: HttpResponse, secs: Option<u64>) -> HttpResponse {
    if let Some(v) = secs.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        resp.headers_mut().insert(RETRY_AFTER, v);
    }
    resp
}

/// The route name of a REST request, from its method and the path after
/// `/api/v100/rest/spaces/{space_id}`.
pub(crate) fn route_name(method: &str, rest: &str) -> String {
    let parts: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let entity = match parts.as_slice() {
        ["entities", e, ..] => e.to_ascii_lowercase(),
        _ => return "other".into(),
    };
    let action = match (method, &parts[2..]) {
        ("GET", []) => "list",
        ("POST", []) => "create",
        ("POST", ["batch-modify"]) => "batch_modify",
        ("POST", ["batch-delete"]) => "batch_delete",
        ("POST", ["batch-restore"]) => "batch_restore",
        ("GET", [_]) => "get",
        ("PATCH", [_]) => "update",
        ("DELETE", [_]) => "delete",
        _ => "other",
    };
    format!("{entity}.{action}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_names_follow_method_and_path() {
        assert_eq!(route_name("GET", "entities/Contacts"), "contacts.list");
        assert_eq!(
            route_name("POST", "entities/Contacts/batch-modify"),
            "contacts.batch_modify"
        );
        assert_eq!(
            route_name("PATCH", "entities/Contacts/abc"),
            "contacts.update"
        );
        assert_eq!(route_name("GET", "entities/Clients"), "clients.list");
        assert_eq!(route_name("PUT", "nowhere"), "other");
    }
}
