//! The HTTP face of the Graph simulator: every `/v1.0/…` request passes the bearer check,
//! the per-app-per-mailbox limits (4 concurrent requests, a request budget per window),
//! and the fault plan, then runs against the state.
//!
//! A `stall` (on the request, or on a `$batch` sub-request that ran) holds the complete
//! answer after the state lock is released; the request keeps its mailbox concurrency
//! slot while it waits, as a slow request to Graph would.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::batch;
use super::core::Core;
use super::errors::GraphFault;
use super::routes::{execute, route_name, segments};
use super::state::{State, Usage};
use super::subscriptions;
use crate::sim::faults::FaultKind;

/// Graph's per-app-per-mailbox concurrency limit.
pub const MAILBOX_CONCURRENCY: usize = 4;

fn page_size(req: &HttpRequest, default: usize) -> usize {
    req.headers()
        .get_all("Prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| {
            p.trim()
                .strip_prefix("odata.maxpagesize=")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(default)
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner().into_iter().collect())
        .unwrap_or_default()
}

/// Releases a mailbox's concurrency slot when the request ends, however it ends.
struct Slot<'a> {
    core: &'a Core,
    mailbox: Option<String>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Some(m) = &self.mailbox {
            if let Ok(mailbox) = self.core.state().mailbox(m) {
                mailbox.inflight = mailbox.inflight.saturating_sub(1);
            }
        }
    }
}

/// Takes one unit of the app's request budget for `mailbox`, or answers 429 with the
/// seconds until the window resets. Batched sub-requests each take their own unit, as Graph
/// evaluates them one by one.
pub(crate) fn take_budget(
    state: &mut State,
    client: &str,
    mailbox: &str,
    now: DateTime<Utc>,
) -> Result<(), GraphFault> {
    let (Some(limit), window) = (
        state.settings.budget_requests,
        state.settings.budget_window_secs,
    ) else {
        return Ok(());
    };
    let usage = state
        .usage
        .entry((client.to_owned(), mailbox.to_ascii_lowercase()))
        .or_insert(Usage {
            window_start: now,
            count: 0,
        });
    if now - usage.window_start >= chrono::Duration::seconds(window) {
        usage.window_start = now;
        usage.count = 0;
    }
    if usage.count >= limit {
        let left = (usage.window_start + chrono::Duration::seconds(window) - now)
            .num_seconds()
            .max(1);
        return Err(GraphFault::throttled(
            left as u64,
            "Application is over its MailboxRequests limit.",
        ));
    }
    usage.count += 1;
    Ok(())
}

/// Takes a concurrency slot and a unit of budget for the mailbox, or says why not.
fn admit<'a>(core: &'a Core, client: &str, mailbox: Option<&str>) -> Result<Slot<'a>, GraphFault> {
    let Some(m) = mailbox else {
        return Ok(Slot {
            core,
            mailbox: None,
        });
    };
    let now = core.now();
    let mut state = core.state();
    take_budget(&mut state, client, m, now)?;
    let Ok(found) = state.mailbox(m) else {
        return Ok(Slot {
            core,
            mailbox: None,
        });
    };
    if found.inflight >= MAILBOX_CONCURRENCY {
        return Err(GraphFault::throttled(
            1,
            "Application is over its MailboxConcurrency limit.",
        ));
    }
    found.inflight += 1;
    Ok(Slot {
        core,
        mailbox: Some(m.to_owned()),
    })
}

/// Every `/v1.0/…` request.
pub(crate) async fn handle(core: web::Data<Core>, req: HttpRequest, body: Bytes) -> HttpResponse {
    let path = req.match_info().get("tail").unwrap_or_default().to_owned();
    let segs = segments(&path);
    let method: reqwest::Method = req
        .method()
        .as_str()
        .parse()
        .unwrap_or(reqwest::Method::GET);
    let route = route_name(&method, &segs);
    let (tenant, client) = match super::auth::bearer(&core, &req) {
        Ok(who) => who,
        Err(fault) => return fault.response(),
    };
    let mailbox = segs
        .get(1)
        .filter(|_| segs.first().is_some_and(|s| s == "users"))
        .cloned();
    *core.state().requests.entry(route.into()).or_insert(0) += 1;
    let _slot = match admit(&core, &client, mailbox.as_deref()) {
        Ok(slot) => slot,
        Err(fault) => {
            core.state().throttled += 1;
            return fault.response();
        }
    };
    let decision = core.state().faults.decide(route);
    if decision.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(decision.latency_ms)).await;
    }
    match &decision.outcome {
        Some(FaultKind::Error {
            status,
            retry_after_secs,
        }) => {
            return GraphFault {
                retry_after: *retry_after_secs,
                ..GraphFault::new(*status, "ServiceUnavailable", "Simulated server error.")
            }
            .response()
        }
        Some(FaultKind::TooManyRequests { retry_after_secs }) => {
            core.state().throttled += 1;
            return GraphFault::throttled(*retry_after_secs, "Please retry again later.")
                .response();
        }
        _ => {}
    }
    let json: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return GraphFault::bad_request(format!("Invalid JSON body: {e}")).response(),
        }
    };
    let default_page = core.state().settings.default_page_size;
    let size = page_size(&req, default_page);
    let mut stall_ms = match decision.outcome {
        Some(FaultKind::Stall { millis }) => millis,
        _ => 0,
    };
    let result = match route {
        "batch" => batch::run(&core, &tenant, &client, &json, size).map(|answer| {
            stall_ms = stall_ms.max(answer.stall_ms);
            (200, answer.body)
        }),
        "subscriptions.create" => subscriptions::create(&core, &tenant, &json)
            .await
            .map(|a| (a.status, a.body)),
        _ => {
            let mut state = core.state();
            execute(
                &core,
                &mut state,
                &tenant,
                &method,
                &segs,
                &query(&req),
                size,
                &json,
            )
            .map(|answer| {
                core.notify(&state, &answer.notes);
                (answer.status, answer.body)
            })
        }
    };
    let response = match result {
        Ok((204, _)) => HttpResponse::NoContent().finish(),
        Ok((status, body)) => HttpResponse::build(
            actix_web::http::StatusCode::from_u16(status)
                .unwrap_or(actix_web::http::StatusCode::OK),
        )
        .json(body),
        Err(fault) => fault.response(),
    };
    if stall_ms > 0 {
        tokio::time::sleep(Duration::from_millis(stall_ms)).await;
    }
    match decision.outcome {
        Some(FaultKind::MalformedJson) => {
            let status = response.status();
            let bytes = response.into_body().try_into_bytes().unwrap_or_default();
            let cut = (bytes.len() / 2).max(1).min(bytes.len());
            HttpResponse::build(status)
                .content_type("application/json")
                .body(bytes.slice(..cut))
        }
        Some(FaultKind::DropConnection) => {
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("simulated dropped connection"))
            });
            HttpResponse::Ok()
                .content_type("application/json")
                .streaming(stream)
        }
        _ => response,
    }
}
