//! `GET /metrics`: who may scrape it, and what a user syncing both ways leaves in it.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{ServerOptions, TestServer};
use crate::e2e::rig::{settings, Rig};

/// A read-only metrics token, long enough for the configuration.
const METRICS_TOKEN: &str = "metrics-token-5f0c9a1e3b7d4c2a8e6f1b0d9c3a7e5f";

/// A scrape's status, `Content-Type` and body.
async fn scrape(
    server: &TestServer,
    token: Option<&str>,
    accept: Option<&str>,
) -> (StatusCode, String, String) {
    let mut request = server.raw(Method::GET, "/metrics");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("scrape answered");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

/// The metrics, scraped with the admin token.
async fn metrics(server: &TestServer) -> String {
    let (status, _, body) = scrape(server, Some(&server.token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The value of the sample `series` (name and labels as exported); 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Every label value in the exposition.
fn label_values(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            line.split_once('{')
                .and_then(|(_, rest)| rest.split_once('}'))
        })
        .flat_map(|(labels, _)| {
            labels
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(_, value)| value.trim_matches('"').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[actix_web::test]
async fn metrics_take_the_admin_or_the_metrics_token_and_nothing_else() {
    let server = TestServer::start_with(
        std::sync::Arc::new(tempfile::tempdir().expect("temp dir")),
        crate::common::random_token(),
        ServerOptions {
            metrics_token: Some(METRICS_TOKEN),
            ..ServerOptions::default()
        },
    )
    .await;

    for (token, code) in [
        (None, "missing_token"),
        (
            Some("not-a-token-of-this-server-at-all-0000"),
            "invalid_token",
        ),
    ] {
        let (status, content_type, body) = scrape(&server, token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        let error: Value = serde_json::from_str(&body).expect("a JSON error");
        assert_eq!(error["code"], code, "{body}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }

    for token in [server.token.as_str(), METRICS_TOKEN] {
        let (status, content_type, body) = scrape(&server, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        assert!(
            body.contains("# TYPE exsync_cycles_total counter"),
            "{body}"
        );
        assert!(body.contains("exsync_build_info{version=\""), "{body}");
    }
    let (status, content_type, body) = scrape(
        &server,
        Some(METRICS_TOKEN),
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");

    // The metrics token opens nothing else.
    for path in ["/api/v1/spaces", "/api/v1/status"] {
        let response = server
            .raw(Method::GET, path)
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let error: Value = response.json().await.expect("a JSON error");
        assert_eq!(error["code"], "invalid_token", "{path}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn a_user_syncing_both_ways_shows_in_the_metrics_without_naming_anyone() {
    const ANN: &str = "ann@acme.example";
    let rig = Rig::start(23, ServerOptions::default()).await;
    let owner = rig.world.add_person(ANN);
    rig.world.crm_create(json!({
        "owner_id": owner, "first_name": "Grace", "last_name": "Hopper", "email1": "grace@navy.example"
    }));
    let (status, body) = rig
        .activate(
            "ann",
            ANN,
            settings("bidirectional", false, json!({ "create": {} })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Stored by exsync too: a notification Graph sends before that counts as one for an
    // unknown subscription, not as accepted.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !rig.user("ann").await["sync"]["subscription_expires_at"].is_string() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no subscription stored\n{}",
            rig.explain("ann").await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let folder = rig
        .world
        .graph()
        .folder_id(ANN, "Pipeliner (Acme)")
        .expect("the folder exsync created");
    rig.world
        .graph()
        .create_contact(
            ANN,
            &folder,
            json!({ "givenName": "Alan", "surname": "Turing", "emailAddresses": [{ "address": "alan@bletchley.example" }] }),
        )
        .expect("contact created");
    rig.until("ann", "the Exchange contact reaches Pipeliner", || {
        rig.world
            .crm_contacts()
            .iter()
            .any(|c| c["email1"] == "alan@bletchley.example")
    })
    .await;

    // A notification for the user's subscription with a wrong clientState is dropped
    // and counted.
    let subscription = rig.world.graph().subscriptions()[0]["id"]
        .as_str()
        .expect("subscription id")
        .to_owned();
    let response = rig
        .server
        .raw(Method::POST, "/webhooks/graph")
        .json(&json!({ "value": [{
            "subscriptionId": subscription,
            "clientState": "not-the-secret",
            "changeType": "updated",
            "resource": "Users/x/Contacts/y"
        }]}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let wrong = "exsync_notifications_total{source=\"graph\",outcome=\"wrong_secret\"}";
    let at_least_one = [
        wrong,
        "exsync_cycles_total{result=\"ok\"}",
        "exsync_cycle_duration_seconds_count{kind=\"full\"}",
        "exsync_records_written_total{side=\"exchange\",operation=\"create\"}",
        "exsync_records_written_total{side=\"pipeliner\",operation=\"create\"}",
        "exsync_change_lag_seconds_count{side=\"pipeliner\"}",
        "exsync_upstream_requests_total{service=\"graph\",route=\"token\",status=\"2xx\"}",
        "exsync_upstream_requests_total{service=\"graph\",route=\"delta\",status=\"2xx\"}",
        "exsync_upstream_requests_total{service=\"graph\",route=\"batch\",status=\"2xx\"}",
        "exsync_upstream_requests_total{service=\"pipeliner\",route=\"contacts\",status=\"2xx\"}",
        "exsync_upstream_requests_total{service=\"pipeliner\",route=\"contacts_batch\",status=\"2xx\"}",
        "exsync_subscription_operations_total{service=\"graph\",operation=\"create\",result=\"ok\"}",
        "exsync_subscription_operations_total{service=\"pipeliner\",operation=\"create\",result=\"ok\"}",
        "exsync_notifications_total{source=\"graph\",outcome=\"accepted\"}",
    ];
    // The cycle counts its writes once they are answered and itself once its result is
    // recorded, the notification once it is checked in the background: look until all
    // of it shows.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = metrics(&rig.server).await;
        let missing: Vec<&str> = at_least_one
            .iter()
            .copied()
            .filter(|series| sample(&text, series) < 1.0)
            .collect();
        if missing.is_empty() {
            break text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing {missing:?} in\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(sample(&text, wrong), 1.0, "{text}");
    for (series, value) in [
        ("exsync_users{state=\"activated\"}", 1.0),
        ("exsync_users{state=\"error\"}", 0.0),
        ("exsync_spaces", 1.0),
        ("exsync_user_actors", 1.0),
        ("exsync_cycles_total{result=\"failed\"}", 0.0),
    ] {
        assert_eq!(sample(&text, series), value, "{series} in\n{text}");
    }
    assert!(sample(&text, "exsync_process_resident_memory_bytes") > 0.0);

    let values = label_values(&text);
    assert!(values.len() > 100, "{values:?}");
    for value in &values {
        for name in ["ann", "@", "acme", "grace", "alan", &subscription] {
            assert!(
                !value.to_lowercase().contains(name),
                "the label value {value:?} names {name:?}"
            );
        }
        assert!(!value.contains('/'), "the label value {value:?} is a path");
    }
    rig.stop().await;
}
