//! Graph's error envelope `{ "error": { "code", "message" } }` as the simulator answers it.

use actix_web::HttpResponse;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphFault {
    /// HTTP status.
    pub status: u16,
    /// Graph error code.
    pub code: String,
    /// Message.
    pub message: String,
    /// `Retry-After` seconds, for 429 and 503.
    pub retry_after: Option<u64>,
}

impl GraphFault {
    /// An error with this status, code and message.
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400 `ErrorInvalidArgument`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "ErrorInvalidArgument", message)
    }

    /// 429 `TooManyRequests` with `Retry-After`.
    pub fn throttled(retry_after: u64, message: &str) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(429, "TooManyRequests", message)
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message, "innerError": { "request-id": "sim" } } })
    }

    /// The whole HTTP answer.
    pub fn response(&self) -> HttpResponse {
        let status = actix_web::http::StatusCode::from_u16(self.status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut answer = HttpResponse::build(status);
        if let Some(secs) = self.retry_after {
            answer.insert_header(("Retry-After", secs.to_string()));
        }
        answer.json(self.body())
    }
}
