//! `exsync demo`: both simulators and exsync in one process, seeded with sample people,
//! so a newcomer sees real sync without any account. The demo talks to exsync through its
//! own REST API, as any other system would.

pub mod sample;
pub mod world;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{json, Value};

use crate::clock::SystemClock;
use crate::config::{Config, LogFormat};
use world::World;

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Where exsync listens.
    pub bind: SocketAddr,
    /// Where exsync keeps its data; a fresh temporary directory when `None`.
    pub data_dir: Option<PathBuf>,
    /// Seeds the sample data and the simulators.
    pub seed: u64,
    /// The log filter.
    pub log: String,
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A socket or directory could not be set up.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// exsync refused a setup request.
    #[error("setting up the demo failed: {0}")]
    Setup(String),
    /// exsync stopped with an error.
    #[error("{0}")]
    App(#[from] crate::app::AppError),
}

/// The demo's space id in exsync.
pub const SPACE: &str = "acme";
/// The two demo users.
pub const USERS: [(&str, &str); 2] = [("ann", "ann@acme.example"), ("bo", "bo@acme.example")];
/// A colleague who does not use exsync but shares contacts.
pub const COLLEAGUE: &str = "carl@acme.example";

/// Fills both sides with sample people: Pipeliner contacts owned by Ann, Bo and Carl (some
/// of Carl's shared with Bo and Ann), and Ann's existing "Customers" folder, part of which
/// has the same e-mails as Pipeliner contacts (the first sync pairs those).
pub fn seed(world: &World, seed: u64) -> String {
    let ann = world.add_person(USERS[0].1);
    let bo = world.add_person(USERS[1].1);
    let carl = world.add_person(COLLEAGUE);
    let people = sample::people(seed, 320);
    for (i, person) in people[..200].iter().enumerate() {
        let owner = [&ann, &bo, &carl][i % 3];
        let id = world.crm_create(Value::Object(person.pipeliner(owner)));
        if owner == &carl && i % 2 == 0 {
            let _ = world
                .crm()
                .share_contact(world::PIPELINER_SPACE, &id, &bo, 1);
        } else if owner == &carl && i % 5 == 1 {
            let _ = world
                .crm()
                .share_contact(world::PIPELINER_SPACE, &id, &ann, 2);
        }
    }
    let folder = world
        .graph()
        .create_folder(USERS[0].1, "Customers")
        .ok()
        .and_then(|f| f["id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    for person in &people[150..260] {
        let _ = world
            .graph()
            .create_contact(USERS[0].1, &folder, person.graph());
    }
    folder
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> Result<Value, DemoError> {
    let response = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .map_err(|e| DemoError::Setup(e.to_string()))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(DemoError::Setup(format!("{path}: {status} {body}")))
    }
}

/// Runs the demo until `shutdown` resolves.
pub async fn run(
    options: DemoOptions,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), DemoError> {
    let world = World::start(options.seed, Arc::new(SystemClock), "Acme Demo").await?;
    let customers = seed(&world, options.seed);
    let (data_dir, _temp) = match &options.data_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::tempdir()?;
            (temp.path().to_owned(), Some(temp))
        }
    };
    let listener = TcpListener::bind(options.bind)?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");
    let token = crate::store::tokens::generate_token();
    let token_text = secrecy::ExposeSecret::expose_secret(&token).to_owned();
    let config = Config {
        bind: address,
        data_dir: data_dir.clone(),
        admin_token: Some(SecretString::from(token_text.clone())),
        metrics_token: None,
        master_key: None,
        public_url: Some(base.clone()),
        tls_cert: None,
        tls_key: None,
        log: options.log.clone(),
        log_format: LogFormat::Text,
        workers: Some(2),
        tick_interval: 60,
        notified_tick_interval: 600,
        graph_budget_requests: 10_000,
        graph_budget_window: 600,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = actix_web::rt::spawn(crate::app::run(config, listener, async move {
        let _ = stop_rx.await;
    }));
    let client = reqwest::Client::new();
    use reqwest::Method;
    call(
        &client,
        &base,
        &token_text,
        Method::POST,
        "/api/v1/spaces",
        world.space_body(SPACE),
    )
    .await?;
    call(
        &client,
        &base,
        &token_text,
        Method::PUT,
        &format!("/api/v1/spaces/{SPACE}/integration"),
        json!({ "enabled": true }),
    )
    .await?;
    let ann = json!({ "email": USERS[0].1, "settings": {
        "sync_type": "bidirectional", "delete_protection": true, "folder": { "existing": customers } } });
    call(
        &client,
        &base,
        &token_text,
        Method::PUT,
        &format!("/api/v1/spaces/{SPACE}/users/{}", USERS[0].0),
        ann,
    )
    .await?;
    let bo = json!({ "email": USERS[1].1, "settings": {
        "sync_type": "crm_to_exchange", "sync_preference": "accessible", "delete_protection": true, "folder": { "create": {} } } });
    call(
        &client,
        &base,
        &token_text,
        Method::PUT,
        &format!("/api/v1/spaces/{SPACE}/users/{}", USERS[1].0),
        bo,
    )
    .await?;
    println!(
        "\nexsync demo is running.\n\n  Swagger UI:       {base}/swagger-ui/  (Authorize with the admin token)\n  Admin token:      {token_text}\n  Data directory:   {}\n  Graph simulator:  {}  (control API: {}/_sim/graph)\n  Pipeliner sim.:   {}  (control API: {}/_sim/pipeliner)\n\nUsers: ann (bidirectional, her \"Customers\" folder) and bo (Pipeliner → Exchange, every contact he can see).\nTry:\n  curl -H 'Authorization: Bearer {token_text}' {base}/api/v1/spaces/{SPACE}/users/ann\n  curl {}/_sim/pipeliner/spaces/{}/contacts | head -c 600\nEdit a contact through a simulator's control API (see the README) and watch it arrive.\nPress Ctrl-C to stop.\n",
        data_dir.display(),
        world.graph.graph_url(),
        world.graph.login_url(),
        world.pipeliner.service_url(),
        world.pipeliner.service_url(),
        world.pipeliner.service_url(),
        world::PIPELINER_SPACE,
    );
    shutdown.await;
    let _ = stop_tx.send(());
    let result = app.await.map_err(|e| DemoError::Setup(e.to_string()))?;
    world.stop().await;
    result?;
    Ok(())
}
