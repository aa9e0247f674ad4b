//! Swagger UI 5.32.6 as a zip, for utoipa-swagger-ui's build script (see `Cargo.toml`).

/// The Swagger UI release, zipped as GitHub publishes it.
#[doc(hidden)]
pub const SWAGGER_UI_VENDORED: &[u8] = std::include_bytes!("../res/v5.32.6.zip");
