//! The webhook receivers: Graph's validation handshake, malformed bodies, and Pipeliner's
//! signature check.

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

#[actix_web::test]
async fn pipeliner_deliveries_need_the_space_signature() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let server = server
        .restart_after(|dir| {
            let store = Store::open(dir, None).unwrap();
            let space = SpaceId::parse("acme").unwrap();
            let signature = store
                .seal(
                    &signature_context(&space),
                    &SecretString::from(SIGNATURE.to_owned()),
                )
                .unwrap();
            store
                .put_space_hook(
                    &space,
                    &SpaceHookRecord {
                        webhook_id: "hook-1".into(),
                        url: "http://127.0.0.1/webhooks/pipeliner/acme".into(),
                        signature,
                    },
                )
                .unwrap();
            store.flush().unwrap();
        })
        .await;
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
