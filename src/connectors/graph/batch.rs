//! JSON batching: up to 20 requests per `$batch`, answered per request. Sub-requests
//! throttled inside a successful batch (429 with their own `Retry-After`) are sent again
//! after the longest wait asked for.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::from_status;
use super::models::BatchRequest;
use super::{GraphClient, GraphError, Replay};
use crate::connectors::retry::parse_retry_after;

/// Graph's limit of requests per batch.
pub const MAX_BATCH: usize = 20;
/// How many times throttled sub-requests are sent again.
const MAX_THROTTLED_ROUNDS: usize = 5;

/// What a batched request that succeeded answered with: the record's id and change key.
/// The rest of its body (a created contact comes back whole) is skipped unread.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct BatchBody {
    /// The record's id, when the answer carries one.
    pub id: Option<String>,
    /// The record's new change key, when the answer carries one.
    #[serde(rename = "changeKey")]
    pub change_key: Option<String>,
}

/// The result of one batched request: the members of its body exsync reads, or the error
/// it got.
pub type BatchResult = Result<BatchBody, GraphError>;

/// One sub-request as sent.
#[derive(Serialize)]
struct OutgoingRequest<'a> {
    id: &'a str,
    method: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<JsonContent>,
}

/// The `Content-Type` header of a sub-request with a body.
#[derive(Serialize)]
struct JsonContent {
    #[serde(rename = "Content-Type")]
    content_type: &'static str,
}

/// A `$batch` request body.
#[derive(Serialize)]
struct OutgoingBatch<'a> {
    requests: Vec<OutgoingRequest<'a>>,
}

/// A `$batch` answer; each sub-answer's body is kept as raw JSON until its status says
/// how to read it.
#[derive(Default, Deserialize)]
struct BatchAnswer {
    responses: Option<Vec<SubAnswer>>,
}

#[derive(Deserialize)]
struct SubAnswer {
    id: Option<String>,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    headers: Option<Map<String, Value>>,
    body: Option<Box<RawValue>>,
}

fn retry_after_of(headers: Option<&Map<String, Value>>) -> Option<Duration> {
    let value = headers?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))?
        .1
        .as_str()?;
    parse_retry_after(reqwest::header::HeaderValue::from_str(value).ok().as_ref())
}

/// The result of a sub-answer with `status`.
fn sub_result(status: u16, body: Option<&RawValue>, retry_after: Option<Duration>) -> BatchResult {
    if (200..300).contains(&status) {
        // A body that is not an object carries no id: the caller sees the write done
        // without one.
        return Ok(body
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or_default());
    }
    let body = body
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or(Value::Null);
    Err(from_status(status, &body, retry_after))
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
            let body = OutgoingBatch {
                requests: pending
                    .iter()
                    .map(|r| OutgoingRequest {
                        id: &r.id,
                        method: r.method.as_str(),
                        url: &r.url,
                        body: r.body.as_deref(),
                        headers: r.body.as_ref().map(|_| JsonContent {
                            content_type: "application/json",
                        }),
                    })
                    .collect(),
            };
            // A batch mixes creates with other writes: resend it only when Graph did not
            // run it at all.
            let (_, answer): (_, BatchAnswer) = self
                .send_costing_as(
                    mailbox,
                    pending.len() as u32,
                    Method::POST,
                    "/$batch",
                    Some(&body),
                    Replay::OnlyIfThrottled,
                )
                .await?;
            let Some(responses) = answer.responses else {
                return Err(GraphError::Malformed(
                    "a batch answer without responses".into(),
                ));
            };
            let mut throttled = Vec::new();
            let mut wait = Duration::ZERO;
            let mut answered = std::collections::HashSet::with_capacity(responses.len());
            for response in responses {
                let Some(id) = response.id else {
                    continue;
                };
                let status = response.status;
                let retry_after = retry_after_of(response.headers.as_ref());
                answered.insert(id.clone());
                if status == 429 {
                    self.note_throttled();
                }
                if status == 429 && round < MAX_THROTTLED_ROUNDS {
                    wait = wait.max(retry_after.unwrap_or(Duration::from_secs(1)));
                    throttled.push(id);
                } else {
                    results.insert(
                        id,
                        sub_result(status, response.body.as_deref(), retry_after),
                    );
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
