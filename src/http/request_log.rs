//! One log line per request: method, path, status and duration. Headers and bodies are
//! never logged, so tokens and secrets cannot leak through here.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// The longest path logged, bytes; a longer one is cut (a client chooses it, and one
/// request should not write a 64 KB line).
const MAX_LOGGED_PATH: usize = 256;

fn loggable(path: &str) -> String {
    if path.len() <= MAX_LOGGED_PATH {
        return path.to_owned();
    }
    let mut end = MAX_LOGGED_PATH;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &path[..end], path.len())
}

/// Logs the request after it is answered.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = loggable(req.path());
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status().as_u16(),
        Err(err) => err.as_response_error().status_code().as_u16(),
    };
    let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    // Probes and scrapes come every few seconds; a refused scrape is worth a line.
    let routine = path.starts_with("/healthz")
        || path.starts_with("/readyz")
        || (path == "/metrics" && status < 400);
    if routine {
        tracing::debug!(%method, %path, status, elapsed_us, "request");
    } else {
        tracing::info!(%method, %path, status, elapsed_us, "request");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_paths_are_cut_in_the_log() {
        assert_eq!(loggable("/api/v1/spaces"), "/api/v1/spaces");
        let long = format!("/{}", "é".repeat(1000));
        let logged = loggable(&long);
        assert!(logged.len() < MAX_LOGGED_PATH + 32, "{logged}");
        assert!(logged.ends_with("(2001 bytes)"), "{logged}");
    }
}
