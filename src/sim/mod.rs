//! In-process simulators of the upstream services, for the demo, tests and benchmarks.
//!
//! Each simulator is an actix-web app that binds wherever it is told (tests use
//! `127.0.0.1:0`), speaks the subset of the real API that exsync uses, and has a typed
//! control handle (also reachable over HTTP under `/_sim/…`) to seed data, act as a person
//! would, and inject faults deterministically for a seed.

pub mod faults;
pub mod graph;
pub mod pipeliner;
