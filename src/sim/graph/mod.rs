//! A simulator of the Microsoft Graph v1.0 subset exsync uses: app-only sign-in, contact
//! folders, contacts with single-value extended properties, folder delta, `$batch`,
//! change-notification subscriptions with the validation handshake, and Graph's limits
//! (4 concurrent requests and a request budget per app and mailbox), plus a control API
//! and deterministic faults. Facts from `reference/exchange-api.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use exsync::sim::graph::{GraphSim, GraphSimConfig};
//! let sim = GraphSim::new(GraphSimConfig::default());
//! sim.control().add_app("tenant", "client", "secret");
//! sim.control().add_mailbox("tenant", "ann@example.com");
//! let running = sim.start(std::net::TcpListener::bind("127.0.0.1:0")?).await?;
//! println!("Graph at {}, sign-in at {}", running.graph_url(), running.login_url());
//! running.stop().await;
//! # Ok(()) }
//! ```

mod api;
mod auth;
mod batch;
mod control;
mod control_routes;
mod core;
mod delivery;
mod delta;
mod errors;
mod filter;
mod routes;
mod state;
mod subscriptions;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::{web, App, HttpServer};

pub use crate::sim::faults::{
    DeliveryFaultKind, DeliveryFaultRule, FaultKind, FaultPlan, FaultRule,
};
pub use control::{ControlResult, GraphControl};
pub use core::NotificationRecord;
pub use errors::GraphFault;
pub use state::{SimSettings, SimSubscription};

use crate::clock::{SharedClock, SystemClock};

/// How to build a simulator.
#[derive(Debug, Clone)]
pub struct GraphSimConfig {
    /// Seeds ids and fault decisions.
    pub seed: u64,
    /// Source of timestamps and token expiry.
    pub clock: SharedClock,
}

impl Default for GraphSimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A simulator not yet listening.
#[derive(Debug)]
pub struct GraphSim {
    core: Arc<core::Core>,
}

impl GraphSim {
    /// A simulator with no tenants.
    pub fn new(config: GraphSimConfig) -> Self {
        Self {
            core: Arc::new(core::Core::new(config.seed, config.clock)),
        }
    }

    /// The control handle (works before and after `start`).
    pub fn control(&self) -> GraphControl {
        GraphControl {
            core: self.core.clone(),
        }
    }

    /// Serves Graph, the sign-in endpoint and the control API on `listener`, and starts
    /// delivering notifications. Must run inside an actix runtime.
    pub async fn start(self, listener: TcpListener) -> std::io::Result<RunningGraphSim> {
        let addr = listener.local_addr()?;
        self.core.set_base(format!("http://{addr}"));
        let data = web::Data::from(self.core.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/v1.0/{tail:.*}", web::to(api::handle))
                .route("/{tenant}/oauth2/v2.0/token", web::post().to(auth::token))
                .configure(control_routes::configure)
        })
        .workers(1)
        .shutdown_timeout(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        let deliverer = self
            .core
            .take_receiver()
            .map(|rx| tokio::spawn(delivery::run(self.core.clone(), rx)));
        Ok(RunningGraphSim {
            core: self.core,
            addr,
            handle,
            server_task,
            deliverer,
        })
    }
}

/// A listening simulator.
#[derive(Debug)]
pub struct RunningGraphSim {
    core: Arc<core::Core>,
    addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    deliverer: Option<tokio::task::JoinHandle<()>>,
}

impl RunningGraphSim {
    /// The Graph root exsync's `graph_url` points at, e.g. `http://127.0.0.1:PORT/v1.0`.
    pub fn graph_url(&self) -> String {
        self.core.graph_url()
    }

    /// The sign-in root exsync's `login_url` points at, e.g. `http://127.0.0.1:PORT`.
    pub fn login_url(&self) -> String {
        self.core.base()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The control handle.
    pub fn control(&self) -> GraphControl {
        GraphControl {
            core: self.core.clone(),
        }
    }

    /// Stops serving and delivering.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.server_task.await;
        if let Some(deliverer) = self.deliverer {
            deliverer.abort();
        }
    }
}
