//! Routes for registering Pipeliner spaces and switching their integration on and off.

use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::space_models::{
    CreateSpace, IntegrationSwitch, SpaceView, UpdateSpace, DEFAULT_GRAPH_URL, DEFAULT_LOGIN_URL,
};
use super::state::AppState;
use super::validate;
use crate::engine::removals;
use crate::ids::SpaceId;
use crate::store::removals::RemovalReason;
use crate::store::spaces::{
    space_secret_context, MicrosoftConnection, PipelinerConnection, SpaceRecord,
};
use crate::store::users::UserState;
use crate::store::StoreError;

/// Registers the spaces routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(create_space)
        .service(list_spaces)
        .service(get_space)
        .service(update_space)
        .service(delete_space)
        .service(set_integration);
}

/// Parses a space id from a path; an id that cannot exist is simply not found.
pub fn path_space(raw: &str) -> Result<SpaceId, ApiError> {
    SpaceId::parse(raw).map_err(|_| ApiError::space_not_found(raw))
}

const MAX_NAME: usize = 200;
const MAX_VALUE: usize = 512;

/// Registers a space. The integration starts switched off.
#[utoipa::path(
    tag = "spaces",
    security(("admin_token" = [])),
    request_body = CreateSpace,
    responses(
        (status = 201, body = SpaceView, description = "registered"),
        (status = 400, body = ErrorBody, description = "`malformed_json` or `unknown_field`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 409, body = ErrorBody, description = "`space_exists`: the id is taken"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a field breaks a rule")
    )
)]
#[post("/spaces")]
pub async fn create_space(
    state: web::Data<AppState>,
    body: web::Json<CreateSpace>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let id = SpaceId::parse(&body.id).map_err(|e| ApiError::validation("id", e))?;
    let name = validate::text("name", &body.name, MAX_NAME)?;
    let p = &body.pipeliner;
    let m = &body.microsoft;
    validate::secret("pipeliner.api_secret", &p.api_secret)?;
    validate::secret("microsoft.client_secret", &m.client_secret)?;
    let service_url = validate::url("pipeliner.service_url", &p.service_url)?;
    let pipeliner_space = validate::text("pipeliner.space_id", &p.space_id, MAX_VALUE)?;
    let api_key = validate::text("pipeliner.api_key", &p.api_key, MAX_VALUE)?;
    let tenant_id = validate::text("microsoft.tenant_id", &m.tenant_id, MAX_VALUE)?;
    let client_id = validate::text("microsoft.client_id", &m.client_id, MAX_VALUE)?;
    let graph_url = validate::url(
        "microsoft.graph_url",
        m.graph_url.as_deref().unwrap_or(DEFAULT_GRAPH_URL),
    )?;
    let login_url = validate::url(
        "microsoft.login_url",
        m.login_url.as_deref().unwrap_or(DEFAULT_LOGIN_URL),
    )?;
    let now = state.clock.now();
    let view = state
        .blocking(move |store| {
            let record = SpaceRecord {
                pipeliner: PipelinerConnection {
                    service_url,
                    space_id: pipeliner_space,
                    api_key,
                    api_secret: store.seal(
                        &space_secret_context(&id, "pipeliner.api_secret"),
                        &body.pipeliner.api_secret,
                    )?,
                },
                microsoft: MicrosoftConnection {
                    tenant_id,
                    client_id,
                    client_secret: store.seal(
                        &space_secret_context(&id, "microsoft.client_secret"),
                        &body.microsoft.client_secret,
                    )?,
                    graph_url,
                    login_url,
                },
                id,
                name,
                integration_enabled: false,
                custom_mappings: Vec::new(),
                created_at: now,
                updated_at: now,
            };
            store.insert_space(&record).map_err(|e| match e {
                StoreError::AlreadyExists(_) => ApiError::conflict(
                    "space_exists",
                    format!(
                        "a space with id {:?} is already registered",
                        record.id.as_str()
                    ),
                ),
                other => other.into(),
            })?;
            tracing::info!(space = %record.id, "space registered");
            Ok(SpaceView::from(&record))
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Lists the registered spaces, ordered by id.
#[utoipa::path(
    tag = "spaces",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = Vec<SpaceView>),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`")
    )
)]
#[get("/spaces")]
pub async fn list_spaces(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let spaces = state
        .blocking(|store| {
            Ok(store
                .spaces()?
                .iter()
                .map(SpaceView::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(spaces))
}

/// Shows one space.
#[utoipa::path(
    tag = "spaces",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    responses(
        (status = 200, body = SpaceView),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`")
    )
)]
#[get("/spaces/{space}")]
pub async fn get_space(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_space(&path)?;
    let view = state
        .blocking(move |store| {
            store
                .space(&id)?
                .map(|s| SpaceView::from(&s))
                .ok_or_else(|| ApiError::space_not_found(id.as_str()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes a space's name or connection details; absent fields stay as they are.
#[utoipa::path(
    tag = "spaces",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    request_body = UpdateSpace,
    responses(
        (status = 200, body = SpaceView),
        (status = 400, body = ErrorBody, description = "`malformed_json` or `unknown_field`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`")
    )
)]
#[patch("/spaces/{space}")]
pub async fn update_space(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<UpdateSpace>,
) -> Result<HttpResponse, ApiError> {
    let id = path_space(&path)?;
    let patch = validated_patch(body.into_inner())?;
    let now = state.clock.now();
    let view = state
        .blocking(move |store| {
            let api_secret = patch
                .api_secret
                .as_ref()
                .map(|s| store.seal(&space_secret_context(&id, "pipeliner.api_secret"), s))
                .transpose()?;
            let client_secret = patch
                .client_secret
                .as_ref()
                .map(|s| store.seal(&space_secret_context(&id, "microsoft.client_secret"), s))
                .transpose()?;
            let record = store
                .update_space(&id, |space| {
                    patch.apply(space);
                    if let Some(sealed) = &api_secret {
                        space.pipeliner.api_secret = sealed.clone();
                    }
                    if let Some(sealed) = &client_secret {
                        space.microsoft.client_secret = sealed.clone();
                    }
                    space.updated_at = now;
                    Ok::<_, ApiError>(())
                })
                .map_err(|e| not_found_as_space(e, &id))?;
            Ok(SpaceView::from(&record))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Removes a space and exsync's records of its users (contacts in Exchange and Pipeliner
/// are not touched), and its Pipeliner webhook and any subscription left upstream (in
/// the background: a removal that fails is retried and shown in `GET /api/v1/status`).
/// Refused while a user of the space is not deactivated.
#[utoipa::path(
    tag = "spaces",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    responses(
        (status = 204, description = "removed"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`"),
        (status = 409, body = ErrorBody, description = "`space_has_active_users`: deactivate them first")
    )
)]
#[delete("/spaces/{space}")]
pub async fn delete_space(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_space(&path)?;
    let now = state.clock.now();
    state
        .blocking(move |store| {
            let Some(record) = store.space(&id)? else {
                return Err(ApiError::space_not_found(id.as_str()));
            };
            let active = store
                .users(&id)?
                .iter()
                .filter(|u| u.state != UserState::Deactivated)
                .count();
            if active > 0 {
                return Err(ApiError::conflict(
                    "space_has_active_users",
                    format!(
                        "the space still has {active} user(s) that are not deactivated; \
                         deactivate them first"
                    ),
                ));
            }
            // Its registrations upstream are removed by the engine's sweep, with a copy
            // of the connection taken before the space's secrets go.
            removals::retire_space(&store, &record, RemovalReason::SpaceDeleted, now)?;
            store.remove_space(&id)?;
            tracing::info!(space = %id, "space removed");
            Ok(())
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine.sweep_removals();
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Switches the integration on or off. Off: no user of the space syncs, no contact is
/// deleted, activations are refused until it is on again, and the space's Pipeliner
/// webhook and its users' Graph subscriptions are removed upstream (in the background,
/// retried and shown in `GET /api/v1/status` when that fails); switching on again makes
/// new ones.
#[utoipa::path(
    tag = "spaces",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    request_body = IntegrationSwitch,
    responses(
        (status = 200, body = SpaceView),
        (status = 400, body = ErrorBody, description = "`malformed_json` or `unknown_field`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: `enabled` is missing or not a boolean")
    )
)]
#[put("/spaces/{space}/integration")]
pub async fn set_integration(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<IntegrationSwitch>,
) -> Result<HttpResponse, ApiError> {
    let id = path_space(&path)?;
    let enabled = body.enabled;
    let now = state.clock.now();
    let refresh = id.clone();
    let view = state
        .blocking(move |store| {
            let record = store
                .update_space(&id, |space| {
                    if space.integration_enabled != enabled {
                        space.integration_enabled = enabled;
                        space.updated_at = now;
                    }
                    Ok::<_, ApiError>(())
                })
                .map_err(|e| not_found_as_space(e, &id))?;
            if !enabled {
                removals::retire_space(&store, &record, RemovalReason::IntegrationOff, now)?;
            }
            tracing::info!(space = %id, enabled, "integration switched");
            Ok(SpaceView::from(&record))
        })
        .await?;
    if let Some(engine) = &state.engine {
        engine.refresh_space(&refresh).await;
        engine.sweep_removals();
    }
    Ok(HttpResponse::Ok().json(view))
}

fn not_found_as_space(err: ApiError, id: &SpaceId) -> ApiError {
    if err.code() == "not_found" {
        ApiError::space_not_found(id.as_str())
    } else {
        err
    }
}

/// A space patch whose fields have all been checked.
struct ValidPatch {
    name: Option<String>,
    service_url: Option<String>,
    space_id: Option<String>,
    api_key: Option<String>,
    api_secret: Option<secrecy::SecretString>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<secrecy::SecretString>,
    graph_url: Option<String>,
    login_url: Option<String>,
}

fn validated_patch(patch: UpdateSpace) -> Result<ValidPatch, ApiError> {
    let p = patch.pipeliner.unwrap_or_default();
    let m = patch.microsoft.unwrap_or_default();
    let text = |field: &str, value: Option<String>, max| {
        value.map(|v| validate::text(field, &v, max)).transpose()
    };
    let url =
        |field: &str, value: Option<String>| value.map(|v| validate::url(field, &v)).transpose();
    if let Some(secret) = &p.api_secret {
        validate::secret("pipeliner.api_secret", secret)?;
    }
    if let Some(secret) = &m.client_secret {
        validate::secret("microsoft.client_secret", secret)?;
    }
    Ok(ValidPatch {
        name: text("name", patch.name, MAX_NAME)?,
        service_url: url("pipeliner.service_url", p.service_url)?,
        space_id: text("pipeliner.space_id", p.space_id, MAX_VALUE)?,
        api_key: text("pipeliner.api_key", p.api_key, MAX_VALUE)?,
        api_secret: p.api_secret,
        tenant_id: text("microsoft.tenant_id", m.tenant_id, MAX_VALUE)?,
        client_id: text("microsoft.client_id", m.client_id, MAX_VALUE)?,
        client_secret: m.client_secret,
        graph_url: url("microsoft.graph_url", m.graph_url)?,
        login_url: url("microsoft.login_url", m.login_url)?,
    })
}

impl ValidPatch {
    /// Copies every given plain field onto the space (secrets are sealed by the caller).
    fn apply(&self, space: &mut SpaceRecord) {
        let set = |target: &mut String, value: &Option<String>| {
            if let Some(value) = value {
                target.clone_from(value);
            }
        };
        set(&mut space.name, &self.name);
        set(&mut space.pipeliner.service_url, &self.service_url);
        set(&mut space.pipeliner.space_id, &self.space_id);
        set(&mut space.pipeliner.api_key, &self.api_key);
        set(&mut space.microsoft.tenant_id, &self.tenant_id);
        set(&mut space.microsoft.client_id, &self.client_id);
        set(&mut space.microsoft.graph_url, &self.graph_url);
        set(&mut space.microsoft.login_url, &self.login_url);
    }
}
