//! Writing contracts: required fields, validation levels, batch writes with per-item
//! errors and rollback, restore, and sharing with roles.

use exsync::sim::pipeliner::FieldSeed;
use serde_json::json;

use super::{Fixture, SPACE};

#[actix_web::test]
async fn creates_missing_a_required_field_are_refused() {
    let f = Fixture::start(4).await;
    let older = f.seed_contact("Old", "Timer", "");
    f.control
        .set_field(
            SPACE,
            FieldSeed {
                api_name: "cf_region".into(),
                required: true,
                ..FieldSeed::default()
            },
        )
        .expect("field");
    let (_, fields) = f
        .get("/entities/Fields?filter[entity_name]=Contact&first=100")
        .await;
    let region = fields["data"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["api_name"] == "cf_region").cloned());
    assert_eq!(
        region.map(|r| r["system_required"].clone()),
        Some(json!(true))
    );
    let owner = fields["data"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["api_name"] == "owner_id").cloned());
    assert_eq!(
        owner.map(|r| r["system_required"].clone()),
        Some(json!(true))
    );

    let (status, refused) = f
        .post(
            "/entities/Contacts",
            json!({"owner_id": f.owner_id, "first_name": "Ann"}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(refused["name"], "ERROR_ENTITY_VALIDATION");
    assert!(refused["message"]
        .as_str()
        .is_some_and(|m| m.contains("cf_region")));
    let (status, _) = f
        .post(
            "/entities/Contacts",
            json!({"first_name": "Ann", "cf_region": "EU"}),
        )
        .await;
    assert_eq!(status, 400, "owner_id is required");
    let (status, _) = f
        .post(
            "/entities/Contacts",
            json!({"owner_id": f.owner_id, "cf_region": "EU"}),
        )
        .await;
    assert_eq!(status, 400, "a first or last name is required");
    let (status, made) = f
        .post(
            "/entities/Contacts",
            json!({"owner_id": f.owner_id, "first_name": "Ann", "cf_region": "EU"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(made["data"]["cf_region"], "EU");
    assert_eq!(made["data"]["formatted_name"], "Ann");
    assert_eq!(f.control.contacts(SPACE, true).map(|c| c.len()), Ok(2));

    // An existing contact without the field: a full validation refuses the update,
    // `validation-level=2` (only changed fields) lets it through.
    let path = format!(
        "/entities/Contacts/{}",
        older["id"].as_str().unwrap_or_default()
    );
    let (status, _) = f.patch(&path, json!({"city": "Lima"})).await;
    assert_eq!(status, 400);
    let (status, _) = f
        .patch(
            &format!("{path}?validation-level=2"),
            json!({"city": "Lima"}),
        )
        .await;
    assert_eq!(status, 200);
    f.sim.stop().await;
}

#[actix_web::test]
async fn batch_writes_answer_per_item() {
    let f = Fixture::start(5).await;
    let existing = f.seed_contact("Eve", "Existing", "eve@example.com");
    let items = json!([
        {"owner_id": f.owner_id, "last_name": "Fresh"},
        {"id": "00000000-0000-4000-8000-000000000000", "last_name": "Nobody"},
        {"last_name": "No owner"},
        {"id": existing["id"], "position": "Boss"},
    ]);
    let (status, all_or_nothing) = f
        .post("/entities/Contacts/batch-modify", items.clone())
        .await;
    assert_eq!(status, 400);
    assert_eq!(all_or_nothing["data"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        f.control.contacts(SPACE, true).map(|c| c.len()),
        Ok(1),
        "rolled back"
    );

    let (status, body) = f
        .post("/entities/Contacts/batch-modify?rollback-method=1", items)
        .await;
    assert_eq!(status, 200, "{body}");
    let data = body["data"].as_array().cloned().unwrap_or_default();
    assert!(data[0].is_string());
    assert_eq!(data[1]["http_status"], 404);
    assert_eq!(data[2]["http_status"], 400);
    assert_eq!(data[2]["success"], false);
    assert_eq!(data[3], existing["id"]);
    let boss = f
        .control
        .contact(SPACE, existing["id"].as_str().unwrap_or_default());
    assert_eq!(
        boss.ok().flatten().map(|c| c["position"].clone()),
        Some(json!("Boss"))
    );

    let (status, deleted) = f
        .post(
            "/entities/Contacts/batch-delete?rollback-method=1",
            json!([existing["id"], "missing"]),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["data"][0], existing["id"]);
    assert_eq!(deleted["data"][1]["name"], "ERROR_NOT_FOUND");

    let (status, restored) = f
        .post(
            "/entities/Contacts/batch-restore?rollback-method=1",
            json!([existing["id"]]),
        )
        .await;
    assert_eq!(
        (status, restored["data"][0].clone()),
        (200, existing["id"].clone())
    );
    let back = f
        .control
        .contact(SPACE, existing["id"].as_str().unwrap_or_default());
    assert_eq!(
        back.ok().flatten().map(|c| c["is_deleted"].clone()),
        Some(json!(false))
    );
    f.sim.stop().await;
}

#[actix_web::test]
async fn sharing_is_listed_with_roles() {
    let f = Fixture::start(7).await;
    let colleague = f
        .control
        .add_client(
            SPACE,
            exsync::sim::pipeliner::ClientSeed {
                email: "c@example.com".into(),
                ..Default::default()
            },
        )
        .expect("client");
    let c = f.seed_contact("Sam", "Shared", "");
    let cid = c["id"].as_str().unwrap_or_default();
    let colleague_id = colleague["id"].as_str().unwrap_or_default();
    f.control
        .share_contact(SPACE, cid, colleague_id, 2)
        .expect("share");
    let (_, rel) = f
        .get(&format!(
            "/entities/ContactSharingClientRelations?filter[client_id]={colleague_id}"
        ))
        .await;
    assert_eq!(rel["data"][0]["contact_id"], json!(cid));
    assert_eq!(rel["data"][0]["role"], 2);
    let (_, expanded) = f
        .get(&format!("/entities/Contacts/{cid}?expand=sharing_clients"))
        .await;
    assert_eq!(
        expanded["data"]["sharing_clients"][0]["client_id"],
        json!(colleague_id)
    );
    f.sim.stop().await;
}
