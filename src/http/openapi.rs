//! The OpenAPI document: metadata, the bearer security scheme, and the shared schemas.
//! Paths are collected from the router itself (see [`super::register`]), so the spec and
//! the routes cannot drift.

use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::RefOr;
use utoipa::{Modify, OpenApi};

use super::error::ErrorBody;

/// The static part of the spec.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "exsync admin API",
        description = "Administers exsync, the contact sync engine between Microsoft Exchange \
                       and Pipeliner CRM: register spaces, switch their integration on, \
                       activate users and inspect their sync. Every /api/v1 route needs the \
                       admin token as a bearer token. Errors are JSON with a stable `code` and \
                       a human `message`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody)),
    tags(
        (name = "spaces", description = "Pipeliner spaces and their integration switch"),
        (name = "users", description = "Users of a space: activation, settings, status"),
        (name = "status", description = "The summary across all users"),
        (name = "sync", description = "What a user's sync did: links, journal, folders, pending deletes"),
        (name = "mappings", description = "The field mapping: the default table and each space's custom fields"),
        (name = "webhooks", description = "Receivers for Graph and Pipeliner notifications, authenticated by their own secrets"),
        (name = "health", description = "Probes for orchestrators, open without a token"),
        (name = "metrics", description = "Prometheus metrics, for the admin token or the read-only metrics token")
    )
)]
pub struct ApiDoc;

/// Adds the bearer schemes: `admin_token`, which admin routes require, and `metrics_token`,
/// which `GET /metrics` accepts beside it.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token: set with EXSYNC_ADMIN_TOKEN, or generated and \
                         printed on first start.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The read-only metrics token set with EXSYNC_METRICS_TOKEN: accepted \
                         by GET /metrics only.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Says in the spec that each `FolderChoice` variant is an object with its one member and
/// no other, as the server reads it (the derived schema leaves other members open).
pub fn close_folder_choice(api: &mut utoipa::openapi::OpenApi) {
    let Some(components) = api.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut("FolderChoice") {
        for variant in &mut one_of.items {
            if let RefOr::T(Schema::Object(object)) = variant {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}
