//! Scope changes: widening and narrowing the preference, the sync type, the folder.

use super::*;

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
