//! Routes for the field mapping: the default table, and each space's custom-field
//! mappings (a Pipeliner `cf_*` field ↔ a documented Graph contact property).

use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::{ApiError, ErrorBody};
use super::spaces::path_space;
use super::state::AppState;
use crate::connectors::graph::mapping::graph_path;
use crate::sync::mapping::{pipeliner_name, CustomMapping, Mapping, GRAPH_CUSTOM_PROPERTIES};
use crate::sync::Field;

/// Registers the mapping routes.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(default_mappings)
        .service(get_space_mappings)
        .service(put_space_mappings);
}

/// One row of the default table.
#[derive(Serialize, ToSchema)]
pub struct DefaultMapping {
    /// The canonical field.
    #[schema(example = "email1")]
    pub field: String,
    /// Where it lives on a Graph contact.
    #[schema(example = "emailAddresses[0].address")]
    pub exchange: String,
    /// The Pipeliner Contact field.
    #[schema(example = "email1")]
    pub pipeliner: String,
}

/// The default table and what custom mappings may use.
#[derive(Serialize, ToSchema)]
pub struct DefaultMappings {
    /// The fields every space syncs.
    pub fields: Vec<DefaultMapping>,
    /// Graph contact properties a custom mapping may use.
    pub custom_exchange_properties: Vec<String>,
}

/// A space's custom mappings.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpaceMappings {
    /// Each maps a Pipeliner `cf_*` field to a Graph contact property.
    pub custom: Vec<CustomMapping>,
}

/// The default field mapping, and the Graph properties custom mappings may use.
#[utoipa::path(
    tag = "mappings",
    security(("admin_token" = [])),
    responses(
        (status = 200, body = DefaultMappings),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`")
    )
)]
#[get("/field-mappings")]
pub async fn default_mappings() -> HttpResponse {
    HttpResponse::Ok().json(DefaultMappings {
        fields: Field::ALL
            .iter()
            .map(|f| DefaultMapping {
                field: f.name().to_owned(),
                exchange: graph_path(*f),
                pipeliner: pipeliner_name(*f).to_owned(),
            })
            .collect(),
        custom_exchange_properties: GRAPH_CUSTOM_PROPERTIES
            .iter()
            .map(|(p, _)| (*p).to_owned())
            .collect(),
    })
}

/// A space's custom-field mappings.
#[utoipa::path(
    tag = "mappings",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    responses(
        (status = 200, body = SpaceMappings),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`")
    )
)]
#[get("/spaces/{space}/field-mappings")]
pub async fn get_space_mappings(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_space(&path)?;
    let custom = state
        .blocking(move |store| {
            store
                .space(&id)?
                .map(|s| s.custom_mappings)
                .ok_or_else(|| ApiError::space_not_found(id.as_str()))
        })
        .await?;
    Ok(HttpResponse::Ok().json(SpaceMappings { custom }))
}

/// Replaces a space's custom-field mappings; its users' next cycles use them.
///
/// Each user's next tick (ticks are spread out) reconciles all its contacts under the new
/// mapping: a value on one side only is copied where the sync type allows, and where
/// both sides differ the sync type's source side (Pipeliner when bidirectional) keeps
/// its value. `POST …/sync` runs a user's reconciliation at once.
#[utoipa::path(
    tag = "mappings",
    security(("admin_token" = [])),
    params(("space" = inline(crate::ids::SpaceId), Path, description = "The space id")),
    request_body = SpaceMappings,
    responses(
        (status = 200, body = SpaceMappings),
        (status = 400, body = ErrorBody, description = "`malformed_json` or `unknown_field`"),
        (status = 401, body = ErrorBody, description = "`missing_token` or `invalid_token`"),
        (status = 404, body = ErrorBody, description = "`space_not_found`"),
        (status = 422, body = ErrorBody, description = "`validation_failed`: a mapping names an unknown property, a non-`cf_` field, or a name twice")
    )
)]
#[put("/spaces/{space}/field-mappings")]
pub async fn put_space_mappings(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SpaceMappings>,
) -> Result<HttpResponse, ApiError> {
    let id = path_space(&path)?;
    let custom = body.into_inner().custom;
    Mapping {
        custom: custom.clone(),
    }
    .validate()
    .map_err(|e| ApiError::validation("custom", e))?;
    let now = state.clock.now();
    let space_id = id.clone();
    let (saved, users) = state
        .blocking(move |store| {
            let space = store
                .update_space(&id, |s| {
                    s.custom_mappings = custom.clone();
                    s.updated_at = now;
                    Ok::<_, ApiError>(())
                })
                .map_err(|e| {
                    if e.code() == "not_found" {
                        ApiError::space_not_found(id.as_str())
                    } else {
                        e
                    }
                })?;
            let users: Vec<_> = store.users(&id)?.into_iter().map(|u| u.id).collect();
            Ok((space.custom_mappings, users))
        })
        .await?;
    if let Some(engine) = &state.engine {
        // Ends each user's quiet lease without a cycle: the next tick is a full one.
        for user in &users {
            engine.refresh_user(&space_id, user, false).await;
        }
    }
    Ok(HttpResponse::Ok().json(SpaceMappings { custom: saved }))
}
