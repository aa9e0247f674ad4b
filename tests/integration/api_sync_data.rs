//! The routes around a user's sync data: field mappings, the status summary, links and
//! journal pages, and decisions on pending mass deletes. Users are seeded straight into
//! the store (between server runs) so no upstream is needed.

use exsync::ids::{SpaceId, UserId};
use exsync::store::links::{LinkRecord, LinkStateJson};
use exsync::store::users::{SyncStatus, UserRecord, UserState};
use exsync::store::{Store, StoreError};
use exsync::sync::settings::SyncType;
use exsync::sync::user_settings::{FolderChoice, NewFolder, UserSettings};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{assert_error, enabled_space, TestServer};

const JANE: &str = "/api/v1/spaces/acme/users/jane";

fn seed_user(store: &Store, state: UserState, links: usize, events: usize) {
    let space = SpaceId::parse("acme").unwrap();
    let user = UserId::parse("jane").unwrap();
    let now = chrono::Utc::now();
    store
        .put_user(&UserRecord {
            space: space.clone(),
            id: user.clone(),
            email: "jane@acme.com".into(),
            pipeliner_user_id: None,
            credentials: None,
            settings: UserSettings {
                sync_type: SyncType::Bidirectional,
                sync_preference: None,
                delete_protection: true,
                folder: FolderChoice::Create(NewFolder::default()),
                conflict_policy: Default::default(),
            },
            state,
            activated_at: now,
            updated_at: now,
            status: SyncStatus::default(),
            reconcile_epoch: 0,
        })
        .unwrap();
    for i in 0..links {
        store
            .put_link(
                &space,
                &user,
                &LinkRecord {
                    exchange_id: format!("ex{i:03}"),
                    crm_id: format!("crm{i:03}"),
                    linked_at: now,
                    state: LinkStateJson::of(&json!({ "snapshot": { "exchange": { "given_name": "Ada", "email1": format!("ada{i}@x.com") }, "crm": {} } })).unwrap(),
                },
            )
            .unwrap();
    }
    for i in 0..events {
        store
            .append_journal(
                &space,
                &user,
                now,
                "note",
                format!("event {i}"),
                json!(null),
            )
            .unwrap();
    }
    store.flush().unwrap();
}

async fn server_with(state: UserState, links: usize, events: usize) -> TestServer {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    server
        .restart_after(|dir| {
            let store = Store::open(dir, None).unwrap();
            seed_user(&store, state, links, events);
        })
        .await
}

#[actix_web::test]
async fn field_mappings_show_the_default_table_and_keep_valid_custom_ones() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let (status, table) = server.get("/api/v1/field-mappings").await;
    assert_eq!(status, StatusCode::OK);
    let fields = table["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 20);
    assert!(fields.contains(&json!({ "field": "email2", "exchange": "emailAddresses[1].address", "pipeliner": "email2" })));
    assert!(fields.contains(
        &json!({ "field": "job_title", "exchange": "jobTitle", "pipeliner": "position" })
    ));
    assert!(table["custom_exchange_properties"]
        .as_array()
        .unwrap()
        .contains(&json!("birthday")));

    let path = "/api/v1/spaces/acme/field-mappings";
    assert_eq!(server.get(path).await.1, json!({ "custom": [] }));
    let custom = json!({ "custom": [{ "name": "birthday", "exchange": "birthday", "pipeliner": "cf_birthday" }] });
    let (status, saved) = server.put(path, custom.clone()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved, custom);
    assert_eq!(server.get(path).await.1, custom);

    let bad_field =
        json!({ "custom": [{ "name": "x", "exchange": "birthday", "pipeliner": "birthday" }] });
    assert_error(
        &server.put(path, bad_field).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let bad_property =
        json!({ "custom": [{ "name": "x", "exchange": "shoeSize", "pipeliner": "cf_shoe" }] });
    assert_error(
        &server.put(path, bad_property).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let unknown = json!({ "custom": [{ "name": "x", "exchange": "birthday", "pipeliner": "cf_b", "colour": 1 }] });
    assert_error(
        &server.put(path, unknown).await,
        StatusCode::BAD_REQUEST,
        "unknown_field",
    );
    assert_eq!(
        server.get(path).await.1,
        custom,
        "refused changes keep the old mappings"
    );
    assert_error(
        &server.get("/api/v1/spaces/nope/field-mappings").await,
        StatusCode::NOT_FOUND,
        "space_not_found",
    );
    server.stop().await;
}

#[actix_web::test]
async fn links_and_events_come_in_pages() {
    let server = server_with(UserState::Paused, 5, 7).await;
    let (status, first) = server.get(&format!("{JANE}/links?limit=2")).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let first_items = first["items"].as_array().unwrap();
    assert_eq!(first_items.len(), 2);
    assert_eq!(first_items[0]["name"], "Ada");
    let next = first["next"].as_str().unwrap().to_owned();
    assert_eq!(
        next, first_items[1]["exchange_id"],
        "next names the last link"
    );
    let (_, rest) = server
        .get(&format!("{JANE}/links?after={next}&limit=10"))
        .await;
    let rest_items = rest["items"].as_array().unwrap();
    assert_eq!(rest_items.len(), 3);
    assert!(rest["next"].is_null());
    let mut ids: Vec<&str> = first_items
        .iter()
        .chain(rest_items)
        .map(|link| link["exchange_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        ["ex000", "ex001", "ex002", "ex003", "ex004"],
        "the pages hold every link once"
    );

    let (_, events) = server.get(&format!("{JANE}/events?limit=4")).await;
    assert_eq!(events["items"].as_array().unwrap().len(), 4);
    let next = events["next"].as_str().unwrap().to_owned();
    let (_, more) = server
        .get(&format!("{JANE}/events?after={next}&limit=10"))
        .await;
    assert_eq!(more["items"].as_array().unwrap().len(), 3);
    assert_eq!(more["items"][2]["message"], "event 6");

    assert_error(
        &server.get(&format!("{JANE}/links?limit=0")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &server.get(&format!("{JANE}/events?after=abc")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_error(
        &server.get(&format!("{JANE}/links?colour=1")).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    );
    assert_error(
        &server.get("/api/v1/spaces/acme/users/ghost/links").await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    server.stop().await;
}

#[actix_web::test]
async fn pending_deletes_are_confirmed_or_rejected_once() {
    let server = server_with(UserState::NeedsConfirmation, 0, 0).await;
    let (status, user) = server.get(JANE).await;
    assert_eq!(status, StatusCode::OK);
    assert!(user["summary"]
        .as_str()
        .unwrap()
        .contains("confirm or reject"));
    let (status, user) = server.post_empty(&format!("{JANE}/deletes/reject")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        user["state"], "paused",
        "rejecting pauses the user and deletes nothing"
    );
    assert_error(
        &server.post_empty(&format!("{JANE}/deletes/confirm")).await,
        StatusCode::CONFLICT,
        "nothing_to_confirm",
    );
    let token = server.token.clone();
    let dir = server.stop().await;
    {
        let store = Store::open(dir.path(), None).unwrap();
        store
            .update_user(
                &SpaceId::parse("acme").unwrap(),
                &UserId::parse("jane").unwrap(),
                |u| {
                    u.state = UserState::NeedsConfirmation;
                    Ok::<_, StoreError>(())
                },
            )
            .unwrap();
        store.flush().unwrap();
    }
    let server = TestServer::start_in(dir, token).await;
    let (status, user) = server.post_empty(&format!("{JANE}/deletes/confirm")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "activated");
    let (_, events) = server.get(&format!("{JANE}/events")).await;
    let kinds: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].clone())
        .collect();
    assert!(
        kinds.contains(&json!("deletes_rejected")) && kinds.contains(&json!("deletes_confirmed"))
    );
    server.stop().await;
}

#[actix_web::test]
async fn the_status_summary_counts_users_per_state() {
    let server = server_with(UserState::Paused, 0, 0).await;
    let (status, summary) = server.get("/api/v1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary["users"], json!({ "paused": 1 }));
    assert_eq!(summary["spaces"][0]["space"], "acme");
    assert_eq!(summary["spaces"][0]["integration_enabled"], true);
    assert_eq!(summary["spaces"][0]["users"]["paused"], 1);
    let _ = server.call(Method::GET, "/api/v1/status", None).await;
    server.stop().await;
}
