//! Restarts keep everything, purges drop what they say, and no secret is readable in
//! answers, logs or the data directory.

use std::path::Path;

use exsync::ids::{SpaceId, UserId};
use exsync::store::links::{LinkRecord, LinkStateJson};
use exsync::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{enabled_space, logs, user_body, TestServer};

const JANE: &str = "/api/v1/spaces/acme/users/jane";

#[actix_web::test]
async fn spaces_users_settings_and_the_switch_survive_a_restart() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let mut body = user_body("jane@acme.com", "crm_to_exchange");
    body["settings"]["sync_preference"] = json!("accessible");
    server.call(Method::PUT, JANE, Some(body)).await;
    server
        .call(Method::POST, &format!("{JANE}/pause"), None)
        .await;
    let (_, space_before) = server.get("/api/v1/spaces/acme").await;
    let (_, user_before) = server.get(JANE).await;

    let server = server.restart().await;
    let (status, space_after) = server.get("/api/v1/spaces/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(space_after, space_before);
    assert_eq!(space_after["integration_enabled"], true);
    let (_, user_after) = server.get(JANE).await;
    for key in ["email", "settings", "state", "activated_at"] {
        assert_eq!(
            user_after[key], user_before[key],
            "{key} survives a restart"
        );
    }
    assert_eq!(user_after["state"], "paused");
    assert_eq!(user_after["settings"]["sync_preference"], "accessible");
    server.stop().await;
}

fn seed_links_and_journal(data_dir: &Path) {
    let store = Store::open(data_dir, None).unwrap();
    let space = SpaceId::parse("acme").unwrap();
    let user = UserId::parse("jane").unwrap();
    store
        .put_link(
            &space,
            &user,
            &LinkRecord {
                exchange_id: "AAMkAD1".into(),
                crm_id: "crm-1".into(),
                linked_at: chrono::Utc::now(),
                state: LinkStateJson::default(),
            },
        )
        .unwrap();
    store.flush().unwrap();
}

fn links_and_journal(data_dir: &Path) -> (usize, usize) {
    let store = Store::open(data_dir, None).unwrap();
    let space = SpaceId::parse("acme").unwrap();
    let user = UserId::parse("jane").unwrap();
    (
        store.links(&space, &user, None, 100).unwrap().len(),
        store.journal(&space, &user, None, 100).unwrap().len(),
    )
}

#[actix_web::test]
async fn deactivation_keeps_links_and_purge_drops_links_and_journal() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "bidirectional")),
        )
        .await;
    server.post_empty(&format!("{JANE}/pause")).await;
    let server = server.restart_after(seed_links_and_journal).await;
    let (status, _) = server.call(Method::DELETE, JANE, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut counts = (0, 0);
    let server = server
        .restart_after(|dir| counts = links_and_journal(dir))
        .await;
    assert_eq!(counts.0, 1, "plain deactivation keeps links");
    assert!(counts.1 >= 2, "activation and deactivation are journaled");

    let (status, user) = server
        .call(Method::DELETE, &format!("{JANE}?purge=true"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "deactivated");
    let dir = server.stop().await;
    assert_eq!(links_and_journal(dir.path()), (0, 0));
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[actix_web::test]
async fn secrets_never_appear_in_answers_logs_or_the_data_directory() {
    let server = TestServer::start().await;
    enabled_space(&server, "secretive").await;
    let mut body = user_body("jane@acme.com", "bidirectional");
    body["credentials"] = json!({ "password": "ONPREM-PASSWORD-secretive" });
    server
        .call(
            Method::PUT,
            "/api/v1/spaces/secretive/users/jane",
            Some(body),
        )
        .await;
    server
        .call(
            Method::PUT,
            "/api/v1/spaces/secretive/users/jane",
            Some(user_body("jane@acme.com", "bidirectional")),
        )
        .await;
    server
        .call(
            Method::PATCH,
            "/api/v1/spaces/secretive",
            Some(json!({ "microsoft": { "client_secret": "ROTATED-GRAPH-SECRET-secretive" } })),
        )
        .await;
    server.get("/api/v1/spaces/secretive").await;
    server.get("/api/v1/spaces/secretive/users").await;
    server.get("/api/v1/spaces").await;
    let token = server.token.clone();
    let world = server.world.clone();
    let dir = server.stop().await;

    let world_secrets = world.secrets();
    let secrets = [
        world_secrets[0],
        world_secrets[1],
        "ROTATED-GRAPH-SECRET-secretive",
        "ONPREM-PASSWORD-secretive",
        token.as_str(),
    ];
    let answers = logs::answers();
    let captured = logs::captured();
    assert!(captured.contains("space registered"), "logs were captured");
    for secret in secrets {
        assert!(!answers.contains(secret), "an API answer holds {secret}");
        assert!(!captured.contains(secret), "the logs hold {secret}");
        for file in files_under(dir.path()) {
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds {secret} in plaintext",
                file.display()
            );
        }
    }
}
