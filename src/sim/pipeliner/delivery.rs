//! Sending webhook deliveries: the `WebHook-Signature` (hex HMAC-SHA256 of the body
//! keyed by the webhook's signature UUID) and the background task that POSTs them with
//! reqwest, losing, delaying or duplicating them when the fault plan says so.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::core::{lock, Core};
use crate::sim::faults::DeliveryDecision;

/// Header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "WebHook-Signature";

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
