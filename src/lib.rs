//! exsync keeps each connected user's Microsoft Exchange contacts folder in sync with the
//! contacts of a Pipeliner CRM space.
//!
//! The crate is laid out by responsibility (see `DESIGN.md`, section 2):
//! - [`clock`]: time as an injected input, so actors, simulators and tests control it.
//! - [`sim`]: in-process simulators of Pipeliner (and Microsoft Graph), with fault
//!   injection, for the demo, tests and benchmarks.

pub mod clock;
pub mod sim;
