//! `GET /metrics`: the Prometheus metrics ([`crate::metrics`]), for the admin token or the
//! read-only metrics token (`EXSYNC_METRICS_TOKEN`), which opens nothing else.

use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpRequest, HttpResponse};

use super::auth::bearer_token;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::metrics::Format;
use crate::store::tokens::token_hash;

/// Lets a scrape through with the admin token or the metrics token.
fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                "send the admin or metrics token as 'Authorization: Bearer <token>'",
            )
        })?;
    let hash = token_hash(token);
    if state.token_hashes.contains(&hash) || state.metrics_token_hash == Some(hash) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the token is neither the admin token nor the metrics token",
        ))
    }
}

/// The Prometheus metrics of this exsync.
///
/// Users per state, spaces, cycles, records written, upstream requests, waits,
/// notifications, change lag, subscription upkeep, resident memory and user actors; the
/// README lists the families. Plain Prometheus text unless `Accept` asks for OpenMetrics.
/// Takes the admin token or the read-only metrics token (`EXSYNC_METRICS_TOKEN`), which
/// opens nothing else.
#[utoipa::path(
    tag = "metrics",
    security(("admin_token" = []), ("metrics_token" = [])),
    responses(
        (status = 200, description = "The metrics in the Prometheus text format 0.0.4, or OpenMetrics 1.0 text when `Accept` names `application/openmetrics-text`",
         content((String = "text/plain"), (String = "application/openmetrics-text"))),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`")
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let now = state.clock.now();
    if state.metrics.store_counts_due(now) {
        let (states, spaces) = state
            .blocking(|store| Ok((store.user_states()?, store.spaces()?.len())))
            .await?;
        state.metrics.set_store_counts(states, spaces, now);
    }
    if let Some(engine) = &state.engine {
        state.metrics.set_actors(engine.actor_count().await);
    }
    let format = Format::from_accept(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    );
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .body(state.metrics.encode(format)))
}
