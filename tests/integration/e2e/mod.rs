//! End to end: exsync syncing between the two simulators over real HTTP on loopback.

mod basics;
mod removal;
mod resilience;
pub mod rig;
mod rules;
mod settings_change;
