//! Webhook deliveries: which webhooks an event reaches (events, skip keys), the JSON
//! array body (`webhook`, `event`, `event_time`, `team_space_id`, `entity`), chunking by
//! `options.chunk_size`, the `WebHook-Signature` (hex HMAC-SHA256 of the body keyed by
//! the webhook's signature UUID), and the background task that POSTs them with reqwest,
//! losing, delaying or duplicating them when the fault plan says so.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::core::{lock, Core};
use super::faults::DeliveryDecision;
use super::query::{load_only, matches, Filter};
use super::state::{format_time, Space, WebhookRecord};
use super::webhooks::render_webhook;

/// Header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "WebHook-Signature";
/// Largest (and default) number of events in one delivery.
const MAX_CHUNK: usize = 100;

/// One POST to a webhook's URL.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub webhook_id: String,
    pub url: String,
    pub signature: Option<String>,
    pub insecure_ssl: bool,
    pub event_count: usize,
    pub body: Vec<u8>,
}

/// What happened to one delivery, as the control API reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Id of the webhook the delivery was for.
    pub webhook_id: String,
    /// Target URL.
    pub url: String,
    /// Number of events in the body.
    pub event_count: usize,
    /// `delivered` (any HTTP answer), `lost` (dropped by a fault), or `failed`
    /// (no HTTP answer).
    pub outcome: String,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Whether this was the extra copy of a duplicated delivery.
    pub duplicate: bool,
    /// Delay applied before sending, in milliseconds.
    pub delayed_ms: u64,
}

/// Hex HMAC-SHA256 of `body` keyed by `signature` (the webhook's UUID, as text).
pub fn sign(signature: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(signature.as_bytes()) {
        Ok(mac) => mac,
        // HMAC accepts keys of any length.
        Err(_) => return String::new(),
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One change, as webhooks see it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    /// E.g. `Contact.Update`.
    pub name: &'static str,
    /// The rendered entity.
    pub entity: Value,
    /// Users allowed to see a private entity; `None` when everyone may.
    pub audience: Option<Vec<String>>,
    /// Fields an update changed (`None` for creates and deletes).
    pub changed: Option<Vec<String>>,
}

/// The deliveries that `events` cause in `space`.
pub(crate) fn events_for(
    space: &Space,
    base: &str,
    events: &[Event],
    skip_key: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Delivery> {
    let mut out = Vec::new();
    if events.is_empty() {
        return out;
    }
    let mut hooks: Vec<_> = space.webhooks.values().filter(|w| !w.is_deleted).collect();
    hooks.sort_by_key(|w| w.seq);
    for hook in hooks {
        if skip_key.is_some_and(|k| hook.skip_keys().contains(&k)) {
            continue;
        }
        let rendered_hook = render_webhook(base, hook);
        let payloads: Vec<Value> = events
            .iter()
            .filter(|e| hook.listens_to(e.name) && wants(hook, e))
            .map(|e| {
                json!({
                    "webhook": rendered_hook,
                    "event": e.name,
                    "event_time": format_time(now),
                    "team_space_id": space.id,
                    "entity": shape(hook, e),
                    "related_entity": null,
                })
            })
            .collect();
        let chunk = hook
            .options
            .get("chunk_size")
            .and_then(Value::as_u64)
            .map_or(MAX_CHUNK, |n| (n as usize).clamp(1, MAX_CHUNK));
        for part in payloads.chunks(chunk) {
            out.push(Delivery {
                webhook_id: hook.id.clone(),
                url: hook.url.clone(),
                signature: hook.signature.clone(),
                insecure_ssl: hook.insecure_ssl,
                event_count: part.len(),
                body: Value::Array(part.to_vec()).to_string().into_bytes(),
            });
        }
    }
    out
}

/// `options.entity.<Entity>` of a webhook, for the entity an event is about.
fn entity_options<'a>(hook: &'a WebhookRecord, event: &str) -> Option<&'a Value> {
    let entity = event.split('.').next()?;
    hook.options.get("entity")?.get(entity)
}

/// Whether a webhook is told about an event: the webhook's client may see the entity,
/// the entity passes `filter`/`filter-op`, and an update touched an `on-field-change`
/// field.
fn wants(hook: &WebhookRecord, e: &Event) -> bool {
    if let (Some(client), Some(audience)) = (&hook.client_id, &e.audience) {
        if !audience.contains(client) {
            return false;
        }
    }
    let Some(opts) = entity_options(hook, e.name) else {
        return true;
    };
    if let (Some(watch), Some(changed)) = (
        opts.get("on-field-change").and_then(Value::as_array),
        &e.changed,
    ) {
        if !watch
            .iter()
            .filter_map(Value::as_str)
            .any(|f| changed.iter().any(|c| c == f))
        {
            return false;
        }
    }
    let ops = opts.get("filter-op");
    opts.get("filter")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(field, wanted)| {
            let op = ops
                .and_then(|o| o.get(field))
                .and_then(Value::as_str)
                .unwrap_or("eq");
            let have = e.entity.get(field).cloned().unwrap_or(Value::Null);
            let values: Vec<String> = match wanted {
                Value::Array(items) => items.iter().map(plain).collect(),
                other => vec![plain(other)],
            };
            values.into_iter().any(|value| {
                let filter = Filter {
                    field: field.clone(),
                    op: op.to_owned(),
                    value,
                };
                matches(&have, &filter).unwrap_or(false)
            })
        })
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Applies `options.entity.<Entity>.load-only` to the entity sent.
fn shape(hook: &WebhookRecord, e: &Event) -> Value {
    let fields: Option<Vec<String>> = entity_options(hook, e.name)
        .and_then(|o| o.get("load-only"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    load_only(e.entity.clone(), fields.as_ref())
}

/// Sends queued deliveries until the queue closes or the task is aborted.
pub(crate) async fn run(core: Arc<Core>, mut rx: mpsc::UnboundedReceiver<Delivery>) {
    let clients = Clients::new();
    while let Some(delivery) = rx.recv().await {
        let decision = lock(&core.faults).delivery_decision();
        if decision.lose {
            core.log_delivery(record(&delivery, "lost", None, false, 0));
            continue;
        }
        if decision.delay_ms > 0 {
            let (core, clients) = (core.clone(), clients.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(decision.delay_ms)).await;
                send_all(&core, &clients, &delivery, decision).await;
            });
        } else {
            send_all(&core, &clients, &delivery, decision).await;
        }
    }
}

async fn send_all(core: &Core, clients: &Clients, d: &Delivery, decision: DeliveryDecision) {
    send(core, clients, d, false, decision.delay_ms).await;
    if decision.duplicate {
        send(core, clients, d, true, decision.delay_ms).await;
    }
}

async fn send(core: &Core, clients: &Clients, d: &Delivery, duplicate: bool, delayed_ms: u64) {
    let client = if d.insecure_ssl {
        &clients.insecure
    } else {
        &clients.secure
    };
    let mut req = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(d.body.clone());
    if let Some(sig) = &d.signature {
        req = req.header(SIGNATURE_HEADER, sign(sig, &d.body));
    }
    let rec = match req.send().await {
        Ok(resp) => record(
            d,
            "delivered",
            Some(resp.status().as_u16()),
            duplicate,
            delayed_ms,
        ),
        Err(_) => record(d, "failed", None, duplicate, delayed_ms),
    };
    core.log_delivery(rec);
}

fn record(
    d: &Delivery,
    outcome: &str,
    status: Option<u16>,
    duplicate: bool,
    delayed_ms: u64,
) -> DeliveryRecord {
    DeliveryRecord {
        webhook_id: d.webhook_id.clone(),
        url: d.url.clone(),
        event_count: d.event_count,
        outcome: outcome.into(),
        status,
        duplicate,
        delayed_ms,
    }
}

/// One HTTP client that verifies TLS and one that does not (`insecure_ssl`).
#[derive(Clone)]
struct Clients {
    secure: reqwest::Client,
    insecure: reqwest::Client,
}

impl Clients {
    fn new() -> Self {
        let build = |insecure: bool| {
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .danger_accept_invalid_certs(insecure)
                .build()
                .unwrap_or_default()
        };
        Self {
            secure: build(false),
            insecure: build(true),
        }
    }
}
