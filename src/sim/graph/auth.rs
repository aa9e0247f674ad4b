//! Sign-in: the client-credentials token endpoint, and the bearer check of every Graph
//! request. Tokens expire by the injected clock.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::core::Core;
use super::errors::GraphFault;

fn aad_error(status: u16, error: &str, description: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST);
    HttpResponse::build(status).json(json!({
        "error": error,
        "error_description": description,
        "error_codes": [7000215],
        "trace_id": "sim",
    }))
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    core: web::Data<Core>,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let tenant = path.into_inner();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return aad_error(
            400,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if !field("scope").ends_with("/.default") {
        return aad_error(
            400,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        );
    }
    {
        let route = "token";
        let decision = core.state().faults.decide(route);
        if let Some(crate::sim::faults::FaultKind::Error { status, .. }) = decision.outcome {
            return GraphFault::new(status, "ServiceUnavailable", "Simulated sign-in failure.")
                .response();
        }
    }
    let mut state = core.state();
    *state.requests.entry("token".into()).or_insert(0) += 1;
    let key = (tenant.clone(), field("client_id").to_owned());
    match state.apps.get(&key) {
        None => aad_error(400, "unauthorized_client", "AADSTS700016: Application not found in the directory."),
        Some(secret) if secret != field("client_secret") => aad_error(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.",
        ),
        Some(_) => {
            let lifetime = state.settings.token_lifetime_secs;
            let value = state.fresh_id("eyJ0eXAiOiJKV1Qi.", 48);
            let expires = core.now() + chrono::Duration::seconds(lifetime);
            state.tokens.insert(
                value.clone(),
                super::state::Token {
                    tenant,
                    client_id: key.1,
                    expires,
                },
            );
            HttpResponse::Ok().json(json!({
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": value,
            }))
        }
    }
}

/// The tenant and client of a request's bearer token.
pub(crate) fn bearer(core: &Core, req: &HttpRequest) -> Result<(String, String), GraphFault> {
    let presented = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let state = core.state();
    match state.tokens.get(presented) {
        Some(token) if token.expires > core.now() => {
            Ok((token.tenant.clone(), token.client_id.clone()))
        }
        Some(_) => Err(GraphFault::new(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        )),
        None => Err(GraphFault::new(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        )),
    }
}
