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
use crate::engine::removals::Remover;
use crate::engine::schedule::Pacing;
use crate::engine::{Engine, EngineOptions};
use crate::http::{self, state::AppState};
use crate::store::tokens::TokenBootstrap;
use crate::store::{Store, StoreError};
use crate::tls::{self, CertResolver, TlsError, TlsFiles};

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why exsync could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store could not be opened or flushed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The TLS certificate or key cannot be served.
    #[error("{0}")]
    Tls(#[from] TlsError),
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

/// Runs exsync on `listener` until `shutdown` resolves: HTTPS when the configuration
/// names a certificate and key (reloaded on SIGHUP), plain HTTP otherwise.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + 'static,
) -> Result<(), AppError> {
    let tls = match TlsFiles::from_parts(config.tls_cert.clone(), config.tls_key.clone())? {
        Some(files) => Some(Arc::new(CertResolver::load(files)?)),
        None => None,
    };
    warn_about_plain_public_url(config.public_url.as_deref());
    let (store, token_hashes) = open_store(&config).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    // One registry per running exsync: tests run several in one process.
    let metrics = Arc::new(crate::metrics::Metrics::new());
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
            metrics: metrics.clone(),
        },
        config.public_url.clone(),
    );
    let engine = Engine::start(
        store.clone(),
        Arc::new(sync.clone()),
        clock.clone(),
        EngineOptions {
            pacing,
            metrics: metrics.clone(),
            ..EngineOptions::default()
        },
    )
    .with_removals(Remover::new(store.clone(), clock.clone(), sync.clone()));
    let (held, mut released) = tokio::sync::mpsc::channel::<()>(1);
    let state = AppState {
        store: store.clone(),
        token_hashes,
        clock,
        engine: Some(engine.clone()),
        sync: Some(sync),
        metrics,
        metrics_token_hash: config
            .metrics_token
            .as_ref()
            .map(|token| crate::store::tokens::token_hash(token.expose_secret().trim())),
        held,
    };
    let address = listener.local_addr()?;
    let mut server = HttpServer::new(move || http::app(state.clone()))
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs());
    if let Some(workers) = config.workers {
        server = server.workers(workers);
    }
    // SIGHUP is taken over before the workers start, so an early one cannot end exsync.
    let reload = tls.clone().map(tls::reload_on_hangup);
    let server = match &tls {
        Some(resolver) => {
            server.listen_rustls_0_23(listener, tls::server_config(resolver.clone()))?
        }
        None => server.listen(listener)?,
    }
    .run();
    let handle = server.handle();
    let reloader = reload.map(actix_web::rt::spawn);
    let scheme = if reloader.is_some() { "https" } else { "http" };
    tracing::info!(
        %address,
        swagger_ui = %format!("{scheme}://{address}{}", http::SWAGGER_UI_PATH),
        "exsync is listening"
    );
    let stopper = actix_web::rt::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight requests");
        handle.stop(true).await;
    });
    let served = server.await;
    stopper.abort();
    if let Some(reloader) = reloader {
        reloader.abort();
    }
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

/// Warns when upstreams are told to call exsync over plain HTTP on a reachable host:
/// Graph refuses such subscriptions, so Exchange changes then wait for the ticks.
fn warn_about_plain_public_url(public_url: Option<&str>) {
    if let Some(url) = public_url.filter(|url| tls::is_plain_http_off_loopback(url)) {
        tracing::warn!(
            public_url = %url,
            "EXSYNC_PUBLIC_URL is http:// on a host that is not loopback: Microsoft Graph \
             only delivers change notifications to https:// URLs, so it will refuse the \
             subscriptions and Exchange changes are picked up by the periodic ticks only. \
             Serve HTTPS (EXSYNC_TLS_CERT, EXSYNC_TLS_KEY) or put exsync behind a TLS reverse \
             proxy and set EXSYNC_PUBLIC_URL to its https:// address"
        );
    }
}

/// Why exsync cannot listen on `address`, and, when another process has it, how to choose
/// another: `set` writes the setting for an address (`--bind 127.0.0.1:8081`).
pub fn bind_failed(
    address: std::net::SocketAddr,
    error: &std::io::Error,
    set: &dyn Fn(std::net::SocketAddr) -> String,
) -> String {
    let mut message = format!("cannot listen on {address}: {error}");
    if error.kind() == std::io::ErrorKind::AddrInUse {
        let (mut other, mut any) = (address, address);
        other.set_port(address.port().checked_add(1).unwrap_or(1024));
        any.set_port(0);
        message.push_str(&format!(
            ". Another program (perhaps another exsync) listens there; choose another \
             address, e.g. {}, or {} for any free port",
            set(other),
            set(any)
        ));
    }
    message
}
