//! Mapping changes: a new mapping copies existing values by the written rule, a removed
//! one keeps them, and a change reaches a quiet user at its next tick.

use super::*;

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
