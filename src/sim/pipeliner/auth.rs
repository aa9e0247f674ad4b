//! HTTP Basic authentication with a space's API key (user name) and secret (password),
//! as Pipeliner's REST API does. Keys are per space, not per user.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::Engine;

use super::envelope::ApiError;
use super::state::{SimState, Space};

/// The space `space_id`, if the request's Basic credentials are its API key and secret.
///
/// An unknown space answers 404 `Space not found.` (as Pipeliner does); wrong or missing
/// credentials answer 401.
pub(crate) fn authorize<'a>(
    state: &'a mut SimState,
    req: &HttpRequest,
    space_id: &str,
) -> Result<&'a mut Space, ApiError> {
    let space = state
        .spaces
        .get_mut(space_id)
        .ok_or_else(|| ApiError::not_found("Space not found."))?;
    let (key, secret) = basic_credentials(req).ok_or_else(ApiError::unauthorized)?;
    if key == space.api_key && secret == space.api_secret {
        Ok(space)
    } else {
        Err(ApiError::unauthorized())
    }
}

/// The user name and password of an `Authorization: Basic …` header.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let header = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
