//! Every admin route requires the token: the test walks the generated spec, so a new
//! route added without authentication fails here.

use reqwest::{Method, StatusCode};

use crate::common::TestServer;

/// Every (method, path) of the spec, with path parameters filled in.
fn spec_operations() -> Vec<(Method, String, bool)> {
    let spec = serde_json::to_value(exsync::http::openapi()).expect("spec as JSON");
    let mut operations = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let open = operation["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|req| req.as_object().is_some_and(|o| o.is_empty()))
            });
            let concrete = path
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') {
                        "x"
                    } else {
                        segment
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            operations.push((method, concrete, open));
        }
    }
    operations
}

#[actix_web::test]
async fn every_admin_route_refuses_a_missing_or_wrong_token() {
    let server = TestServer::start().await;
    let operations = spec_operations();
    assert!(
        operations.len() >= 14,
        "the spec lists the routes: {operations:?}"
    );
    for (method, path, open) in operations {
        // `/metrics` takes the admin token too (or the metrics token, see `metrics.rs`).
        if !path.starts_with("/api/v1") && path != "/metrics" {
            assert!(
                open,
                "{method} {path} is outside /api/v1 and must be documented as open"
            );
            continue;
        }
        assert!(!open, "{method} {path} is documented without security");
        let missing = server.raw(method.clone(), &path).send().await.unwrap();
        assert_eq!(
            missing.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path}"
        );
        assert_eq!(
            missing
                .headers()
                .get("www-authenticate")
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        let body: serde_json::Value = missing.json().await.unwrap();
        assert_eq!(body["code"], "missing_token", "{method} {path}");

        let wrong = server
            .raw(method.clone(), &path)
            .bearer_auth("not-the-token")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        let body: serde_json::Value = wrong.json().await.unwrap();
        assert_eq!(body["code"], "invalid_token", "{method} {path}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn probes_spec_and_swagger_ui_are_open() {
    let server = TestServer::start().await;
    for path in [
        "/healthz",
        "/readyz",
        "/api-docs/openapi.json",
        "/swagger-ui/",
    ] {
        let response = server.raw(Method::GET, path).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let ui = server
        .raw(Method::GET, "/swagger-ui/")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ui.contains("swagger-ui-bundle.js"),
        "the UI is served from the binary"
    );
    let init = server
        .raw(Method::GET, "/swagger-ui/swagger-initializer.js")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    let bundle = server
        .raw(Method::GET, "/swagger-ui/swagger-ui-bundle.js")
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), StatusCode::OK);

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects
        .get(format!("{}/swagger-ui", server.base))
        .send()
        .await
        .unwrap();
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/swagger-ui/");

    let served: serde_json::Value = server
        .raw(Method::GET, "/api-docs/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        served,
        serde_json::to_value(exsync::http::openapi()).unwrap(),
        "the served spec is the generated one"
    );
    assert!(served["components"]["securitySchemes"]["admin_token"].is_object());
    server.stop().await;
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = TestServer::start().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = server
            .raw(Method::GET, "/api/v1/spaces")
            .header("authorization", format!("{scheme} {}", server.token))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{scheme}");
    }
    let basic = server
        .raw(Method::GET, "/api/v1/spaces")
        .header("authorization", format!("Basic {}", server.token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[test]
fn serve_refuses_a_short_admin_token_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_exsync"))
        .arg("serve")
        .env("EXSYNC_BIND", "127.0.0.1:0")
        .env("EXSYNC_DATA_DIR", dir.path())
        .env("EXSYNC_ADMIN_TOKEN", "a")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("exsync starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("exsync served with a one-character admin token");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("admin_token (EXSYNC_ADMIN_TOKEN) must be at least 32 characters"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("db").exists(),
        "nothing is created before the configuration is accepted"
    );
}
