//! The users routes: activation, settings, status and the life-cycle actions.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{assert_error, enabled_space, user_body, TestServer};

const JANE: &str = "/api/v1/spaces/acme/users/jane@acme.com";

#[actix_web::test]
async fn activation_creates_then_reconfigures_and_reports_that_no_sync_ran() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let (status, user) = server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "bidirectional")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["state"], "activated");
    assert_eq!(user["settings"]["conflict_policy"], "newest");
    assert_eq!(user["status"]["last_sync_started_at"], json!(null));
    assert_eq!(user["summary"], "No sync has run yet.");
    let activated_at = user["activated_at"].clone();

    let mut body = user_body("jane@acme.com", "crm_to_exchange");
    body["settings"]["sync_preference"] = json!("accessible");
    let folder = server
        .world
        .graph()
        .create_folder("jane@acme.com", "Customers")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    body["settings"]["folder"] = json!({ "existing": folder });
    let client = server
        .world
        .crm()
        .contacts(exsync::demo::world::PIPELINER_SPACE, false)
        .unwrap();
    assert!(client.is_empty());
    body.as_object_mut().unwrap().remove("pipeliner_user_id");
    let (status, user) = server.call(Method::PUT, JANE, Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["activated_at"], activated_at);
    assert_eq!(user["settings"]["sync_preference"], "accessible");
    assert_eq!(user["settings"]["folder"]["existing"], folder.as_str());
    assert!(user["credentials"].is_null());

    let (status, list) = server.get("/api/v1/spaces/acme/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, shown) = server.get(JANE).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["email"], "jane@acme.com");
    assert_eq!(shown["status"]["counts"]["exchange"]["created"], 0);
    server.stop().await;
}

#[actix_web::test]
async fn crm_to_exchange_defaults_to_owned_contacts() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let (status, user) = server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "crm_to_exchange")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(user["settings"]["sync_preference"], "owned");
    server.stop().await;
}

#[actix_web::test]
async fn bad_activations_name_the_field_and_store_nothing() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;

    let mut preference = user_body("jane@acme.com", "bidirectional");
    preference["settings"]["sync_preference"] = json!("owned");
    let answer = server.put(JANE, preference).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(answer.1["details"]["field"], "settings.sync_preference");
    assert!(answer.1["message"]
        .as_str()
        .unwrap()
        .contains("crm_to_exchange"));

    let answer = server
        .put(JANE, user_body("not-an-email", "bidirectional"))
        .await;
    assert_eq!(answer.1["details"]["field"], "email");

    let long_id = format!("/api/v1/spaces/acme/users/{}", "u".repeat(129));
    let answer = server
        .put(&long_id, user_body("jane@acme.com", "bidirectional"))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(answer.1["details"]["field"], "user");

    let answer = server
        .put(JANE, user_body("jane@acme.com", "sideways"))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let mut unknown = user_body("jane@acme.com", "bidirectional");
    unknown["settings"]["speed"] = json!("fast");
    assert_error(
        &server.put(JANE, unknown).await,
        StatusCode::BAD_REQUEST,
        "unknown_field",
    );

    let mut empty_password = user_body("jane@acme.com", "bidirectional");
    empty_password["credentials"] = json!({ "password": "" });
    let answer = server.put(JANE, empty_password).await;
    assert_eq!(answer.1["details"]["field"], "credentials.password");

    let (_, list) = server.get("/api/v1/spaces/acme/users").await;
    assert_eq!(list, json!([]));
    assert_error(
        &server.get(JANE).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    server.stop().await;
}

#[actix_web::test]
async fn settings_change_in_part_and_keep_their_rules() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "crm_to_exchange")),
        )
        .await;
    let settings = format!("{JANE}/settings");
    let patch = |body| server.call(Method::PATCH, &settings, Some(body));

    let (status, user) =
        patch(json!({ "sync_preference": "accessible", "conflict_policy": "crm_wins" })).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["settings"]["sync_preference"], "accessible");
    assert_eq!(user["settings"]["conflict_policy"], "crm_wins");
    assert_eq!(user["settings"]["delete_protection"], true);

    let (status, user) = patch(json!({ "sync_type": "bidirectional" })).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        user["settings"].get("sync_preference").is_none(),
        "leaving crm_to_exchange drops the preference: {user}"
    );
    let answer = patch(json!({ "sync_preference": "owned" })).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(answer.1["details"]["field"], "settings.sync_preference");
    let answer = patch(json!({ "folder": { "existing": "" } })).await;
    assert_eq!(answer.1["details"]["field"], "settings.folder.existing");
    assert_error(
        &patch(json!({ "mode": 1 })).await,
        StatusCode::BAD_REQUEST,
        "unknown_field",
    );
    let (_, user) = server.get(JANE).await;
    assert_eq!(user["settings"]["sync_type"], "bidirectional");

    let answer = server
        .call(
            Method::PATCH,
            "/api/v1/spaces/acme/users/nobody/settings",
            Some(json!({ "delete_protection": false })),
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "user_not_found");
    server.stop().await;
}

#[actix_web::test]
async fn pause_resume_sync_and_deactivate_move_the_state() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "bidirectional")),
        )
        .await;
    let action = |name: &str| format!("{JANE}/{name}");

    let (status, user) = server.post_empty(&action("sync")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert!(user["status"]["sync_requested_at"].is_string());

    let (status, user) = server.post_empty(&action("pause")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "paused");
    assert_error(
        &server.post_empty(&action("sync")).await,
        StatusCode::CONFLICT,
        "user_paused",
    );
    let (_, user) = server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "bidirectional")),
        )
        .await;
    assert_eq!(user["state"], "paused", "reconfiguring does not resume");

    let (status, user) = server.post_empty(&action("resume")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "activated");

    let (status, user) = server.call(Method::DELETE, JANE, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["state"], "deactivated");
    for name in ["pause", "resume", "sync"] {
        assert_error(
            &server.post_empty(&action(name)).await,
            StatusCode::CONFLICT,
            "user_deactivated",
        );
    }
    let (status, user) = server
        .call(
            Method::PUT,
            JANE,
            Some(user_body("jane@acme.com", "bidirectional")),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        user["state"], "activated",
        "activating again revives the user"
    );

    let answer = server
        .call(Method::DELETE, &format!("{JANE}?purge=perhaps"), None)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_query");
    for name in ["pause", "resume", "sync"] {
        let answer = server
            .call(
                Method::POST,
                &format!("/api/v1/spaces/acme/users/ghost/{name}"),
                None,
            )
            .await;
        assert_error(&answer, StatusCode::NOT_FOUND, "user_not_found");
    }
    assert_error(
        &server
            .call(Method::DELETE, "/api/v1/spaces/acme/users/ghost", None)
            .await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    server.stop().await;
}

#[actix_web::test]
async fn activation_tests_the_connection_and_names_what_to_fix() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let answer = server
        .put(
            "/api/v1/spaces/acme/users/ghost",
            user_body("ghost@acme.com", "bidirectional"),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "mailbox_or_folder_not_found",
    );
    server
        .world
        .graph()
        .add_mailbox(exsync::demo::world::TENANT, "ghost@acme.com");
    let answer = server
        .put(
            "/api/v1/spaces/acme/users/ghost",
            user_body("ghost@acme.com", "bidirectional"),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pipeliner_user_not_found",
    );
    let mut body = user_body("jane@acme.com", "bidirectional");
    body["settings"]["folder"] = json!({ "existing": "no-such-folder" });
    assert_error(
        &server.put(JANE, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "mailbox_or_folder_not_found",
    );
    let mut body = user_body("jane@acme.com", "bidirectional");
    body["pipeliner_user_id"] = json!("not-a-client");
    assert_error(
        &server.put(JANE, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "pipeliner_user_not_found",
    );
    let (_, list) = server.get("/api/v1/spaces/acme/users").await;
    assert_eq!(list, json!([]), "failed connection tests store nothing");

    let (status, _) = server
        .call(
            Method::PATCH,
            "/api/v1/spaces/acme",
            Some(json!({ "microsoft": { "client_secret": "wrong-secret" } })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let answer = server
        .put(JANE, user_body("jane@acme.com", "bidirectional"))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "graph_sign_in_failed",
    );
    assert!(answer.1["message"]
        .as_str()
        .unwrap()
        .contains("client secret"));
    server.stop().await;
}

#[actix_web::test]
async fn on_premises_credentials_are_refused_until_ews_is_supported() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let mut body = user_body("jane@acme.com", "bidirectional");
    body["credentials"] = json!({ "password": "ONPREM-PASSWORD", "ews_url": "https://mail.acme.com/EWS/Exchange.asmx", "domain": "ACME" });
    let answer = server.put(JANE, body).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ews_not_supported",
    );
    assert!(!answer.1.to_string().contains("ONPREM-PASSWORD"));
    assert_error(
        &server.get(JANE).await,
        StatusCode::NOT_FOUND,
        "user_not_found",
    );
    server.stop().await;
}

#[actix_web::test]
async fn activation_tries_an_upstream_again_when_a_connection_drops() {
    use exsync::sim::faults::{FaultKind, FaultRule};
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let drop_once = |route: &str| FaultRule {
        route: route.into(),
        kind: FaultKind::DropConnection,
        rate: 1.0,
        count: Some(1),
        skip: 0,
    };
    server.world.graph().add_fault(drop_once("folders.list"));
    server.world.crm().add_fault(drop_once("clients.list"));
    let (status, user) = server
        .put(JANE, user_body("jane@acme.com", "bidirectional"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["state"], "activated");
    let used = |rules: Vec<FaultRule>| rules.iter().all(|r| r.count == Some(0));
    assert!(
        used(server.world.graph().faults().rules) && used(server.world.crm().faults().rules),
        "both connections were dropped once"
    );
    server.stop().await;
}
