//! The Pipeliner REST API v100 client: HTTP Basic with the space's API key and secret,
//! the `{success, data, page_info}` envelope, cursor paging, contacts (delta by
//! `modified`, batch writes, a change window shared by the space's polls), clients, fields
//! and webhooks.
//!
//! Every write carries `Webhook-Skip-Key`, so exsync's own writes do not come back to it
//! as webhook deliveries.

pub mod contacts;
pub mod directory;
pub mod error;
pub mod feed;
pub mod listed;
pub mod mapping;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use error::PipelinerError;

use crate::connectors::retry::{parse_retry_after, Attempt, RetryAdvice, RetryPolicy};
use crate::metrics::{HookOperation, Metrics, Route, Service, StatusClass};

/// Pipeliner's largest page.
pub const MAX_PAGE: u32 = 100;

/// How to reach one Pipeliner space.
#[derive(Clone)]
pub struct PipelinerConfig {
    /// The service URL, e.g. `https://eu-central.api.pipelinersales.com`.
    pub service_url: String,
    /// The space id.
    pub space_id: String,
    /// The API key (Basic user name).
    pub api_key: String,
    /// The API secret (Basic password).
    pub api_secret: SecretString,
    /// The value of `Webhook-Skip-Key` sent on every write.
    pub skip_key: String,
    /// Timeout of every request.
    pub timeout: Duration,
    /// Retries of failed calls.
    pub retry: RetryPolicy,
    /// The fields a contact list asks for (`load-only`); `None` lists every field.
    pub listed_fields: Option<Vec<String>>,
    /// Where requests, 429s and waits are counted.
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for PipelinerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelinerConfig")
            .field("service_url", &self.service_url)
            .field("space_id", &self.space_id)
            .finish_non_exhaustive()
    }
}

impl PipelinerConfig {
    /// A configuration with exsync's defaults (30 s timeout, skip key `exsync`).
    pub fn new(
        service_url: impl Into<String>,
        space_id: impl Into<String>,
        api_key: impl Into<String>,
        api_secret: SecretString,
    ) -> Self {
        Self {
            service_url: service_url.into().trim_end_matches('/').to_owned(),
            space_id: space_id.into(),
            api_key: api_key.into(),
            api_secret,
            skip_key: "exsync".into(),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            listed_fields: None,
            metrics: Arc::default(),
        }
    }
}

pub use listed::ListedContact;

/// A successful answer: `data` and, for lists, `page_info`.
#[derive(Debug, Clone)]
pub struct Envelope<T = Value> {
    /// The `data` member (its type's default when absent).
    pub data: T,
    /// The `page_info` member, when present.
    pub page_info: Value,
    /// Pipeliner's clock when it answered (the `Date` header), when sent.
    pub server_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// The `{success, data, page_info}` body of an answer, `data` read as `T`.
#[derive(Deserialize)]
struct Answer<T> {
    #[serde(default)]
    success: Option<Value>,
    #[serde(default)]
    data: T,
    #[serde(default)]
    page_info: Value,
}

/// A client for one Pipeliner space. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct PipelinerClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PipelinerConfig,
    http: reqwest::Client,
    throttled: std::sync::atomic::AtomicU64,
    feed: feed::ChangeFeed,
}

impl PipelinerClient {
    /// A client for `config`.
    pub fn new(config: PipelinerConfig, http: reqwest::Client) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                http,
                throttled: std::sync::atomic::AtomicU64::new(0),
                feed: feed::ChangeFeed::default(),
            }),
        }
    }

    /// The space's shared window of recent contact changes.
    pub(crate) fn feed(&self) -> &feed::ChangeFeed {
        &self.inner.feed
    }

    /// The configuration.
    pub fn config(&self) -> &PipelinerConfig {
        &self.inner.config
    }

    /// How many 429 answers this client got.
    pub fn throttled_count(&self) -> u64 {
        self.inner
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The URL of a path below the space, e.g. `/entities/Contacts`.
    pub fn url(&self, path: &str) -> String {
        let c = &self.inner.config;
        format!(
            "{}/api/v100/rest/spaces/{}{path}",
            c.service_url, c.space_id
        )
    }

    /// Sends a request. Reads are retried; writes (`replayable = false`) only when
    /// Pipeliner said it did not run them (429).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        replayable: bool,
    ) -> Result<Envelope, PipelinerError> {
        self.send_as(method, path, query, body, replayable).await
    }

    /// Sends a request as [`send`](Self::send) does and reads a successful answer's
    /// `data` as `T`; `data` that is not a `T` is [`PipelinerError::Malformed`].
    pub(crate) async fn send_as<T: DeserializeOwned + Default, B: Serialize + ?Sized + Sync>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
        replayable: bool,
    ) -> Result<Envelope<T>, PipelinerError> {
        let url = self.url(path);
        let what = format!("{method} {path}");
        let route = Route::pipeliner(path);
        let metrics = &self.inner.config.metrics;
        let waited = |advice: RetryAdvice, wait| {
            metrics.waited(Service::Pipeliner, advice.wait_reason(), wait);
        };
        let result = self
            .inner
            .config
            .retry
            .run_observed(&what, waited, || async {
                self.send_once(route, method.clone(), &url, query, body)
                    .await
                    .map_err(|e| {
                        if replayable || matches!(e, PipelinerError::Throttled { .. }) {
                            Attempt::Retry(e)
                        } else {
                            Attempt::Stop(e)
                        }
                    })
            })
            .await
            .map_err(Attempt::into_inner);
        if let Some(operation) = route.hook_operation(&method) {
            // A webhook already gone counts as deleted.
            let ok = match &result {
                Ok(_) => true,
                Err(PipelinerError::NotFound { .. }) => operation == HookOperation::Delete,
                Err(_) => false,
            };
            metrics.hook(Service::Pipeliner, operation, ok);
        }
        result
    }

    async fn send_once<T: DeserializeOwned + Default, B: Serialize + ?Sized + Sync>(
        &self,
        route: Route,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<Envelope<T>, PipelinerError> {
        let c = &self.inner.config;
        let is_write = method != Method::GET;
        let mut request = self
            .inner
            .http
            .request(method, url)
            .query(query)
            .basic_auth(&c.api_key, Some(c.api_secret.expose_secret()))
            .timeout(c.timeout);
        if is_write {
            request = request.header("Webhook-Skip-Key", &c.skip_key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                c.metrics.upstream(route, StatusClass::TransportError);
                return Err(error::transport(e));
            }
        };
        let status = response.status().as_u16();
        c.metrics.upstream_status(route, status);
        let retry_after = parse_retry_after(response.headers().get("retry-after"));
        let server_time = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        if status == 429 {
            self.inner
                .throttled
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        // Read as bytes: the parser checks the text as it goes, without a pass and a copy
        // of its own first.
        let bytes = response.bytes().await.map_err(error::transport)?;
        let mut unexpected = None;
        if (200..=299).contains(&status) {
            match serde_json::from_slice::<Answer<T>>(&bytes) {
                Ok(answer) if answer.success != Some(Value::Bool(false)) => {
                    return Ok(Envelope {
                        data: answer.data,
                        page_info: answer.page_info,
                        server_time,
                    })
                }
                Ok(_) => {}
                Err(e) => unexpected = Some(e),
            }
        }
        // An error, or an answer of another shape: read as any JSON for its error.
        let parsed: Result<Value, _> = serde_json::from_slice(&bytes);
        match (status, parsed) {
            (200..=299, Ok(body)) if body["success"] != Value::Bool(false) => {
                Err(PipelinerError::Malformed(unexpected.map_or_else(
                    || "an answer of unexpected shape".to_owned(),
                    |e| e.to_string(),
                )))
            }
            (200..=299, Ok(body)) => Err(PipelinerError::from_body(status, &body, retry_after)),
            (200..=299, Err(e)) => Err(PipelinerError::Malformed(e.to_string())),
            (_, Ok(body)) => Err(PipelinerError::from_body(status, &body, retry_after)),
            (_, Err(_)) => Err(PipelinerError::from_body(status, &Value::Null, retry_after)),
        }
    }
}
