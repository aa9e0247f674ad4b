//! `POST /$batch`: up to 20 sub-requests, each answered on its own inside a 200. Fault
//! rules for a sub-request's route apply to that sub-request (429s carry their own
//! `Retry-After`), and with strict batch concurrency the fifth and later sub-requests for
//! a mailbox answer 429 as when the mailbox is busy. Each sub-request for a mailbox takes
//! its own unit of the app's request budget for that mailbox.
//!
//! A `stall` on a sub-request that runs holds the whole batch answer (there is only one):
//! every sub-request is applied first, then the answer waits for the longest such stall.
//! `latency`, `malformed_json` and `drop_connection` apply to top-level requests only.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::{json, Value};

use super::api::take_budget;
use super::core::Core;
use super::errors::GraphFault;
use super::routes::{execute, route_name, segments};
use crate::sim::faults::FaultKind;

/// Graph's limit.
pub const MAX_REQUESTS: usize = 20;

fn split_url(url: &str) -> (String, HashMap<String, String>) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query = reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    (path.to_owned(), query)
}

/// A batch's answer and how long to hold it.
pub(crate) struct BatchAnswer {
    /// `{"responses": [...]}`.
    pub body: Value,
    /// The longest `stall` of a sub-request that ran, in milliseconds (0 for none).
    pub stall_ms: u64,
}

/// Runs a batch and queues the notifications its writes cause.
pub(crate) fn run(
    core: &Core,
    tenant: &str,
    client: &str,
    body: &Value,
    page_size: usize,
) -> Result<BatchAnswer, GraphFault> {
    let requests = body["requests"]
        .as_array()
        .ok_or_else(|| GraphFault::new(400, "BadRequest", "Invalid batch payload format."))?;
    if requests.len() > MAX_REQUESTS {
        return Err(GraphFault::new(
            400,
            "BadRequest",
            format!("The number of batch requests exceeds the maximum of {MAX_REQUESTS}."),
        ));
    }
    let mut responses = Vec::new();
    let mut notes: Vec<super::core::Note> = Vec::new();
    let mut per_mailbox: HashMap<String, usize> = HashMap::new();
    let mut stall_ms = 0;
    let now = core.now();
    let mut state = core.state();
    for request in requests {
        let id = request["id"].as_str().unwrap_or_default().to_owned();
        let method = request["method"]
            .as_str()
            .and_then(|m| m.parse::<Method>().ok());
        let url = request["url"].as_str();
        let (Some(method), Some(url)) = (method, url) else {
            return Err(GraphFault::new(
                400,
                "BadRequest",
                "Each batch request needs id, method and url.",
            ));
        };
        let (path, query) = split_url(url);
        let segs = segments(&path);
        let route = route_name(&method, &segs);
        *state.requests.entry(route.into()).or_insert(0) += 1;
        let mailbox = segs
            .get(1)
            .filter(|_| segs.first().is_some_and(|s| s == "users"))
            .map(|m| m.to_ascii_lowercase());
        let lane = mailbox.as_ref().map(|m| {
            let n = per_mailbox.entry(m.clone()).or_insert(0);
            *n += 1;
            *n
        });
        let strict = state.settings.strict_batch_concurrency;
        let fault = state.faults.decide(route).outcome;
        let stall = match &fault {
            Some(FaultKind::Stall { millis }) => *millis,
            _ => 0,
        };
        let budget = match &mailbox {
            Some(m) => take_budget(&mut state, client, m, now),
            None => Ok(()),
        };
        let result = match (budget, fault, lane) {
            (Err(fault), _, _) => Err(fault),
            (_, Some(FaultKind::TooManyRequests { retry_after_secs }), _) => {
                Err(GraphFault::throttled(
                    retry_after_secs,
                    "Application is over its MailboxConcurrency limit.",
                ))
            }
            (
                _,
                Some(FaultKind::Error {
                    status,
                    retry_after_secs,
                }),
                _,
            ) => Err(GraphFault {
                retry_after: retry_after_secs,
                ..GraphFault::new(status, "ServiceUnavailable", "Simulated server error.")
            }),
            (_, _, Some(lane)) if strict && lane > 4 => Err(GraphFault::throttled(
                1,
                "Application is over its MailboxConcurrency limit.",
            )),
            _ => {
                stall_ms = stall_ms.max(stall);
                execute(
                    core,
                    &mut state,
                    tenant,
                    &method,
                    &segs,
                    &query,
                    page_size,
                    &request["body"],
                )
            }
        };
        if matches!(&result, Err(fault) if fault.status == 429) {
            state.throttled += 1;
        }
        responses.push(match result {
            Ok(answer) => {
                notes.extend(answer.notes);
                json!({ "id": id, "status": answer.status, "headers": { "Content-Type": "application/json" }, "body": answer.body })
            }
            Err(fault) => {
                let mut headers = json!({ "Content-Type": "application/json" });
                if let Some(secs) = fault.retry_after {
                    headers["Retry-After"] = json!(secs.to_string());
                }
                json!({ "id": id, "status": fault.status, "headers": headers, "body": fault.body() })
            }
        });
    }
    core.notify(&state, &notes);
    Ok(BatchAnswer {
        body: json!({ "responses": responses }),
        stall_ms,
    })
}
