//! Security headers on every answer the application gives: `X-Content-Type-Options:
//! nosniff` always (the Graph handshake echoes caller-chosen text as `text/plain`, which
//! a browser must not sniff into HTML), and HSTS when the connection is HTTPS.
//!
//! Unlike actix-web's `DefaultHeaders`, this also covers errors raised by inner
//! middleware (a missing token, for example), which travel up as `Err` and would
//! otherwise be rendered without the headers: such an error is rendered here and passed
//! on carrying its finished answer. Answers the HTTP layer gives before the application
//! sees a request (a malformed request line) are outside its reach.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{
    HeaderMap, HeaderValue, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS,
};
use actix_web::middleware::Next;

/// The HSTS policy sent over HTTPS: one year, this host only (exsync cannot know whether
/// every subdomain serves HTTPS).
pub const HSTS: &str = "max-age=31536000";

/// Adds the headers to the answer, or to the answer an inner middleware's error renders.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let secure = req.app_config().secure();
    match next.call(req).await {
        Ok(mut response) => {
            add(response.headers_mut(), secure);
            Ok(response)
        }
        Err(err) => {
            let mut answer = err.error_response();
            add(answer.headers_mut(), secure);
            Err(InternalError::from_response(err, answer).into())
        }
    }
}

fn add(headers: &mut HeaderMap, secure: bool) {
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if secure {
        headers.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
}
