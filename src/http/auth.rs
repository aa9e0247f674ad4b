//! Bearer-token authentication for the admin API. Tokens are compared by their SHA-256
//! hash, never logged, and a missing or wrong token gets 401 with a stable code.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web;

use super::error::ApiError;
use super::state::AppState;
use crate::store::tokens::token_hash;

/// Lets a request through only with `Authorization: Bearer <admin token>`.
pub async fn require_admin_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty());
    let Some(token) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_token",
            "send the admin token as 'Authorization: Bearer <token>'",
        )
        .into());
    };
    let valid = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.token_hashes.contains(&token_hash(token)));
    if !valid {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the admin token is not valid",
        )
        .into());
    }
    next.call(req).await
}
