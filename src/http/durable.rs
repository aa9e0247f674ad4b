//! Admin changes are on disk before they are acknowledged.
//!
//! The database writes to disk in the background every few seconds
//! ([`crate::store::BACKGROUND_FLUSH`]); an admin who was told that a space was
//! registered or a user activated must not lose that to a crash a moment later. So every
//! successful request that may change something (any method but GET and HEAD) flushes the
//! store before its answer goes out.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use super::error::ApiError;
use super::state::AppState;

/// Flushes the store after a successful change, before answering.
pub async fn flush_changes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    if let (true, Some(state)) = (changes && response.status().is_success(), state) {
        state
            .blocking(|store| {
                store.flush().map_err(|e| {
                    ApiError::internal(
                        "store_failed",
                        format!("the change could not be written to disk: {e}"),
                    )
                })
            })
            .await?;
    }
    Ok(response)
}
