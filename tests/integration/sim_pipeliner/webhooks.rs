//! Webhook contracts: registration, signed deliveries, skip keys, deletion.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use super::{obj, Fixture, Receiver, SPACE};

const SIGNATURE: &str = "3f2b8a4e-51c7-4d2a-9e0f-6b1c2d3e4f50";

fn hex_hmac(key: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn register(f: &Fixture, url: &str) -> Value {
    let (status, body) = f
        .post(
            "/entities/Webhooks",
            json!({
                "url": url,
                "events": ["Contact.*"],
                "insecure_ssl": false,
                "signature": SIGNATURE,
                "options": {"skip_keys": ["exsync"]},
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["data"].clone()
}

#[actix_web::test]
async fn deliveries_are_signed_arrays_of_events() {
    let f = Fixture::start(10).await;
    let mut hook_rx = Receiver::start().await;
    let hook = register(&f, &hook_rx.url).await;
    assert_eq!(hook["signature"], SIGNATURE);
    let (_, listed) = f.get("/entities/Webhooks").await;
    assert_eq!(listed["data"][0]["id"], hook["id"]);

    let c = f.seed_contact("Wendy", "Hook", "w@example.com");
    let got = hook_rx.next().await;
    assert_eq!(
        got.signature.as_deref(),
        Some(hex_hmac(SIGNATURE, &got.body).as_str())
    );
    let events: Value = serde_json::from_slice(&got.body).expect("JSON array");
    assert_eq!(events[0]["event"], "Contact.Create");
    assert_eq!(events[0]["team_space_id"], SPACE);
    assert_eq!(events[0]["webhook"]["id"], hook["id"]);
    assert_eq!(events[0]["entity"]["id"], c["id"]);
    assert!(events[0]["event_time"].is_string());

    let id = c["id"].as_str().unwrap_or_default();
    let (status, _) = f.delete(&format!("/entities/Contacts/{id}")).await;
    assert_eq!(status, 200);
    let got = hook_rx.next().await;
    let events: Value = serde_json::from_slice(&got.body).expect("JSON array");
    assert_eq!(events[0]["event"], "Contact.Delete");
    assert_eq!(events[0]["entity"]["is_deleted"], true);

    let (status, bad) = f
        .post("/entities/Webhooks", json!({"url": hook_rx.url, "events": ["Contact.*"], "insecure_ssl": false, "signature": "not-a-uuid"}))
        .await;
    assert_eq!((status, bad["success"].clone()), (400, json!(false)));
    hook_rx.stop().await;
    f.sim.stop().await;
}

#[actix_web::test]
async fn skip_keys_suppress_deliveries() {
    let f = Fixture::start(11).await;
    let mut hook_rx = Receiver::start().await;
    let hook = register(&f, &hook_rx.url).await;
    let c = f.seed_contact("Sid", "Skip", "");
    let _create = hook_rx.next().await;
    let path = format!(
        "/entities/Contacts/{}",
        c["id"].as_str().unwrap_or_default()
    );
    let skipped = f
        .request(reqwest::Method::PATCH, &path)
        .header("Webhook-Skip-Key", "exsync")
        .json(&json!({"position": "by exsync"}));
    assert_eq!(super::send(skipped).await.0, 200);
    let (status, _) = f.patch(&path, json!({"position": "by a person"})).await;
    assert_eq!(status, 200);
    // Deliveries go out in order, so the next one must be the unskipped write.
    let got = hook_rx.next().await;
    let events: Value = serde_json::from_slice(&got.body).expect("JSON array");
    assert_eq!(events.as_array().map(Vec::len), Some(1));
    assert_eq!(events[0]["entity"]["position"], "by a person");

    // A deleted webhook gets nothing more.
    let (status, gone) = f
        .delete(&format!(
            "/entities/Webhooks/{}",
            hook["id"].as_str().unwrap_or_default()
        ))
        .await;
    assert_eq!((status, gone["data"].clone()), (200, hook["id"].clone()));
    assert_eq!(f.control.webhooks(SPACE).map(|w| w.len()), Ok(0));
    let mut other = Receiver::start().await;
    register(&f, &other.url).await;
    f.control
        .update_contact(
            SPACE,
            c["id"].as_str().unwrap_or_default(),
            obj(json!({"city": "Oslo"})),
        )
        .expect("edit");
    other.next().await;
    assert!(
        hook_rx.rx.try_recv().is_err(),
        "deleted webhook stays quiet"
    );
    other.stop().await;
    hook_rx.stop().await;
    f.sim.stop().await;
}

#[actix_web::test]
async fn webhook_options_narrow_deliveries() {
    let f = Fixture::start(12).await;
    let mut hook_rx = Receiver::start().await;
    let other = f
        .control
        .add_client(
            SPACE,
            super::ClientSeed {
                email: "x@example.com".into(),
                ..Default::default()
            },
        )
        .expect("client");
    let (status, _) = f
        .post(
            "/entities/Webhooks",
            json!({
                "url": hook_rx.url,
                "events": ["Contact.Create", "Contact.Update"],
                "insecure_ssl": false,
                "client_id": f.owner_id,
                "options": {"entity": {"Contact": {
                    "filter": {"owner_id": [f.owner_id]},
                    "on-field-change": ["email1"],
                    "load-only": ["id", "email1"],
                }}},
            }),
        )
        .await;
    assert_eq!(status, 201);
    // Owned by someone else: filtered out. Private to someone else: not visible.
    f.control
        .create_contact(
            SPACE,
            obj(json!({"owner_id": other["id"], "last_name": "Theirs"})),
        )
        .expect("create");
    let c = f.seed_contact("Mine", "Mine", "a@example.com");
    let first = hook_rx.next().await;
    let events: Value = serde_json::from_slice(&first.body).expect("JSON");
    assert_eq!(
        events[0]["entity"],
        json!({"id": c["id"], "email1": "a@example.com"})
    );
    let id = c["id"].as_str().unwrap_or_default();
    // A change to a field nobody watches is not sent; a change to email1 is.
    f.control
        .update_contact(SPACE, id, obj(json!({"city": "Quito"})))
        .expect("edit");
    f.control
        .update_contact(SPACE, id, obj(json!({"email1": "b@example.com"})))
        .expect("edit");
    let second = hook_rx.next().await;
    let events: Value = serde_json::from_slice(&second.body).expect("JSON");
    assert_eq!(events[0]["event"], "Contact.Update");
    assert_eq!(events[0]["entity"]["email1"], "b@example.com");
    hook_rx.stop().await;
    f.sim.stop().await;
}

#[actix_web::test]
async fn a_webhook_client_is_not_told_about_private_contacts_it_cannot_see() {
    let f = Fixture::start(13).await;
    let mut hook_rx = Receiver::start().await;
    let other = f
        .control
        .add_client(
            SPACE,
            super::ClientSeed {
                email: "o@example.com".into(),
                ..Default::default()
            },
        )
        .expect("client");
    let body = json!({"url": hook_rx.url, "events": ["Contact.*"], "insecure_ssl": false, "client_id": f.owner_id});
    assert_eq!(f.post("/entities/Webhooks", body).await.0, 201);
    let private = json!({"owner_id": other["id"], "last_name": "Private", "share_mode": 1});
    f.control
        .create_contact(SPACE, obj(private))
        .expect("private");
    let public = json!({"owner_id": other["id"], "last_name": "Public"});
    f.control
        .create_contact(SPACE, obj(public))
        .expect("public");
    let got = hook_rx.next().await;
    let events: Value = serde_json::from_slice(&got.body).expect("JSON");
    assert_eq!(events[0]["entity"]["last_name"], "Public");
    hook_rx.stop().await;
    f.sim.stop().await;
}

#[actix_web::test]
async fn batch_writes_are_delivered_in_chunks() {
    let f = Fixture::start(14).await;
    let mut hook_rx = Receiver::start().await;
    let body = json!({"url": hook_rx.url, "events": ["Contact.*"], "insecure_ssl": false, "options": {"chunk_size": 2}});
    assert_eq!(f.post("/entities/Webhooks", body).await.0, 201);
    let colleague = f
        .control
        .add_client(
            SPACE,
            super::ClientSeed {
                email: "k@example.com".into(),
                ..Default::default()
            },
        )
        .expect("client");
    let items: Vec<Value> = (0..3)
        .map(|i| json!({"owner_id": f.owner_id, "last_name": format!("Batch{i}")}))
        .collect();
    let (status, created) = f
        .post("/entities/Contacts/batch-modify", Value::Array(items))
        .await;
    assert_eq!(status, 200);
    let sizes = [hook_rx.next().await, hook_rx.next().await]
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).map(|v| v.as_array().map(Vec::len)))
        .collect::<Result<Vec<_>, _>>()
        .expect("JSON");
    assert_eq!(sizes, vec![Some(2), Some(1)]);

    let id = created["data"][0].clone();
    let (status, _) = f
        .patch(
            &format!("/entities/Contacts/{}", id.as_str().unwrap_or_default()),
            json!({"owner_id": colleague["id"]}),
        )
        .await;
    assert_eq!(status, 200);
    let events: Value = serde_json::from_slice(&hook_rx.next().await.body).expect("JSON");
    let names: Vec<&str> = events
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["event"].as_str())
        .collect();
    assert_eq!(names, vec!["Contact.Update", "Contact.OwnerChanged"]);
    hook_rx.stop().await;
    f.sim.stop().await;
}
