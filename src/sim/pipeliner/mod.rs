//! A simulator of Pipeliner's REST API v100 (the subset exsync uses), built from
//! `reference/pipeliner-api.md` and checked against Pipeliner's own OpenAPI files.
//!
//! It serves `/api/v100/rest/spaces/{space_id}/entities/{Contacts,Clients,Fields,
//! Webhooks,ContactSharingClientRelations}` with HTTP Basic (API key + secret), the
//! `{success, data, page_info}` and `{success:false, http_status, code, name, message}`
//! envelopes, cursor paging, filters, soft deletes, batch writes and signed webhook
//! deliveries; and a control API under `/_sim/pipeliner` (see [`PipelinerControl`]).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use exsync::sim::pipeliner::{PipelinerSim, PipelinerSimConfig, SpaceSeed};
//! let sim = PipelinerSim::new(PipelinerSimConfig::default());
//! let running = sim.start(std::net::TcpListener::bind("127.0.0.1:0")?).await?;
//! let space = running.control().create_space(SpaceSeed {
//!     id: Some("demo".into()),
//!     name: "Demo".into(),
//!     api_key: "key".into(),
//!     api_secret: "secret".into(),
//! });
//! println!("{}", running.service_url()); // the client appends /api/v100/rest/spaces/demo
//! running.stop().await;
//! # Ok(()) }
//! ```

mod api;
mod auth;
mod clients;
mod contact_model;
mod contact_render;
mod contacts;
mod control;
mod control_routes;
mod core;
mod delivery;
mod envelope;
mod events;
mod fields;
mod normalize;
mod query;
mod seeds;
mod state;
mod webhooks;
mod writes;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

use crate::clock::{SharedClock, SystemClock};

pub use crate::sim::faults::{
    DeliveryFaultKind, DeliveryFaultRule, FaultKind, FaultPlan, FaultRule,
};
pub use api::{API_PREFIX, SKIP_KEY_HEADER};
pub use control::PipelinerControl;
pub use delivery::{sign, DeliveryRecord, SIGNATURE_HEADER};
pub use envelope::ApiError;
pub use query::{DEFAULT_FIRST, MAX_FIRST};
pub use seeds::{ClientSeed, ControlError, FieldSeed, SpaceInfo, SpaceSeed};

/// How to build a simulator.
#[derive(Debug, Clone)]
pub struct PipelinerSimConfig {
    /// Seeds generated ids and fault decisions: the same seed and requests give the same
    /// run.
    pub seed: u64,
    /// Source of `created`, `modified` and `event_time`.
    pub clock: SharedClock,
}

impl Default for PipelinerSimConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            clock: Arc::new(SystemClock),
        }
    }
}

/// A simulator not yet listening; seed it through [`PipelinerSim::control`] first if
/// you like.
#[derive(Debug)]
pub struct PipelinerSim {
    core: Arc<core::Core>,
}

impl PipelinerSim {
    /// A simulator with no spaces.
    pub fn new(config: PipelinerSimConfig) -> Self {
        Self {
            core: Arc::new(core::Core::new(config.seed, config.clock)),
        }
    }

    /// The control handle (works before and after `start`).
    pub fn control(&self) -> PipelinerControl {
        PipelinerControl {
            core: self.core.clone(),
        }
    }

    /// Serves the REST and control APIs on `listener` (e.g. bound to `127.0.0.1:0`)
    /// and starts the webhook deliverer. Must run inside an actix runtime
    /// (`#[actix_web::main]`, `#[actix_web::test]`, `actix_rt::System`).
    pub async fn start(self, listener: TcpListener) -> std::io::Result<RunningPipelinerSim> {
        let addr = listener.local_addr()?;
        self.core.set_service_url(format!("http://{addr}"));
        let data = web::Data::from(self.core.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                // Batches of a hundred long contacts are far over actix's 256 KiB default.
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .configure(api::configure)
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
        Ok(RunningPipelinerSim {
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
pub struct RunningPipelinerSim {
    core: Arc<core::Core>,
    addr: SocketAddr,
    handle: ServerHandle,
    server_task: tokio::task::JoinHandle<std::io::Result<()>>,
    deliverer: Option<tokio::task::JoinHandle<()>>,
}

impl RunningPipelinerSim {
    /// `http://127.0.0.1:PORT`; a client appends `/api/v100/rest/spaces/{space_id}`.
    pub fn service_url(&self) -> String {
        self.core.service_url()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The control handle.
    pub fn control(&self) -> PipelinerControl {
        PipelinerControl {
            core: self.core.clone(),
        }
    }

    /// Stops the server (finishing requests in flight) and the deliverer.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.server_task.await;
        if let Some(d) = self.deliverer {
            d.abort();
        }
    }
}
