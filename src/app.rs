//! Starting and stopping exsync: open the store, make sure an admin token exists, serve
//! the API until `shutdown` resolves, then let in-flight requests finish and flush.
//! `main` and the tests both go through [`run`].

use std::collections::HashSet;
use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;
use secrecy::ExposeSecret;

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::connectors::retry::RetryPolicy;
use crate::engine::cycle::{shared_poll_age, ClientOptions, SyncCycle};
use crate::engine::schedule::Pacing;
use crate::engine::{Engine, EngineOptions};
use crate::http::{self, state::AppState};
use crate::store::tokens::TokenBootstrap;
use crate::store::{Store, StoreError};

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why exsync could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store could not be opened or flushed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Server(#[from] std::io::Error),
}

/// Opens the store in a blocking thread and prepares the admin token.
async fn open_store(config: &Config) -> Result<(Store, Arc<HashSet<[u8; 32]>>), AppError> {
    let data_dir = config.data_dir.clone();
    let master_key = config.master_key.clone();
    let admin_token = config.admin_token.clone();
    let (store, bootstrap, hashes) = actix_web::web::block(move || {
        let store = Store::open(&data_dir, master_key.as_ref())?;
        let bootstrap = store.bootstrap_admin_token(admin_token.as_ref(), chrono::Utc::now())?;
        let hashes = store.token_hashes()?;
        Ok::<_, StoreError>((store, bootstrap, hashes))
    })
    .await
    .map_err(|e| AppError::Server(std::io::Error::other(e.to_string())))??;
    if let TokenBootstrap::Generated(token) = bootstrap {
        // Shown once, on the console only: it is stored hashed and never logged.
        println!(
            "\nNo admin token was configured, so one was generated. Keep it; it is not \
             shown again:\n\n    {}\n",
            token.expose_secret()
        );
    }
    Ok((store, Arc::new(hashes.into_iter().collect())))
}

/// Runs exsync on `listener` until `shutdown` resolves.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), AppError> {
    let (store, token_hashes) = open_store(&config).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let http = reqwest::Client::builder()
        .user_agent(concat!("exsync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AppError::Server(std::io::Error::other(e.to_string())))?;
    let pacing = Pacing {
        tick: Duration::from_secs(config.tick_interval),
        notified_tick: Duration::from_secs(config.notified_tick_interval),
        ..Pacing::default()
    };
    let sync = SyncCycle::new(
        store.clone(),
        clock.clone(),
        ClientOptions {
            http,
            page_size: 100,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            budget: config.budget(),
            shared_poll_age: shared_poll_age(pacing.tick),
            shared_notified_age: shared_poll_age(pacing.notified_tick),
            shared_wake_age: pacing.debounce,
        },
        config.public_url.clone(),
    );
    let engine = Engine::start(
        store.clone(),
        Arc::new(sync.clone()),
        clock.clone(),
        EngineOptions {
            pacing,
            ..EngineOptions::default()
        },
    );
    let (held, mut released) = tokio::sync::mpsc::channel::<()>(1);
    let state = AppState {
        store: store.clone(),
        token_hashes,
        clock,
        engine: Some(engine.clone()),
        sync: Some(sync),
        held,
    };
    let address = listener.local_addr()?;
    let mut server = HttpServer::new(move || http::app(state.clone()))
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    let server = server.listen(listener)?.run();
    let handle = server.handle();
    tracing::info!(
        %address,
        swagger_ui = %format!("http://{address}{}", http::SWAGGER_UI_PATH),
        "exsync is listening"
    );
    let stopper = actix_web::rt::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        handle.stop(true).await;
    });
    let served = server.await;
    stopper.abort();
    engine.shutdown().await;
    // Worker threads drop their copies of the state as they wind down; wait for the last
    // one so the database is closed when `run` returns.
    if tokio::time::timeout(SHUTDOWN_GRACE, released.recv())
        .await
        .is_err()
    {
        tracing::warn!("a worker still holds the store after the grace period");
    }
    let flushed = actix_web::web::block(move || store.flush())
        .await
        .map_err(|e| AppError::Server(std::io::Error::other(e.to_string())))?;
    served?;
    flushed?;
    tracing::info!("exsync stopped");
    Ok(())
}
