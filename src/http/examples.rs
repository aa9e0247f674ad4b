//! Whole examples for Swagger UI: a request body for every operation that takes one,
//! which succeeds as-is in Try it out against `exsync demo` (space `acme`, users `ann`
//! and `bo`, and Carl, who has a mailbox and a Pipeliner user but is not activated), and a
//! realistic answer for every success, by schema name. Path parameters get the demo's
//! ids. A test checks each example against its schema.

use serde_json::{json, Value};
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};

/// A registered space, as the demo's `acme` answers.
fn space_view() -> Value {
    json!({
        "id": "acme",
        "name": "Acme Demo",
        "integration_enabled": true,
        "pipeliner": {
            "service_url": "https://eu-central.api.pipelinersales.com",
            "space_id": "nl_Acme",
            "api_key": "acme-api-key",
            "api_secret_set": true
        },
        "microsoft": {
            "tenant_id": "7d3f0c1e-0000-4000-8000-00000000e0a1",
            "client_id": "0b6c5f1d-0000-4000-8000-00000000c11e",
            "client_secret_set": true,
            "graph_url": "https://graph.microsoft.com/v1.0",
            "login_url": "https://login.microsoftonline.com"
        },
        "created_at": "2026-12-08T09:00:00Z",
        "updated_at": "2026-12-08T09:00:01Z"
    })
}

/// A user after a first sync, as the demo's `ann` answers.
fn user_view() -> Value {
    json!({
        "id": "ann",
        "space": "acme",
        "email": "ann@acme.example",
        "pipeliner_user_id": null,
        "credentials": null,
        "settings": {
            "sync_type": "bidirectional",
            "delete_protection": true,
            "folder": { "existing": "AQMkAD-sbLQthMJ54oMnWeP9DMKRsMmsApApiyVUoL9TQb" },
            "conflict_policy": "newest"
        },
        "state": "activated",
        "activated_at": "2026-12-08T09:00:02Z",
        "updated_at": "2026-12-08T09:00:02Z",
        "status": {
            "last_sync_started_at": "2026-12-08T09:00:03Z",
            "last_sync_finished_at": "2026-12-08T09:00:04Z",
            "next_sync_at": "2026-12-08T09:10:30Z",
            "sync_requested_at": null,
            "counts": {
                "exchange": { "created": 55, "updated": 2, "deleted": 0 },
                "crm": { "created": 91, "updated": 1, "deleted": 0 },
                "conflicts": 0,
                "record_errors": 0,
                "throttled": 0
            },
            "last_error": null
        },
        "summary": "Last sync finished at 2026-12-08T09:00:04+00:00.",
        "sync": {
            "folder_id": "AQMkAD-sbLQthMJ54oMnWeP9DMKRsMmsApApiyVUoL9TQb",
            "pipeliner_owner_id": "1dd9553f-826e-49e3-abd7-dff90148865c",
            "initial_sync_done": true,
            "subscription_expires_at": "2026-12-11T07:30:00Z",
            "pending_creates": 0,
            "tombstones": 0,
            "reconciliation": null
        }
    })
}

/// The realistic answer of a success whose body is the schema `name`.
pub fn answer(name: &str) -> Option<Value> {
    Some(match name {
        "SpaceView" => space_view(),
        "UserView" => user_view(),
        "LinkPage" => json!({
            "items": [{
                "exchange_id": "AAMkADFeVjM3DncW9OinlsVlFIl9IwMSEksmcDaaJRkEFnsHhqZMYj8clv8rOd65aM",
                "crm_id": "382f098e-711e-4f6b-9610-63711c9ebda3",
                "linked_at": "2026-12-08T09:00:03Z",
                "name": "John Lovelace",
                "email": "john.lovelace21@contoso.example"
            }],
            "next": "AAMkADFeVjM3DncW9OinlsVlFIl9IwMSEksmcDaaJRkEFnsHhqZMYj8clv8rOd65aM"
        }),
        "EventPage" => json!({
            "items": [
                { "seq": 0, "at": "2026-12-08T09:00:02Z", "kind": "activated",
                  "message": "user activated" },
                { "seq": 2, "at": "2026-12-08T09:00:03Z", "kind": "link",
                  "message": "Paired by e-mail on the first sync.",
                  "details": {
                      "side": null,
                      "exchange_id": "AAMkAD09y7_bm5p4rNYSHaQqfbXrlIWG9-N3LNgOY8QyNOmtg0s9vhXMIE1DqI3dK1",
                      "crm_id": "87060023-4cd6-4df7-bc4b-acb53eb7c02b"
                  } }
            ],
            "next": "2"
        }),
        "FolderView" => json!({
            "id": "AQMkAD-sbLQthMJ54oMnWeP9DMKRsMmsApApiyVUoL9TQb",
            "display_name": "Customers"
        }),
        "StatusSummary" => json!({
            "spaces": [{ "space": "acme", "integration_enabled": true,
                         "users": { "activated": 2 } }],
            "users": { "activated": 2 },
            "pending_removals": { "count": 0, "items": [] }
        }),
        "SpaceMappings" => space_mappings(),
        "DefaultMappings" => json!({
            "fields": [
                { "field": "given_name", "exchange": "givenName", "pipeliner": "first_name" },
                { "field": "surname", "exchange": "surname", "pipeliner": "last_name" },
                { "field": "email1", "exchange": "emailAddresses[0].address",
                  "pipeliner": "email1" }
            ],
            "custom_exchange_properties": ["birthday", "department", "nickName"]
        }),
        "Health" => json!({ "status": "ready" }),
        _ => return None,
    })
}

fn space_mappings() -> Value {
    json!({
        "custom": [{ "name": "department", "exchange": "department",
                     "pipeliner": "cf_department" }]
    })
}

/// The realistic text answer of the operation at `path` (a Graph handshake's echo, the
/// metrics).
fn text_answer(path: &str) -> Option<Value> {
    if path.starts_with("/webhooks/graph") {
        return Some(json!(
            "Validation: Testing client application reachability for subscription \
             Request-Id: 25b4b9c3-7d6f-4e2a-9c1b-8a0f3e5d7c21"
        ));
    }
    (path == "/metrics").then(|| {
        json!(
            "# HELP exsync_users Users per life-cycle state, as stored.\n\
             # TYPE exsync_users gauge\n\
             exsync_users{state=\"activated\"} 2\n\
             exsync_users{state=\"paused\"} 0\n\
             # HELP exsync_spaces Registered spaces.\n\
             # TYPE exsync_spaces gauge\n\
             exsync_spaces 1\n"
        )
    })
}

/// The name under which [`request`] has a Pipeliner delivery (its schema has no name).
const PIPELINER_EVENTS: &str = "PipelinerEvents";

/// The request body of schema `name` that succeeds as-is against `exsync demo`.
pub fn request(name: &str) -> Option<Value> {
    Some(match name {
        // A second space beside the demo's `acme`; registering touches no upstream.
        "CreateSpace" => json!({
            "id": "globex",
            "name": "Globex Corporation",
            "pipeliner": {
                "service_url": "https://us-east.api.pipelinersales.com",
                "space_id": "us_Globex",
                "api_key": "globex-api-key",
                "api_secret": "globex-api-secret"
            },
            "microsoft": {
                "tenant_id": "3c1e5a2b-6f4d-4e8a-9b7c-2d1f0e9a8b7c",
                "client_id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
                "client_secret": "globex-client-secret"
            }
        }),
        "UpdateSpace" => json!({ "name": "Acme Demo" }),
        "IntegrationSwitch" => json!({ "enabled": true }),
        // Carl has a mailbox and a Pipeliner user in the demo but is not activated yet.
        "ActivateUser" => json!({
            "email": "carl@acme.example",
            "settings": {
                "sync_type": "crm_to_exchange",
                "sync_preference": "owned",
                "delete_protection": true,
                "folder": { "create": { "name": "Pipeliner (Acme Demo)" } },
                "conflict_policy": "newest"
            }
        }),
        "SettingsPatch" => json!({ "delete_protection": true, "conflict_policy": "crm_wins" }),
        "SpaceMappings" => space_mappings(),
        PIPELINER_EVENTS => json!([{
            "id": "b3c1f0de-5c1a-4d8e-9f4a-0c2e7d6b5a41",
            "event": "contact.updated",
            "entity": { "id": "382f098e-711e-4f6b-9610-63711c9ebda3" }
        }]),
        "GraphNotifications" => json!({
            "value": [{
                "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
                "clientState": "the subscription's clientState",
                "changeType": "updated",
                "resource": "Users/ann@acme.example/contactFolders/AQMkAD/contacts/AAMkAD"
            }]
        }),
        _ => return None,
    })
}

/// The schema name a `$ref` (or an array of one) points at.
fn schema_name(schema: &RefOr<utoipa::openapi::schema::Schema>) -> Option<(String, bool)> {
    use utoipa::openapi::schema::{ArrayItems, Schema};
    let name = |r: &utoipa::openapi::Ref| {
        r.ref_location
            .rsplit('/')
            .next()
            .map(str::to_owned)
            .unwrap_or_default()
    };
    match schema {
        RefOr::Ref(r) => Some((name(r), false)),
        RefOr::T(Schema::Array(array)) => match &array.items {
            ArrayItems::RefOrSchema(item) => match item.as_ref() {
                RefOr::Ref(r) => Some((name(r), true)),
                _ => None,
            },
            ArrayItems::False => None,
        },
        RefOr::T(Schema::OneOf(one_of)) => one_of.items.iter().find_map(|item| match item {
            RefOr::Ref(r) => Some((name(r), false)),
            _ => None,
        }),
        _ => None,
    }
}

fn example_for(
    schema: &Option<RefOr<utoipa::openapi::schema::Schema>>,
    find: fn(&str) -> Option<Value>,
) -> Option<Value> {
    let (name, array) = schema_name(schema.as_ref()?)?;
    let value = find(&name)?;
    Some(if array { json!([value]) } else { value })
}

/// The id a path parameter shows: the demo's space and user, or Carl where a whole
/// activation is the example.
fn parameter_example(path: &str, name: &str, method_put: bool) -> Option<Value> {
    match name {
        "space" => Some(json!("acme")),
        "user" if method_put && path.ends_with("/users/{user}") => Some(json!("carl")),
        "user" => Some(json!("ann")),
        _ => None,
    }
}

fn complete_operation(path: &str, operation: &mut Operation, put: bool) {
    for parameter in operation.parameters.iter_mut().flatten() {
        if parameter.parameter_in != ParameterIn::Path {
            continue;
        }
        if let Some(example) = parameter_example(path, &parameter.name, put) {
            let with_example = ParameterBuilder::from(parameter.clone())
                .example(Some(example))
                .build();
            *parameter = with_example;
        }
    }
    if let Some(body) = operation.request_body.as_mut() {
        for content in body.content.values_mut() {
            if content.example.is_none() {
                content.example = if path.starts_with("/webhooks/pipeliner/") {
                    request(PIPELINER_EVENTS)
                } else {
                    example_for(&content.schema, request)
                };
            }
        }
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !status.starts_with('2') {
            continue;
        }
        for (media, content) in response.content.iter_mut() {
            if content.example.is_none() {
                content.example = if media == "application/json" {
                    example_for(&content.schema, answer)
                } else {
                    text_answer(path)
                };
            }
        }
    }
}

/// Adds the examples to every operation of `api`.
pub fn complete(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        if let Some(put) = item.put.as_mut() {
            complete_operation(path, put, true);
        }
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            complete_operation(path, operation, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// Every example of `operation` (request bodies and 2xx JSON answers) with its schema.
    fn examples(operation: &Value) -> Vec<(String, Value, Value)> {
        let mut found = Vec::new();
        for (media, content) in operation["requestBody"]["content"]
            .as_object()
            .into_iter()
            .flatten()
        {
            found.push((
                format!("request {media}"),
                content["example"].clone(),
                content["schema"].clone(),
            ));
        }
        for (status, response) in operation["responses"].as_object().into_iter().flatten() {
            if let Some(content) = response["content"].get("application/json") {
                if status.starts_with('2') {
                    found.push((
                        format!("answer {status}"),
                        content["example"].clone(),
                        content["schema"].clone(),
                    ));
                }
            }
        }
        found
    }

    #[test]
    fn every_body_and_success_has_an_example_that_fits_its_schema() {
        let spec = serde_json::to_value(crate::http::openapi()).unwrap();
        let mut checked = 0;
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (what, example, schema) in examples(operation) {
                    let at = format!("{method} {path} {what}");
                    assert!(!example.is_null(), "{at} has no example");
                    let text = example.to_string();
                    assert!(
                        !text.contains("\"string\"") && !text.contains("9007199254740991"),
                        "{at}: {text}"
                    );
                    let mut root = schema.clone();
                    root["components"] = spec["components"].clone();
                    let validator = jsonschema::validator_for(&root).expect("schema compiles");
                    let errors: Vec<String> = validator
                        .iter_errors(&example)
                        .map(|e| format!("{e} at {}", e.instance_path()))
                        .collect();
                    assert!(errors.is_empty(), "{at}: {errors:?}\n{example}");
                    checked += 1;
                }
                for parameter in operation["parameters"].as_array().into_iter().flatten() {
                    if parameter["in"] == "path" {
                        assert!(
                            !parameter["example"].is_null(),
                            "{method} {path} {parameter}"
                        );
                    }
                }
            }
        }
        assert!(checked > 25, "{checked}");
    }
}
