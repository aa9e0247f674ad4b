//! exsync keeps each connected user's Microsoft Exchange contacts folder in sync with the
//! contacts of a Pipeliner CRM space.
//!
//! The crate is laid out by responsibility (see `DESIGN.md`, section 2):
//! - [`app`]: start-up and graceful shutdown, one [`app::run`] for `main` and the tests;
//! - [`cli`] and [`config`]: the command line and layered configuration;
//! - [`connectors`]: clients for Microsoft Graph and Pipeliner;
//! - [`demo`]: `exsync demo`, the simulators and exsync together with sample data;
//! - [`engine`]: the supervised per-user actors that schedule and run sync cycles;
//! - [`http`]: the admin REST API, its OpenAPI document and Swagger UI;
//! - [`metrics`]: the Prometheus metrics served at `/metrics`;
//! - [`sim`]: in-process simulators of Pipeliner and Microsoft Graph, with fault
//!   injection, for the demo, tests and benchmarks;
//! - [`store`]: persistence on sled, secrets sealed at rest;
//! - [`tls`]: HTTPS certificate loading and reload on SIGHUP;
//! - [`sync`]: the pure planner: canonical contact, field mapping, user settings and `plan()`;
//! - [`ids`], [`clock`], [`telemetry`]: identifiers, injected time, log output.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod demo;
pub mod engine;
pub mod http;
pub mod ids;
pub mod metrics;
pub mod sim;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod tls;
