//! A running demo: exsync listening on the `--bind` address, both simulators on free
//! loopback ports, the sample people seeded, the space registered and switched on and the
//! two users activated, all through exsync's REST API.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

use super::world::World;
use super::{seed, DemoError, DemoOptions, Seeded, SPACE, USERS};
use crate::app::AppError;
use crate::clock::SystemClock;
use crate::config::{Config, LogFormat};

/// The demo's exsync, simulators and sample data, until [`RunningDemo::stop`].
#[derive(Debug)]
pub struct RunningDemo {
    /// exsync's address, `http://127.0.0.1:PORT`.
    pub base: String,
    /// The admin token exsync accepts.
    pub token: String,
    /// Where exsync keeps its data.
    pub data_dir: PathBuf,
    /// The simulated upstreams.
    pub world: World,
    /// What the seeding made that the example edits refer to.
    pub seeded: Seeded,
    stop: tokio::sync::oneshot::Sender<()>,
    app: actix_web::rt::task::JoinHandle<Result<(), AppError>>,
    _temp: Option<tempfile::TempDir>,
}

impl RunningDemo {
    /// Listens on `options.bind` first (a taken address fails at once, saying so), then
    /// starts the simulators on free ports, seeds them, starts exsync and sets it up.
    pub async fn start(options: DemoOptions) -> Result<Self, DemoError> {
        let listener = TcpListener::bind(options.bind).map_err(|e| {
            DemoError::Listen(crate::app::bind_failed(options.bind, &e, &|a| {
                format!("--bind {a}")
            }))
        })?;
        let address = listener.local_addr()?;
        let world = World::start(options.seed, Arc::new(SystemClock), "Acme Demo").await?;
        let seeded = seed(&world, options.seed);
        let (data_dir, temp) = match &options.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = tempfile::tempdir()?;
                // Private, as exsync wants its data directory.
                std::fs::set_permissions(
                    temp.path(),
                    std::os::unix::fs::PermissionsExt::from_mode(0o700),
                )?;
                (temp.path().to_owned(), Some(temp))
            }
        };
        let base = format!("http://{address}");
        let token = crate::store::tokens::generate_token();
        let token = secrecy::ExposeSecret::expose_secret(&token).to_owned();
        let config = Config {
            bind: address,
            data_dir: data_dir.clone(),
            admin_token: Some(SecretString::from(token.clone())),
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
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = actix_web::rt::spawn(crate::app::run(config, listener, async move {
            let _ = stopped.await;
        }));
        let demo = Self {
            base,
            token,
            data_dir,
            world,
            seeded,
            stop,
            app,
            _temp: temp,
        };
        demo.set_up().await?;
        Ok(demo)
    }

    /// Registers the space, switches it on and activates Ann and Bo.
    async fn set_up(&self) -> Result<(), DemoError> {
        self.call(Method::POST, "/api/v1/spaces", self.world.space_body(SPACE))
            .await?;
        self.call(
            Method::PUT,
            &format!("/api/v1/spaces/{SPACE}/integration"),
            json!({ "enabled": true }),
        )
        .await?;
        let ann = json!({ "email": USERS[0].1, "settings": {
            "sync_type": "bidirectional", "delete_protection": true,
            "folder": { "existing": self.seeded.customers } } });
        self.call(
            Method::PUT,
            &format!("/api/v1/spaces/{SPACE}/users/{}", USERS[0].0),
            ann,
        )
        .await?;
        let bo = json!({ "email": USERS[1].1, "settings": {
            "sync_type": "crm_to_exchange", "sync_preference": "accessible",
            "delete_protection": true, "folder": { "create": {} } } });
        self.call(
            Method::PUT,
            &format!("/api/v1/spaces/{SPACE}/users/{}", USERS[1].0),
            bo,
        )
        .await?;
        Ok(())
    }

    /// Sends an admin request with the token; the answer's JSON, or why it failed.
    pub async fn call(&self, method: Method, path: &str, body: Value) -> Result<Value, DemoError> {
        let response = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
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

    /// Stops exsync gracefully, then the simulators.
    pub async fn stop(self) -> Result<(), DemoError> {
        let _ = self.stop.send(());
        let result = self
            .app
            .await
            .map_err(|e| DemoError::Setup(e.to_string()))?;
        self.world.stop().await;
        result?;
        Ok(())
    }
}
