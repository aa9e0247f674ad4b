//! The status summary across all users: how many are in each state, per space.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::store::users::UserState;

/// Registers the route.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(status_summary);
}

/// One space's users by state.
#[derive(Serialize, ToSchema)]
pub struct SpaceStatus {
    /// The space id.
    pub space: String,
    /// Whether its integration is on.
    pub integration_enabled: bool,
    /// Users per state (`activated`, `paused`, `error`, `needs_confirmation`, `deactivated`).
    pub users: BTreeMap<String, u64>,
}

/// Users by state, per space and in total.
#[derive(Serialize, ToSchema)]
pub struct StatusSummary {
    /// Per space, ordered by id.
    pub spaces: Vec<SpaceStatus>,
    /// All spaces together.
    pub users: BTreeMap<String, u64>,
}

fn state_name(state: UserState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Counts of users per state, per space and in total.
#[utoipa::path(
    tag = "status",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = StatusSummary),
        (status = 401, body = ErrorBody, description = "missing or wrong admin token")
    )
)]
#[get("/status")]
pub async fn status_summary(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let summary = state
        .blocking(|store| {
            let mut totals = BTreeMap::new();
            let mut spaces = Vec::new();
            for space in store.spaces()? {
                let mut users = BTreeMap::new();
                for user in store.users(&space.id)? {
                    let name = state_name(user.state);
                    *users.entry(name.clone()).or_insert(0) += 1;
                    *totals.entry(name).or_insert(0) += 1;
                }
                spaces.push(SpaceStatus {
                    space: space.id.to_string(),
                    integration_enabled: space.integration_enabled,
                    users,
                });
            }
            Ok(StatusSummary {
                spaces,
                users: totals,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
