//! The Microsoft Graph v1.0 client: app-only sign-in, contact folders, contacts, delta,
//! `$batch` and change-notification subscriptions.
//!
//! Every call goes through [`GraphClient::send`], which adds the bearer token,
//! `Prefer: IdType="ImmutableId"` and `odata.maxpagesize`, keeps at most four requests in
//! flight per mailbox, paces each mailbox under its request budget ([`budget`]), applies the timeout, maps Graph's error envelope to
//! [`GraphError`], and retries what may be retried (honouring `Retry-After`).

mod auth;
pub mod batch;
pub mod budget;
pub mod contacts;
pub mod delta;
pub mod error;
pub mod folders;
pub mod listed;
pub mod mapping;
pub mod models;
pub mod subscriptions;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::Semaphore;

use budget::{MailboxBudget, MailboxPacer};
pub use error::GraphError;

use crate::clock::SharedClock;
use crate::connectors::retry::{parse_retry_after, Attempt, RetryAdvice, RetryPolicy};
use crate::metrics::{HookOperation, Metrics, Route, Service, StatusClass, WaitReason};

/// Graph allows this many concurrent requests per app and mailbox.
pub const MAILBOX_CONCURRENCY: usize = 4;

/// How to reach Graph for one tenant.
#[derive(Clone)]
pub struct GraphConfig {
    /// The version root, e.g. `https://graph.microsoft.com/v1.0`.
    pub graph_url: String,
    /// The sign-in root, e.g. `https://login.microsoftonline.com`.
    pub login_url: String,
    /// The tenant id.
    pub tenant_id: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's client secret.
    pub client_secret: SecretString,
    /// Items per page asked for with `odata.maxpagesize`.
    pub page_size: u32,
    /// Timeout of every request.
    pub timeout: Duration,
    /// Retries of failed calls.
    pub retry: RetryPolicy,
    /// The request budget per mailbox the client paces itself under.
    pub budget: MailboxBudget,
    /// Where requests, 429s and waits are counted.
    pub metrics: Arc<Metrics>,
}

impl std::fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphConfig")
            .field("graph_url", &self.graph_url)
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl GraphConfig {
    /// A configuration with exsync's defaults: pages of 100, 30 s timeout.
    pub fn new(
        graph_url: impl Into<String>,
        login_url: impl Into<String>,
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        Self {
            graph_url: graph_url.into().trim_end_matches('/').to_owned(),
            login_url: login_url.into().trim_end_matches('/').to_owned(),
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            client_secret,
            page_size: 100,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            budget: MailboxBudget::default(),
            metrics: Arc::default(),
        }
    }
}

/// An answer from Graph that was a success.
#[derive(Debug)]
pub struct GraphResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body (`Null` when empty).
    pub body: Value,
}

/// Whether a failed call may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Safe to repeat (reads, PATCH, DELETE).
    Safe,
    /// A create: repeated only when Graph said it did not run it (429).
    OnlyIfThrottled,
}

/// A Graph client for one tenant. Cloning is cheap and shares the token and the
/// per-mailbox limits.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: GraphConfig,
    http: reqwest::Client,
    clock: SharedClock,
    token: tokio::sync::Mutex<Option<auth::CachedToken>>,
    mailboxes: Mutex<HashMap<String, Arc<Semaphore>>>,
    pacer: MailboxPacer,
    throttled: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl GraphClient {
    /// A client for `config`, reading time from `clock` (token expiry).
    pub fn new(config: GraphConfig, http: reqwest::Client, clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                pacer: MailboxPacer::new(config.budget),
                config,
                http,
                clock,
                token: tokio::sync::Mutex::new(None),
                mailboxes: Mutex::new(HashMap::new()),
                throttled: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    /// How many 429 answers (whole requests or batched sub-requests) this client got.
    pub fn throttled_count(&self) -> u64 {
        self.inner
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts one 429 answer.
    pub(crate) fn note_throttled(&self) {
        self.inner
            .throttled
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    fn mailbox_limit(&self, mailbox: &str) -> Arc<Semaphore> {
        let mut map = self
            .inner
            .mailboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry(mailbox.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(MAILBOX_CONCURRENCY)))
            .clone()
    }

    /// An absolute URL for a path below the version root (absolute URLs pass through).
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{}", self.inner.config.graph_url, path_or_url)
        }
    }

    /// Sends one request for `mailbox`, with retries as `replay` allows.
    pub async fn send(
        &self,
        mailbox: &str,
        method: Method,
        path_or_url: &str,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<GraphResponse, GraphError> {
        self.send_costing(mailbox, 1, method, path_or_url, body, replay)
            .await
    }

    /// Sends one request that counts as `cost` requests against the mailbox's budget (a
    /// `$batch` of `cost` sub-requests), with retries as `replay` allows.
    pub(crate) async fn send_costing(
        &self,
        mailbox: &str,
        cost: u32,
        method: Method,
        path_or_url: &str,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<GraphResponse, GraphError> {
        let (status, body) = self
            .send_costing_as(mailbox, cost, method, path_or_url, body, replay)
            .await?;
        Ok(GraphResponse { status, body })
    }

    /// As [`Self::send_costing`], with any serialisable request body and the success
    /// body read straight into `T` (`T::default()` when empty), so that an answer needs
    /// no `serde_json::Value` of its own when only a few of its members matter.
    pub(crate) async fn send_costing_as<B, T>(
        &self,
        mailbox: &str,
        cost: u32,
        method: Method,
        path_or_url: &str,
        body: Option<&B>,
        replay: Replay,
    ) -> Result<(u16, T), GraphError>
    where
        B: serde::Serialize + ?Sized,
        T: serde::de::DeserializeOwned + Default,
    {
        let url = self.url(path_or_url);
        let what = format!("{method} {}", strip_query(path_or_url));
        let route = Route::graph(path_or_url);
        let result = self
            .inner
            .config
            .retry
            .run_observed(
                &what,
                |advice: RetryAdvice, wait| {
                    let metrics = &self.inner.config.metrics;
                    metrics.waited(Service::Graph, advice.wait_reason(), wait);
                },
                || async {
                    self.send_once(mailbox, cost, route, method.clone(), &url, body)
                        .await
                        .map_err(|e| match (replay, &e) {
                            (Replay::OnlyIfThrottled, GraphError::Throttled { .. })
                            | (Replay::Safe, _) => Attempt::Retry(e),
                            (Replay::OnlyIfThrottled, _) => Attempt::Stop(e),
                        })
                },
            )
            .await
            .map_err(Attempt::into_inner);
        if let Some(operation) = route.hook_operation(&method) {
            // A subscription already gone counts as deleted.
            let ok = match &result {
                Ok(_) => true,
                Err(GraphError::NotFound { .. }) => operation == HookOperation::Delete,
                Err(_) => false,
            };
            self.inner
                .config
                .metrics
                .hook(Service::Graph, operation, ok);
        }
        result
    }

    async fn send_once<B, T>(
        &self,
        mailbox: &str,
        cost: u32,
        route: Route,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<(u16, T), GraphError>
    where
        B: serde::Serialize + ?Sized,
        T: serde::de::DeserializeOwned + Default,
    {
        let token = self.token().await?;
        let paced = self.inner.pacer.take(mailbox, cost).await;
        let metrics = &self.inner.config.metrics;
        metrics.waited(Service::Graph, WaitReason::Paced, paced);
        let limit = self.mailbox_limit(mailbox);
        let _permit = limit
            .acquire_owned()
            .await
            .map_err(|_| GraphError::Transport("the mailbox limiter was closed".into()))?;
        let mut request = self
            .inner
            .http
            .request(method, url)
            .bearer_auth(&token)
            .header(
                "Prefer",
                format!(
                    "odata.maxpagesize={}, IdType=\"ImmutableId\"",
                    self.inner.config.page_size
                ),
            )
            .timeout(self.inner.config.timeout);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                metrics.upstream(route, StatusClass::TransportError);
                return Err(error::transport(e));
            }
        };
        let status = response.status().as_u16();
        metrics.upstream_status(route, status);
        let retry_after = parse_retry_after(response.headers().get("retry-after"));
        // Read as bytes: the parser checks the text as it goes, without a pass and a copy
        // of its own first.
        let bytes = response.bytes().await.map_err(error::transport)?;
        let empty = bytes.iter().all(u8::is_ascii_whitespace);
        if (200..300).contains(&status) {
            if empty {
                return Ok((status, T::default()));
            }
            return serde_json::from_slice::<T>(&bytes)
                .map(|body| (status, body))
                .map_err(|e| GraphError::Malformed(e.to_string()));
        }
        let body = if empty {
            Value::Null
        } else {
            serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null)
        };
        if status == 401 {
            self.forget_token().await;
        }
        if status == 429 {
            self.note_throttled();
        }
        Err(error::from_status(status, &body, retry_after))
    }
}

fn strip_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}
