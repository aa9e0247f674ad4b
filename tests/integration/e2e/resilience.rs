//! Sync that survives the real world: changes arrive through notifications alone within
//! seconds, lost notifications are caught by the tick, an expired delta token and faults
//! (429 storms, server errors, a create cut off after it was applied) converge without
//! duplicates, and a restart mid-sync picks up where it left off.

use std::time::{Duration, Instant};

use exsync::sim::graph::{FaultKind, FaultRule};
use exsync::sim::pipeliner::{
    DeliveryFaultKind, DeliveryFaultRule, FaultKind as CrmFault, FaultRule as CrmRule,
};
use serde_json::{json, Value};

use super::rig::{served, settings, Rig};
use crate::common::ServerOptions;

const ANN: &str = "ann@acme.example";
const FOLDER: &str = "Pipeliner (Acme)";
/// How long a run with a tenth of all requests failing may take to converge: whole
/// cycles fail and back off exponentially, so several failures in a row on a loaded
/// machine take longer than the usual patience.
const FAULTS_PATIENCE: Duration = Duration::from_secs(90);

fn by_email<'a>(contacts: &'a [Value], email: &str) -> Vec<&'a Value> {
    contacts
        .iter()
        .filter(|c| {
            c["email1"].as_str() == Some(email)
                || c["emailAddresses"][0]["address"].as_str() == Some(email)
        })
        .collect()
}

async fn synced_pair(rig: &Rig, owner: &str, email: &str) -> (String, String) {
    let crm_id = rig.world.crm_create(
        json!({ "owner_id": owner, "first_name": "Ada", "last_name": "Lovelace", "email1": email }),
    );
    rig.until("ann", "the contact reaches Exchange", || {
        !by_email(&rig.world.exchange_contacts(ANN, FOLDER), email).is_empty()
    })
    .await;
    let exchange_id = by_email(&rig.world.exchange_contacts(ANN, FOLDER), email)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (crm_id, exchange_id)
}

#[actix_web::test]
async fn notifications_alone_move_a_change_within_two_seconds_each_way() {
    let rig = Rig::without_ticks(21).await;
    let owner = rig.world.add_person(ANN);
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    let (crm_id, exchange_id) = synced_pair(&rig, &owner, "ada@engine.example").await;

    let started = Instant::now();
    rig.world
        .crm_update(&crm_id, json!({ "position": "Analyst" }));
    rig.until("ann", "the Pipeliner edit reaches Exchange", || {
        by_email(
            &rig.world.exchange_contacts(ANN, FOLDER),
            "ada@engine.example",
        )[0]["jobTitle"]
            == "Analyst"
    })
    .await;
    let to_exchange = started.elapsed();

    let started = Instant::now();
    rig.world
        .graph()
        .update_contact(
            ANN,
            &exchange_id,
            json!({ "companyName": "Analytical Engines" }),
        )
        .unwrap();
    rig.until("ann", "the Exchange edit reaches Pipeliner", || {
        by_email(&rig.world.crm_contacts(), "ada@engine.example")[0]["quick_account_name"]
            == "Analytical Engines"
    })
    .await;
    let to_crm = started.elapsed();
    assert!(
        to_exchange < Duration::from_secs(2),
        "Pipeliner → Exchange took {to_exchange:?}"
    );
    assert!(
        to_crm < Duration::from_secs(2),
        "Exchange → Pipeliner took {to_crm:?}"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn a_first_sync_subscribes_once_done_and_its_own_writes_raise_no_notifications() {
    let rig = Rig::without_ticks(28).await;
    let owner = rig.world.add_person(ANN);
    let emails = [
        "one@first.example",
        "two@first.example",
        "three@first.example",
    ];
    for email in emails {
        rig.world
            .crm_create(json!({ "owner_id": owner, "last_name": "First", "email1": email }));
    }
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    rig.until("ann", "the folder has a subscription", || {
        !rig.world.graph().subscriptions().is_empty()
    })
    .await;
    let contacts = rig.world.exchange_contacts(ANN, FOLDER);
    for email in emails {
        assert_eq!(
            by_email(&contacts, email).len(),
            1,
            "{email} reached Exchange"
        );
    }
    assert!(
        rig.world.graph().notifications().is_empty(),
        "the first sync wrote to the folder before subscribing: no notification of its own \
         writes: {:?}",
        rig.world.graph().notifications()
    );
    rig.until(
        "ann",
        "the cycle after the first sync read Exchange",
        || served(rig.world.graph().request_counts(), "delta") >= 2,
    )
    .await;

    // From now on notifications carry Exchange edits (the hourly tick never comes).
    let id = by_email(&contacts, emails[0])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    rig.world
        .graph()
        .update_contact(ANN, &id, json!({ "jobTitle": "Notified" }))
        .unwrap();
    rig.until("ann", "the Exchange edit reaches Pipeliner", || {
        by_email(&rig.world.crm_contacts(), emails[0])[0]["position"] == "Notified"
    })
    .await;
    assert!(!rig.world.graph().notifications().is_empty());
    rig.stop().await;
}

#[actix_web::test]
async fn lost_notifications_are_caught_up_by_the_tick() {
    let rig = Rig::start(
        22,
        ServerOptions {
            tick_interval: 1,
            ..ServerOptions::default()
        },
    )
    .await;
    let owner = rig.world.add_person(ANN);
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    let (crm_id, _) = synced_pair(&rig, &owner, "lost@example.com").await;
    rig.world.graph().add_notification_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Lose,
        rate: 1.0,
        count: None,
    });
    rig.world.crm().add_delivery_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Lose,
        rate: 1.0,
        count: None,
    });
    rig.world
        .crm_update(&crm_id, json!({ "position": "Found" }));
    rig.until(
        "ann",
        "the tick brings the change without any notification",
        || {
            by_email(
                &rig.world.exchange_contacts(ANN, FOLDER),
                "lost@example.com",
            )[0]["jobTitle"]
                == "Found"
        },
    )
    .await;
    rig.stop().await;
}

#[actix_web::test]
async fn an_expired_delta_token_resyncs_without_duplicates_or_deletes() {
    let rig = Rig::start(
        23,
        ServerOptions {
            tick_interval: 1,
            ..ServerOptions::default()
        },
    )
    .await;
    let owner = rig.world.add_person(ANN);
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", false, json!({ "create": {} })),
    )
    .await;
    for i in 0..5 {
        synced_pair(&rig, &owner, &format!("p{i}@example.com")).await;
    }
    rig.world.graph().invalidate_delta(ANN).unwrap();
    let folder = rig.world.graph().folder_id(ANN, FOLDER).unwrap();
    rig.world
        .graph()
        .create_contact(
            ANN,
            &folder,
            json!({ "givenName": "After", "emailAddresses": [{ "address": "after@example.com" }] }),
        )
        .unwrap();
    rig.until(
        "ann",
        "the contact made after the expiry reaches Pipeliner",
        || by_email(&rig.world.crm_contacts(), "after@example.com").len() == 1,
    )
    .await;
    assert_eq!(
        rig.world.exchange_contacts(ANN, FOLDER).len(),
        6,
        "nothing duplicated in Exchange"
    );
    assert_eq!(
        rig.world.crm_contacts().len(),
        6,
        "nothing duplicated or deleted in Pipeliner"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn throttling_and_server_errors_converge_to_the_clean_result() {
    let rig = Rig::start(
        24,
        ServerOptions {
            tick_interval: 1,
            ..ServerOptions::default()
        },
    )
    .await;
    let owner = rig.world.add_person(ANN);
    for i in 0..30 {
        rig.world.crm_create(json!({ "owner_id": owner, "last_name": format!("Person {i}"), "email1": format!("n{i}@example.com") }));
    }
    // The faults start once the connection test of the activation has passed.
    let (status, body) = rig
        .activate(
            "ann",
            ANN,
            settings("bidirectional", true, json!({ "create": {} })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    rig.world.graph().add_fault(FaultRule {
        route: "*".into(),
        kind: FaultKind::TooManyRequests {
            retry_after_secs: 0,
        },
        rate: 1.0,
        count: Some(6),
        skip: 0,
    });
    rig.world.graph().add_fault(FaultRule {
        route: "*".into(),
        kind: FaultKind::Error {
            status: 503,
            retry_after_secs: None,
        },
        rate: 0.1,
        count: None,
        skip: 0,
    });
    rig.world.crm().add_fault(CrmRule {
        route: "contacts.*".into(),
        kind: CrmFault::Error {
            status: 500,
            retry_after_secs: None,
        },
        rate: 0.1,
        count: None,
        skip: 0,
    });
    rig.world.crm().add_fault(CrmRule {
        route: "*".into(),
        kind: CrmFault::TooManyRequests {
            retry_after_secs: 0,
        },
        rate: 1.0,
        count: Some(4),
        skip: 0,
    });
    rig.until_within(
        "ann",
        "all 30 contacts are in Exchange exactly once",
        FAULTS_PATIENCE,
        || {
            let contacts = rig.world.exchange_contacts(ANN, FOLDER);
            contacts.len() == 30
                && (0..30).all(|i| by_email(&contacts, &format!("n{i}@example.com")).len() == 1)
        },
    )
    .await;
    assert_eq!(
        rig.world.crm_contacts().len(),
        30,
        "nothing created back in Pipeliner"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn a_create_cut_off_after_it_was_applied_is_adopted_not_duplicated() {
    let rig = Rig::start(
        25,
        ServerOptions {
            tick_interval: 1,
            ..ServerOptions::default()
        },
    )
    .await;
    let owner = rig.world.add_person(ANN);
    rig.world.crm_create(json!({ "owner_id": owner, "first_name": "Cut", "last_name": "Off", "email1": "cut@example.com" }));
    rig.world.graph().add_fault(FaultRule {
        route: "batch".into(),
        kind: FaultKind::DropConnection,
        rate: 1.0,
        count: Some(1),
        skip: 0,
    });
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    rig.until("ann", "the contact is in Exchange and linked", || {
        by_email(&rig.world.exchange_contacts(ANN, FOLDER), "cut@example.com").len() == 1
    })
    .await;
    let links = rig
        .server
        .get("/api/v1/spaces/acme/users/ann/links")
        .await
        .1;
    let mut waited = 0;
    let mut linked = links["items"].as_array().map_or(0, Vec::len);
    while linked == 0 && waited < 500 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        linked = rig
            .server
            .get("/api/v1/spaces/acme/users/ann/links")
            .await
            .1["items"]
            .as_array()
            .map_or(0, Vec::len);
    }
    assert_eq!(linked, 1, "the cut-off create was adopted as the pair");
    assert_eq!(
        by_email(&rig.world.exchange_contacts(ANN, FOLDER), "cut@example.com").len(),
        1,
        "no duplicate"
    );
    rig.stop().await;
}

#[actix_web::test]
async fn a_restart_mid_sync_converges() {
    let rig = Rig::start(
        26,
        ServerOptions {
            tick_interval: 1,
            ..ServerOptions::default()
        },
    )
    .await;
    let owner = rig.world.add_person(ANN);
    for i in 0..40 {
        rig.world.crm_create(json!({ "owner_id": owner, "last_name": format!("R{i}"), "email1": format!("r{i}@example.com") }));
    }
    rig.world.graph().add_fault(FaultRule {
        route: "batch".into(),
        kind: FaultKind::Latency { millis: 300 },
        rate: 1.0,
        count: Some(1),
        skip: 0,
    });
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    let Rig { world, server } = rig;
    let server = server.restart().await;
    let rig = Rig { world, server };
    rig.until(
        "ann",
        "all 40 contacts are in Exchange exactly once after the restart",
        || {
            let contacts = rig.world.exchange_contacts(ANN, FOLDER);
            contacts.len() == 40
                && (0..40).all(|i| by_email(&contacts, &format!("r{i}@example.com")).len() == 1)
        },
    )
    .await;
    assert_eq!(rig.world.crm_contacts().len(), 40);
    rig.stop().await;
}

#[actix_web::test]
async fn lifecycle_events_recreate_a_removed_subscription() {
    let rig = Rig::start(27, ServerOptions::default()).await;
    let owner = rig.world.add_person(ANN);
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    synced_pair(&rig, &owner, "life@example.com").await;
    // The cycle after the first sync subscribes.
    rig.until("ann", "the folder has a subscription", || {
        !rig.world.graph().subscriptions().is_empty()
    })
    .await;
    let first = rig.world.graph().subscriptions();
    assert_eq!(first.len(), 1, "one subscription per user folder");
    let first_id = first[0]["id"].as_str().unwrap().to_owned();
    // The copy is written before the first sync commits, and the subscription is
    // created before the cycle after it saves its state: wait for that state.
    let mut user = rig.user("ann").await;
    for _ in 0..250 {
        if user["sync"]["initial_sync_done"] == true
            && user["sync"]["subscription_expires_at"].is_string()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        user = rig.user("ann").await;
    }
    assert_eq!(user["sync"]["initial_sync_done"], true, "{user}");
    assert!(
        user["sync"]["subscription_expires_at"].is_string(),
        "{user}"
    );

    rig.world
        .graph()
        .lifecycle(&first_id, "subscriptionRemoved")
        .unwrap();
    rig.until("ann", "a new subscription replaces the removed one", || {
        let subs = rig.world.graph().subscriptions();
        subs.len() == 1 && subs[0]["id"] != first_id.as_str()
    })
    .await;
    rig.stop().await;
}

#[actix_web::test]
async fn a_load_above_the_mailbox_budget_is_paced_without_a_single_429() {
    let rig = Rig::start(
        26,
        ServerOptions {
            graph_budget_requests: 60,
            graph_budget_window: 2,
            ..ServerOptions::default()
        },
    )
    .await;
    let mut graph_settings = rig.world.graph().settings();
    graph_settings.budget_requests = Some(60);
    graph_settings.budget_window_secs = 2;
    rig.world.graph().set_settings(graph_settings);
    let owner = rig.world.add_person(ANN);
    let contacts = 90;
    for i in 0..contacts {
        rig.world.crm_create(
            json!({ "owner_id": owner, "last_name": format!("Paced {i}"), "email1": format!("p{i}@paced.example") }),
        );
    }
    rig.activate(
        "ann",
        ANN,
        settings("bidirectional", true, json!({ "create": {} })),
    )
    .await;
    rig.until("ann", "every contact reaches Exchange", || {
        rig.world.exchange_contacts(ANN, FOLDER).len() == contacts
    })
    .await;
    let sent: u64 = rig.world.graph().request_counts().values().sum();
    assert!(
        sent > 60,
        "the load ({sent} requests) exceeds one window's budget"
    );
    assert_eq!(
        rig.world.graph().throttled_count(),
        0,
        "exsync stays under the budget"
    );
    rig.stop().await;
}
