//! JSON batching: up to 20 requests per `$batch`, answered per request. Sub-requests
//! throttled inside a successful batch (429 with their own `Retry-After`) are sent again
//! after the longest wait asked for.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::error::from_status;
use super::models::BatchRequest;
use super::{GraphClient, GraphError, Replay};
use crate::connectors::retry::parse_retry_after;

/// Graph's limit of requests per batch.
pub const MAX_BATCH: usize = 20;
/// How many times throttled sub-requests are sent again.
const MAX_THROTTLED_ROUNDS: usize = 5;

/// The result of one batched request: its JSON body, or the error it got.
pub type BatchResult = Result<Value, GraphError>;

fn retry_after_of(response: &Value) -> Option<Duration> {
    let headers = response.get("headers")?.as_object()?;
    let value = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?
        .1
        .as_str()?;
    parse_retry_after(reqwest::header::HeaderValue::from_str(value).ok().as_ref())
}

impl GraphClient {
    /// Sends `requests` in batches of [`MAX_BATCH`] and returns each one's result, keyed
    /// by request id.
    pub async fn batch(
        &self,
        mailbox: &str,
        requests: Vec<BatchRequest>,
    ) -> Result<HashMap<String, BatchResult>, GraphError> {
        let mut results = HashMap::with_capacity(requests.len());
        for chunk in requests.chunks(MAX_BATCH) {
            self.batch_chunk(mailbox, chunk, &mut results).await?;
        }
        Ok(results)
    }

    async fn batch_chunk(
        &self,
        mailbox: &str,
        chunk: &[BatchRequest],
        results: &mut HashMap<String, BatchResult>,
    ) -> Result<(), GraphError> {
        let mut pending: Vec<&BatchRequest> = chunk.iter().collect();
        for round in 0..=MAX_THROTTLED_ROUNDS {
            let body = json!({
                "requests": pending.iter().map(|r| {
                    let mut item = json!({ "id": r.id, "method": r.method.as_str(), "url": r.url });
                    if let Some(body) = &r.body {
                        item["body"] = body.clone();
                        item["headers"] = json!({ "Content-Type": "application/json" });
                    }
                    item
                }).collect::<Vec<_>>()
            });
            // A batch mixes creates with other writes: resend it only when Graph did not
            // run it at all.
            let answer = self
                .send_costing(
                    mailbox,
                    pending.len() as u32,
                    Method::POST,
                    "/$batch",
                    Some(&body),
                    Replay::OnlyIfThrottled,
                )
                .await?;
            let mut body = answer.body;
            let Value::Array(responses) = body["responses"].take() else {
                return Err(GraphError::Malformed(
                    "a batch answer without responses".into(),
                ));
            };
            let mut throttled = Vec::new();
            let mut wait = Duration::ZERO;
            let mut answered = std::collections::HashSet::with_capacity(responses.len());
            for mut response in responses {
                let Some(id) = response["id"].as_str().map(str::to_owned) else {
                    continue;
                };
                let status = response["status"].as_u64().unwrap_or(0) as u16;
                let retry_after = retry_after_of(&response);
                let body = response
                    .get_mut("body")
                    .map(Value::take)
                    .unwrap_or(Value::Null);
                answered.insert(id.clone());
                if status == 429 {
                    self.note_throttled();
                }
                if status == 429 && round < MAX_THROTTLED_ROUNDS {
                    wait = wait.max(retry_after.unwrap_or(Duration::from_secs(1)));
                    throttled.push(id);
                } else if (200..300).contains(&status) {
                    results.insert(id, Ok(body));
                } else {
                    results.insert(id, Err(from_status(status, &body, retry_after)));
                }
            }
            for request in &pending {
                if !answered.contains(&request.id) {
                    results.insert(
                        request.id.clone(),
                        Err(GraphError::Malformed(format!(
                            "no answer for batch request {}",
                            request.id
                        ))),
                    );
                }
            }
            if throttled.is_empty() {
                return Ok(());
            }
            tracing::debug!(
                count = throttled.len(),
                wait_ms = wait.as_millis() as u64,
                "batch requests throttled"
            );
            tokio::time::sleep(wait.min(self.config().retry.max_delay)).await;
            pending.retain(|r| throttled.contains(&r.id));
        }
        Ok(())
    }
}
