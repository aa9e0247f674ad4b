//! The one error type of the REST layer: a status, a stable snake_case code, a sentence,
//! and optional details, always answered as JSON (`ErrorBody`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// The JSON body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code a program can branch on, e.g. `space_not_found`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// What went wrong and what to do about it, as a sentence.
    #[schema(
        example = "settings.sync_preference: sync_preference applies only when sync_type is crm_to_exchange"
    )]
    pub message: String,
    /// Structured details, e.g. `{ "field": "settings.sync_preference" }`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// An error answered to an API caller.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The JSON body answered for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }

    /// 422: a value breaks a rule; `field` names it.
    pub fn validation(field: &str, reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {reason}"),
        )
        .with_details(serde_json::json!({ "field": field }))
    }

    /// 404 for a space id that is not registered.
    pub fn space_not_found(space: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "space_not_found",
            format!("no space with id {space:?} is registered"),
        )
    }

    /// 404 for a user id that is not activated in the space.
    pub fn user_not_found(space: &str, user: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "user_not_found",
            format!("no user with id {user:?} exists in space {space:?}"),
        )
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500: exsync failed; the message says where, never what a secret is.
    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }
}

impl ApiError {
    /// An upstream failure seen while serving a request: 422 when the configuration is
    /// wrong (credentials, permissions, unknown mailbox), 502 when the upstream failed.
    pub fn from_cycle(err: crate::engine::runner::CycleError) -> Self {
        let code: &'static str = match err.code.as_str() {
            "graph_sign_in_failed" => "graph_sign_in_failed",
            "graph_access_denied" => "graph_access_denied",
            "mailbox_or_folder_not_found" => "mailbox_or_folder_not_found",
            "pipeliner_credentials_rejected" => "pipeliner_credentials_rejected",
            "pipeliner_access_denied" => "pipeliner_access_denied",
            "pipeliner_space_not_found" => "pipeliner_space_not_found",
            "pipeliner_user_not_found" => "pipeliner_user_not_found",
            "graph_unreachable" => "graph_unreachable",
            "pipeliner_unreachable" => "pipeliner_unreachable",
            "graph_throttled" => "graph_throttled",
            "store_failed" => "store_failed",
            "secret_unreadable" => "secret_unreadable",
            "pipeliner_failed" => "pipeliner_failed",
            _ => "graph_failed",
        };
        let status = match code {
            "graph_unreachable"
            | "pipeliner_unreachable"
            | "graph_throttled"
            | "graph_failed"
            | "pipeliner_failed" => StatusCode::BAD_GATEWAY,
            "store_failed" | "secret_unreadable" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, code, err.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Crypto(message) => Self::internal("secret_unreadable", message),
            StoreError::NotFound(what) => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            other => {
                tracing::error!(error = %other, "store failure");
                Self::internal("store_failed", format!("the data store failed: {other}"))
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        response.json(self.body())
    }
}

/// Turns actix's JSON body errors into `ApiError`s: malformed JSON and unknown fields are
/// 400, values of the wrong shape are 422, a wrong content type is 415.
pub fn json_error(err: actix_web::error::JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::Deserialize(inner) if inner.is_data() => {
            let text = inner.to_string();
            if text.starts_with("unknown field") {
                ApiError::bad_request("unknown_field", format!("the request body has {text}"))
            } else {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    format!("the request body is invalid: {text}"),
                )
            }
        }
        E::Deserialize(inner) => ApiError::bad_request(
            "malformed_json",
            format!("the request body is not valid JSON: {inner}"),
        ),
        E::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the request body as application/json",
        ),
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        ),
        _ => ApiError::bad_request(
            "malformed_json",
            format!("the request body could not be read: {err}"),
        ),
    };
    api.into()
}

/// Turns query-string errors into 400 `invalid_query`.
pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &HttpRequest,
) -> actix_web::Error {
    ApiError::bad_request(
        "invalid_query",
        format!("the query string is invalid: {err}"),
    )
    .into()
}

/// Turns path-segment errors into 404 `route_not_found`: a path whose parameters do not
/// parse names no route.
pub fn path_error(err: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        format!("there is no route {} {} ({err})", req.method(), req.path()),
    )
    .into()
}

/// The stable code of an error answer the framework made itself (an oversized body, a
/// method the route does not take, …), by its status.
fn framework_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        s if s.is_server_error() => "internal_error",
        _ => "bad_request",
    }
}

/// Gives every error answer without a JSON body the [`ErrorBody`] shape: the errors
/// exsync makes are JSON already, but the framework answers some on its own (a body over
/// a route's limit, a wrong method) in plain text or with no body at all. Used as the
/// default handler of [`actix_web::middleware::ErrorHandlers`].
pub fn json_shape<B: actix_web::body::MessageBody + 'static>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    use actix_web::http::header;
    use actix_web::middleware::ErrorHandlerResponse;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let message = res
        .response()
        .error()
        .map(|e| e.to_string())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let body = ErrorBody {
        code: framework_code(status).to_owned(),
        message,
        details: None,
    };
    let (req, mut response) = res.into_parts();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    let response = response.set_body(serde_json::to_string(&body).unwrap_or_default());
    Ok(ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, response)
            .map_into_boxed_body()
            .map_into_right_body(),
    ))
}
