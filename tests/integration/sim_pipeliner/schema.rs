//! Checks the simulator's Contact, Client, Field and Webhook answers and its error bodies
//! against Pipeliner's own OpenAPI files, read at test time from
//! `<manifest>/../shared/reference/pipeliner-openapi/` (reference data kept outside the
//! repository), or from `PIPELINER_OPENAPI_DIR` when that is set.
//!
//! Where the files are absent the check cannot run, and a passing test must not hide that:
//! - `answers_match_pipeliners_openapi_schemas` runs the check when the files are there.
//!   Under `CI=true` it fails when they are missing (CI must check the simulator); on
//!   other machines it returns without checking, after writing `SKIPPED` to stderr.
//! - `answers_match_pipeliners_openapi_schemas_required` is the same check, `#[ignore]`d,
//!   so every `cargo test` summary counts it as ignored with its reason; run it with
//!   `cargo test -- --ignored answers_match` to check and fail when the files are absent.

use std::io::Write;
use std::path::PathBuf;

use exsync::sim::pipeliner::FieldSeed;
use serde_json::{json, Value};

use super::{Fixture, Receiver, SPACE};

/// Where Pipeliner's OpenAPI files are: `PIPELINER_OPENAPI_DIR` when set, else
/// `<manifest>/../shared/reference/pipeliner-openapi`.
fn openapi_dir() -> PathBuf {
    std::env::var_os("PIPELINER_OPENAPI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/pipeliner-openapi")
        })
}

/// The parsed file, or `None` when it is absent; a file that is there but does not
/// parse fails the test.
fn load(file: &str) -> Option<Value> {
    let path = openapi_dir().join(file);
    let text = std::fs::read_to_string(&path).ok()?;
    let parsed = serde_yaml_ng::from_str(&text);
    Some(parsed.unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display())))
}

/// Validates `instance` against `#/components/schemas/<name>` of `doc`. With `strict`,
/// properties the schema does not declare are errors too (custom `cf_*` fields excepted).
fn check(doc: &Value, name: &str, instance: &Value, strict: bool) {
    let errors = schema_errors(doc, name, instance, strict);
    assert!(
        errors.is_empty(),
        "{name} does not match Pipeliner's schema: {errors:#?}\n{instance:#}"
    );
}

fn schema_errors(doc: &Value, name: &str, instance: &Value, strict: bool) -> Vec<String> {
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": doc["components"],
        "$ref": format!("#/components/schemas/{name}"),
    });
    if strict {
        schema["patternProperties"] = json!({"^cf_": true});
        schema["unevaluatedProperties"] = json!(false);
    }
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Validates a whole answer against the operation's declared 200/201 schema.
fn check_answer(doc: &Value, path: &str, method: &str, status: &str, answer: &Value) {
    let pointer = format!(
        "#/paths/{}/{method}/responses/{status}/content/application~1json/schema",
        path.replace('~', "~0")
            .replace('/', "~1")
            .replace('{', "%7B")
            .replace('}', "%7D")
    );
    let schema = json!({"components": doc["components"], "paths": doc["paths"], "$ref": pointer});
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(answer)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{method} {path} {status}: {errors:#?}");
}

/// Pipeliner's four OpenAPI files, or `None` when any is absent.
struct Docs {
    contact: Value,
    client: Value,
    field: Value,
    webhook: Value,
}

fn docs() -> Option<Docs> {
    Some(Docs {
        contact: load("pipeliner-contact-api-openapi.yml")?,
        client: load("pipeliner-client-api-openapi.yml")?,
        field: load("pipeliner-field-api-openapi.yml")?,
        webhook: load("pipeliner-webhook-api-openapi.yml")?,
    })
}

/// Whether this run is CI's (`CI=true`, as GitHub Actions, GitLab CI and most runners set).
fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

fn missing() -> String {
    format!(
        "Pipeliner's OpenAPI files are not at {} (reference data kept outside the \
         repository: pipeliner-{{contact,client,field,webhook}}-api-openapi.yml)",
        openapi_dir().display()
    )
}

#[actix_web::test]
async fn answers_match_pipeliners_openapi_schemas() {
    match docs() {
        Some(docs) => check_all(docs).await,
        None if under_ci() => panic!("CI=true and {}", missing()),
        None => {
            // Written to stderr directly: libtest hides `eprintln!` output of passing
            // tests. The summary shows the skip through the ignored twin below.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED answers_match_pipeliners_openapi_schemas: {}",
                missing()
            );
        }
    }
}

#[actix_web::test]
#[ignore = "needs Pipeliner's OpenAPI files in ../shared/reference/pipeliner-openapi; \
            answers_match_pipeliners_openapi_schemas checks them when present (and fails \
            under CI=true without them)"]
async fn answers_match_pipeliners_openapi_schemas_required() {
    let docs = docs().unwrap_or_else(|| panic!("{}", missing()));
    check_all(docs).await;
}

async fn check_all(docs: Docs) {
    let Docs {
        contact: contact_doc,
        client: client_doc,
        field: field_doc,
        webhook: webhook_doc,
    } = docs;
    let f = Fixture::start(30).await;
    f.control
        .set_field(
            SPACE,
            FieldSeed {
                api_name: "cf_region".into(),
                ..FieldSeed::default()
            },
        )
        .expect("field");
    let c = f.seed_contact("Vera", "Valid", "v@example.com");
    let cid = c["id"].as_str().unwrap_or_default().to_owned();

    let (_, list) = f.get("/entities/Contacts").await;
    check_answer(&contact_doc, "/entities/Contacts", "get", "200", &list);
    for item in list["data"].as_array().into_iter().flatten() {
        check(&contact_doc, "Contact", item, true);
    }
    // The check has teeth: an invented field or a missing required one fails.
    let mut invented = c.clone();
    invented["shoe_size"] = json!(42);
    assert!(!schema_errors(&contact_doc, "Contact", &invented, true).is_empty());
    let mut incomplete = c.clone();
    incomplete.as_object_mut().map(|o| o.remove("owner"));
    assert!(!schema_errors(&contact_doc, "Contact", &incomplete, true).is_empty());

    let (_, one) = f.get(&format!("/entities/Contacts/{cid}")).await;
    check_answer(&contact_doc, "/entities/Contacts/{id}", "get", "200", &one);
    let (status, made) = f
        .post(
            "/entities/Contacts",
            json!({"owner_id": f.owner_id, "last_name": "New"}),
        )
        .await;
    assert_eq!(status, 201);
    check_answer(&contact_doc, "/entities/Contacts", "post", "201", &made);
    check(&contact_doc, "Contact", &made["data"], true);
    let (_, patched) = f
        .patch(
            &format!("/entities/Contacts/{cid}"),
            json!({"city": "Bergen"}),
        )
        .await;
    check_answer(
        &contact_doc,
        "/entities/Contacts/{id}",
        "patch",
        "200",
        &patched,
    );
    let (_, batch) = f
        .post(
            "/entities/Contacts/batch-modify?rollback-method=1",
            json!([{"id": cid, "city": "Oslo"}, {"last_name": "No owner"}]),
        )
        .await;
    // Pipeliner's spec declares batch items as `oneOf: [uuid string, Error]`, but its
    // `Error` schema has no `type: object`, so a string matches both branches and no
    // answer can pass `oneOf`. Each item is checked against its own branch instead.
    assert_eq!(batch["success"], true);
    for item in batch["data"].as_array().into_iter().flatten() {
        match item.as_str() {
            Some(id) => assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is a UUID"),
            None => check(&contact_doc, "Error", item, true),
        }
    }
    let (_, deleted) = f.delete(&format!("/entities/Contacts/{cid}")).await;
    check_answer(
        &contact_doc,
        "/entities/Contacts/{id}",
        "delete",
        "200",
        &deleted,
    );
    let (_, shares) = f.get("/entities/ContactSharingClientRelations").await;
    for item in shares["data"].as_array().into_iter().flatten() {
        check(&contact_doc, "ContactSharingClientRelation", item, true);
    }

    let (_, clients) = f
        .get("/entities/Clients?filter[email]=owner@example.com&filter-op[email]=ieq")
        .await;
    check_answer(&client_doc, "/entities/Clients", "get", "200", &clients);
    for item in clients["data"].as_array().into_iter().flatten() {
        check(&client_doc, "Client", item, true);
    }
    let (_, fields) = f
        .get("/entities/Fields?filter[entity_name]=Contact&first=100")
        .await;
    check_answer(&field_doc, "/entities/Fields", "get", "200", &fields);
    for item in fields["data"].as_array().into_iter().flatten() {
        check(&field_doc, "Field", item, true);
    }

    let mut hook_rx = Receiver::start().await;
    let (status, hook) = f
        .post(
            "/entities/Webhooks",
            json!({"url": hook_rx.url, "events": ["Contact.*"], "insecure_ssl": false,
                   "signature": "3f2b8a4e-51c7-4d2a-9e0f-6b1c2d3e4f50", "options": {"skip_keys": ["x"]}}),
        )
        .await;
    assert_eq!(status, 201);
    check_answer(&webhook_doc, "/entities/Webhooks", "post", "201", &hook);
    check(&webhook_doc, "Webhook", &hook["data"], true);
    let (_, hooks) = f.get("/entities/Webhooks").await;
    check_answer(&webhook_doc, "/entities/Webhooks", "get", "200", &hooks);
    // A delivery carries the Webhook and the Contact in their schema shapes.
    f.seed_contact("Del", "Ivery", "d@example.com");
    let delivered: Value = serde_json::from_slice(&hook_rx.next().await.body).expect("JSON");
    check(&webhook_doc, "Webhook", &delivered[0]["webhook"], true);
    check(&contact_doc, "Contact", &delivered[0]["entity"], true);

    let mut errors = vec![
        f.get("/entities/Contacts/00000000-0000-4000-8000-000000000000")
            .await
            .1,
        f.get("/entities/Contacts?first=500").await.1,
        f.post("/entities/Contacts", json!({"last_name": "No owner"}))
            .await
            .1,
        super::send(f.http.get(f.url("/entities/Contacts"))).await.1,
    ];
    errors.extend(
        batch["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v.is_object())
            .cloned(),
    );
    for (doc, err) in [&contact_doc, &client_doc, &field_doc, &webhook_doc]
        .iter()
        .zip(errors.iter().cycle())
    {
        check(doc, "Error", err, true);
    }
    for err in &errors {
        check(&contact_doc, "Error", err, true);
    }
    hook_rx.stop().await;
    f.sim.stop().await;
}
