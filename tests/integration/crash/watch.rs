//! Watching exsync work from outside: reading both simulators, arming a stall on an
//! upstream route and seeing it fire, waiting for a condition or a finished cycle, and
//! counting the writes that reached the upstreams.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use exsync::demo::world::PIPELINER_SPACE;
use exsync::sim::graph::{FaultKind, FaultRule};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::cards::Side;
use super::rig::{CrashRig, ANN, FOLDER, PATIENCE, STALL_MS, USER};

/// The Graph routes that write (`$batch` sub-requests count under their own route;
/// people's edits through the control handle are not requests and do not count).
const GRAPH_WRITES: [&str; 3] = ["contacts.create", "contacts.update", "contacts.delete"];
/// The Pipeliner routes that write.
const CRM_WRITES: [&str; 6] = [
    "contacts.batch_modify",
    "contacts.batch_delete",
    "contacts.batch_restore",
    "contacts.create",
    "contacts.update",
    "contacts.delete",
];

/// A stall armed on one route of one simulator.
#[derive(Debug, Clone)]
pub struct Armed {
    /// The simulator.
    pub side: Side,
    /// The route name.
    pub route: String,
}

/// A timestamp of the user's status.
fn time(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

impl CrashRig {
    /// The contacts of Ann's folder.
    pub fn exchange(&self) -> Vec<Value> {
        self.world.exchange_contacts(ANN, FOLDER)
    }

    /// The live Pipeliner contacts.
    pub fn crm(&self) -> Vec<Value> {
        self.world.crm_contacts()
    }

    /// Every Pipeliner contact ever created, deleted ones included.
    pub fn crm_with_deleted(&self) -> Vec<Value> {
        self.world
            .crm()
            .contacts(PIPELINER_SPACE, true)
            .unwrap_or_default()
    }

    /// The contacts of one side.
    pub fn contacts(&self, side: Side) -> Vec<Value> {
        match side {
            Side::Exchange => self.exchange(),
            Side::Crm => self.crm(),
        }
    }

    /// Requests served per write route, both simulators, e.g. `graph contacts.create`.
    pub fn writes(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let graph = self.world.graph().request_counts();
        for route in GRAPH_WRITES {
            out.insert(
                format!("graph {route}"),
                graph.get(route).copied().unwrap_or(0),
            );
        }
        let crm = self.world.crm().request_counts();
        for route in CRM_WRITES {
            out.insert(
                format!("pipeliner {route}"),
                crm.get(route).copied().unwrap_or(0),
            );
        }
        out
    }

    /// Arms a stall of the `skip + 1`-th request on `route` of `side`'s simulator from now.
    pub fn stall_next_write(&self, side: Side, route: &str, skip: u32) -> Armed {
        let rule = FaultRule {
            route: route.into(),
            kind: FaultKind::Stall { millis: STALL_MS },
            rate: 1.0,
            count: Some(1),
            skip,
        };
        match side {
            Side::Exchange => self.world.graph().add_fault(rule),
            Side::Crm => self.world.crm().add_fault(rule),
        }
        Armed {
            side,
            route: route.into(),
        }
    }

    /// Whether the armed stall fired: its rule has used up its one hit.
    pub fn has_stalled(&self, armed: &Armed) -> bool {
        let plan = match armed.side {
            Side::Exchange => self.world.graph().faults(),
            Side::Crm => self.world.crm().faults(),
        };
        plan.rules.iter().any(|r| {
            r.route == armed.route
                && matches!(r.kind, FaultKind::Stall { .. })
                && r.count == Some(0)
        })
    }

    /// Waits until the armed stall fired (false if it did not within `limit`), then until
    /// the stalled request's write shows in the simulator: the rule fires when the request
    /// arrives, the write follows. A request that writes nothing (a `$batch` of lookups)
    /// moves nothing, so that wait ends after a second.
    pub async fn wait_until_stalled(&self, armed: &Armed, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.has_stalled(armed) {
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mark = self.write_mark(armed.side);
        let settle = Instant::now() + Duration::from_secs(1);
        while self.write_mark(armed.side) == mark && Instant::now() < settle {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
    }

    /// Something that moves with every applied write of `side`: the folder's ids and
    /// change keys, or Pipeliner's newest revision.
    fn write_mark(&self, side: Side) -> String {
        match side {
            Side::Exchange => self
                .exchange()
                .iter()
                .map(|c| format!("{}:{}", c["id"], c["changeKey"]))
                .collect::<Vec<_>>()
                .join(","),
            Side::Crm => self
                .crm_with_deleted()
                .iter()
                .filter_map(|c| c["revision"].as_u64())
                .max()
                .unwrap_or(0)
                .to_string(),
        }
    }

    /// Polls `check` until it holds; after `limit` panics with what exsync says.
    pub async fn until(&self, what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !check() {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {limit:?} waiting until {what}\n{}",
                    self.explain().await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until Ann's first sync is done and no create is pending.
    pub async fn until_settled(&self, what: &str, limit: Duration) {
        self.until_user(what, limit, |u| {
            u["sync"]["initial_sync_done"] == true && u["sync"]["pending_creates"] == 0
        })
        .await;
    }

    /// Polls Ann's status until `check` holds; after `limit` panics.
    pub async fn until_user(&self, what: &str, limit: Duration, check: impl Fn(&Value) -> bool) {
        self.until_answer(USER, what, limit, check).await;
    }

    /// Polls `GET path` until `check` holds for its answer; after `limit` panics.
    pub async fn until_answer(
        &self,
        path: &str,
        what: &str,
        limit: Duration,
        check: impl Fn(&Value) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !check(&self.call(Method::GET, path, None).await.1) {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {limit:?} waiting until {what}\n{}",
                    self.explain().await
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asks for a sync of Ann and waits until a cycle that started after the request has
    /// finished and no other is running.
    pub async fn forced_sync(&self) {
        let (status, answer) = self.call(Method::POST, &format!("{USER}/sync"), None).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        let asked = time(&answer["status"]["sync_requested_at"]).expect("request time");
        self.until_user("a forced sync ran to its end", PATIENCE, |u| {
            let s = &u["status"];
            let (started, finished) = (
                time(&s["last_sync_started_at"]),
                time(&s["last_sync_finished_at"]),
            );
            s["sync_requested_at"].is_null()
                && started.is_some_and(|t| t >= asked)
                && finished.is_some_and(|f| started.is_some_and(|t| f >= t))
        })
        .await;
    }
}
