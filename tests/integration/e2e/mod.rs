//! End to end: exsync syncing between the two simulators over real HTTP on loopback.

mod basics;
mod resilience;
mod rig;
mod rules;
