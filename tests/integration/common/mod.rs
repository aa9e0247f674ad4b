//! Helpers shared by the integration tests: a real exsync server on a free loopback port
//! with a temp data dir, an authenticated client, and captured logs.

pub mod logs;

use std::net::TcpListener;
use std::sync::Arc;

use exsync::app::{run, AppError};
use exsync::clock::SystemClock;
use exsync::config::{Config, LogFormat};
use exsync::demo::world::World;
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// How a test server runs.
#[derive(Debug, Clone, Copy)]
pub struct ServerOptions {
    /// Seconds between safety-net ticks.
    pub tick_interval: u64,
    /// Seconds between safety-net ticks of a user both upstreams notify; `None` keeps
    /// them at `tick_interval`.
    pub notified_tick_interval: Option<u64>,
    /// Whether upstream webhooks point at this server (`EXSYNC_PUBLIC_URL`).
    pub public_url: bool,
    /// Graph's request budget per mailbox exsync paces under, requests per window.
    pub graph_budget_requests: u32,
    /// The budget window, seconds.
    pub graph_budget_window: u64,
    /// The read-only metrics token (`EXSYNC_METRICS_TOKEN`), when one is set.
    pub metrics_token: Option<&'static str>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            tick_interval: 3600,
            notified_tick_interval: None,
            public_url: false,
            graph_budget_requests: 10_000,
            graph_budget_window: 600,
            metrics_token: None,
        }
    }
}

/// A running exsync on `127.0.0.1:<free port>`.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token the server accepts.
    pub token: String,
    /// The data directory (kept alive across restarts).
    pub data_dir: Arc<TempDir>,
    /// How it runs.
    pub options: ServerOptions,
    /// The simulated upstreams spaces can point at (kept across restarts).
    pub world: Arc<World>,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<actix_web::rt::task::JoinHandle<Result<(), AppError>>>,
}

/// A fresh random admin token for one test, as long as exsync requires (43 characters).
pub fn random_token() -> String {
    format!("test-token-{:032x}", rand::random::<u128>())
}

impl TestServer {
    /// Starts exsync on a fresh data dir.
    pub async fn start() -> Self {
        let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
        Self::start_in(dir, random_token()).await
    }

    /// Starts exsync on `data_dir` with `token` as the admin token.
    pub async fn start_in(data_dir: Arc<TempDir>, token: String) -> Self {
        Self::start_with(data_dir, token, ServerOptions::default()).await
    }

    /// Starts exsync on `data_dir` with `token` and `options`, with a fresh world of
    /// simulated upstreams holding the people `jane@acme.com` and `joe@acme.com`.
    pub async fn start_with(data_dir: Arc<TempDir>, token: String, options: ServerOptions) -> Self {
        let world = World::start(rand::random(), Arc::new(SystemClock), "Acme Inc")
            .await
            .expect("simulators start");
        world.add_person("jane@acme.com");
        world.add_person("joe@acme.com");
        Self::start_in_world(data_dir, token, options, Arc::new(world)).await
    }

    /// Starts exsync on `data_dir` next to an existing world.
    pub async fn start_in_world(
        data_dir: Arc<TempDir>,
        token: String,
        options: ServerOptions,
        world: Arc<World>,
    ) -> Self {
        logs::install();
        let listener = TcpListener::bind("127.0.0.1:0").expect("free port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let config = Config {
            bind: listener.local_addr().expect("address"),
            data_dir: data_dir.path().to_owned(),
            admin_token: Some(SecretString::from(token.clone())),
            metrics_token: options.metrics_token.map(SecretString::from),
            master_key: None,
            public_url: options.public_url.then(|| base.clone()),
            tls_cert: None,
            tls_key: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            workers: Some(1),
            tick_interval: options.tick_interval,
            notified_tick_interval: options
                .notified_tick_interval
                .unwrap_or(options.tick_interval),
            graph_budget_requests: options.graph_budget_requests,
            graph_budget_window: options.graph_budget_window,
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = actix_web::rt::spawn(run(config, listener, async move {
            let _ = rx.await;
        }));
        let server = Self {
            base,
            token,
            data_dir,
            options,
            world,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        // The listener is bound before `run` starts, so requests queue until it serves;
        // a readiness probe answers once the store is open.
        let response = self
            .client
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .expect("server answers");
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Stops the server gracefully and hands back its data dir.
    pub async fn stop(mut self) -> Arc<TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stops cleanly");
        }
        self.data_dir.clone()
    }

    /// Stops the server and starts a new one on the same data dir and token.
    pub async fn restart(self) -> Self {
        let (token, options, world) = (self.token.clone(), self.options, self.world.clone());
        let dir = self.stop().await;
        Self::start_in_world(dir, token, options, world).await
    }

    /// Stops the server and starts it again on the same data dir and world after `between`
    /// ran on the (released) data dir.
    pub async fn restart_after(self, between: impl FnOnce(&std::path::Path)) -> Self {
        let (token, options, world) = (self.token.clone(), self.options, self.world.clone());
        let dir = self.stop().await;
        between(dir.path());
        Self::start_in_world(dir, token, options, world).await
    }

    /// Sends a request with the admin token; `body` is sent as JSON when given.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.expect("body read");
        logs::remember_answer(&text);
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    /// A raw request builder without the admin token.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// PUT a JSON body with the token.
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// POST without a body, with the token.
    pub async fn post_empty(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::POST, path, None).await
    }

    /// GET with the token.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }
}

/// A valid space registration body with distinctive secrets.
pub fn space_body(id: &str) -> Value {
    serde_json::json!({
        "id": id,
        "name": format!("{id} Inc"),
        "pipeliner": {
            "service_url": "https://eu-central.api.pipelinersales.com",
            "space_id": format!("nl_{id}"),
            "api_key": format!("{id}_key"),
            "api_secret": format!("PIPELINER-SECRET-{id}")
        },
        "microsoft": {
            "tenant_id": "00000000-0000-0000-0000-000000000001",
            "client_id": "00000000-0000-0000-0000-000000000002",
            "client_secret": format!("GRAPH-SECRET-{id}")
        }
    })
}

/// A valid activation body.
pub fn user_body(email: &str, sync_type: &str) -> Value {
    serde_json::json!({
        "email": email,
        "settings": {
            "sync_type": sync_type,
            "delete_protection": true,
            "folder": { "create": {} }
        }
    })
}

/// Registers a space reaching the server's simulated upstreams, switched on.
pub async fn enabled_space(server: &TestServer, id: &str) {
    let (status, _) = server
        .call(
            Method::POST,
            "/api/v1/spaces",
            Some(server.world.space_body(id)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = server
        .call(
            Method::PUT,
            &format!("/api/v1/spaces/{id}/integration"),
            Some(serde_json::json!({ "enabled": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// Asserts an error answer's status and code.
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "answer: {}", answer.1);
    assert_eq!(answer.1["code"], code, "answer: {}", answer.1);
    assert!(
        answer.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "an error carries a message: {}",
        answer.1
    );
}
