//! The one integration test binary: real servers on loopback, real sled in temp dirs.

mod api_spaces;
mod api_sync_data;
mod api_users;
mod auth;
mod cli_help;
mod common;
mod connector_pipeliner;
mod contract;
mod crash;
mod demo;
mod e2e;
mod engine;
mod metrics;
mod persistence;
mod sim_graph;
mod sim_pipeliner;
mod spec_truth;
mod swagger_ui;
mod tls;
mod webhooks;
