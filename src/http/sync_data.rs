//! Routes that show and steer what a user's sync did: its contact links, its journal,
//! its Exchange folders, and the decision on a mass delete that waits for an admin.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::spaces::path_space;
use super::state::AppState;
use super::user_models::UserView;
use crate::engine::cycle::commit::to_link;
use crate::ids::{SpaceId, UserId};
use crate::store::journal::JournalEvent;
use crate::store::users::UserState;
use crate::store::{Store, StoreError};

/// Registers the routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_links)
        .service(list_events)
        .service(list_folders)
        .service(confirm_deletes)
        .service(reject_deletes);
}

const MAX_PAGE: usize = 500;

/// Paging of the links.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Continue after this cursor (the `next` of the previous page).
    pub after: Option<String>,
    /// Items per page (default 100).
    #[param(minimum = 1, maximum = 500, example = 20)]
    pub limit: Option<usize>,
}

/// Paging of the journal.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsPage {
    /// Continue after this event (the `next` of the previous page).
    #[param(pattern = "^[0-9]{1,19}$")]
    pub after: Option<String>,
    /// Items per page (default 100).
    #[param(minimum = 1, maximum = 500, example = 20)]
    pub limit: Option<usize>,
}

fn page_limit(limit: Option<usize>) -> Result<usize, ApiError> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::validation(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        )),
    }
}

/// A linked pair of contacts.
#[derive(Serialize, ToSchema)]
pub struct LinkView {
    /// The Exchange contact's id.
    pub exchange_id: String,
    /// The Pipeliner contact's id.
    pub crm_id: String,
    /// When they were paired.
    pub linked_at: chrono::DateTime<chrono::Utc>,
    /// The name last synced.
    pub name: Option<String>,
    /// The first e-mail last synced.
    pub email: Option<String>,
}

/// A page of links.
#[derive(Serialize, ToSchema)]
pub struct LinkPage {
    /// The links, in a stable order (grouped by a hash of the Exchange id, then by Exchange
    /// id), so that pages follow each other without gaps or repeats.
    pub items: Vec<LinkView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A page of journal events.
#[derive(Serialize, ToSchema)]
pub struct EventPage {
    /// The events, oldest first.
    pub items: Vec<JournalEvent>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// An Exchange contacts folder.
#[derive(Serialize, ToSchema)]
pub struct FolderView {
    /// Use as `settings.folder.existing`.
    pub id: String,
    /// The folder's name.
    pub display_name: String,
}

fn parse_ids(space: &str, user: &str) -> Result<(SpaceId, UserId), ApiError> {
    let space = path_space(space)?;
    let user = UserId::parse(user).map_err(|_| ApiError::user_not_found(space.as_str(), user))?;
    Ok((space, user))
}

fn require_user(
    store: &Store,
    space: &SpaceId,
    user: &UserId,
) -> Result<crate::store::users::UserRecord, ApiError> {
    store
        .space(space)?
        .ok_or_else(|| ApiError::space_not_found(space.as_str()))?;
    store
        .user(space, user)?
        .ok_or_else(|| ApiError::user_not_found(space.as_str(), user.as_str()))
}

/// The user's linked contact pairs, a page at a time.
#[utoipa::path(
    tag = "sync",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id"), ("user" = inline(crate::ids::UserId), Path, description = "The user id"), Page),
    responses(
        (status = 200, body = LinkPage),
        (status = 400, body = ErrorBody, description = "`invalid_query`: an unknown parameter, or a limit that is not a number"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: `limit` out of 1–500")
    )
)]
#[get("/spaces/{space}/users/{user}/links")]
pub async fn list_links(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let (space, user) = parse_ids(&path.0, &path.1)?;
    let limit = page_limit(page.limit)?;
    let after = page.after.clone();
    let answer = state
        .blocking(move |store| {
            require_user(&store, &space, &user)?;
            let records = store.links(&space, &user, after.as_deref(), limit + 1)?;
            let more = records.len() > limit;
            let items: Vec<LinkView> = records
                .into_iter()
                .take(limit)
                .map(|record| {
                    let linked_at = record.linked_at;
                    let link = to_link(record);
                    let c = &link.snapshot.exchange;
                    let name = [c.given_name.as_deref(), c.surname.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    LinkView {
                        name: (!name.is_empty()).then_some(name),
                        email: c.email1.clone(),
                        exchange_id: link.exchange_id,
                        crm_id: link.crm_id,
                        linked_at,
                    }
                })
                .collect();
            let next = if more {
                items.last().map(|l| l.exchange_id.clone())
            } else {
                None
            };
            Ok(LinkPage { items, next })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The user's journal (what the sync did and why), oldest first, a page at a time.
#[utoipa::path(
    tag = "sync",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id"), ("user" = inline(crate::ids::UserId), Path, description = "The user id"), EventsPage),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = ErrorBody, description = "`invalid_query`: an unknown parameter, or a value that is not a number"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: `limit` out of 1–500, or `after` not the `next` of a page")
    )
)]
#[get("/spaces/{space}/users/{user}/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    page: web::Query<EventsPage>,
) -> Result<HttpResponse, ApiError> {
    let (space, user) = parse_ids(&path.0, &path.1)?;
    let limit = page_limit(page.limit)?;
    let after = page
        .after
        .as_deref()
        .map(|a| {
            a.parse::<u64>()
                .map_err(|_| ApiError::validation("after", "must be the `next` of a previous page"))
        })
        .transpose()?;
    let answer = state
        .blocking(move |store| {
            require_user(&store, &space, &user)?;
            let mut items = store.journal(&space, &user, after, limit + 1)?;
            let more = items.len() > limit;
            items.truncate(limit);
            let next = if more {
                items.last().map(|e| e.seq.to_string())
            } else {
                None
            };
            Ok(EventPage { items, next })
        })
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The contacts folders of the user's mailbox, to choose one as `settings.folder.existing`.
#[utoipa::path(
    tag = "sync",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id"), ("user" = inline(crate::ids::UserId), Path, description = "The user id")),
    responses(
        (status = 200, body = Vec<FolderView>),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 422, body = ErrorBody, description = "the space's Microsoft settings or the user's mailbox are wrong: `graph_sign_in_failed`, `graph_access_denied` or `mailbox_or_folder_not_found`"),
        (status = 502, body = ErrorBody, description = "Graph failed or could not be reached: `graph_unreachable`, `graph_throttled` or `graph_failed`"),
        (status = 503, body = ErrorBody, description = "`engine_not_running`")
    )
)]
#[get("/spaces/{space}/users/{user}/folders")]
pub async fn list_folders(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (space, user) = parse_ids(&path.0, &path.1)?;
    let (space_record, user_record) = state
        .blocking(move |store| {
            let user_record = require_user(&store, &space, &user)?;
            let space_record = store
                .space(&space)?
                .ok_or_else(|| ApiError::space_not_found(space.as_str()))?;
            Ok((space_record, user_record))
        })
        .await?;
    let sync = state.sync.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "engine_not_running",
            "the sync engine is not running",
        )
    })?;
    let clients = sync.clients(&space_record).map_err(ApiError::from_cycle)?;
    let folders = clients
        .graph
        .list_folders(&user_record.email)
        .await
        .map_err(|e| ApiError::from_cycle(crate::engine::cycle::graph_failed(e)))?;
    Ok(HttpResponse::Ok().json(
        folders
            .into_iter()
            .map(|f| FolderView {
                id: f.id,
                display_name: f.display_name,
            })
            .collect::<Vec<_>>(),
    ))
}

async fn decide(
    state: web::Data<AppState>,
    path: (String, String),
    confirm: bool,
) -> Result<UserView, ApiError> {
    let (space, user) = parse_ids(&path.0, &path.1)?;
    let now = state.clock.now();
    let (view, space_id, user_id) = state
        .blocking(move |store| {
            let current = require_user(&store, &space, &user)?;
            if current.state != UserState::NeedsConfirmation {
                return Err(ApiError::conflict(
                    "nothing_to_confirm",
                    "the user has no pending deletes waiting for a decision",
                ));
            }
            let enabled = store.space(&space)?.is_some_and(|s| s.integration_enabled);
            if confirm {
                let mut sync_state = store.sync_state(&space, &user)?;
                sync_state.deletes_confirmed = true;
                store.put_sync_state(&space, &user, &sync_state)?;
            }
            let record = store.update_user(&space, &user, |u| {
                u.state = if confirm { UserState::Activated } else { UserState::Paused };
                u.updated_at = now;
                Ok::<_, StoreError>(())
            })?;
            let (kind, message) = if confirm {
                ("deletes_confirmed", "an admin confirmed the pending deletes; the next sync runs them")
            } else {
                ("deletes_rejected", "an admin rejected the pending deletes; the user is paused and nothing was deleted")
            };
            store.append_journal(&space, &user, now, kind, message.into(), serde_json::Value::Null)?;
            Ok((UserView::new(&record, enabled), space, user))
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine.refresh_user(&space_id, &user_id, confirm).await;
    }
    Ok(view)
}

/// Confirms a mass delete the sync stopped at: the next cycle performs it.
#[utoipa::path(
    tag = "sync",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id"), ("user" = inline(crate::ids::UserId), Path, description = "The user id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 409, body = ErrorBody, description = "`nothing_to_confirm`")
    )
)]
#[post("/spaces/{space}/users/{user}/deletes/confirm")]
pub async fn confirm_deletes(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(decide(state, path.into_inner(), true).await?))
}

/// Rejects a mass delete the sync stopped at: nothing is deleted and the user is paused
/// until the cause is fixed and the user resumed.
#[utoipa::path(
    tag = "sync",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id"), ("user" = inline(crate::ids::UserId), Path, description = "The user id")),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 409, body = ErrorBody, description = "`nothing_to_confirm`")
    )
)]
#[post("/spaces/{space}/users/{user}/deletes/reject")]
pub async fn reject_deletes(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(decide(state, path.into_inner(), false).await?))
}
