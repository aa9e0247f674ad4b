//! Errors from Microsoft Graph and its sign-in endpoint, typed by what the caller should do.

use std::time::Duration;

use crate::connectors::retry::{Retriable, RetryAdvice};

/// What went wrong talking to Graph.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GraphError {
    /// The sign-in endpoint refused the app's credentials (wrong tenant, client id or secret).
    #[error("Microsoft sign-in refused the app credentials ({code}): {description}")]
    SignIn {
        /// The AAD error code, e.g. `invalid_client`.
        code: String,
        /// AAD's explanation.
        description: String,
    },
    /// Graph refused the token or the app lacks permission for the mailbox.
    #[error("Graph refused access ({status}, {code}): {message}")]
    Denied {
        /// 401 or 403.
        status: u16,
        /// Graph's error code.
        code: String,
        /// Graph's message.
        message: String,
    },
    /// The mailbox, folder or contact does not exist.
    #[error("not found in Graph ({code}): {message}")]
    NotFound {
        /// Graph's error code, e.g. `ErrorItemNotFound`.
        code: String,
        /// Graph's message.
        message: String,
    },
    /// The write conflicts with the current state (e.g. `ErrorFolderExists`).
    #[error("Graph reported a conflict ({code}): {message}")]
    Conflict {
        /// Graph's error code.
        code: String,
        /// Graph's message.
        message: String,
    },
    /// The delta token is no longer valid; a full re-enumeration is needed.
    #[error("the Graph delta token expired ({code}); a full re-enumeration is needed")]
    SyncStateExpired {
        /// `syncStateNotFound`, `resyncRequired` or the status.
        code: String,
    },
    /// Graph refused the request as invalid.
    #[error("Graph refused the request ({status}, {code}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Graph's error code.
        code: String,
        /// Graph's message.
        message: String,
    },
    /// Graph is throttling this app for this mailbox.
    #[error("Graph is throttling requests (retry after {retry_after:?})")]
    Throttled {
        /// The wait Graph asked for.
        retry_after: Option<Duration>,
    },
    /// Graph failed (5xx).
    #[error("Graph failed ({status}, {code}): {message}")]
    Unavailable {
        /// The HTTP status.
        status: u16,
        /// Graph's error code.
        code: String,
        /// Graph's message.
        message: String,
        /// The wait Graph asked for, if any.
        retry_after: Option<Duration>,
    },
    /// The connection failed or was cut.
    #[error("cannot reach Graph: {0}")]
    Transport(String),
    /// Graph did not answer within the timeout.
    #[error("Graph did not answer in time")]
    Timeout,
    /// Graph's answer was not the JSON expected.
    #[error("Graph answered with a malformed body: {0}")]
    Malformed(String),
}

impl GraphError {
    /// Whether a create may have gone through although it reported failure.
    pub fn maybe_committed(&self) -> bool {
        matches!(
            self,
            GraphError::Transport(_) | GraphError::Timeout | GraphError::Unavailable { .. }
        )
    }
}

impl Retriable for GraphError {
    fn advice(&self) -> RetryAdvice {
        match self {
            GraphError::Throttled {
                retry_after: Some(wait),
            }
            | GraphError::Unavailable {
                retry_after: Some(wait),
                ..
            } => RetryAdvice::After(*wait),
            GraphError::Throttled { retry_after: None }
            | GraphError::Unavailable { .. }
            | GraphError::Transport(_)
            | GraphError::Timeout
            | GraphError::Malformed(_) => RetryAdvice::Backoff,
            _ => RetryAdvice::Fail,
        }
    }
}

/// Maps reqwest's failure to send or read.
pub(crate) fn transport(err: reqwest::Error) -> GraphError {
    if err.is_timeout() {
        GraphError::Timeout
    } else {
        GraphError::Transport(err.without_url().to_string())
    }
}

/// Maps a non-success answer with Graph's `{ "error": { "code", "message" } }` envelope.
pub(crate) fn from_status(
    status: u16,
    body: &serde_json::Value,
    retry_after: Option<Duration>,
) -> GraphError {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or("unknown")
        .to_owned();
    let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
    match status {
        401 | 403 => GraphError::Denied {
            status,
            code,
            message,
        },
        404 => GraphError::NotFound { code, message },
        409 => GraphError::Conflict { code, message },
        410 => GraphError::SyncStateExpired { code },
        429 => GraphError::Throttled { retry_after },
        s if s >= 500 => GraphError::Unavailable {
            status,
            code,
            message,
            retry_after,
        },
        _ if code == "syncStateNotFound" || code == "resyncRequired" => {
            GraphError::SyncStateExpired { code }
        }
        _ => GraphError::Rejected {
            status,
            code,
            message,
        },
    }
}
