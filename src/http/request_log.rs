//! One log line per request: method, path, status and duration. Headers and bodies are
//! never logged, so tokens and secrets cannot leak through here.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// Logs the request after it is answered.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if path.starts_with("/healthz") || path.starts_with("/readyz") {
        tracing::debug!(%method, %path, status, elapsed_us, "request");
    } else {
        tracing::info!(%method, %path, status, elapsed_us, "request");
    }
    result
}
