//! The served Swagger UI shows no "Servers" box: the spec defines no servers, and the
//! vendored Swagger UI is one that does not copy a default server (`/`) onto every
//! operation of an OpenAPI 3.1 spec, as 5.17.14 did (swagger-api/swagger-ui#9947).

use reqwest::{Method, StatusCode};

use crate::common::TestServer;

#[actix_web::test]
async fn the_spec_has_no_servers_and_swagger_ui_adds_none() {
    let server = TestServer::start().await;
    let spec: serde_json::Value = server
        .raw(Method::GET, "/api-docs/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec.get("servers").is_none(), "no servers at the root");
    for (path, item) in spec["paths"].as_object().unwrap() {
        assert!(item.get("servers").is_none(), "{path}");
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation.get("servers").is_none(), "{method} {path}");
        }
    }
    let response = server
        .raw(Method::GET, "/swagger-ui/swagger-ui-bundle.js")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let bundle = response.text().await.unwrap();
    assert!(
        bundle.contains("\"5.32.6\""),
        "the vendored Swagger UI is 5.32.6"
    );
    assert!(
        !bundle.contains("normalize_servers"),
        "Swagger UI does not normalise servers onto operations"
    );
    server.stop().await;
}
