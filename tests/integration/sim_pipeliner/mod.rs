//! Contract tests of the Pipeliner simulator over real HTTP on loopback, plus a check of
//! its responses against Pipeliner's own OpenAPI schemas.

mod clients;
mod contacts;
mod create_values;
mod faults;
mod schema;
mod webhooks;
mod writes;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use exsync::clock::ManualClock;
use exsync::sim::pipeliner::{
    ClientSeed, PipelinerControl, PipelinerSim, PipelinerSimConfig, RunningPipelinerSim, SpaceSeed,
};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

/// The space every fixture creates.
pub const SPACE: &str = "space-1";

/// A running simulator with one space and one user.
pub struct Fixture {
    pub sim: RunningPipelinerSim,
    pub control: PipelinerControl,
    pub clock: Arc<ManualClock>,
    pub http: reqwest::Client,
    pub owner_id: String,
}

pub fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("valid time")
}

impl Fixture {
    pub async fn start(seed: u64) -> Fixture {
        let clock = Arc::new(ManualClock::new(start_time()));
        let sim = PipelinerSim::new(PipelinerSimConfig {
            seed,
            clock: clock.clone(),
        });
        let control = sim.control();
        control
            .create_space(SpaceSeed {
                id: Some(SPACE.into()),
                name: "Acme".into(),
                api_key: "key".into(),
                api_secret: "secret".into(),
            })
            .expect("space");
        let owner = control
            .add_client(
                SPACE,
                ClientSeed {
                    email: "Owner@Example.com".into(),
                    first_name: "Olga".into(),
                    last_name: "Owner".into(),
                },
            )
            .expect("client");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let sim = sim.start(listener).await.expect("start");
        Fixture {
            sim,
            control,
            clock,
            http: reqwest::Client::new(),
            owner_id: owner["id"].as_str().expect("id").to_owned(),
        }
    }

    /// `<service>/api/v100/rest/spaces/space-1<path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/api/v100/rest/spaces/{SPACE}{path}",
            self.sim.service_url()
        )
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .basic_auth("key", Some("secret"))
    }

    /// GET and parse; returns (status, body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.request(reqwest::Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        send(self.request(reqwest::Method::DELETE, path)).await
    }

    /// Creates a contact through the control handle.
    pub fn seed_contact(&self, first: &str, last: &str, email: &str) -> Value {
        self.control
            .create_contact(
                SPACE,
                obj(json!({"owner_id": self.owner_id, "first_name": first, "last_name": last, "email1": email})),
            )
            .expect("seed contact")
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// One webhook POST as received: the signature header and the raw body.
pub struct Received {
    pub signature: Option<String>,
    pub body: Vec<u8>,
}

/// A webhook receiver on loopback; every POST lands on the channel.
pub struct Receiver {
    pub url: String,
    pub rx: mpsc::UnboundedReceiver<Received>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let server = HttpServer::new(move || {
            let tx = tx.clone();
            App::new().route(
                "/hook",
                web::post().to(move |req: HttpRequest, body: web::Bytes| {
                    let tx = tx.clone();
                    async move {
                        let signature = req
                            .headers()
                            .get("WebHook-Signature")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let _ = tx.send(Received {
                            signature,
                            body: body.to_vec(),
                        });
                        HttpResponse::Ok().finish()
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver { url, rx, handle }
    }

    /// The next delivery, or panics after 5 s.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(5), self.rx.recv())
            .await
            .expect("a webhook delivery within 5 s")
            .expect("receiver open")
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
