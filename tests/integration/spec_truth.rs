//! The spec tells the whole truth: answers the server gives to wrong requests are listed
//! for their operation (with an example of their code), and a known path asked with a
//! method it does not take is answered 405 with `Allow`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::common::{assert_error, enabled_space, user_body, TestServer};

/// Asserts that `status` is documented for `method template` and shows `code` as an
/// example.
fn assert_documented(method: &Method, template: &str, status: StatusCode, code: &str) {
    let spec = serde_json::to_value(exsync::http::openapi()).expect("spec as JSON");
    let operation = &spec["paths"][template][method.as_str().to_lowercase()];
    assert!(operation.is_object(), "{method} {template} is in the spec");
    let response = &operation["responses"][status.as_str()];
    assert!(
        response.is_object(),
        "{method} {template} documents {status}: {}",
        operation["responses"]
    );
    let example = &response["content"]["application/json"]["examples"][code]["value"];
    assert_eq!(
        example["code"], code,
        "{method} {template} {status} shows a `{code}` example: {response}"
    );
}

#[actix_web::test]
async fn undeclared_methods_get_405_with_the_documented_methods() {
    let server = TestServer::start().await;
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/spaces", "GET, POST"),
        (Method::TRACE, "/healthz", "GET"),
        (
            Method::POST,
            "/api/v1/spaces/acme/users/ann/settings",
            "PATCH",
        ),
    ] {
        let response = server
            .raw(method.clone(), path)
            .bearer_auth(&server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "method_not_allowed", "{body}");
    }
    let answer = server
        .call(Method::DELETE, "/api/v1/nothing-here", None)
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "route_not_found");
    server.stop().await;
}

#[actix_web::test]
async fn wrong_requests_get_answers_the_spec_documents() {
    let server = TestServer::start().await;
    enabled_space(&server, "acme").await;
    let (status, user) = server
        .put(
            "/api/v1/spaces/acme/users/jane",
            user_body("jane@acme.com", "bidirectional"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");

    let integration = "/api/v1/spaces/{space}/integration";
    let answer = server
        .put(
            "/api/v1/spaces/acme/integration",
            json!({ "enabled": "yes" }),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    assert_documented(&Method::PUT, integration, answer.0, "validation_failed");

    let response = server
        .raw(Method::PUT, "/api/v1/spaces/acme/integration")
        .bearer_auth(&server.token)
        .body(r#"{"enabled": true}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_documented(
        &Method::PUT,
        integration,
        response.status(),
        "unsupported_media_type",
    );

    for (path, template) in [
        (
            "/api/v1/spaces/acme/users/jane/links",
            "/api/v1/spaces/{space}/users/{user}/links",
        ),
        (
            "/api/v1/spaces/acme/users/jane/events",
            "/api/v1/spaces/{space}/users/{user}/events",
        ),
    ] {
        let answer = server.get(&format!("{path}?page=2")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_query");
        assert_documented(&Method::GET, template, answer.0, "invalid_query");
        let answer = server.get(&format!("{path}?limit=501")).await;
        assert_error(
            &answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        );
        assert_documented(&Method::GET, template, answer.0, "validation_failed");
        let answer = server.get(&format!("{path}?limit=500")).await;
        assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    }

    let settings = "/api/v1/spaces/acme/users/jane/settings";
    let answer = server
        .call(
            Method::PATCH,
            settings,
            Some(json!({ "folder": { "existing": "x", "other": 1 } })),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unknown_field");
    let message = answer.1["message"].as_str().unwrap();
    assert!(message.contains("unknown field `other`"), "{message}");

    let mut body = server.world.space_body("globex");
    body["pipeliner"]["api_secret"] = json!("");
    let answer = server
        .call(Method::POST, "/api/v1/spaces", Some(body))
        .await;
    assert_error(
        &answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let spec = serde_json::to_value(exsync::http::openapi()).unwrap();
    assert_eq!(
        spec["components"]["schemas"]["PipelinerInput"]["properties"]["api_secret"]["minLength"],
        1
    );
    server.stop().await;
}

#[actix_web::test]
async fn graph_posts_without_a_body_are_documented_as_such() {
    let server = TestServer::start().await;
    let spec = serde_json::to_value(exsync::http::openapi()).unwrap();
    for path in ["/webhooks/graph", "/webhooks/graph/lifecycle"] {
        let body = &spec["paths"][path]["post"]["requestBody"];
        assert_ne!(body["required"], json!(true), "{path}: {body}");
        let response = server.raw(Method::POST, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{path}");
        let response = server
            .raw(Method::POST, &format!("{path}?validationToken=hello"))
            .body("{\"value\": 1}")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
    }
    server.stop().await;
}
