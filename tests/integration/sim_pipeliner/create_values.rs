//! Values a create stores: `created` only in Pipeliner's documented form, and the
//! normalise-on-create switch (off by default) that trims text and reformats phones on
//! creates only.

use serde_json::{json, Value};

use super::{send, Fixture, SPACE};

/// The first contact the list shows with this `last_name`.
async fn listed(f: &Fixture, last_name: &str) -> Value {
    let (status, body) = f.get("/entities/Contacts?first=100").await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["last_name"] == last_name).cloned())
        .unwrap_or(Value::Null)
}

#[actix_web::test]
async fn created_is_taken_on_create_only_in_the_documented_form() {
    let f = Fixture::start(60).await;
    let (status, made) = f
        .post(
            "/entities/Contacts",
            json!({"owner_id": f.owner_id, "last_name": "Early", "created": "2019-01-01T00:00:00"}),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["data"]["created"], "2019-01-01T00:00:00");
    assert_eq!(listed(&f, "Early").await["created"], "2019-01-01T00:00:00");
    let id = made["data"]["id"].as_str().unwrap_or_default().to_owned();
    let (_, got) = f.get(&format!("/entities/Contacts/{id}")).await;
    assert_eq!(got["data"]["created"], "2019-01-01T00:00:00");

    let batch =
        json!([{"owner_id": f.owner_id, "last_name": "Batched", "created": "2020-02-29T23:59:59"}]);
    let (status, body) = f.post("/entities/Contacts/batch-modify", batch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        listed(&f, "Batched").await["created"],
        "2020-02-29T23:59:59"
    );

    for bad in [
        json!("2026-01-01 10:00:00"),
        json!("2026-01-01T10:00:00Z"),
        json!("2026-01-01T10:00:00.000"),
        json!(" 2026-01-01T10:00:00"),
        json!(20260101),
        json!(null),
    ] {
        let body = json!({"owner_id": f.owner_id, "last_name": "Refused", "created": bad});
        let (status, refused) = f.post("/entities/Contacts", body).await;
        assert_eq!(status, 400, "{bad}: {refused}");
        assert_eq!(refused["name"], "ERROR_PARAMETER_INVALID", "{bad}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("'created'")),
            "{refused}"
        );
    }
    assert_eq!(listed(&f, "Refused").await, Value::Null, "nothing created");

    // An update ignores `created`, whatever its form.
    for ignored in [json!("2026-01-01 10:00:00"), json!("2021-05-05T05:05:05")] {
        let path = format!("/entities/Contacts/{id}");
        let (status, body) = f.patch(&path, json!({"created": ignored})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["created"], "2019-01-01T00:00:00");
    }
    f.sim.stop().await;
}

#[actix_web::test]
async fn creates_are_normalised_only_when_switched_on() {
    let f = Fixture::start(61).await;
    let messy = |last: &str| {
        json!({"owner_id": f.owner_id, "first_name": "  Ann   Lee ", "last_name": last,
            "phone1": " +1 (555) 010-0100 ", "city": " New \t York "})
    };
    assert!(!f.control.normalize_on_create(), "off by default");
    let (status, _) = f.post("/entities/Contacts", messy("Raw")).await;
    assert_eq!(status, 201);
    let raw = listed(&f, "Raw").await;
    assert_eq!(
        (&raw["first_name"], &raw["phone1"]),
        (&json!("  Ann   Lee "), &json!(" +1 (555) 010-0100 "))
    );

    let ctl = format!("{}/_sim/pipeliner/normalize-on-create", f.sim.service_url());
    let (status, body) = send(f.http.put(&ctl).json(&json!({"enabled": true}))).await;
    assert_eq!((status, body), (200, json!({"enabled": true})));
    assert_eq!(send(f.http.get(&ctl)).await.1, json!({"enabled": true}));
    assert!(f.control.normalize_on_create());

    let (status, made) = f.post("/entities/Contacts", messy(" Lee  ")).await;
    assert_eq!(status, 201, "{made}");
    let clean = listed(&f, "Lee").await;
    assert_eq!(clean["first_name"], "Ann Lee");
    assert_eq!(clean["phone1"], "+15550100100");
    assert_eq!(clean["city"], "New York");
    let (status, body) = f
        .post("/entities/Contacts/batch-modify", json!([messy("Batch ")]))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(listed(&f, "Batch").await["phone1"], "+15550100100");

    // Updates are stored as sent.
    let id = clean["id"].as_str().unwrap_or_default();
    let (status, updated) = f
        .patch(
            &format!("/entities/Contacts/{id}"),
            json!({"first_name": "  Ann   Lee ", "phone1": " +1 (555) 010-0100 "}),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    let stored = f
        .control
        .contact(SPACE, id)
        .ok()
        .flatten()
        .unwrap_or_default();
    assert_eq!(stored["first_name"], "  Ann   Lee ");
    assert_eq!(stored["phone1"], " +1 (555) 010-0100 ");

    f.control.set_normalize_on_create(false);
    assert_eq!(send(f.http.get(&ctl)).await.1, json!({"enabled": false}));
    let (status, _) = f.post("/entities/Contacts", messy("Raw again")).await;
    assert_eq!(status, 201);
    assert_eq!(listed(&f, "Raw again").await["first_name"], "  Ann   Lee ");
    let (status, _) = send(f.http.put(&ctl).json(&json!({"enabled": "yes"}))).await;
    assert_eq!(status, 400, "a boolean is required");
    f.sim.stop().await;
}
