//! Settings changes end to end: a change of scope, sync type, folder or mapping, or a new
//! activation, applies to every contact at once through a reconciliation (both sides read
//! in full, planned under the new settings), shown in the user's status while it is due
//! or running. Widening brings contacts in (pairing by e-mail), narrowing removes them
//! from Exchange only and behind the mass-delete guard, new mappings copy existing values
//! by the written rule, a folder change leaves the old folder's contacts unlinked, and a
//! reconciliation that changes nothing writes nothing.

use std::time::Duration;

use exsync::demo::world::PIPELINER_SPACE;
use exsync::sim::faults::{FaultKind, FaultPlan, FaultRule};
use exsync::sim::pipeliner::FieldSeed;
use reqwest::Method;
use serde_json::{json, Value};

use super::rig::{settings, Rig, PATIENCE, SPACE};

mod mappings;
mod scope;
mod timing;

const ANN: &str = "ann@acme.example";

/// Write routes of the Pipeliner simulator.
const CRM_WRITES: &[&str] = &[
    "contacts.create",
    "contacts.update",
    "contacts.delete",
    "contacts.batch_modify",
    "contacts.batch_delete",
];

/// Write routes of the Graph simulator.
const GRAPH_WRITES: &[&str] = &[
    "batch",
    "contacts.create",
    "contacts.update",
    "contacts.delete",
];

fn writes(counts: std::collections::BTreeMap<String, u64>, routes: &[&str]) -> u64 {
    routes
        .iter()
        .map(|r| super::rig::served(counts.clone(), r))
        .sum()
}

fn emails(contacts: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = contacts
        .iter()
        .filter_map(|c| c["emailAddresses"][0]["address"].as_str())
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

fn crm_to_exchange(preference: &str, folder: &str) -> Value {
    let mut s = settings(
        "crm_to_exchange",
        true,
        json!({ "create": { "name": folder } }),
    );
    s["sync_preference"] = json!(preference);
    s
}

async fn patch(rig: &Rig, user: &str, body: Value) {
    let (status, answer) = rig
        .server
        .call(
            Method::PATCH,
            &format!("/api/v1/spaces/{SPACE}/users/{user}/settings"),
            Some(body),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

async fn sync_now(rig: &Rig, user: &str) {
    let (status, answer) = rig
        .server
        .post_empty(&format!("/api/v1/spaces/{SPACE}/users/{user}/sync"))
        .await;
    assert!(status.is_success(), "{answer}");
}

/// Waits until the user's status satisfies `check`.
async fn until_status(rig: &Rig, user: &str, what: &str, check: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let status = rig.user(user).await;
        if check(&status) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "timed out waiting until {what}\n{status}\n{}",
                rig.explain(user).await
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Changes settings with `change` and checks that the status shows a reconciliation
/// for `changed` until it has run. Graph's delta answers are held meanwhile, so a cycle
/// that starts cannot commit before the status is read.
async fn shows_reconciliation<F: std::future::Future<Output = ()>>(
    rig: &Rig,
    user: &str,
    changed: Value,
    change: F,
) {
    rig.world.graph().add_fault(FaultRule {
        route: "delta".into(),
        kind: FaultKind::Latency { millis: 1000 },
        rate: 1.0,
        count: None,
        skip: 0,
    });
    change.await;
    until_status(rig, user, "the status shows the reconciliation", |s| {
        s["sync"]["reconciliation"]["changed"] == changed
    })
    .await;
    rig.world.graph().clear_faults();
}

/// Waits until the first sync is done and no reconciliation is due or running.
async fn settled(rig: &Rig, user: &str) {
    until_status(rig, user, "the sync has settled", |s| {
        s["sync"]["initial_sync_done"] == true
            && s["sync"]["reconciliation"].is_null()
            && s["status"]["last_sync_finished_at"].is_string()
    })
    .await;
}

/// The user's journal messages, oldest first.
async fn journal(rig: &Rig, user: &str) -> Vec<String> {
    let events = rig
        .server
        .get(&format!(
            "/api/v1/spaces/{SPACE}/users/{user}/events?limit=500"
        ))
        .await
        .1;
    events["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|e| e["message"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Ann owns one contact; Carl owns one shared with Ann and one he keeps to himself; Ann's
/// folder `CRM` already holds her own copy of the shared contact, typed in by her.
fn shared_world(rig: &Rig) -> String {
    let ann = rig.world.add_person(ANN);
    let carl = rig.world.add_person("carl@acme.example");
    rig.world
        .crm_create(json!({ "owner_id": ann, "last_name": "Own", "email1": "own@example.com" }));
    let shared = rig.world.crm_create(
        json!({ "owner_id": carl, "first_name": "Pal", "last_name": "Shared", "email1": "pal@example.com" }),
    );
    rig.world
        .crm()
        .share_contact(PIPELINER_SPACE, &shared, &ann, 1)
        .unwrap();
    rig.world.crm_create(
        json!({ "owner_id": carl, "last_name": "Hidden", "email1": "hidden@example.com" }),
    );
    let folder = rig.world.graph().create_folder(ANN, "CRM").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.world
        .graph()
        .create_contact(
            ANN,
            &folder,
            json!({ "givenName": "Pal", "surname": "Shared",
                    "emailAddresses": [{ "address": "pal@example.com" }] }),
        )
        .unwrap();
    shared
}

/// Adds the custom field `cf_department` to the Pipeliner space.
fn add_department_field(rig: &Rig) {
    rig.world
        .crm()
        .set_field(
            PIPELINER_SPACE,
            FieldSeed {
                api_name: "cf_department".into(),
                ..Default::default()
            },
        )
        .unwrap();
}

/// The space's custom mappings with one mapping: Graph `department` ↔ `cf_department`.
fn department_mapping() -> Value {
    json!({ "custom": [{ "name": "department", "exchange": "department", "pipeliner": "cf_department" }] })
}
