//! Routes for activating users of a space, changing their settings, and pausing,
//! resuming, deactivating or nudging their sync.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::spaces::path_space;
use super::state::AppState;
use super::user_models::{
    ActivateUser, DeactivateQuery, ReconciliationFacts, SettingsPatch, SyncFacts, UserView,
};
use super::validate;
use crate::engine::cycle::probe::ProbeTarget;
use crate::engine::removals;
use crate::ids::{SpaceId, UserId};
use crate::store::removals::RemovalReason;
use crate::store::users::{SyncStatus, UserRecord, UserState};
use crate::store::Store;
use actix_web::http::StatusCode;

/// Registers the users routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(activate_user)
        .service(list_users)
        .service(get_user)
        .service(update_settings)
        .service(deactivate_user)
        .service(pause_user)
        .service(resume_user)
        .service(sync_user);
}

/// Parses a user id from a path; an id that cannot exist is simply not found.
fn path_user(space: &SpaceId, raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|_| ApiError::user_not_found(space.as_str(), raw))
}

/// Loads the space and the user, or the matching 404.
fn load(store: &Store, space: &SpaceId, user: &UserId) -> Result<(bool, UserRecord), ApiError> {
    let record = store
        .space(space)?
        .ok_or_else(|| ApiError::space_not_found(space.as_str()))?;
    let user = store
        .user(space, user)?
        .ok_or_else(|| ApiError::user_not_found(space.as_str(), user.as_str()))?;
    Ok((record.integration_enabled, user))
}

fn integration_disabled(space: &SpaceId) -> ApiError {
    ApiError::conflict(
        "integration_disabled",
        format!(
            "the integration is switched off for space {:?}; switch it on with \
             PUT /api/v1/spaces/{space}/integration first",
            space.as_str()
        ),
    )
}

/// Applies a state change to a user, journals it, tells the engine (which pauses,
/// resumes, or with `kick` runs a cycle at once), and answers the user view.
async fn transition(
    state: web::Data<AppState>,
    path: (String, String),
    kind: &'static str,
    kick: bool,
    change: fn(&mut UserRecord, bool, chrono::DateTime<chrono::Utc>) -> Result<(), ApiError>,
) -> Result<UserView, ApiError> {
    let space = path_space(&path.0)?;
    let user = path_user(&space, &path.1)?;
    let now = state.clock.now();
    let (refresh_space, refresh_user) = (space.clone(), user.clone());
    let view = state
        .blocking(move |store| {
            let (enabled, _) = load(&store, &space, &user)?;
            let record = store.update_user(&space, &user, |u| change(u, enabled, now))?;
            store.append_journal(
                &space,
                &user,
                now,
                kind,
                format!("user {kind}"),
                serde_json::Value::Null,
            )?;
            tracing::info!(space = %space, user = %user, kind, "user state changed");
            Ok(UserView::new(&record, enabled))
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine
            .refresh_user(&refresh_space, &refresh_user, kick)
            .await;
    }
    Ok(view)
}

/// Activates a user (201), or reconfigures an existing one (200). Refused with 409
/// `integration_disabled` while the space's integration is off. The status says no sync
/// has run until the engine runs one.
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id")
    ),
    request_body = ActivateUser,
    responses(
        (status = 201, body = UserView, description = "activated"),
        (status = 200, body = UserView, description = "reconfigured"),
        (status = 400, body = ErrorBody, description = "`malformed_json` or `unknown_field`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`"),
        (status = 409, body = ErrorBody, description = "`integration_disabled`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a field breaks a rule; `ews_not_supported`; or the connection test failed: `graph_sign_in_failed`, `graph_access_denied`, `mailbox_or_folder_not_found`, `pipeliner_credentials_rejected`, `pipeliner_space_not_found`, `pipeliner_user_not_found`"),
        (status = 502, body = ErrorBody, description = "the connection test could not reach an upstream: `graph_unreachable`, `pipeliner_unreachable`, `graph_throttled`, `graph_failed`, `pipeliner_failed`")
    )
)]
#[put("/spaces/{space}/users/{user}")]
pub async fn activate_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<ActivateUser>,
) -> Result<HttpResponse, ApiError> {
    let (raw_space, raw_user) = path.into_inner();
    let space = path_space(&raw_space)?;
    let user = UserId::parse(&raw_user).map_err(|e| ApiError::validation("user", e))?;
    let body = body.into_inner();
    let email = validate::email("email", &body.email)?;
    let pipeliner_user_id = body
        .pipeliner_user_id
        .as_deref()
        .map(|id| validate::text("pipeliner_user_id", id, 128))
        .transpose()?;
    let settings = body
        .settings
        .validated()
        .map_err(|e| ApiError::validation(e.field, e.reason))?;
    if let Some(c) = &body.credentials {
        validate::secret("credentials.password", &c.password)?;
        if let Some(url) = &c.ews_url {
            validate::url("credentials.ews_url", url)?;
        }
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ews_not_supported",
            "on-premises Exchange (EWS, with a mailbox password) is not supported yet; activate \
             the user without credentials to sync an Exchange Online mailbox through Microsoft Graph",
        )
        .with_details(serde_json::json!({ "field": "credentials" })));
    }
    let probe_space = space.clone();
    let space_record = state
        .blocking(move |store| {
            let record = store
                .space(&probe_space)?
                .ok_or_else(|| ApiError::space_not_found(probe_space.as_str()))?;
            if !record.integration_enabled {
                return Err(integration_disabled(&probe_space));
            }
            Ok(record)
        })
        .await?;
    if let Some(sync) = &state.sync {
        sync.probe(
            &space_record,
            ProbeTarget {
                email: &email,
                pipeliner_user_id: pipeliner_user_id.as_deref(),
                folder: &settings.folder,
            },
        )
        .await
        .map_err(ApiError::from_cycle)?;
    }
    let now = state.clock.now();
    let (refresh_space, refresh_user) = (space.clone(), user.clone());
    let (created, view) = state
        .blocking(move |store| {
            let space_record = store
                .space(&space)?
                .ok_or_else(|| ApiError::space_not_found(space.as_str()))?;
            if !space_record.integration_enabled {
                return Err(integration_disabled(&space));
            }
            let existing = store.user(&space, &user)?;
            let created = existing.is_none();
            // Every activation of an existing user re-reads all its contacts once.
            let reconcile_epoch = existing.as_ref().map_or(0, |old| old.reconcile_epoch + 1);
            let (state_now, activated_at, status) = match existing {
                None => (UserState::Activated, now, SyncStatus::default()),
                Some(old) => match old.state {
                    UserState::Deactivated => (UserState::Activated, now, old.status),
                    UserState::Paused | UserState::NeedsConfirmation => {
                        (old.state, old.activated_at, old.status)
                    }
                    UserState::Activated | UserState::Error => {
                        (UserState::Activated, old.activated_at, old.status)
                    }
                },
            };
            let record = UserRecord {
                space: space.clone(),
                id: user.clone(),
                email,
                pipeliner_user_id,
                // On-premises credentials are refused above until an EWS connector exists.
                credentials: None,
                settings,
                state: state_now,
                activated_at,
                updated_at: now,
                status,
                reconcile_epoch,
            };
            store.put_user(&record)?;
            let kind = if created { "activated" } else { "reconfigured" };
            store.append_journal(
                &space,
                &user,
                now,
                kind,
                format!("user {kind}"),
                serde_json::Value::Null,
            )?;
            tracing::info!(space = %space, user = %user, kind, "user activation");
            Ok((created, UserView::new(&record, true)))
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine
            .refresh_user(&refresh_space, &refresh_user, true)
            .await;
    }
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Lists a space's users with their status, ordered by id (the last sync's times as in
/// the single user's view).
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    responses(
        (status = 200, body = Vec<UserView>),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`")
    )
)]
#[get("/spaces/{space}/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let space = path_space(&path)?;
    let quiet = state.quiet_cycles();
    let users = state
        .blocking(move |store| {
            let record = store
                .space(&space)?
                .ok_or_else(|| ApiError::space_not_found(space.as_str()))?;
            Ok(store
                .users(&space)?
                .iter_mut()
                .map(|u| {
                    quiet.show(u);
                    UserView::new(u, record.integration_enabled)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(users))
}

/// Shows a user's settings and status: state, when it was activated, the last sync, what
/// it did, and the last error. The last sync's times include ticks that found nothing to
/// do, which the engine holds in memory rather than writing.
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id")
    ),
    responses(
        (status = 200, body = UserView),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`")
    )
)]
#[get("/spaces/{space}/users/{user}")]
pub async fn get_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let space = path_space(&path.0)?;
    let user = path_user(&space, &path.1)?;
    let quiet = state.quiet_cycles();
    let view = state
        .blocking(move |store| {
            let (enabled, mut record) = load(&store, &space, &user)?;
            quiet.show(&mut record);
            let sync_state = store.sync_state_summary(&space, &user)?;
            let subscription = match &sync_state.subscription_id {
                Some(id) => store.subscription(id)?,
                None => None,
            };
            let mapping = crate::sync::Mapping {
                custom: store
                    .space(&space)?
                    .map(|s| s.custom_mappings)
                    .unwrap_or_default(),
            };
            let reconciliation = ReconciliationFacts::of(
                &record,
                &mapping,
                sync_state.planned_scope.as_ref(),
                sync_state.first_sync_done,
            );
            let mut view = UserView::new(&record, enabled);
            let syncs = matches!(record.state, UserState::Activated | UserState::Error);
            if let Some(r) = reconciliation.as_ref().filter(|_| syncs) {
                view.summary = r.summary(&view.summary);
            }
            view.sync = Some(SyncFacts {
                folder_id: sync_state.folder_id,
                pipeliner_owner_id: sync_state.owner_id,
                initial_sync_done: sync_state.first_sync_done,
                subscription_expires_at: subscription.map(|s| s.expires_at),
                pending_creates: sync_state.intents,
                tombstones: sync_state.tombstones,
                reconciliation,
            });
            Ok(view)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes some of a user's settings; absent fields stay as they are.
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id")
    ),
    request_body = SettingsPatch,
    responses(
        (status = 200, body = UserView),
        (status = 400, body = ErrorBody, description = "`malformed_json` or `unknown_field`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`")
    )
)]
#[patch("/spaces/{space}/users/{user}/settings")]
pub async fn update_settings(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<SettingsPatch>,
) -> Result<HttpResponse, ApiError> {
    let space = path_space(&path.0)?;
    let user = path_user(&space, &path.1)?;
    let patch = body.into_inner();
    let now = state.clock.now();
    let (refresh_space, refresh_user) = (space.clone(), user.clone());
    let view = state
        .blocking(move |store| {
            let (enabled, current) = load(&store, &space, &user)?;
            let settings = patch
                .applied_to(&current.settings)
                .validated()
                .map_err(|e| ApiError::validation(e.field, e.reason))?;
            let record = store.update_user(&space, &user, |u| {
                u.settings = settings.clone();
                u.updated_at = now;
                Ok::<_, ApiError>(())
            })?;
            store.append_journal(
                &space,
                &user,
                now,
                "settings_changed",
                "sync settings changed".into(),
                serde_json::to_value(&record.settings).unwrap_or_default(),
            )?;
            Ok(UserView::new(&record, enabled))
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine
            .refresh_user(&refresh_space, &refresh_user, true)
            .await;
    }
    Ok(HttpResponse::Ok().json(view))
}

/// Deactivates a user: its sync stops, its stored credentials are dropped, and its Graph
/// subscription is removed upstream (in the background: a removal that fails is retried
/// and shown in `GET /api/v1/status`, never fails this call). With `?purge=true` its
/// contact links and journal are dropped too. Contacts in Exchange and Pipeliner are
/// never touched.
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id"),
        DeactivateQuery
    ),
    responses(
        (status = 200, body = UserView, description = "deactivated"),
        (status = 400, body = ErrorBody, description = "`invalid_query`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`")
    )
)]
#[delete("/spaces/{space}/users/{user}")]
pub async fn deactivate_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<DeactivateQuery>,
) -> Result<HttpResponse, ApiError> {
    let space = path_space(&path.0)?;
    let user = path_user(&space, &path.1)?;
    let purge = query.purge;
    let now = state.clock.now();
    let (refresh_space, refresh_user) = (space.clone(), user.clone());
    let view = state
        .blocking(move |store| {
            let (enabled, _) = load(&store, &space, &user)?;
            let record = store.update_user(&space, &user, |u| {
                u.state = UserState::Deactivated;
                u.credentials = None;
                u.updated_at = now;
                Ok::<_, ApiError>(())
            })?;
            // The user's subscriptions are removed upstream by the engine's sweep; the
            // space's connection for that is copied now.
            if let Some(space_record) = store.space(&space)? {
                let reason = if purge {
                    RemovalReason::UserPurged
                } else {
                    RemovalReason::UserDeactivated
                };
                removals::retire_user(&store, &space_record, &record, reason, now)?;
            }
            if purge {
                store.purge_sync_state(&space, &user)?;
            } else {
                store.append_journal(
                    &space,
                    &user,
                    now,
                    "deactivated",
                    "user deactivated".into(),
                    serde_json::Value::Null,
                )?;
            }
            tracing::info!(space = %space, user = %user, purge, "user deactivated");
            Ok(UserView::new(&record, enabled))
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine
            .refresh_user(&refresh_space, &refresh_user, false)
            .await;
        engine.sweep_removals();
    }
    Ok(HttpResponse::Ok().json(view))
}

/// Pauses a user's sync until it is resumed.
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id")
    ),
    responses(
        (status = 200, body = UserView, description = "paused"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 409, body = ErrorBody, description = "`user_deactivated`")
    )
)]
#[post("/spaces/{space}/users/{user}/pause")]
pub async fn pause_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let view = transition(state, path.into_inner(), "paused", false, |u, _, now| {
        refuse_deactivated(u)?;
        u.state = UserState::Paused;
        u.updated_at = now;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Resumes a paused user (or retries one in error).
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id")
    ),
    responses(
        (status = 200, body = UserView, description = "resumed"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 409, body = ErrorBody, description = "`user_deactivated` or `confirmation_required`")
    )
)]
#[post("/spaces/{space}/users/{user}/resume")]
pub async fn resume_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let view = transition(state, path.into_inner(), "resumed", true, |u, _, now| {
        refuse_deactivated(u)?;
        if u.state == UserState::NeedsConfirmation {
            return Err(ApiError::conflict(
                "confirmation_required",
                "the user waits for pending deletes to be confirmed or rejected",
            ));
        }
        u.state = UserState::Activated;
        u.updated_at = now;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Asks for a sync of the user as soon as possible (202). Refused while the user is
/// paused or deactivated, or the space's integration is off.
#[utoipa::path(
    tag = "users",
    security(("admin_token" = [])),
    params(
        ("space" = inline(crate::ids::SpaceId), Path, description = "The space id"),
        ("user" = inline(crate::ids::UserId), Path, description = "The user id")
    ),
    responses(
        (status = 202, body = UserView, description = "sync requested"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found` or `user_not_found`"),
        (status = 409, body = ErrorBody, description = "`integration_disabled`, `user_paused` or `user_deactivated`")
    )
)]
#[post("/spaces/{space}/users/{user}/sync")]
pub async fn sync_user(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let view = transition(
        state,
        path.into_inner(),
        "sync_requested",
        true,
        |u, enabled, now| {
            refuse_deactivated(u)?;
            if !enabled {
                return Err(integration_disabled(&u.space));
            }
            if u.state == UserState::Paused {
                return Err(ApiError::conflict(
                    "user_paused",
                    "the user is paused; resume it before asking for a sync",
                ));
            }
            u.status.sync_requested_at = Some(now);
            Ok(())
        },
    )
    .await?;
    Ok(HttpResponse::Accepted().json(view))
}

fn refuse_deactivated(user: &UserRecord) -> Result<(), ApiError> {
    if user.state == UserState::Deactivated {
        Err(ApiError::conflict(
            "user_deactivated",
            "the user is deactivated; activate it again with PUT first",
        ))
    } else {
        Ok(())
    }
}
