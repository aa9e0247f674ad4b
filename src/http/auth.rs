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

/// The token of an `Authorization: Bearer <token>` value. The scheme name is
/// case-insensitive (RFC 7235 section 2.1), so `bearer` and `BEARER` work as well.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Lets a request through only with `Authorization: Bearer <admin token>`.
pub async fn require_admin_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
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

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER t0k", "bEaReR  t0k "] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value}");
        }
        for value in ["Basic t0k", "Bearer", "Bearer   ", "Bearert0k", "t0k"] {
            assert_eq!(bearer_token(value), None, "{value}");
        }
    }
}
