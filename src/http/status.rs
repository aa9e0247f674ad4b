//! The status summary across all users: how many are in each state, per space, and the
//! upstream removals still pending.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::store::removals::{PendingRemoval, RemovalKind, RemovalReason};
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

/// Users by state, per space and in total, and the upstream removals still pending.
#[derive(Serialize, ToSchema)]
pub struct StatusSummary {
    /// Per space, ordered by id.
    pub spaces: Vec<SpaceStatus>,
    /// All spaces together.
    pub users: BTreeMap<String, u64>,
    /// Registrations exsync still has to remove upstream.
    pub pending_removals: PendingRemovals,
}

/// How many of exsync's registrations upstream are still to be removed (their delete
/// failed so far, or has not been tried yet), and the oldest of them.
#[derive(Serialize, ToSchema)]
pub struct PendingRemovals {
    /// All of them.
    pub count: u64,
    /// The oldest first, at most 100.
    pub items: Vec<PendingRemovalView>,
}

/// A registration exsync still has to remove upstream. It is retried every tick
/// interval at first, then less often (at most an hour apart); a Graph subscription is
/// dropped from the list once past its expiry, when Graph has removed it itself.
#[derive(Serialize, ToSchema)]
pub struct PendingRemovalView {
    /// What it is.
    pub kind: RemovalKind,
    /// The upstream's id of it.
    pub upstream_id: String,
    /// The space it belongs to (possibly deleted since).
    pub space: String,
    /// The user, for a subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Why it is removed.
    pub reason: RemovalReason,
    /// When its removal was asked for.
    pub since: DateTime<Utc>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, as the upstream said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The most pending removals the status lists.
const LISTED_REMOVALS: usize = 100;

impl PendingRemovals {
    fn from_store(mut all: Vec<PendingRemoval>) -> Self {
        all.sort_by_key(|r| r.since);
        Self {
            count: all.len() as u64,
            items: all
                .into_iter()
                .take(LISTED_REMOVALS)
                .map(|r| PendingRemovalView {
                    kind: r.target.kind(),
                    upstream_id: r.target.id().to_owned(),
                    space: r.space.to_string(),
                    user: r.user.map(|u| u.to_string()),
                    reason: r.reason,
                    since: r.since,
                    attempts: r.attempts,
                    last_attempt_at: r.last_attempt_at,
                    last_error: r.last_error,
                })
                .collect(),
        }
    }
}

fn state_name(state: UserState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Counts of users per state, per space and in total, and the registrations (Graph
/// subscriptions, Pipeliner webhooks) exsync still has to remove upstream after users
/// or spaces were removed, with the last error of each.
#[utoipa::path(
    tag = "status",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = StatusSummary),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`")
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
                pending_removals: PendingRemovals::from_store(store.pending_removals()?),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(summary))
}
