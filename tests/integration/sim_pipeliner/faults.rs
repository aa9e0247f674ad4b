//! Fault injection contracts: 429 bursts with Retry-After, error rates deterministic for
//! a seed, malformed bodies, dropped connections, stalled answers after a skip, lost and
//! duplicated deliveries, and the control API over HTTP.

use exsync::sim::pipeliner::{
    DeliveryFaultKind, DeliveryFaultRule, FaultKind, FaultPlan, FaultRule,
};
use serde_json::{json, Value};

use super::{Fixture, Receiver, SPACE};

fn rule(route: &str, kind: FaultKind, rate: f64, count: Option<u32>) -> FaultRule {
    FaultRule {
        route: route.into(),
        kind,
        rate,
        count,
        skip: 0,
    }
}

#[actix_web::test]
async fn bursts_of_429_carry_retry_after() {
    let f = Fixture::start(20).await;
    f.control.add_fault(rule(
        "contacts.list",
        FaultKind::TooManyRequests {
            retry_after_secs: 7,
        },
        1.0,
        Some(2),
    ));
    for _ in 0..2 {
        let resp = f
            .request(reqwest::Method::GET, "/entities/Contacts")
            .send()
            .await
            .expect("sent");
        assert_eq!(resp.status().as_u16(), 429);
        assert_eq!(
            resp.headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        let body: Value = resp.json().await.expect("error envelope");
        assert_eq!(
            (body["success"].clone(), body["http_status"].clone()),
            (json!(false), json!(429))
        );
    }
    assert_eq!(f.get("/entities/Contacts").await.0, 200, "burst over");
    assert_eq!(
        f.get("/entities/Clients").await.0,
        200,
        "other routes untouched"
    );
    let counts = f.control.request_counts();
    assert_eq!(counts.get("contacts.list"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("clients.list"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("throttled"), Some(&2), "{counts:?}");
    f.sim.stop().await;
}

/// The statuses of 40 lists under a 50 % error rule, and the id of a created contact.
async fn statuses(seed: u64) -> (Vec<u16>, Value) {
    let f = Fixture::start(seed).await;
    let id = f.seed_contact("Dee", "Terministic", "")["id"].clone();
    f.control.set_faults(FaultPlan {
        rules: vec![rule(
            "contacts.*",
            FaultKind::Error {
                status: 503,
                retry_after_secs: None,
            },
            0.5,
            None,
        )],
        deliveries: vec![],
    });
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(f.get("/entities/Contacts").await.0);
    }
    f.sim.stop().await;
    (out, id)
}

#[actix_web::test]
async fn faults_are_deterministic_for_a_seed() {
    let a = statuses(42).await;
    let b = statuses(42).await;
    let c = statuses(43).await;
    assert_eq!(a, b, "same seed, same faults and ids");
    assert_ne!(a.0, c.0, "another seed, other faults");
    assert_ne!(a.1, c.1, "another seed, other ids");
    assert!(a.0.contains(&503) && a.0.contains(&200), "{a:?}");
}

#[actix_web::test]
async fn malformed_bodies_and_dropped_connections_still_apply_writes() {
    let f = Fixture::start(21).await;
    f.control.add_fault(rule(
        "contacts.create",
        FaultKind::MalformedJson,
        1.0,
        Some(1),
    ));
    let body = json!({"owner_id": f.owner_id, "last_name": "Garbled"});
    let resp = f
        .request(reqwest::Method::POST, "/entities/Contacts")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status().as_u16(), 201);
    assert!(resp.json::<Value>().await.is_err(), "body is not JSON");
    assert_eq!(
        f.control.contacts(SPACE, false).map(|c| c.len()),
        Ok(1),
        "write applied"
    );

    f.control.add_fault(rule(
        "contacts.create",
        FaultKind::DropConnection,
        1.0,
        Some(1),
    ));
    let sent = f
        .request(reqwest::Method::POST, "/entities/Contacts")
        .json(&body)
        .send()
        .await;
    let failed = match sent {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(failed, "the answer never completes");
    assert_eq!(
        f.control.contacts(SPACE, false).map(|c| c.len()),
        Ok(2),
        "write applied"
    );

    f.control.add_fault(rule(
        "*",
        FaultKind::Error {
            status: 500,
            retry_after_secs: Some(2),
        },
        1.0,
        Some(1),
    ));
    let resp = f
        .request(reqwest::Method::POST, "/entities/Contacts")
        .json(&body)
        .send()
        .await
        .expect("sent");
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    assert_eq!(resp.status().as_u16(), 500);
    let err: Value = resp.json().await.expect("error envelope");
    assert_eq!(err["http_status"], 500);
    assert_eq!(
        f.control.contacts(SPACE, false).map(|c| c.len()),
        Ok(2),
        "not applied"
    );
    f.sim.stop().await;
}

#[actix_web::test]
async fn deliveries_can_be_lost_or_duplicated() {
    let f = Fixture::start(22).await;
    let mut hook_rx = Receiver::start().await;
    let (status, _) = f
        .post(
            "/entities/Webhooks",
            json!({"url": hook_rx.url, "events": ["*"], "insecure_ssl": false}),
        )
        .await;
    assert_eq!(status, 201);
    f.control.add_delivery_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Lose,
        rate: 1.0,
        count: Some(1),
    });
    f.control.add_delivery_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Duplicate,
        rate: 1.0,
        count: Some(1),
    });
    f.seed_contact("Lost", "One", "");
    f.seed_contact("Twice", "Two", "");
    let first = hook_rx.next().await;
    let second = hook_rx.next().await;
    assert_eq!(first.body, second.body, "duplicated");
    let events: Value = serde_json::from_slice(&first.body).expect("JSON");
    assert_eq!(events[0]["entity"]["first_name"], "Twice");
    assert_eq!(f.control.deliveries()[0].outcome, "lost");
    hook_rx.stop().await;
    f.sim.stop().await;
}

#[actix_web::test]
async fn control_api_over_http() {
    let f = Fixture::start(23).await;
    let ctl = |p: &str| format!("{}/_sim/pipeliner{p}", f.sim.service_url());
    let http = &f.http;
    let (status, space) = super::send(
        http.post(ctl("/spaces"))
            .json(&json!({"id": "s2", "name": "Two", "api_key": "k2", "api_secret": "s2"})),
    )
    .await;
    assert_eq!((status, space["id"].clone()), (200, json!("s2")));
    let (status, _) = super::send(
        http.post(ctl("/spaces"))
            .json(&json!({"id": "s2", "name": "Two", "api_key": "k", "api_secret": "s"})),
    )
    .await;
    assert_eq!(status, 409);
    let (_, client) = super::send(
        http.post(ctl("/spaces/s2/clients"))
            .json(&json!({"email": "u@example.com"})),
    )
    .await;
    let (status, field) = super::send(
        http.post(ctl("/spaces/s2/fields"))
            .json(&json!({"api_name": "cf_tier", "required": true})),
    )
    .await;
    assert_eq!(
        (status, field["system_required"].clone()),
        (200, json!(true))
    );
    let (status, refused) = super::send(
        http.post(ctl("/spaces/s2/contacts"))
            .json(&json!({"owner_id": client["id"], "last_name": "X"})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    let (status, c) = super::send(
        http.post(ctl("/spaces/s2/contacts"))
            .json(&json!({"owner_id": client["id"], "last_name": "X", "cf_tier": "gold"})),
    )
    .await;
    assert_eq!(status, 200);
    let id = c["id"].as_str().unwrap_or_default();
    let (_, edited) = super::send(
        http.patch(ctl(&format!("/spaces/s2/contacts/{id}")))
            .json(&json!({"city": "Rome"})),
    )
    .await;
    assert_eq!(edited["city"], "Rome");
    let (_, shared) = super::send(
        http.post(ctl(&format!("/spaces/s2/contacts/{id}/sharing")))
            .json(&json!({"client_id": client["id"], "role": 1})),
    )
    .await;
    assert_eq!(shared["sharing_clients"].as_array().map(Vec::len), Some(1));
    let (status, _) = super::send(http.delete(ctl(&format!("/spaces/s2/contacts/{id}")))).await;
    assert_eq!(status, 200);
    let (status, _) =
        super::send(http.post(ctl(&format!("/spaces/s2/contacts/{id}/restore")))).await;
    assert_eq!(status, 200);
    let (status, _) = super::send(http.delete(ctl(&format!("/spaces/s2/contacts/{id}")))).await;
    assert_eq!(status, 200);
    let (_, live) = super::send(http.get(ctl("/spaces/s2/contacts"))).await;
    let (_, all) = super::send(http.get(ctl("/spaces/s2/contacts?include_deleted=true"))).await;
    assert_eq!(
        (live.as_array().map(Vec::len), all.as_array().map(Vec::len)),
        (Some(0), Some(1))
    );
    let (status, plan) = super::send(http.put(ctl("/faults")).json(&json!({"rules": [{"route": "contacts.list", "kind": "too_many_requests", "retry_after_secs": 3, "count": 1}]}))).await;
    assert_eq!((status, plan["rules"][0]["count"].clone()), (200, json!(1)));
    assert_eq!(f.get("/entities/Contacts").await.0, 429);
    let (_, plan) = super::send(http.get(ctl("/faults"))).await;
    assert_eq!(plan["rules"][0]["count"], 0);
    let (status, _) = super::send(http.delete(ctl("/faults"))).await;
    assert_eq!(status, 200);
    let (status, _) = super::send(http.get(ctl("/spaces/nope"))).await;
    assert_eq!(status, 404);
    let (status, err) = super::send(http.post(ctl("/spaces")).json(&json!({"name": 1}))).await;
    assert_eq!(status, 400);
    assert!(err["error"].is_string());
    f.sim.stop().await;
}

#[actix_web::test]
async fn delayed_deliveries_are_overtaken_and_latency_slows_answers() {
    let f = Fixture::start(24).await;
    let mut hook_rx = Receiver::start().await;
    let body = json!({"url": hook_rx.url, "events": ["*"], "insecure_ssl": false});
    assert_eq!(f.post("/entities/Webhooks", body).await.0, 201);
    f.control.add_delivery_fault(DeliveryFaultRule {
        kind: DeliveryFaultKind::Delay { millis: 800 },
        rate: 1.0,
        count: Some(1),
    });
    f.seed_contact("Slow", "First", "");
    f.seed_contact("Fast", "Second", "");
    let first: Value = serde_json::from_slice(&hook_rx.next().await.body).expect("JSON");
    let second: Value = serde_json::from_slice(&hook_rx.next().await.body).expect("JSON");
    assert_eq!(first[0]["entity"]["first_name"], "Fast");
    assert_eq!(second[0]["entity"]["first_name"], "Slow");

    f.control.add_fault(rule(
        "fields.list",
        FaultKind::Latency { millis: 150 },
        1.0,
        Some(1),
    ));
    let started = std::time::Instant::now();
    assert_eq!(f.get("/entities/Fields").await.0, 200);
    assert!(started.elapsed() >= std::time::Duration::from_millis(150));
    hook_rx.stop().await;
    f.sim.stop().await;
}

/// `fut`'s output, or `Err` when it takes more than 10 s.
async fn within<F: std::future::Future>(fut: F) -> Result<F::Output, tokio::time::error::Elapsed> {
    tokio::time::timeout(std::time::Duration::from_secs(10), fut).await
}

/// Polls `done` until it holds, or panics after 10 s.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "{what} within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[actix_web::test]
async fn a_stalled_write_is_applied_before_its_answer_arrives() {
    let f = Fixture::start(25).await;
    // Stall only the 2nd batch-modify, for far longer than the test runs.
    f.control.add_fault(FaultRule {
        skip: 1,
        ..rule(
            "contacts.batch_modify",
            FaultKind::Stall { millis: 600_000 },
            1.0,
            Some(1),
        )
    });
    let item = |name: &str| json!([{"owner_id": f.owner_id, "last_name": name}]);
    let (status, _) = within(f.post("/entities/Contacts/batch-modify", item("Skipped")))
        .await
        .expect("the skipped request answers");
    assert_eq!(status, 200);

    let stalled = tokio::spawn(
        f.request(reqwest::Method::POST, "/entities/Contacts/batch-modify")
            .json(&item("Stalled"))
            .send(),
    );
    let has = |name: &str| {
        f.control
            .contacts(SPACE, false)
            .unwrap_or_default()
            .iter()
            .any(|c| c["last_name"] == name)
    };
    until("the stalled write applied", || has("Stalled")).await;
    // The simulator serves other requests meanwhile, and the count is used up.
    let (status, _) = within(f.get("/entities/Contacts"))
        .await
        .expect("a list answers during the stall");
    assert_eq!(status, 200);
    let (status, _) = within(f.post("/entities/Contacts/batch-modify", item("After")))
        .await
        .expect("the next batch-modify answers");
    assert_eq!(status, 200);
    assert!(!stalled.is_finished(), "the stalled answer has not arrived");
    stalled.abort();
    let plan = f.control.faults();
    assert_eq!((plan.rules[0].skip, plan.rules[0].count), (0, Some(0)));
    f.sim.stop().await;
}
