//! Restarts keep everything, an acknowledged admin change survives the process being
//! killed, purges drop what they say, and no secret is readable in answers, logs or the
//! data directory.

use std::path::Path;

use exsync::ids::{SpaceId, UserId};
use exsync::store::links::{LinkRecord, LinkStateJson};
use exsync::store::Store;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{enabled_space, logs, random_token, space_body, user_body, TestServer};

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

/// The exsync binary serving `data_dir` on a free loopback port, and its base URL. The
/// caller kills and waits for it.
#[allow(clippy::zombie_processes)]
async fn spawn_exsync(data_dir: &Path, token: &str) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_exsync"))
        .arg("serve")
        .env("EXSYNC_BIND", format!("127.0.0.1:{port}"))
        .env("EXSYNC_DATA_DIR", data_dir)
        .env("EXSYNC_ADMIN_TOKEN", token)
        .env("EXSYNC_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("exsync starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let ready = reqwest::get(format!("{base}/readyz")).await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return (child, base);
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("exsync never got ready");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[actix_web::test]
async fn an_acknowledged_change_survives_the_process_being_killed() {
    let dir = tempfile::tempdir().unwrap();
    let token = random_token();
    let client = reqwest::Client::new();
    let (mut first, base) = spawn_exsync(dir.path(), &token).await;
    let created = client
        .post(format!("{base}/api/v1/spaces"))
        .bearer_auth(&token)
        .json(&space_body("acme"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    // SIGKILL at once: no shutdown flush, well inside the database's background period.
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, base) = spawn_exsync(dir.path(), &token).await;
    let found = client
        .get(format!("{base}/api/v1/spaces/acme"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(
        found.status(),
        StatusCode::OK,
        "the registration acknowledged before the kill is there"
    );
}
