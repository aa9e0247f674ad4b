//! A Graph simulator with one tenant, app and mailbox, a raw HTTP client with a token,
//! and a webhook receiver that answers the validation handshake.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use exsync::clock::{ManualClock, SharedClock};
use exsync::connectors::graph::{GraphClient, GraphConfig};
use exsync::connectors::retry::RetryPolicy;
use exsync::sim::graph::{GraphControl, GraphSim, GraphSimConfig, RunningGraphSim};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::mpsc;

pub const TENANT: &str = "tenant-1";
pub const CLIENT: &str = "client-1";
pub const SECRET: &str = "graph-secret";
pub const MAILBOX: &str = "ann@acme.example";

pub struct Sim {
    pub running: RunningGraphSim,
    pub control: GraphControl,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub token: String,
}

pub async fn sim(seed: u64) -> Sim {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let shared: SharedClock = clock.clone();
    let sim = GraphSim::new(GraphSimConfig {
        seed,
        clock: shared,
    });
    let control = sim.control();
    control.add_app(TENANT, CLIENT, SECRET);
    control.add_mailbox(TENANT, MAILBOX);
    let running = sim
        .start(TcpListener::bind("127.0.0.1:0").unwrap())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let token = sign_in(&http, &running.login_url(), SECRET).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    Sim {
        running,
        control,
        clock,
        http,
        token,
    }
}

pub async fn sign_in(http: &reqwest::Client, login: &str, secret: &str) -> (u16, Value) {
    let response = http
        .post(format!("{login}/{TENANT}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

impl Sim {
    /// A request below the Graph root with the bearer token.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, body, None).await
    }

    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        page: Option<u32>,
    ) -> (u16, Value) {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.running.graph_url())
        };
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(n) = page {
            request = request.header("Prefer", format!("odata.maxpagesize={n}"));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn folder(&self, name: &str) -> String {
        self.control.create_folder(MAILBOX, name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn client(&self) -> GraphClient {
        let mut config = GraphConfig::new(
            self.running.graph_url(),
            self.running.login_url(),
            TENANT,
            CLIENT,
            SecretString::from(SECRET.to_owned()),
        );
        config.retry = RetryPolicy {
            max_retries: 5,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        };
        GraphClient::new(config, reqwest::Client::new(), self.clock.clone())
    }
}

/// A webhook receiver: echoes validation tokens (or a wrong one) and forwards
/// notification bodies.
pub struct Receiver {
    pub url: String,
    pub notifications: mpsc::UnboundedReceiver<Value>,
    _server: actix_web::dev::ServerHandle,
}

pub fn receiver(echo_correctly: bool) -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel::<Value>();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let tx = tx.clone();
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let tx = tx.clone();
                async move {
                    let query =
                        web::Query::<std::collections::HashMap<String, String>>::from_query(
                            req.query_string(),
                        )
                        .map(|q| q.into_inner())
                        .unwrap_or_default();
                    if let Some(token) = query.get("validationToken") {
                        let answer = if echo_correctly {
                            token.clone()
                        } else {
                            "wrong".into()
                        };
                        return HttpResponse::Ok().content_type("text/plain").body(answer);
                    }
                    if let Ok(value) = serde_json::from_slice::<Value>(&body) {
                        let _ = tx.send(value);
                    }
                    HttpResponse::Accepted().finish()
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Receiver {
        url,
        notifications: rx,
        _server: handle,
    }
}

impl Receiver {
    pub async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), self.notifications.recv())
            .await
            .expect("a notification arrives")
            .expect("receiver open")
    }
}
