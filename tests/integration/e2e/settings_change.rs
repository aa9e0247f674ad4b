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

#[actix_web::test]
async fn widening_and_narrowing_the_scope_back_and_forth_applies_to_every_contact() {
    let rig = Rig::without_ticks(71).await;
    shared_world(&rig);
    assert_eq!(
        rig.activate("ann", ANN, crm_to_exchange("owned", "CRM"))
            .await
            .0,
        201
    );
    settled(&rig, "ann").await;
    assert_eq!(
        emails(&rig.world.exchange_contacts(ANN, "CRM")),
        ["own@example.com", "pal@example.com"],
        "owned: Ann's own contact, and her own copy of Pal left alone"
    );
    let crm_before = rig.world.crm_contacts();
    let crm_writes = writes(rig.world.crm().request_counts(), CRM_WRITES);

    for round in 0..2 {
        // Widen: the shared contact was not edited since, and still arrives at once; the
        // copy already in the folder is paired by e-mail instead of duplicated.
        shows_reconciliation(
            &rig,
            "ann",
            json!(["sync_preference"]),
            patch(&rig, "ann", json!({ "sync_preference": "accessible" })),
        )
        .await;
        settled(&rig, "ann").await;
        assert_eq!(
            emails(&rig.world.exchange_contacts(ANN, "CRM")),
            ["own@example.com", "pal@example.com"],
            "round {round}: Pal paired or brought in once, never the hidden contact"
        );
        let linked = rig
            .server
            .get(&format!("/api/v1/spaces/{SPACE}/users/ann/links"))
            .await
            .1;
        assert_eq!(
            linked["items"].as_array().map(Vec::len),
            Some(2),
            "round {round}: both contacts linked: {linked}"
        );

        // Narrow: what left the scope goes from the folder, as an unshare does. The
        // first time, its delete is held on the way so the status shows it running.
        if round == 0 {
            rig.world.graph().add_fault(FaultRule {
                route: "batch".into(),
                kind: FaultKind::Latency { millis: 1000 },
                rate: 1.0,
                count: Some(1),
                skip: 0,
            });
        }
        patch(&rig, "ann", json!({ "sync_preference": "owned" })).await;
        if round == 0 {
            until_status(&rig, "ann", "the reconciliation shows as running", |s| {
                s["sync"]["reconciliation"]["stage"] == "running"
                    && s["summary"]
                        .as_str()
                        .is_some_and(|m| m.contains("sync_preference"))
            })
            .await;
        }
        settled(&rig, "ann").await;
        assert_eq!(
            emails(&rig.world.exchange_contacts(ANN, "CRM")),
            ["own@example.com"],
            "round {round}: the shared contact left the folder"
        );
    }
    assert_eq!(
        writes(rig.world.crm().request_counts(), CRM_WRITES),
        crm_writes,
        "Pipeliner is never written"
    );
    assert_eq!(rig.world.crm_contacts(), crm_before, "nor changed");
    assert!(journal(&rig, "ann")
        .await
        .iter()
        .any(|m| m.contains("Paired by e-mail on a reconciliation")));
    rig.stop().await;
}

#[actix_web::test]
async fn a_narrowing_over_the_threshold_waits_for_an_admin() {
    let rig = Rig::without_ticks(72).await;
    let ann = rig.world.add_person(ANN);
    let carl = rig.world.add_person("carl@acme.example");
    rig.world
        .crm_create(json!({ "owner_id": ann, "last_name": "Own", "email1": "own@example.com" }));
    for n in 0..60 {
        let id = rig.world.crm_create(
            json!({ "owner_id": carl, "last_name": format!("Shared {n}"),
            "email1": format!("shared{n}@example.com") }),
        );
        rig.world
            .crm()
            .share_contact(PIPELINER_SPACE, &id, &ann, 1)
            .unwrap();
    }
    rig.activate("ann", ANN, crm_to_exchange("accessible", "CRM"))
        .await;
    settled(&rig, "ann").await;
    assert_eq!(rig.world.exchange_contacts(ANN, "CRM").len(), 61);

    patch(&rig, "ann", json!({ "sync_preference": "owned" })).await;
    until_status(&rig, "ann", "the guard stops the narrowing", |s| {
        s["state"] == "needs_confirmation"
            && s["sync"]["reconciliation"]["stage"] == "needs_confirmation"
    })
    .await;
    assert_eq!(
        rig.world.exchange_contacts(ANN, "CRM").len(),
        61,
        "nothing removed before the confirmation"
    );
    let (status, answer) = rig
        .server
        .post_empty(&format!("/api/v1/spaces/{SPACE}/users/ann/deletes/confirm"))
        .await;
    assert!(status.is_success(), "{answer}");
    settled(&rig, "ann").await;
    assert_eq!(
        emails(&rig.world.exchange_contacts(ANN, "CRM")),
        ["own@example.com"]
    );
    assert_eq!(rig.world.crm_contacts().len(), 61, "Pipeliner keeps all");
    rig.stop().await;
}

#[actix_web::test]
async fn a_sync_type_change_brings_in_what_the_new_direction_syncs() {
    let rig = Rig::without_ticks(73).await;
    let ann = rig.world.add_person(ANN);
    rig.world
        .crm_create(json!({ "owner_id": ann, "last_name": "Crm", "email1": "crm@example.com" }));
    let folder = rig.world.graph().create_folder(ANN, "CRM").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.world
        .graph()
        .create_contact(
            ANN,
            &folder,
            json!({ "surname": "Exchange", "emailAddresses": [{ "address": "ex@example.com" }] }),
        )
        .unwrap();
    rig.activate(
        "ann",
        ANN,
        settings("exchange_to_crm", true, json!({ "existing": folder })),
    )
    .await;
    settled(&rig, "ann").await;
    assert_eq!(
        emails(&rig.world.exchange_contacts(ANN, "CRM")),
        ["ex@example.com"]
    );
    assert_eq!(rig.world.crm_contacts().len(), 2);

    patch(&rig, "ann", json!({ "sync_type": "bidirectional" })).await;
    settled(&rig, "ann").await;
    assert_eq!(
        emails(&rig.world.exchange_contacts(ANN, "CRM")),
        ["crm@example.com", "ex@example.com"],
        "Ann's Pipeliner contact arrives, nothing is duplicated"
    );
    assert_eq!(rig.world.crm_contacts().len(), 2);

    // And back: nothing leaves, nothing is written.
    let graph_writes = writes(rig.world.graph().request_counts(), GRAPH_WRITES);
    patch(&rig, "ann", json!({ "sync_type": "exchange_to_crm" })).await;
    settled(&rig, "ann").await;
    assert_eq!(rig.world.exchange_contacts(ANN, "CRM").len(), 2);
    assert_eq!(
        writes(rig.world.graph().request_counts(), GRAPH_WRITES),
        graph_writes
    );
    rig.stop().await;
}

#[actix_web::test]
async fn a_new_mapping_copies_existing_values_by_the_written_rule_and_a_removed_one_keeps_them() {
    let rig = Rig::without_ticks(74).await;
    let ann = rig.world.add_person(ANN);
    add_department_field(&rig);
    let crm_id = |email: &str| {
        rig.world
            .crm_contacts()
            .into_iter()
            .find(|c| c["email1"] == email)
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .unwrap()
    };
    for (name, department) in [("a", Some("Sales")), ("b", None), ("c", Some("Legal"))] {
        let mut body =
            json!({ "owner_id": ann, "last_name": name, "email1": format!("{name}@example.com") });
        if let Some(d) = department {
            body["cf_department"] = json!(d);
        }
        rig.world.crm_create(body);
    }
    rig.activate(
        "ann",
        ANN,
        settings(
            "bidirectional",
            true,
            json!({ "create": { "name": "CRM" } }),
        ),
    )
    .await;
    settled(&rig, "ann").await;
    let exchange_id = |email: &str| {
        rig.world
            .exchange_contacts(ANN, "CRM")
            .into_iter()
            .find(|c| c["emailAddresses"][0]["address"] == email)
            .and_then(|c| c["id"].as_str().map(str::to_owned))
            .unwrap()
    };
    // Values typed into Exchange while the field was not mapped.
    for (email, department) in [("b@example.com", "Ops"), ("c@example.com", "Finance")] {
        rig.world
            .graph()
            .update_contact(
                ANN,
                &exchange_id(email),
                json!({ "department": department }),
            )
            .unwrap();
    }
    shows_reconciliation(&rig, "ann", json!(["field_mappings"]), async {
        let (status, answer) = rig
            .server
            .put(
                &format!("/api/v1/spaces/{SPACE}/field-mappings"),
                department_mapping(),
            )
            .await;
        assert_eq!(status, 200, "{answer}");
    })
    .await;
    sync_now(&rig, "ann").await;
    settled(&rig, "ann").await;
    let department = |email: &str| {
        let e = rig
            .world
            .exchange_contacts(ANN, "CRM")
            .into_iter()
            .find(|c| c["emailAddresses"][0]["address"] == email)
            .unwrap();
        let c = rig
            .world
            .crm()
            .contact(PIPELINER_SPACE, &crm_id(email))
            .unwrap()
            .unwrap();
        (
            e["department"].as_str().map(str::to_owned),
            c["cf_department"].as_str().map(str::to_owned),
        )
    };
    let both = |v: &str| (Some(v.to_owned()), Some(v.to_owned()));
    assert_eq!(department("a@example.com"), both("Sales"), "to Exchange");
    assert_eq!(department("b@example.com"), both("Ops"), "to Pipeliner");
    assert_eq!(
        department("c@example.com"),
        both("Legal"),
        "two values: Pipeliner's, with bidirectional"
    );
    let lines = journal(&rig, "ann").await;
    let decisions: Vec<_> = lines
        .iter()
        .filter(|m| m.starts_with("New mapping department"))
        .collect();
    assert_eq!(decisions.len(), 3, "one line per decision: {decisions:?}");

    // Removed: both sides keep their values, even where they differ afterwards.
    rig.world
        .graph()
        .update_contact(
            ANN,
            &exchange_id("a@example.com"),
            json!({ "department": "Typed" }),
        )
        .unwrap();
    rig.server
        .put(
            &format!("/api/v1/spaces/{SPACE}/field-mappings"),
            json!({ "custom": [] }),
        )
        .await;
    sync_now(&rig, "ann").await;
    settled(&rig, "ann").await;
    assert_eq!(
        department("a@example.com"),
        (Some("Typed".into()), Some("Sales".into()))
    );
    assert_eq!(department("b@example.com"), both("Ops"));
    rig.stop().await;
}

#[actix_web::test]
async fn a_folder_change_moves_the_sync_and_leaves_the_old_folder_unlinked() {
    let rig = Rig::without_ticks(75).await;
    let ann = rig.world.add_person(ANN);
    let first = rig.world.crm_create(
        json!({ "owner_id": ann, "last_name": "First", "email1": "first@example.com" }),
    );
    rig.world.crm_create(
        json!({ "owner_id": ann, "last_name": "Second", "email1": "second@example.com" }),
    );
    rig.activate(
        "ann",
        ANN,
        settings(
            "bidirectional",
            false,
            json!({ "create": { "name": "CRM" } }),
        ),
    )
    .await;
    settled(&rig, "ann").await;
    let both = ["first@example.com", "second@example.com"];
    assert_eq!(emails(&rig.world.exchange_contacts(ANN, "CRM")), both);

    patch(
        &rig,
        "ann",
        json!({ "folder": { "create": { "name": "Clients" } } }),
    )
    .await;
    settled(&rig, "ann").await;
    assert_eq!(emails(&rig.world.exchange_contacts(ANN, "Clients")), both);
    assert_eq!(
        emails(&rig.world.exchange_contacts(ANN, "CRM")),
        both,
        "the old folder's contacts are left where they are"
    );

    // The old folder is no longer synced: a delete there is not passed on, and a
    // Pipeliner edit reaches the new folder only.
    let old = rig.world.exchange_contacts(ANN, "CRM");
    let second_old = old
        .iter()
        .find(|c| c["emailAddresses"][0]["address"] == "second@example.com")
        .and_then(|c| c["id"].as_str())
        .unwrap();
    rig.world.graph().delete_contact(ANN, second_old).unwrap();
    rig.world.crm_update(&first, json!({ "position": "CFO" }));
    rig.until("ann", "the edit reaches the new folder", || {
        rig.world
            .exchange_contacts(ANN, "Clients")
            .iter()
            .any(|c| c["jobTitle"] == "CFO")
    })
    .await;
    sync_now(&rig, "ann").await;
    settled(&rig, "ann").await;
    assert_eq!(
        rig.world.crm_contacts().len(),
        2,
        "nothing deleted in Pipeliner"
    );
    assert!(rig
        .world
        .exchange_contacts(ANN, "CRM")
        .iter()
        .all(|c| c["jobTitle"].is_null()));

    // Back to the old folder: its copies are paired by e-mail again, not duplicated,
    // and the one deleted there meanwhile is created again from Pipeliner.
    patch(
        &rig,
        "ann",
        json!({ "folder": { "create": { "name": "CRM" } } }),
    )
    .await;
    settled(&rig, "ann").await;
    assert_eq!(emails(&rig.world.exchange_contacts(ANN, "CRM")), both);
    assert_eq!(emails(&rig.world.exchange_contacts(ANN, "Clients")), both);
    assert_eq!(rig.world.crm_contacts().len(), 2);
    rig.stop().await;
}

#[actix_web::test]
async fn a_reactivation_reconciles_and_a_reconciliation_that_changes_nothing_writes_nothing() {
    let rig = Rig::without_ticks(76).await;
    let ann = rig.world.add_person(ANN);
    for n in 0..5 {
        rig.world
            .crm_create(json!({ "owner_id": ann, "last_name": format!("P{n}"),
            "email1": format!("p{n}@example.com") }));
    }
    let ann_settings = settings(
        "bidirectional",
        true,
        json!({ "create": { "name": "CRM" } }),
    );
    rig.activate("ann", ANN, ann_settings.clone()).await;
    settled(&rig, "ann").await;
    let graph_counts = rig.world.graph().request_counts();
    let crm_counts = rig.world.crm().request_counts();
    let lines = journal(&rig, "ann").await.len();

    shows_reconciliation(&rig, "ann", json!(["activation"]), async {
        let (status, answer) = rig.activate("ann", ANN, ann_settings).await;
        assert_eq!(status, 200, "{answer}");
    })
    .await;
    settled(&rig, "ann").await;
    let graph_after = rig.world.graph().request_counts();
    assert!(
        super::rig::served(graph_after.clone(), "delta")
            > super::rig::served(graph_counts.clone(), "delta"),
        "the folder was read again"
    );
    assert_eq!(
        writes(graph_after, GRAPH_WRITES),
        writes(graph_counts, GRAPH_WRITES),
        "nothing written to Exchange"
    );
    assert_eq!(
        writes(rig.world.crm().request_counts(), CRM_WRITES),
        writes(crm_counts, CRM_WRITES),
        "nothing written to Pipeliner"
    );
    let after: Vec<String> = journal(&rig, "ann").await;
    assert!(
        after[lines..].iter().all(|m| m == "user reconfigured"),
        "no write journaled: {:?}",
        &after[lines..]
    );
    rig.stop().await;
}

#[actix_web::test]
async fn a_settings_change_during_a_running_cycle_is_applied_by_the_next_one() {
    let rig = Rig::without_ticks(77).await;
    shared_world(&rig);
    rig.activate("ann", ANN, crm_to_exchange("owned", "CRM"))
        .await;
    settled(&rig, "ann").await;
    // The next cycle's Pipeliner listing is held for a while; the change lands then.
    let lists = super::rig::served(rig.world.crm().request_counts(), "contacts.list");
    rig.world.crm().set_faults(FaultPlan {
        rules: vec![FaultRule {
            route: "contacts.list".into(),
            kind: FaultKind::Latency { millis: 1500 },
            rate: 1.0,
            count: Some(1),
            skip: 0,
        }],
        ..FaultPlan::default()
    });
    sync_now(&rig, "ann").await;
    rig.until("ann", "the cycle is reading Pipeliner", || {
        super::rig::served(rig.world.crm().request_counts(), "contacts.list") > lists
    })
    .await;
    patch(&rig, "ann", json!({ "sync_preference": "accessible" })).await;
    settled(&rig, "ann").await;
    assert_eq!(
        emails(&rig.world.exchange_contacts(ANN, "CRM")),
        ["own@example.com", "pal@example.com"]
    );
    let linked = rig
        .server
        .get(&format!("/api/v1/spaces/{SPACE}/users/ann/links"))
        .await
        .1;
    assert_eq!(
        linked["items"].as_array().map(Vec::len),
        Some(2),
        "{linked}"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn a_mapping_change_reaches_a_quiet_user_at_its_next_tick() {
    let rig = Rig::start(
        78,
        crate::common::ServerOptions {
            tick_interval: 1,
            notified_tick_interval: Some(1),
            ..crate::common::ServerOptions::default()
        },
    )
    .await;
    let ann = rig.world.add_person(ANN);
    add_department_field(&rig);
    rig.world
        .crm_create(json!({ "owner_id": ann, "last_name": "A",
        "email1": "a@example.com", "cf_department": "Sales" }));
    rig.activate(
        "ann",
        ANN,
        settings(
            "bidirectional",
            true,
            json!({ "create": { "name": "CRM" } }),
        ),
    )
    .await;
    settled(&rig, "ann").await;
    // Quiet ticks follow, whose leases only ask Pipeliner whether anything changed.
    let finished = rig.user("ann").await["status"]["last_sync_finished_at"].clone();
    until_status(&rig, "ann", "a quiet tick ran", |s| {
        s["status"]["last_sync_finished_at"] != finished
    })
    .await;
    let (status, answer) = rig
        .server
        .put(
            &format!("/api/v1/spaces/{SPACE}/field-mappings"),
            department_mapping(),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    rig.until("ann", "the value reaches Exchange by a tick", || {
        rig.world
            .exchange_contacts(ANN, "CRM")
            .iter()
            .any(|c| c["department"] == "Sales")
    })
    .await;
    settled(&rig, "ann").await;
    rig.stop().await;
}
