//! The committed contract files match the code: `openapi/openapi.json` is what the code
//! generates, and every request in `api/*.http` names a route of the spec.

use std::path::Path;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(manifest_dir().join("openapi/openapi.json"))
        .expect("openapi/openapi.json exists");
    let generated = exsync::http::openapi_json();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date; regenerate it with:\n\n    \
         cargo run -- openapi > openapi/openapi.json\n"
    );
    let spec: serde_json::Value = serde_json::from_str(&generated).unwrap();
    for key in ["title", "version", "description"] {
        assert!(
            spec["info"][key].as_str().is_some_and(|v| !v.is_empty()),
            "info.{key}"
        );
    }
    assert_eq!(spec["info"]["license"]["name"], "Apache-2.0");
}

/// Whether a concrete request path (with `{{var}}` placeholders) fits a spec path.
fn fits(request: &str, template: &str) -> bool {
    let request: Vec<_> = request.split('/').collect();
    let template: Vec<_> = template.split('/').collect();
    request.len() == template.len()
        && request
            .iter()
            .zip(&template)
            .all(|(r, t)| r == t || (t.starts_with('{') && !r.is_empty()))
}

#[test]
fn every_request_in_the_collections_exists_in_the_spec() {
    let spec = serde_json::to_value(exsync::http::openapi()).unwrap();
    let paths = spec["paths"].as_object().unwrap();
    let mut checked = 0;
    let mut files: Vec<_> = std::fs::read_dir(manifest_dir().join("api"))
        .expect("api/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "http"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "api/ holds .http collections");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let (Some(method), Some(url)) = (words.next(), words.next()) else {
                continue;
            };
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) {
                continue;
            }
            let path = url
                .trim_start_matches("{{host}}")
                .split('?')
                .next()
                .unwrap_or_default();
            let found = paths.iter().any(|(template, item)| {
                fits(path, template) && item.get(method.to_lowercase()).is_some()
            });
            assert!(
                found,
                "{}: {method} {path} is not in the spec",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 14,
        "the collections cover the routes ({checked} requests)"
    );
}

#[test]
fn every_space_and_user_id_in_the_spec_states_the_id_rule() {
    let spec = serde_json::to_value(exsync::http::openapi()).unwrap();
    let rule = |schema: &serde_json::Value, at: &str| {
        assert_eq!(schema["pattern"], exsync::ids::ID_PATTERN, "{at}");
        assert_eq!(schema["maxLength"], exsync::ids::MAX_ID_LEN, "{at}");
    };
    let mut params = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path"
                    && ["space", "user"].contains(&param["name"].as_str().unwrap_or_default())
                {
                    rule(
                        &param["schema"],
                        &format!("{method} {path} {}", param["name"]),
                    );
                    params += 1;
                }
            }
        }
    }
    assert!(params >= 20, "path parameters checked: {params}");
    let schemas = &spec["components"]["schemas"];
    for (schema, field) in [
        ("CreateSpace", "id"),
        ("SpaceView", "id"),
        ("UserView", "id"),
        ("UserView", "space"),
    ] {
        rule(
            &schemas[schema]["properties"][field],
            &format!("{schema}.{field}"),
        );
    }
}
