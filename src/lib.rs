//! exsync keeps each connected user's Microsoft Exchange contacts folder in sync with the
//! contacts of a Pipeliner CRM space.
//!
//! The crate is laid out by responsibility (see `DESIGN.md`, section 2):
//! - [`clock`]: time as an injected input, so actors, simulators and tests control it.
//! - [`sync`]: the pure planner: canonical contact, field mapping and `plan()`.

pub mod clock;
pub mod sync;
