//! Creates, updates and deletes in each direction, per sync type, with and without
//! delete protection, into a new or an existing folder.

use serde_json::{json, Value};

use super::rig::{eventually, served, settings, Rig, PATIENCE};
use crate::common::ServerOptions;

const ANN: &str = "ann@acme.example";
const FOLDER: &str = "Pipeliner (Acme)";

fn emails(contacts: &[Value]) -> Vec<String> {
    contacts
        .iter()
        .filter_map(|c| {
            c["email1"]
                .as_str()
                .or_else(|| c["emailAddresses"][0]["address"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

fn find<'a>(contacts: &'a [Value], email: &str) -> Option<&'a Value> {
    contacts.iter().find(|c| {
        c["email1"].as_str() == Some(email)
            || c["emailAddresses"][0]["address"].as_str() == Some(email)
    })
}

#[actix_web::test]
async fn bidirectional_sync_creates_updates_and_deletes_both_ways() {
    let rig = Rig::start(11, ServerOptions::default()).await;
    let owner = rig.world.add_person(ANN);
    let crm_id = rig.world.crm_create(json!({
        "owner_id": owner, "first_name": "Grace", "last_name": "Hopper", "email1": "grace@navy.example"
    }));
    let (status, body) = rig
        .activate(
            "ann",
            ANN,
            settings("bidirectional", false, json!({ "create": {} })),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    eventually("the Pipeliner contact reaches Exchange", PATIENCE, || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "grace@navy.example",
        )
        .is_some()
    })
    .await;

    let folder = rig
        .world
        .graph()
        .folder_id(ANN, FOLDER)
        .expect("the folder exsync created");
    let created = rig
        .world
        .graph()
        .create_contact(
            ANN,
            &folder,
            json!({ "givenName": "Alan", "surname": "Turing", "emailAddresses": [{ "address": "alan@bletchley.example" }] }),
        )
        .unwrap();
    let exchange_id = created["id"].as_str().unwrap().to_owned();
    rig.until("ann", "the Exchange contact reaches Pipeliner", || {
        find(&rig.world.crm_contacts(), "alan@bletchley.example")
            .is_some_and(|c| c["owner_id"] == owner.as_str())
    })
    .await;

    rig.world
        .graph()
        .update_contact(ANN, &exchange_id, json!({ "jobTitle": "Cryptanalyst" }))
        .unwrap();
    eventually("an Exchange edit reaches Pipeliner", PATIENCE, || {
        find(&rig.world.crm_contacts(), "alan@bletchley.example")
            .is_some_and(|c| c["position"] == "Cryptanalyst")
    })
    .await;

    rig.world
        .crm_update(&crm_id, json!({ "position": "Rear Admiral" }));
    eventually("a Pipeliner edit reaches Exchange", PATIENCE, || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "grace@navy.example",
        )
        .is_some_and(|c| c["jobTitle"] == "Rear Admiral")
    })
    .await;

    rig.world.graph().delete_contact(ANN, &exchange_id).unwrap();
    eventually(
        "an Exchange delete reaches Pipeliner (no delete protection)",
        PATIENCE,
        || find(&rig.world.crm_contacts(), "alan@bletchley.example").is_none(),
    )
    .await;

    rig.world.crm_delete(&crm_id);
    eventually("a Pipeliner delete reaches Exchange", PATIENCE, || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "grace@navy.example",
        )
        .is_none()
    })
    .await;

    let user = rig.user("ann").await;
    assert_eq!(user["state"], "activated", "{user}");
    assert!(
        user["status"]["counts"]["exchange"]["created"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(user["status"]["counts"]["crm"]["created"].as_u64().unwrap() >= 1);
    rig.stop().await;
}

#[actix_web::test]
async fn delete_protection_keeps_pipeliner_contacts() {
    let rig = Rig::start(12, ServerOptions::default()).await;
    let owner = rig.world.add_person(ANN);
    rig.world.crm_create(json!({
        "owner_id": owner, "first_name": "Edsger", "last_name": "Dijkstra", "email1": "ewd@tue.example"
    }));
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    eventually("the contact reaches Exchange", PATIENCE, || {
        find(&rig.world.exchange_contacts(ANN, FOLDER), "ewd@tue.example").is_some()
    })
    .await;
    let contact = find(&rig.world.exchange_contacts(ANN, FOLDER), "ewd@tue.example")
        .cloned()
        .unwrap();
    rig.world
        .graph()
        .delete_contact(ANN, contact["id"].as_str().unwrap())
        .unwrap();
    eventually(
        "exsync saw the delete and unlinked the pair",
        PATIENCE,
        || rig.world.exchange_contacts(ANN, FOLDER).is_empty(),
    )
    .await;
    // A sync after the delete must neither delete in Pipeliner nor recreate in Exchange.
    let before = rig.user("ann").await["status"]["last_sync_finished_at"].clone();
    rig.server
        .post_empty("/api/v1/spaces/acme/users/ann/sync")
        .await;
    eventually("another cycle finished", PATIENCE, || true).await;
    let mut after = before.clone();
    for _ in 0..500 {
        after = rig.user("ann").await["status"]["last_sync_finished_at"].clone();
        if after != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_ne!(after, before, "a cycle ran");
    assert!(
        find(&rig.world.crm_contacts(), "ewd@tue.example").is_some(),
        "kept in Pipeliner"
    );
    assert!(
        rig.world.exchange_contacts(ANN, FOLDER).is_empty(),
        "not recreated in Exchange"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn one_way_modes_never_write_their_source() {
    let rig = Rig::start(13, ServerOptions::default()).await;
    let owner = rig.world.add_person(ANN);
    let crm_only = rig.world.crm_create(json!({
        "owner_id": owner, "first_name": "Barbara", "last_name": "Liskov", "email1": "liskov@mit.example"
    }));
    let folder = rig.world.graph().create_folder(ANN, "Customers").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.world
        .graph()
        .create_contact(ANN, &folder, json!({ "givenName": "Ken", "surname": "Thompson", "emailAddresses": [{ "address": "ken@bell.example" }] }))
        .unwrap();
    rig.activate(
        "ann",
        ANN,
        settings("exchange_to_crm", true, json!({ "existing": folder })),
    )
    .await;
    rig.until("ann", "the Exchange contact reaches Pipeliner", || {
        find(&rig.world.crm_contacts(), "ken@bell.example").is_some()
    })
    .await;
    rig.world
        .crm_update(&crm_only, json!({ "position": "Professor" }));
    let ken = find(&rig.world.crm_contacts(), "ken@bell.example")
        .cloned()
        .unwrap();
    rig.world
        .crm_update(ken["id"].as_str().unwrap(), json!({ "position": "Hacker" }));
    rig.server
        .post_empty("/api/v1/spaces/acme/users/ann/sync")
        .await;
    let user_before = rig.user("ann").await["status"]["last_sync_finished_at"].clone();
    for _ in 0..500 {
        if rig.user("ann").await["status"]["last_sync_finished_at"] != user_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let exchange = rig.world.graph().contacts(ANN, &folder).unwrap();
    assert_eq!(
        emails(&exchange),
        vec!["ken@bell.example".to_owned()],
        "Exchange is never written"
    );
    assert!(exchange[0].get("jobTitle").is_none_or(|t| t.is_null()));
    rig.stop().await;
}

#[actix_web::test]
async fn crm_to_exchange_follows_pipeliner_and_never_writes_it() {
    let rig = Rig::start(14, ServerOptions::default()).await;
    let owner = rig.world.add_person(ANN);
    let crm_id = rig.world.crm_create(json!({
        "owner_id": owner, "first_name": "Niklaus", "last_name": "Wirth", "email1": "wirth@eth.example", "position": "Professor"
    }));
    let doomed = rig.world.crm_create(json!({
        "owner_id": owner, "first_name": "Short", "last_name": "Lived", "email1": "doomed@example.com"
    }));
    let mut one_way = settings("crm_to_exchange", false, json!({ "create": {} }));
    one_way["sync_preference"] = json!("owned");
    assert_eq!(rig.activate("ann", ANN, one_way).await.0, 201);
    rig.until("ann", "the contact reaches Exchange", || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "wirth@eth.example",
        )
        .is_some()
    })
    .await;
    let exchange_id = find(
        &rig.world.exchange_contacts(ANN, FOLDER),
        "wirth@eth.example",
    )
    .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.world
        .graph()
        .update_contact(
            ANN,
            &exchange_id,
            json!({ "companyName": "Typed in Outlook" }),
        )
        .unwrap();
    rig.world
        .crm_update(&crm_id, json!({ "position": "Turing Award" }));
    rig.until("ann", "the Pipeliner edit reaches Exchange", || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "wirth@eth.example",
        )
        .is_some_and(|c| c["jobTitle"] == "Turing Award")
    })
    .await;
    let crm = rig
        .world
        .crm()
        .contact(exsync::demo::world::PIPELINER_SPACE, &crm_id)
        .unwrap()
        .unwrap();
    assert_ne!(
        crm["quick_account_name"], "Typed in Outlook",
        "Pipeliner is never written"
    );
    rig.world.crm_delete(&doomed);
    rig.until("ann", "the Pipeliner delete reaches Exchange", || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "doomed@example.com",
        )
        .is_none()
    })
    .await;
    // Deleting a contact someone edited in Outlook keeps the Outlook copy (edit beats delete).
    rig.world.crm_delete(&crm_id);
    rig.until("ann", "the kept contact is unlinked and journaled", || {
        find(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "wirth@eth.example",
        )
        .is_some()
            && rig
                .world
                .crm()
                .contact(exsync::demo::world::PIPELINER_SPACE, &crm_id)
                .ok()
                .flatten()
                .is_some_and(|c| c["is_deleted"] == true)
    })
    .await;
    rig.stop().await;
}

/// Polls the user's status until `field` differs from `before`; the new value.
async fn status_change(rig: &Rig, field: &str, before: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = rig.user("ann").await["status"][field].clone();
        if &now != before {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "status.{field} stayed {before}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn an_admin_sync_request_runs_a_cycle_at_once() {
    let rig = Rig::without_ticks(44).await;
    rig.world.add_person(ANN);
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    let first = status_change(&rig, "last_sync_finished_at", &Value::Null).await;
    let (status, _) = rig
        .server
        .call(
            reqwest::Method::POST,
            "/api/v1/spaces/acme/users/ann/sync",
            None,
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    let second = status_change(&rig, "last_sync_finished_at", &first).await;
    assert_ne!(
        first, second,
        "nothing else asked for a cycle: the request ran it"
    );
    rig.stop().await;
}

/// A rig with the given tick intervals and Ann activated bidirectionally, once her first
/// cycle has finished; with that cycle's finish time.
async fn ann_synced(seed: u64, tick: u64, notified_tick: u64) -> (Rig, Value) {
    let rig = Rig::start(
        seed,
        ServerOptions {
            tick_interval: tick,
            notified_tick_interval: Some(notified_tick),
            ..ServerOptions::default()
        },
    )
    .await;
    rig.world.add_person(ANN);
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    let finished = status_change(&rig, "last_sync_finished_at", &Value::Null).await;
    (rig, finished)
}

#[actix_web::test]
async fn a_user_both_upstreams_notify_is_polled_only_as_a_safety_net() {
    let (rig, _) = ann_synced(45, 60, 3600).await;
    // The first sync subscribes only once it is done: the cycle right after it sets the
    // subscription up, and its status names the next periodic sync.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let (wait, status) = loop {
        let status = rig.user("ann").await["status"].clone();
        let time = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(status[field].as_str().expect(field))
                .expect("an RFC 3339 time")
        };
        let wait = (time("next_sync_at") - time("last_sync_finished_at")).num_seconds();
        if wait > 66 || tokio::time::Instant::now() >= deadline {
            break (wait, status);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(
        (3240..=3960).contains(&wait),
        "the subscription and the webhook are live: the next periodic sync is the \
         notified interval ±10 %, got {wait} s ({status})"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn ticks_trust_a_live_subscription_for_exchange_and_still_read_pipeliner() {
    // The activation's first sync and the cycle right after it, which subscribes, read
    // both sides.
    let (rig, first) = ann_synced(46, 1, 1).await;
    let mut finished = status_change(&rig, "last_sync_finished_at", &first).await;
    let deltas = served(rig.world.graph().request_counts(), "delta");
    let lists = served(rig.world.crm().request_counts(), "contacts.list");
    for _ in 0..3 {
        finished = status_change(&rig, "last_sync_finished_at", &finished).await;
    }
    assert_eq!(
        served(rig.world.graph().request_counts(), "delta"),
        deltas,
        "ticks of a user with a live subscription do not read the Exchange delta"
    );
    assert!(
        served(rig.world.crm().request_counts(), "contacts.list") >= lists + 3,
        "each tick still reads Pipeliner, which does not retry lost webhooks"
    );

    // The delta link the trusting ticks kept still brings a notified change.
    let folder = rig
        .world
        .graph()
        .folder_id(ANN, FOLDER)
        .expect("the folder exsync created");
    rig.world
        .graph()
        .create_contact(
            ANN,
            &folder,
            json!({ "givenName": "Ada", "surname": "Lovelace", "emailAddresses": [{ "address": "ada@engine.example" }] }),
        )
        .unwrap();
    rig.until("ann", "the Exchange contact reaches Pipeliner", || {
        find(&rig.world.crm_contacts(), "ada@engine.example").is_some()
    })
    .await;
    rig.stop().await;
}
