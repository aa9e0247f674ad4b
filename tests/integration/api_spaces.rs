//! The spaces routes: every success path and each documented error.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{assert_error, space_body, user_body, TestServer};

#[actix_web::test]
async fn a_space_is_registered_listed_shown_changed_and_removed() {
    let server = TestServer::start().await;
    let (status, created) = server
        .call(Method::POST, "/api/v1/spaces", Some(space_body("acme")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(created["id"], "acme");
    assert_eq!(created["integration_enabled"], false);
    assert_eq!(created["pipeliner"]["api_secret_set"], true);
    assert_eq!(created["microsoft"]["client_secret_set"], true);
    assert_eq!(
        created["microsoft"]["graph_url"],
        "https://graph.microsoft.com/v1.0"
    );
    assert_eq!(
        created["microsoft"]["login_url"],
        "https://login.microsoftonline.com"
    );
    assert!(created["pipeliner"].get("api_secret").is_none());

    server
        .call(Method::POST, "/api/v1/spaces", Some(space_body("beta")))
        .await;
    let (status, list) = server.get("/api/v1/spaces").await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, [json!("acme"), json!("beta")]);

    let (status, shown) = server.get("/api/v1/spaces/acme").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["name"], "acme Inc");

    let (status, changed) = server
        .call(
            Method::PATCH,
            "/api/v1/spaces/acme",
            Some(json!({
                "name": "Acme Corporation",
                "pipeliner": { "api_secret": "ROTATED-SECRET" },
                "microsoft": { "graph_url": "http://127.0.0.1:1/v1.0/" }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["name"], "Acme Corporation");
    assert_eq!(changed["microsoft"]["graph_url"], "http://127.0.0.1:1/v1.0");
    assert_eq!(changed["pipeliner"]["api_key"], "acme_key");

    let (status, _) = server
        .call(Method::DELETE, "/api/v1/spaces/beta", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(
        &server.get("/api/v1/spaces/beta").await,
        StatusCode::NOT_FOUND,
        "space_not_found",
    );
    server.stop().await;
}

#[actix_web::test]
async fn bad_space_registrations_are_refused_with_a_code_and_nothing_is_stored() {
    let server = TestServer::start().await;
    let post = |body| server.call(Method::POST, "/api/v1/spaces", Some(body));

    let mut bad_id = space_body("acme");
    bad_id["id"] = json!("has space");
    let answer = post(bad_id).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(answer.1["details"]["field"], "id");

    let mut bad_url = space_body("acme");
    bad_url["pipeliner"]["service_url"] = json!("not a url");
    let answer = post(bad_url).await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_eq!(answer.1["details"]["field"], "pipeliner.service_url");

    let mut empty_secret = space_body("acme");
    empty_secret["microsoft"]["client_secret"] = json!(" ");
    let answer = post(empty_secret).await;
    assert_eq!(answer.1["details"]["field"], "microsoft.client_secret");

    let mut missing = space_body("acme");
    missing["pipeliner"]
        .as_object_mut()
        .unwrap()
        .remove("api_key");
    assert_error(
        &post(missing).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );

    let mut unknown = space_body("acme");
    unknown["colour"] = json!("blue");
    assert_error(
        &post(unknown).await,
        StatusCode::BAD_REQUEST,
        "unknown_field",
    );

    let malformed = server
        .raw(Method::POST, "/api/v1/spaces")
        .bearer_auth(&server.token)
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = malformed.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");

    let wrong_type = server
        .raw(Method::POST, "/api/v1/spaces")
        .bearer_auth(&server.token)
        .header("content-type", "text/plain")
        .body(space_body("acme").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (_, list) = server.get("/api/v1/spaces").await;
    assert_eq!(list, json!([]), "no refused registration was stored");

    assert_eq!(post(space_body("acme")).await.0, StatusCode::CREATED);
    assert_error(
        &post(space_body("acme")).await,
        StatusCode::CONFLICT,
        "space_exists",
    );

    let answer = server
        .call(
            Method::PATCH,
            "/api/v1/spaces/acme",
            Some(json!({ "id": "renamed" })),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unknown_field");
    let answer = server
        .call(
            Method::PATCH,
            "/api/v1/spaces/acme",
            Some(json!({ "name": "ok", "microsoft": { "login_url": "ftp://x" } })),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let (_, shown) = server.get("/api/v1/spaces/acme").await;
    assert_eq!(shown["name"], "acme Inc", "a refused patch changes nothing");
    server.stop().await;
}

#[actix_web::test]
async fn unknown_spaces_are_not_found_on_every_route() {
    let server = TestServer::start().await;
    for (method, path, body) in [
        (Method::GET, "/api/v1/spaces/nope", None),
        (
            Method::PATCH,
            "/api/v1/spaces/nope",
            Some(json!({ "name": "x" })),
        ),
        (Method::DELETE, "/api/v1/spaces/nope", None),
        (
            Method::PUT,
            "/api/v1/spaces/nope/integration",
            Some(json!({ "enabled": true })),
        ),
        (Method::GET, "/api/v1/spaces/nope/users", None),
        (
            Method::PUT,
            "/api/v1/spaces/nope/users/jane",
            Some(user_body("jane@acme.com", "bidirectional")),
        ),
        (Method::GET, "/api/v1/spaces/bad%20id", None),
    ] {
        let answer = server.call(method.clone(), path, body).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "space_not_found");
    }
    let answer = server.get("/api/v1/nothing-here").await;
    assert_error(&answer, StatusCode::NOT_FOUND, "route_not_found");
    server.stop().await;
}

#[actix_web::test]
async fn the_integration_switch_gates_activation_and_sync_without_losing_anything() {
    let server = TestServer::start().await;
    server
        .call(
            Method::POST,
            "/api/v1/spaces",
            Some(server.world.space_body("acme")),
        )
        .await;
    let activate = || {
        server.call(
            Method::PUT,
            "/api/v1/spaces/acme/users/jane",
            Some(user_body("jane@acme.com", "bidirectional")),
        )
    };
    assert_error(
        &activate().await,
        StatusCode::CONFLICT,
        "integration_disabled",
    );

    let switch = |enabled: bool| {
        server.call(
            Method::PUT,
            "/api/v1/spaces/acme/integration",
            Some(json!({ "enabled": enabled })),
        )
    };
    let (status, space) = switch(true).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(space["integration_enabled"], true);
    assert_eq!(activate().await.0, StatusCode::CREATED);

    let (_, space) = switch(false).await;
    assert_eq!(space["integration_enabled"], false);
    let (status, user) = server.get("/api/v1/spaces/acme/users/jane").await;
    assert_eq!(status, StatusCode::OK, "switching off deletes nothing");
    assert_eq!(user["state"], "activated");
    assert!(user["summary"].as_str().unwrap().contains("switched off"));
    assert_error(
        &server
            .call(Method::POST, "/api/v1/spaces/acme/users/jane/sync", None)
            .await,
        StatusCode::CONFLICT,
        "integration_disabled",
    );
    assert_error(
        &server
            .call(Method::DELETE, "/api/v1/spaces/acme", None)
            .await,
        StatusCode::CONFLICT,
        "space_has_active_users",
    );
    let answer = server
        .call(
            Method::PUT,
            "/api/v1/spaces/acme/integration",
            Some(json!({ "enabled": "yes" })),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    server.stop().await;
}

#[actix_web::test]
async fn space_and_user_ids_starting_with_a_dot_are_refused_naming_the_rule() {
    let server = TestServer::start().await;
    for id in [".", "..", ".acme"] {
        let answer = server
            .call(Method::POST, "/api/v1/spaces", Some(space_body(id)))
            .await;
        assert_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains("must not start with '.'"), "{message}");
        assert_eq!(answer.1["details"]["field"], "id");
    }
    let (status, _) = server
        .call(Method::POST, "/api/v1/spaces", Some(space_body("acme")))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // `.` and `..` as path segments never reach exsync (clients resolve them); ids
    // that merely start with a dot do.
    for user in [".jane", "..jane"] {
        let answer = server
            .put(
                &format!("/api/v1/spaces/acme/users/{user}"),
                user_body("jane@acme.com", "bidirectional"),
            )
            .await;
        assert_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        let message = answer.1["message"].as_str().unwrap();
        assert!(message.contains("must not start with '.'"), "{message}");
        assert_eq!(answer.1["details"]["field"], "user");
    }
    let (_, spaces) = server.get("/api/v1/spaces").await;
    assert_eq!(spaces.as_array().map(Vec::len), Some(1), "{spaces}");
    server.stop().await;
}
