//! The state shared by the REST handlers, the control handle and the webhook deliverer:
//! the data behind one mutex, the clock, the fault plan, the normalise-on-create switch,
//! the queue of webhook deliveries and the log of what happened to each delivery.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use crate::clock::SharedClock;

use super::delivery::{Delivery, DeliveryRecord};
use super::state::{whole_seconds, SimState};
use crate::sim::faults::FaultState;

/// How many delivery records the log keeps (oldest dropped first).
const DELIVERY_LOG_LIMIT: usize = 10_000;

/// Everything one simulator instance owns.
#[derive(Debug)]
pub(crate) struct Core {
    state: Mutex<SimState>,
    clock: SharedClock,
    pub faults: Mutex<FaultState>,
    /// REST requests served per route (`contacts.list`, …), and 429s given as `throttled`.
    pub requests: Mutex<std::collections::BTreeMap<String, u64>>,
    service_url: Mutex<String>,
    deliveries_tx: mpsc::UnboundedSender<Delivery>,
    deliveries_rx: Mutex<Option<mpsc::UnboundedReceiver<Delivery>>>,
    delivery_log: Mutex<Vec<DeliveryRecord>>,
    /// Whether creates store normalised values (see `normalize.rs`).
    normalize_on_create: AtomicBool,
}

/// Locks `m`, recovering the data if a panicking holder poisoned it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Core {
    /// A fresh simulator core for `seed`.
    pub fn new(seed: u64, clock: SharedClock) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            state: Mutex::new(SimState::new(seed)),
            clock,
            faults: Mutex::new(FaultState::new(seed)),
            requests: Mutex::new(std::collections::BTreeMap::new()),
            service_url: Mutex::new("http://127.0.0.1".into()),
            deliveries_tx: tx,
            deliveries_rx: Mutex::new(Some(rx)),
            delivery_log: Mutex::new(Vec::new()),
            normalize_on_create: AtomicBool::new(false),
        }
    }

    /// The data, locked. Never hold it across an `.await`.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        lock(&self.state)
    }

    /// Now, in whole seconds, from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        whole_seconds(self.clock.now())
    }

    /// Sets the URL the server is reachable at (used in entity URIs).
    pub fn set_service_url(&self, url: String) {
        *lock(&self.service_url) = url;
    }

    /// The service URL, e.g. `http://127.0.0.1:4321`.
    pub fn service_url(&self) -> String {
        lock(&self.service_url).clone()
    }

    /// The REST base of a space: `<service>/api/v100/rest/spaces/<id>`.
    pub fn space_base(&self, space_id: &str) -> String {
        format!("{}/api/v100/rest/spaces/{space_id}", self.service_url())
    }

    /// Queues webhook deliveries for the deliverer.
    pub fn dispatch(&self, deliveries: Vec<Delivery>) {
        for d in deliveries {
            // The receiver only goes away when the simulator is dropped.
            let _ = self.deliveries_tx.send(d);
        }
    }

    /// Takes the delivery queue's receiving end (once, when the server starts).
    pub fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Delivery>> {
        lock(&self.deliveries_rx).take()
    }

    /// Appends to the delivery log.
    pub fn log_delivery(&self, record: DeliveryRecord) {
        let mut log = lock(&self.delivery_log);
        if log.len() >= DELIVERY_LOG_LIMIT {
            log.remove(0);
        }
        log.push(record);
    }

    /// A copy of the delivery log.
    pub fn delivery_log(&self) -> Vec<DeliveryRecord> {
        lock(&self.delivery_log).clone()
    }

    /// Whether creates store normalised values.
    pub fn normalize_on_create(&self) -> bool {
        self.normalize_on_create.load(Ordering::SeqCst)
    }

    /// Switches normalising creates on or off.
    pub fn set_normalize_on_create(&self, enabled: bool) {
        self.normalize_on_create.store(enabled, Ordering::SeqCst);
    }
}
