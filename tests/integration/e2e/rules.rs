//! Product rules end to end: which Pipeliner contacts reach Exchange (owned or accessible),
//! the first sync pairing existing contacts by e-mail, and the required-field rule.

use exsync::demo::world::PIPELINER_SPACE;
use exsync::sim::pipeliner::FieldSeed;
use serde_json::{json, Value};

use super::rig::{settings, Rig};
use crate::common::ServerOptions;

fn has(contacts: &[Value], email: &str) -> bool {
    contacts.iter().any(|c| {
        c["email1"].as_str() == Some(email)
            || c["emailAddresses"][0]["address"].as_str() == Some(email)
    })
}

#[actix_web::test]
async fn owned_and_accessible_preferences_choose_what_reaches_exchange() {
    let rig = Rig::start(31, ServerOptions::default()).await;
    let ann = rig.world.add_person("ann@acme.example");
    let bo = rig.world.add_person("bo@acme.example");
    let carl = rig.world.add_person("carl@acme.example");
    let ann_own = rig.world.crm_create(
        json!({ "owner_id": ann, "last_name": "Mine", "email1": "ann-own@example.com" }),
    );
    rig.world
        .crm_create(json!({ "owner_id": bo, "last_name": "Mine", "email1": "bo-own@example.com" }));
    let shared = rig.world.crm_create(
        json!({ "owner_id": carl, "last_name": "Shared", "email1": "shared@example.com" }),
    );
    rig.world
        .crm()
        .share_contact(PIPELINER_SPACE, &shared, &ann, 1)
        .unwrap();
    rig.world
        .crm()
        .share_contact(PIPELINER_SPACE, &shared, &bo, 1)
        .unwrap();
    rig.world.crm_create(
        json!({ "owner_id": carl, "last_name": "Hidden", "email1": "hidden@example.com" }),
    );

    let mut owned = settings(
        "crm_to_exchange",
        true,
        json!({ "create": { "name": "CRM" } }),
    );
    owned["sync_preference"] = json!("owned");
    let mut accessible = settings(
        "crm_to_exchange",
        true,
        json!({ "create": { "name": "CRM" } }),
    );
    accessible["sync_preference"] = json!("accessible");
    assert_eq!(rig.activate("ann", "ann@acme.example", owned).await.0, 201);
    assert_eq!(
        rig.activate("bo", "bo@acme.example", accessible).await.0,
        201
    );
    rig.until("ann", "ann's own contact arrives", || {
        has(
            &rig.world.exchange_contacts("ann@acme.example", "CRM"),
            "ann-own@example.com",
        )
    })
    .await;
    rig.until("bo", "bo's own and shared contacts arrive", || {
        let bo_contacts = rig.world.exchange_contacts("bo@acme.example", "CRM");
        has(&bo_contacts, "bo-own@example.com") && has(&bo_contacts, "shared@example.com")
    })
    .await;
    let ann_contacts = rig.world.exchange_contacts("ann@acme.example", "CRM");
    assert_eq!(ann_contacts.len(), 1, "owned: only ann's own contact");
    let bo_contacts = rig.world.exchange_contacts("bo@acme.example", "CRM");
    assert_eq!(
        bo_contacts.len(),
        2,
        "accessible: own and shared, never the hidden one"
    );

    // Out of reach again: the share with bo ends and ann's contact goes to carl. Neither
    // user can see the changed contact any more; their links to it still bring the change
    // to the planner, and the Exchange copies go.
    rig.world.crm_update(
        &shared,
        json!({ "sharing_clients": [{ "client_id": ann, "role": 1 }] }),
    );
    rig.world.crm_update(&ann_own, json!({ "owner_id": carl }));
    rig.until(
        "bo",
        "the contact no longer shared leaves bo's folder",
        || {
            let bo_contacts = rig.world.exchange_contacts("bo@acme.example", "CRM");
            !has(&bo_contacts, "shared@example.com") && has(&bo_contacts, "bo-own@example.com")
        },
    )
    .await;
    rig.until(
        "ann",
        "the contact given to carl leaves ann's folder",
        || {
            !has(
                &rig.world.exchange_contacts("ann@acme.example", "CRM"),
                "ann-own@example.com",
            )
        },
    )
    .await;
    rig.stop().await;
}

#[actix_web::test]
async fn the_first_sync_pairs_existing_contacts_by_email_before_creating() {
    let rig = Rig::start(32, ServerOptions::default()).await;
    let ann = rig.world.add_person("ann@acme.example");
    rig.world.crm_create(json!({ "owner_id": ann, "first_name": "Both", "last_name": "Sides", "email1": "both@example.com", "position": "CFO" }));
    rig.world.crm_create(
        json!({ "owner_id": ann, "last_name": "Crm only", "email1": "crm@example.com" }),
    );
    let folder = rig
        .world
        .graph()
        .create_folder("ann@acme.example", "Customers")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (given, email) in [
        ("Both", "BOTH@example.com"),
        ("Exchange", "exchange@example.com"),
        ("Nameless", ""),
    ] {
        let mut body = json!({ "givenName": given, "surname": "Person" });
        if !email.is_empty() {
            body["emailAddresses"] = json!([{ "address": email }]);
        }
        rig.world
            .graph()
            .create_contact("ann@acme.example", &folder, body)
            .unwrap();
    }
    assert_eq!(
        rig.activate(
            "ann",
            "ann@acme.example",
            settings("bidirectional", true, json!({ "existing": folder }))
        )
        .await
        .0,
        201
    );
    rig.until("ann", "both sides hold four people", || {
        rig.world.crm_contacts().len() == 4
            && rig
                .world
                .graph()
                .contacts("ann@acme.example", &folder)
                .unwrap()
                .len()
                == 4
    })
    .await;
    let crm = rig.world.crm_contacts();
    assert_eq!(
        crm.iter()
            .filter(|c| c["email1"]
                .as_str()
                .is_some_and(|e| e.eq_ignore_ascii_case("both@example.com")))
            .count(),
        1,
        "paired by e-mail, not duplicated"
    );
    assert!(
        crm.iter().any(|c| c["first_name"] == "Nameless"),
        "a contact without e-mail is created, not matched"
    );
    // The links are committed just after the writes: wait for them.
    let mut linked = 0;
    for _ in 0..250 {
        let links = rig
            .server
            .get("/api/v1/spaces/acme/users/ann/links")
            .await
            .1;
        linked = links["items"].as_array().map_or(0, Vec::len);
        if linked == 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(linked, 4, "{}", rig.explain("ann").await);
    rig.stop().await;
}

#[actix_web::test]
async fn a_required_field_refuses_creates_but_updates_go_on() {
    let rig = Rig::start(33, ServerOptions::default()).await;
    let ann = rig.world.add_person("ann@acme.example");
    let crm_id = rig.world.crm_create(
        json!({ "owner_id": ann, "last_name": "Existing", "email1": "existing@example.com" }),
    );
    assert_eq!(
        rig.activate(
            "ann",
            "ann@acme.example",
            settings("bidirectional", true, json!({ "create": {} }))
        )
        .await
        .0,
        201
    );
    rig.until("ann", "the existing contact reaches Exchange", || {
        has(
            &rig.world
                .exchange_contacts("ann@acme.example", "Pipeliner (Acme)"),
            "existing@example.com",
        )
    })
    .await;
    rig.world
        .crm()
        .set_field(
            PIPELINER_SPACE,
            FieldSeed {
                api_name: "cf_region".into(),
                required: true,
                ..Default::default()
            },
        )
        .unwrap();
    let folder = rig
        .world
        .graph()
        .folder_id("ann@acme.example", "Pipeliner (Acme)")
        .unwrap();
    rig.world.graph().create_contact("ann@acme.example", &folder, json!({ "givenName": "New", "surname": "Person", "emailAddresses": [{ "address": "new@example.com" }] })).unwrap();
    let existing = rig
        .world
        .exchange_contacts("ann@acme.example", "Pipeliner (Acme)")
        .into_iter()
        .find(|c| c["emailAddresses"][0]["address"] == "existing@example.com")
        .unwrap();
    rig.world
        .graph()
        .update_contact(
            "ann@acme.example",
            existing["id"].as_str().unwrap(),
            json!({ "jobTitle": "Still synced" }),
        )
        .unwrap();
    rig.until(
        "ann",
        "the update of the existing contact reaches Pipeliner",
        || {
            rig.world
                .crm()
                .contact(PIPELINER_SPACE, &crm_id)
                .ok()
                .flatten()
                .is_some_and(|c| c["position"] == "Still synced")
        },
    )
    .await;
    let mut reported = false;
    for _ in 0..500 {
        let user = rig.user("ann").await;
        if user["status"]["counts"]["record_errors"]
            .as_u64()
            .unwrap_or(0)
            > 0
        {
            reported = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        reported,
        "the refused create is reported: {}",
        rig.explain("ann").await
    );
    assert!(
        !has(&rig.world.crm_contacts(), "new@example.com"),
        "no contact without the required field"
    );
    let events = rig.explain("ann").await;
    assert!(
        events.contains("cf_region"),
        "the reason names the field: {events}"
    );
    rig.stop().await;
}
