//! When a reconciliation runs: on re-activation (writing nothing when nothing changed),
//! and after a change that lands while a cycle runs.

use super::*;

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
        super::super::rig::served(graph_after.clone(), "delta")
            > super::super::rig::served(graph_counts.clone(), "delta"),
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
    let lists = super::super::rig::served(rig.world.crm().request_counts(), "contacts.list");
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
        super::super::rig::served(rig.world.crm().request_counts(), "contacts.list") > lists
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
