//! The admin REST API (actix-web): one file per route group, every route documented with
//! utoipa and registered through utoipa-actix-web so the router and the spec cannot drift,
//! plus the vendored Swagger UI.

pub mod allowed_methods;
pub mod auth;
pub mod durable;
pub mod error;
pub mod error_examples;
pub mod examples;
pub mod headers;
pub mod health;
pub mod mappings;
pub mod metrics;
pub mod openapi;
pub mod request_log;
pub mod space_models;
pub mod spaces;
pub mod state;
pub mod status;
pub mod sync_data;
pub mod user_models;
pub mod users;
pub mod validate;
pub mod webhooks;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, ErrorHandlers};
use actix_web::{web, App};
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::SwaggerUi;

use state::AppState;

/// Where the spec is served.
pub const OPENAPI_PATH: &str = "/api-docs/openapi.json";
/// Where Swagger UI is served.
pub const SWAGGER_UI_PATH: &str = "/swagger-ui/";

/// Registers every documented route on `app`.
pub fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(openapi::ApiDoc::openapi())
        .service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics)
        .configure(webhooks::routes)
        .service(
            scope("/api/v1")
                .wrap(from_fn(durable::flush_changes))
                .wrap(from_fn(auth::require_admin_token))
                .configure(spaces::routes)
                .configure(users::routes)
                .configure(mappings::routes)
                .configure(sync_data::routes)
                .configure(status::routes),
        )
}

/// The OpenAPI document, generated from the routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    finish(register(App::new().into_utoipa_app()).split_for_parts().1)
}

/// What is added once every route is in the spec: the answers every operation of a kind
/// gives (415 for a JSON body), an example for every body and answer, and the closed shape
/// of `FolderChoice`.
fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    error_examples::complete(&mut api);
    examples::complete(&mut api);
    openapi::close_folder_choice(&mut api);
    api
}

/// The OpenAPI document as pretty-printed JSON, as committed in `openapi/openapi.json`.
pub fn openapi_json() -> String {
    let mut json = openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot render the spec: {e}\"}}"));
    json.push('\n');
    json
}

/// The whole web application: the API, the spec, Swagger UI, and JSON errors for
/// everything that goes wrong before a handler runs.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, api) = register(
        App::new()
            .into_utoipa_app()
            .app_data(web::Data::new(state))
            .app_data(web::JsonConfig::default().error_handler(error::json_error))
            .app_data(web::QueryConfig::default().error_handler(error::query_error))
            .app_data(web::PathConfig::default().error_handler(error::path_error)),
    )
    .split_for_parts();
    let api = finish(api);
    let allowed = allowed_methods::AllowedMethods::of(&api);
    app.app_data(web::Data::new(allowed))
        .service(
            SwaggerUi::new("/swagger-ui/{_:.*}")
                .url(OPENAPI_PATH, api)
                .config(
                    utoipa_swagger_ui::Config::default()
                        .validator_url("none")
                        .persist_authorization(true),
                ),
        )
        .service(web::redirect("/swagger-ui", SWAGGER_UI_PATH))
        .default_service(web::to(allowed_methods::no_route))
        .wrap(ErrorHandlers::new().default_handler(error::json_shape))
        .wrap(from_fn(request_log::log_request))
        .wrap(from_fn(headers::security_headers))
}
