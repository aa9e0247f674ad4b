//! Errors from Pipeliner's REST API, read from its error envelope
//! `{success: false, http_status, code, name, message}`.

use std::time::Duration;

use crate::connectors::retry::{Retriable, RetryAdvice};

/// What went wrong talking to Pipeliner.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PipelinerError {
    /// The API key or secret is wrong.
    #[error("Pipeliner refused the API key and secret ({name}): {message}")]
    Unauthorized {
        /// Pipeliner's error name.
        name: String,
        /// Pipeliner's message.
        message: String,
    },
    /// The application may not use this endpoint.
    #[error("Pipeliner denied access ({name}): {message}")]
    Forbidden {
        /// Pipeliner's error name.
        name: String,
        /// Pipeliner's message.
        message: String,
    },
    /// The space or record does not exist.
    #[error("not found in Pipeliner ({name}): {message}")]
    NotFound {
        /// Pipeliner's error name.
        name: String,
        /// Pipeliner's message.
        message: String,
    },
    /// Pipeliner refused the values (e.g. a required field is missing).
    #[error("Pipeliner refused the request ({http_status}, {name}): {message}")]
    Invalid {
        /// The HTTP status.
        http_status: u16,
        /// Pipeliner's numeric code.
        code: i64,
        /// Pipeliner's error name.
        name: String,
        /// Pipeliner's message.
        message: String,
    },
    /// Too many requests.
    #[error("Pipeliner is throttling requests (retry after {retry_after:?})")]
    Throttled {
        /// The wait Pipeliner asked for.
        retry_after: Option<Duration>,
    },
    /// Pipeliner failed (5xx).
    #[error("Pipeliner failed ({http_status}): {message}")]
    Unavailable {
        /// The HTTP status.
        http_status: u16,
        /// Pipeliner's message.
        message: String,
        /// The wait Pipeliner asked for.
        retry_after: Option<Duration>,
    },
    /// The connection failed or was cut.
    #[error("cannot reach Pipeliner: {0}")]
    Transport(String),
    /// Pipeliner did not answer within the timeout.
    #[error("Pipeliner did not answer in time")]
    Timeout,
    /// The answer was not the JSON expected.
    #[error("Pipeliner answered with a malformed body: {0}")]
    Malformed(String),
}

impl PipelinerError {
    /// Whether a write may have gone through although it reported failure.
    pub fn maybe_committed(&self) -> bool {
        matches!(
            self,
            PipelinerError::Transport(_)
                | PipelinerError::Timeout
                | PipelinerError::Unavailable { .. }
        )
    }

    /// Reads an error object (an envelope, or one item of a batch answer).
    pub fn from_body(status: u16, body: &serde_json::Value, retry_after: Option<Duration>) -> Self {
        let http_status = body["http_status"]
            .as_u64()
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(status);
        let name = body["name"].as_str().unwrap_or("UNKNOWN").to_owned();
        let message = body["message"].as_str().unwrap_or("").to_owned();
        let code = body["code"].as_i64().unwrap_or(0);
        match http_status {
            401 => PipelinerError::Unauthorized { name, message },
            403 => PipelinerError::Forbidden { name, message },
            404 => PipelinerError::NotFound { name, message },
            429 => PipelinerError::Throttled { retry_after },
            s if s >= 500 => PipelinerError::Unavailable {
                http_status: s,
                message,
                retry_after,
            },
            s => PipelinerError::Invalid {
                http_status: s,
                code,
                name,
                message,
            },
        }
    }
}

impl Retriable for PipelinerError {
    fn advice(&self) -> RetryAdvice {
        match self {
            PipelinerError::Throttled {
                retry_after: Some(wait),
            }
            | PipelinerError::Unavailable {
                retry_after: Some(wait),
                ..
            } => RetryAdvice::After(*wait),
            PipelinerError::Throttled { .. }
            | PipelinerError::Unavailable { .. }
            | PipelinerError::Transport(_)
            | PipelinerError::Timeout
            | PipelinerError::Malformed(_) => RetryAdvice::Backoff,
            _ => RetryAdvice::Fail,
        }
    }
}

/// Maps reqwest's failure to send or read.
pub(crate) fn transport(err: reqwest::Error) -> PipelinerError {
    if err.is_timeout() {
        PipelinerError::Timeout
    } else {
        PipelinerError::Transport(err.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelopes_map_to_typed_errors() {
        let body = json!({"success": false, "http_status": 422, "code": 117, "name": "ERROR_PARAMETER_INVALID", "message": "cf_region is required"});
        assert!(matches!(
            PipelinerError::from_body(422, &body, None),
            PipelinerError::Invalid { code: 117, .. }
        ));
        let body = json!({"success": false, "http_status": 404, "name": "ERROR_NOT_FOUND", "message": "Space not found."});
        assert!(matches!(
            PipelinerError::from_body(404, &body, None),
            PipelinerError::NotFound { .. }
        ));
        assert_eq!(
            PipelinerError::from_body(503, &json!(null), Some(Duration::from_secs(2))).advice(),
            RetryAdvice::After(Duration::from_secs(2))
        );
        assert_eq!(
            PipelinerError::from_body(401, &json!({}), None).advice(),
            RetryAdvice::Fail
        );
    }
}
