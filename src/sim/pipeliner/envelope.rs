//! Pipeliner's JSON envelopes: success `{success, data, page_info}` and the `Error`
//! schema `{success: false, http_status, code, name, message}`.
//!
//! Codes and names: `ERROR_PARAMETER_INVALID` (117) and `ERROR_NOT_FOUND` are Pipeliner's
//! own; where Pipeliner's value is undocumented the simulator uses the HTTP status as the
//! code and a descriptive `ERROR_…` name.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use serde_json::{json, Value};

/// An error answered with Pipeliner's error envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status (also `http_status` in the body).
    pub http_status: u16,
    /// Pipeliner's internal error code.
    pub code: i64,
    /// Pipeliner's error name, e.g. `ERROR_NOT_FOUND`.
    pub name: &'static str,
    /// Human-readable description.
    pub message: String,
}

impl ApiError {
    /// 400 `ERROR_PARAMETER_INVALID` (code 117), for a bad query parameter or body value.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, 117, "ERROR_PARAMETER_INVALID", message)
    }

    /// 404 `ERROR_NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, 404, "ERROR_NOT_FOUND", message)
    }

    /// 401 for missing or wrong API key and secret.
    pub fn unauthorized() -> Self {
        Self::new(401, 401, "ERROR_UNAUTHORIZED", "Invalid API key or secret.")
    }

    /// 400 `ERROR_ENTITY_VALIDATION`, for a write that breaks a field rule (e.g. a
    /// space-required field left empty).
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(400, 400, "ERROR_ENTITY_VALIDATION", message)
    }

    /// Any other error.
    pub fn new(
        http_status: u16,
        code: i64,
        name: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            http_status,
            code,
            name,
            message: message.into(),
        }
    }

    /// The error body as JSON (also used per item in batch answers).
    pub fn body(&self) -> Value {
        json!({
            "success": false,
            "http_status": self.http_status,
            "code": self.code,
            "name": self.name,
            "message": self.message,
        })
    }

    /// The error as an HTTP response.
    pub fn response(&self) -> HttpResponse {
        let status = StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::BAD_REQUEST);
        HttpResponse::build(status).json(self.body())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.http_status, self.name, self.message)
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

/// `200 {success: true, data}`.
pub fn ok(data: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"success": true, "data": data}))
}

/// `201 {success: true, data}`, for creates.
pub fn created(data: Value) -> HttpResponse {
    HttpResponse::Created().json(json!({"success": true, "data": data}))
}

/// `200 {success: true, data: [...], total, page_info}`, for lists.
pub fn page(data: Vec<Value>, total: usize, page_info: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "success": true,
        "data": data,
        "total": total,
        "page_info": page_info,
    }))
}
