//! The error answers of the API as examples in the spec: every error response shows the
//! bodies of the codes its description names (a 401 `missing_token`, a 404
//! `space_not_found`, …), each made by the code that makes the real answer where it can.
//! Also adds the answers every operation of a kind gives: 415 for a JSON body.

use actix_web::http::StatusCode;
use serde_json::Value;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

use super::error::{ApiError, ErrorBody};
use crate::connectors::graph::GraphError;
use crate::connectors::pipeliner::PipelinerError;
use crate::engine::cycle::{graph_failed, pipeliner_failed};
use crate::engine::runner::CycleError;

/// One error answer of the API, with realistic values (the demo's space `acme` and user
/// `ann`).
fn error(status: StatusCode, code: &'static str, message: &str) -> ApiError {
    ApiError::new(status, code, message)
}

/// Every error answer the API documents, one per code.
pub fn catalog() -> Vec<ApiError> {
    use StatusCode as S;
    let cycle = |e: CycleError| ApiError::from_cycle(e);
    vec![
        error(
            S::BAD_REQUEST,
            "malformed_json",
            "the request body is not valid JSON: expected `,` or `}` at line 1 column 19",
        ),
        error(
            S::BAD_REQUEST,
            "unknown_field",
            "the request body has unknown field `colour`, expected `enabled` at line 1 column 9",
        ),
        error(
            S::BAD_REQUEST,
            "invalid_query",
            "the query string is invalid: Query deserialize error: unknown field `page`, \
             expected `after` or `limit`",
        ),
        error(
            S::BAD_REQUEST,
            "invalid_validation_token",
            "the validationToken is 3000 characters long; exsync echoes at most 2048 (Graph's are \
             a short sentence)",
        ),
        error(
            S::UNAUTHORIZED,
            "missing_token",
            "send the admin token as 'Authorization: Bearer <token>'",
        ),
        error(
            S::UNAUTHORIZED,
            "invalid_token",
            "the admin token is not valid",
        ),
        error(
            S::UNAUTHORIZED,
            "invalid_signature",
            "the WebHook-Signature header does not match the delivery",
        ),
        ApiError::space_not_found("acme"),
        ApiError::user_not_found("acme", "ann"),
        error(
            S::NOT_FOUND,
            "route_not_found",
            "there is no route GET /api/v1/space",
        ),
        error(
            S::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "/api/v1/spaces does not take DELETE; it takes GET, POST",
        ),
        ApiError::conflict(
            "space_exists",
            "a space with id \"acme\" is already registered",
        ),
        ApiError::conflict(
            "space_has_active_users",
            "the space still has 2 user(s) that are not deactivated; deactivate them first",
        ),
        ApiError::conflict(
            "integration_disabled",
            "the integration is switched off for space \"acme\"; switch it on with \
             PUT /api/v1/spaces/acme/integration first",
        ),
        ApiError::conflict(
            "user_deactivated",
            "the user is deactivated; activate it again with PUT first",
        ),
        ApiError::conflict(
            "user_paused",
            "the user is paused; resume it before asking for a sync",
        ),
        ApiError::conflict(
            "confirmation_required",
            "the user waits for pending deletes to be confirmed or rejected",
        ),
        ApiError::conflict(
            "nothing_to_confirm",
            "the user has no pending deletes waiting for a decision",
        ),
        error(
            S::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        ),
        error(
            S::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the request body as application/json",
        ),
        ApiError::validation(
            "settings.sync_preference",
            "sync_preference applies only when sync_type is crm_to_exchange; remove it or \
             change sync_type",
        ),
        error(
            S::UNPROCESSABLE_ENTITY,
            "ews_not_supported",
            "on-premises Exchange (EWS, with a mailbox password) is not supported yet; activate \
             the user without credentials to sync an Exchange Online mailbox through Microsoft \
             Graph",
        ),
        cycle(graph_failed(GraphError::SignIn {
            code: "invalid_client".into(),
            description: "AADSTS7000215: Invalid client secret provided.".into(),
        })),
        cycle(graph_failed(GraphError::Denied {
            status: 403,
            code: "ErrorAccessDenied".into(),
            message: "Access is denied. Check credentials and try again.".into(),
        })),
        cycle(graph_failed(GraphError::NotFound {
            code: "ErrorInvalidUser".into(),
            message: "The requested user 'ann@acme.example' is invalid.".into(),
        })),
        cycle(pipeliner_failed(PipelinerError::Unauthorized {
            name: "ERROR_AUTHENTICATION".into(),
            message: "Invalid API key or secret.".into(),
        })),
        cycle(pipeliner_failed(PipelinerError::NotFound {
            name: "ERROR_NOT_FOUND".into(),
            message: "Space not found.".into(),
        })),
        cycle(CycleError::new(
            "pipeliner_user_not_found",
            "no Pipeliner user (Client) has the e-mail ann@acme.example; give \
             pipeliner_user_id, or add the user in Pipeliner",
        )),
        cycle(CycleError::new(
            "graph_unreachable",
            "cannot reach Graph: connection refused. Check the space's Graph and login URLs \
             and the network.",
        )),
        cycle(CycleError::new(
            "graph_throttled",
            "Graph is throttling requests for this mailbox (retry after 30s). exsync backs off \
             and tries again.",
        )),
        cycle(graph_failed(GraphError::Rejected {
            status: 400,
            code: "ErrorInvalidRequest".into(),
            message: "The request is invalid.".into(),
        })),
        cycle(CycleError::new(
            "pipeliner_unreachable",
            "cannot reach Pipeliner: connection refused. Check the space's Pipeliner service \
             URL and the network.",
        )),
        cycle(CycleError::new(
            "pipeliner_failed",
            "Pipeliner failed (500, ERROR_INTERNAL): an internal error occurred",
        )),
        cycle(pipeliner_failed(PipelinerError::Forbidden {
            name: "ERROR_ACCESS_DENIED".into(),
            message: "The application has no access to contacts.".into(),
        })),
        error(
            S::SERVICE_UNAVAILABLE,
            "engine_not_running",
            "the sync engine is not running",
        ),
    ]
}

/// The example body of `code`, if the catalog has it.
pub fn example(code: &str) -> Option<Value> {
    catalog().into_iter().find(|e| e.code() == code).map(|e| {
        let body: ErrorBody = e.body();
        serde_json::to_value(body).unwrap_or(Value::Null)
    })
}

/// The codes a response's description names in backticks, or the usual ones of its status.
fn codes_of(status: &str, description: &str) -> Vec<String> {
    let named: Vec<String> = description
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| example(word).is_some())
        .map(str::to_owned)
        .collect();
    if !named.is_empty() {
        return named;
    }
    let usual: &[&str] = match status {
        "400" => &["malformed_json", "unknown_field"],
        "401" => &["missing_token", "invalid_token"],
        "404" => &["space_not_found"],
        "405" => &["method_not_allowed"],
        "413" => &["payload_too_large"],
        "415" => &["unsupported_media_type"],
        "422" => &["validation_failed"],
        "503" => &["engine_not_running"],
        _ => &[],
    };
    usual.iter().map(|c| (*c).to_owned()).collect()
}

fn is_error_body(content: &utoipa::openapi::Content) -> bool {
    matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/ErrorBody"))
}

/// Adds 415 to an operation with a JSON body, and examples to its error answers.
fn complete_operation(operation: &mut Operation) {
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let responses = &mut operation.responses.responses;
    if json_body && !responses.contains_key("415") {
        responses.insert(
            "415".into(),
            RefOr::T(
                ResponseBuilder::new()
                    .description("`unsupported_media_type`: send the body as application/json")
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let codes = codes_of(status, &response.description);
        let Some(content) = response.content.get_mut("application/json") else {
            continue;
        };
        if !is_error_body(content) || codes.is_empty() {
            continue;
        }
        for code in codes {
            if let Some(value) = example(&code) {
                content.examples.insert(
                    code.clone(),
                    RefOr::T(
                        ExampleBuilder::new()
                            .summary(code)
                            .value(Some(value))
                            .build(),
                    ),
                );
            }
        }
    }
}

/// Completes every operation of `api`.
pub fn complete(api: &mut OpenApi) {
    for item in api.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            complete_operation(operation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_sentences_have_no_doubled_stops() {
        for e in catalog() {
            let body = e.body();
            let message = body.message;
            for bad in ["..", ". .", ".;", ",.", " ."] {
                assert!(
                    !message.contains(bad),
                    "{}: {message:?} contains {bad:?}",
                    body.code
                );
            }
            assert!(!message.trim().is_empty(), "{} has no message", body.code);
        }
    }

    #[test]
    fn every_code_has_one_example() {
        let codes: Vec<&str> = catalog().iter().map(|e| e.code()).collect();
        for (i, code) in codes.iter().enumerate() {
            assert!(!codes[i + 1..].contains(code), "{code} twice");
        }
    }
}
