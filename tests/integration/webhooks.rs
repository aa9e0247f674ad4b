//! The webhook receivers: Graph's validation handshake, malformed bodies, and Pipeliner's
//! signature check.

use exsync::connectors::pipeliner::webhooks::WEBHOOK_OPTIONS_VERSION;
use exsync::http::webhooks::SIGNATURE_HEADER;
use exsync::ids::SpaceId;
use exsync::store::hooks::{signature_context, SpaceHookRecord};
use exsync::store::Store;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use sha2::Sha256;

use crate::common::{enabled_space, TestServer};

const SIGNATURE: &str = "6f1d2c3b-4a5e-4f70-8192-a3b4c5d6e7f8";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SIGNATURE.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[actix_web::test]
async fn graph_validation_tokens_are_echoed_as_plain_text() {
    let server = TestServer::start().await;
    for path in ["/webhooks/graph", "/webhooks/graph/lifecycle"] {
        let response = server
            .raw(Method::POST, &format!("{path}?validationToken=Validation%3A%20Testing%20client%20application%20reachability%20for%20subscription%20Request-Id%3A%2025b4b9"))
            .header("content-type", "text/plain")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        assert_eq!(
            response.text().await.unwrap(),
            "Validation: Testing client application reachability for subscription Request-Id: 25b4b9",
            "the token comes back URL-decoded"
        );
    }
    server.stop().await;
}

#[actix_web::test]
async fn graph_notifications_are_accepted_at_once_and_bad_bodies_refused() {
    let server = TestServer::start().await;
    let unknown = serde_json::json!({ "value": [{
        "subscriptionId": "no-such-subscription",
        "clientState": "guess",
        "changeType": "updated",
        "resource": "Users/x/Contacts/y"
    }]});
    let response = server
        .raw(Method::POST, "/webhooks/graph")
        .json(&unknown)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let response = server
        .raw(Method::POST, "/webhooks/graph")
        .header("content-type", "application/json")
        .body("{\"value\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");
    server.stop().await;
}

/// A server whose space `acme` is on and has a webhook stored, signed with [`SIGNATURE`].
async fn with_space_hook() -> TestServer {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    server
        .restart_after(|dir| {
            let store = Store::open(dir, None).unwrap();
            let space = SpaceId::parse("acme").unwrap();
            let signature = store
                .seal(
                    &signature_context(&space),
                    &SecretString::from(SIGNATURE.to_owned()),
                )
                .unwrap();
            let hook = SpaceHookRecord {
                webhook_id: "hook-1".into(),
                url: "http://127.0.0.1/webhooks/pipeliner/acme".into(),
                signature,
                options_version: WEBHOOK_OPTIONS_VERSION,
            };
            store.put_space_hook(&space, &hook).unwrap();
            store.flush().unwrap();
        })
        .await
}

#[actix_web::test]
async fn pipeliner_deliveries_need_the_space_signature() {
    let server = with_space_hook().await;
    let body = br#"[{"event":"Contact.Update","entity":{"id":"c1"}}]"#;
    let deliver = |signature: String, path: &'static str| {
        server
            .raw(Method::POST, path)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body.to_vec())
            .send()
    };
    let good = deliver(sign(body), "/webhooks/pipeliner/acme")
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::ACCEPTED);
    let forged = deliver(sign(b"something else"), "/webhooks/pipeliner/acme")
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = forged.json().await.unwrap();
    assert_eq!(body["code"], "invalid_signature");
    let missing = server
        .raw(Method::POST, "/webhooks/pipeliner/acme")
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let unknown = deliver(sign(body_of_empty()), "/webhooks/pipeliner/nope")
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    server.stop().await;
}

fn body_of_empty() -> &'static [u8] {
    b"[]"
}

/// The ERROR lines logged so far that mention `needle`.
fn error_lines(needle: &str) -> Vec<String> {
    crate::common::logs::captured()
        .lines()
        .filter(|l| l.contains(" ERROR ") && l.contains(needle))
        .map(|l| l.chars().take(300).collect())
        .collect()
}

#[actix_web::test]
async fn oversized_validation_tokens_get_the_json_error_shape_and_no_error_log() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start().await;
    // 60 KiB: the request line still parses, and exsync refuses to echo it.
    let token = "v".repeat(60 * 1024);
    let response = server
        .raw(
            Method::POST,
            &format!("/webhooks/graph?validationToken={token}"),
        )
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid_validation_token", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    // 64 KiB: longer than a URI may be, so the HTTP layer refuses it before exsync
    // sees it (reqwest will not even send it).
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let marker = "uri-too-long-marker";
    let request = format!(
        "POST /webhooks/graph?{marker}={} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n",
        "v".repeat(64 * 1024)
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "{}",
        &answer[..answer.len().min(200)]
    );

    // An oversized body: the framework's own 413 comes in the JSON shape too.
    let response = server
        .raw(Method::POST, "/webhooks/graph")
        .header("content-type", "application/json")
        .body(vec![b' '; 4 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large", "{body}");
    server.stop().await;

    let errors = error_lines("uri too long");
    assert!(
        errors.is_empty(),
        "the framework's parse error is not an ERROR: {errors:?}"
    );
    assert!(
        crate::common::logs::captured()
            .lines()
            .any(|l| l.contains(" WARN ") && l.contains("uri too long")),
        "it is a warning"
    );
}

#[actix_web::test]
async fn a_flood_of_forged_graph_notifications_writes_one_warning_with_the_count() {
    use exsync::store::hooks::{client_state_context, SubscriptionRecord};
    let subscription = format!("sub-flood-{}", rand::random::<u32>());
    let server = TestServer::start()
        .await
        .restart_after(|dir| {
            let store = Store::open(dir, None).unwrap();
            let client_state = store
                .seal(
                    &client_state_context(&subscription),
                    &SecretString::from("the-right-client-state".to_owned()),
                )
                .unwrap();
            store
                .put_subscription(&SubscriptionRecord {
                    id: subscription.clone(),
                    space: SpaceId::parse("acme").unwrap(),
                    user: exsync::ids::UserId::parse("jane").unwrap(),
                    folder_id: "folder-1".into(),
                    client_state,
                    expires_at: chrono::Utc::now() + chrono::Duration::hours(24),
                })
                .unwrap();
            store.flush().unwrap();
        })
        .await;
    let forged: Vec<_> = (0..1000)
        .map(|i| {
            serde_json::json!({
                "subscriptionId": subscription,
                "clientState": format!("guess-{i}"),
                "changeType": "updated",
                "resource": "Users/x/Contacts/y"
            })
        })
        .collect();
    let response = server
        .raw(Method::POST, "/webhooks/graph")
        .json(&serde_json::json!({ "value": forged }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let warnings = || {
        crate::common::logs::captured()
            .lines()
            .filter(|l| l.contains("wrong clientState") && l.contains(&subscription))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut waited = 0;
    while warnings().is_empty() && waited < 500 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    let found = warnings();
    assert_eq!(
        found.len(),
        1,
        "one line per request: {:?}",
        &found[..found.len().min(3)]
    );
    assert!(
        found[0].contains(" WARN ") && found[0].contains("count=1000"),
        "{}",
        found[0]
    );
    server.stop().await;
}

/// Polls `check` every 20 ms for up to 20 s.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if check() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

#[actix_web::test]
async fn a_full_chunk_of_the_largest_contacts_is_delivered_and_accepted() {
    use exsync::connectors::pipeliner::webhooks::{WEBHOOK_CHUNK_SIZE, WEBHOOK_LOAD_ONLY};
    use exsync::demo::world::PIPELINER_SPACE;
    let server = TestServer::start_with(
        std::sync::Arc::new(tempfile::tempdir().unwrap()),
        crate::common::random_token(),
        crate::common::ServerOptions {
            public_url: true,
            ..Default::default()
        },
    )
    .await;
    enabled_space(&server, "acme").await;
    let (status, user) = server
        .put(
            "/api/v1/spaces/acme/users/jane",
            crate::common::user_body("jane@acme.com", "bidirectional"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let crm = server.world.crm();
    eventually("the space's webhook is registered", || {
        crm.webhooks(PIPELINER_SPACE).is_ok_and(|w| !w.is_empty())
    })
    .await;
    let hook = crm.webhooks(PIPELINER_SPACE).unwrap()[0].clone();
    assert_eq!(hook["options"]["chunk_size"], WEBHOOK_CHUNK_SIZE);
    assert_eq!(
        hook["options"]["entity"]["Contact"]["load-only"],
        serde_json::json!(WEBHOOK_LOAD_ONLY)
    );

    // A hundred contacts with every text field long (Pipeliner bounds none): 1.5 MB of
    // fields, far over any body limit were they delivered whole.
    let owner = server.world.add_person("owner@acme.com");
    let long = |c: char, n: usize| c.to_string().repeat(n);
    let contacts: Vec<_> = (0..WEBHOOK_CHUNK_SIZE)
        .map(|i| {
            let mut contact = serde_json::json!({
                "owner_id": owner,
                "first_name": format!("Big{i}"),
                "comments": long('c', 10_000),
            });
            for field in [
                "last_name",
                "middle_name",
                "title",
                "position",
                "quick_account_name",
                "email1",
                "email2",
                "email3",
                "phone1",
                "phone2",
                "phone3",
                "phone4",
                "phone5",
                "address",
                "city",
                "state_province",
                "zip_code",
                "country",
            ] {
                contact[field] = serde_json::json!(long('x', 255));
            }
            contact
        })
        .collect();
    let space = server.world.space_body("x");
    let response = reqwest::Client::new()
        .post(format!(
            "{}/entities/Contacts/batch-modify",
            crm.space_url(PIPELINER_SPACE)
        ))
        .basic_auth(
            space["pipeliner"]["api_key"].as_str().unwrap(),
            space["pipeliner"]["api_secret"].as_str(),
        )
        .json(&contacts)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    eventually("the chunk of a hundred is delivered", || {
        crm.deliveries()
            .iter()
            .any(|d| d.event_count == WEBHOOK_CHUNK_SIZE && d.outcome == "delivered")
    })
    .await;
    let delivered: Vec<_> = crm
        .deliveries()
        .into_iter()
        .filter(|d| d.event_count == WEBHOOK_CHUNK_SIZE)
        .collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0].status, Some(202), "{delivered:?}");
    server.stop().await;
}

#[actix_web::test]
async fn the_pipeliner_route_takes_a_chunk_of_the_largest_events_and_no_more() {
    use exsync::http::webhooks::MAX_PIPELINER_DELIVERY;
    let server = with_space_hook().await;
    // A JSON array of exactly the limit, and one a byte longer.
    let array = |len: usize| {
        let event = br#"{"event":"Contact.Update","entity":{"id":"c1"}}"#;
        let mut body = b"[".to_vec();
        body.extend_from_slice(event);
        body.resize(len - 1, b' ');
        body.push(b']');
        body
    };
    for (len, status) in [
        (MAX_PIPELINER_DELIVERY, StatusCode::ACCEPTED),
        (MAX_PIPELINER_DELIVERY + 1, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let body = array(len);
        let response = server
            .raw(Method::POST, "/webhooks/pipeliner/acme")
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(&body))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{len} bytes");
        if status != StatusCode::ACCEPTED {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "payload_too_large", "{body}");
        }
    }
    server.stop().await;
}
