//! The simulator's shared core: state behind a lock, the clock, the base URL, and the
//! queue of change notifications waiting to be delivered.

use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::state::{graph_time, State};
use crate::clock::SharedClock;
use crate::sim::faults::FaultState;

/// One POST to a subscriber.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    pub url: String,
    pub body: Value,
}

/// A delivery as logged for the control API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotificationRecord {
    /// The subscription.
    pub subscription_id: String,
    /// `created`, `updated`, `deleted`, or a lifecycle event name.
    pub kind: String,
    /// `delivered`, `lost`, `failed` (no 2xx answer).
    pub outcome: String,
    /// Whether it was sent twice.
    pub duplicate: bool,
    /// How long it was held back.
    pub delayed_ms: u64,
}

/// Shared by the HTTP handlers, the control handle and the deliverer.
#[derive(Debug)]
pub(crate) struct Core {
    state: Mutex<State>,
    pub clock: SharedClock,
    base: Mutex<String>,
    queue: mpsc::UnboundedSender<Delivery>,
    receiver: Mutex<Option<mpsc::UnboundedReceiver<Delivery>>>,
    pub log: Mutex<Vec<NotificationRecord>>,
    pub http: reqwest::Client,
}

/// A change that subscribers hear about.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    pub mailbox: String,
    pub folder: String,
    pub contact: String,
    pub change_type: &'static str,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Core {
    pub fn new(seed: u64, clock: SharedClock) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        Self {
            state: Mutex::new(State::new(
                StdRng::seed_from_u64(seed),
                FaultState::new(seed),
            )),
            clock,
            base: Mutex::new(String::new()),
            queue,
            receiver: Mutex::new(Some(receiver)),
            log: Mutex::new(Vec::new()),
            http: reqwest::Client::new(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn set_base(&self, base: String) {
        *lock(&self.base) = base;
    }

    /// The server root, e.g. `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        lock(&self.base).clone()
    }

    /// The Graph version root.
    pub fn graph_url(&self) -> String {
        format!("{}/v1.0", self.base())
    }

    pub fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Delivery>> {
        lock(&self.receiver).take()
    }

    /// Queues notifications for `notes` to every live subscription on their folders.
    pub fn notify(&self, state: &State, notes: &[Note]) {
        let now = self.now();
        for note in notes {
            for sub in state.subscriptions.values() {
                if sub.mailbox != note.mailbox
                    || sub.folder != note.folder
                    || sub.expiration_date_time <= now
                {
                    continue;
                }
                let resource = format!("Users/{}/Contacts/{}", note.mailbox, note.contact);
                let body = json!({ "value": [{
                    "id": format!("n{}", note.contact.len()),
                    "subscriptionId": sub.id,
                    "subscriptionExpirationDateTime": graph_time(sub.expiration_date_time),
                    "clientState": sub.client_state,
                    "changeType": note.change_type,
                    "resource": resource,
                    "tenantId": sub.tenant,
                    "resourceData": {
                        "@odata.type": "#Microsoft.Graph.Contact",
                        "@odata.id": resource,
                        "id": note.contact,
                    },
                }]});
                let _ = self.queue.send(Delivery {
                    url: sub.notification_url.clone(),
                    body,
                });
            }
        }
    }

    /// Queues a lifecycle event for a subscription; `false` when it does not exist or has
    /// no lifecycle URL.
    pub fn lifecycle(&self, subscription: &str, event: &str) -> bool {
        let state = self.state();
        let Some(sub) = state.subscriptions.get(subscription) else {
            return false;
        };
        let Some(url) = sub.lifecycle_notification_url.clone() else {
            return false;
        };
        let body = json!({ "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time(sub.expiration_date_time),
            "tenantId": sub.tenant,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }]});
        self.queue.send(Delivery { url, body }).is_ok()
    }
}
