//! JSON batching: up to 20 requests per `$batch`, answered per request. Sub-requests
//! throttled inside a successful batch (429 with their own `Retry-After`) are sent again
//! after the longest wait asked for. Writes use [`GraphClient::batch`]; reads such as
//! [`GraphClient::find_by_property_many`] share the same round trip and retry loop, also
//! send again the sub-requests Graph failed (5xx), as a read sent alone would be, and
//! read the bodies of their answers their own way.

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
/// How many times throttled sub-requests (and, in a batch of reads, failed ones) are sent
/// again before their error is their result.
pub const MAX_RESENDS: usize = 5;

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

/// Reads the body of a sub-answer that succeeded (2xx) into what its caller wants.
pub(crate) type ReadBody<T> = fn(Option<&RawValue>) -> Result<T, GraphError>;

/// The `Prefer` value every sub-request carries. Graph does not pass the headers of the
/// `$batch` request on to the requests inside it, so each one asks for immutable ids
/// itself, as [`GraphClient::send`] does for a request of its own.
const IMMUTABLE_IDS: &str = "IdType=\"ImmutableId\"";

/// One sub-request as sent.
#[derive(Serialize)]
struct OutgoingRequest<'a> {
    id: &'a str,
    method: &'a str,
    url: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a RawValue>,
    headers: SubHeaders,
}

impl<'a> OutgoingRequest<'a> {
    fn of(request: &'a BatchRequest) -> Self {
        Self {
            id: &request.id,
            method: request.method.as_str(),
            url: &request.url,
            body: request.body.as_deref(),
            headers: SubHeaders {
                prefer: IMMUTABLE_IDS,
                content_type: request.body.as_ref().map(|_| "application/json"),
            },
        }
    }
}

/// The headers of a sub-request: immutable ids always, and `Content-Type`, which Graph
/// requires, with a body.
#[derive(Serialize)]
struct SubHeaders {
    #[serde(rename = "Prefer")]
    prefer: &'static str,
    #[serde(rename = "Content-Type", skip_serializing_if = "Option::is_none")]
    content_type: Option<&'static str>,
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

/// What a write that succeeded answered with.
fn written(body: Option<&RawValue>) -> BatchResult {
    // A body that is not an object carries no id: the caller sees the write done without
    // one.
    Ok(body
        .and_then(|raw| serde_json::from_str(raw.get()).ok())
        .unwrap_or_default())
}

/// The result of a sub-answer with `status`, its body read by `read` when it succeeded.
fn sub_result<T>(
    status: u16,
    body: Option<&RawValue>,
    retry_after: Option<Duration>,
    read: ReadBody<T>,
) -> Result<T, GraphError> {
    if (200..300).contains(&status) {
        return read(body);
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
            // A batch mixes creates with other writes: resend it only when Graph did not
            // run it at all.
            self.batch_chunk(
                mailbox,
                chunk,
                Replay::OnlyIfThrottled,
                written,
                &mut results,
            )
            .await?;
        }
        Ok(results)
    }

    /// Sends one `$batch` of at most [`MAX_BATCH`] requests (each one a unit of the
    /// mailbox's budget) and adds every request's result to `results`, keyed by its id:
    /// its body read by `read` when it succeeded, else its error. Throttled requests are
    /// sent again after the longest `Retry-After`, and so, with a `replay` of
    /// [`Replay::Safe`] (reads), are failed ones (5xx), up to [`MAX_RESENDS`] times;
    /// `replay` also says whether the whole batch may be sent again when it fails whole.
    pub(crate) async fn batch_chunk<T>(
        &self,
        mailbox: &str,
        chunk: &[BatchRequest],
        replay: Replay,
        read: ReadBody<T>,
        results: &mut HashMap<String, Result<T, GraphError>>,
    ) -> Result<(), GraphError> {
        let mut pending: Vec<&BatchRequest> = chunk.iter().collect();
        for round in 0..=MAX_RESENDS {
            let body = OutgoingBatch {
                requests: pending.iter().map(|r| OutgoingRequest::of(r)).collect(),
            };
            let (_, answer): (_, BatchAnswer) = self
                .send_costing_as(
                    mailbox,
                    pending.len() as u32,
                    Method::POST,
                    "/$batch",
                    Some(&body),
                    replay,
                )
                .await?;
            let Some(responses) = answer.responses else {
                return Err(GraphError::Malformed(
                    "a batch answer without responses".into(),
                ));
            };
            let mut again = Vec::new();
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
                // A throttled request did not run; one that failed runs again only in a
                // batch that may be replayed.
                let resend = status == 429 || (replay == Replay::Safe && status >= 500);
                if resend && round < MAX_RESENDS {
                    wait = wait.max(retry_after.unwrap_or(Duration::from_secs(1)));
                    again.push(id);
                } else {
                    results.insert(
                        id,
                        sub_result(status, response.body.as_deref(), retry_after, read),
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
            if again.is_empty() {
                return Ok(());
            }
            tracing::debug!(
                count = again.len(),
                wait_ms = wait.as_millis() as u64,
                "batch requests throttled or failed, sending them again"
            );
            tokio::time::sleep(wait.min(self.config().retry.max_delay)).await;
            pending.retain(|r| again.contains(&r.id));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_sub_request_asks_for_immutable_ids_and_one_with_a_body_says_its_type() {
        let headers = |method, body: Option<Value>| {
            let request = BatchRequest {
                id: "1".into(),
                method,
                url: "/users/u/contacts".into(),
                body: body.map(|b| serde_json::value::to_raw_value(&b).unwrap()),
            };
            serde_json::to_value(OutgoingRequest::of(&request)).unwrap()["headers"].clone()
        };
        assert_eq!(
            headers(Method::GET, None),
            json!({ "Prefer": "IdType=\"ImmutableId\"" })
        );
        assert_eq!(
            headers(Method::POST, Some(json!({ "a": 1 }))),
            json!({ "Prefer": "IdType=\"ImmutableId\"", "Content-Type": "application/json" })
        );
    }
}
